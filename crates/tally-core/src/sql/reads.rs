//! The relations a dialect's SQL reads, so that no CTE name shadows one.
//!
//! The plan's CTE names avoid every relation it reads that is known without a dialect (tables,
//! time spines, clocks, users' expressions: `plan::names`). The `sql:` of a semantic model is
//! Jinja whose macros differ by dialect, so the relations it reads are known once it is rendered
//! for one: [`shadowed`] tells the SQL stage when a CTE of the plan took the name of one of them
//! in the dialect being rendered (then the query is planned again with those names reserved:
//! `query::compile`). Only that dialect's rendering is read, and a rendering is tokenised only
//! when a CTE name occurs in its text at all.

use super::{Expr, Query, Select, SqlPart, TableRef};
use crate::dialect::Dialect;
use crate::model::{Model, Relation};
use crate::text::words;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::BTreeSet;
use std::sync::Arc;

/// When a CTE of `q` (a plan's query) takes the name of a relation that the SQL `d` writes for it
/// reads beyond what the plan avoided: the relations its `sql:` models read as `d` renders them,
/// and those of users' expressions as rendered (`rendered`: `q` with users' SQL rendered for `d`,
/// `sql::user`). Then every such name (lower-cased), to reserve in the next plan; `None` when no
/// CTE shadows one.
pub fn shadowed(
    model: &Model,
    d: Dialect,
    q: &Query,
    rendered: &Query,
) -> Option<BTreeSet<String>> {
    let mut sql = Vec::new();
    for c in &q.ctes {
        sql_relations(&c.select, &mut sql);
    }
    sql_relations(&q.body, &mut sql);
    // Users' expressions as written were avoided by the plan; only a macro's rendering can read
    // more, so the rendered texts are read only when some text of `q` holds Jinja.
    let mut exprs = BTreeSet::new();
    if q.ctes.iter().any(|c| has_jinja(&c.select)) || has_jinja(&q.body) {
        for c in &rendered.ctes {
            user_reads(&c.select, &mut exprs);
        }
        user_reads(&rendered.body, &mut exprs);
    }
    if sql.is_empty() && exprs.is_empty() {
        return None;
    }
    let names: Vec<String> = q.ctes.iter().map(|c| c.name.to_ascii_lowercase()).collect();
    let clash = names.iter().any(|n| exprs.contains(n))
        || sql.iter().any(|&(sm, business)| {
            let text = rendered_relation(model, d, sm, business);
            may_read(&text, &names) && {
                let reads = relation_reads(model, d, sm, business, &text);
                names.iter().any(|n| reads.contains(n))
            }
        });
    clash.then(|| {
        let mut all = exprs;
        for (sm, business) in sql {
            let text = rendered_relation(model, d, sm, business);
            all.extend(
                relation_reads(model, d, sm, business, &text)
                    .iter()
                    .cloned(),
            );
        }
        all
    })
}

/// The relations users' expressions in `s` read, as rendered: an expression may hold a
/// sub-query (`(SELECT max(x) FROM t)`), which its macros may write.
fn user_reads(s: &Select, out: &mut BTreeSet<String>) {
    let mut expr = |e: &Expr| user_sql_reads(e, out);
    s.columns.iter().for_each(|c| expr(&c.expr));
    s.joins.iter().flat_map(|j| &j.on).for_each(&mut expr);
    s.where_.iter().for_each(&mut expr);
    s.group_by.iter().for_each(&mut expr);
    s.order_by.iter().for_each(|(e, _)| expr(e));
    s.union.iter().for_each(|u| user_reads(u, out));
}

/// Whether a text of users' SQL in `s` holds Jinja (`{{`, `{%` or `{#`; any `{` is taken as one).
fn has_jinja(s: &Select) -> bool {
    let mut found = false;
    let mut expr = |e: &Expr| found = found || expr_has_jinja(e);
    s.columns.iter().for_each(|c| expr(&c.expr));
    s.joins.iter().flat_map(|j| &j.on).for_each(&mut expr);
    s.where_.iter().for_each(&mut expr);
    s.group_by.iter().for_each(&mut expr);
    s.order_by.iter().for_each(|(e, _)| expr(e));
    found || s.union.iter().any(has_jinja)
}

