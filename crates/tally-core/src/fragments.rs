//! User SQL fragments checked at validation time, in the project's dialect: filters, a semantic
//! model's `sql:` query and table name, and the `expr:` of entities, dimensions and measures.
//!
//! The planner pastes these fragments into the SQL it generates, so one that does not parse alone
//! (an unbalanced parenthesis, an unterminated comment, two statements, `*`) would otherwise only
//! fail when a query's SQL is parsed back, reported against the generated SQL (E0901, kept for
//! tally's own bugs). Here each one is reported where the user wrote it (E0203).

use crate::diag::{codes, Diagnostic};
use crate::dialect::Dialect;
use crate::expr::Segment;
use crate::model::{Filter, Model, Relation};
use crate::source::Span;
use sqlparser::ast::{Expr, SetExpr, Statement};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use std::collections::HashMap;

/// Every fragment of the model that does not parse in `dialect`.
pub fn check_model(model: &Model, dialect: Dialect) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut exprs_seen: HashMap<String, Result<(), String>> = HashMap::new();
    for (i, sm) in model.semantic_models.iter().enumerate() {
        match &sm.relation {
            Relation::Table(name) => {
                if let Err(e) = one_query(dialect, &format!("SELECT 1 FROM {name}")) {
                    out.push(
                        bad(sm.span, format!("the relation `{name}` is not a table name: {e}"))
                            .with_help("a relation is `schema.table` or `database.schema.table`; check `node_relation`, `$source_schema` and --source-schema"),
                    );
                }
            }
            Relation::Query(_, span) => {
                let rendered = model.render_model_sql(i, dialect.name());
                if let Some(Ok(sql)) = rendered {
                    if let Err(e) = one_query(dialect, &sql) {
                        out.push(
                            bad(
                                *span,
                                format!(
                                    "the `sql:` of semantic model `{}` is not one query: {e}",
                                    sm.name
                                ),
                            )
                            .with_help("write a single SELECT (no `;` and no second statement)"),
                        );
                    }
                }
            }
        }
        let exprs = sm
            .entities
            .iter()
            .map(|e| ("entity", &e.name, &e.expr, e.span))
            .chain(
                sm.dimensions
                    .iter()
                    .map(|d| ("dimension", &d.name, &d.expr, d.span)),
            )
            .chain(
                sm.measures
                    .iter()
                    .map(|m| ("measure", &m.name, &m.expr, m.span)),
            );
        for (kind, name, expr, span) in exprs {
            let span = if span.is_dummy() { sm.span } else { span };
            let text = if expr.contains("{{") || expr.contains("{%") {
                match crate::jinja::render_sql(
                    expr,
                    span,
                    &model.macros,
                    dialect.name(),
                    &model.vars,
                ) {
                    Ok(s) => s,
                    // Template errors are reported when the model is planned.
                    Err(_) => continue,
                }
            } else {
                expr.clone()
            };
            // The same text parses the same way: many models share expressions (`1`, `amount`).
            let parsed = exprs_seen
                .entry(text)
                .or_insert_with_key(|t| one_expr(dialect, t));
            if let Err(e) = parsed {
                out.push(
                    bad(span, format!("the `expr` of {kind} `{name}` is not a SQL expression: {e}"))
                        .with_help("an `expr` is one SQL expression over the model's columns, such as `amount * 100` or `CASE WHEN ... END`"),
                );
            }
        }
    }
    // Filters with the same SQL (their references aside) parse alike: each text is parsed once.
    let mut filters_seen: HashMap<String, Option<String>> = HashMap::new();
    for f in filters(model) {
        let Some(sql) = filter_sql(f) else { continue };
        let problem = filters_seen
            .entry(sql)
            .or_insert_with_key(|sql| filter_problem(dialect, sql));
        if let Some(e) = problem {
            out.push(filter_diagnostic(f, e));
        }
    }
    out
}

/// A where filter whose SQL (with its `{{ }}` references standing for columns) does not parse as
/// a condition.
pub fn check_filter(dialect: Dialect, f: &Filter) -> Option<Diagnostic> {
    let sql = filter_sql(f)?;
    filter_problem(dialect, &sql).map(|e| filter_diagnostic(f, &e))
}

/// A filter's SQL with a column standing for each reference; `None` for filters our own parser
/// rejects (reported by it, with a finer span).
fn filter_sql(f: &Filter) -> Option<String> {
    let template = f.template().ok()?;
    let mut sql = String::new();
    for s in &template.segments {
        match s {
            Segment::Sql { text, .. } => sql.push_str(text),
            Segment::Ref(_) => sql.push_str(" tally_ref "),
        }
    }
    Some(sql)
}

