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
    let mut exprs_seen: HashMap<String, Result<(), String>> = HashMap::with_capacity(
        model
            .semantic_models
            .iter()
            .map(|sm| sm.entities.len() + sm.dimensions.len() + sm.measures.len())
            .sum(),
    );
    for (i, sm) in model.semantic_models.iter().enumerate() {
        match &sm.relation {
            Relation::Table(name) => {
                if let Some(e) = table_problem(dialect, name) {
                    out.push(
                        bad(sm.span, format!("the relation `{name}` is not a table name: {e}"))
                            .with_help("a relation is `schema.table` or `database.schema.table`; check `node_relation`, `$source_schema` and --source-schema"),
                    );
                }
            }
            Relation::Query(_, span) => {
                // Template errors are reported when the model is planned.
                let problem = model.with_model_sql(i, dialect.name(), |r| {
                    r.as_ref()
                        .ok()
                        .and_then(|sql| one_query(dialect, sql).err())
                });
                if let Some(Some(e)) = problem {
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
/// E0203 when the `sql:` of semantic model `index`, as rendered for `dialect` (`sql`), is not one
/// query in that dialect: the SQL stage's check of a model's SQL in a dialect validation did not
/// check it in (`query::compile_with`), reported where the user wrote it, not as a bug of tally.
pub(crate) fn check_relation_sql(
    model: &Model,
    index: usize,
    dialect: Dialect,
    sql: &str,
) -> Option<Diagnostic> {
    let e = one_query(dialect, sql).err()?;
    let sm = model.semantic_models.get(index)?;
    let span = match &sm.relation {
        Relation::Query(_, span) => *span,
        Relation::Table(_) => sm.span,
    };
    Some(
        bad(
            span,
            format!(
                "the `sql:` of semantic model `{}` does not parse as {}: {e}",
                sm.name,
                dialect.name()
            ),
        )
        .with_help(format!(
            "tally writes a model's SQL into the query as it is; write SQL that {} accepts, or what differs between dialects through tally's Jinja macros (`cast_date`, `dateadd`, ...) or a macro of the project's own `templates/*.sql`",
            dialect.name()
        )),
    )
}

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

/// Why `SELECT 1 FROM name` is not one query, if it is not. Names joined by `.` that are each
/// [`plain`] (no keyword, no quote the dialect does not delimit names with) are a table name
/// without being parsed (`plain_is_what_sqlparser_parses`).
fn table_problem(dialect: Dialect, name: &str) -> Option<String> {
    let d = dialect.parser();
    if name.split('.').all(|part| plain_name(d.as_ref(), part)) {
        return None;
    }
    one_query(dialect, &format!("SELECT 1 FROM {name}")).err()
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

/// Exactly one expression, not a wildcard. A [`plain`] text is one without being parsed.
fn one_expr(dialect: Dialect, sql: &str) -> Result<(), String> {
    let d = dialect.parser();
    if plain(d.as_ref(), sql) {
        return Ok(());
    }
    parse_one_expr(d.as_ref(), sql)
}

/// [`one_expr`] by sqlparser alone.
fn parse_one_expr(d: &dyn sqlparser::dialect::Dialect, sql: &str) -> Result<(), String> {
    let mut p = Parser::new(d).try_with_sql(sql).map_err(|e| clean(&e))?;
    let e = p.parse_expr().map_err(|e| clean(&e))?;
    if matches!(e, Expr::Wildcard(_) | Expr::QualifiedWildcard(..)) {
        return Err("`*` stands for all columns, not a value".into());
    }
    match p.peek_token().token {
        Token::EOF => Ok(()),
        t => Err(format!("unexpected `{t}` after the expression")),
    }
}

/// Whether `sql` is, in `d`, one of the texts that cannot fail to parse as one expression: an
/// unsigned integer, a `'string'` without quotes or backslashes inside, or a column: names joined
/// by `.`, each a word of the dialect's identifier characters that is no keyword of sqlparser's
/// (`date`, `user` and `value` are parsed), or a non-empty name in a quote the dialect delimits
/// identifiers with, holding no such quote. Nothing else, not even whitespace, so the tokenizer
/// makes exactly the tokens the rule names, and the parser reads a value or an identifier chain
/// from them: a keyword is what could start any other construct. Most `expr:` are such columns
/// (an entity's or dimension's name by default), and parsing each took most of this check's time.
/// `plain_is_what_sqlparser_parses` compares this with the parse on every fragment of the
/// repository's projects, MetricFlow's manifests and awkward texts, in every dialect.
fn plain(d: &dyn sqlparser::dialect::Dialect, sql: &str) -> bool {
    const LONGEST_NUMBER: usize = 18;
    if !sql.is_empty() && sql.len() <= LONGEST_NUMBER && sql.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if let Some(inner) = sql.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return sql.len() >= 2
            && inner
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'\'' && b != b'\\');
    }
    !sql.is_empty() && sql.split('.').all(|part| plain_name(d, part))
}

/// One part of a [`plain`] column.
fn plain_name(d: &dyn sqlparser::dialect::Dialect, part: &str) -> bool {
    let mut chars = part.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if (first == '"' || first == '`') && d.is_delimited_identifier_start(first) {
        let inner = &part[1..];
        return inner.len() >= 2
            && inner.ends_with(first)
            && inner[..inner.len() - 1]
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != first as u8);
    }
    (first.is_ascii_alphabetic() || first == '_')
        && d.is_identifier_start(first)
        && chars.all(|c| (c.is_ascii_alphanumeric() || c == '_') && d.is_identifier_part(c))
        && sqlparser::keywords::ALL_KEYWORDS
            .binary_search(&part.to_ascii_uppercase().as_str())
            .is_err()
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
    use std::collections::BTreeSet;

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

    /// The `expr` of every entity, dimension and measure, and every table name, of the
    /// repository's projects (its own, the examples, MetricFlow's manifests).
    fn project_fragments() -> (BTreeSet<String>, BTreeSet<String>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.clone()];
        for parent in ["examples", "tests/metricflow/manifests"] {
            let entries = std::fs::read_dir(root.join(parent)).expect("the directory is there");
            dirs.extend(
                entries
                    .map(|e| e.expect("an entry").path())
                    .filter(|p| p.is_dir()),
            );
        }
        let (mut texts, mut tables) = (BTreeSet::new(), BTreeSet::new());
        for dir in dirs {
            let (spec, _) = crate::load::load_project(&dir, &Default::default());
            let templates = crate::jinja::Templates::new(tally_templates::BASE);
            let (model, _) = crate::model::spec_to_model(spec, &templates);
            for sm in &model.semantic_models {
                texts.extend(sm.entities.iter().map(|e| e.expr.clone()));
                texts.extend(sm.dimensions.iter().map(|d| d.expr.clone()));
                texts.extend(sm.measures.iter().map(|m| m.expr.clone()));
                if let Relation::Table(name) = &sm.relation {
                    tables.insert(name.clone());
                }
            }
        }
        (texts, tables)
    }

    /// Where [`plain`] takes a text for one expression without parsing it, sqlparser parses it as
    /// one, in every dialect: on every fragment of the repository's projects and on awkward texts
    /// (keywords, quotes of the other dialects, escapes, whitespace, comments, numbers that are
    /// not plain integers). Elsewhere the parse decides, so the check is unchanged.
    #[test]
    fn plain_is_what_sqlparser_parses() {
        let (projects, tables) = project_fragments();
        assert!(projects.len() > 200, "{} fragments", projects.len());
        assert!(tables.len() > 10, "{} tables", tables.len());
        let awkward = [
            "date",
            "DATE",
            "t.date",
            "user",
            "value",
            "select",
            "from",
            "null",
            "NULL",
            "true",
            "case",
            "interval",
            "exists",
            "not",
            "current_date",
            "a.b.c",
            "\"a\"",
            "\"a\".\"b\"",
            "\"a b\"",
            "\"a.b\"",
            "\"\"",
            "\"a\"\"b\"",
            "\"a",
            "a\"",
            "`a`",
            "`a`.`b`",
            "``",
            "'a'",
            "'it''s'",
            "'a\\'b'",
            "''",
            "'",
            "'a",
            "a'",
            "'a\nb'",
            "1",
            "0",
            "00",
            "1.5",
            "1e5",
            "-1",
            ".5",
            "123456789012345678901234567890",
            "_x",
            "_",
            "x$",
            "$x",
            "#x",
            "@x",
            "@@x",
            "a..b",
            ".a",
            "a.",
            "1a",
            "a1",
            "a b",
            " a",
            "a ",
            "a\n",
            "a--c",
            "a/*c*/",
            "*",
            "t.*",
            "é",
            "ä.b",
            "a.\"b\"",
            "\"a\".b",
            "x::int",
            "a(b)",
            "[a]",
            "E'a'",
            "N'a'",
            "x'ab'",
            "e",
            "n",
            "x",
            "b",
            "r",
            "u&\"a\"",
            "a.1",
            "a.$1",
            "$1",
            "?",
            "a;",
            ";",
        ];
        let mut plain_texts = 0;
        for d in Dialect::ALL {
            let p = d.parser();
            for t in projects.iter().map(String::as_str).chain(awkward) {
                if plain(p.as_ref(), t) {
                    plain_texts += 1;
                    assert_eq!(parse_one_expr(p.as_ref(), t), Ok(()), "{d}: {t:?}");
                }
            }
            // Table names: names joined by `.` each plain are a table name.
            for t in tables.iter().map(String::as_str).chain(awkward) {
                let sql = format!("SELECT 1 FROM {t}");
                if t.split('.').all(|part| plain_name(p.as_ref(), part)) {
                    assert_eq!(one_query(d, &sql), Ok(()), "{d}: {sql:?}");
                    assert_eq!(table_problem(d, t), None);
                } else {
                    assert_eq!(table_problem(d, t), one_query(d, &sql).err(), "{d}: {t:?}");
                }
            }
            // What is no plain text is parsed, as before.
            for t in [
                "date",
                "select",
                "\"a\"\"b\"",
                "a b",
                "1.5",
                "'it''s'",
                "*",
                "a.",
                "é",
            ] {
                assert!(!plain(p.as_ref(), t), "{d}: {t:?}");
            }
        }
        // The fast path is the common one: most of the projects' fragments take it.
        assert!(
            plain_texts > projects.len() * 7 / 2,
            "{plain_texts} of {}",
            projects.len() * 7
        );
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
