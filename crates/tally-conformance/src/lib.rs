//! Conformance harness: runs MetricFlow's integration cases against tally on DuckDB.
//!
//! The cases, fixtures and Jinja come from `tally-conformance-cases` (no DuckDB there; its items
//! are re-exported here). [`run`] loads every fixture into an in-memory DuckDB (schema
//! [`SOURCE_SCHEMA`]), writes a copy of each manifest with `$source_schema` replaced by that
//! schema, and for every case asks the caller's `compile` callback for tally's SQL, executes it,
//! renders and executes the case's check query and compares both tables with MetricFlow's
//! comparison rules ([`compare`]). It prints nothing.

pub mod crosscheck;
pub mod tally;

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use duckdb::arrow::datatypes::{DataType, IntervalUnit, TimeUnit as ArrowTimeUnit};
use duckdb::types::ValueRef;

pub use tally_conformance_cases::*;
/// The cell of a result table: tally's one row-value type. DATE and TIMESTAMP cells are both
/// read as [`Value::Time`] written out to the microsecond ([`Value::time_from_micros`]), so a
/// date equals the timestamp at its midnight.
pub use tally_core::value::Value;

/// Creates `schema` and loads all fixture tables of `<metricflow_dir>/fixtures/*/*.yaml` into it.
pub fn load_fixtures(
    conn: &duckdb::Connection,
    metricflow_dir: &Path,
    schema: &str,
) -> Result<(), String> {
    let scripts = fixture_scripts(metricflow_dir, schema)?;
    conn.execute_batch(&create_schema_sql(schema))
        .map_err(|e| format!("create schema: {e}"))?;
    for (path, sql) in scripts {
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(format!("loading {}: {e}", path.display()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/// How a cell reads in a conformance report: `NULL`, floats in Rust's debug form (`2.0`), text
/// quoted, times as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Text(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Time(t) => t.clone(),
    }
}

/// A query result: column names and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn convert_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(b),
        ValueRef::TinyInt(i) => Value::Int(i.into()),
        ValueRef::SmallInt(i) => Value::Int(i.into()),
        ValueRef::Int(i) => Value::Int(i.into()),
        ValueRef::BigInt(i) => Value::Int(i),
        ValueRef::HugeInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::UHugeInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::UTinyInt(i) => Value::Int(i.into()),
        ValueRef::USmallInt(i) => Value::Int(i.into()),
        ValueRef::UInt(i) => Value::Int(i.into()),
        ValueRef::UBigInt(i) => i64::try_from(i).map_or(Value::Float(i as f64), Value::Int),
        ValueRef::Float(x) => Value::Float(x.into()),
        ValueRef::Double(x) => Value::Float(x),
        ValueRef::Decimal(d) => Value::Float(
            d.to_string()
                .parse()
                .unwrap_or(d.value() as f64 / 10f64.powi(d.scale().into())),
        ),
        ValueRef::Timestamp(unit, t) => Value::time_from_micros(unit.to_micros(t)),
        ValueRef::Date32(d) => Value::time_from_micros(i64::from(d) * MICROS_PER_DAY),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => Value::Text(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        ValueRef::Time64(unit, t) => {
            let micros = unit.to_micros(t);
            Value::Text(format_timestamp(micros)[11..].to_string())
        }
        ValueRef::Interval {
            months,
            days,
            nanos,
        } => Value::Text(format!("{months} months {days} days {nanos} ns")),
        other => match other.as_str() {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Text(format!("{:?}", other.to_owned())),
        },
    }
}

/// Whether duckdb-rs can decode cells of this Arrow type (it panics on the others).
fn readable(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Timestamp(..)
            | DataType::Date32
            | DataType::Time64(ArrowTimeUnit::Microsecond)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::LargeList(..)
            | DataType::List(..)
            | DataType::Dictionary(..)
            | DataType::Struct(_)
            | DataType::Map(..)
            | DataType::FixedSizeList(..)
            | DataType::Union(..)
    )
}