/// Why a filter's SQL is not one condition, if it is not.
///
/// Alone, a filter must parse as a condition (`a) OR (b` does not: it would break out of the
/// parentheses the planner puts around it); in parentheses on one line, a `--` comment that would
/// swallow what follows it in the generated SQL fails too. The parenthesised form is parsed first;
/// when it parses as one parenthesised condition spanning the whole filter, the bare form parses
/// too ([`parenthesised_condition`]) and is not parsed. Otherwise the bare form is parsed, and its
/// error is the one reported when both fail.
fn filter_problem(dialect: Dialect, sql: &str) -> Option<String> {
    let bare = || one_query(dialect, &format!("SELECT 1 FROM t WHERE {sql}"));
    match parenthesised_condition(dialect, &format!("SELECT 1 FROM t WHERE ({sql})")) {
        Ok(true) => None,
        Ok(false) => bare().err(),
        Err(paren) => Some(bare().err().unwrap_or(paren)),
    }
}

/// `SELECT 1 FROM t WHERE (S)` parsed once: [`one_query`]'s error, or whether its WHERE is one
/// parenthesised condition spanning all of S: the `(` before S closes at the last token, no comma
/// stands at that depth, and the parser made one [`Expr::Nested`] of it.
///
/// Then `SELECT 1 FROM t WHERE S` parses too. S's tokens are the same in both texts (a token
/// never runs into a `)` but inside a string, comment or quoted name, and then the `(` would not
/// close at the last token). Inside the parentheses the parser read S with `parse_expr`, as one
/// item (no comma at that depth), in the normal state that a WHERE clause is also parsed in,
/// and the expression ended at the `)`, as it ends at the end of the text (neither continues an
/// expression). The bare form's WHERE is that same `parse_expr` on the same tokens, at one level
/// less of nesting, and nothing follows it. (A `(` starting a subquery or a lambda makes no
/// `Nested`; the bare form decides those, as it does every other case.)
fn parenthesised_condition(dialect: Dialect, sql: &str) -> Result<bool, String> {
    let d = dialect.parser();
    let mut p = Parser::new(d.as_ref())
        .try_with_sql(sql)
        .map_err(|e| clean(&e))?;
    let spans = first_paren_closes_last(&p);
    let statements = p.parse_statements().map_err(|e| clean(&e))?;
    match statements.as_slice() {
        [Statement::Query(q)] => Ok(spans
            && matches!(q.body.as_ref(), SetExpr::Select(s)
                if matches!(s.selection, Some(Expr::Nested(_))))),
        [] => Err("it is empty".into()),
        [_] => Err("it is not a query".into()),
        more => Err(format!("it holds {} statements", more.len())),
    }
}

/// Whether the parser's first `(` closes at its last token that is not whitespace (or a
/// comment), with no comma between them outside inner parentheses.
fn first_paren_closes_last(p: &Parser) -> bool {
    let mut depth = 0usize;
    let mut closed = false;
    for i in 0.. {
        match &p.token_at(i).token {
            Token::EOF => return closed,
            Token::Whitespace(_) => {}
            _ if closed => return false,
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => return false,
            Token::RParen => {
                depth -= 1;
                closed = depth == 0;
            }
            Token::Comma if depth == 1 => return false,
            _ => {}
        }
    }
    closed
}

fn filter_diagnostic(f: &Filter, e: &str) -> Diagnostic {
    bad(f.span, format!("this filter is not a SQL condition: {e}"))
        .with_help("check parentheses, quotes and comments; a filter is one condition such as `{{ Dimension('x__y') }} = 'a'`")
}

fn bad(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(codes::EXPRESSION, message)
        .at(span)
        .with_label("does not parse")
}

/// Exactly one query statement.
fn one_query(dialect: Dialect, sql: &str) -> Result<(), String> {
    let d = dialect.parser();
    let statements = Parser::parse_sql(d.as_ref(), sql).map_err(|e| clean(&e))?;
    match statements.as_slice() {
        [Statement::Query(_)] => Ok(()),
        [] => Err("it is empty".into()),
        [_] => Err("it is not a query".into()),
        more => Err(format!("it holds {} statements", more.len())),
    }
}

/// Exactly one expression, not a wildcard.
fn one_expr(dialect: Dialect, sql: &str) -> Result<(), String> {
    let d = dialect.parser();
    let mut p = Parser::new(d.as_ref())
        .try_with_sql(sql)
        .map_err(|e| clean(&e))?;
    let e = p.parse_expr().map_err(|e| clean(&e))?;
    if matches!(e, Expr::Wildcard(_) | Expr::QualifiedWildcard(..)) {
        return Err("`*` stands for all columns, not a value".into());
    }
    match p.peek_token().token {
        Token::EOF => Ok(()),
        t => Err(format!("unexpected `{t}` after the expression")),
    }
}

