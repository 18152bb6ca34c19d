//! Metric tests: tally's `metric_tests:` and `test_tables:`, checked and prepared for a runner.
//!
//! A metric test gives fixture rows for source tables, a metric query and the rows it expects:
//!
//! ```yaml
//! test_tables:                              # optional, shared by every test of the project
//!   - table: intercom.team
//!     columns: {id: varchar, name: varchar}
//! metric_tests:
//!   - name: volume_counts_inbound_only
//!     given:
//!       - table: intercom.conversation_history
//!         rows:
//!           - {id: c1, created_at: 2026-01-05 09:00:00, source_delivered_as: customer_initiated}
//!       - table: intercom.conversation_contact_history
//!         csv: fixtures/contacts.csv        # relative to this YAML file
//!     query: {metrics: [conversation_volume], group_by: [metric_time__month]}
//!     expect:
//!       rows:
//!         - {metric_time__month: 2026-01-01, conversation_volume: 1}
//! ```
//!
//! This module is pure: it turns a test as written (inline rows, or CSV text `load` has read into
//! the source map) into tables of typed cells, a [`QueryRequest`] and the expected rows, and
//! reports every problem with a span. `tally_duckdb::testing` creates the tables on an in-memory
//! DuckDB, runs the query and compares the rows.

use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, Model};
use crate::plan::QueryRequest;
use crate::source::{FileId, Span};
use crate::spec::{Columns, MetricTest, QueryParams, Row};
use crate::value::Value;
use crate::yaml::Spanned;

/// A column of a fixture table or of the expected rows.
#[derive(Clone, Debug)]
pub struct ColumnData {
    pub name: String,
    /// The declared SQL type; `None` is inferred from the values by the runner.
    pub data_type: Option<String>,
    pub span: Span,
}

/// A row of cells, one per column.
#[derive(Clone, Debug)]
pub struct RowData {
    pub span: Span,
    /// Cells as written: null, booleans, numbers and text. A fixture never makes a
    /// [`Value::Time`]: `2026-01-05 09:00:00` stays text (as YAML and CSV wrote it), and the runner
    /// infers a DATE or TIMESTAMP column from such text and compares it with a time by value.
    pub cells: Vec<Value>,
}

/// One source table of a test, ready to be created.
#[derive(Clone, Debug)]
pub struct TableData {
    /// The relation as written (`intercom.conversation_history`).
    pub name: String,
    pub span: Span,
    pub columns: Vec<ColumnData>,
    pub rows: Vec<RowData>,
}

/// The rows a test expects.
#[derive(Clone, Debug)]
pub struct ExpectedRows {
    pub columns: Vec<ColumnData>,
    pub rows: Vec<RowData>,
    pub ordered: bool,
}

/// A test with its tables, query and expected rows resolved.
#[derive(Clone, Debug)]
pub struct PreparedTest {
    pub name: String,
    pub span: Span,
    pub request: QueryRequest,
    pub tables: Vec<TableData>,
    pub expected: ExpectedRows,
}

/// Every problem in the project's metric tests that can be found without running them: duplicate
/// names, unknown metrics, malformed fixtures, queries that do not compile, expected columns the
/// query does not return.
pub fn check_tests(model: &Model) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for t in &model.test_tables {
        let key = t.table.value.to_ascii_lowercase();
        if let Some((_, prev)) = seen.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!(
                        "table `{}` is declared twice in `test_tables`",
                        t.table.value
                    ),
                )
                .at(t.table.span)
                .with_secondary(*prev, "first declared here")
                .with_help("declare each source table once; merge the two column lists"),
            );
        }
        seen.push((&t.table.value, t.table.span));
        check_columns(&t.table.value, &t.columns, &mut diags);
    }
    let mut names: Vec<(&str, Span)> = Vec::new();
    for t in &model.metric_tests {
        if let Some((_, prev)) = names.iter().find(|(n, _)| *n == t.name.value) {
            diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("metric test `{}` is defined twice", t.name.value),
                )
                .at(t.name.span)
                .with_secondary(*prev, "first defined here")
                .with_help("metric test names are unique across the project: rename one"),
            );
        }
        names.push((&t.name.value, t.name.span));
        diags.extend(check_test_plan(model, t));
    }
    diags
}