/// Executes `sql` and collects its result.
pub fn query_table(conn: &duckdb::Connection, sql: &str) -> Result<Table, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut table = Table::default();
    // Per column: None = decode normally, Some(v) = every cell is `v`.
    let mut fixed: Vec<Option<Value>> = Vec::new();
    if let Some(s) = rows.as_ref() {
        table.columns = s.column_names();
        for i in 0..table.columns.len() {
            let dt = s.column_type(i);
            fixed.push(match dt {
                DataType::Null => Some(Value::Null),
                ref t if !readable(t) => Some(Value::Text(format!("<unsupported type {t}>"))),
                _ => None,
            });
        }
    }
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut out = Vec::with_capacity(fixed.len());
        for (i, f) in fixed.iter().enumerate() {
            out.push(match f {
                Some(v) => v.clone(),
                None => convert_value(row.get_ref(i).map_err(|e| e.to_string())?),
            });
        }
        table.rows.push(out);
    }
    Ok(table)
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 2,
        Value::Time(_) => 3,
        Value::Text(_) => 4,
    }
}

/// A total order: NULL < booleans < numbers (NaN last) < timestamps < text.
fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Time(x), Value::Time(y)) => match (a.time_micros(), b.time_micros()) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.cmp(y),
        },
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => match (x.is_nan(), y.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            },
            _ => type_rank(a).cmp(&type_rank(b)),
        },
    }
}

/// Python's `math.isclose(a, b, rel_tol=1e-6)`, with NaN equal to NaN.
fn numbers_close(x: f64, y: f64) -> bool {
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if x == y {
        return true;
    }
    if x.is_infinite() || y.is_infinite() {
        return false;
    }
    (x - y).abs() <= 1e-6 * x.abs().max(y.abs())
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) if x == y => true,
        (Value::Time(x), Value::Time(y)) => match (a.time_micros(), b.time_micros()) {
            (Some(p), Some(q)) => p == q,
            _ => x == y,
        },
        (Value::Text(x), Value::Text(y)) => x == y,
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => numbers_close(x, y),
            _ => false,
        },
    }
}

fn rows_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
}

