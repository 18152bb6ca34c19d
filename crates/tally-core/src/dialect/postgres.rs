//! PostgreSQL (15 and later). The test suite executes its SQL on a real server and compares the
//! results with DuckDB's.

use super::{null_safe_eq_by_equalities, Dialect};
use crate::time::Grain;

pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn title(&self) -> &'static str {
        "PostgreSQL"
    }
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::PostgreSqlDialect {})
    }
    fn macros(&self) -> &'static str {
        include_str!("../../../../templates/dialects/postgres.sql")
    }
    fn string_type(&self) -> &'static str {
        "TEXT"
    }
    /// `CAST(DATE_TRUNC('month', expr) AS TIMESTAMP)`: DATE_TRUNC of a DATE is a TIMESTAMPTZ (in
    /// the session's time zone) and of a TIMESTAMP a TIMESTAMP; one type keeps the join keys of
    /// measures from differently typed columns comparable.
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        format!("CAST(DATE_TRUNC('{}', {expr}) AS TIMESTAMP)", grain.name())
    }
    /// `expr + INTERVAL '7 day'`: PostgreSQL's interval qualifiers have no WEEK or QUARTER, so the
    /// unit goes inside the string.
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        let (n, unit) = pg_unit(count, grain);
        if n < 0 {
            format!("{expr} - INTERVAL '{} {unit}'", -n)
        } else {
            format!("{expr} + INTERVAL '{n} {unit}'")
        }
    }
    /// `expr + (count) * INTERVAL '1 day'`.
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        let (n, unit) = pg_unit(1, grain);
        format!("{expr} + ({count}) * INTERVAL '{n} {unit}'")
    }
    fn casts_spine_time(&self) -> bool {
        true
    }
    /// `CAST(expr AS TIMESTAMP)`, the type of truncated times.
    fn spine_time(&self, expr: &str) -> String {
        format!("CAST({expr} AS TIMESTAMP)")
    }
    /// FULL OUTER JOIN accepts only merge- or hash-joinable conditions, which
    /// `IS NOT DISTINCT FROM` is not: equalities instead.
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        null_safe_eq_by_equalities(self, a, b)
    }
}

/// A count and unit PostgreSQL's interval strings accept (quarters as 3 months).
pub(crate) fn pg_unit(count: i64, grain: Grain) -> (i64, &'static str) {
    match grain {
        Grain::Quarter => (count * 3, "month"),
        g => (count, g.name()),
    }
}