/// [`check_test`] without rendering the SQL: every problem of the test and its query, except a
/// generated statement that does not parse back (E0901, a bug of tally's), which is reported when
/// the test runs. Validation plans metrics and saved queries the same way.
fn check_test_plan(model: &Model, test: &MetricTest) -> Vec<Diagnostic> {
    let prepared = match prepare(model, test) {
        Ok(p) => p,
        Err(diags) => return diags,
    };
    match crate::query::plan(model, crate::dialect::Dialect::DuckDb, &prepared.request) {
        Ok(plan) => check_expected_columns(&prepared, &plan.columns),
        // A problem of the query that has no place of its own is the test's.
        Err(diags) => diags
            .into_iter()
            .map(|d| d.at_if_unset(test.name.span))
            .collect(),
    }
}

/// Prepare one test and compile its query for DuckDB (the engine tests run on, business clocks
/// read from the temporary tables the runner creates: `ClockForm::Relation`): the prepared test
/// and the compiled SQL, or every problem found.
pub fn check_test(
    model: &Model,
    test: &MetricTest,
) -> Result<(PreparedTest, crate::query::Compiled), Vec<Diagnostic>> {
    let prepared = prepare(model, test)?;
    // A problem of the query that has no place of its own is the test's.
    let compiled = crate::query::compile_with(
        model,
        crate::dialect::Dialect::DuckDb,
        crate::calendar::duration::ClockForm::Relation,
        &prepared.request,
    )
    .map_err(|ds| {
        ds.into_iter()
            .map(|d| d.at_if_unset(test.name.span))
            .collect::<Vec<_>>()
    })?;
    let diags = check_expected_columns(&prepared, &compiled.plan.columns);
    if diags.is_empty() {
        Ok((prepared, compiled))
    } else {
        Err(diags)
    }
}

/// Expected columns must be output columns of the query.
pub fn check_expected_columns(prepared: &PreparedTest, columns: &[String]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for c in &prepared.expected.columns {
        if !columns.contains(&c.name) {
            diags.push(
                Diagnostic::error(
                    codes::TEST_EXPECTED_COLUMN,
                    format!(
                        "the query of `{}` returns no column `{}`",
                        prepared.name, c.name
                    ),
                )
                .at(c.span)
                .with_label("not an output column")
                .with_suggestion(&c.name, columns.iter().map(String::as_str))
                .with_help(format!("the query returns: {}", columns.join(", "))),
            );
        }
    }
    diags
}

fn check_columns(table: &str, cols: &Columns, diags: &mut Vec<Diagnostic>) {
    let mut seen: Vec<&str> = Vec::new();
    for c in &cols.0 {
        if seen.contains(&c.name.value.as_str()) {
            diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!("column `{}` of `{table}` is listed twice", c.name.value),
                )
                .at(c.name.span)
                .with_help("list each column once"),
            );
        }
        seen.push(&c.name.value);
        if let Some(t) = &c.data_type {
            if !valid_type(&t.value) {
                diags.push(
                    Diagnostic::error(codes::TEST_FIXTURE, format!("`{}` is not a SQL type", t.value))
                        .at(t.span)
                        .with_label("expected a type such as varchar, bigint, double, boolean, date, timestamp")
                        .with_help("write a DuckDB type name, or leave the type out (null) to infer it from the values"),
                );
            }
        }
    }
}

/// A type name DuckDB could read: letters, digits, spaces, `_`, parentheses, commas, brackets.
fn valid_type(t: &str) -> bool {
    !t.trim().is_empty()
        && t.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '(' | ')' | ',' | '[' | ']')
        })
}

fn columns_of(cols: &Columns) -> Vec<ColumnData> {
    cols.0
        .iter()
        .map(|c| ColumnData {
            name: c.name.value.clone(),
            data_type: c.data_type.as_ref().map(|t| t.value.clone()),
            span: c.name.span,
        })
        .collect()
}

