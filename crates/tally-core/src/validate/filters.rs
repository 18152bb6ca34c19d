//! Every metric planned on its own, and the filters of metrics the planner does not check here.

use super::{reference_path, resolve_element, Target, Validator};
use crate::diag::{codes, Diagnostic};
use crate::expr::{self, RefKind, Reference};
use crate::model::{Filter, MeasureRef, Metric, MetricKind};
use crate::plan::{plan_query, QueryRequest};
use crate::spec::EntityType;
use crate::time::{Grain, TimeGrain};
use crate::yaml::Spanned;
use std::collections::BTreeSet;

impl<'m> Validator<'m> {
    /// Plan a one-metric query; where the planner cannot plan this kind of metric yet, check the
    /// metric's own filters here.
    pub(super) fn plan_metric(&mut self, m: &Metric) {
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
        let own = self.filter_models(&m.name);
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
            let models = self.filter_models(&i.name);
            for f in &i.filters {
                self.check_filter(f, &models);
            }
        }
    }

    /// Check that every reference of a (parsed) filter is reachable from each of `models`.
    pub(super) fn check_filter(&mut self, f: &Filter, models: &BTreeSet<usize>) {
        let template = match &f.parsed {
            Ok(t) => t,
            Err(d) => {
                self.push(d.clone());
                return;
            }
        };
        for r in template.references() {
            self.check_reference(r, models, codes::FILTER_REFERENCE);
        }
    }

    /// Check one reference (from a filter or a group-by item) against the models it applies to.
    pub(super) fn check_reference(
        &mut self,
        r: &Reference,
        models: &BTreeSet<usize>,
        code: &'static str,
    ) {
        if r.kind == RefKind::Metric {
            if self.model.metric(&r.name).is_none() {
                self.push(
                    Diagnostic::error(code, format!("unknown metric `{}`", r.name))
                        .at(r.span)
                        .with_label("no metric of this name")
                        .with_suggestion(&r.name, self.model.metrics.keys().map(String::as_str))
                        .with_help("`Metric('name', group_by=['entity'])` filters by a metric of this project"),
                );
            }
            for (g, item) in r.group_by.iter().zip(&r.group_by_items) {
                let last = expr::split_dunder(g).pop().unwrap_or_default();
                if !models
                    .iter()
                    .any(|&mi| self.resolve_path(mi, &[], &last).is_ok())
                {
                    let names = self.reachable_names(models);
                    self.push(
                        Diagnostic::error(code, format!("`{g}` in the group_by of `{}` cannot be reached", r.name))
                            .at(item.span)
                            .with_suggestion(g, names.iter().map(String::as_str))
                            .with_help("a metric filter groups the metric by an entity of the filtered measure's semantic model"),
                    );
                }
            }
            return;
        }
        let Some(t) = self.target_of(r) else { return };
        if t.metric_time {
            return;
        }
        for &mi in models {
            match self.resolve_path(mi, &t.links, &t.element) {
                Ok(()) => {}
                Err(found) if found.is_empty() => {
                    let name = t
                        .links
                        .iter()
                        .chain([&t.element])
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("__");
                    let names = self.reachable_names(&[mi].into());
                    let exists = self.model.semantic_models.iter().any(|s| {
                        s.dimension(&t.element).is_some() || s.entity(&t.element).is_some()
                    });
                    let mut d = Diagnostic::error(
                        code,
                        format!(
                            "`{name}` cannot be reached from semantic model `{}`",
                            self.model.semantic_models[mi].name
                        ),
                    )
                    .at(r.span)
                    .with_label(if exists {
                        "not reachable through joins"
                    } else {
                        "no dimension or entity of this name"
                    })
                    .with_suggestion(&name, names.iter().map(String::as_str));
                    if t.links.is_empty() && exists {
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
                                r.name,
                                names.join(", ")
                            ),
                        )
                        .at(r.span)
                        .with_help("qualify it with a longer entity path"),
                    );
                }
            }
        }
    }

    /// The planner's reading of a reference: entity path, grain suffix, `metric_time`.
    pub(super) fn target_of(&mut self, r: &Reference) -> Option<Target> {
        let model = self.model;
        let custom = |n: &str| model.custom_granularity(n).is_some();
        if let Some(g) = &r.grain {
            if TimeGrain::parse(g, &custom).is_none() {
                self.push(
                    Diagnostic::error(
                        codes::GRANULARITY,
                        format!("unknown time granularity `{g}`"),
                    )
                    .at(r.span)
                    .with_suggestion(g, Grain::names())
                    .with_help(format!(
                        "granularities: {}",
                        Grain::names().collect::<Vec<_>>().join(", ")
                    )),
                );
                return None;
            }
        }
        if let Some(p) = &r.date_part {
            if crate::time::DatePart::parse(p).is_none() {
                self.push(
                    Diagnostic::error(codes::GRANULARITY, format!("unknown date part `{p}`"))
                        .at(r.span)
                        .with_suggestion(p, crate::time::DatePart::ALL.iter().map(|d| d.name()))
                        .with_help("date parts: year, quarter, month, week, day, dow, doy"),
                );
                return None;
            }
        }
        Some(match reference_path(r) {
            None => Target {
                metric_time: true,
                links: vec![],
                element: String::new(),
            },
            Some((links, element)) => Target {
                metric_time: false,
                links,
                element,
            },
        })
    }

    pub(super) fn resolve_path(
        &self,
        from: usize,
        links: &[String],
        element: &str,
    ) -> Result<(), Vec<usize>> {
        resolve_element(self.model, from, links, element).map(|_| ())
    }

    /// Names reachable from some of `models` with at most one join, for suggestions.
    pub(super) fn reachable_names(&self, from: &BTreeSet<usize>) -> Vec<String> {
        let models = &self.model.semantic_models;
        let mut out = vec!["metric_time".to_string()];
        for &f in from {
            for e in &models[f].entities {
                out.push(e.name.clone());
                for (ti, t) in models.iter().enumerate() {
                    let keyed = if ti == f {
                        e.kind != EntityType::Foreign
                    } else {
                        t.entity(&e.name)
                            .is_some_and(|te| te.kind != EntityType::Foreign)
                    };
                    if keyed {
                        out.extend(
                            t.dimensions
                                .iter()
                                .map(|d| format!("{}__{}", e.name, d.name)),
                        );
                        out.extend(
                            t.entities
                                .iter()
                                .filter(|x| x.name != e.name)
                                .map(|x| format!("{}__{}", e.name, x.name)),
                        );
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    // ----- saved queries -----------------------------------------------------------------------
}
