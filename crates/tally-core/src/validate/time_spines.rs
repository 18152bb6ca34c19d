//! Time spines (E0210).

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::model::{Metric, MetricKind};
use crate::source::Span;
use crate::time::Grain;
use std::collections::{BTreeMap, BTreeSet};

impl<'m> Validator<'m> {
    pub(super) fn time_spines(&mut self) {
        let model = self.model;
        // As loaded: the spec's configurations, kept on the model with their spans.
        let configs = &model.project_configurations;
        // One spine per grain.
        let mut by_grain: BTreeMap<Grain, (Span, String)> = BTreeMap::new();
        let mut custom: BTreeMap<String, Span> = BTreeMap::new();
        for pc in configs {
            for ts in &pc.time_spines {
                let Some(g) = Grain::parse(&ts.primary_column.time_granularity) else {
                    continue;
                };
                let rel = ts.node_relation.alias.value.clone();
                match by_grain.get(&g) {
                    Some((prev, prev_rel)) => {
                        self.push(
                            Diagnostic::error(
                                codes::TIME_SPINE,
                                format!(
                                    "two time spines have grain `{g}`: `{prev_rel}` and `{rel}`"
                                ),
                            )
                            .at(ts.node_relation.alias.span)
                            .with_label(format!("second `{g}` spine"))
                            .with_secondary(*prev, format!("first `{g}` spine"))
                            .with_help("keep one time spine per granularity"),
                        );
                    }
                    None => {
                        by_grain.insert(g, (ts.node_relation.alias.span, rel));
                    }
                }
                for c in &ts.custom_granularities {
                    let n = c.name.value.to_ascii_lowercase();
                    if Grain::parse(&n).is_some() {
                        self.push(
                            Diagnostic::error(codes::TIME_SPINE, format!("custom granularity `{}` is named like a standard granularity", c.name.value))
                                .at(c.name.span)
                                .with_label("standard granularity name")
                                .with_help("name custom granularities apart from the standard ones, such as `fiscal_quarter`"),
                        );
                    } else if let Some(prev) = custom.get(&n) {
                        self.push(
                            Diagnostic::error(
                                codes::TIME_SPINE,
                                format!("custom granularity `{}` is defined twice", c.name.value),
                            )
                            .at(c.name.span)
                            .with_secondary(*prev, "first defined here")
                            .with_help("custom granularity names are unique across time spines"),
                        );
                    } else {
                        custom.insert(n, c.name.span);
                    }
                }
            }
        }
        for pc in configs {
            for t in &pc.time_spine_table_configurations {
                let Some(g) = Grain::parse(&t.grain) else {
                    continue;
                };
                let Some((prev, prev_rel)) = by_grain.get(&g) else {
                    continue;
                };
                let rel = &t.location.value;
                let same = rel.rsplit('.').next() == Some(prev_rel.as_str())
                    && model.time_spines.iter().filter(|s| s.grain == g).count() == 1;
                if !same {
                    self.push(
                        Diagnostic::warning(codes::TIME_SPINE, format!("the legacy time spine `{rel}` has grain `{g}`, like the time spine `{prev_rel}`"))
                            .at(t.location.span)
                            .with_label(format!("second `{g}` spine"))
                            .with_secondary(*prev, format!("`{g}` spine under `time_spines`"))
                            .with_help("keep one time spine per granularity: `time_spine_table_configurations` is the legacy form of `time_spines`"),
                    );
                }
            }
        }
        // Cumulative metrics, offsets and join_to_timespine read a day (or finer) spine.
        let mut needing: Vec<&Metric> = model
            .metrics
            .values()
            .filter(|m| {
                matches!(m.kind, MetricKind::Cumulative { .. })
                    || m.input_metrics()
                        .iter()
                        .any(|i| i.offset_window.is_some() || i.offset_to_grain.is_some())
                    || match &m.kind {
                        MetricKind::Simple(r) => r.join_to_timespine,
                        _ => false,
                    }
            })
            .collect();
        needing.sort_by_key(|m| m.span);
        if model.spine_for(Grain::Day).is_none() {
            if let Some(first) = needing.first() {
                let mut d = Diagnostic::error(
                    codes::TIME_SPINE,
                    format!("metric `{}` needs a time spine of grain `day` or finer, but the project has none", first.name),
                )
                .at(first.span)
                .with_label(format!("{} metric", first.type_name()))
                .with_help(
                    "cumulative metrics, offset inputs and `join_to_timespine` read a table with one row per day: \
                     add `project_configuration: {time_spines: [{node_relation: {alias: ..., schema_name: ...}, primary_column: {name: date_day, time_granularity: day}}]}`",
                )
                .with_help("in a dbt project: give a model of one row per day the `time_spine: {standard_granularity_column: date_day}` property (and `granularity: day` on that column), or name it `metricflow_time_spine`");
                if needing.len() > 1 {
                    let others: Vec<&str> = needing[1..].iter().map(|m| m.name.as_str()).collect();
                    d = d.with_help(format!("so do: {}", others.join(", ")));
                }
                self.push(d);
            }
        }
        // MetricFlow (dbt-semantic-interfaces' TimeSpineRule) warns when any time dimension is
        // finer than the finest time spine. Only a metric that joins the spine (the ones above)
        // meets it, and on its aggregation time dimension (metric_time): tally warns for those
        // alone, so a deadline or a `breached_at` kept to the second does not warn on every
        // command of a project whose spine-joining metrics are daily (docs/metricflow-differences.md).
        self.spine_finer_than_data(&needing);
    }
}

impl Validator<'_> {
    /// E0210 (warning): an aggregation time dimension of a metric that joins the time spine is
    /// finer than the finest spine, so that metric cannot be queried at that grain. One warning per
    /// dimension, naming the first such metric (by position).
    fn spine_finer_than_data(&mut self, needing: &[&Metric]) {
        let model = self.model;
        let Some(smallest) = model.time_spines.iter().map(|s| s.grain).min() else {
            return;
        };
        let mut warned: BTreeSet<Span> = BTreeSet::new();
        for m in needing {
            let Some(id) = model.metric_id(&m.name) else {
                continue;
            };
            for r in self.measures_of(id) {
                let atd = model.agg_time_id(r.model, r.measure);
                let Some((_, atd)) = model.dimension_of(r.model, atd) else {
                    continue;
                };
                let Some(g) = atd.time_grain else { continue };
                if g >= smallest || !warned.insert(atd.span) {
                    continue;
                }
                self.push(
                    Diagnostic::warning(
                        codes::TIME_SPINE,
                        format!(
                            "time dimension `{}` has grain `{g}`, finer than the finest time spine (`{smallest}`), and metric `{}` joins the time spine on it",
                            atd.name, m.name
                        ),
                    )
                    .at(atd.span)
                    .with_label(format!("grain `{g}`"))
                    .with_help(format!("add a time spine of grain `{g}` so `{}` can be queried at that grain", m.name)),
                );
            }
        }
    }
}
