//! Amazon Redshift.

use super::{within_group, Capabilities, NullSafeEqStyle, PercentileSpec, StringEscape};
use crate::time::{DatePart, Grain};

pub(super) struct Redshift;

impl Capabilities for Redshift {
    /// Redshift reads backslash escapes in string literals: a backslash is doubled.
    fn string_escape(&self) -> StringEscape {
        StringEscape::DoubledBackslash
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
    /// `CAST(expr AS TIMESTAMP)`, the type of truncated times.
    fn spine_time_type(&self) -> Option<&'static str> {
        Some("TIMESTAMP")
    }
    /// FULL OUTER JOIN needs merge- or hash-joinable conditions: equalities instead of
    /// `IS NOT DISTINCT FROM`.
    fn null_safe_eq_style(&self) -> NullSafeEqStyle {
        NullSafeEqStyle::Equalities
    }
}