/// Rows being collected into a fixed or growing set of columns.
struct RowSink<'a> {
    what: String,
    columns: Vec<ColumnData>,
    /// Columns are fixed (declared): a new name is an error rather than a new column.
    fixed: bool,
    /// The declared columns, for "did you mean" and the help line.
    explicit: Option<Vec<ColumnData>>,
    rows: Vec<RowData>,
    diags: &'a mut Vec<Diagnostic>,
    unknown_code: &'static str,
}

impl RowSink<'_> {
    fn column(&mut self, name: &str, span: Span) -> Option<usize> {
        if let Some(i) = self.columns.iter().position(|c| c.name == name) {
            return Some(i);
        }
        if self.fixed {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            let d = Diagnostic::error(
                self.unknown_code,
                format!("{} has no column `{name}`", self.what),
            )
            .at(span)
            .with_label("not a declared column")
            .with_suggestion(name, names.iter().copied())
            .with_help(format!("declared columns: {}", names.join(", ")))
            .with_help("add the column to the table's `columns` (or its `test_tables:` entry)");
            self.diags.push(d);
            return None;
        }
        self.columns.push(ColumnData {
            name: name.to_string(),
            data_type: None,
            span,
        });
        Some(self.columns.len() - 1)
    }

    fn cell(&mut self, v: &Spanned<serde_json::Value>) -> Option<Value> {
        let c = Value::from_json(&v.value);
        if c.is_none() {
            self.diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!("a value in {} is a list or mapping", self.what),
                )
                .at(v.span)
                .with_label("expected a single value")
                .with_help("cells are scalars: strings, numbers, booleans or null"),
            );
        }
        c
    }

    fn add_rows(&mut self, rows: &[Spanned<Row>]) {
        for r in rows {
            let mut cells: Vec<(usize, Value)> = Vec::new();
            match &r.value {
                Row::Map(entries) => {
                    for (k, v) in entries {
                        let col = self.column(&k.value, k.span);
                        if let (Some(i), Some(c)) = (col, self.cell(v)) {
                            cells.push((i, c));
                        }
                    }
                }
                Row::List(values) => {
                    let Some(explicit) = self.explicit.clone() else {
                        self.diags.push(
                            Diagnostic::error(codes::TEST_FIXTURE, format!("a row of {} is a list, but no `columns` say what its values are", self.what))
                                .at(r.span)
                                .with_help("add `columns: [a, b, ...]` beside `rows`, or write the row as a mapping `{a: 1, b: 2}`"),
                        );
                        continue;
                    };
                    if values.len() != explicit.len() {
                        self.diags.push(
                            Diagnostic::error(
                                codes::TEST_FIXTURE,
                                format!(
                                    "a row of {} has {} values for {} columns",
                                    self.what,
                                    values.len(),
                                    explicit.len()
                                ),
                            )
                            .at(r.span)
                            .with_help(format!(
                                "columns: {}",
                                explicit
                                    .iter()
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        );
                        continue;
                    }
                    for (c, v) in explicit.iter().zip(values) {
                        let col = self.column(&c.name, c.span);
                        if let (Some(i), Some(cell)) = (col, self.cell(v)) {
                            cells.push((i, cell));
                        }
                    }
                }
            }
            self.push(r.span, cells);
        }
    }

    fn add_csv(&mut self, csv: &Csv) {
        let cols: Vec<Option<usize>> = csv
            .header
            .iter()
            .map(|h| self.column(&h.text, h.span))
            .collect();
        for (span, fields) in &csv.rows {
            let cells = cols
                .iter()
                .zip(fields)
                .filter_map(|(c, f)| c.map(|i| (i, Value::from_csv(&f.text, f.quoted))))
                .collect();
            self.push(*span, cells);
        }
    }

    fn push(&mut self, span: Span, cells: Vec<(usize, Value)>) {
        let mut row = RowData {
            span,
            cells: Vec::new(),
        };
        for (i, c) in cells {
            if row.cells.len() <= i {
                row.cells.resize(i + 1, Value::Null);
            }
            row.cells[i] = c;
        }
        self.rows.push(row);
    }

    fn finish(mut self) -> (Vec<ColumnData>, Vec<RowData>) {
        let n = self.columns.len();
        for r in &mut self.rows {
            r.cells.resize(n, Value::Null);
        }
        (self.columns, self.rows)
    }
}

/// Resolve a test's tables, query and expected rows.
pub fn prepare(model: &Model, test: &MetricTest) -> Result<PreparedTest, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let what = format!("metric test `{}`", test.name.value);
    let request = test_request(model, test, &what, &mut diags);
    let tables = fixture_tables(
        &what,
        &model.test_tables,
        &model.sources,
        &test.given,
        &mut diags,
    );
    let expected = expected_rows(model, test, &what, &mut diags);
    match request {
        Some(request) if diags.is_empty() => Ok(PreparedTest {
            name: test.name.value.clone(),
            span: test.name.span,
            request,
            tables,
            expected,
        }),
        _ => Err(diags),
    }
}

