//! Google BigQuery (GoogleSQL).
//!
//! Time values are computed as DATETIME (civil time): DATE and TIMESTAMP columns are cast to
//! DATETIME where they are truncated or moved, and time bounds are DATETIME literals, so that every
//! comparison has one type (BigQuery does not compare TIMESTAMP with DATETIME).

use super::{null_safe_eq_by_equalities, Dialect, PercentileSpec};
use crate::time::{DatePart, Grain};

pub struct BigQuery;

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

impl Dialect for BigQuery {
    fn name(&self) -> &'static str {
        "bigquery"
    }
    fn title(&self) -> &'static str {
        "BigQuery"
    }
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::BigQueryDialect {})
    }
    fn macros(&self) -> &'static str {
        include_str!("../../../../templates/dialects/bigquery.sql")
    }
    /// `` `name` ``.
    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('\\', "\\\\").replace('`', "\\`"))
    }
    /// Backslash escapes: `'it\'s'`; a newline is written `\n`.
    fn string_literal(&self, s: &str) -> String {
        format!("'{}'", backslash_escaped(s))
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
    fn timestamp_literal(&self, ts: &str) -> String {
        format!("CAST({} AS DATETIME)", self.string_literal(ts))
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
    /// A `UNION ALL` of SELECTs (no `VALUES` table in BigQuery; sqlparser does not read back
    /// `UNNEST(ARRAY<STRUCT<...>>[...])`).
    fn values_table(&self, alias: &str, columns: &[&str], rows: &[Vec<super::Literal>]) -> String {
        super::values::union_selects(self, alias, columns, rows)
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
    fn casts_spine_time(&self) -> bool {
        true
    }
    /// `CAST(expr AS DATETIME)`, the type of truncated times.
    fn spine_time(&self, expr: &str) -> String {
        format!("CAST({expr} AS DATETIME)")
    }
    /// A FULL OUTER JOIN needs an equality of both sides: equalities instead of
    /// `IS NOT DISTINCT FROM`.
    /// BigQuery requires the set quantifier: `UNION DISTINCT`.
    fn union_distinct(&self) -> &'static str {
        "UNION DISTINCT"
    }
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        null_safe_eq_by_equalities(self, a, b)
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

/// A string's characters for a backslash-escaping string literal.
pub(crate) fn backslash_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}
