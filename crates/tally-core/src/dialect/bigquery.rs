//! Google BigQuery (GoogleSQL).
//!
//! Time values are computed as DATETIME (civil time): DATE and TIMESTAMP columns are cast to
//! DATETIME where they are truncated or moved, and time bounds are DATETIME literals, so that every
//! comparison has one type (BigQuery does not compare TIMESTAMP with DATETIME).

use super::{Capabilities, NullSafeEqStyle, PercentileSpec, QuoteStyle, StringEscape};
use crate::time::{DatePart, Grain};

pub(super) struct BigQuery;

/// BigQuery's name of a date part for DATETIME_TRUNC / DATETIME_ADD (weeks are ISO weeks).
fn part(grain: Grain, trunc: bool) -> &'static str {
    match grain {
        Grain::Nanosecond | Grain::Microsecond => "MICROSECOND",
        Grain::Millisecond => "MILLISECOND",
        Grain::Second => "SECOND",
        Grain::Minute => "MINUTE",
        Grain::Hour => "HOUR",
        Grain::Day => "DAY",
        Grain::Week if trunc => "ISOWEEK",
        Grain::Week => "WEEK",
        Grain::Month => "MONTH",
        Grain::Quarter => "QUARTER",
        Grain::Year => "YEAR",
    }
}

impl Capabilities for BigQuery {
    /// `` `name` ``, a backtick or backslash escaped with a backslash.
    fn quote_style(&self) -> QuoteStyle {
        QuoteStyle::BacktickBackslash
    }
    /// Backslash escapes: `'it\'s'`; a newline is written `\n`.
    fn string_escape(&self) -> StringEscape {
        StringEscape::Backslash
    }
    fn string_type(&self) -> &'static str {
        "STRING"
    }
    /// `DATETIME_TRUNC(CAST(expr AS DATETIME), ISOWEEK)`.
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        format!(
            "DATETIME_TRUNC({}, {})",
            as_datetime(expr),
            part(grain, true)
        )
    }
    /// EXTRACT's DAYOFWEEK counts from Sunday = 1; ISO day of week is derived from it.
    fn extract(&self, p: DatePart, expr: &str) -> String {
        match p {
            DatePart::Dow => format!("MOD(EXTRACT(DAYOFWEEK FROM {expr}) + 5, 7) + 1"),
            DatePart::Doy => format!("EXTRACT(DAYOFYEAR FROM {expr})"),
            DatePart::Week => format!("EXTRACT(ISOWEEK FROM {expr})"),
            DatePart::Year => format!("EXTRACT(YEAR FROM {expr})"),
            DatePart::Quarter => format!("EXTRACT(QUARTER FROM {expr})"),
            DatePart::Month => format!("EXTRACT(MONTH FROM {expr})"),
            DatePart::Day => format!("EXTRACT(DAY FROM {expr})"),
        }
    }
    /// `CAST('2020-01-01 00:00:00' AS DATETIME)`.
    fn timestamp_type(&self) -> &'static str {
        "DATETIME"
    }
    /// `CAST(expr AS DATETIME)`: a time column may be a DATE, DATETIME or TIMESTAMP.
    fn time_operand(&self, expr: &str) -> String {
        as_datetime(expr)
    }
    /// `DATETIME_ADD(CAST(expr AS DATETIME), INTERVAL n DAY)`.
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        format!(
            "DATETIME_ADD({}, INTERVAL {count} {})",
            as_datetime(expr),
            part(grain, false)
        )
    }
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        format!(
            "DATETIME_ADD({}, INTERVAL ({count}) {})",
            as_datetime(expr),
            part(grain, false)
        )
    }
    fn double_type(&self) -> &'static str {
        "FLOAT64"
    }
    fn integer_type(&self) -> &'static str {
        "INT64"
    }
    /// One string literal split into rows and fields (no `VALUES` table in BigQuery; see
    /// `values::split_text`).
    fn values_form(&self) -> super::ValuesForm {
        super::ValuesForm::SplitText
    }
    /// BigQuery's PERCENTILE_CONT and PERCENTILE_DISC are analytic functions only, so exact
    /// percentiles are computed from the sorted values of the group
    /// (`ARRAY_AGG(x IGNORE NULLS ORDER BY x)[SAFE_OFFSET(k)]`) with the same positions PostgreSQL
    /// uses: discrete takes position ceil(p * n), continuous interpolates between floor and ceil of
    /// p * (n - 1). Approximate percentiles are `APPROX_QUANTILES(x, 1000)[OFFSET(1000 p)]`, exact
    /// to a thousandth of the rank.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        let p = spec.p;
        if spec.approximate {
            let k = p * 1000.0;
            if (k - k.round()).abs() > 1e-9 {
                return Err(format!(
                    "BigQuery's APPROX_QUANTILES computes percentiles in steps of 0.001, and {p} is not one"
                ));
            }
            return Ok(format!(
                "APPROX_QUANTILES({expr}, 1000)[OFFSET({})]",
                k.round() as i64
            ));
        }
        let sorted = format!("ARRAY_AGG({expr} IGNORE NULLS ORDER BY {expr})");
        if spec.discrete {
            return Ok(format!(
                "{sorted}[SAFE_OFFSET(GREATEST(CAST(CEIL({p} * COUNT({expr})) AS INT64), 1) - 1)]"
            ));
        }
        let rank = format!("{p} * (COUNT({expr}) - 1)");
        let lo = format!("{sorted}[SAFE_OFFSET(CAST(FLOOR({rank}) AS INT64))]");
        let hi = format!("{sorted}[SAFE_OFFSET(CAST(CEIL({rank}) AS INT64))]");
        Ok(format!("({lo} + ({rank} - FLOOR({rank})) * ({hi} - {lo}))"))
    }
    /// `CAST(expr AS DATETIME)`, the type of truncated times.
    fn spine_time_type(&self) -> Option<&'static str> {
        Some("DATETIME")
    }
    /// BigQuery requires the set quantifier: `UNION DISTINCT`.
    fn union_needs_distinct(&self) -> bool {
        true
    }
    /// A FULL OUTER JOIN needs an equality of both sides: equalities instead of
    /// `IS NOT DISTINCT FROM`.
    fn null_safe_eq_style(&self) -> NullSafeEqStyle {
        NullSafeEqStyle::Equalities
    }
}

/// `CAST(expr AS DATETIME)`, unless `expr` is one already (a cast to DATETIME or a DATETIME_
/// function call spanning the whole expression).
fn as_datetime(expr: &str) -> String {
    let whole_call = |prefix: &str| {
        expr.starts_with(prefix) && {
            // The parenthesis the prefix opens closes at the end of `expr`.
            let mut depth = 0usize;
            let mut closes_at = None;
            for (i, c) in expr.char_indices().skip(prefix.len() - 1) {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            closes_at = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            closes_at == Some(expr.len() - 1)
        }
    };
    if (whole_call("CAST(") && expr.ends_with(" AS DATETIME)"))
        || whole_call("DATETIME_TRUNC(")
        || whole_call("DATETIME_ADD(")
    {
        expr.to_string()
    } else {
        format!("CAST({expr} AS DATETIME)")
    }
}
