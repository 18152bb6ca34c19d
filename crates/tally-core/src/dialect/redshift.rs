//! Amazon Redshift.

use super::{null_safe_eq_by_equalities, within_group, Dialect, PercentileSpec};
use crate::time::{DatePart, Grain};

pub struct Redshift;

impl Dialect for Redshift {
    fn name(&self) -> &'static str {
        "redshift"
    }
    fn title(&self) -> &'static str {
        "Redshift"
    }
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::RedshiftSqlDialect {})
    }
    fn macros(&self) -> &'static str {
        include_str!("../../../../templates/dialects/redshift.sql")
    }
    /// Redshift reads backslash escapes in string literals: a backslash is doubled.
    fn string_literal(&self, s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    }
    /// Redshift's `dow` counts from Sunday = 0; ISO day of week is derived from it.
    fn extract(&self, part: DatePart, expr: &str) -> String {
        match part {
            DatePart::Dow => {
                format!("MOD(CAST(EXTRACT(dow FROM {expr}) AS INTEGER) + 6, 7) + 1")
            }
            p => format!("EXTRACT({} FROM {expr})", p.name()),
        }
    }
    /// `DATEADD(day, n, expr)`.
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        format!("DATEADD({}, {count}, {expr})", grain.name())
    }
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        format!("DATEADD({}, {count}, {expr})", grain.name())
    }
    /// `PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY expr)`. Redshift's PERCENTILE_DISC is a window
    /// function only, and its approximate percentile (`APPROXIMATE PERCENTILE_DISC`) does not
    /// parse back with sqlparser, so it is not generated.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        match (spec.approximate, spec.discrete) {
            (false, false) => Ok(within_group(expr, spec)),
            (false, true) => {
                Err("Redshift's PERCENTILE_DISC is a window function, not an aggregate".into())
            }
            (true, _) => Err(
                "tally does not generate Redshift's APPROXIMATE PERCENTILE_DISC, which sqlparser cannot parse back"
                    .into(),
            ),
        }
    }
    fn casts_spine_time(&self) -> bool {
        true
    }
    /// `CAST(expr AS TIMESTAMP)`, the type of truncated times.
    fn spine_time(&self, expr: &str) -> String {
        format!("CAST({expr} AS TIMESTAMP)")
    }
    /// FULL OUTER JOIN needs merge- or hash-joinable conditions: equalities instead of
    /// `IS NOT DISTINCT FROM`.
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        null_safe_eq_by_equalities(self, a, b)
    }
}
