//! SQL dialects as capabilities.
//!
//! Stage code never asks which dialect it is: it asks the dialect how to write a construct
//! (`date_trunc`, `quote_ident`, `percentile`, ...). [`Dialect`] has generic (ANSI-leaning) default
//! methods; each dialect, in its own file, overrides only where generic SQL is wrong or much slower.
//! The method docs say which SQL each default emits. User SQL (`sql:` on semantic models, `expr:`
//! of measures and dimensions) reaches the same differences through the macro library in
//! `templates/` ([`Dialect::macros`] is the dialect's override file).

use crate::time::{DatePart, Grain};

mod bigquery;
mod databricks;
mod duckdb;
mod postgres;
mod redshift;
mod snowflake;
mod trino;
pub mod values;

pub use bigquery::BigQuery;
pub use databricks::Databricks;
pub use duckdb::DuckDb;
pub use postgres::Postgres;
pub use redshift::Redshift;
pub use snowflake::Snowflake;
pub use trino::Trino;
pub use values::{Literal, LiteralType};

/// How a percentile should be computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PercentileSpec {
    pub p: f64,
    pub discrete: bool,
    pub approximate: bool,
}

impl PercentileSpec {
    /// `continuous`, `discrete`, `approximate continuous` or `approximate discrete`.
    pub fn kind(&self) -> &'static str {
        match (self.approximate, self.discrete) {
            (false, false) => "continuous",
            (false, true) => "discrete",
            (true, false) => "approximate continuous",
            (true, true) => "approximate discrete",
        }
    }
}

pub trait Dialect: Sync {
    /// The name users pass to `--dialect`.
    fn name(&self) -> &'static str;

    /// The warehouse's name as people write it (`PostgreSQL`), for messages.
    fn title(&self) -> &'static str;

    /// The sqlparser dialect generated SQL is parsed back with.
    fn parser(&self) -> Box<dyn sqlparser::dialect::Dialect>;

    /// The dialect's macro overrides (`templates/dialects/<name>.sql`), loaded after the base
    /// library `templates/macros.sql` and before the project's own `templates/`.
    fn macros(&self) -> &'static str;

    /// Quote an identifier tally generates (column aliases, CTE names): `"name"`.
    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    /// An identifier tally generates, bare when it is lower-case and not a keyword (output stays
    /// readable and is still correct on case-folding warehouses), else quoted.
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

    /// A column name of the query's result (the final SELECT's aliases and the ORDER BY items that
    /// name them): [`Dialect::ident`]. A warehouse that folds bare names to upper case quotes them,
    /// so that result columns keep the names of the metrics and group-by items.
    fn output_ident(&self, ident: &str) -> String {
        self.ident(ident)
    }

    /// A string literal: `'it''s'` (standard SQL: a backslash is an ordinary character).
    fn string_literal(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    /// The name of the string type in casts: `VARCHAR`.
    fn string_type(&self) -> &'static str {
        "VARCHAR"
    }

    /// `DATE_TRUNC('month', expr)`; weeks start on Monday (ISO).
    fn date_trunc(&self, grain: Grain, expr: &str) -> String {
        format!("DATE_TRUNC('{}', {expr})", grain.name())
    }

    /// `EXTRACT(part FROM expr)`; day of week is ISO (Monday = 1, `isodow`).
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

    /// A time spine's column read as a time value: unchanged. A dialect that compares group-by keys
    /// as text ([`null_safe_eq_by_equalities`]) casts it to the type its [`Dialect::date_trunc`]
    /// returns, so that a DATE spine column and a truncated timestamp compare equal.
    fn spine_time(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// Whether [`Dialect::spine_time`] casts (`false`: a spine column is read as it is).
    fn casts_spine_time(&self) -> bool {
        false
    }

    /// A time expression compared with [`Dialect::timestamp_literal`] bounds: unchanged.
    fn time_operand(&self, expr: &str) -> String {
        expr.to_string()
    }

    /// `expr + INTERVAL 'n' unit` (quarters as 3 months; a negative count subtracts).
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

    /// `CAST(expr AS DOUBLE PRECISION)`.
    fn cast_double(&self, expr: &str) -> String {
        format!("CAST({expr} AS {})", self.double_type())
    }

    fn double_type(&self) -> &'static str {
        "DOUBLE PRECISION"
    }

