//! Resolution: the `Resolver` walks a [`ProjectSpec`] and builds the [`Model`].

use crate::diag::{codes, Diagnostic};
use crate::jinja::{MacroLibrary, Templates};
use crate::load::ProjectSpec;
use crate::model::{MeasureRef, Metric, MetricKind, Model, ModelIndex, Owners};
use crate::source::Span;
use crate::spec::MetricType;
use crate::yaml::Spanned;
use indexmap::IndexMap;

mod inline;
use inline::inline_agg;
mod metric;
mod references;
mod roster;
mod saved_query;
mod semantic_model;
mod targets;
mod time;

/// Resolve a loaded project into a model. Diagnostics cover every problem found; objects with
/// errors are left out of the model. `templates` are the built-in macros its SQL renders with.
pub fn spec_to_model(spec: ProjectSpec, templates: &Templates) -> (Model, Vec<Diagnostic>) {
    let mut r = Resolver {
        diags: Vec::new(),
        spec: &spec,
        custom_grains: Vec::new(),
        inline: IndexMap::new(),
        calendars: Default::default(),
    };
    let model = r.resolve();
    let mut diags = r.diags;
    let mut model = model;
    let (checks, more) = targets::resolve(&spec, &model);
    model.checks = checks;
    diags.extend(more);
    model.macros = MacroLibrary {
        builtin: templates.clone(),
        project_macros: spec.templates.clone(),
    };
    model.metric_tests = spec.metric_tests;
    model.test_tables = spec.test_tables;
    model.check_tests = spec.check_tests;
    model.project_configurations = spec.project_configurations;
    model.sources = spec.sources;
    (model, diags)
}

struct Resolver<'a> {
    diags: Vec<Diagnostic>,
    spec: &'a ProjectSpec,
    /// Names of the custom granularities on the time spines.
    custom_grains: Vec<String>,
    /// The measures made for simple metrics that carry their own aggregation (dbt's latest spec,
    /// MetricFlow's `metric_aggregation_params`), by metric name; `None` when it did not resolve.
    inline: IndexMap<String, Option<MeasureRef>>,
    /// The project's calendars, resolved first (business durations read them).
    calendars: crate::calendar::Calendars,
}

/// Whether a name is a lower-case identifier without `__` or a trailing `_` (MetricFlow's rule
/// for the names of objects, also applied to input aliases by validation).
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

impl<'a> Resolver<'a> {
    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(super) fn check_name(&mut self, name: &Spanned<String>, what: &str) {
        if !is_valid_name(name) {
            let mut d = Diagnostic::error(
                codes::INVALID_NAME,
                format!("invalid {what} name `{}`", name.value),
            )
            .at(name.span)
            .with_label("names are lower-case letters, digits and single underscores");
            if name.contains("__") {
                d = d.with_help(
                    "`__` separates entity paths in group-by names and may not appear in a name",
                );
            } else {
                d = d.with_help(format!("try `{}`", suggest_name(name)));
            }
            self.err(d);
        }
        if (what == "dimension" || what == "entity" || what == "metric")
            && name.value == "metric_time"
        {
            self.err(
                Diagnostic::error(
                    codes::INVALID_NAME,
                    format!("`metric_time` is reserved and cannot name a {what}"),
                )
                .at(name.span)
                .with_help(
                    "pick another name; `metric_time` is the aggregation time of every metric",
                ),
            );
        }
    }

    pub(super) fn resolve(&mut self) -> Model {
        let spec = self.spec;
        let cfg = &spec.config;
        let mut model = Model {
            name: cfg
                .name
                .as_ref()
                .map(|n| n.value.clone())
                .unwrap_or_else(|| "project".into()),
            default_dialect: cfg.dialect.as_ref().map(|d| d.value.clone()),
            default_dialect_span: cfg.dialect.as_ref().map(|d| d.span).unwrap_or_default(),
            vars: cfg.vars.clone(),
            ..Model::default()
        };
        self.resolve_roster(&mut model);
        self.calendars = crate::calendar::resolve::resolve(
            &spec.business_calendars,
            &spec.holiday_sets,
            &mut self.diags,
        );
        // Calendar names reach SQL (`tally_bh__<calendar>`, the clock's `calendar_id`).
        for c in &spec.business_calendars {
            self.check_name(&c.name, "business calendar");
        }
        model.calendars = self.calendars.clone();
        self.resolve_time_spines(&mut model);
        self.resolve_semantic_models(&mut model);
        self.check_element_consistency(&model);
        model.index = ModelIndex::build(&model.semantic_models);
        let measures =
            |m: &Model| -> usize { m.semantic_models.iter().map(|s| s.measures.len()).sum() };
        let before = measures(&model);
        self.resolve_metrics(&mut model);
        self.check_metric_references(&mut model);
        self.resolve_saved_queries(&mut model);
        // Rebuilt when resolving metrics added measures (inline `agg` metrics: the one change
        // metric resolution makes to the semantic models).
        if measures(&model) != before {
            model.index = ModelIndex::build(&model.semantic_models);
        }
        crate::model::elements::bind_metric_elements(&mut model);
        crate::model::bind::bind_model_filters(&mut model);
        model
    }

