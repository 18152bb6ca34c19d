//! Metric tests on embedded DuckDB: the runner behind `tally test`.
//!
//! Each test runs on its own in-memory database, so tests never see each other's rows: the
//! fixture tables (every `test_tables:` table, filled with the test's `given` rows) are created
//! with declared or inferred column types, the query is compiled with
//! [`tally_core::pipeline::compile`] and run, and the rows are compared with the expected ones:
//! only the expected columns, numbers with a relative tolerance of 1e-9, times by value
//! (`2026-01-01` equals `2026-01-01 00:00:00`), in any order unless the test says `ordered: true`.
//!
//! The runner returns results and never prints; a failure carries a table diff of expected (`-`)
//! against actual (`+`) rows.

use crate::engine::{self, ResultTable, Value};
use std::cmp::Ordering;
use tally_core::diag::{codes, did_you_mean, Diagnostic};
use tally_core::metric_test::{self, ExpectedRows, PreparedTest, TableData};
use tally_core::model::{Model, Relation};
use tally_core::source::Span;
use tally_core::spec::MetricTest;

/// Relative tolerance for numbers.
pub const TOLERANCE: f64 = 1e-9;

/// [`TestReport::kind`] of a metric test.
pub const METRIC_TEST: &str = "metric test";
/// [`TestReport::kind`] of a check test (`crate::check_testing`).
pub const CHECK_TEST: &str = "check test";

/// How a test ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    /// The query ran and returned other rows; `diff` is the rendered table diff.
    Failed {
        diff: String,
        missing: usize,
        unexpected: usize,
    },
    /// The test could not run: see the report's diagnostics.
    Error,
}

/// The result of one metric test.
#[derive(Clone, Debug)]
pub struct TestReport {
    pub name: String,
    /// The test's name in its YAML file.
    pub span: Span,
    pub outcome: Outcome,
    /// Why the test could not run (outcome `Error`).
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled SQL, when the query compiled.
    pub sql: Option<String>,
    /// The rows the query returned, when it ran.
    pub actual: Option<ResultTable>,
    /// `metric test` or `check test`.
    pub kind: &'static str,
    /// Warnings of a test that ran, whatever its outcome: its fixture rows outside a business
    /// calendar's `range` (E0809), as `tally query` warns about the database's rows.
    pub warnings: Vec<Diagnostic>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// [`TestReport::to_diagnostics`], then the warnings.
    pub fn diagnostics_and_warnings(&self) -> Vec<Diagnostic> {
        let mut out = self.to_diagnostics();
        out.extend(self.warnings.iter().cloned());
        out
    }

