//! Stage 6, `engine`: run SQL on embedded DuckDB and return typed rows.
//!
//! The only module that links DuckDB for query execution. Values are converted into [`Value`] so the
//! CLI can print tables, CSV and JSON without knowing DuckDB's types.

use duckdb::types::{TimeUnit, ValueRef};
use std::path::Path;

/// A result value: the one cell type of tally ([`tally_core::value::Value`]), shared with the
/// metric-test runner and the CLI's output.
pub use tally_core::value::Value;

/// Rows returned by a query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Open a DuckDB database file (created if missing), or an in-memory one for `None`.
pub fn open(path: Option<&Path>) -> Result<duckdb::Connection, duckdb::Error> {
    match path {
        Some(p) => duckdb::Connection::open(p),
        None => duckdb::Connection::open_in_memory(),
    }
}

/// Open an existing database file read-only, so several readers (parallel CI jobs, tests) can share it.
pub fn open_read_only(path: &Path) -> Result<duckdb::Connection, duckdb::Error> {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?;
    duckdb::Connection::open_with_flags(path, config)
}

/// The configuration of a database that runs a project's SQL (README, "Trust model and limits"):
/// no extension is installed or loaded behind the SQL's back; [`seal`] then takes file access
/// away.
fn sandbox(config: duckdb::Config) -> Result<duckdb::Config, duckdb::Error> {
    config
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")
}

/// From now on SQL on this connection cannot read or write files (`read_csv`, `read_text`,
/// `COPY`, `ATTACH`) and cannot change any setting back (`lock_configuration`). The connection
/// also gets the date functions the bundled DuckDB lacks ([`install_date_functions`]).
pub fn seal(conn: &duckdb::Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(
        "SET enable_external_access = false; SET autoload_known_extensions = false; \
         SET autoinstall_known_extensions = false; SET lock_configuration = true;",
    )?;
    install_date_functions(conn)
}

/// `current_date` and `today()` as temporary macros of this connection, where DuckDB has none.
///
/// The bundled DuckDB is built without its ICU extension, which holds both (and everything else
/// that computes with `TIMESTAMP WITH TIME ZONE`: `now() - INTERVAL ...`, `date_trunc` of `now()`,
/// casts to `DATE`). MetricFlow users filter on `current_date` often, so the local engine defines
/// the two as the current date in UTC (the only zone DuckDB knows without ICU, the one `now()`
/// prints), from the transaction's timestamp like DuckDB's own: `current_date - 30` and
/// `current_date - INTERVAL 7 DAY` then work. A DuckDB that has the functions (built with ICU)
/// keeps its own, in its `TimeZone`. Temporary objects belong to one connection, so every
/// connection that runs a project's SQL calls this ([`seal`], the server's connections).
pub fn install_date_functions(conn: &duckdb::Connection) -> Result<(), duckdb::Error> {
    // Extension autoloading is off on every connection that gets here, so a missing function is
    // a quick binder error, never a download.
    if conn.execute_batch("SELECT current_date, today()").is_ok() {
        return Ok(());
    }
    conn.execute_batch(
        "CREATE OR REPLACE TEMP MACRO current_date() AS \
             CAST(strftime(get_current_timestamp(), '%Y-%m-%d') AS DATE); \
         CREATE OR REPLACE TEMP MACRO today() AS \
             CAST(strftime(get_current_timestamp(), '%Y-%m-%d') AS DATE);",
    )
}

fn lock(conn: duckdb::Connection) -> Result<duckdb::Connection, duckdb::Error> {
    seal(&conn)?;
    Ok(conn)
}

/// An existing database file, read-only and sandboxed: what `tally query` runs on. A missing file
/// is an error, never a new empty database.
pub fn open_project_database(path: &Path) -> Result<duckdb::Connection, duckdb::Error> {
    if !path.is_file() {
        return Err(duckdb::Error::InvalidPath(path.to_path_buf()));
    }
    let config = sandbox(duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?)?;
    lock(duckdb::Connection::open_with_flags(path, config)?)
}

/// [`open_project_database`] with the materialisation cache ([`crate::cache`]) attached before
/// the connection is sealed. A cache that cannot be used is reported in the session, never an
/// error.
pub fn open_project_database_cached(
    path: &Path,
    mode: crate::cache::Mode,
) -> Result<(duckdb::Connection, crate::cache::Session), duckdb::Error> {
    if !path.is_file() {
        return Err(duckdb::Error::InvalidPath(path.to_path_buf()));
    }
    let config = sandbox(duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?)?;
    let conn = duckdb::Connection::open_with_flags(path, config)?;
    let session = crate::cache::attach(&conn, path, mode);
    Ok((lock(conn)?, session))
}

/// An in-memory database without extension loading, for metric tests: the runner loads the
/// fixtures, then calls [`seal`] before the project's SQL runs.
pub fn open_sandboxed_in_memory() -> Result<duckdb::Connection, duckdb::Error> {
    duckdb::Connection::open_in_memory_with_flags(sandbox(duckdb::Config::default())?)
}

/// Run one query and collect its rows.
pub fn run(conn: &duckdb::Connection, sql: &str) -> Result<ResultTable, duckdb::Error> {
    run_capped(conn, sql, usize::MAX).map(|(table, _)| table)
}

