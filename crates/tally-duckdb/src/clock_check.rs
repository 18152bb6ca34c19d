//! `tally calendars check --duckdb FILE`: the warehouse copies of business clocks in a DuckDB
//! database checked against the project's calendars. The relations are looked up in DuckDB's
//! catalogue first (a missing one is reported `missing`, not an error), then the check query
//! (`Dialect::clock_check_query`) runs over the ones present.

use tally_core::calendar::clock::Clock;
use tally_core::calendar::duration::clock_relation;
use tally_core::dialect::Dialect;
use tally_core::value::Value;

/// A calendar whose copy is not current.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub calendar: String,
    /// `missing`, `fingerprint`, `range` or `rows` (see `tally_core::dialect::clock_check`).
    pub reason: String,
    /// What the copy holds (NULL for a missing one): fingerprint, rows, first and last day.
    pub found: Vec<Value>,
}

/// Whether `relation` is a table or view of the connection's current schema.
fn exists(conn: &duckdb::Connection, relation: &str) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_catalog = current_database() \
         AND table_schema = current_schema() AND table_name = ?",
        [relation],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The calendars of `clocks` whose copy in the database is missing or stale, in `clocks` order.
pub fn check(conn: &duckdb::Connection, clocks: &[Clock]) -> Result<Vec<Stale>, duckdb::Error> {
    let mut out = Vec::new();
    let mut present = Vec::new();
    for c in clocks {
        if exists(conn, &clock_relation(&c.calendar))? {
            present.push(c.clone());
        } else {
            out.push(Stale {
                calendar: c.calendar.clone(),
                reason: "missing".into(),
                found: vec![Value::Null; 4],
            });
        }
    }
    if !present.is_empty() {
        let t = crate::engine::run(conn, &Dialect::DuckDb.clock_check_query(&present))?;
        for row in t.rows {
            let text = |v: &Value| v.to_string();
            out.push(Stale {
                calendar: row.first().map(text).unwrap_or_default(),
                reason: row.get(1).map(text).unwrap_or_default(),
                found: row.into_iter().skip(2).collect(),
            });
        }
    }
    let order = |s: &Stale| clocks.iter().position(|c| c.calendar == s.calendar);
    out.sort_by_key(order);
    Ok(out)
}

/// Load the copies of `clocks` into the database (`tally calendars export --duckdb FILE`): each
/// `tally_bh__<calendar>` table replaced by the export's `CREATE TABLE` and inserts, all in one
/// transaction (a failure leaves the database as it was). Afterwards [`check`] finds them current.
pub fn load(conn: &duckdb::Connection, clocks: &[Clock]) -> Result<(), duckdb::Error> {
    let mut sql = String::from("BEGIN TRANSACTION;\n");
    for c in clocks {
        let rel = Dialect::DuckDb.ident(&clock_relation(&c.calendar));
        sql.push_str(&format!("DROP TABLE IF EXISTS {rel};\n"));
        sql.push_str(&tally_core::dialect::values::create_clock_table(
            c,
            Dialect::DuckDb,
        ));
        sql.push('\n');
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql).inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    })
}
