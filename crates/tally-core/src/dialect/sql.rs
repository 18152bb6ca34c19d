//! SQL pieces assembled from a dialect's [`Capabilities`](super::Capabilities): what the SQL stage calls.

use super::{is_reserved, Dialect, NullSafeEqStyle, PercentileSpec, QuoteStyle, StringEscape};
use crate::time::{DatePart, Grain};

impl Dialect {
    /// Quote an identifier tally generates (column aliases, CTE names), per
    /// [`Capabilities::quote_style`](super::Capabilities::quote_style): `"name"`.
    pub fn quote_ident(self, ident: &str) -> String {
        match self.caps().quote_style() {
            QuoteStyle::Double => format!("\"{}\"", ident.replace('"', "\"\"")),
            QuoteStyle::DoubleUpper => {
                format!("\"{}\"", ident.to_uppercase().replace('"', "\"\""))
            }
            QuoteStyle::Backtick => format!("`{}`", ident.replace('`', "``")),
            QuoteStyle::BacktickBackslash => {
                format!("`{}`", ident.replace('\\', "\\\\").replace('`', "\\`"))
            }
        }
    }

    /// An identifier tally generates, bare when it is lower-case and not a keyword (output stays
    /// readable and is still correct on case-folding warehouses), else quoted.
    pub fn ident(self, ident: &str) -> String {
        let bare = ident
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && ident
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !is_reserved(ident);
        if bare {
            ident.to_string()
        } else {
            self.quote_ident(ident)
        }
    }

    /// A column name of the query's result (the final SELECT's aliases and the ORDER BY items that
    /// name them): [`Dialect::ident`], or always quoted as named where
    /// [`Capabilities::quotes_output_names`](super::Capabilities::quotes_output_names).
    pub fn output_ident(self, ident: &str) -> String {
        if self.caps().quotes_output_names() {
            format!("\"{}\"", ident.replace('"', "\"\""))
        } else {
            self.ident(ident)
        }
    }

    /// A string literal, escaped per [`Capabilities::string_escape`](super::Capabilities::string_escape): `'it''s'`.
    pub fn string_literal(self, s: &str) -> String {
        match self.caps().string_escape() {
            StringEscape::Standard => format!("'{}'", s.replace('\'', "''")),
            StringEscape::DoubledBackslash => {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
            }
            StringEscape::Backslash => format!("'{}'", backslash_escaped(s)),
        }
    }