    /// The report as diagnostics: a failure is E0507 at the test's name with the diff as help; an
    /// error is the diagnostics that stopped it.
    pub fn to_diagnostics(&self) -> Vec<Diagnostic> {
        match &self.outcome {
            Outcome::Passed => Vec::new(),
            Outcome::Failed {
                diff,
                missing,
                unexpected,
            } => vec![Diagnostic::error(
                codes::TEST_FAILED,
                if self.kind == CHECK_TEST {
                    format!(
                        "check test `{}` failed: {missing} expectation{} not met",
                        self.name,
                        plural(*missing)
                    )
                } else {
                    format!(
                        "metric test `{}` failed: {missing} expected row{} not returned, {unexpected} unexpected row{}",
                        self.name,
                        plural(*missing),
                        plural(*unexpected)
                    )
                },
            )
            .at(self.span)
            .with_label(if self.kind == CHECK_TEST {
                "the evaluation said otherwise"
            } else {
                "the query returned other rows"
            })
            .with_help(if self.kind == CHECK_TEST {
                format!("expected (-) and actual (+):\n{}", diff.trim_end())
            } else {
                format!("expected (-) and actual (+) rows:\n{}", diff.trim_end())
            })],
            Outcome::Error => self.diagnostics.clone(),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Run the project's metric tests whose name contains `filter` (all with `None`), in order.
pub fn run_tests(model: &Model, filter: Option<&str>) -> Vec<TestReport> {
    model
        .metric_tests
        .iter()
        .filter(|t| filter.is_none_or(|f| t.name.value.contains(f)))
        .map(|t| run_test(model, t))
        .collect()
}

/// Run one metric test on a fresh in-memory DuckDB.
pub fn run_test(model: &Model, test: &MetricTest) -> TestReport {
    let mut report = TestReport {
        name: test.name.value.clone(),
        span: test.name.span,
        outcome: Outcome::Error,
        diagnostics: Vec::new(),
        sql: None,
        actual: None,
        kind: METRIC_TEST,
        warnings: Vec::new(),
    };
    let (prepared, compiled) = match metric_test::check_test(model, test) {
        Ok(x) => x,
        Err(diags) => {
            report.diagnostics = diags;
            return report;
        }
    };
    report.sql = Some(compiled.sql.clone());
    let conn = match engine::open_sandboxed_in_memory() {
        Ok(c) => c,
        Err(e) => {
            report.diagnostics.push(
                Diagnostic::error(
                    codes::TEST_EXECUTION,
                    format!("cannot open an in-memory DuckDB: {e}"),
                )
                .at(test.name.span)
                .with_help("this is an environment problem, not a problem of the test"),
            );
            return report;
        }
    };
    for t in &prepared.tables {
        if let Err(d) = create_table(&conn, t) {
            report.diagnostics.push(d);
        }
    }
    if !report.diagnostics.is_empty() {
        return report;
    }
    if let Err(e) = crate::clock::install_read(&conn, model, &compiled.sql) {
        report.diagnostics.push(
            Diagnostic::error(
                codes::TEST_EXECUTION,
                format!("cannot create the business clock tables: {e}"),
            )
            .at(test.name.span)
            .with_help("this is an environment problem, not a problem of the test"),
        );
        return report;
    }
    // The project's SQL runs with no file access and a locked configuration.
    if let Err(e) = engine::seal(&conn) {
        report.diagnostics.push(
            Diagnostic::error(codes::TEST_EXECUTION, format!("cannot sandbox DuckDB: {e}"))
                .at(test.name.span)
                .with_help("this is an environment problem, not a problem of the test"),
        );
        return report;
    }
    let actual = match engine::run(&conn, &compiled.sql) {
        Ok(t) => t,
        Err(e) => {
            report
                .diagnostics
                .push(classify_error(model, &prepared, &e.to_string()));
            return report;
        }
    };
    report.outcome = match compare(&prepared, &actual) {
        None => Outcome::Passed,
        Some((diff, missing, unexpected)) => Outcome::Failed {
            diff,
            missing,
            unexpected,
        },
    };
    report.actual = Some(actual);
    // Fixture rows outside a calendar's range make NULL durations: said, as a query says it. A
    // check that cannot run changes nothing (the test's own query ran).
    report.warnings = crate::clock::range_warnings(
        &conn,
        &mut crate::cache::Session::off(),
        model,
        &compiled.plan.query,
    )
    .unwrap_or_default()
    .into_iter()
    .map(|d| d.at_if_unset(test.name.span))
    .collect();
    report
}

// ----- fixtures ----------------------------------------------------------------------------------

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (or with `T`).
fn is_timestamp(s: &str) -> bool {
    if s.len() < 16 || !is_date(&s[..10]) || !matches!(s.as_bytes()[10], b' ' | b'T') {
        return false;
    }
    let t = &s[11..];
    let b = t.as_bytes();
    b.len() >= 5
        && b[2] == b':'
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b':',
            8 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}

/// The SQL type of a column: declared, else inferred from its values.
pub fn column_type(t: &TableData, i: usize) -> String {
    if let Some(ty) = &t.columns[i].data_type {
        return ty.clone();
    }
    let (mut ints, mut floats, mut bools, mut dates, mut stamps, mut texts) = (0, 0, 0, 0, 0, 0);
    for r in &t.rows {
        match &r.cells[i] {
            Value::Null => {}
            Value::Int(_) => ints += 1,
            Value::Float(_) => floats += 1,
            Value::Bool(_) => bools += 1,
            Value::Text(s) | Value::Time(s) if is_date(s) => dates += 1,
            Value::Text(s) | Value::Time(s) if is_timestamp(s) => stamps += 1,
            Value::Text(_) | Value::Time(_) => texts += 1,
        }
    }
    let kinds = [ints + floats > 0, bools > 0, dates + stamps > 0, texts > 0]
        .iter()
        .filter(|k| **k)
        .count();
    if kinds != 1 {
        return "VARCHAR".into();
    }
    if floats > 0 {
        "DOUBLE"
    } else if ints > 0 {
        "BIGINT"
    } else if bools > 0 {
        "BOOLEAN"
    } else if stamps > 0 {
        "TIMESTAMP"
    } else if dates > 0 {
        "DATE"
    } else {
        "VARCHAR"
    }
    .into()
}

fn literal(c: &Value, ty: &str) -> String {
    let v = match c {
        Value::Null => return "NULL".into(),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) if x.is_finite() => format!("{x}"),
        Value::Float(x) => sql_string(&x.to_string()),
        Value::Text(s) | Value::Time(s) => sql_string(s),
    };
    format!("CAST({v} AS {ty})")
}

/// The statements that create and fill a fixture table.
pub fn table_sql(t: &TableData) -> (String, Vec<String>) {
    let parts: Vec<&str> = t.name.split('.').collect();
    let mut ddl = String::new();
    match parts.len() {
        3 => {
            ddl.push_str(&format!(
                "ATTACH IF NOT EXISTS ':memory:' AS {};\n",
                quote(parts[0])
            ));
            ddl.push_str(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}.{};\n",
                quote(parts[0]),
                quote(parts[1])
            ));
        }
        2 => ddl.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS {};\n",
            quote(parts[0])
        )),
        _ => {}
    }
    let name = parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".");
    let types: Vec<String> = (0..t.columns.len()).map(|i| column_type(t, i)).collect();
    let cols: Vec<String> = t
        .columns
        .iter()
        .zip(&types)
        .map(|(c, ty)| format!("{} {ty}", quote(&c.name)))
        .collect();
    ddl.push_str(&format!("CREATE TABLE {name} ({});\n", cols.join(", ")));
    let inserts = t
        .rows
        .iter()
        .map(|r| {
            let vals: Vec<String> = r
                .cells
                .iter()
                .zip(&types)
                .map(|(c, ty)| literal(c, ty))
                .collect();
            format!("INSERT INTO {name} VALUES ({});\n", vals.join(", "))
        })
        .collect();
    (ddl, inserts)
}