/// sqlparser's message without its position, which is in the wrapped text, not the user's.
fn clean(e: &sqlparser::parser::ParserError) -> String {
    let s = e.to_string();
    let s = s.strip_prefix("sql parser error: ").unwrap_or(&s);
    match s.find(" at Line: ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Every filter written in the model: on metrics, their inputs, and saved queries.
fn filters(model: &Model) -> Vec<&Filter> {
    use crate::model::MetricKind;
    let mut out: Vec<&Filter> = Vec::new();
    for m in model.metrics.values() {
        out.extend(&m.filters);
        match &m.kind {
            MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
                out.extend(&r.filters)
            }
            MetricKind::Conversion {
                base, conversion, ..
            } => {
                out.extend(&base.filters);
                out.extend(&conversion.filters);
            }
            MetricKind::Derived { inputs, .. } => {
                for i in inputs {
                    out.extend(&i.filters);
                }
            }
            MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                out.extend(&numerator.filters);
                out.extend(&denominator.filters);
            }
        }
    }
    for sq in model.saved_queries.values() {
        out.extend(&sq.where_);
    }
    // A filter shared by several metrics (an input's) is checked once.
    out.sort_by(|a, b| (a.span, &a.text).cmp(&(b.span, &b.text)));
    out.dedup_by(|a, b| a.span == b.span && a.text == b.text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check as it was: the bare form, then the parenthesised one, each parsed.
    fn two_parses(dialect: Dialect, sql: &str) -> Option<String> {
        one_query(dialect, &format!("SELECT 1 FROM t WHERE {sql}"))
            .and_then(|()| one_query(dialect, &format!("SELECT 1 FROM t WHERE ({sql})")))
            .err()
    }

    fn agree(sql: &str) {
        for d in Dialect::ALL {
            assert_eq!(filter_problem(d, sql), two_parses(d, sql), "{d}: {sql:?}");
        }
    }

    #[test]
    fn one_parse_decides_as_two_did_on_hard_cases() {
        let cases = [
            "x = 1",
            "tally_ref = 'a'",
            " tally_ref  IN ('a', 'b')",
            "a) OR (b",
            "(a) OR (b)",
            "a) AND (b) OR (c",
            "x = 1 -- a comment",
            "x = 1 /* c */",
            "x = 1 /* unterminated",
            "x = 'unterminated",
            "\"x = 1",
            "x = 1; DROP TABLE t",
            "x = 1;",
            "",
            "   ",
            "x = 1 ORDER BY y",
            "x = 1) ORDER BY (y",
            "x = 1 LIMIT 1",
            "x = 1 UNION SELECT 1",
            "SELECT 1",
            "WITH a AS (SELECT 1) SELECT 1",
            "(SELECT 1) = 1",
            "EXISTS (SELECT 1 FROM u WHERE u.a = t.a)",
            "x IN (SELECT a FROM u)",
            "a, b",
            "a = 1,",
            "(a, b) = (1, 2)",
            "x = ARRAY[1, 2][1]",
            "x = [1, 2]",
            "x = {'a': 1, 'b': 2}",
            "x -> x + 1",
            "a) -> (a",
            "CASE WHEN x = 1 THEN 'a' ELSE 'b' END = 'a'",
            "x BETWEEN 1 AND 2",
            "x IS NOT NULL",
            "x NOT NULL",
            "f(a, b) > 0",
            "x::int = 1",
            "x = 1)",
            "(x = 1",
            "((x = 1))",
            "x = 1 GROUP BY y",
            "x = 1 HAVING y",
            "x = 1 QUALIFY y",
            "*",
            "t.*",
            "x = 1 AND",
            "x = $$a$$",
            "x = `y`",
            "x = [y]",
            "x = 1 -- c\n AND y = 2",
            "tally_ref >= '2024-01-01' AND tally_ref < '2024-02-01'",
            "NOT (x = 1)",
            "x = 1 OR y = 2 AND z = 3",
            "INTERVAL '1' DAY > x",
            "x = 1 CONNECT BY y",
            "x = 1 WINDOW w AS ()",
        ];
        for c in cases {
            agree(c);
        }
    }

    /// Every filter of the repository's own project, with its references standing for columns.
    #[test]
    fn one_parse_decides_as_two_did_on_the_repositorys_filters() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let (spec, _) = crate::load::load_project(&root, &Default::default());
        let (model, _) =
            crate::model::spec_to_model(spec, &crate::jinja::Templates::new(tally_templates::BASE));
        let texts: Vec<String> = filters(&model).into_iter().filter_map(filter_sql).collect();
        assert!(texts.len() > 20, "{} filters", texts.len());
        for t in &texts {
            agree(t);
        }
    }
}
