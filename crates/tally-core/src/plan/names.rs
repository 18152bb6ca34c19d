//! Names of the CTEs a plan makes, so that none shadows a relation the query reads.
//!
//! `WITH claim AS (SELECT ... FROM claim)` is a circular reference on some warehouses, and on
//! others it silently reads the CTE instead of the table. Every CTE name is therefore drawn from
//! one allocator that avoids the relation names the query reads, case-insensitively, as unquoted
//! identifiers compare. The plan knows no dialect, so here it avoids what it reads whatever the
//! dialect: each part of the qualified table names its SQL reads (semantic models, time spines,
//! calendars' clocks) and the relations named after `FROM`/`JOIN` in users' expressions. The
//! `sql:` of a semantic model is Jinja whose macros differ by dialect: the relations it reads are
//! those of the one dialect the SQL stage renders, checked there (`sql::reads`), which plans the
//! query again with them reserved ([`super::plan_query_avoiding`]) when a CTE took one.
//!
//! Which relations a query reads is known once it is planned, so [`super::plan_query`] plans with
//! the names known so far (at first the tables of the table-backed semantic models, from the
//! model's index) and, when a CTE turned out to take the name of a relation the plan reads
//! ([`shadowed`]), plans again with those names reserved: the relations a plan reads do not
//! depend on its CTE names, so the second plan reads the same and takes none of them.

use crate::model::{Model, Relation};
use crate::sql::reads::relations_read;
use crate::sql::{Expr, Query, Select, SqlPart, TableRef};
use crate::text::relation_parts;
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

    /// Every relation the project may read whatever the dialect: each semantic model's (as
    /// [`shadowed`] collects a plan's) and each time spine's, and `extra`. The planner's last
    /// resort (see [`super::plan_query_avoiding`]).
    pub(crate) fn whole_project(model: &Model, extra: &BTreeSet<String>) -> ReservedNames {
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
        let mut all = reads.own;
        all.extend(extra.iter().cloned());
        ReservedNames::new(model, Arc::new(all))
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
        !reserved.contains(&n) && reads.own.contains(&n)
    });
    clash.then(|| {
        let mut all = reads.own;
        all.extend(reserved.iter().cloned());
        all
    })
}

/// The relation names a plan reads whatever the dialect.
#[derive(Default)]
struct Reads {
    /// Table names' parts and the relations users' expressions read.
    own: BTreeSet<String>,
    /// The semantic models' relations gathered already: (semantic model, business).
    seen: HashSet<(usize, bool)>,
}

impl Reads {
    fn table(&mut self, name: &str) {
        self.own.extend(relation_parts(name));
    }