pub(crate) fn create_table(conn: &duckdb::Connection, t: &TableData) -> Result<(), Diagnostic> {
    if t.columns.is_empty() {
        return Err(Diagnostic::error(
            codes::TEST_FIXTURE,
            format!("table `{}` has no columns", t.name),
        )
        .at(t.span)
        .with_label("no rows and no declared columns")
        .with_help("give rows, or `columns: {name: type, ...}` (here or under `test_tables:`)"));
    }
    let (ddl, inserts) = table_sql(t);
    conn.execute_batch(&ddl).map_err(|e| {
        Diagnostic::error(
            codes::TEST_EXECUTION,
            format!("DuckDB cannot create table `{}`", t.name),
        )
        .at(t.span)
        .with_help(format!("DuckDB: {}", first_line(&e.to_string())))
        .with_help("check the declared column types")
    })?;
    if inserts.is_empty() || append_rows(conn, t).is_ok() {
        return Ok(());
    }
    // Find the row DuckDB rejects, one INSERT at a time on an empty table (slow, but only when a
    // row is bad; the appender above loads millions of rows in seconds).
    let _ = conn.execute_batch(&format!("DELETE FROM {}", qualified(&t.name)));
    for (r, sql) in t.rows.iter().zip(&inserts) {
        if let Err(e) = conn.execute_batch(sql) {
            return Err(Diagnostic::error(
                codes::TEST_EXECUTION,
                format!("DuckDB rejects a row of table `{}`", t.name),
            )
            .at(r.span)
            .with_label("this row")
            .with_help(format!("DuckDB: {}", first_line(&e.to_string())))
            .with_help(
                "a value does not fit its column's type; declare the type, or quote the value",
            ));
        }
    }
    Ok(())
}