/// The query a test runs: its own `query:` or a saved query (exactly one of them).
fn test_request(
    model: &Model,
    test: &MetricTest,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<QueryRequest> {
    match (&test.query, &test.saved_query) {
        (Some(_), Some(sq)) => {
            diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!("{what} has both `query` and `saved_query`"),
                )
                .at(sq.span)
                .with_help("keep one of them"),
            );
            None
        }
        (None, None) => {
            diags.push(
                Diagnostic::error(codes::TEST_FIXTURE, format!("{what} has no query"))
                    .at(test.name.span)
                    .with_label("this test runs nothing")
                    .with_help(
                        "add `query: {metrics: [...], group_by: [...]}`, or `saved_query: <name>`",
                    ),
            );
            None
        }
        (None, Some(sq)) => saved_query_request(model, sq, diags),
        (Some(q), None) => inline_request(model, q, what, diags),
    }
}

/// The request of a saved query named by a test.
fn saved_query_request(
    model: &Model,
    sq: &Spanned<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<QueryRequest> {
    if model.saved_queries.contains_key(&sq.value) {
        return QueryRequest::from_saved_query(model, &sq.value)
            .map_err(|d| diags.push(d.at_if_unset(sq.span)))
            .ok();
    }
    diags.push(
        Diagnostic::error(codes::TEST_UNKNOWN_METRIC, format!("unknown saved query `{}`", sq.value))
            .at(sq.span)
            .with_label("no saved query of this name")
            .with_suggestion(&sq.value, model.saved_queries.keys().map(String::as_str))
            .with_help("saved queries are defined under `saved_queries:`; `tally list saved-queries` lists them"),
    );
    None
}

/// The request of a test's own `query:`, when every metric it names exists.
fn inline_request(
    model: &Model,
    q: &QueryParams,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<QueryRequest> {
    let mut ok = true;
    for m in &q.metrics {
        if !model.metrics.contains_key(&m.value) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    codes::TEST_UNKNOWN_METRIC,
                    format!("{what} queries unknown metric `{}`", m.value),
                )
                .at(m.span)
                .with_label("no metric of this name")
                .with_suggestion(&m.value, model.metrics.keys().map(String::as_str))
                .with_help("`tally list metrics` lists the metrics of the project"),
            );
        }
    }
    ok.then(|| QueryRequest {
        metrics: q.metrics.clone(),
        group_by: q.group_by.clone(),
        where_: q
            .where_
            .iter()
            .map(|w| {
                let mut f = Filter::located(w, &model.sources);
                f.bind(model);
                f
            })
            .collect(),
        order_by: q.order_by.clone(),
        limit: q.limit.as_ref().map(|l| l.value.max(0) as u64),
        ..QueryRequest::default()
    })
}

