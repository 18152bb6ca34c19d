//! PostgreSQL (15 and later). The test suite executes its SQL on a real server and compares the
//! results with DuckDB's.

use super::{Capabilities, NullSafeEqStyle, PercentileSpec};
use crate::time::Grain;

pub(super) struct Postgres;

impl Capabilities for Postgres {
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
    /// `CAST(expr AS TIMESTAMP)`, the type of truncated times.
    fn spine_time_type(&self) -> Option<&'static str> {
        Some("TIMESTAMP")
    }
    /// FULL OUTER JOIN accepts only merge- or hash-joinable conditions, which
    /// `IS NOT DISTINCT FROM` is not: equalities instead.
    fn null_safe_eq_style(&self) -> NullSafeEqStyle {
        NullSafeEqStyle::Equalities
    }
    /// Exact percentiles as ordered-set aggregates; PostgreSQL has no approximate one.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        if spec.approximate {
            return Err("PostgreSQL has no approximate percentile function".to_string());
        }
        Ok(super::within_group(expr, spec))
    }
}

/// A count and unit PostgreSQL's interval strings accept (quarters as 3 months).
pub(crate) fn pg_unit(count: i64, grain: Grain) -> (i64, &'static str) {
    match grain {
        Grain::Quarter => (count * 3, "month"),
        g => (count, g.name()),
    }
}
