//! SQL dialects as capabilities.
//!
//! Stage code never asks which dialect it is: it asks the dialect how to write a construct
//! (`date_trunc`, `quote_ident`, `percentile`, ...). [`Dialect`] has generic (ANSI-leaning) default
//! methods; each dialect overrides only where generic SQL is wrong or much slower. The method docs say
//! which SQL each choice emits.

use crate::time::{DatePart, Grain};

/// How a percentile should be computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PercentileSpec {
    pub p: f64,
    pub discrete: bool,
    pub approximate: bool,
}

pub trait Dialect: Sync {
    /// The name users pass to `--dialect`.
    fn name(&self) -> &'static str;

    /// The sqlparser dialect generated SQL is parsed back with.
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect>;

    /// Quote an identifier tally generates (column aliases, CTE names): `"name"`.
    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    /// Whether an identifier can be written bare (lower-case, not a keyword). Output stays readable
    /// and is still correct on case-folding warehouses.
    fn ident(&self, ident: &str) -> String {
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

    /// A string literal: `'it''s'`.
    fn string_literal(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    /// `DATE_TRUNC('month', expr)`; weeks start on Monday.
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        format!("DATE_TRUNC('{}', {expr})", grain.name())
    }

    /// `EXTRACT(part FROM expr)`; day of week is ISO (Monday = 1).
    fn extract(&self, part: DatePart, expr: &str) -> String {
        let p = match part {
            DatePart::Dow => "isodow",
            p => p.name(),
        };
        format!("EXTRACT({p} FROM {expr})")
    }

    /// A timestamp literal: `CAST('2020-01-01 00:00:00' AS TIMESTAMP)`.
    fn timestamp_literal(&self, ts: &str) -> String {
        format!("CAST({} AS TIMESTAMP)", self.string_literal(ts))
    }

    /// `expr + INTERVAL 'n' unit` (quarters as 3 months).
    fn add_interval(&self, expr: &str, count: i64, grain: Grain) -> String {
        let (n, unit) = match grain {
            Grain::Quarter => (count * 3, "month"),
            g => (count, g.name()),
        };
        if n < 0 {
            format!("{expr} - INTERVAL '{}' {unit}", -n)
        } else {
            format!("{expr} + INTERVAL '{n}' {unit}")
        }
    }

    /// `expr + (count) * INTERVAL '1' unit` for a count computed in SQL (quarters as 3 months).
    fn add_intervals(&self, expr: &str, count: &str, grain: Grain) -> String {
        let (mult, unit) = match grain {
            Grain::Quarter => (3, "month"),
            g => (1, g.name()),
        };
        format!("{expr} + ({count}) * INTERVAL '{mult}' {unit}")
    }

    /// A window function call: `call OVER (PARTITION BY ... ORDER BY ...)`, framing the whole
    /// partition when asked (`ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`).
    fn window(
        &self,
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

    /// `CAST(expr AS DOUBLE)`.
    fn cast_double(&self, expr: &str) -> String {
        format!("CAST({expr} AS {})", self.double_type())
    }

    fn double_type(&self) -> &'static str {
        "DOUBLE PRECISION"
    }

    /// A percentile aggregate; `None` when the dialect cannot compute this kind.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Option<String> {
        if spec.approximate {
            return None;
        }
        let f = if spec.discrete {
            "PERCENTILE_DISC"
        } else {
            "PERCENTILE_CONT"
        };
        Some(format!("{f}({}) WITHIN GROUP (ORDER BY {expr})", spec.p))
    }

    /// Null-safe equality for joining on group-by keys: `a IS NOT DISTINCT FROM b`.
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        format!("{a} IS NOT DISTINCT FROM {b}")
    }

    /// `COUNT(DISTINCT expr)`.
    fn count_distinct(&self, expr: &str) -> String {
        format!("COUNT(DISTINCT {expr})")
    }
}

/// DuckDB: tally's embedded engine.
pub struct DuckDb;

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::DuckDbDialect {})
    }
    fn double_type(&self) -> &'static str {
        "DOUBLE"
    }
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Option<String> {
        if spec.approximate {
            // DuckDB has an approximate continuous quantile but no approximate discrete one.
            return (!spec.discrete).then(|| format!("APPROX_QUANTILE({expr}, {})", spec.p));
        }
        let f = if spec.discrete {
            "PERCENTILE_DISC"
        } else {
            "PERCENTILE_CONT"
        };
        Some(format!("{f}({}) WITHIN GROUP (ORDER BY {expr})", spec.p))
    }
}

/// The dialects tally knows, by `--dialect` name.
pub fn by_name(name: &str) -> Option<&'static dyn Dialect> {
    match name.to_ascii_lowercase().as_str() {
        "duckdb" => Some(&DuckDb),
        _ => None,
    }
}

pub const NAMES: &[&str] = &["duckdb"];

fn is_reserved(ident: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "case",
        "cast",
        "check",
        "column",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "default",
        "desc",
        "distinct",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "from",
        "full",
        "group",
        "having",
        "in",
        "inner",
        "intersect",
        "interval",
        "into",
        "is",
        "join",
        "lateral",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "over",
        "primary",
        "qualify",
        "right",
        "select",
        "table",
        "then",
        "to",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "when",
        "where",
        "window",
        "with",
        "date",
        "time",
        "timestamp",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "week",
        "quarter",
        "value",
        "values",
        "rows",
        "row",
        "range",
        "position",
        "percent",
        "returning",
        "session_user",
        "current_user",
    ];
    RESERVED.contains(&ident)
}
