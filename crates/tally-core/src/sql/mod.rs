//! Stage 5, `sql`: the relational plan (a small SQL AST) -> SQL text for a dialect.
//!
//! The planner builds a [`Query`] of named CTEs; this module renders it, asking the [`Dialect`] for
//! every construct that differs between warehouses. Output is formatted for people (one clause per
//! line, CTEs named after what they compute) and deterministic.
//!
//! The plan knows no dialect: users' SQL (`sql:` of semantic models, `expr:` of measures and
//! dimensions) stays in it as written, and [`user`] renders its Jinja with the dialect's macros
//! before the query is printed.

pub mod range_check;
pub mod reads;
pub mod user;
pub mod volatile;

use crate::dialect::{Dialect, PercentileSpec};
use crate::model::AggKind;
use crate::source::Span;
use crate::time::{DatePart, Grain};
use crate::timeval::Ts;
use serde::Serialize;

/// A scalar SQL expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expr {
    /// SQL written by the user (a measure's or dimension's `expr`), as written: its Jinja (calls
    /// of the macro library) is rendered for the dialect by the SQL stage ([`user`]).
    UserSql {
        text: String,
        #[serde(skip)]
        span: Span,
    },
    /// A user's filter or formula: its SQL text with the references it makes, already resolved to
    /// expressions, in place (rendered one after the other).
    Splice(Vec<SqlPart>),
    /// `NULL`.
    Null,
    /// `COUNT(e)`.
    Count(Box<Expr>),
    /// `a - b`.
    Sub(Box<Expr>, Box<Expr>),
    /// A column of a time spine read as a time value of the type the dialect compares truncated
    /// times as ([`Dialect::spine_time`]).
    SpineTime(Box<Expr>),
    /// The value of a metric in the final SELECT: rendered as its expression, always under the
    /// metric's name.
    MetricValue(Box<Expr>),
    /// A column of a relation in the FROM clause: `alias.name` (name quoted as needed).
    Col {
        table: Option<String>,
        name: String,
    },
    Trunc(Grain, Box<Expr>),
    Extract(DatePart, Box<Expr>),
    Agg(AggKind, Box<Expr>),
    Coalesce(Vec<Expr>),
    /// `CAST(e AS DOUBLE)`.
    Double(Box<Expr>),
    /// `CAST(a AS DOUBLE) / CAST(NULLIF(b, 0) AS DOUBLE)`.
    SafeDivide(Box<Expr>, Box<Expr>),
    /// `a IS NOT DISTINCT FROM b`.
    NullSafeEq(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    /// `e >= lo`, `e < hi` (either optional), for time constraints.
    Range {
        expr: Box<Expr>,
        lo: Option<Ts>,
        hi: Option<Ts>,
    },
    TimestampLit(Ts),
    /// `(e)`.
    Paren(Box<Expr>),
    /// An integer literal.
    Int(i64),
    /// `a <op> b` for a comparison operator: `=`, `<`, `<=`, `>`, `>=`.
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    /// `a AND b AND ...`, each operand parenthesised when it has several.
    And(Vec<Expr>),
    /// `(a OR b OR ...)`.
    Or(Vec<Expr>),
    /// `e IS NULL`.
    IsNull(Box<Expr>),
    /// `e + INTERVAL 'n' unit` (a negative count subtracts).
    AddInterval(Box<Expr>, i64, Grain),
    /// `e + (n) * INTERVAL '1' unit` for a count computed by SQL.
    AddIntervals(Box<Expr>, Box<Expr>, Grain),
    /// `CASE WHEN cond THEN a ELSE b END`.
    Case(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A window function: `func(args) OVER (PARTITION BY ... ORDER BY ... [ROWS BETWEEN UNBOUNDED
    /// PRECEDING AND UNBOUNDED FOLLOWING])`.
    Window(Box<Window>),
}

/// A piece of a [`Expr::Splice`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum SqlPart {
    /// SQL text as the user wrote it.
    Text(String),
    Expr(Expr),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The function of a window expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum WindowFunc {
    FirstValue,
    LastValue,
    Avg,
    Lead(i64),
    /// `LEAD(arg, n, default)`.
    LeadOr(i64, Box<Expr>),
    /// An aggregate over the window frame (with an ORDER BY: a running aggregate up to the current
    /// row).
    Agg(AggKind),
    RowNumber,
}

/// A window function call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    pub func: WindowFunc,
    pub arg: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<(Expr, bool)>,
    /// Frame the whole partition (`ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`).
    pub whole_partition: bool,
}

