//! Snowflake.

use super::{within_group, Capabilities, PercentileSpec, QuoteStyle, StringEscape};
use crate::time::{DatePart, Grain};

pub(super) struct Snowflake;

impl Capabilities for Snowflake {
    /// Snowflake upper-cases bare identifiers, so a quoted one is written in upper case: `"DATE"`
    /// is the column a bare `date` names, whether tally made it or the user's table has it.
    fn quote_style(&self) -> QuoteStyle {
        QuoteStyle::DoubleUpper
    }
    /// Result columns are quoted as they are named, so that they keep the lower-case names of the
    /// metrics and group-by items; columns inside the query stay bare or upper-case.
    fn quotes_output_names(&self) -> bool {
        true
    }
    /// Snowflake reads backslash escapes in single-quoted strings: a backslash is doubled.
    fn string_escape(&self) -> StringEscape {
        StringEscape::DoubledBackslash
    }
    /// `DATE_TRUNC('month', expr)`; a week is truncated with `DAYOFWEEKISO` so that it starts on
    /// Monday whatever the session's WEEK_START.
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        match grain {
            Grain::Week => {
                format!("DATEADD(day, 1 - DAYOFWEEKISO({expr}), DATE_TRUNC('day', {expr}))")
            }
            g => format!("DATE_TRUNC('{}', {expr})", g.name()),
        }
    }
    /// ISO day of week and week: `DAYOFWEEKISO(expr)`, `WEEKISO(expr)`; `DAYOFYEAR(expr)`.
    fn extract(&self, part: DatePart, expr: &str) -> String {
        match part {
            DatePart::Dow => format!("DAYOFWEEKISO({expr})"),
            DatePart::Week => format!("WEEKISO({expr})"),
            DatePart::Doy => format!("DAYOFYEAR({expr})"),
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
    fn double_type(&self) -> &'static str {
        "DOUBLE"
    }
    /// Exact percentiles as ordered-set aggregates; approximate continuous is `APPROX_PERCENTILE`
    /// (t-digest). Snowflake has no approximate discrete percentile.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        match (spec.approximate, spec.discrete) {
            (false, _) => Ok(within_group(expr, spec)),
            (true, false) => Ok(format!("APPROX_PERCENTILE({expr}, {})", spec.p)),
            (true, true) => Err("Snowflake has no approximate discrete percentile".into()),
        }
    }
}
