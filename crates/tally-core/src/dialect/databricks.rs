//! Databricks SQL (Spark SQL).

use super::{within_group, Capabilities, PercentileSpec, QuoteStyle, StringEscape};
use crate::time::{DatePart, Grain};

pub(super) struct Databricks;

impl Capabilities for Databricks {
    /// `` `name` `` (double quotes are string literals in Spark SQL).
    fn quote_style(&self) -> QuoteStyle {
        QuoteStyle::Backtick
    }
    /// Backslash escapes: `'it\'s'` (Spark reads `'it''s'` as two adjacent literals).
    fn string_escape(&self) -> StringEscape {
        StringEscape::Backslash
    }
    fn string_type(&self) -> &'static str {
        "STRING"
    }
    /// `WEEKDAY` counts from Monday = 0; `DAYOFYEAR`, `WEEKOFYEAR` (ISO).
    fn extract(&self, part: DatePart, expr: &str) -> String {
        match part {
            DatePart::Dow => format!("WEEKDAY({expr}) + 1"),
            DatePart::Doy => format!("DAYOFYEAR({expr})"),
            DatePart::Week => format!("WEEKOFYEAR({expr})"),
            p => format!("EXTRACT({} FROM {expr})", p.name()),
        }
    }
    /// `TIMESTAMPADD(DAY, n, expr)`.
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        format!(
            "TIMESTAMPADD({}, {count}, {expr})",
            grain.name().to_ascii_uppercase()
        )
    }
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        format!(
            "TIMESTAMPADD({}, {count}, {expr})",
            grain.name().to_ascii_uppercase()
        )
    }
    fn double_type(&self) -> &'static str {
        "DOUBLE"
    }
    /// Spark's inline table: `VALUES (...), (...) AS alias(c1, c2)`.
    fn values_form(&self) -> super::ValuesForm {
        super::ValuesForm::InlineTable
    }
    /// Exact percentiles as ordered-set aggregates; approximate ones are `PERCENTILE_APPROX`, which
    /// returns a value of the data.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        if spec.approximate {
            return Ok(format!("PERCENTILE_APPROX({expr}, {})", spec.p));
        }
        Ok(within_group(expr, spec))
    }
}
