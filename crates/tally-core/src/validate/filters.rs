//! Every metric planned on its own, and the filters of metrics the planner does not check here.

use super::{resolve_element, Validator};
use crate::diag::{codes, Diagnostic};
use crate::model::{
    join_path, ElementPath, Filter, FilterRef, Item, MeasureRef, Metric, MetricId, MetricKind,
    MetricRef,
};
use crate::plan::{plan_query, QueryRequest};
use crate::yaml::Spanned;
use std::collections::BTreeSet;

impl<'m> Validator<'m> {
    /// Plan a one-metric query; where the planner cannot plan this kind of metric yet, check the
    /// metric's own filters here.
    pub(super) fn plan_metric(&mut self, id: MetricId, m: &Metric) {
        let req = QueryRequest {
            metrics: vec![Spanned::new(m.span, m.name.clone())],
            ..QueryRequest::default()
        };
        let mut complete = true;
        // Only the problems are wanted: the plan's query is rendered in place, not copied.
        let planned = plan_query(self.model, &req).and_then(|plan| {
            crate::sql::user::render_user_sql_in(self.model, self.dialect, plan.query)
                .map(|_| plan.measures)
        });
        if let (Ok(measures), Some(_)) = (&planned, &self.model.default_dialect) {
            // What the dialect tally.yml declares cannot compute (a percentile kind it lacks).
            for d in crate::sql::unsupported_diagnostics(self.model, self.dialect, measures) {
                self.push(d.at_if_unset(m.span));
            }
        }
        if let Err(ds) = planned {
            for mut d in ds {
                if d.code == codes::UNSUPPORTED {
                    complete = false;
                    continue;
                }
                // Conversion params have their own rule above, with the side named.
                if d.code == codes::CONVERSION_PARAMS {
                    continue;
                }
                if d.code == codes::UNKNOWN_GROUP_BY {
                    d.code = codes::FILTER_REFERENCE;
                }
                if d.help.is_empty() {
                    let help = if d.code == codes::FILTER_REFERENCE {
                        "a filter may use dimensions and entities of the filtered measure's semantic model and of models joined to it by entities".to_string()
                    } else {
                        format!("`{}` cannot be queried until this is fixed", m.name)
                    };
                    d = d.with_help(help);
                }
                self.push(d.at_if_unset(m.span));
            }
        }
        if complete {
            return;
        }
        let own = self.filter_models(id);
        for f in &m.filters {
            self.check_filter(f, &own);
        }
        let refs: Vec<&MeasureRef> = match &m.kind {
            MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => vec![r],
            MetricKind::Conversion {
                base, conversion, ..
            } => vec![base, conversion],
            _ => vec![],
        };
        for r in refs {
            for f in &r.filters {
                self.check_filter(f, &[r.model].into());
            }
        }
        for i in m.input_metrics() {
            let models = self.filter_models(i.metric);
            for f in &i.filters {
                self.check_filter(f, &models);
            }
        }
    }

    /// Check that every reference of a filter, as resolution bound it, is reachable from each of
    /// `models`.
    pub(super) fn check_filter(&mut self, f: &Filter, models: &BTreeSet<usize>) {
        let bound = match (f.template(), &f.bound) {
            (Err(d), _) => {
                self.push(d.clone());
                return;
            }
            (Ok(_), Some(b)) => b,
            (Ok(_), None) => return,
        };
        for r in &bound.refs {
            match r {
                FilterRef::Metric(m) => self.check_metric_ref(m, models, codes::FILTER_REFERENCE),
                FilterRef::Item(Ok(i)) => self.check_item(i, models, codes::FILTER_REFERENCE),
                FilterRef::Item(Err(d)) => self.push(d.clone()),
            }
        }
    }

    /// A `Metric(...)` reference: the metric exists and its group-by items are entities of the
    /// filtered models.
    fn check_metric_ref(&mut self, r: &MetricRef, models: &BTreeSet<usize>, code: &'static str) {
        if r.metric.is_err() {
            self.push(
                Diagnostic::error(code, format!("unknown metric `{}`", r.name))
                    .at(r.span)
                    .with_label("no metric of this name")
                    .with_suggestion(&r.name, self.model.metrics.keys().map(String::as_str))
                    .with_help(
                        "`Metric('name', group_by=['entity'])` filters by a metric of this project",
                    ),
            );
        }
        for (g, item) in r.group_by.iter().zip(&r.items) {
            let reached = item.as_ref().ok().and_then(Item::path).is_some_and(|p| {
                let local = ElementPath {
                    links: Vec::new(),
                    element: p.element,
                };
                models
                    .iter()
                    .any(|&mi| self.resolve_path(mi, &local).is_ok())
            });
            if !reached {
                let span = match item {
                    Ok(i) => i.span,
                    Err(d) => d.span,
                };
                let names = self.reachable_names(models);
                self.push(
                    Diagnostic::error(code, format!("`{g}` in the group_by of `{}` cannot be reached", r.name))
                        .at(span)
                        .with_suggestion(g, names.iter().map(String::as_str))
                        .with_help("a metric filter groups the metric by an entity of the filtered measure's semantic model"),
                );
            }
        }
    }

