//! Trino (and Presto / Athena, which share its SQL). sqlparser has no Trino dialect; its generic
//! dialect parses the SQL back.

use super::{Capabilities, NullSafeEqStyle, PercentileSpec};
use crate::time::{DatePart, Grain};

pub(super) struct Trino;

/// The time type of truncated times, spine days and bounds: microseconds, like the other
/// warehouses (Trino's `TIMESTAMP` alone has milliseconds).
const TIMESTAMP_TYPE: &str = "TIMESTAMP(6)";

impl Capabilities for Trino {
    /// `CAST(date_trunc('month', expr) AS TIMESTAMP(6))`: date_trunc of a DATE is a DATE; one type
    /// keeps the join keys of measures from differently typed columns comparable. Trino's bare
    /// `TIMESTAMP` is `TIMESTAMP(3)` (milliseconds), which would cut microseconds off finer grains
    /// and print keys compared as text differently from microsecond columns: `TIMESTAMP(6)`
    /// throughout ([`TIMESTAMP_TYPE`]).
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        format!(
            "CAST(date_trunc('{}', {expr}) AS {TIMESTAMP_TYPE})",
            grain.name()
        )
    }
    /// `CAST('2020-01-01 00:00:00' AS TIMESTAMP(6))`.
    fn timestamp_type(&self) -> &'static str {
        TIMESTAMP_TYPE
    }
    /// `day_of_week` (ISO, Monday = 1), `day_of_year`, `week_of_year` (ISO).
    fn extract(&self, part: DatePart, expr: &str) -> String {
        match part {
            DatePart::Dow => format!("day_of_week({expr})"),
            DatePart::Doy => format!("day_of_year({expr})"),
            DatePart::Week => format!("week_of_year({expr})"),
            p => format!("EXTRACT({} FROM {expr})", p.name()),
        }
    }
    /// `date_add('day', n, expr)`.
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        format!("date_add('{}', {count}, {expr})", grain.name())
    }
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        format!("date_add('{}', {count}, {expr})", grain.name())
    }
    fn double_type(&self) -> &'static str {
        "DOUBLE"
    }
    /// Trino has only `approx_percentile`; exact percentiles are computed from the sorted values of
    /// the group (`element_at(array_sort(array_agg(x)), k)`, NULLs sorted last) with the positions
    /// PostgreSQL uses: discrete takes position ceil(p * n), continuous interpolates between floor
    /// and ceil of p * (n - 1).
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        let p = spec.p;
        if spec.approximate {
            return Ok(format!("approx_percentile({expr}, {p})"));
        }
        if spec.discrete {
            return Ok(format!(
                "element_at(array_sort(array_agg({expr})), GREATEST(CAST(CEIL({p} * COUNT({expr})) AS BIGINT), 1))"
            ));
        }
        let x = format!("CAST({expr} AS DOUBLE)");
        let sorted = format!("array_sort(array_agg({x}))");
        let rank = format!("{p} * (COUNT({expr}) - 1)");
        let lo = format!("element_at({sorted}, GREATEST(CAST(FLOOR({rank}) AS BIGINT) + 1, 1))");
        let hi = format!("element_at({sorted}, GREATEST(CAST(CEIL({rank}) AS BIGINT) + 1, 1))");
        Ok(format!("({lo} + ({rank} - FLOOR({rank})) * ({hi} - {lo}))"))
    }
    /// `CAST(expr AS TIMESTAMP(6))`, the type of truncated times.
    fn spine_time_type(&self) -> Option<&'static str> {
        Some(TIMESTAMP_TYPE)
    }
    /// Equalities rather than `IS NOT DISTINCT FROM`, which FULL OUTER JOIN may not accept as a
    /// join criterion.
    fn null_safe_eq_style(&self) -> NullSafeEqStyle {
        NullSafeEqStyle::Equalities
    }
}