/// Run one query and collect at most `max_rows` rows; the flag says whether more rows were left
/// unread (servers cap what one request can return).
pub fn run_capped(
    conn: &duckdb::Connection,
    sql: &str,
    max_rows: usize,
) -> Result<(ResultTable, bool), duckdb::Error> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    let mut truncated = false;
    // Columns of DuckDB's NULL type (`SELECT NULL AS x`): duckdb-rs cannot read their values, and
    // every value is NULL.
    let mut untyped: Option<Vec<bool>> = None;
    while let Some(row) = rows.next()? {
        if out.len() == max_rows {
            truncated = true;
            break;
        }
        let stmt = row.as_ref();
        let untyped = untyped.get_or_insert_with(|| {
            (0..stmt.column_count())
                .map(|i| stmt.column_type(i) == duckdb::arrow::datatypes::DataType::Null)
                .collect()
        });
        let mut vals = Vec::with_capacity(untyped.len());
        for (i, &null) in untyped.iter().enumerate() {
            vals.push(if null {
                Value::Null
            } else {
                convert(row.get_ref(i)?)
            });
        }
        out.push(vals);
    }
    let columns = match rows.as_ref() {
        Some(s) => s.column_names(),
        None => Vec::new(),
    };
    Ok((ResultTable { columns, rows: out }, truncated))
}

/// The default order of result rows when a query asks for none: column by column from the left
/// (the group-by columns come first), ascending, NULLs last; numbers by value, dates and text as
/// text. `tally query` and the servers print rows in this order, so they agree row for row.
pub fn compare_rows(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| compare_values(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Format microseconds since the epoch.
pub fn format_micros(us: i64) -> String {
    let day = 86_400_000_000i64;
    let days = us.div_euclid(day);
    let rem = us.rem_euclid(day);
    let (y, m, d) = civil(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let base = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:06}")
    }
}

fn convert(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(b),
        ValueRef::TinyInt(i) => Value::Int(i.into()),
        ValueRef::SmallInt(i) => Value::Int(i.into()),
        ValueRef::Int(i) => Value::Int(i.into()),
        ValueRef::BigInt(i) => Value::Int(i),
        ValueRef::HugeInt(i) => i64::try_from(i)
            .map(Value::Int)
            .unwrap_or(Value::Float(i as f64)),
        ValueRef::UTinyInt(i) => Value::Int(i.into()),
        ValueRef::USmallInt(i) => Value::Int(i.into()),
        ValueRef::UInt(i) => Value::Int(i.into()),
        ValueRef::UBigInt(i) => i64::try_from(i)
            .map(Value::Int)
            .unwrap_or(Value::Float(i as f64)),
        ValueRef::UHugeInt(i) => i64::try_from(i)
            .map(Value::Int)
            .unwrap_or(Value::Float(i as f64)),
        ValueRef::Float(x) => Value::Float(x.into()),
        ValueRef::Double(x) => Value::Float(x),
        ValueRef::Decimal(d) => Value::Float(d.to_string().parse().unwrap_or(f64::NAN)),
        ValueRef::Timestamp(unit, v) => {
            let us = match unit {
                TimeUnit::Second => v.saturating_mul(1_000_000),
                TimeUnit::Millisecond => v.saturating_mul(1000),
                TimeUnit::Microsecond => v,
                TimeUnit::Nanosecond => v / 1000,
            };
            Value::Time(format_micros(us))
        }
        ValueRef::Date32(d) => {
            let (y, m, dd) = civil(d.into());
            Value::Time(format!("{y:04}-{m:02}-{dd:02}"))
        }
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Text(format!("<{} bytes>", b.len())),
        other => Value::Text(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sealed connection has `current_date` and `today()`: the UTC date of the
    /// transaction's timestamp, a `DATE` that date arithmetic takes (compared within one
    /// statement, so the test does not depend on the hour it runs at).
    #[test]
    fn sealed_connections_have_the_current_date() {
        let conn = open_sandboxed_in_memory().unwrap();
        seal(&conn).unwrap();
        let t = run(
            &conn,
            "SELECT current_date = CAST(strftime(get_current_timestamp(), '%Y-%m-%d') AS DATE) AS same, \
                    today() = current_date AS today, typeof(current_date) AS t, \
                    current_date - 30 < current_date AS minus_days, \
                    typeof(current_date - INTERVAL 7 DAY) AS minus_interval, \
                    current_date() = current_date AS called",
        )
        .unwrap();
        assert_eq!(
            t.rows,
            vec![vec![
                Value::Bool(true),
                Value::Bool(true),
                Value::Text("DATE".into()),
                Value::Bool(true),
                Value::Text("TIMESTAMP".into()),
                Value::Bool(true),
            ]]
        );
        // Sealing twice (or a DuckDB with the functions) leaves them as they are.
        install_date_functions(&conn).unwrap();
        assert!(run(&conn, "SELECT current_date").is_ok());
        // Temporary macros are the connection's: a project database opened read-only has them too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.duckdb");
        open(Some(&path))
            .unwrap()
            .execute_batch("CREATE TABLE t AS SELECT DATE '2020-01-01' AS d")
            .unwrap();
        let ro = open_project_database(&path).unwrap();
        let t = run(&ro, "SELECT count(*) FROM t WHERE d < current_date").unwrap();
        assert_eq!(t.rows, vec![vec![Value::Int(1)]]);
    }

    #[test]
    fn an_untyped_null_column_reads_as_nulls() {
        let conn = open(None).unwrap();
        let t = run(
            &conn,
            "SELECT NULL AS x, 1 AS y UNION ALL SELECT NULL, 2 ORDER BY y",
        )
        .unwrap();
        assert_eq!(t.columns, ["x", "y"]);
        assert_eq!(
            t.rows,
            [[Value::Null, Value::Int(1)], [Value::Null, Value::Int(2)]]
        );
        let t = run(&conn, "SELECT NULL AS x").unwrap();
        assert_eq!(t.rows, [[Value::Null]]);
    }
}