fn cmp_rows(a: &[Value], b: &[Value], key: &[usize]) -> Ordering {
    for &i in key {
        let o = cmp_values(&a[i], &b[i]);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The table with its columns sorted by name.
fn with_sorted_columns(t: &Table) -> Table {
    let mut idx: Vec<usize> = (0..t.columns.len()).collect();
    idx.sort_by(|&a, &b| t.columns[a].cmp(&t.columns[b]));
    Table {
        columns: idx.iter().map(|&i| t.columns[i].clone()).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| {
                idx.iter()
                    .map(|&i| r.get(i).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect(),
    }
}

fn render_row(row: &[Value]) -> String {
    row.iter().map(shown).collect::<Vec<_>>().join(" | ")
}

const MAX_DIFF_ROWS: usize = 20;

/// Compares tally's result (`actual`) with the check query's (`expected`) by MetricFlow's rules:
/// exact column names; unless `check_order`, columns sorted by name and rows sorted by value; numbers
/// equal within a relative tolerance of 1e-6 (integers and floats alike, NaN equal to NaN); DATE
/// and TIMESTAMP as timestamps; an empty expected table fails unless `allow_empty`. The error
/// starts with a one-line summary, followed by a compact expected(-)/actual(+) diff.
pub fn compare(case: &Case, expected: &Table, actual: &Table) -> Result<(), String> {
    let (exp, act) = if case.check_order {
        (expected.clone(), actual.clone())
    } else {
        (with_sorted_columns(expected), with_sorted_columns(actual))
    };
    if exp.columns != act.columns {
        let missing: Vec<&String> = exp
            .columns
            .iter()
            .filter(|c| !act.columns.contains(c))
            .collect();
        let extra: Vec<&String> = act
            .columns
            .iter()
            .filter(|c| !exp.columns.contains(c))
            .collect();
        let mut msg = if missing.is_empty() && extra.is_empty() {
            "column order differs".to_string()
        } else {
            "column names differ".to_string()
        };
        if !missing.is_empty() {
            msg.push_str(&format!("; missing {missing:?}"));
        }
        if !extra.is_empty() {
            msg.push_str(&format!("; unexpected {extra:?}"));
        }
        msg.push_str(&format!(
            "\n  expected columns: {:?}\n  actual columns:   {:?}",
            exp.columns, act.columns
        ));
        return Err(msg);
    }
    if exp.rows.is_empty() && !case.allow_empty {
        return Err(format!(
            "expected table is empty and allow_empty is not set (actual has {} rows)",
            act.rows.len()
        ));
    }
    let header = format!("  columns: {}", exp.columns.join(" | "));
    if case.check_order {
        let mut lines = Vec::new();
        let (mut differing, mut shown) = (0usize, 0usize);
        for i in 0..exp.rows.len().max(act.rows.len()) {
            let (e, a) = (exp.rows.get(i), act.rows.get(i));
            if matches!((e, a), (Some(e), Some(a)) if rows_equal(e, a)) {
                continue;
            }
            differing += 1;
            if shown < MAX_DIFF_ROWS {
                shown += 1;
                if let Some(e) = e {
                    lines.push(format!("  row {i}: - {}", render_row(e)));
                }
                if let Some(a) = a {
                    lines.push(format!("  row {i}: + {}", render_row(a)));
                }
            }
        }
        if differing == 0 {
            return Ok(());
        }
        let mut msg = format!(
            "ordered rows differ at {differing} positions (expected {} rows, actual {})\n{header}",
            exp.rows.len(),
            act.rows.len()
        );
        push_lines(&mut msg, lines, differing - shown);
        return Err(msg);
    }

    // Sort rows. The sort key takes text, timestamp and boolean columns first (usually group-by
    // items), then integer columns, then float columns: rounding noise in float metric values then
    // cannot reorder rows that exact columns tell apart, and the diff pairs rows by their keys.
    let ncols = exp.columns.len();
    let rank = |c: usize| {
        let cells = || exp.rows.iter().chain(&act.rows).filter_map(|r| r.get(c));
        if cells().any(|v| matches!(v, Value::Float(_))) {
            2
        } else if cells().any(|v| matches!(v, Value::Int(_))) {
            1
        } else {
            0
        }
    };
    let mut key: Vec<usize> = (0..ncols).collect();
    key.sort_by_key(|&c| rank(c));
    let mut erows = exp.rows;
    let mut arows = act.rows;
    erows.sort_by(|a, b| cmp_rows(a, b, &key));
    arows.sort_by(|a, b| cmp_rows(a, b, &key));

    // Merge the sorted rows: `-` rows only in expected, `+` rows only in actual.
    let (mut i, mut j) = (0, 0);
    let (mut missing, mut extra) = (0usize, 0usize);
    let mut lines = Vec::new();
    while i < erows.len() || j < arows.len() {
        let take_expected = match (erows.get(i), arows.get(j)) {
            (Some(e), Some(a)) if rows_equal(e, a) => {
                i += 1;
                j += 1;
                continue;
            }
            (Some(e), Some(a)) => cmp_rows(e, a, &key) != Ordering::Greater,
            (Some(_), None) => true,
            _ => false,
        };
        let line = if take_expected {
            missing += 1;
            i += 1;
            format!("  - {}", render_row(&erows[i - 1]))
        } else {
            extra += 1;
            j += 1;
            format!("  + {}", render_row(&arows[j - 1]))
        };
        if lines.len() < MAX_DIFF_ROWS {
            lines.push(line);
        }
    }
    if missing == 0 && extra == 0 {
        return Ok(());
    }
    let mut msg = format!(
        "rows differ: {missing} expected rows missing, {extra} unexpected rows (expected {} rows, actual {})\n{header}",
        erows.len(),
        arows.len()
    );
    let hidden = missing + extra - lines.len();
    push_lines(&mut msg, lines, hidden);
    Err(msg)
}

fn push_lines(msg: &mut String, lines: Vec<String>, hidden: usize) {
    for l in lines {
        msg.push('\n');
        msg.push_str(&l);
    }
    if hidden > 0 {
        msg.push_str(&format!("\n  ... {hidden} more"));
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Result of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Results of [`run`], in case order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `(file::name, outcome)`.
    pub results: Vec<(String, Outcome)>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Pass))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skip(_)))
            .count()
    }

    /// `N passed, N failed, N skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The failing cases with their messages.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.results.iter().filter_map(|(id, o)| match o {
            Outcome::Fail(msg) => Some((id.as_str(), msg.as_str())),
            _ => None,
        })
    }
}