fn expr_has_jinja(e: &Expr) -> bool {
    match e {
        Expr::UserSql { text, .. } => text.contains('{'),
        Expr::Splice(parts) => parts.iter().any(|p| match p {
            SqlPart::Text(t) => t.contains('{'),
            SqlPart::Expr(x) => expr_has_jinja(x),
        }),
        _ => {
            let mut found = false;
            e.for_each_child(|x| found = found || expr_has_jinja(x));
            found
        }
    }
}

fn user_sql_reads(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::UserSql { text, .. } => text_reads(text, out),
        Expr::Splice(parts) => {
            for p in parts {
                match p {
                    SqlPart::Text(t) => text_reads(t, out),
                    SqlPart::Expr(x) => user_sql_reads(x, out),
                }
            }
        }
        _ => e.for_each_child(|x| user_sql_reads(x, out)),
    }
}

/// The relations a text of users' SQL reads, when it has a `FROM` or a `JOIN` at all.
fn text_reads(t: &str, out: &mut BTreeSet<String>) {
    let has = |word: &[u8]| {
        t.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    if has(b"from") || has(b"join") {
        out.extend(relations_read(t));
    }
}

/// Every relation name the `sql:` relations of the project read as `d` renders them (with and
/// without business durations): the last resort of `query::compile`.
pub fn every_sql_relation(model: &Model, d: Dialect) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (sm, m) in model.semantic_models.iter().enumerate() {
        let mut add = |business: bool, relation: &Relation| {
            if let Relation::Query(..) = relation {
                let text = rendered_relation(model, d, sm, business);
                all.extend(
                    relation_reads(model, d, sm, business, &text)
                        .iter()
                        .cloned(),
                );
            }
        };
        add(false, &m.relation);
        if let Some(b) = &m.business {
            add(true, b.relation());
        }
    }
    all
}

/// The `sql:` relations `s` reads: (semantic model, with business durations).
fn sql_relations(s: &Select, out: &mut Vec<(usize, bool)>) {
    let tables = s.from.iter().chain(s.joins.iter().map(|j| &j.table));
    for t in tables {
        if let TableRef::Subquery {
            model, business, ..
        } = t
        {
            if !out.contains(&(*model, *business)) {
                out.push((*model, *business));
            }
        }
    }
    s.union.iter().for_each(|u| sql_relations(u, out));
}

/// The relation's SQL as `d` renders it (cached on the model); an unrenderable text counts as
/// written (the rendering error is reported by the SQL stage).
fn rendered_relation(model: &Model, d: Dialect, sm: usize, business: bool) -> Arc<str> {
    // With every business duration: a relation with some of them reads no other relation.
    let all = model
        .semantic_models
        .get(sm)
        .and_then(|m| m.business.as_ref())
        .map(|b| b.all());
    let durations = all.as_deref().filter(|_| business);
    match model.render_relation_sql(sm, durations, d.name()) {
        Some(Ok(s)) => s,
        _ => Arc::from(relation_text(model, sm, business)),
    }
}

fn relation_text(model: &Model, sm: usize, business: bool) -> String {
    let Some(m) = model.semantic_models.get(sm) else {
        return String::new();
    };
    let relation = match (&m.business, business) {
        (Some(b), true) => b.relation(),
        _ => &m.relation,
    };
    match relation {
        Relation::Query(q, _) => q.to_string(),
        Relation::Table(t) => t.clone(),
    }
}