    /// The name of the string type in casts.
    pub fn string_type(self) -> &'static str {
        self.caps().string_type()
    }

    /// The name of the floating-point type in casts.
    pub fn double_type(self) -> &'static str {
        self.caps().double_type()
    }

    /// [`Capabilities::date_trunc`](super::Capabilities::date_trunc).
    pub fn date_trunc(self, grain: Grain, expr: &str) -> String {
        self.caps().date_trunc(grain, expr)
    }

    /// [`Capabilities::extract`](super::Capabilities::extract).
    pub fn extract(self, part: DatePart, expr: &str) -> String {
        self.caps().extract(part, expr)
    }

    /// A timestamp literal: `CAST('2020-01-01 00:00:00' AS TIMESTAMP)`
    /// ([`Capabilities::timestamp_type`](super::Capabilities::timestamp_type)).
    pub fn timestamp_literal(self, ts: &str) -> String {
        format!(
            "CAST({} AS {})",
            self.string_literal(ts),
            self.caps().timestamp_type()
        )
    }

    /// A time spine's column read as a time value: `CAST(expr AS type)` where the dialect has a
    /// [`Capabilities::spine_time_type`](super::Capabilities::spine_time_type), else unchanged.
    pub fn spine_time(self, expr: &str) -> String {
        match self.caps().spine_time_type() {
            Some(t) => format!("CAST({expr} AS {t})"),
            None => expr.to_string(),
        }
    }

    /// Whether [`Dialect::spine_time`] casts (`false`: a spine column is read as it is).
    pub fn casts_spine_time(self) -> bool {
        self.caps().spine_time_type().is_some()
    }

    /// [`Capabilities::time_operand`](super::Capabilities::time_operand).
    pub fn time_operand(self, expr: &str) -> String {
        self.caps().time_operand(expr)
    }

    /// [`Capabilities::add_interval`](super::Capabilities::add_interval).
    pub fn add_interval(self, expr: &str, count: i64, grain: Grain) -> String {
        self.caps().add_interval(expr, count, grain)
    }

    /// [`Capabilities::add_intervals`](super::Capabilities::add_intervals).
    pub fn add_intervals(self, expr: &str, count: &str, grain: Grain) -> String {
        self.caps().add_intervals(expr, count, grain)
    }

    /// A window function call: `call OVER (PARTITION BY ... ORDER BY ...)`, framing the whole
    /// partition when asked (`ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`).
    pub fn window(
        self,
        call: &str,
        partition_by: &[String],
        order_by: &[String],
        whole_partition: bool,
    ) -> String {
        let mut parts = Vec::new();
        if !partition_by.is_empty() {
            parts.push(format!("PARTITION BY {}", partition_by.join(", ")));
        }
        if !order_by.is_empty() {
            parts.push(format!("ORDER BY {}", order_by.join(", ")));
            if whole_partition {
                parts.push("ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING".to_string());
            }
        }
        format!("{call} OVER ({})", parts.join(" "))
    }

    /// `CAST(expr AS DOUBLE PRECISION)` ([`Capabilities::double_type`](super::Capabilities::double_type)).
    pub fn cast_double(self, expr: &str) -> String {
        format!("CAST({expr} AS {})", self.double_type())
    }

    /// [`Capabilities::percentile`](super::Capabilities::percentile); the error names the warehouse.
    pub fn percentile(self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        self.caps().percentile(expr, spec)
    }

    /// Whether the dialect computes this kind of percentile; `Err` says why not (reported as
    /// E0405 at the measure that asks for it).
    pub fn percentile_support(self, spec: PercentileSpec) -> Result<(), String> {
        self.percentile("", spec).map(|_| ())
    }

    /// The set operator that adds a SELECT's rows without duplicates: `UNION` or
    /// `UNION DISTINCT` ([`Capabilities::union_needs_distinct`](super::Capabilities::union_needs_distinct)).
    pub fn union_distinct(self) -> &'static str {
        if self.caps().union_needs_distinct() {
            "UNION DISTINCT"
        } else {
            "UNION"
        }
    }

    /// Null-safe equality for joining on group-by keys, per
    /// [`Capabilities::null_safe_eq_style`](super::Capabilities::null_safe_eq_style): `a IS NOT DISTINCT FROM b`, or
    /// `COALESCE(CAST(a AS t), '') = COALESCE(CAST(b AS t), '') AND (a IS NULL) = (b IS NULL)`.
    pub fn null_safe_eq(self, a: &str, b: &str) -> String {
        match self.caps().null_safe_eq_style() {
            NullSafeEqStyle::IsNotDistinctFrom => format!("{a} IS NOT DISTINCT FROM {b}"),
            NullSafeEqStyle::Equalities => {
                let t = self.string_type();
                format!(
                    "COALESCE(CAST({a} AS {t}), '') = COALESCE(CAST({b} AS {t}), '') AND ({a} IS NULL) = ({b} IS NULL)"
                )
            }
        }
    }

    /// `COUNT(DISTINCT expr)`.
    pub fn count_distinct(self, expr: &str) -> String {
        format!("COUNT(DISTINCT {expr})")
    }

    /// Whether ORDER BY accepts `NULLS FIRST` / `NULLS LAST`.
    pub fn has_nulls_ordering(self) -> bool {
        self.caps().has_nulls_ordering()
    }

    /// An item of the query's final ORDER BY, NULLs last whatever the direction (what DuckDB and
    /// Trino do by default, and what MetricFlow's expected results on DuckDB show): `expr NULLS
    /// LAST`, `expr DESC NULLS LAST`. The warehouses' defaults differ (PostgreSQL, Snowflake and
    /// Redshift sort NULLs as the largest value, Spark and BigQuery as the smallest), so with a
    /// LIMIT they would return different rows. Without the syntax
    /// ([`Capabilities::has_nulls_ordering`](super::Capabilities::has_nulls_ordering)), a NULL flag sorts first:
    /// `CASE WHEN expr IS NULL THEN 1 ELSE 0 END, expr DESC`.
    pub fn order_item(self, expr: &str, desc: bool) -> String {
        order_item(self.has_nulls_ordering(), expr, desc)
    }
}

/// [`Dialect::order_item`] with or without the `NULLS LAST` syntax.
fn order_item(has_nulls_ordering: bool, expr: &str, desc: bool) -> String {
    let dir = if desc { " DESC" } else { "" };
    if has_nulls_ordering {
        format!("{expr}{dir} NULLS LAST")
    } else {
        format!("CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, {expr}{dir}")
    }
}

/// A string's characters for a backslash-escaping string literal.
fn backslash_escaped(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_escaping_follow_the_capabilities() {
        assert_eq!(Dialect::DuckDb.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Snowflake.quote_ident("date"), "\"DATE\"");
        assert_eq!(Dialect::Snowflake.output_ident("date"), "\"date\"");
        assert_eq!(Dialect::Databricks.quote_ident("a`b"), "`a``b`");
        assert_eq!(Dialect::BigQuery.quote_ident("a`b"), "`a\\`b`");
        assert_eq!(Dialect::Postgres.string_literal("it's \\"), "'it''s \\'");
        assert_eq!(Dialect::Redshift.string_literal("it's \\"), "'it''s \\\\'");
        assert_eq!(Dialect::BigQuery.string_literal("it's\n"), "'it\\'s\\n'");
        assert_eq!(Dialect::BigQuery.union_distinct(), "UNION DISTINCT");
        assert_eq!(
            Dialect::DuckDb.null_safe_eq("a", "b"),
            "a IS NOT DISTINCT FROM b"
        );
        assert!(Dialect::Postgres
            .null_safe_eq("a", "b")
            .starts_with("COALESCE(CAST(a AS TEXT)"));
    }

    #[test]
    fn nulls_last_is_emulated_where_the_syntax_is_missing() {
        assert_eq!(
            order_item(false, "x", true),
            "CASE WHEN x IS NULL THEN 1 ELSE 0 END, x DESC"
        );
        assert_eq!(
            order_item(false, "x", false),
            "CASE WHEN x IS NULL THEN 1 ELSE 0 END, x"
        );
        assert_eq!(order_item(true, "x", true), "x DESC NULLS LAST");
    }
}