/// The rows a test expects, inline or from a CSV file.
fn expected_rows(
    model: &Model,
    test: &MetricTest,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> ExpectedRows {
    let e = &test.expect;
    let explicit = e.columns.as_ref().map(columns_of);
    let mut sink = RowSink {
        what: "the expected rows".into(),
        columns: explicit.clone().unwrap_or_default(),
        fixed: false,
        explicit,
        rows: Vec::new(),
        diags,
        unknown_code: codes::TEST_EXPECTED_COLUMN,
    };
    match (&e.rows, &e.csv, e.csv_file) {
        (Some(_), Some(csv), _) => sink.diags.push(
            Diagnostic::error(codes::TEST_FIXTURE, "the expected rows are given both inline and in a CSV file")
                .at(csv.span)
                .with_help("keep `rows` or `csv`"),
        ),
        (Some(rows), None, _) => sink.add_rows(rows),
        (None, Some(_), Some(id)) => match csv_text(&model.sources, id) {
            Ok(csv) => sink.add_csv(&csv),
            Err(d) => sink.diags.push(d),
        },
        (None, Some(_), None) => {} // reported by the loader
        (None, None, _) => sink.diags.push(
            Diagnostic::error(codes::TEST_FIXTURE, format!("{what} expects nothing"))
                .at(test.name.span)
                .with_label("`expect` has no rows")
                .with_help("add `expect: {rows: [...]}` (an empty list expects no rows), or `expect: {csv: file.csv}`"),
        ),
    }
    let (columns, rows) = sink.finish();
    ExpectedRows {
        columns,
        rows,
        ordered: e.ordered,
    }
}

/// The fixture tables of a test (`what` names it in messages): every `test_tables:` table,
/// filled by the test's `given` where it has one. Shared by metric tests and check tests.
pub fn fixture_tables(
    what: &str,
    test_tables: &[crate::spec::TestTable],
    sources: &crate::source::SourceMap,
    given: &[crate::spec::Fixture],
    diags: &mut Vec<Diagnostic>,
) -> Vec<TableData> {
    let mut tables: Vec<TableData> = test_tables
        .iter()
        .map(|t| TableData {
            name: t.table.value.clone(),
            span: t.table.span,
            columns: columns_of(&t.columns),
            rows: Vec::new(),
        })
        .collect();
    let mut given_seen: Vec<(String, Span)> = Vec::new();
    for f in given {
        let key = f.table.value.to_ascii_lowercase();
        if let Some((_, prev)) = given_seen.iter().find(|(k, _)| *k == key) {
            diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!("{what} gives table `{}` twice", f.table.value),
                )
                .at(f.table.span)
                .with_secondary(*prev, "first given here")
                .with_help("give each table once, with all its rows"),
            );
            continue;
        }
        given_seen.push((key.clone(), f.table.span));
        let declared = tables
            .iter()
            .position(|t| t.name.to_ascii_lowercase() == key);
        let table_what = format!("table `{}`", f.table.value);
        let mut columns = declared
            .map(|i| tables[i].columns.clone())
            .unwrap_or_default();
        let explicit = f.columns.as_ref().map(columns_of);
        if let Some(cols) = &f.columns {
            check_columns(&f.table.value, cols, diags);
        }
        if let Some(ex) = &explicit {
            for c in ex {
                match columns.iter_mut().find(|x| x.name == c.name) {
                    Some(x) => {
                        if c.data_type.is_some() {
                            x.data_type = c.data_type.clone();
                        }
                    }
                    None if declared.is_some() => {
                        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                        diags.push(
                            Diagnostic::error(
                                codes::TEST_MISSING_COLUMN,
                                format!("{table_what} has no column `{}`", c.name),
                            )
                            .at(c.span)
                            .with_label("not declared in `test_tables`")
                            .with_suggestion(&c.name, names.iter().copied())
                            .with_help(format!("declared columns: {}", names.join(", "))),
                        );
                    }
                    None => columns.push(c.clone()),
                }
            }
        }
        let mut sink = RowSink {
            what: table_what,
            fixed: declared.is_some() || explicit.is_some(),
            columns,
            explicit,
            rows: Vec::new(),
            diags,
            unknown_code: codes::TEST_MISSING_COLUMN,
        };
        if let (Some(_), Some(csv)) = (&f.rows, &f.csv) {
            sink.diags.push(
                Diagnostic::error(
                    codes::TEST_FIXTURE,
                    format!("{} has both `rows` and `csv`", sink.what),
                )
                .at(csv.span)
                .with_help("give the rows inline or in a CSV file, not both"),
            );
        }
        if let Some(rows) = &f.rows {
            sink.add_rows(rows);
        } else if let Some(id) = f.csv_file {
            match csv_text(sources, id) {
                Ok(csv) => sink.add_csv(&csv),
                Err(d) => sink.diags.push(d),
            }
        }
        let (columns, rows) = sink.finish();
        let data = TableData {
            name: f.table.value.clone(),
            span: f.table.span,
            columns,
            rows,
        };
        match declared {
            Some(i) => tables[i] = data,
            None => tables.push(data),
        }
    }
    tables
}