/// The table name, each part quoted.
fn qualified(name: &str) -> String {
    name.split('.').map(quote).collect::<Vec<_>>().join(".")
}

/// Load a fixture's rows through DuckDB's appender: values are cast to the column types as the
/// `CAST(... AS type)` of [`table_sql`] would be.
fn append_rows(conn: &duckdb::Connection, t: &TableData) -> Result<(), duckdb::Error> {
    use duckdb::ToSql;
    let parts: Vec<&str> = t.name.split('.').collect();
    let mut app = match parts.as_slice() {
        [table] => conn.appender(table)?,
        [schema, table] => conn.appender_to_db(table, schema)?,
        [catalog, schema, table] => conn.appender_to_catalog_and_db(table, catalog, schema)?,
        _ => return Err(duckdb::Error::InvalidParameterName(t.name.clone())),
    };
    for r in &t.rows {
        let values: Vec<Box<dyn ToSql + '_>> = r
            .cells
            .iter()
            .map(|c| -> Box<dyn ToSql + '_> {
                match c {
                    Value::Null => Box::new(duckdb::types::Null),
                    Value::Bool(b) => Box::new(*b),
                    Value::Int(i) => Box::new(*i),
                    Value::Float(x) => Box::new(*x),
                    Value::Text(s) | Value::Time(s) => Box::new(s.as_str()),
                }
            })
            .collect();
        app.append_row(duckdb::appender_params_from_iter(values.iter()))?;
    }
    app.flush()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The text between the first pair of double quotes after `marker`.
fn quoted_after<'a>(msg: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &msg[msg.find(marker)? + marker.len()..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(&rest[start..end])
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// The fixture that most likely lacks `column`: the one DuckDB names, else the one a semantic
/// model reads with SQL that uses the column.
fn fixture_lacking<'a>(
    model: &Model,
    p: &'a PreparedTest,
    line: &str,
    column: &str,
) -> Option<&'a TableData> {
    let named = quoted_after(line, "Table").or_else(|| quoted_after(line, "Values list"));
    if let Some(n) = named {
        let hit = p.tables.iter().find(|t| {
            t.name.eq_ignore_ascii_case(n)
                || t.name
                    .rsplit('.')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(n))
        });
        if hit.is_some() {
            return hit;
        }
    }
    let lacks = |t: &&TableData| {
        !t.columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(column))
    };
    for sm in &model.semantic_models {
        match &sm.relation {
            Relation::Table(name) => {
                let uses = sm
                    .entities
                    .iter()
                    .map(|e| e.expr.as_str())
                    .chain(sm.dimensions.iter().map(|d| d.expr.as_str()))
                    .chain(sm.measures.iter().map(|m| m.expr.as_str()))
                    .any(|e| has_word(e, column));
                let fixture = p
                    .tables
                    .iter()
                    .filter(lacks)
                    .find(|t| t.name.eq_ignore_ascii_case(name));
                if let (true, Some(t)) = (uses, fixture) {
                    return Some(t);
                }
            }
            Relation::Query(sql, _) => {
                if has_word(sql, column) {
                    let mut reads = p
                        .tables
                        .iter()
                        .filter(lacks)
                        .filter(|t| sql.contains(t.name.as_str()));
                    if let (Some(t), None) = (reads.next(), reads.next()) {
                        return Some(t);
                    }
                }
            }
        }
    }
    None
}

