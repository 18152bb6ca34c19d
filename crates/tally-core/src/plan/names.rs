//! Names of the CTEs a plan makes, so that none shadows a relation the query reads.
//!
//! `WITH claim AS (SELECT ... FROM claim)` is a circular reference on some warehouses, and on
//! others it silently reads the CTE instead of the table. Every CTE name is therefore drawn from
//! one allocator that avoids the relation names the query reads: each part of the qualified table
//! names its SQL reads (semantic models, time spines, calendars' clocks), each part of the relations
//! named after `FROM`/`JOIN` in the `sql:` of the semantic models it reads (as every dialect renders
//! it, so that the plan is the same for all) and in users' expressions. Names compare
//! case-insensitively, as unquoted identifiers do.
//!
//! Which relations a query reads is known once it is planned, so [`super::plan_query`] plans with
//! the names known so far (at first the tables of the table-backed semantic models, from the
//! model's index: no rendering needed) and, when a CTE turned out to take the name of a
//! relation the plan reads ([`shadowed`]), plans again with those names reserved: the relations a
//! plan reads do not depend on its CTE names, so the second plan reads the same and takes none of
//! them. A `sql:` relation's names are computed the first time a plan reads it (rendered for every
//! dialect and tokenised) and kept on the model: a query pays for the models it reads, not for the
//! project's.

use crate::model::{Model, Relation};
use crate::sql::{Expr, Query, Select, SqlPart, TableRef};
use crate::text::{relation_parts, words};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Names a plan's CTEs must not take, lower-cased.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReservedNames {
    /// Parts of relation names the query reads.
    relations: Arc<BTreeSet<String>>,
    /// Semantic model names: their scans keep their names when they can.
    models: Arc<HashSet<String>>,
}

impl ReservedNames {
    /// The semantic models' names and the relations `relations` (lower-cased parts).
    pub(crate) fn new(model: &Model, relations: Arc<BTreeSet<String>>) -> ReservedNames {
        ReservedNames {
            relations,
            models: model.model_names_lowercase(),
        }
    }

    /// Every relation the project may read: each semantic model's (as [`shadowed`] collects a
    /// plan's) and each time spine's. The planner's last resort (see [`super::plan_query`]).
    pub(crate) fn whole_project(model: &Model) -> ReservedNames {
        let mut reads = Reads::default();
        for i in 0..model.semantic_models.len() {
            reads.model(model, i, false);
            if model.semantic_models[i].business.is_some() {
                reads.model(model, i, true);
            }
        }
        for s in &model.time_spines {
            reads.table(&s.relation);
        }
        ReservedNames::new(model, Arc::new(reads.union()))
    }

    /// Whether a relation the query may read is named `name`.
    pub(crate) fn is_relation(&self, name: &str) -> bool {
        self.relations.contains(&name.to_ascii_lowercase())
    }

    /// Whether a semantic model is named `name` (in any case).
    pub(crate) fn is_model(&self, name: &str) -> bool {
        self.models.contains(&name.to_ascii_lowercase())
    }

    /// The relation names reserved.
    pub(crate) fn relations(&self) -> &BTreeSet<String> {
        &self.relations
    }
}

/// When a CTE of `q` takes the name of a relation `q` reads that `reserved` did not hold: the
/// names to reserve in the next plan (`reserved`'s and every one `q` reads). `None` when no CTE
/// shadows a relation.
pub(crate) fn shadowed(
    model: &Model,
    q: &Query,
    reserved: &BTreeSet<String>,
) -> Option<BTreeSet<String>> {
    let mut reads = Reads::default();
    for c in &q.ctes {
        reads.select(model, &c.select);
    }
    reads.select(model, &q.body);
    let clash = q.ctes.iter().any(|c| {
        let n = c.name.to_ascii_lowercase();
        !reserved.contains(&n) && reads.contains(&n)
    });
    clash.then(|| {
        let mut all = reads.union();
        all.extend(reserved.iter().cloned());
        all
    })
}

/// The relation names a plan reads, gathered without copying the cached sets.
#[derive(Default)]
struct Reads {
    /// `sql:` relations' names (cached on the model).
    cached: Vec<Arc<BTreeSet<String>>>,
    /// Table names' parts and the relations users' expressions read.
    own: BTreeSet<String>,
    /// The `sql:` relations gathered already: (semantic model, business).
    seen: HashSet<(usize, bool)>,
}

impl Reads {
    fn contains(&self, name: &str) -> bool {
        self.own.contains(name) || self.cached.iter().any(|s| s.contains(name))
    }

    fn union(self) -> BTreeSet<String> {
        let mut out = self.own;
        for s in self.cached {
            out.extend(s.iter().cloned());
        }
        out
    }

    fn table(&mut self, name: &str) {
        self.own.extend(relation_parts(name));
    }

    /// The relation of semantic model `sm` (with its business durations when `business`).
    fn model(&mut self, model: &Model, sm: usize, business: bool) {
        if !self.seen.insert((sm, business)) {
            return;
        }
        let Some(m) = model.semantic_models.get(sm) else {
            return;
        };
        let relation = match (&m.business, business) {
            (Some(b), true) => {
                // The clock's relations, which the SQL stage may write in place of its rows.
                for c in &b.clocks {
                    self.table(&crate::calendar::duration::clock_relation(&c.calendar));
                }
                &b.relation
            }
            _ => &m.relation,
        };
        match relation {
            Relation::Table(t) => self.table(t),
            Relation::Query(q, _) => self.cached.push(query_reads(model, sm, business, q)),
        }
    }