fn csv_text(sources: &crate::source::SourceMap, id: FileId) -> Result<Csv, Diagnostic> {
    let f = sources.get(id).ok_or_else(|| {
        Diagnostic::error(
            codes::TEST_FIXTURE,
            "a CSV file of a metric test was not loaded",
        )
        .with_help("this is a bug in tally; please report it")
    })?;
    parse_csv(id, &f.text)
}

// ----- CSV ---------------------------------------------------------------------------------------

/// A CSV field with its span; `quoted` fields are always text.
#[derive(Clone, Debug)]
pub struct CsvField {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

/// A parsed CSV file: the header line and the data lines.
#[derive(Clone, Debug)]
pub struct Csv {
    pub header: Vec<CsvField>,
    pub rows: Vec<(Span, Vec<CsvField>)>,
}

/// Parse CSV (RFC 4180: commas, `"` quotes with `""` escapes, quoted newlines; CRLF or LF).
/// Unquoted fields are trimmed; blank lines are skipped. Every data line must have as many fields
/// as the header.
pub fn parse_csv(file: FileId, text: &str) -> Result<Csv, Diagnostic> {
    let bytes = text.as_bytes();
    let mut lines: Vec<(Span, Vec<CsvField>)> = Vec::new();
    // A UTF-8 byte order mark (spreadsheets write one) is not part of the first column's name.
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    while i < bytes.len() {
        // One record.
        let start = i;
        let mut fields = Vec::new();
        loop {
            let fstart = i;
            if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let mut s = String::new();
                let mut seg = i;
                loop {
                    if i >= bytes.len() {
                        return Err(Diagnostic::error(
                            codes::TEST_FIXTURE,
                            "a quoted CSV field is not closed",
                        )
                        .at(Span::new(file, fstart, bytes.len()))
                        .with_help(
                            "close the field with `\"`; write a quote inside a field as `\"\"`",
                        ));
                    }
                    if bytes[i] == b'"' {
                        s.push_str(&text[seg..i]);
                        if bytes.get(i + 1) == Some(&b'"') {
                            s.push('"');
                            i += 2;
                            seg = i;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                    i += 1;
                }
                if i < bytes.len() && !matches!(bytes[i], b',' | b'\n' | b'\r') {
                    return Err(Diagnostic::error(
                        codes::TEST_FIXTURE,
                        "text after a quoted CSV field",
                    )
                    .at(Span::new(file, i, i + 1))
                    .with_help("a quoted field ends at the next comma or line end"));
                }
                fields.push(CsvField {
                    text: s,
                    quoted: true,
                    span: Span::new(file, fstart, i),
                });
            } else {
                while i < bytes.len() && !matches!(bytes[i], b',' | b'\n' | b'\r') {
                    i += 1;
                }
                let raw = &text[fstart..i];
                let lead = raw.len() - raw.trim_start().len();
                let t = raw.trim();
                fields.push(CsvField {
                    text: t.to_string(),
                    quoted: false,
                    span: Span::new(file, fstart + lead, fstart + lead + t.len()),
                });
            }
            if i < bytes.len() && bytes[i] == b',' {
                i += 1;
                continue;
            }
            break;
        }
        let end = i;
        if i < bytes.len() && bytes[i] == b'\r' {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'\n' {
            i += 1;
        }
        let blank = fields.len() == 1 && !fields[0].quoted && fields[0].text.is_empty();
        if !blank {
            lines.push((Span::new(file, start, end), fields));
        }
    }
    let mut it = lines.into_iter();
    let Some((hspan, header)) = it.next() else {
        return Err(
            Diagnostic::error(codes::TEST_FIXTURE, "the CSV file is empty")
                .at(Span::new(file, 0, 0))
                .with_help("the first line names the columns: `id,name,created_at`"),
        );
    };
    if let Some(h) = header.iter().find(|h| h.text.is_empty()) {
        return Err(
            Diagnostic::error(codes::TEST_FIXTURE, "a CSV column has no name")
                .at(if h.span.start == h.span.end {
                    hspan
                } else {
                    h.span
                })
                .with_help("the first line names every column"),
        );
    }
    for (n, h) in header.iter().enumerate() {
        if let Some(first) = header[..n].iter().find(|f| f.text == h.text) {
            return Err(Diagnostic::error(
                codes::TEST_FIXTURE,
                format!("the CSV header names column `{}` twice", h.text),
            )
            .at(h.span)
            .with_label("second time")
            .with_secondary(first.span, "first time")
            .with_help("every column of a CSV file has its own name"));
        }
    }
    let mut rows = Vec::new();
    for (span, fields) in it {
        if fields.len() != header.len() {
            return Err(Diagnostic::error(
                codes::TEST_FIXTURE,
                format!(
                    "a CSV line has {} fields, the header {}",
                    fields.len(),
                    header.len()
                ),
            )
            .at(span)
            .with_help("every line has one field per column; leave a field empty for NULL"));
        }
        rows.push((span, fields));
    }
    Ok(Csv { header, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_bom_is_stripped_and_duplicate_columns_rejected() {
        let csv = parse_csv(FileId(0), "\u{feff}id,name\n1,a\n").unwrap();
        assert_eq!(csv.header[0].text, "id");
        let err = parse_csv(FileId(0), "id,name,id\n1,a,2\n").unwrap_err();
        assert_eq!(err.code, codes::TEST_FIXTURE);
        assert!(err.message.contains("`id` twice"), "{}", err.message);
        assert_eq!(err.span.start, 8);
    }

    #[test]
    fn csv_fields_are_typed_quoted_text_stays_text() {
        let text = "id,n,x,flag,when\r\na,1,2.5,true,2026-01-01\n\n\"b,\"\"c\"\"\",,\"3\",false, 2026-01-02 10:00:00 \n";
        let csv = parse_csv(FileId(0), text).unwrap();
        assert_eq!(csv.header.len(), 5);
        assert_eq!(csv.rows.len(), 2);
        let cells: Vec<Value> = csv.rows[1]
            .1
            .iter()
            .map(|f| Value::from_csv(&f.text, f.quoted))
            .collect();
        assert_eq!(
            cells,
            vec![
                Value::Text("b,\"c\"".into()),
                Value::Null,
                Value::Text("3".into()),
                Value::Bool(false),
                Value::Text("2026-01-02 10:00:00".into())
            ]
        );
        assert_eq!(Value::from_csv("2.5", false), Value::Float(2.5));
        assert_eq!(Value::from_csv("inf", false), Value::Text("inf".into()));
        assert_eq!(&text[csv.rows[1].1[4].span.range()], "2026-01-02 10:00:00");
    }

    #[test]
    fn csv_line_with_too_few_fields_is_an_error_at_the_line() {
        let text = "a,b\n1\n";
        let d = parse_csv(FileId(0), text).unwrap_err();
        assert_eq!(d.code, codes::TEST_FIXTURE);
        assert_eq!(&text[d.span.range()], "1");
    }
}