/// The direct sub-expressions of an [`Expr`], read (`iter`) or written (`iter_mut`, `mut`): one
/// list of arms for [`Expr::for_each_child`] and [`Expr::for_each_child_mut`].
macro_rules! children_of {
    ($e:expr, $f:expr, $iter:ident, $($m:tt)?) => {{
        let f = $f;
        match $e {
            Expr::Splice(parts) => {
                for p in parts {
                    if let SqlPart::Expr(x) = p {
                        f(x);
                    }
                }
            }
            Expr::UserSql { .. }
            | Expr::Col { .. }
            | Expr::Null
            | Expr::Int(_)
            | Expr::TimestampLit(_) => {}
            Expr::Trunc(_, x)
            | Expr::Extract(_, x)
            | Expr::Agg(_, x)
            | Expr::Count(x)
            | Expr::SpineTime(x)
            | Expr::MetricValue(x)
            | Expr::Double(x)
            | Expr::Paren(x)
            | Expr::IsNull(x)
            | Expr::AddInterval(x, _, _)
            | Expr::Range { expr: x, .. } => f(x),
            Expr::SafeDivide(a, b)
            | Expr::NullSafeEq(a, b)
            | Expr::Eq(a, b)
            | Expr::Sub(a, b)
            | Expr::Cmp(a, _, b)
            | Expr::AddIntervals(a, b, _) => {
                f(a);
                f(b);
            }
            Expr::Case(a, b, c) => {
                f(a);
                f(b);
                f(c);
            }
            Expr::Coalesce(es) | Expr::And(es) | Expr::Or(es) => es.$iter().for_each(|x| f(x)),
            Expr::Window(w) => {
                if let WindowFunc::LeadOr(_, x) = & $($m)? w.func {
                    f(x);
                }
                if let Some(a) = & $($m)? w.arg {
                    f(a);
                }
                w.partition_by.$iter().for_each(|x| f(x));
                w.order_by.$iter().for_each(|(x, _)| f(x));
            }
        }
    }};
}

impl Expr {
    /// Call `f` on each direct sub-expression (a splice's expression parts included; its text
    /// parts and users' SQL are leaves).
    pub fn for_each_child(&self, mut f: impl FnMut(&Expr)) {
        children_of!(self, &mut f, iter,)
    }

    /// [`Expr::for_each_child`], to rewrite the sub-expressions in place.
    pub fn for_each_child_mut(&mut self, mut f: impl FnMut(&mut Expr)) {
        children_of!(self, &mut f, iter_mut, mut)
    }

