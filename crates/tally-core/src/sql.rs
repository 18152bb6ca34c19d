//! Stage 5, `sql`: the relational plan (a small SQL AST) -> SQL text for a dialect.
//!
//! The planner builds a [`Query`] of named CTEs; this module renders it, asking the [`Dialect`] for
//! every construct that differs between warehouses. Output is formatted for people (one clause per
//! line, CTEs named after what they compute) and deterministic.

use crate::dialect::{Dialect, PercentileSpec};
use crate::model::AggKind;
use crate::time::{DatePart, Grain};
use serde::Serialize;

/// A scalar SQL expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expr {
    /// SQL written by the user (a dimension's `expr`), or already rendered by tally.
    Raw(String),
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
        lo: Option<String>,
        hi: Option<String>,
    },
    TimestampLit(String),
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

impl Expr {
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
    /// A user SQL query (a semantic model's `sql:`), wrapped in parentheses.
    Subquery { sql: String, alias: String },
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
pub fn expr_sql(d: &dyn Dialect, e: &Expr) -> String {
    match e {
        Expr::Raw(s) => s.clone(),
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
                parts.push(format!("{x} >= {}", d.timestamp_literal(lo)));
            }
            if let Some(hi) = hi {
                parts.push(format!("{x} < {}", d.timestamp_literal(hi)));
            }
            parts.join(" AND ")
        }
        Expr::TimestampLit(s) => d.timestamp_literal(s),
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
fn operand_sql(d: &dyn Dialect, e: &Expr) -> String {
    match e {
        Expr::And(items) if items.len() > 1 => format!("({})", expr_sql(d, e)),
        Expr::Range {
            lo: Some(_),
            hi: Some(_),
            ..
        } => format!("({})", expr_sql(d, e)),
        Expr::Raw(s) if s.contains(' ') => format!("({s})"),
        _ => expr_sql(d, e),
    }
}

fn table_sql(d: &dyn Dialect, t: &TableRef, indent: &str) -> String {
    match t {
        TableRef::Table { name, alias } => match alias {
            Some(a) => format!("{name} {}", d.ident(a)),
            None => name.clone(),
        },
        TableRef::Subquery { sql, alias } => {
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

/// Render a SELECT with every line prefixed by `indent`.
pub fn select_sql(d: &dyn Dialect, s: &Select, indent: &str) -> String {
    select_sql_as(d, s, indent, false)
}

/// Render a SELECT; `output` when it is the query's body, whose aliases are the result's column
/// names ([`Dialect::output_ident`]).
fn select_sql_as(d: &dyn Dialect, s: &Select, indent: &str, output: bool) -> String {
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
            let bare = matches!(&c.expr, Expr::Col { name, .. } if name == a)
                && alias_sql(a) == d.ident(a);
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
pub fn query_sql(d: &dyn Dialect, q: &Query) -> String {
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
pub fn parse_back(d: &dyn Dialect, sql: &str) -> Result<(), String> {
    let dialect = d.parser();
    sqlparser::parser::Parser::parse_sql(dialect.as_ref(), sql)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The constructs of a query the dialect cannot write: each percentile kind it lacks, with the
/// dialect's reason. The pipeline reports them (E0405) instead of returning the SQL.
pub fn unsupported(d: &dyn Dialect, q: &Query) -> Vec<(PercentileSpec, String)> {
    // Most queries have no percentile: a walk of the AST says so without the JSON round trip
    // below (which costs as much as planning on wide queries).
    if !has_percentile(q) {
        return Vec::new();
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<PercentileSpec>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::Object(p)) = m.get("Percentile") {
                    let spec = PercentileSpec {
                        p: p.get("p").and_then(|x| x.as_f64()).unwrap_or_default(),
                        discrete: p.get("discrete").and_then(|x| x.as_bool()) == Some(true),
                        approximate: p.get("approximate").and_then(|x| x.as_bool()) == Some(true),
                    };
                    if !out.contains(&spec) {
                        out.push(spec);
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut specs = Vec::new();
    if let Ok(v) = serde_json::to_value(q) {
        walk(&v, &mut specs);
    }
    specs
        .into_iter()
        .filter_map(|s| d.percentile("x", s).err().map(|e| (s, e)))
        .collect()
}

/// Whether any aggregate of the query (plain or over a window) is a percentile.
fn has_percentile(q: &Query) -> bool {
    fn agg(k: &crate::model::AggKind) -> bool {
        matches!(k, crate::model::AggKind::Percentile { .. })
    }
    fn expr(e: &Expr) -> bool {
        match e {
            Expr::Raw(_) | Expr::Col { .. } | Expr::TimestampLit(_) | Expr::Int(_) => false,
            Expr::Agg(k, e) => agg(k) || expr(e),
            Expr::Trunc(_, e)
            | Expr::Extract(_, e)
            | Expr::Double(e)
            | Expr::Paren(e)
            | Expr::IsNull(e)
            | Expr::AddInterval(e, _, _)
            | Expr::Range { expr: e, .. } => expr(e),
            Expr::SafeDivide(a, b)
            | Expr::NullSafeEq(a, b)
            | Expr::Eq(a, b)
            | Expr::Cmp(a, _, b)
            | Expr::AddIntervals(a, b, _) => expr(a) || expr(b),
            Expr::Case(a, b, c) => expr(a) || expr(b) || expr(c),
            Expr::Coalesce(es) | Expr::And(es) | Expr::Or(es) => es.iter().any(expr),
            Expr::Window(w) => {
                (match &w.func {
                    WindowFunc::Agg(k) => agg(k),
                    WindowFunc::LeadOr(_, e) => expr(e),
                    _ => false,
                }) || w.arg.as_ref().is_some_and(expr)
                    || w.partition_by.iter().any(expr)
                    || w.order_by.iter().any(|(e, _)| expr(e))
            }
        }
    }
    fn select(s: &Select) -> bool {
        s.columns.iter().any(|c| expr(&c.expr))
            || s.joins.iter().any(|j| j.on.iter().any(expr))
            || s.where_.iter().any(expr)
            || s.group_by.iter().any(expr)
            || s.order_by.iter().any(|(e, _)| expr(e))
    }
    q.ctes.iter().any(|c| select(&c.select)) || select(&q.body)
}

/// [`unsupported`] as diagnostics (E0405), each at the first measure of the percentile kind.
pub fn unsupported_diagnostics(
    model: &crate::model::Model,
    d: &dyn Dialect,
    q: &Query,
) -> Vec<crate::diag::Diagnostic> {
    unsupported(d, q)
        .into_iter()
        .map(|(spec, why)| unsupported_percentile(model, d, spec, why))
        .collect()
}

/// E0405 for a percentile kind the dialect cannot compute, at the first measure of that kind.
fn unsupported_percentile(
    model: &crate::model::Model,
    dialect: &dyn Dialect,
    spec: PercentileSpec,
    why: String,
) -> crate::diag::Diagnostic {
    let measure = model
        .semantic_models
        .iter()
        .flat_map(|m| m.measures.iter())
        .find(|m| {
            m.agg
                == crate::model::AggKind::Percentile {
                    p: spec.p,
                    discrete: spec.discrete,
                    approximate: spec.approximate,
                }
        });
    let mut d = crate::diag::Diagnostic::error(
        crate::diag::codes::UNSUPPORTED,
        format!(
            "{} cannot compute the {} percentile {}{}: {why}",
            dialect.title(),
            spec.kind(),
            spec.p,
            measure
                .map(|m| format!(" of measure `{}`", m.name))
                .unwrap_or_default()
        ),
    );
    if let Some(m) = measure {
        d = d.at(m.span).with_label("this measure");
    }
    d.with_help("use a percentile kind the warehouse has (`use_discrete_percentile`, `use_approximate_percentile`), or another dialect")
}
