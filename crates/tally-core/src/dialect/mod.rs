//! SQL dialects: a closed set of warehouses, each mapped to its capabilities.
//!
//! [`Dialect`] is a `Copy` enum (what `--dialect`, `dialect:` in tally.yml and the servers'
//! `dialect` parameter name). [`Dialect::caps`] maps it to a [`Capabilities`] value whose methods
//! state facts about the warehouse as structure (quoting style, string escapes, how a null-safe
//! equality is written, type names, whether ORDER BY has `NULLS LAST`, ...) and spell the few
//! function calls that differ in shape (`date_trunc`, `extract`, interval arithmetic,
//! percentiles). The SQL stage assembles SQL from that structure through [`Dialect`]'s methods
//! (`sql.rs`); stage code never asks which dialect it is. User SQL (`sql:` on semantic models,
//! `expr:` of measures and dimensions) reaches the same differences through the macro library
//! ([`crate::jinja::Templates`]: the base macros and each dialect's overrides, by [`Dialect::name`],
//! given to core as data by the `tally-templates` crate).

use crate::diag::{codes, Diagnostic};
use crate::time::{DatePart, Grain};
use std::fmt;
use std::str::FromStr;

mod bigquery;
pub mod clock_check;
mod databricks;
mod duckdb;
mod postgres;
mod redshift;
mod reserved;
mod snowflake;
mod sql;
mod trino;
pub mod values;

pub(crate) use reserved::is_reserved;

/// A warehouse tally writes SQL for. Serialised as its `--dialect` name (`postgres`; `postgresql`
/// is accepted too); [`FromStr`] also ignores case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    BigQuery,
    Databricks,
    DuckDb,
    #[serde(alias = "postgresql")]
    Postgres,
    Redshift,
    Snowflake,
    Trino,
}

impl Dialect {
    /// Every dialect, in `--dialect` name order.
    pub const ALL: [Dialect; 7] = [
        Dialect::BigQuery,
        Dialect::Databricks,
        Dialect::DuckDb,
        Dialect::Postgres,
        Dialect::Redshift,
        Dialect::Snowflake,
        Dialect::Trino,
    ];

    /// The name users pass to `--dialect`.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::BigQuery => "bigquery",
            Dialect::Databricks => "databricks",
            Dialect::DuckDb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Redshift => "redshift",
            Dialect::Snowflake => "snowflake",
            Dialect::Trino => "trino",
        }
    }

    /// Other spellings accepted for the dialect (besides any case of [`Dialect::name`]).
    pub const fn aliases(self) -> &'static [&'static str] {
        match self {
            Dialect::Postgres => &["postgresql"],
            _ => &[],
        }
    }

    /// The warehouse's name as people write it (`PostgreSQL`), for messages.
    pub const fn title(self) -> &'static str {
        match self {
            Dialect::BigQuery => "BigQuery",
            Dialect::Databricks => "Databricks",
            Dialect::DuckDb => "DuckDB",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Redshift => "Redshift",
            Dialect::Snowflake => "Snowflake",
            Dialect::Trino => "Trino",
        }
    }

    /// What the warehouse can do and how it spells what differs.
    pub fn caps(self) -> &'static dyn Capabilities {
        match self {
            Dialect::BigQuery => &bigquery::BigQuery,
            Dialect::Databricks => &databricks::Databricks,
            Dialect::DuckDb => &duckdb::DuckDb,
            Dialect::Postgres => &postgres::Postgres,
            Dialect::Redshift => &redshift::Redshift,
            Dialect::Snowflake => &snowflake::Snowflake,
            Dialect::Trino => &trino::Trino,
        }
    }

    /// The sqlparser dialect generated SQL is parsed back with (sqlparser has no Trino dialect;
    /// its generic one parses Trino's SQL).
    pub fn parser(self) -> Box<dyn sqlparser::dialect::Dialect> {
        use sqlparser::dialect as p;
        match self {
            Dialect::BigQuery => Box::new(p::BigQueryDialect {}),
            Dialect::Databricks => Box::new(p::DatabricksDialect {}),
            Dialect::DuckDb => Box::new(p::DuckDbDialect {}),
            Dialect::Postgres => Box::new(p::PostgreSqlDialect {}),
            Dialect::Redshift => Box::new(p::RedshiftSqlDialect {}),
            Dialect::Snowflake => Box::new(p::SnowflakeDialect {}),
            Dialect::Trino => Box::new(p::GenericDialect {}),
        }
    }

    /// The `--dialect` names, in order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|d| d.name())
    }

    /// The one error for a dialect name tally does not know (E0004, wherever the name comes
    /// from: `--dialect`, `dialect:` in tally.yml, a server's parameter), with a "did you mean"
    /// and the list of dialects. The caller places it (`.at(span)`).
    pub fn unknown(name: &str) -> Diagnostic {
        let names: Vec<&str> = Self::names().collect();
        Diagnostic::error(codes::INVALID_VALUE, format!("unknown dialect `{name}`"))
            .with_label("not a dialect tally knows")
            .with_suggestion(name, names.iter().copied())
            .with_help(format!("dialects: {}", names.join(", ")))
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a dialect's; [`UnknownDialect::diagnostic`] is the coded error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl UnknownDialect {
    /// [`Dialect::unknown`] for this name.
    pub fn diagnostic(&self) -> Diagnostic {
        Dialect::unknown(&self.0)
    }
}

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown dialect `{}`; dialects: {}",
            self.0,
            Dialect::names().collect::<Vec<_>>().join(", ")
        )
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// A dialect by `--dialect` name or alias, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|d| d.name() == l || d.aliases().contains(&l.as_str()))
            .ok_or_else(|| UnknownDialect(s.to_string()))
    }
}
pub use crate::literal::{Literal, LiteralType};
pub use values::ValuesForm;

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