    /// The relation of semantic model `sm` (with its business durations when `business`); a
    /// `sql:` relation's own reads depend on the dialect (`sql::reads`).
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
                for c in b.clock_calendars() {
                    self.table(&crate::calendar::duration::clock_relation(c));
                }
                b.relation()
            }
            _ => &m.relation,
        };
        if let Relation::Table(t) = relation {
            self.table(t);
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The CTE names of a statement of generated SQL, lower-cased.
    fn cte_names(d: crate::dialect::Dialect, sql: &str) -> Vec<String> {
        use sqlparser::ast::Statement;
        let statements =
            sqlparser::parser::Parser::parse_sql(d.parser().as_ref(), sql).expect("parses");
        let Some(Statement::Query(q)) = statements.first() else {
            panic!("not a query: {sql}");
        };
        q.with
            .iter()
            .flat_map(|w| &w.cte_tables)
            .map(|c| c.alias.name.value.to_ascii_lowercase())
            .collect()
    }

    /// A `sql:` model whose macro reads a relation named like the model in one dialect only (any
    /// one: plan code names none). The plan, the same for every dialect, names the model's scan
    /// after the model; that dialect's SQL names it `claim_2`, the other dialects' keep `claim`;
    /// in no dialect does a CTE take the name of a relation that dialect's SQL reads.
    #[test]
    fn a_relation_only_one_dialect_reads_renames_the_cte_in_that_dialect_only() {
        use crate::dialect::Dialect;
        let yaml = "semantic_models:
  - name: claim
    sql: \"select c.claim_id, c.amount, c.claim_date from {{ claims_source() }} as c\"
    defaults: {agg_time_dimension: claim_date}
    entities: [{name: claim_identifier, type: primary, expr: claim_id}]
    dimensions: [{name: claim_date, type: time, type_params: {time_granularity: day}}]
    measures: [{name: claim_amount, agg: sum, expr: amount}]
metrics:
  - {name: claim_amount, type: simple, type_params: {measure: claim_amount}}
";
        let base = format!(
            "{}\n{{% macro claims_source() %}}raw.claims{{% endmacro %}}",
            tally_templates::BASE
        );
        // A dialect other than the default one (the project's).
        let only = Dialect::ALL[Dialect::ALL.len() - 1];
        let templates = crate::jinja::Templates::new(&base).with_dialect(
            only.name(),
            "{% macro claims_source() %}raw.claim{% endmacro %}",
        );
        let (spec, _) = crate::load::load_files(&[("m.yml", yaml)], None, &Default::default());
        let (model, diags) = crate::model::spec_to_model(spec, &templates);
        assert!(!diags.iter().any(|d| d.is_error()), "{diags:#?}");
        let req = crate::plan::QueryRequest::of(
            &["claim_amount"],
            &["metric_time__month"],
            &[] as &[&str],
        );
        let plan = crate::plan::plan_query(&model, &req).expect("plans");
        assert_eq!(plan.query.ctes[0].name, "claim");
        for d in Dialect::ALL {
            let compiled = crate::query::compile(&model, d, &req).expect("compiles");
            // `tally sql --stage plan` prints the same plan for every dialect.
            assert_eq!(compiled.plan.query, plan.query, "{d}");
            let ctes = cte_names(d, &compiled.sql);
            let rendered = model
                .render_relation_sql(0, None, d.name())
                .expect("a sql: model")
                .expect("renders");
            let reads = crate::sql::reads::relations_read(&rendered);
            assert!(
                ctes.iter().all(|c| !reads.contains(c)),
                "{d}: {ctes:?} {reads:?}"
            );
            if d == only {
                assert!(reads.contains("claim"), "{reads:?}");
                assert_eq!(ctes[0], "claim_2", "{}", compiled.sql);
                assert!(
                    compiled.sql.contains("from raw.claim as c"),
                    "{}",
                    compiled.sql
                );
            } else {
                assert_eq!(ctes[0], "claim", "{d}: {}", compiled.sql);
                assert!(
                    compiled.sql.contains("from raw.claims as c"),
                    "{}",
                    compiled.sql
                );
            }
            // The renamed CTE is read under its new name: only the names differ.
            assert_eq!(ctes.len(), plan.query.ctes.len(), "{d}");
        }
    }

    /// A `sql:` model reading a table named like itself in every dialect (the claims project's
    /// `policy`): every dialect's SQL renames the scan, as the plan does not.
    #[test]
    fn a_relation_every_dialect_reads_renames_the_cte_in_every_dialect() {
        use crate::dialect::Dialect;
        let yaml = "semantic_models:
  - name: policy
    sql: \"select p.policy_id, p.policy_number from main.POLICY as p\"
    entities: [{name: policy, type: primary, expr: policy_id}]
    dimensions: [{name: policy_number, type: categorical}]
";
        let (spec, _) = crate::load::load_files(&[("m.yml", yaml)], None, &Default::default());
        let (model, diags) =
            crate::model::spec_to_model(spec, &crate::jinja::Templates::new(tally_templates::BASE));
        assert!(!diags.iter().any(|d| d.is_error()), "{diags:#?}");
        let req = crate::plan::QueryRequest::of(
            &[] as &[&str],
            &["policy__policy_number"],
            &[] as &[&str],
        );
        for d in Dialect::ALL {
            let compiled = crate::query::compile(&model, d, &req).expect("compiles");
            assert_eq!(compiled.plan.query.ctes[0].name, "policy");
            assert_eq!(
                cte_names(d, &compiled.sql),
                ["policy_2"],
                "{d}: {}",
                compiled.sql
            );
        }
    }
}