/// Turn a DuckDB error of the test's query into a diagnostic: a missing table (E0504), a missing
/// column (E0503), or anything else (E0506).
fn classify_error(model: &Model, p: &PreparedTest, msg: &str) -> Diagnostic {
    let line = first_line(msg);
    if let Some(rest) = line.split("Table with name ").nth(1) {
        let table = rest.split(" does not exist").next().unwrap_or(rest).trim();
        let names: Vec<&str> = p.tables.iter().map(|t| t.name.as_str()).collect();
        return Diagnostic::error(
            codes::TEST_MISSING_TABLE,
            format!("the query of `{}` reads table `{table}`, which the test does not provide", p.name),
        )
        .at(p.span)
        .with_label("this test")
        .with_suggestion(table, names.iter().copied())
        .with_help(format!("add `- table: <schema>.{table}` under `given:` (rows may be left out for an empty table), or declare its columns once under `test_tables:`"))
        .with_help(format!("DuckDB: {line}"));
    }
    let column = quoted_after(line, "does not have a column named")
        .or_else(|| quoted_after(line, "Referenced column"));
    if let Some(col) = column {
        let table = fixture_lacking(model, p, line, col);
        let all: Vec<&str> = p
            .tables
            .iter()
            .flat_map(|t| t.columns.iter().map(|c| c.name.as_str()))
            .collect();
        let mut d = Diagnostic::error(
            codes::TEST_MISSING_COLUMN,
            match table {
                Some(t) => format!(
                    "the project's SQL reads column `{col}`, which fixture `{}` lacks",
                    t.name
                ),
                None => format!(
                    "the project's SQL reads column `{col}`, which no fixture table of `{}` has",
                    p.name
                ),
            },
        )
        .at(table.map(|t| t.span).unwrap_or(p.span))
        .with_label("needs the column");
        if let Some(s) = did_you_mean(col, all.iter().copied()) {
            d = d.with_help(format!("a fixture has `{s}`: is it misspelt?"));
        }
        return d
            .with_help(format!(
                "add `{col}` to the fixture's rows or `columns:` (`columns: {{{col}: <type>}}`), or to the table's `test_tables:` entry"
            ))
            .with_help(format!("DuckDB: {line}"));
    }
    Diagnostic::error(
        codes::TEST_EXECUTION,
        format!("DuckDB could not run the query of `{}`", p.name),
    )
    .at(p.span)
    .with_label("this test")
    .with_help(format!("DuckDB: {line}"))
    .with_help("`tally test --format json` shows the SQL of every test (field `sql`)")
}

// ----- comparison --------------------------------------------------------------------------------

fn close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() <= TOLERANCE * x.abs().max(y.abs())
}

fn cell_number(c: &Value) -> Option<f64> {
    match c {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        Value::Text(s) | Value::Time(s) => s.trim().parse().ok().filter(|_: &f64| {
            s.chars().any(|c| c.is_ascii_digit())
                && s.trim()
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        }),
        _ => None,
    }
}

/// A time in one canonical form: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
fn canonical_time(s: &str) -> Option<String> {
    if is_date(s) {
        return Some(format!("{s} 00:00:00"));
    }
    if !is_timestamp(s) {
        return None;
    }
    let mut t = s.replacen('T', " ", 1);
    if t.len() == 16 {
        t.push_str(":00");
    }
    if let Some((base, frac)) = t.split_once('.') {
        let frac = frac.trim_end_matches('0');
        t = if frac.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{frac}")
        };
    }
    Some(t)
}

/// Whether an expected cell matches an actual value.
pub fn matches(e: &Value, a: &Value) -> bool {
    match (e, a) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (_, Value::Int(y)) => cell_number(e).is_some_and(|x| close(x, *y as f64)),
        (_, Value::Float(y)) => cell_number(e).is_some_and(|x| close(x, *y)),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Text(s), Value::Bool(y)) => s.eq_ignore_ascii_case(&y.to_string()),
        (Value::Text(s) | Value::Time(s), Value::Time(t)) => {
            match (canonical_time(s), canonical_time(t)) {
                (Some(x), Some(y)) => x == y,
                _ => s == t,
            }
        }
        (_, Value::Text(t)) | (_, Value::Time(t)) => e.written().to_string() == *t,
        _ => false,
    }
}

fn show_actual(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Time(t) => t.strip_suffix(" 00:00:00").unwrap_or(t).to_string(),
        other => other.to_string(),
    }
}