    fn from(&mut self, model: &Model, t: &TableRef) {
        match t {
            TableRef::Table { name, .. } => self.table(name),
            TableRef::Subquery {
                model: sm,
                business,
                ..
            } => self.model(model, *sm, *business),
            TableRef::Cte { .. } => {}
        }
    }

    fn select(&mut self, model: &Model, s: &Select) {
        if let Some(t) = &s.from {
            self.from(model, t);
        }
        for j in &s.joins {
            self.from(model, &j.table);
            j.on.iter().for_each(|e| self.expr(e));
        }
        s.columns.iter().for_each(|c| self.expr(&c.expr));
        s.where_.iter().for_each(|e| self.expr(e));
        s.group_by.iter().for_each(|e| self.expr(e));
        s.union.iter().for_each(|u| self.select(model, u));
    }

    /// Users' expressions may hold sub-queries (`(SELECT max(x) FROM t)`): what they read counts.
    fn expr(&mut self, e: &Expr) {
        user_texts(e, &mut |text| {
            let lower = text.to_ascii_lowercase();
            if lower.contains("from") || lower.contains("join") {
                self.own.extend(relations_read(text));
            }
        });
    }
}

/// Call `f` on every text of users' SQL in `e` (expressions, filters and formulas as spliced).
fn user_texts(e: &Expr, f: &mut impl FnMut(&str)) {
    match e {
        Expr::UserSql { text, .. } => f(text),
        Expr::Splice(parts) => {
            for p in parts {
                match p {
                    SqlPart::Text(t) => f(t),
                    SqlPart::Expr(x) => user_texts(x, f),
                }
            }
        }
        _ => e.for_each_child(|x| user_texts(x, f)),
    }
}

/// The relation names a `sql:` relation reads as any dialect renders it (an unrenderable text
/// counts as written), computed once per relation and kept on the model.
fn query_reads(model: &Model, sm: usize, business: bool, text: &str) -> Arc<BTreeSet<String>> {
    let key = (sm, business);
    if let Some(r) = model.relation_reads_cached(key, text) {
        return r;
    }
    let mut out = BTreeSet::new();
    // Dialects whose macros render the SQL alike are tokenised once.
    let mut done: HashSet<String> = HashSet::new();
    // With every business duration: a relation with some of them reads the same relations.
    let all = model.semantic_models[sm].business.as_ref().map(|b| b.all());
    let durations = all.as_deref().filter(|_| business);
    for d in crate::dialect::Dialect::ALL {
        let sql = match model.render_relation_sql(sm, durations, d.name()) {
            Some(Ok(s)) => s,
            _ => text.to_string(),
        };
        if !done.contains(&sql) {
            out.extend(relations_read(&sql));
            done.insert(sql);
        }
    }
    let out = Arc::new(out);
    model.cache_relation_reads(key, text, out.clone());
    out
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

    /// MetricFlow's bike-rental example: models read tables named like themselves. The tables of
    /// table-backed models are reserved from the first plan on, so that plan is kept, and it is
    /// the plan the planner made before on its second pass (plan, find the shadowed table, plan
    /// again reserving what the first plan read).
    #[test]
    fn a_model_reading_a_table_named_like_itself_is_planned_once_as_before() {
        let yaml = "semantic_models:
  - name: rentals
    node_relation: {schema_name: main, alias: rentals}
    defaults: {agg_time_dimension: rented_at}
    entities: [{name: rental, type: primary, expr: id}, {name: station, type: foreign, expr: station_id}]
    dimensions: [{name: rented_at, type: time, type_params: {time_granularity: day}}]
    measures: [{name: rentals, agg: count, expr: id}, {name: revenue, agg: sum, expr: price}]
  - name: stations
    node_relation: {schema_name: main, alias: stations}
    entities: [{name: station, type: primary, expr: id}]
    dimensions: [{name: city, type: categorical}]
metrics:
  - {name: rentals, type: simple, type_params: {measure: rentals}}
  - {name: revenue, type: simple, type_params: {measure: revenue}}
  - {name: revenue_per_rental, type: ratio, type_params: {numerator: revenue, denominator: rentals}}
";
        let (spec, _) = crate::load::load_files(&[("m.yml", yaml)], None, &Default::default());
        let (model, diags) =
            crate::model::spec_to_model(spec, &crate::jinja::Templates::new(tally_templates::BASE));
        assert!(!diags.iter().any(|d| d.is_error()), "{diags:#?}");
        let req = crate::plan::QueryRequest::of(
            &["rentals", "revenue", "revenue_per_rental"],
            &["metric_time__month", "station__city"],
            &[] as &[&str],
        );
        let seeded = ReservedNames::new(&model, model.table_relation_parts());
        assert!(seeded.is_relation("rentals") && seeded.is_relation("MAIN"));
        let first = super::super::plan_with(&model, &req, seeded.clone()).expect("plans");
        assert!(shadowed(&model, &first.query, seeded.relations()).is_none());
        // The former way: no names reserved, a shadowed table found, planned again.
        let none = ReservedNames::new(&model, Default::default());
        let unseeded = super::super::plan_with(&model, &req, none.clone()).expect("plans");
        let more =
            shadowed(&model, &unseeded.query, none.relations()).expect("a scan named `rentals`");
        let before =
            super::super::plan_with(&model, &req, ReservedNames::new(&model, Arc::new(more)))
                .expect("plans");
        assert_eq!(first.query, before.query);
        let now = crate::plan::plan_query(&model, &req).expect("plans");
        assert_eq!(now.query, before.query);
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