/// Whether `text` may read a relation named like one of `names` (lower-cased): `false` only when
/// no name occurs in it, in any case. A relation part that [`relations_read`] finds is a run of
/// the text's characters (an unquoted word, the inside of a quoted identifier, or a word of
/// unreadable SQL), except a quoted identifier with a doubled quote in it, which holds a quote
/// character; so a name of letters, digits and underscores that occurs nowhere in the text is read
/// by none of its relations. Other names are always looked up.
fn may_read(text: &str, names: &[String]) -> bool {
    let plain = |n: &String| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !names.iter().all(plain) {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    names.iter().any(|n| lower.contains(n.as_str()))
}

/// The relation names a `sql:` relation reads as `d` renders it (`text`), computed once per
/// relation and dialect and kept on the model.
fn relation_reads(
    model: &Model,
    d: Dialect,
    sm: usize,
    business: bool,
    text: &str,
) -> Arc<BTreeSet<String>> {
    let key = (sm, business, d.name());
    if let Some(r) = model.relation_reads_cached(key, text) {
        return r;
    }
    let out = Arc::new(relations_read(text));
    model.cache_relation_reads(key, text, out.clone());
    out
}

/// Every part of the relations a SQL text reads: the names after `FROM`, `JOIN` and the commas of
/// a FROM list (`FROM a, b`). Unreadable SQL (unrendered Jinja, say) counts every word in it, which
/// can only reserve more names than needed.
pub fn relations_read(sql: &str) -> BTreeSet<String> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return words(sql).into_iter().collect();
    };
    let tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut out = BTreeSet::new();
    let mut depth = 0usize;
    // Depths at which a FROM list is open (a comma there starts another relation).
    let mut from_lists: Vec<usize> = Vec::new();
    let mut expect = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::LParen => {
                depth += 1;
                expect = false;
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                while from_lists.last().is_some_and(|d| *d > depth) {
                    from_lists.pop();
                }
                expect = false;
            }
            Token::Comma => expect = from_lists.last() == Some(&depth),
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::FROM | Keyword::JOIN) =>
            {
                expect = true;
                if from_lists.last() != Some(&depth) {
                    from_lists.push(depth);
                }
            }
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::LATERAL | Keyword::ONLY)
                    && expect => {}
            Token::Word(w) if expect => {
                out.insert(w.value.to_ascii_lowercase());
                // The rest of a qualified name.
                while i + 2 < tokens.len() && tokens[i + 1] == Token::Period {
                    if let Token::Word(part) = &tokens[i + 2] {
                        out.insert(part.value.to_ascii_lowercase());
                    }
                    i += 2;
                }
                expect = false;
            }
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(
                        w.keyword,
                        Keyword::WHERE
                            | Keyword::GROUP
                            | Keyword::HAVING
                            | Keyword::ORDER
                            | Keyword::LIMIT
                            | Keyword::UNION
                            | Keyword::EXCEPT
                            | Keyword::INTERSECT
                            | Keyword::QUALIFY
                            | Keyword::WINDOW
                            | Keyword::SELECT
                    ) =>
            {
                if from_lists.last() == Some(&depth) {
                    from_lists.pop();
                }
                expect = false;
            }
            _ => expect = false,
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> Vec<String> {
        relations_read(sql).into_iter().collect()
    }

    #[test]
    fn relations_after_from_join_and_commas_with_every_part() {
        assert_eq!(
            read("select a.x from main.Claim a join \"Raw\".policy p on a.id = p.id, other o where 1 = 1"),
            ["claim", "main", "other", "policy", "raw"]
        );
        // A subquery's relations count; its alias and the columns do not.
        assert_eq!(
            read("SELECT c.id FROM (SELECT id FROM claims_raw) AS c, LATERAL unnest(xs) u"),
            ["claims_raw", "unnest"]
        );
        // A FROM list ends at WHERE; later commas are not relations.
        assert_eq!(read("select x from t where f(a, b) > 0"), ["t"]);
        // With a CTE of the user's own.
        assert_eq!(
            read("with c as (select * from src.claim) select * from c left join d using (k)"),
            ["c", "claim", "d", "src"]
        );
    }

    #[test]
    fn unreadable_sql_reserves_every_word() {
        let r = read("select 'unterminated from x");
        assert!(
            r.contains(&"x".to_string()) && r.contains(&"select".to_string()),
            "{r:?}"
        );
    }

    /// The substring test never says "no" for a text that reads one of the names: every name
    /// `relations_read` finds, in any case, quoted or not, is found by `may_read`.
    #[test]
    fn the_substring_test_finds_every_relation_read() {
        let texts = [
            "select a.x from main.Claim a join \"Raw\".POLICY p on a.id = p.id, other o",
            "SELECT * FROM `proj`.`ds`.`Claim_2` AS c",
            "select * from [dbo].[Claims]",
            "with c as (select * from src.claim) select * from c left join d using (k)",
            "select 'unterminated from x",
            "select * from \"we\"\"ird\"",
        ];
        for text in texts {
            for name in relations_read(text) {
                assert!(
                    may_read(text, std::slice::from_ref(&name)),
                    "{name} in {text}"
                );
            }
            assert!(!may_read(text, &["absent_name".to_string()]), "{text}");
        }
        // A name that is not letters, digits and underscores is always looked up.
        assert!(may_read("select 1", &["we\"ird".to_string()]));
    }
}