/// Compare cells as numbers when both are numbers, else as text.
fn cmp_text(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// `None` when the rows match; else the rendered diff and the counts of missing and unexpected rows.
pub fn compare(p: &PreparedTest, actual: &ResultTable) -> Option<(String, usize, usize)> {
    let exp = &p.expected;
    let idx: Vec<usize> = exp
        .columns
        .iter()
        .map(|c| {
            actual
                .columns
                .iter()
                .position(|a| *a == c.name)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let project = |row: &[Value]| -> Vec<Value> {
        idx.iter()
            .map(|i| row.get(*i).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let got: Vec<Vec<Value>> = actual.rows.iter().map(|r| project(r)).collect();
    let row_eq = |e: &[Value], a: &[Value]| e.iter().zip(a).all(|(x, y)| matches(x, y));
    let want: Vec<&[Value]> = exp.rows.iter().map(|r| r.cells.as_slice()).collect();
    // Entries of the diff: (mark, cells shown).
    let mut entries: Vec<(char, Vec<String>)> = Vec::new();
    let show_e = |e: &[Value]| {
        e.iter()
            .map(|c| c.written().to_string())
            .collect::<Vec<_>>()
    };
    let show_a = |a: &[Value]| a.iter().map(show_actual).collect::<Vec<_>>();
    if exp.ordered {
        if want.len() == got.len() && want.iter().zip(&got).all(|(e, a)| row_eq(e, a)) {
            return None;
        }
        // Longest common subsequence of rows.
        let (n, m) = (want.len(), got.len());
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if row_eq(want[i], &got[j]) {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && row_eq(want[i], &got[j]) {
                entries.push((' ', show_e(want[i])));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                entries.push(('-', show_e(want[i])));
                i += 1;
            } else {
                entries.push(('+', show_a(&got[j])));
                j += 1;
            }
        }
    } else {
        let mut used = vec![false; got.len()];
        for e in &want {
            match (0..got.len()).find(|j| !used[*j] && row_eq(e, &got[*j])) {
                Some(j) => {
                    used[j] = true;
                    entries.push((' ', show_e(e)));
                }
                None => entries.push(('-', show_e(e))),
            }
        }
        for (j, a) in got.iter().enumerate() {
            if !used[j] {
                entries.push(('+', show_a(a)));
            }
        }
        if entries.iter().all(|(m, _)| *m == ' ') {
            return None;
        }
        // Rows of the same group-by keys side by side: sort by the non-metric columns first.
        let metrics: Vec<&str> = p.request.metrics.iter().map(|m| m.value.as_str()).collect();
        let keys: Vec<usize> = (0..exp.columns.len())
            .filter(|i| !metrics.contains(&exp.columns[*i].name.as_str()))
            .collect();
        let rank = |m: char| match m {
            ' ' => 0,
            '-' => 1,
            _ => 2,
        };
        entries.sort_by(|(ma, a), (mb, b)| {
            keys.iter()
                .map(|k| cmp_text(&a[*k], &b[*k]))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
                .then(rank(*ma).cmp(&rank(*mb)))
                .then_with(|| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| cmp_text(x, y))
                        .find(|o| *o != Ordering::Equal)
                        .unwrap_or(Ordering::Equal)
                })
        });
    }
    let missing = entries.iter().filter(|(m, _)| *m == '-').count();
    let unexpected = entries.iter().filter(|(m, _)| *m == '+').count();
    Some((render_table(exp, &entries), missing, unexpected))
}

/// A plain-text table with a marker column: ` ` matched, `-` expected only, `+` actual only.
fn render_table(exp: &ExpectedRows, entries: &[(char, Vec<String>)]) -> String {
    let header: Vec<&str> = exp.columns.iter().map(|c| c.name.as_str()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (_, cells) in entries {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |mark: char, cells: &[String]| -> String {
        let body: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("{mark} | {} |\n", body.join(" | "))
    };
    let mut out = line(
        ' ',
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    out.push_str(&format!(
        "  |{}|\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    ));
    for (m, cells) in entries {
        out.push_str(&line(*m, cells));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::load::{load_files, LoadOptions};
    use tally_core::model::spec_to_model;

    const MODELS: &str = "semantic_models:
  - name: orders
    node_relation: {schema_name: shop, alias: orders}
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: channel, type: categorical}
    measures:
      - {name: order_count, agg: sum, expr: '1'}
      - {name: revenue_total, agg: sum, expr: amount}
metrics:
  - {name: orders, type: simple, type_params: {measure: order_count}}
  - {name: revenue, type: simple, type_params: {measure: revenue_total}}
  - name: average_order_value
    type: ratio
    type_params: {numerator: revenue, denominator: orders}
";

    const ROWS: &str = "    given:
      - table: shop.orders
        rows:
          - {id: 1, ordered_at: 2026-01-05 10:00:00, channel: web, amount: 10.0}
          - {id: 2, ordered_at: 2026-01-20 11:30:00, channel: app, amount: 20.0}
          - {id: 3, ordered_at: 2026-02-02 09:00:00, channel: web, amount: 30.0}
";

    fn model(tests: &str) -> Model {
        let (spec, diags) = load_files(
            &[("models/m.yml", MODELS), ("metrics/tests/t.yml", tests)],
            Some("name: shop\n"),
            &LoadOptions::default(),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let (m, diags) = spec_to_model(spec, &tally_templates::builtin());
        assert!(diags.is_empty(), "{diags:?}");
        m
    }

    fn run(tests: &str) -> Vec<TestReport> {
        run_tests(&model(tests), None)
    }

    #[test]
    fn passing_test_by_month_in_any_order() {
        let r = run(&format!(
            "metric_tests:\n  - name: by_month\n{ROWS}    query: {{metrics: [orders, average_order_value], group_by: [metric_time__month]}}
    expect:
      rows:
        - {{metric_time__month: 2026-02-01, orders: 1, average_order_value: 30}}
        - {{metric_time__month: 2026-01-01, orders: 2, average_order_value: 15.000000000001}}
"
        ));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, Outcome::Passed, "{:?}", r[0].diagnostics);
        assert!(r[0].to_diagnostics().is_empty());
    }

    #[test]
    fn failing_test_shows_a_table_diff() {
        let r = run(&format!(
            "metric_tests:\n  - name: by_month\n{ROWS}    query: {{metrics: [revenue], group_by: [metric_time__month, order__channel]}}
    expect:
      rows:
        - {{metric_time__month: 2026-01-01, order__channel: web, revenue: 10}}
        - {{metric_time__month: 2026-01-01, order__channel: app, revenue: 25}}
        - {{metric_time__month: 2026-03-01, order__channel: web, revenue: 30}}
"
        ));
        let Outcome::Failed {
            diff,
            missing,
            unexpected,
        } = &r[0].outcome
        else {
            panic!("{:?} {:?}", r[0].outcome, r[0].diagnostics)
        };
        assert_eq!((*missing, *unexpected), (2, 2));
        insta::assert_snapshot!(diff);
        let d = &r[0].to_diagnostics()[0];
        assert_eq!(d.code, codes::TEST_FAILED);
        assert!(
            d.help[0].contains("- | 2026-01-01         | app            | 25"),
            "{}",
            d.help[0]
        );
    }

    #[test]
    fn ordered_tests_compare_order() {
        let r = run(&format!(
            "metric_tests:\n  - name: ordered\n{ROWS}    query: {{metrics: [orders], group_by: [metric_time__month], order_by: [metric_time__month]}}
    expect:
      ordered: true
      rows:
        - {{metric_time__month: 2026-02-01, orders: 1}}
        - {{metric_time__month: 2026-01-01, orders: 2}}
"
        ));
        let Outcome::Failed { diff, .. } = &r[0].outcome else {
            panic!("{:?}", r[0].outcome)
        };
        assert_eq!(
            diff,
            "  | metric_time__month | orders |\n  |--------------------|--------|\n- | 2026-02-01         | 1      |\n  | 2026-01-01         | 2      |\n+ | 2026-02-01         | 1      |\n"
        );
    }

    #[test]
    fn missing_column_and_table_are_diagnostics_with_spans() {
        let m = model(
            "metric_tests:
  - name: no_amount
    given:
      - table: shop.orders
        rows: [{id: 1, ordered_at: 2026-01-05, channel: web}]
    query: {metrics: [revenue]}
    expect: {rows: [{revenue: 1}]}
  - name: no_table
    given:
      - table: shop.order
        rows: [{id: 1}]
    query: {metrics: [orders]}
    expect: {rows: [{orders: 1}]}
",
        );
        let r = run_tests(&m, None);
        let d = &r[0].diagnostics[0];
        assert_eq!(d.code, codes::TEST_MISSING_COLUMN, "{d:?}");
        assert!(
            d.message.contains("`amount`") && d.message.contains("fixture `shop.orders`"),
            "{}",
            d.message
        );
        assert_eq!(m.sources.text(d.span), Some("shop.orders"));
        let d = &r[1].diagnostics[0];
        assert_eq!(d.code, codes::TEST_MISSING_TABLE, "{d:?}");
        assert_eq!(m.sources.text(d.span), Some("no_table"));
        assert!(
            d.help
                .iter()
                .any(|h| h.contains("did you mean `shop.order`"))
                || d.message.contains("orders"),
            "{d:?}"
        );
    }

    #[test]
    fn bad_fixture_value_points_at_the_row_and_tests_are_isolated() {
        let r = run("test_tables:
  - table: shop.orders
    columns: {id: bigint, ordered_at: timestamp, channel: varchar, amount: double}
metric_tests:
  - name: bad_value
    given:
      - table: shop.orders
        rows:
          - {id: 1, ordered_at: 2026-01-05, amount: 1}
          - {id: 2, ordered_at: not a time, amount: 1}
    query: {metrics: [orders]}
    expect: {rows: [{orders: 2}]}
  - name: empty_table_from_declaration
    query: {metrics: [orders]}
    expect: {rows: [{orders: null}]}
");
        assert_eq!(r[0].outcome, Outcome::Error);
        let d = &r[0].diagnostics[0];
        assert_eq!(d.code, codes::TEST_EXECUTION);
        assert!(d.message.contains("rejects a row"), "{d:?}");
        // The second test sees none of the first test's rows.
        assert_eq!(
            r[1].outcome,
            Outcome::Passed,
            "{:?} {:?}",
            r[1].outcome,
            r[1].actual
        );
    }

    #[test]
    fn types_are_inferred_and_values_compared_by_kind() {
        let t = TableData {
            name: "s.t".into(),
            span: Span::DUMMY,
            columns: ["a", "b", "c", "d", "e"]
                .iter()
                .map(|n| metric_test::ColumnData {
                    name: n.to_string(),
                    data_type: None,
                    span: Span::DUMMY,
                })
                .collect(),
            rows: vec![metric_test::RowData {
                span: Span::DUMMY,
                cells: vec![
                    Value::Int(1),
                    Value::Float(1.5),
                    Value::Text("2026-01-01".into()),
                    Value::Text("2026-01-01 10:00".into()),
                    Value::Null,
                ],
            }],
        };
        let types: Vec<String> = (0..5).map(|i| column_type(&t, i)).collect();
        assert_eq!(
            types,
            vec!["BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "VARCHAR"]
        );
        assert!(matches(
            &Value::Text("2026-01-01".into()),
            &Value::Time("2026-01-01 00:00:00".into())
        ));
        assert!(matches(
            &Value::Text("2026-01-01T10:00".into()),
            &Value::Time("2026-01-01 10:00:00".into())
        ));
        assert!(matches(&Value::Int(1), &Value::Float(1.0 + 1e-12)));
        assert!(!matches(&Value::Int(1), &Value::Float(1.0 + 1e-6)));
        assert!(matches(&Value::Text("0.5".into()), &Value::Float(0.5)));
        assert!(!matches(&Value::Null, &Value::Int(0)));
        assert!(matches(&Value::Bool(true), &Value::Bool(true)));
        assert!(matches(&Value::Int(7), &Value::Text("7".into())));
    }
}