    pub fn col(table: &str, name: &str) -> Expr {
        Expr::Col {
            table: Some(table.to_string()),
            name: name.to_string(),
        }
    }
    pub fn bare(name: &str) -> Expr {
        Expr::Col {
            table: None,
            name: name.to_string(),
        }
    }
    pub fn cmp(a: Expr, op: CmpOp, b: Expr) -> Expr {
        Expr::Cmp(Box::new(a), op, Box::new(b))
    }
    pub fn eq(a: Expr, b: Expr) -> Expr {
        Expr::Eq(Box::new(a), Box::new(b))
    }
    /// `AND` of the conditions; one condition stays as it is.
    pub fn and(mut conds: Vec<Expr>) -> Expr {
        if conds.len() == 1 {
            conds.remove(0)
        } else {
            Expr::And(conds)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TableRef {
    /// A table or view as written by the user.
    Table { name: String, alias: Option<String> },
    /// A user SQL query (a semantic model's `sql:`, index `model`), wrapped in parentheses; its
    /// Jinja is rendered for the dialect by the SQL stage ([`user`]).
    Subquery {
        /// The text, shared with the model (planning and the SQL stage copy no text).
        #[serde(serialize_with = "crate::model::serialize_shared_str")]
        sql: std::sync::Arc<str>,
        model: usize,
        /// Whether it is the model's relation with business durations (`calendar::duration`).
        business: bool,
        /// Which of them it computes (positions in `Wrapped::columns`, ascending: the ones the
        /// scan reads); empty for the model's own relation.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        durations: Vec<usize>,
        alias: String,
    },
    /// One of the query's CTEs.
    Cte { name: String, alias: Option<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum JoinKind {
    Left,
    Inner,
    FullOuter,
    Cross,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Join {
    pub kind: JoinKind,
    pub table: TableRef,
    pub on: Vec<Expr>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Select {
    pub distinct: bool,
    pub columns: Vec<SelectItem>,
    pub from: Option<TableRef>,
    pub joins: Vec<Join>,
    pub where_: Vec<Expr>,
    pub group_by: Vec<Expr>,
    pub order_by: Vec<(Expr, bool)>,
    pub limit: Option<u64>,
    /// More SELECTs whose rows are added without duplicates (`UNION`); they have the same
    /// columns and no order or limit of their own.
    pub union: Vec<Select>,
}

impl Select {
    /// Add an output column named `alias`, and group by it when `group`.
    pub fn push_key(&mut self, expr: Expr, alias: String, group: bool) {
        if group {
            self.group_by.push(expr.clone());
        }
        self.columns.push(SelectItem {
            expr,
            alias: Some(alias),
        });
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cte {
    pub name: String,
    /// One line saying what the CTE computes.
    pub comment: String,
    pub select: Select,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Query {
    pub ctes: Vec<Cte>,
    pub body: Select,
}

/// Render an expression.
pub fn expr_sql(d: Dialect, e: &Expr) -> String {
    match e {
        Expr::UserSql { text, .. } => text.clone(),
        Expr::Splice(parts) => parts
            .iter()
            .map(|p| match p {
                SqlPart::Text(t) => t.clone(),
                SqlPart::Expr(e) => expr_sql(d, e),
            })
            .collect::<String>(),
        Expr::Null => "NULL".to_string(),
        Expr::Count(inner) => format!("COUNT({})", expr_sql(d, inner)),
        Expr::Sub(a, b) => format!("{} - {}", expr_sql(d, a), expr_sql(d, b)),
        Expr::SpineTime(inner) => d.spine_time(&expr_sql(d, inner)),
        Expr::MetricValue(inner) => expr_sql(d, inner),
        Expr::Col { table, name } => match table {
            Some(t) => format!("{}.{}", d.ident(t), d.ident(name)),
            None => d.ident(name),
        },
        Expr::Trunc(g, inner) => d.date_trunc(*g, &expr_sql(d, inner)),
        Expr::Extract(p, inner) => d.extract(*p, &expr_sql(d, inner)),
        Expr::Agg(kind, inner) => {
            let x = expr_sql(d, inner);
            match kind {
                AggKind::Sum => format!("SUM({x})"),
                AggKind::Min => format!("MIN({x})"),
                AggKind::Max => format!("MAX({x})"),
                AggKind::Average => format!("AVG({x})"),
                AggKind::CountDistinct => d.count_distinct(&x),
                AggKind::Percentile {
                    p,
                    discrete,
                    approximate,
                } => d
                    .percentile(
                        &x,
                        PercentileSpec {
                            p: *p,
                            discrete: *discrete,
                            approximate: *approximate,
                        },
                    )
                    // The planner reports a percentile the dialect cannot compute (E0405), so
                    // this SQL is never returned.
                    .unwrap_or_else(|_| "NULL".to_string()),
            }
        }
        Expr::Coalesce(items) => {
            if items.len() == 1 {
                expr_sql(d, &items[0])
            } else {
                format!(
                    "COALESCE({})",
                    items
                        .iter()
                        .map(|i| expr_sql(d, i))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        Expr::Double(inner) => d.cast_double(&expr_sql(d, inner)),
        Expr::SafeDivide(a, b) => format!(
            "{} / {}",
            d.cast_double(&expr_sql(d, a)),
            d.cast_double(&format!("NULLIF({}, 0)", expr_sql(d, b)))
        ),
        Expr::NullSafeEq(a, b) => d.null_safe_eq(&expr_sql(d, a), &expr_sql(d, b)),
        Expr::Eq(a, b) => format!("{} = {}", expr_sql(d, a), expr_sql(d, b)),
        Expr::Range { expr, lo, hi } => {
            let x = d.time_operand(&expr_sql(d, expr));
            let mut parts = Vec::new();
            if let Some(lo) = lo {
                parts.push(format!("{x} >= {}", d.timestamp_literal(&lo.format())));
            }
            if let Some(hi) = hi {
                parts.push(format!("{x} < {}", d.timestamp_literal(&hi.format())));
            }
            parts.join(" AND ")
        }
        Expr::TimestampLit(t) => d.timestamp_literal(&t.format()),
        Expr::Paren(inner) => format!("({})", expr_sql(d, inner)),
        Expr::Int(n) => n.to_string(),
        Expr::Cmp(a, op, b) => format!("{} {} {}", expr_sql(d, a), op.sql(), expr_sql(d, b)),
        Expr::And(items) => items
            .iter()
            .map(|e| operand_sql(d, e))
            .collect::<Vec<_>>()
            .join(" AND "),
        Expr::Or(items) => format!(
            "({})",
            items
                .iter()
                .map(|e| operand_sql(d, e))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        Expr::IsNull(inner) => format!("{} IS NULL", expr_sql(d, inner)),
        Expr::AddInterval(inner, n, g) => d.add_interval(&expr_sql(d, inner), *n, *g),
        Expr::AddIntervals(inner, n, g) => {
            d.add_intervals(&expr_sql(d, inner), &expr_sql(d, n), *g)
        }
        Expr::Case(cond, a, b) => format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            expr_sql(d, cond),
            expr_sql(d, a),
            expr_sql(d, b)
        ),
        Expr::Window(w) => {
            let call = match &w.func {
                WindowFunc::FirstValue => format!(
                    "FIRST_VALUE({})",
                    w.arg.as_ref().map(|a| expr_sql(d, a)).unwrap_or_default()
                ),
                WindowFunc::LastValue => format!(
                    "LAST_VALUE({})",
                    w.arg.as_ref().map(|a| expr_sql(d, a)).unwrap_or_default()
                ),
                WindowFunc::Avg => format!(
                    "AVG({})",
                    w.arg.as_ref().map(|a| expr_sql(d, a)).unwrap_or_default()
                ),
                WindowFunc::Lead(n) => format!(
                    "LEAD({}, {n})",
                    w.arg.as_ref().map(|a| expr_sql(d, a)).unwrap_or_default()
                ),
                WindowFunc::LeadOr(n, default) => format!(
                    "LEAD({}, {n}, {})",
                    w.arg.as_ref().map(|a| expr_sql(d, a)).unwrap_or_default(),
                    expr_sql(d, default)
                ),
                WindowFunc::Agg(kind) => match &w.arg {
                    Some(a) => expr_sql(d, &Expr::Agg(*kind, Box::new(a.clone()))),
                    None => String::new(),
                },
                WindowFunc::RowNumber => "ROW_NUMBER()".to_string(),
            };
            let partition: Vec<String> = w.partition_by.iter().map(|e| expr_sql(d, e)).collect();
            let order: Vec<String> = w
                .order_by
                .iter()
                .map(|(e, desc)| format!("{}{}", expr_sql(d, e), if *desc { " DESC" } else { "" }))
                .collect();
            d.window(&call, &partition, &order, w.whole_partition)
        }
    }
}

/// An operand of AND/OR: parenthesised when it is itself a compound condition.
fn operand_sql(d: Dialect, e: &Expr) -> String {
    match e {
        Expr::And(items) if items.len() > 1 => format!("({})", expr_sql(d, e)),
        Expr::Range {
            lo: Some(_),
            hi: Some(_),
            ..
        } => format!("({})", expr_sql(d, e)),
        Expr::UserSql { .. } | Expr::Splice(_) => {
            let s = expr_sql(d, e);
            if s.contains(' ') {
                format!("({s})")
            } else {
                s
            }
        }
        _ => expr_sql(d, e),
    }
}

fn table_sql(d: Dialect, t: &TableRef, indent: &str) -> String {
    match t {
        TableRef::Table { name, alias } => match alias {
            Some(a) => format!("{name} {}", d.ident(a)),
            None => name.clone(),
        },
        TableRef::Subquery { sql, alias, .. } => {
            let body: Vec<String> = sql
                .trim()
                .lines()
                .map(|l| format!("{indent}  {l}"))
                .collect();
            format!("(\n{}\n{indent}) {}", body.join("\n"), d.ident(alias))
        }
        TableRef::Cte { name, alias } => match alias {
            Some(a) if a != name => format!("{} {}", d.ident(name), d.ident(a)),
            _ => d.ident(name),
        },
    }
}

/// The name of a column an expression renders as, when it is one (a select item so named needs
/// no alias).
fn plain_column(d: Dialect, e: &Expr) -> Option<&str> {
    match e {
        Expr::Col { name, .. } => Some(name),
        Expr::SpineTime(inner) if !d.casts_spine_time() => plain_column(d, inner),
        _ => None,
    }
}

/// Render a SELECT with every line prefixed by `indent`.
pub fn select_sql(d: Dialect, s: &Select, indent: &str) -> String {
    select_sql_as(d, s, indent, false)
}

/// Render a SELECT; `output` when it is the query's body, whose aliases are the result's column
/// names ([`Dialect::output_ident`]).
fn select_sql_as(d: Dialect, s: &Select, indent: &str, output: bool) -> String {
    let alias_sql = |a: &str| {
        if output {
            d.output_ident(a)
        } else {
            d.ident(a)
        }
    };
    let mut out = String::new();
    out.push_str(indent);
    out.push_str(if s.distinct {
        "SELECT DISTINCT"
    } else {
        "SELECT"
    });
    out.push('\n');
    let n = s.columns.len();
    for (i, c) in s.columns.iter().enumerate() {
        out.push_str(indent);
        out.push_str("  ");
        let e = expr_sql(d, &c.expr);
        out.push_str(&e);
        if let Some(a) = &c.alias {
            let bare = plain_column(d, &c.expr) == Some(a) && alias_sql(a) == d.ident(a);
            if !bare {
                out.push_str(" AS ");
                out.push_str(&alias_sql(a));
            }
        }
        if i + 1 < n {
            out.push(',');
        }
        out.push('\n');
    }
    if let Some(f) = &s.from {
        out.push_str(&format!("{indent}FROM {}\n", table_sql(d, f, indent)));
    }
    for j in &s.joins {
        let kw = match j.kind {
            JoinKind::Left => "LEFT OUTER JOIN",
            JoinKind::Inner => "INNER JOIN",
            JoinKind::FullOuter => "FULL OUTER JOIN",
            JoinKind::Cross => "CROSS JOIN",
        };
        out.push_str(&format!("{indent}{kw} {}", table_sql(d, &j.table, indent)));
        if j.kind != JoinKind::Cross {
            let conds: Vec<String> = j.on.iter().map(|e| expr_sql(d, e)).collect();
            if conds.is_empty() {
                out.push_str(" ON TRUE");
            } else {
                out.push_str(&format!(
                    "\n{indent}  ON {}",
                    conds.join(&format!("\n{indent}  AND "))
                ));
            }
        }
        out.push('\n');
    }
    if !s.where_.is_empty() {
        let conds: Vec<String> = s
            .where_
            .iter()
            .map(|e| {
                let x = expr_sql(d, e);
                // An OR renders its own parentheses.
                if s.where_.len() > 1 && !matches!(e, Expr::Or(_)) {
                    format!("({x})")
                } else {
                    x
                }
            })
            .collect();
        out.push_str(&format!(
            "{indent}WHERE {}\n",
            conds.join(&format!("\n{indent}  AND "))
        ));
    }
    if !s.group_by.is_empty() {
        let items: Vec<String> = s.group_by.iter().map(|e| expr_sql(d, e)).collect();
        out.push_str(&format!("{indent}GROUP BY\n"));
        let n = items.len();
        for (i, it) in items.iter().enumerate() {
            out.push_str(&format!(
                "{indent}  {it}{}\n",
                if i + 1 < n { "," } else { "" }
            ));
        }
    }
    for branch in &s.union {
        out.push_str(&format!("{indent}{}\n", d.union_distinct()));
        out.push_str(&select_sql_as(d, branch, indent, output));
    }
    if !s.order_by.is_empty() {
        let items: Vec<String> = s
            .order_by
            .iter()
            .map(|(e, desc)| {
                let x = match e {
                    Expr::Col { table: None, name }
                        if output && s.columns.iter().any(|c| c.alias.as_deref() == Some(name)) =>
                    {
                        alias_sql(name)
                    }
                    e => expr_sql(d, e),
                };
                d.order_item(&x, *desc)
            })
            .collect();
        out.push_str(&format!("{indent}ORDER BY {}\n", items.join(", ")));
    }
    if let Some(l) = s.limit {
        out.push_str(&format!("{indent}LIMIT {l}\n"));
    }
    out
}

/// Render a whole query: CTEs, then the body. Ends with a newline, no semicolon.
pub fn query_sql(d: Dialect, q: &Query) -> String {
    let mut out = String::new();
    for (i, c) in q.ctes.iter().enumerate() {
        out.push_str(if i == 0 { "WITH " } else { ", " });
        out.push_str(&d.ident(&c.name));
        out.push_str(" AS (\n");
        if !c.comment.is_empty() {
            out.push_str(&format!("  -- {}\n", c.comment));
        }
        out.push_str(&select_sql(d, &c.select, "  "));
        out.push_str(")\n");
    }
    out.push_str(&select_sql_as(d, &q.body, "", true));
    out
}

/// Parse generated SQL back with sqlparser in the dialect. An error here is a bug in tally.
pub fn parse_back(d: Dialect, sql: &str) -> Result<(), String> {
    let dialect = d.parser();
    sqlparser::parser::Parser::parse_sql(dialect.as_ref(), sql)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// E0405 for each measure a plan aggregates (`measures`: semantic model and measure positions)
/// whose percentile the dialect cannot compute, at that measure; one per percentile kind.
pub fn unsupported_diagnostics(
    model: &crate::model::Model,
    d: Dialect,
    measures: &[(usize, usize)],
) -> Vec<crate::diag::Diagnostic> {
    let mut seen: Vec<PercentileSpec> = Vec::new();
    let mut out = Vec::new();
    for &(sm, i) in measures {
        let m = &model.semantic_models[sm].measures[i];
        let AggKind::Percentile {
            p,
            discrete,
            approximate,
        } = m.agg
        else {
            continue;
        };
        let spec = PercentileSpec {
            p,
            discrete,
            approximate,
        };
        if seen.contains(&spec) {
            continue;
        }
        seen.push(spec);
        if let Err(why) = d.percentile_support(spec) {
            out.push(unsupported_percentile(m, d, spec, why));
        }
    }
    out
}

/// E0405 for a percentile kind the dialect cannot compute, at the measure that asks for it.
fn unsupported_percentile(
    measure: &crate::model::Measure,
    dialect: Dialect,
    spec: PercentileSpec,
    why: String,
) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(
        crate::diag::codes::UNSUPPORTED,
        format!(
            "{} cannot compute the {} percentile {} of measure `{}`: {why}",
            dialect.title(),
            spec.kind(),
            spec.p,
            measure.name
        ),
    )
    .at(measure.span)
    .with_label("this measure")
    .with_help("use a percentile kind the warehouse has (`use_discrete_percentile`, `use_approximate_percentile`), or another dialect")
}