/// A directory that is removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tally-conformance-{}-{nanos}-{n}",
            std::process::id()
        ));
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

fn run_case(
    conn: &duckdb::Connection,
    case: &Case,
    manifest_dir: &Path,
    compile: &dyn Fn(&Case, &Path) -> Result<String, String>,
) -> Outcome {
    if let Some(reason) = case.skip_reason() {
        return Outcome::Skip(reason);
    }
    let compiled =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compile(case, manifest_dir)));
    let sql = match compiled {
        Ok(Ok(sql)) => sql,
        Ok(Err(e)) => return Outcome::Fail(format!("compile error: {e}")),
        Err(p) => return Outcome::Fail(format!("compiler panicked: {}", panic_message(p))),
    };
    let actual = match query_table(conn, &sql) {
        Ok(t) => t,
        Err(e) => {
            return Outcome::Fail(format!("tally SQL failed: {e}\n  SQL: {}", one_line(&sql)))
        }
    };
    let check_sql = match render_check_query(case, SOURCE_SCHEMA) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(format!("cannot render check query: {e}")),
    };
    let expected = match query_table(conn, &check_sql) {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(format!("check query failed: {e}")),
    };
    match compare(case, &expected, &actual) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn one_line(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 400 {
        format!("{}...", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// Runs every case (or those whose `file::name` contains `filter`) against tally.
///
/// Creates an in-memory DuckDB, loads the fixtures into [`SOURCE_SCHEMA`], writes the manifests with
/// `$source_schema` replaced into a temporary directory, and for each case calls `compile(case,
/// manifest_dir)` (the directory of `case.model` in that copy) for tally's SQL, runs it and the
/// check query, and compares. Compile errors, panics and SQL errors are failures; cases needing an
/// approximate discrete percentile are skipped. Prints nothing.
pub fn run(
    metricflow_dir: &Path,
    compile: &dyn Fn(&Case, &Path) -> Result<String, String>,
    filter: Option<&str>,
) -> Result<Report, String> {
    let cases = load_cases(metricflow_dir)?;
    let conn =
        duckdb::Connection::open_in_memory().map_err(|e| format!("cannot open DuckDB: {e}"))?;
    load_fixtures(&conn, metricflow_dir, SOURCE_SCHEMA)?;
    let tmp = TempDir::new()?;
    prepare_manifests(metricflow_dir, SOURCE_SCHEMA, &tmp.0)?;
    let mut report = Report::default();
    for case in &cases {
        let id = case.id();
        if let Some(f) = filter {
            if !id.contains(f) {
                continue;
            }
        }
        let manifest_dir = tmp.0.join(&case.model);
        let outcome = run_case(&conn, case, &manifest_dir, compile);
        report.results.push((id, outcome));
    }
    Ok(report)
}

#[cfg(test)]
mod tests;

/// The setting of a service or tool a test needs from the environment (`TALLY_POSTGRES`,
/// `TALLY_WAREHOUSES_PYTHON`: `scripts/test` starts the service or makes the venv and sets it).
/// Unset or blank: `None` after a line saying `test` is skipped, except under CI (`CI=true`),
/// where a skipped check would pass silently, so the test fails.
#[allow(
    clippy::print_stdout,
    reason = "a test helper: says which test was skipped and why"
)]
pub fn required_env(var: &str, test: &str) -> Option<String> {
    if let Some(v) = std::env::var(var).ok().filter(|s| !s.trim().is_empty()) {
        return Some(v);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{var} is not set under CI: run the tests with ./scripts/test, which sets it"
    );
    println!("{test}: skipped ({var} is not set; ./scripts/test sets it)");
    None
}