    /// Check one bound item (from a filter or a group-by item) against the models it applies to.
    pub(super) fn check_item(&mut self, i: &Item, models: &BTreeSet<usize>, code: &'static str) {
        let (Some((links, element)), Some(path)) = (i.element(), i.path()) else {
            return;
        };
        for &mi in models {
            match self.resolve_path(mi, path) {
                Ok(()) => {}
                Err(found) if found.is_empty() => {
                    let name = join_path(links, element);
                    let names = self.reachable_names(&[mi].into());
                    let exists = self.model.is_element(path.element);
                    let mut d = Diagnostic::error(
                        code,
                        format!(
                            "`{name}` cannot be reached from semantic model `{}`",
                            self.model.semantic_models[mi].name
                        ),
                    )
                    .at(i.span)
                    .with_label(if exists {
                        "not reachable through joins"
                    } else {
                        "no dimension or entity of this name"
                    })
                    .with_suggestion(&name, names.iter().map(String::as_str));
                    if links.is_empty() && exists {
                        d = d.with_help("qualify a dimension with the entity it belongs to, e.g. `listing__country`");
                    } else {
                        d = d.with_help("a filter may use dimensions and entities of the filtered measure's semantic model and of models joined to it by entities");
                    }
                    self.push(d);
                }
                Err(found) => {
                    let names: Vec<&str> = found
                        .iter()
                        .map(|&i| self.model.semantic_models[i].name.as_str())
                        .collect();
                    self.push(
                        Diagnostic::error(
                            codes::AMBIGUOUS_JOIN,
                            format!(
                                "`{}` is reachable through several semantic models: {}",
                                join_path(links, element),
                                names.join(", ")
                            ),
                        )
                        .at(i.span)
                        .with_help("qualify it with a longer entity path"),
                    );
                }
            }
        }
    }

    pub(super) fn resolve_path(&self, from: usize, path: &ElementPath) -> Result<(), Vec<usize>> {
        resolve_element(self.model, from, path).map(|_| ())
    }

    /// The names a user can query from some of `models`, for suggestions (the planner's list:
    /// [`crate::plan::queryable_names`]).
    pub(super) fn reachable_names(&self, from: &BTreeSet<usize>) -> Vec<String> {
        crate::plan::queryable_names(self.model, from.iter().copied())
    }

    // ----- saved queries -----------------------------------------------------------------------
}

#[cfg(test)]
mod tests {
    use super::Validator;
    use crate::dialect::Dialect;
    use crate::load::LoadOptions;
    use crate::model::{bind_item, Model};
    use crate::plan::{find_path, PlanCtx};
    use crate::source::Span;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn manifest(name: &str) -> Model {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/metricflow/manifests")
            .join(name);
        let opts = LoadOptions {
            source_schema: Some("mf_src".into()),
            ..LoadOptions::default()
        };
        let templates = crate::jinja::Templates::new(tally_templates::BASE);
        crate::pipeline::load_model(&dir, &opts, &templates).0
    }

    /// Validation's "did you mean" offers what the planner's does: the names a user can query
    /// (two joins deep), each of which the join-path search reaches; over several models, the
    /// names of each.
    #[test]
    fn validation_and_the_planner_suggest_the_names_a_user_can_query() {
        for project in ["simple_manifest", "multi_hop_join_manifest", "scd_manifest"] {
            let model = manifest(project);
            let v = Validator {
                model: &model,
                dialect: Dialect::DuckDb,
                diags: Vec::new(),
            };
            let cx = PlanCtx { model: &model };
            let n = model.semantic_models.len();
            let mut union = Vec::new();
            for mi in 0..n {
                let names = v.reachable_names(&[mi].into());
                assert_eq!(names, cx.reachable_names(mi), "{project}");
                for name in names.iter().filter(|n| *n != "metric_time") {
                    let r = crate::expr::parse_group_by(name, Span::DUMMY).expect("parses");
                    let item = bind_item(&model, &r).expect("binds");
                    let path = item.path().expect("an element");
                    assert!(
                        find_path(&model, mi, path).is_ok(),
                        "{project}: `{name}` is suggested from `{}` but does not resolve",
                        model.semantic_models[mi].name
                    );
                }
                union.extend(names);
            }
            union.sort();
            union.dedup();
            let all: BTreeSet<usize> = (0..n).collect();
            assert_eq!(v.reachable_names(&all), union, "{project}");
            assert_eq!(v.reachable_names(&BTreeSet::new()), ["metric_time"]);
        }
        // Two joins deep: a name the one-join list of validation used to leave out.
        let model = manifest("multi_hop_join_manifest");
        let all: BTreeSet<usize> = (0..model.semantic_models.len()).collect();
        let v = Validator {
            model: &model,
            dialect: Dialect::DuckDb,
            diags: Vec::new(),
        };
        assert!(v
            .reachable_names(&all)
            .iter()
            .any(|n| n.matches("__").count() == 2));
    }
}