    /// Every semantic model whose name is valid and unique, in project order.
    fn resolve_semantic_models(&mut self, model: &mut Model) {
        let mut seen: IndexMap<String, Span> = IndexMap::new();
        for sm in &self.spec.semantic_models {
            self.check_name(&sm.name, "semantic model");
            if let Some(prev) = seen.get(&sm.name.value) {
                let d = Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("semantic model `{}` is defined twice", sm.name.value),
                )
                .at(sm.name.span)
                .with_secondary(*prev, "first defined here")
                .with_help(
                    "semantic model names are unique across the project: rename or remove one",
                );
                self.err(d);
                continue;
            }
            seen.insert(sm.name.value.clone(), sm.name.span);
            if let Some(m) = self.resolve_semantic_model(sm) {
                model.semantic_models.push(m);
            }
        }
    }

    /// Metrics: the measures' inline aggregations first, then declared metrics, then the metrics
    /// of `create_metric: true` measures (unless a declared metric has the name).
    fn resolve_metrics(&mut self, model: &mut Model) {
        let spec = self.spec;
        let created = created_metrics(spec, model);
        // Simple metrics with their own aggregation become measures first, so that cumulative and
        // conversion metrics can read them whatever the order of the files.
        for m in &spec.metrics {
            if self.inline.contains_key(&m.name.value) {
                continue;
            }
            if let Some(agg) = inline_agg(m) {
                let r = self.inline_measure(&agg, model);
                self.inline.insert(m.name.value.clone(), r);
            }
        }
        let mut metric_spans: IndexMap<String, Span> = IndexMap::new();
        for m in &spec.metrics {
            self.check_name(&m.name, "metric");
            if let Some(prev) = metric_spans.get(&m.name.value) {
                let d = Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("metric `{}` is defined twice", m.name.value),
                )
                .at(m.name.span)
                .with_secondary(*prev, "first defined here")
                .with_help("metric names are unique across the project: rename or remove one");
                self.err(d);
                continue;
            }
            metric_spans.insert(m.name.value.clone(), m.name.span);
            if let Some(def) = self.resolve_metric(m, model) {
                model.metrics.insert(def.name.clone(), def);
            }
        }
        for c in created {
            if let Some(prev) = metric_spans.get(&c.name) {
                let d = Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("metric `{}` is defined twice", c.name),
                )
                .at(c.span)
                .with_label("`create_metric: true` creates a metric of this name")
                .with_secondary(*prev, "also defined here")
                .with_help("remove `create_metric: true`, or rename the metric");
                self.err(d);
                continue;
            }
            model.metrics.insert(c.name.clone(), c);
        }
    }
}

/// The simple metrics of measures with `create_metric: true` (in resolved semantic models).
fn created_metrics(spec: &ProjectSpec, model: &Model) -> Vec<Metric> {
    let mut created = Vec::new();
    for sm in &spec.semantic_models {
        for ms in sm.measures.iter().filter(|ms| ms.create_metric) {
            let Some((mi, i)) = model.semantic_model(&sm.name).and_then(|(mi, m)| {
                m.measures
                    .iter()
                    .position(|x| x.name == ms.name.value)
                    .map(|i| (mi, i))
            }) else {
                continue;
            };
            created.push(Metric {
                name: ms.name.value.clone(),
                span: ms.name.span,
                label: ms.label.as_ref().map(|l| l.value.clone()),
                description: ms.description.clone(),
                spans: crate::model::MetricSpans {
                    label: semantic_model::label_span(&spec.sources, ms.label.as_ref()),
                    ..crate::model::MetricSpans::default()
                },
                kind: MetricKind::Simple(MeasureRef {
                    model: mi,
                    measure: i,
                    name: ms.name.value.clone(),
                    filters: vec![],
                    join_to_timespine: false,
                    fill_nulls_with: None,
                    span: ms.name.span,
                }),
                filters: vec![],
                time_granularity: None,
                owners: Owners::default(),
                drivers: vec![],
                tags: vec![],
                hidden: false,
            });
        }
    }
    created
}

fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Simple => "simple",
        MetricType::Ratio => "ratio",
        MetricType::Cumulative => "cumulative",
        MetricType::Derived => "derived",
        MetricType::Conversion => "conversion",
    }
}

fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}
