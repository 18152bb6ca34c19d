//! Time spines, grains, custom granularities and windows.

use super::Resolver;
use crate::diag::{codes, Diagnostic};
use crate::model::{Model, TimeSpine};
use crate::time::{Grain, TimeGrain, Window};
use crate::yaml::Spanned;

impl Resolver<'_> {
    pub(super) fn resolve_time_spines(&mut self, model: &mut Model) {
        let configs = &self.spec.project_configurations;
        for pc in configs {
            for ts in &pc.time_spines {
                let Some(relation) = self.relation_name(&ts.node_relation) else {
                    continue;
                };
                let Some(grain) = self.grain(&ts.primary_column.time_granularity) else {
                    continue;
                };
                model.time_spines.push(TimeSpine {
                    relation,
                    column: ts.primary_column.name.value.clone(),
                    grain,
                    custom_granularities: ts
                        .custom_granularities
                        .iter()
                        .map(|c| {
                            (
                                c.name.value.clone(),
                                c.column_name.as_ref().unwrap_or(&c.name).value.clone(),
                            )
                        })
                        .collect(),
                });
            }
            for ts in &pc.time_spine_table_configurations {
                let Some(grain) = self.grain(&ts.grain) else {
                    continue;
                };
                let relation = self.subst_schema(&ts.location);
                if model
                    .time_spines
                    .iter()
                    .any(|s| s.grain == grain && s.relation == relation)
                {
                    continue;
                }
                model.time_spines.push(TimeSpine {
                    relation,
                    column: ts.column_name.value.clone(),
                    grain,
                    custom_granularities: vec![],
                });
            }
        }
        model.time_spines.sort_by_key(|s| s.grain);
        self.custom_grains = model
            .time_spines
            .iter()
            .flat_map(|s| s.custom_granularities.iter().map(|(n, _)| n.clone()))
            .collect();
    }

    pub(super) fn grain(&mut self, s: &Spanned<String>) -> Option<Grain> {
        match Grain::parse(&s.value) {
            Some(g) => Some(g),
            None => {
                let d = Diagnostic::error(
                    codes::GRANULARITY,
                    format!("unknown time granularity `{}`", s.value),
                )
                .at(s.span)
                .with_suggestion(&s.value, Grain::names())
                .with_help(format!(
                    "granularities: {}",
                    Grain::names().collect::<Vec<_>>().join(", ")
                ));
                self.err(d);
                None
            }
        }
    }

    pub(super) fn custom_names(&self) -> Vec<String> {
        self.custom_grains.clone()
    }

    pub(super) fn time_grain(&mut self, s: &Spanned<String>) -> Option<TimeGrain> {
        let names = self.custom_names();
        match TimeGrain::parse(&s.value, &|n| names.iter().any(|c| c == n)) {
            Some(g) => Some(g),
            None => {
                let all: Vec<String> = Grain::names()
                    .map(str::to_string)
                    .chain(names.iter().cloned())
                    .collect();
                let d = Diagnostic::error(
                    codes::GRANULARITY,
                    format!("unknown time granularity `{}`", s.value),
                )
                .at(s.span)
                .with_suggestion(&s.value, all.iter().map(String::as_str))
                .with_help(format!("granularities: {}", all.join(", ")));
                self.err(d);
                None
            }
        }
    }

    pub(super) fn window(&mut self, s: &Spanned<String>) -> Option<Window> {
        let names = self.custom_names();
        match Window::parse(&s.value, &|n| names.iter().any(|c| c == n)) {
            Some(w) => Some(w),
            None => {
                self.err(
                    Diagnostic::error(
                        codes::CUMULATIVE_PARAMS,
                        format!("invalid window `{}`", s.value),
                    )
                    .at(s.span)
                    .with_label("expected `<count> <granularity>`")
                    .with_help("for example `7 days` or `1 month`"),
                );
                None
            }
        }
    }
}