/// How identifiers are quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteStyle {
    /// `"name"`, a `"` doubled (standard SQL).
    Double,
    /// `"NAME"`: double quotes around the upper-cased name, for a warehouse that folds bare
    /// names to upper case (a quoted `"DATE"` is the column a bare `date` names).
    DoubleUpper,
    /// `` `name` ``, a backtick doubled (Spark SQL).
    Backtick,
    /// `` `name` ``, a backtick or backslash escaped with a backslash (GoogleSQL).
    BacktickBackslash,
}

/// How string literals escape their characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringEscape {
    /// `'it''s'`; a backslash is an ordinary character (standard SQL).
    Standard,
    /// `'it''s'`, a backslash doubled (the warehouse reads backslash escapes).
    DoubledBackslash,
    /// `'it\'s'`: backslash escapes throughout (`\\`, `\'`, `\n`, `\r`, `\t`).
    Backslash,
}

/// How a null-safe equality on group-by keys is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullSafeEqStyle {
    /// `a IS NOT DISTINCT FROM b`.
    IsNotDistinctFrom,
    /// Equalities only, for warehouses whose FULL OUTER JOIN accepts only hash- or
    /// merge-joinable conditions: the keys compared as text with NULL as the empty string, and
    /// their NULL-ness compared so that NULL and `''` differ.
    Equalities,
}

/// What a warehouse can do and how it spells what differs. The defaults are generic
/// (ANSI-leaning) SQL; each dialect, in its own file, overrides only where generic SQL is wrong or
/// much slower. Facts are returned as structure; only function calls whose shape differs by
/// warehouse are spelled as SQL fragments (`date_trunc`, `extract`, intervals, percentiles).
pub trait Capabilities: Sync {
    /// How generated identifiers (column aliases, CTE names) are quoted.
    fn quote_style(&self) -> QuoteStyle {
        QuoteStyle::Double
    }

    /// Whether result column names (the final SELECT's aliases) are always quoted as they are
    /// named, so that they keep the lower-case names of metrics and group-by items on a
    /// warehouse that folds bare names to upper case.
    fn quotes_output_names(&self) -> bool {
        false
    }

    /// How string literals escape.
    fn string_escape(&self) -> StringEscape {
        StringEscape::Standard
    }

    /// The name of the string type in casts: `VARCHAR`.
    fn string_type(&self) -> &'static str {
        "VARCHAR"
    }

    /// The name of the floating-point type in casts: `DOUBLE PRECISION`.
    fn double_type(&self) -> &'static str {
        "DOUBLE PRECISION"
    }

    /// The type of time bounds: `TIMESTAMP`.
    fn timestamp_type(&self) -> &'static str {
        "TIMESTAMP"
    }

    /// The type a time spine's column is cast to, so that it compares equal to the truncated
    /// times [`Capabilities::date_trunc`] returns; `None`: read as it is.
    fn spine_time_type(&self) -> Option<&'static str> {
        None
    }

    /// Whether the set operator adding rows without duplicates needs the quantifier
    /// (`UNION DISTINCT` rather than `UNION`).
    fn union_needs_distinct(&self) -> bool {
        false
    }

    /// How null-safe equality on group-by keys is written.
    fn null_safe_eq_style(&self) -> NullSafeEqStyle {
        NullSafeEqStyle::IsNotDistinctFrom
    }

    /// Whether ORDER BY accepts `NULLS FIRST` / `NULLS LAST` (all seven warehouses do).
    fn has_nulls_ordering(&self) -> bool {
        true
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

    /// A time expression compared with time bounds: unchanged.
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

    /// A percentile aggregate: `PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY expr)` (or
    /// `PERCENTILE_DISC`). `Err` says why the dialect cannot compute this kind; the planner reports
    /// it as E0405 rather than emit wrong SQL. By default there is no approximate percentile.
    fn percentile(&self, expr: &str, spec: PercentileSpec) -> Result<String, String> {
        if spec.approximate {
            return Err("there is no approximate percentile function".to_string());
        }
        Ok(within_group(expr, spec))
    }

    /// The name of the 64-bit integer type in casts and tables: `BIGINT`.
    fn integer_type(&self) -> &'static str {
        "BIGINT"
    }

    /// How constant rows are written as a `FROM` item ([`Dialect::values_table`]).
    fn values_form(&self) -> ValuesForm {
        ValuesForm::Standard
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
