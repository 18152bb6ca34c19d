//! Names of the CTEs a plan makes, so that none shadows a relation the query reads.
//!
//! `WITH claim AS (SELECT ... FROM claim)` is a circular reference on some warehouses, and on
//! others it silently reads the CTE instead of the table. Every CTE name is therefore drawn from
//! one allocator that knows every relation name the project's SQL reads: each part of the qualified
//! table names of semantic models and time spines, and each part of the relations named after
//! `FROM`/`JOIN` in users' `sql:`. Names compare case-insensitively, as unquoted identifiers do.

use crate::model::{Model, Relation, ReservedNames};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::BTreeSet;
use std::sync::Arc;

impl ReservedNames {
    /// What CTE names must avoid in every dialect (users' SQL renders per dialect, and a plan is
    /// the same for all of them), computed once (validation plans every metric) and kept on the
    /// model.
    pub(crate) fn of(model: &Model) -> Arc<ReservedNames> {
        const ALL_DIALECTS: &str = "*";
        if let Some(r) = model.reserved_names_cached(ALL_DIALECTS) {
            return r;
        }
        let mut r = ReservedNames::default();
        // Dialects whose macros render a model's SQL alike are tokenised once.
        let mut read: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (i, sm) in model.semantic_models.iter().enumerate() {
            r.models.insert(sm.name.to_ascii_lowercase());
            match &sm.relation {
                Relation::Table(t) => r.relations.extend(relation_parts(t)),
                Relation::Query(q, _) => {
                    for d in crate::dialect::Dialect::ALL {
                        let sql = match model.render_model_sql(i, d.name()) {
                            Some(Ok(s)) => s,
                            _ => q.clone(),
                        };
                        if !read.contains(&sql) {
                            r.relations.extend(relations_read(&sql));
                            read.insert(sql);
                        }
                    }
                }
            }
        }
        for s in &model.time_spines {
            r.relations.extend(relation_parts(&s.relation));
        }
        let r = Arc::new(r);
        model.cache_reserved_names(ALL_DIALECTS, r.clone());
        r
    }

    /// Whether a relation the query may read is named `name`.
    pub(crate) fn is_relation(&self, name: &str) -> bool {
        self.relations.contains(&name.to_ascii_lowercase())
    }

    /// Whether a semantic model is named `name` (in any case).
    pub(crate) fn is_model(&self, name: &str) -> bool {
        self.models.contains(&name.to_ascii_lowercase())
    }
}

/// The parts of a qualified relation name (`"db"."Schema".claim` -> `db`, `schema`, `claim`),
/// without quotes, lower-cased.
pub(crate) fn relation_parts(name: &str) -> Vec<String> {
    match Tokenizer::new(&GenericDialect {}, name).tokenize() {
        Ok(tokens) => tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w.value.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        Err(_) => words(name),
    }
}

/// Every part of the relations a SQL text reads: the names after `FROM`, `JOIN` and the commas of
/// a FROM list (`FROM a, b`). Unreadable SQL (unrendered Jinja, say) counts every word in it, which
/// can only reserve more names than needed.
pub(crate) fn relations_read(sql: &str) -> BTreeSet<String> {
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

/// Every identifier-like word of a text, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
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
    fn qualified_names_split_into_parts() {
        assert_eq!(
            relation_parts("\"db\".\"Schema\".claim"),
            ["db", "schema", "claim"]
        );
        assert_eq!(relation_parts("claim"), ["claim"]);
    }

    #[test]
    fn unreadable_sql_reserves_every_word() {
        let r = read("select 'unterminated from x");
        assert!(
            r.contains(&"x".to_string()) && r.contains(&"select".to_string()),
            "{r:?}"
        );
    }
}