    /// A percentile aggregate: `PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY expr)` (or
    /// `PERCENTILE_DISC`). `Err` says why the dialect cannot compute this kind; the planner reports
    /// it as E0405 rather than emit wrong SQL. By default there is no approximate percentile.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        if spec.approximate {
            return Err(format!(
                "{} has no approximate percentile function",
                self.title()
            ));
        }
        Ok(within_group(expr, spec))
    }

    /// Whether the dialect computes this kind of percentile; `Err` says why not (reported as
    /// E0405 at the measure that asks for it).
    fn percentile_support(&self, spec: PercentileSpec) -> Result<(), String> {
        self.percentile("", spec).map(|_| ())
    }

    /// The set operator that adds a SELECT's rows without duplicates: `UNION`.
    fn union_distinct(&self) -> &'static str {
        "UNION"
    }

    /// Null-safe equality for joining on group-by keys: `a IS NOT DISTINCT FROM b`.
    fn null_safe_eq(&self, a: &str, b: &str) -> String {
        format!("{a} IS NOT DISTINCT FROM {b}")
    }

    /// `COUNT(DISTINCT expr)`.
    fn count_distinct(&self, expr: &str) -> String {
        format!("COUNT(DISTINCT {expr})")
    }

    /// Whether ORDER BY accepts `NULLS FIRST` / `NULLS LAST` (all seven warehouses do).
    fn has_nulls_ordering(&self) -> bool {
        true
    }

    /// An item of the query's final ORDER BY, NULLs last whatever the direction (what DuckDB and
    /// Trino do by default, and what MetricFlow's expected results on DuckDB show): `expr NULLS
    /// LAST`, `expr DESC NULLS LAST`. The warehouses' defaults differ (PostgreSQL, Snowflake and
    /// Redshift sort NULLs as the largest value, Spark and BigQuery as the smallest), so with a
    /// LIMIT they would return different rows. Without the syntax ([`Dialect::has_nulls_ordering`]),
    /// a NULL flag sorts first: `CASE WHEN expr IS NULL THEN 1 ELSE 0 END, expr DESC`.
    fn order_item(&self, expr: &str, desc: bool) -> String {
        let dir = if desc { " DESC" } else { "" };
        if self.has_nulls_ordering() {
            format!("{expr}{dir} NULLS LAST")
        } else {
            format!("CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, {expr}{dir}")
        }
    }

    /// The name of the 64-bit integer type in casts and tables: `BIGINT`.
    fn integer_type(&self) -> &'static str {
        "BIGINT"
    }

    /// Constant rows as a `FROM` item named `alias` with these columns (the first row's types
    /// are the columns'): `(VALUES (...), (...)) AS alias(c1, c2)` ([`values::standard`]).
    fn values_table(&self, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
        values::standard(self, alias, columns, rows)
    }
}

/// `PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY expr)` or `PERCENTILE_DISC(...)`.
pub(crate) fn within_group(expr: &str, spec: PercentileSpec) -> String {
    let f = if spec.discrete {
        "PERCENTILE_DISC"
    } else {
        "PERCENTILE_CONT"
    };
    format!("{f}({}) WITHIN GROUP (ORDER BY {expr})", spec.p)
}

/// Null-safe equality written as equalities only, for warehouses whose FULL OUTER JOIN accepts
/// only hash- or merge-joinable conditions (PostgreSQL, Redshift, BigQuery): the keys compared as
/// text with NULL as the empty string, and their NULL-ness compared so that NULL and `''` differ.
pub(crate) fn null_safe_eq_by_equalities(d: &dyn Dialect, a: &str, b: &str) -> String {
    let t = d.string_type();
    format!(
        "COALESCE(CAST({a} AS {t}), '') = COALESCE(CAST({b} AS {t}), '') AND ({a} IS NULL) = ({b} IS NULL)"
    )
}

/// Every dialect, in `--dialect` name order.
pub const ALL: &[&dyn Dialect] = &[
    &BigQuery,
    &Databricks,
    &DuckDb,
    &Postgres,
    &Redshift,
    &Snowflake,
    &Trino,
];

/// The dialects tally knows, by `--dialect` name (`postgresql` is accepted for `postgres`).
pub fn by_name(name: &str) -> Option<&'static dyn Dialect> {
    let l = name.to_ascii_lowercase();
    let l = if l == "postgresql" {
        "postgres".to_string()
    } else {
        l
    };
    ALL.iter().copied().find(|d| d.name() == l)
}

/// The `--dialect` names.
pub const NAMES: &[&str] = &[
    "bigquery",
    "databricks",
    "duckdb",
    "postgres",
    "redshift",
    "snowflake",
    "trino",
];

pub(crate) fn is_reserved(ident: &str) -> bool {
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
        // Reserved in one of the other warehouses (PostgreSQL, Snowflake, BigQuery, Databricks,
        // Redshift, Trino): quoted everywhere, so that one project's SQL reads the same in each.
        "array",
        "assert_rows_modified",
        "at",
        "both",
        "collate",
        "connect",
        "constraint",
        "contains",
        "cube",
        "current",
        "define",
        "describe",
        "do",
        "enum",
        "escape",
        "exists",
        "extract",
        "following",
        "foreign",
        "grant",
        "grouping",
        "groups",
        "hash",
        "if",
        "ignore",
        "ilike",
        "increment",
        "leading",
        "localtime",
        "localtimestamp",
        "lookup",
        "merge",
        "minus",
        "new",
        "nulls",
        "only",
        "preceding",
        "proto",
        "references",
        "regexp",
        "respect",
        "rlike",
        "rollup",
        "sample",
        "similar",
        "some",
        "start",
        "struct",
        "tablesample",
        "trailing",
        "treat",
        "trim",
        "unbounded",
        "unnest",
        "within",
    ];
    RESERVED.contains(&ident)
}
