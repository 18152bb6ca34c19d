//! Stage 2, `resolve`: [`ProjectSpec`] -> checked semantic [`Model`] + diagnostics.
//!
//! Applies MetricFlow's parse-time normalisations so that later stages see one shape:
//! - `count` becomes `sum` of `CASE WHEN expr IS NOT NULL THEN 1 ELSE 0 END`, `sum_boolean` becomes
//!   `sum` of `CASE WHEN expr THEN 1 ELSE 0 END`, `median` becomes the continuous 0.5 percentile;
//! - measures with `create_metric: true` and the newer simple metrics that carry `agg` themselves become
//!   simple metrics over a measure;
//! - cumulative params given at the top of `type_params` (`window`, `grain_to_date`) move into
//!   `cumulative_type_params`; plural window units (`7 days`) are accepted.
//!
//! Names are resolved here (measures, agg time dimensions, owners); a reference that does not resolve is
//! a diagnostic with a "did you mean", and the object is left out of the model so later stages never
//! see dangling references.

use crate::diag::{codes, Diagnostic};
use crate::load::ProjectSpec;
use crate::source::{SourceMap, Span};
use crate::spec::{
    self, Agg, ConversionCalculation, EntityType, MetricType, PeriodAgg, WindowChoice,
};
use crate::time::{Grain, TimeGrain, Window};
use crate::yaml::Spanned;
use indexmap::IndexMap;
use serde::Serialize;
use std::sync::Arc;

/// The checked semantic model of a project.
#[derive(Debug, Default, Serialize)]
pub struct Model {
    pub name: String,
    pub semantic_models: Vec<SemanticModel>,
    pub metrics: IndexMap<String, Metric>,
    pub saved_queries: IndexMap<String, SavedQuery>,
    pub time_spines: Vec<TimeSpine>,
    pub people: IndexMap<String, Person>,
    pub teams: IndexMap<String, Team>,
    pub default_dialect: Option<String>,
    /// Where tally.yml sets `dialect:`.
    #[serde(skip)]
    pub default_dialect_span: Span,
    pub vars: IndexMap<String, serde_json::Value>,
    #[serde(skip)]
    pub macros: crate::jinja::MacroLibrary,
    #[serde(skip)]
    pub sources: SourceMap,
    /// tally's metric tests, as written (checked by [`crate::metric_test`]).
    #[serde(skip)]
    pub metric_tests: Vec<spec::MetricTest>,
    /// tally's declared source tables for metric tests.
    #[serde(skip)]
    pub test_tables: Vec<spec::TestTable>,
    /// Targets, alerts and notification endpoints (`tally check`), resolved by [`crate::targets`].
    #[serde(skip)]
    pub checks: crate::targets::Checks,
    /// Name lookups over `semantic_models`, built once by resolution so that planning a query (and
    /// validation, which plans every metric) does not scan every semantic model per name.
    #[serde(skip)]
    pub index: ModelIndex,
    /// The `sql:` of semantic models rendered through the macro library, per (model, dialect):
    /// rendered once, not once per query (validation plans every metric).
    #[serde(skip)]
    rendered_sql: std::sync::Mutex<RenderedSql>,
    /// The relation names the project's SQL reads, per dialect, which CTE names must avoid
    /// (computed by `plan::names`, once per dialect).
    #[serde(skip)]
    reserved_names: std::sync::Mutex<std::collections::HashMap<String, Arc<ReservedNames>>>,
}

/// Names a plan's CTEs must not take, lower-cased (see `plan::names`).
#[derive(Debug, Default)]
pub(crate) struct ReservedNames {
    /// Every part of every relation name the project's SQL reads.
    pub relations: std::collections::BTreeSet<String>,
    /// Semantic model names: their scans keep their names when they can.
    pub models: std::collections::BTreeSet<String>,
}

/// Rendered `sql:` of semantic models by (semantic model, dialect name).
type RenderedSql = std::collections::HashMap<(usize, String), Result<String, Diagnostic>>;

/// Hash indexes from names to the semantic models that define them. Only looked up, never
/// iterated, so output order does not depend on them. An index built for a different number of
/// semantic models than the model now has is ignored (lookups fall back to a scan).
#[derive(Debug, Default)]
pub struct ModelIndex {
    built_for: usize,
    /// Measure name -> (semantic model, measure), the first in model order.
    measures: std::collections::HashMap<String, (usize, usize)>,
    /// Dimension or entity name -> the grain of the first time dimension of that name, if any.
    elements: std::collections::HashMap<String, Option<Grain>>,
    /// Entity name -> the semantic models (ascending) whose entity of that name is not foreign.
    keyed_by: std::collections::HashMap<String, Vec<usize>>,
}

impl ModelIndex {
    pub fn build(models: &[SemanticModel]) -> ModelIndex {
        let mut ix = ModelIndex {
            built_for: models.len(),
            ..ModelIndex::default()
        };
        for (mi, m) in models.iter().enumerate() {
            for (i, x) in m.measures.iter().enumerate() {
                ix.measures.entry(x.name.clone()).or_insert((mi, i));
            }
            for d in &m.dimensions {
                let g = ix.elements.entry(d.name.clone()).or_insert(None);
                if g.is_none() {
                    *g = d.time_grain;
                }
            }
            for (i, e) in m.entities.iter().enumerate() {
                ix.elements.entry(e.name.clone()).or_insert(None);
                // `entity(name)` finds the first entity of a name: only that one counts.
                let first = m.entities.iter().position(|x| x.name == e.name) == Some(i);
                if first && e.kind != EntityType::Foreign {
                    ix.keyed_by.entry(e.name.clone()).or_default().push(mi);
                }
            }
        }
        ix
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub name: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// A job title (tally.yml), shown in the docs site.
    pub title: Option<String>,
    pub teams: Vec<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub name: String,
    pub description: Option<String>,
    pub members: Vec<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Relation {
    /// A table or view, as written (`schema.table`).
    Table(String),
    /// A SQL query (tally's `sql:` key), rendered through the macro library for the target dialect
    /// when a query is planned.
    Query(String, #[serde(skip)] Span),
}

#[derive(Debug, Clone, Serialize)]
pub struct SemanticModel {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub label: Option<String>,
    pub description: Option<String>,
    pub relation: Relation,
    pub primary_entity: Option<String>,
    pub default_agg_time_dimension: Option<String>,
    pub entities: Vec<Entity>,
    pub dimensions: Vec<Dimension>,
    pub measures: Vec<Measure>,
}

impl SemanticModel {
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }
    /// The entity rows of this model are keyed by (a primary, unique or natural entity), if any.
    pub fn key_entities(&self) -> impl Iterator<Item = &Entity> {
        self.entities
            .iter()
            .filter(|e| e.kind != EntityType::Foreign)
    }
    /// The primary entity's name: the `primary` entity, or `primary_entity`.
    pub fn primary_entity_name(&self) -> Option<&str> {
        self.entities
            .iter()
            .find(|e| e.kind == EntityType::Primary)
            .map(|e| e.name.as_str())
            .or(self.primary_entity.as_deref())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Entity {
    pub name: String,
    pub kind: EntityType,
    pub expr: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Validity {
    Start,
    End,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    pub name: String,
    /// `Some(grain)` for a time dimension: its own (finest) granularity.
    pub time_grain: Option<Grain>,
    pub validity: Option<Validity>,
    pub expr: String,
    pub is_partition: bool,
    pub label: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

impl Dimension {
    pub fn is_time(&self) -> bool {
        self.time_grain.is_some()
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub enum AggKind {
    Sum,
    Min,
    Max,
    CountDistinct,
    Average,
    Percentile {
        p: f64,
        discrete: bool,
        approximate: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct NonAdditive {
    pub dimension: String,
    pub window_choice: WindowChoice,
    pub window_groupings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub name: String,
    pub agg: AggKind,
    /// The SQL expression aggregated (after normalisation).
    pub expr: String,
    pub agg_time_dimension: String,
    pub non_additive: Option<NonAdditive>,
    pub label: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

/// A filter as written: MetricFlow's Jinja-in-SQL. Parsed by [`crate::expr::parse_filter`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Filter {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

impl Filter {
    fn from_spanned(s: &Spanned<String>) -> Filter {
        Filter {
            text: s.value.clone(),
            span: s.span,
        }
    }
}

/// A measure as the input of a simple, cumulative or conversion metric.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureRef {
    pub model: usize,
    pub measure: usize,
    pub name: String,
    /// Filters on the measure input (legacy `type_params.measure.filter`).
    pub filters: Vec<Filter>,
    pub join_to_timespine: bool,
    pub fill_nulls_with: Option<i64>,
}

/// A metric as the input of a ratio or derived metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricInput {
    pub name: String,
    pub alias: Option<String>,
    pub filters: Vec<Filter>,
    pub offset_window: Option<Window>,
    pub offset_to_grain: Option<TimeGrain>,
    #[serde(skip)]
    pub span: Span,
}

impl MetricInput {
    /// The name the input has in the formula.
    pub fn output_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConstantProperty {
    pub base_property: String,
    pub conversion_property: String,
}

#[derive(Debug, Clone, Serialize)]
pub enum MetricKind {
    Simple(MeasureRef),
    Ratio {
        numerator: MetricInput,
        denominator: MetricInput,
    },
    Derived {
        expr: Filter,
        inputs: Vec<MetricInput>,
    },
    Cumulative {
        measure: MeasureRef,
        window: Option<Window>,
        grain_to_date: Option<TimeGrain>,
        period_agg: PeriodAgg,
    },
    Conversion {
        base: MeasureRef,
        conversion: MeasureRef,
        entity: String,
        calculation: ConversionCalculation,
        window: Option<Window>,
        constant_properties: Vec<ConstantProperty>,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Owners {
    pub accountable: Option<String>,
    pub responsible: Vec<String>,
    pub consulted: Vec<String>,
    pub informed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub label: Option<String>,
    pub description: Option<String>,
    pub kind: MetricKind,
    pub filters: Vec<Filter>,
    pub time_granularity: Option<Grain>,
    pub owners: Owners,
    pub drivers: Vec<String>,
    pub tags: Vec<String>,
    /// Left out of listings, still queryable: dbt's `hidden: true`, MetricFlow's `is_private`.
    pub hidden: bool,
}

impl Metric {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            MetricKind::Simple(_) => "simple",
            MetricKind::Ratio { .. } => "ratio",
            MetricKind::Derived { .. } => "derived",
            MetricKind::Cumulative { .. } => "cumulative",
            MetricKind::Conversion { .. } => "conversion",
        }
    }

    /// Names of the metrics this metric reads.
    pub fn input_metrics(&self) -> Vec<&MetricInput> {
        match &self.kind {
            MetricKind::Ratio {
                numerator,
                denominator,
            } => vec![numerator, denominator],
            MetricKind::Derived { inputs, .. } => inputs.iter().collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SavedQuery {
    pub name: String,
    pub description: Option<String>,
    pub metrics: Vec<Spanned<String>>,
    pub group_by: Vec<Spanned<String>>,
    pub where_: Vec<Filter>,
    pub order_by: Vec<Spanned<String>>,
    pub limit: Option<i64>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeSpine {
    pub relation: String,
    pub column: String,
    pub grain: Grain,
    /// Custom granularities: name -> column on the spine.
    pub custom_granularities: Vec<(String, String)>,
}

impl Model {
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.get(name)
    }
    pub fn measure(&self, r: &MeasureRef) -> &Measure {
        &self.semantic_models[r.model].measures[r.measure]
    }
    pub fn semantic_model(&self, name: &str) -> Option<(usize, &SemanticModel)> {
        self.semantic_models
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == name)
    }
    fn index(&self) -> Option<&ModelIndex> {
        (self.index.built_for == self.semantic_models.len() && !self.semantic_models.is_empty())
            .then_some(&self.index)
    }
    /// The SQL of semantic model `model` (a `sql:` query) rendered for the dialect named `dialect`
    /// (whose macro overrides are `overrides`), or None when the model reads a table.
    pub fn render_model_sql(
        &self,
        model: usize,
        dialect: &str,
        overrides: &str,
    ) -> Option<Result<String, Diagnostic>> {
        let Relation::Query(q, span) = &self.semantic_models.get(model)?.relation else {
            return None;
        };
        let key = (model, dialect.to_string());
        if let Some(r) = self
            .rendered_sql
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return Some(r);
        }
        let r = crate::jinja::render_sql(q, *span, &self.macros, overrides, &self.vars);
        if let Ok(mut c) = self.rendered_sql.lock() {
            c.insert(key, r.clone());
        }
        Some(r)
    }
    /// The reserved CTE names computed for a dialect, if any.
    pub(crate) fn reserved_names_cached(&self, dialect: &str) -> Option<Arc<ReservedNames>> {
        self.reserved_names
            .lock()
            .ok()
            .and_then(|c| c.get(dialect).cloned())
    }

    pub(crate) fn cache_reserved_names(&self, dialect: &str, names: Arc<ReservedNames>) {
        if let Ok(mut c) = self.reserved_names.lock() {
            c.insert(dialect.to_string(), names);
        }
    }

    /// The grain of the first time dimension named `element` in any semantic model.
    pub fn element_time_grain(&self, element: &str) -> Option<Grain> {
        match self.index() {
            Some(ix) => ix.elements.get(element).copied().flatten(),
            None => self
                .semantic_models
                .iter()
                .find_map(|m| m.dimension(element).and_then(|d| d.time_grain)),
        }
    }
    /// Whether any semantic model has a dimension or an entity named `element`.
    pub fn element_exists(&self, element: &str) -> bool {
        match self.index() {
            Some(ix) => ix.elements.contains_key(element),
            None => self
                .semantic_models
                .iter()
                .any(|m| m.dimension(element).is_some() || m.entity(element).is_some()),
        }
    }
    /// The semantic models (ascending) on which `entity` is a key (its entity of that name is not
    /// foreign): the models a join on `entity` can reach.
    pub fn models_keyed_by(&self, entity: &str) -> Vec<usize> {
        match self.index() {
            Some(ix) => ix.keyed_by.get(entity).cloned().unwrap_or_default(),
            None => self
                .semantic_models
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    t.entity(entity)
                        .is_some_and(|e| e.kind != EntityType::Foreign)
                })
                .map(|(i, _)| i)
                .collect(),
        }
    }
    /// Find a measure by name across all semantic models.
    pub fn find_measure(&self, name: &str) -> Option<(usize, usize)> {
        if let Some(&(mi, i)) = self.index().and_then(|ix| ix.measures.get(name)) {
            // Measures added after the index was built (inline `agg` metrics) are appended, so an
            // indexed measure is still the first of its name.
            if self.semantic_models[mi]
                .measures
                .get(i)
                .is_some_and(|x| x.name == name)
            {
                return Some((mi, i));
            }
        }
        for (mi, m) in self.semantic_models.iter().enumerate() {
            if let Some(i) = m.measures.iter().position(|x| x.name == name) {
                return Some((mi, i));
            }
        }
        None
    }
    /// All measure names, for suggestions.
    pub fn measure_names(&self) -> impl Iterator<Item = &str> {
        self.semantic_models
            .iter()
            .flat_map(|m| m.measures.iter().map(|x| x.name.as_str()))
    }
    /// The time spine with the finest grain at most `grain`, preferring the coarsest such.
    pub fn spine_for(&self, grain: Grain) -> Option<&TimeSpine> {
        self.time_spines
            .iter()
            .filter(|s| s.grain <= grain)
            .max_by_key(|s| s.grain)
    }
    /// A custom granularity by name: (spine, column).
    pub fn custom_granularity(&self, name: &str) -> Option<(&TimeSpine, &str)> {
        self.time_spines.iter().find_map(|s| {
            s.custom_granularities
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| (s, c.as_str()))
        })
    }
    /// The value of a project variable, for `{{ var('x') }}`.
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        self.vars.get(name)
    }
}

// ----- resolution --------------------------------------------------------------------------------

/// Resolve a loaded project into a model. Diagnostics cover every problem found; objects with
/// errors are left out of the model.
pub fn spec_to_model(spec: ProjectSpec) -> (Model, Vec<Diagnostic>) {
    let mut r = Resolver {
        diags: Vec::new(),
        spec: &spec,
        custom_grains: Vec::new(),
        inline: IndexMap::new(),
    };
    let model = r.resolve();
    let mut diags = r.diags;
    let mut model = model;
    let (checks, more) = crate::targets::resolve::resolve(&spec, &model);
    model.checks = checks;
    diags.extend(more);
    model.macros.project_macros = spec.templates.clone();
    model.metric_tests = spec.metric_tests;
    model.test_tables = spec.test_tables;
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
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

impl<'a> Resolver<'a> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn check_name(&mut self, name: &Spanned<String>, what: &str) {
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

    fn resolve(&mut self) -> Model {
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
        self.resolve_time_spines(&mut model);
        // Semantic models.
        let mut seen: IndexMap<String, Span> = IndexMap::new();
        for sm in &spec.semantic_models {
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
        self.check_element_consistency(&model);
        model.index = ModelIndex::build(&model.semantic_models);
        // Metrics: measures with create_metric first, then declared metrics.
        let mut metric_spans: IndexMap<String, Span> = IndexMap::new();
        let mut created: Vec<Metric> = Vec::new();
        for sm in &spec.semantic_models {
            for ms in &sm.measures {
                if ms.create_metric {
                    if let Some((mi, i)) = model.semantic_model(&sm.name).and_then(|(mi, m)| {
                        m.measures
                            .iter()
                            .position(|x| x.name == ms.name.value)
                            .map(|i| (mi, i))
                    }) {
                        created.push(Metric {
                            name: ms.name.value.clone(),
                            span: ms.name.span,
                            label: ms.label.as_ref().map(|l| l.value.clone()),
                            description: ms.description.clone(),
                            kind: MetricKind::Simple(MeasureRef {
                                model: mi,
                                measure: i,
                                name: ms.name.value.clone(),
                                filters: vec![],
                                join_to_timespine: false,
                                fill_nulls_with: None,
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
            }
        }
        // Simple metrics with their own aggregation become measures first, so that cumulative and
        // conversion metrics can read them whatever the order of the files.
        for m in &spec.metrics {
            if self.inline.contains_key(&m.name.value) {
                continue;
            }
            if let Some(agg) = inline_agg(m) {
                let r = self.inline_measure(&agg, &mut model);
                self.inline.insert(m.name.value.clone(), r);
            }
        }
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
            if let Some(def) = self.resolve_metric(m, &mut model) {
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
        self.check_metric_references(&mut model);
        for sq in &spec.saved_queries {
            self.check_name(&sq.name, "saved query");
            model.saved_queries.insert(
                sq.name.value.clone(),
                SavedQuery {
                    name: sq.name.value.clone(),
                    description: sq.description.clone(),
                    metrics: sq.query_params.metrics.clone(),
                    group_by: sq.query_params.group_by.clone(),
                    where_: sq
                        .query_params
                        .where_
                        .iter()
                        .map(Filter::from_spanned)
                        .collect(),
                    order_by: sq.query_params.order_by.clone(),
                    limit: sq.query_params.limit.as_ref().map(|l| l.value),
                    span: sq.name.span,
                },
            );
        }
        for sq in model.saved_queries.values() {
            for m in &sq.metrics {
                if !model.metrics.contains_key(&m.value) {
                    let d = Diagnostic::error(
                        codes::SAVED_QUERY,
                        format!(
                            "saved query `{}` names unknown metric `{}`",
                            sq.name, m.value
                        ),
                    )
                    .at(m.span)
                    .with_suggestion(&m.value, model.metrics.keys().map(String::as_str));
                    self.diags.push(d);
                }
            }
        }
        // Rebuilt: resolving metrics may have added measures (inline `agg` metrics).
        model.index = ModelIndex::build(&model.semantic_models);
        model
    }

    fn resolve_roster(&mut self, model: &mut Model) {
        let cfg = &self.spec.config;
        for t in &cfg.teams {
            if model.teams.contains_key(&t.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!("team `{}` is listed twice", t.name.value),
                    )
                    .at(t.name.span),
                );
            }
            model.teams.insert(
                t.name.value.clone(),
                Team {
                    name: t.name.value.clone(),
                    description: t.description.clone(),
                    members: t.members.iter().map(|m| m.value.clone()).collect(),
                    span: t.name.span,
                },
            );
        }
        for p in &cfg.people {
            if model.people.contains_key(&p.name.value) || model.teams.contains_key(&p.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!(
                            "person `{}` is listed twice, or shares a team's name",
                            p.name.value
                        ),
                    )
                    .at(p.name.span),
                );
            }
            for t in &p.teams {
                if !model.teams.contains_key(&t.value) {
                    let d = Diagnostic::error(
                        codes::UNKNOWN_OWNER,
                        format!("unknown team `{}`", t.value),
                    )
                    .at(t.span)
                    .with_suggestion(&t.value, model.teams.keys().map(String::as_str))
                    .with_help("teams are listed under `teams:` in tally.yml");
                    self.err(d);
                }
            }
            model.people.insert(
                p.name.value.clone(),
                Person {
                    name: p.name.value.clone(),
                    full_name: p.full_name.clone(),
                    email: p.email.clone(),
                    title: p.title.clone(),
                    teams: p.teams.iter().map(|t| t.value.clone()).collect(),
                    span: p.name.span,
                },
            );
        }
        let team_members: Vec<(String, Spanned<String>)> = cfg
            .teams
            .iter()
            .flat_map(|t| {
                t.members
                    .iter()
                    .map(move |m| (t.name.value.clone(), m.clone()))
            })
            .collect();
        for (team, m) in team_members {
            if !model.people.contains_key(&m.value) {
                let d = Diagnostic::error(
                    codes::UNKNOWN_OWNER,
                    format!("team `{team}` lists unknown person `{}`", m.value),
                )
                .at(m.span)
                .with_suggestion(&m.value, model.people.keys().map(String::as_str))
                .with_help("people are listed under `people:` in tally.yml");
                self.err(d);
            } else if let Some(p) = model.people.get_mut(&m.value) {
                if !p.teams.contains(&team) {
                    p.teams.push(team);
                }
            }
        }
    }

    fn relation_name(&mut self, r: &spec::NodeRelation) -> Option<String> {
        if let Some(rn) = &r.relation_name {
            return Some(self.subst_schema(rn));
        }
        let mut parts = Vec::new();
        if let Some(db) = &r.database {
            parts.push(self.subst_schema(db));
        }
        if let Some(s) = &r.schema_name {
            parts.push(self.subst_schema(s));
        }
        parts.push(self.subst_schema(&r.alias));
        Some(parts.join("."))
    }

    /// Replace `$source_schema` with the configured schema.
    fn subst_schema(&mut self, s: &Spanned<String>) -> String {
        if !s.value.contains("$source_schema") {
            return s.value.clone();
        }
        match &self.spec.config.relations.source_schema {
            Some(schema) => s.value.replace("$source_schema", &schema.value),
            None => {
                // Report once per project, at the first use.
                if !self
                    .diags
                    .iter()
                    .any(|d| d.code == codes::CONFIG && d.message.contains("$source_schema"))
                {
                    self.err(
                        Diagnostic::error(codes::CONFIG, "`$source_schema` is used but not set")
                            .at(s.span)
                            .with_label("needs a schema")
                            .with_help("set `relations: {source_schema: <schema>}` in tally.yml, or pass --source-schema <schema>"),
                    );
                }
                s.value.replace("$source_schema", "source_schema")
            }
        }
    }

    fn resolve_time_spines(&mut self, model: &mut Model) {
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

    fn grain(&mut self, s: &Spanned<String>) -> Option<Grain> {
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

    fn custom_names(&self) -> Vec<String> {
        self.custom_grains.clone()
    }

    fn time_grain(&mut self, s: &Spanned<String>) -> Option<TimeGrain> {
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

    fn window(&mut self, s: &Spanned<String>) -> Option<Window> {
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

    fn resolve_semantic_model(&mut self, sm: &spec::SemanticModel) -> Option<SemanticModel> {
        let relation = if let Some(sql) = &sm.sql {
            Relation::Query(sql.value.clone(), sql.span)
        } else if let Some(r) = &sm.node_relation {
            Relation::Table(self.relation_name(r)?)
        } else if let Some(m) = &sm.model {
            Relation::Table(self.resolve_ref(m)?)
        } else {
            self.err(
                Diagnostic::error(
                    codes::NODE_RELATION,
                    format!(
                        "semantic model `{}` has nothing to read from",
                        sm.name.value
                    ),
                )
                .at(sm.name.span)
                .with_help(
                    "add `model: ref('table')`, a `node_relation`, or tally's `sql:` with a query",
                ),
            );
            return None;
        };
        let mut ok = true;
        let mut entities = Vec::new();
        let mut names: IndexMap<String, Span> = IndexMap::new();
        let mut dup = |r: &mut Self, n: &Spanned<String>| {
            if let Some(prev) = names.get(&n.value) {
                r.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!(
                            "`{}` is defined twice in semantic model `{}`",
                            n.value, sm.name.value
                        ),
                    )
                    .at(n.span)
                    .with_secondary(*prev, "first defined here")
                    .with_help(
                        "entities, dimensions and measures of a semantic model share one namespace",
                    ),
                );
                true
            } else {
                names.insert(n.value.clone(), n.span);
                false
            }
        };
        for e in &sm.entities {
            self.check_name(&e.name, "entity");
            if dup(self, &e.name) {
                continue;
            }
            entities.push(Entity {
                name: e.name.value.clone(),
                kind: e.entity_type.value,
                expr: e
                    .expr
                    .as_ref()
                    .map(|x| x.value.clone())
                    .unwrap_or_else(|| e.name.value.clone()),
                span: e.name.span,
            });
        }
        let primaries = entities
            .iter()
            .filter(|e| e.kind == EntityType::Primary)
            .count();
        if primaries > 1 {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!(
                        "semantic model `{}` has {primaries} primary entities",
                        sm.name.value
                    ),
                )
                .at(sm.name.span)
                .with_help("a semantic model has at most one primary entity"),
            );
        }
        if let (Some(pe), true) = (&sm.primary_entity, primaries > 0) {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    "`primary_entity` is set but the model also has a primary entity",
                )
                .at(pe.span)
                .with_help("remove `primary_entity`, or make the entity non-primary"),
            );
        }
        let mut dimensions = Vec::new();
        for d in &sm.dimensions {
            self.check_name(&d.name, "dimension");
            if dup(self, &d.name) {
                continue;
            }
            let (time_grain, validity) = match d.dimension_type.value {
                spec::DimensionType::Time => {
                    let tp = d.type_params.as_ref();
                    let g = match tp.and_then(|t| t.time_granularity.as_ref()) {
                        Some(g) => self.grain(g),
                        None => {
                            self.err(
                                Diagnostic::error(
                                    codes::TIME_DIMENSION_PARAMS,
                                    format!(
                                        "time dimension `{}` has no time granularity",
                                        d.name.value
                                    ),
                                )
                                .at(d.name.span)
                                .with_help("add `type_params: {time_granularity: day}`"),
                            );
                            None
                        }
                    };
                    if g.is_none() {
                        ok = false;
                    }
                    let v = tp.and_then(|t| t.validity_params.as_ref()).and_then(|v| {
                        if v.is_start {
                            Some(Validity::Start)
                        } else if v.is_end {
                            Some(Validity::End)
                        } else {
                            None
                        }
                    });
                    (g, v)
                }
                spec::DimensionType::Categorical => {
                    if d.type_params
                        .as_ref()
                        .and_then(|t| t.time_granularity.as_ref())
                        .is_some()
                    {
                        self.err(
                            Diagnostic::warning(
                                codes::TIME_DIMENSION_PARAMS,
                                format!(
                                    "categorical dimension `{}` has a time granularity",
                                    d.name.value
                                ),
                            )
                            .at(d.name.span)
                            .with_help("use `type: time`, or remove the granularity"),
                        );
                    }
                    (None, None)
                }
            };
            dimensions.push(Dimension {
                name: d.name.value.clone(),
                time_grain,
                validity,
                expr: d
                    .expr
                    .as_ref()
                    .map(|x| x.value.clone())
                    .unwrap_or_else(|| d.name.value.clone()),
                is_partition: d.is_partition,
                label: d.label.as_ref().map(|l| l.value.clone()),
                span: d.name.span,
            });
        }
        let default_atd = sm
            .defaults
            .as_ref()
            .and_then(|d| d.agg_time_dimension.clone());
        let mut measures = Vec::new();
        for m in &sm.measures {
            self.check_name(&m.name, "measure");
            if dup(self, &m.name) {
                continue;
            }
            let atd = m.agg_time_dimension.as_ref().or(default_atd.as_ref());
            let Some(atd) = atd else {
                self.err(
                    Diagnostic::error(
                        codes::AGG_TIME_DIMENSION,
                        format!("measure `{}` has no aggregation time dimension", m.name.value),
                    )
                    .at(m.name.span)
                    .with_help("set `agg_time_dimension` on the measure, or `defaults: {agg_time_dimension: ...}` on the semantic model"),
                );
                ok = false;
                continue;
            };
            match dimensions.iter().find(|d| d.name == atd.value) {
                Some(d) if d.is_time() => {}
                Some(_) => {
                    self.err(
                        Diagnostic::error(
                            codes::AGG_TIME_DIMENSION,
                            format!("aggregation time dimension `{}` of measure `{}` is not a time dimension", atd.value, m.name.value),
                        )
                        .at(atd.span)
                        .with_help("point it at a dimension of `type: time`"),
                    );
                    ok = false;
                    continue;
                }
                None => {
                    let time_dims: Vec<&str> = dimensions
                        .iter()
                        .filter(|d| d.is_time())
                        .map(|d| d.name.as_str())
                        .collect();
                    self.err(
                        Diagnostic::error(
                            codes::AGG_TIME_DIMENSION,
                            format!("aggregation time dimension `{}` of measure `{}` is not a dimension of `{}`", atd.value, m.name.value, sm.name.value),
                        )
                        .at(atd.span)
                        .with_suggestion(&atd.value, time_dims.iter().copied())
                        .with_help(format!("time dimensions of `{}`: {}", sm.name.value, if time_dims.is_empty() { "none".to_string() } else { time_dims.join(", ") })),
                    );
                    ok = false;
                    continue;
                }
            }
            if let Some(mm) = self.resolve_measure(
                m,
                m.agg.value,
                m.expr.as_ref(),
                m.agg_params.as_ref(),
                m.agg.span,
            ) {
                let non_additive = m.non_additive_dimension.as_ref().map(|n| NonAdditive {
                    dimension: n.name.value.clone(),
                    window_choice: n
                        .window_choice
                        .as_ref()
                        .map(|w| w.value)
                        .unwrap_or(WindowChoice::Min),
                    window_groupings: n.window_groupings.iter().map(|g| g.value.clone()).collect(),
                });
                if let Some(n) = &m.non_additive_dimension {
                    if !dimensions
                        .iter()
                        .any(|d| d.name == n.name.value && d.is_time())
                    {
                        self.err(
                            Diagnostic::error(
                                codes::NON_ADDITIVE,
                                format!("non-additive dimension `{}` is not a time dimension of `{}`", n.name.value, sm.name.value),
                            )
                            .at(n.name.span)
                            .with_suggestion(&n.name.value, dimensions.iter().filter(|d| d.is_time()).map(|d| d.name.as_str()))
                            .with_help("the non-additive dimension is the time dimension a balance is taken at (for example a snapshot date)"),
                        );
                    }
                    for g in &n.window_groupings {
                        if !entities.iter().any(|e| e.name == g.value) {
                            self.err(
                                Diagnostic::error(
                                    codes::NON_ADDITIVE,
                                    format!(
                                        "window grouping `{}` is not an entity of `{}`",
                                        g.value, sm.name.value
                                    ),
                                )
                                .at(g.span)
                                .with_suggestion(
                                    &g.value,
                                    entities.iter().map(|e| e.name.as_str()),
                                ),
                            );
                        }
                    }
                }
                measures.push(Measure {
                    name: m.name.value.clone(),
                    agg: mm.0,
                    expr: mm.1,
                    agg_time_dimension: atd.value.clone(),
                    non_additive,
                    label: m.label.as_ref().map(|l| l.value.clone()),
                    span: m.name.span,
                });
            } else {
                ok = false;
            }
        }
        if (!measures.is_empty() || !dimensions.is_empty())
            && sm.primary_entity.is_none()
            && primaries == 0
            && !entities.iter().any(|e| e.kind != EntityType::Foreign)
            && !dimensions.is_empty()
        {
            self.err(
                Diagnostic::error(
                    codes::PRIMARY_ENTITY,
                    format!(
                        "semantic model `{}` has dimensions but no primary entity",
                        sm.name.value
                    ),
                )
                .at(sm.name.span)
                .with_help("add an entity of `type: primary`, or `primary_entity: <name>`"),
            );
        }
        let _ = ok;
        Some(SemanticModel {
            name: sm.name.value.clone(),
            span: sm.name.span,
            label: sm.label.as_ref().map(|l| l.value.clone()),
            description: sm.description.clone(),
            relation,
            primary_entity: sm.primary_entity.as_ref().map(|p| p.value.clone()),
            default_agg_time_dimension: default_atd.map(|d| d.value),
            entities,
            dimensions,
            measures,
        })
    }

    /// Normalise an aggregation: returns the aggregation and the SQL expression it aggregates.
    fn resolve_measure(
        &mut self,
        m: &spec::Measure,
        agg: Agg,
        expr: Option<&Spanned<String>>,
        params: Option<&spec::AggParams>,
        agg_span: Span,
    ) -> Option<(AggKind, String)> {
        let e = expr
            .map(|x| x.value.clone())
            .unwrap_or_else(|| m.name.value.clone());
        let kind = match agg {
            Agg::Sum => AggKind::Sum,
            Agg::Min => AggKind::Min,
            Agg::Max => AggKind::Max,
            Agg::CountDistinct => AggKind::CountDistinct,
            Agg::Average => AggKind::Average,
            Agg::Count => {
                return Some((
                    AggKind::Sum,
                    format!("CASE WHEN {e} IS NOT NULL THEN 1 ELSE 0 END"),
                ))
            }
            Agg::SumBoolean => {
                return Some((AggKind::Sum, format!("CASE WHEN {e} THEN 1 ELSE 0 END")))
            }
            Agg::Median => AggKind::Percentile {
                p: 0.5,
                discrete: params.is_some_and(|p| p.use_discrete_percentile),
                approximate: params.is_some_and(|p| p.use_approximate_percentile),
            },
            Agg::Percentile => {
                let Some(p) = params.and_then(|p| p.percentile.clone()) else {
                    self.err(
                        Diagnostic::error(
                            codes::PERCENTILE_PARAMS,
                            format!("percentile measure `{}` has no percentile", m.name.value),
                        )
                        .at(agg_span)
                        .with_help("add `agg_params: {percentile: 0.9}`"),
                    );
                    return None;
                };
                if !(0.0..=1.0).contains(&p.value) || p.value == 0.0 || p.value == 1.0 {
                    self.err(
                        Diagnostic::error(
                            codes::PERCENTILE_PARAMS,
                            format!("percentile {} is not strictly between 0 and 1", p.value),
                        )
                        .at(p.span)
                        .with_help("write the percentile as a fraction: 0.9 for p90"),
                    );
                    return None;
                }
                let pr = params.expect("checked above");
                AggKind::Percentile {
                    p: p.value,
                    discrete: pr.use_discrete_percentile,
                    approximate: pr.use_approximate_percentile,
                }
            }
        };
        if !matches!(agg, Agg::Percentile | Agg::Median) {
            if let Some(p) = params.and_then(|p| p.percentile.as_ref()) {
                self.err(
                    Diagnostic::error(
                        codes::PERCENTILE_PARAMS,
                        "only percentile measures take a percentile",
                    )
                    .at(p.span)
                    .with_help("remove `agg_params`, or use `agg: percentile`"),
                );
            }
        }
        Some((kind, e))
    }

    /// The relation of `model: ref('x')` (or `ref('package', 'x')`, `source('s', 't')`): tally.yml's
    /// `relations:` settings first, then the relation dbt builds (a dbt project with a target),
    /// else the bare name.
    fn resolve_ref(&mut self, m: &Spanned<String>) -> Option<String> {
        let call = crate::dbt::relations::parse_call(&m.value).filter(|(f, a)| {
            (f == "ref" && (a.len() == 1 || a.len() == 2)) || (f == "source" && a.len() == 2)
        });
        let Some((func, args)) = call else {
            self.err(
                Diagnostic::error(
                    codes::NODE_RELATION,
                    format!("expected `ref('name')`, found `{}`", m.value),
                )
                .at(m.span)
                .with_help("write `model: ref('table_name')`"),
            );
            return None;
        };
        let spec = self.spec;
        let dbt = spec.dbt.as_ref().filter(|d| d.target.is_some());
        if func == "source" {
            if let Some(r) = dbt.and_then(|d| d.source_relation(&args[0], &args[1])) {
                return Some(r.relation_name.clone());
            }
            if let Some(d) = dbt {
                let known: Vec<String> =
                    d.sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
                let wanted = format!("{}.{}", args[0], args[1]);
                self.err(
                    Diagnostic::error(
                        codes::NODE_RELATION,
                        format!("no source table `{wanted}` in the project's sources"),
                    )
                    .at(m.span)
                    .with_label("unknown source")
                    .with_suggestion(&wanted, known.iter().map(String::as_str))
                    .with_help(
                        "sources are declared under `sources:` in YAML under the model paths",
                    ),
                );
                return None;
            }
            return Some(format!("{}.{}", args[0], args[1]));
        }
        let name = args.last().cloned().unwrap_or_default();
        let package = (args.len() == 2).then(|| args[0].as_str());
        let rel = &spec.config.relations;
        if let Some(r) = rel.refs.get(&name) {
            return Some(r.value.clone());
        }
        if let Some(s) = &rel.ref_schema {
            return Some(format!("{}.{}", s.value, name));
        }
        if let Some(d) = dbt {
            if let Some(r) = d.model_relation(package, &name) {
                return Some(r.relation_name.clone());
            }
            let known: Vec<&str> = d.models.keys().map(|(_, n)| n.as_str()).collect();
            self.err(
                Diagnostic::error(
                    codes::NODE_RELATION,
                    format!(
                        "`{}` refers to a model the dbt project does not have",
                        m.value
                    ),
                )
                .at(m.span)
                .with_label("no enabled model of this name")
                .with_suggestion(&name, known.iter().copied())
                .with_help(
                    "a model is a .sql or .py file under the model paths of dbt_project.yml",
                ),
            );
            return None;
        }
        Some(name)
    }

    /// An element name must mean the same kind of thing in every semantic model that has it.
    fn check_element_consistency(&mut self, model: &Model) {
        let mut kinds: IndexMap<&str, (&str, Span)> = IndexMap::new();
        for sm in &model.semantic_models {
            let items = sm
                .entities
                .iter()
                .map(|e| (e.name.as_str(), "entity", e.span))
                .chain(sm.dimensions.iter().map(|d| {
                    (
                        d.name.as_str(),
                        if d.is_time() {
                            "time dimension"
                        } else {
                            "categorical dimension"
                        },
                        d.span,
                    )
                }))
                .chain(
                    sm.measures
                        .iter()
                        .map(|m| (m.name.as_str(), "measure", m.span)),
                );
            for (name, kind, span) in items {
                match kinds.get(name) {
                    Some((k, prev)) if *k != kind => {
                        let d = Diagnostic::error(
                            codes::ELEMENT_CONFLICT,
                            format!("`{name}` is a {kind} here but a {k} elsewhere"),
                        )
                        .at(span)
                        .with_secondary(*prev, format!("a {k} here"))
                        .with_help(
                            "an element name must mean one kind of thing across semantic models",
                        );
                        self.diags.push(d);
                    }
                    Some(_) => {}
                    None => {
                        kinds.insert(name, (kind, span));
                    }
                }
            }
        }
        // A measure name must be unique across models.
        let mut measures: IndexMap<&str, Span> = IndexMap::new();
        for sm in &model.semantic_models {
            for m in &sm.measures {
                if let Some(prev) = measures.get(m.name.as_str()) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!("measure `{}` is defined in two semantic models", m.name),
                        )
                        .at(m.span)
                        .with_secondary(*prev, "first defined here"),
                    );
                } else {
                    measures.insert(&m.name, m.span);
                }
            }
        }
    }

    fn measure_ref(&mut self, model: &Model, input: &spec::Input) -> Option<MeasureRef> {
        match model.find_measure(&input.name.value) {
            Some((mi, i)) => Some(MeasureRef {
                model: mi,
                measure: i,
                name: input.name.value.clone(),
                filters: input.filter.iter().map(Filter::from_spanned).collect(),
                join_to_timespine: input.join_to_timespine,
                fill_nulls_with: input.fill_nulls_with.as_ref().map(|f| f.value),
            }),
            None => {
                let d = Diagnostic::error(
                    codes::UNKNOWN_MEASURE,
                    format!("unknown measure `{}`", input.name.value),
                )
                .at(input.name.span)
                .with_label("no semantic model defines this measure")
                .with_suggestion(&input.name.value, model.measure_names());
                self.err(d);
                None
            }
        }
    }

    fn metric_input(&mut self, input: &spec::Input) -> MetricInput {
        MetricInput {
            name: input.name.value.clone(),
            alias: input.alias.as_ref().map(|a| a.value.clone()),
            filters: input.filter.iter().map(Filter::from_spanned).collect(),
            offset_window: input.offset_window.as_ref().and_then(|w| self.window(w)),
            offset_to_grain: input
                .offset_to_grain
                .as_ref()
                .and_then(|g| self.time_grain(g)),
            span: input.name.span,
        }
    }

    fn resolve_metric(&mut self, m: &spec::Metric, model: &mut Model) -> Option<Metric> {
        let tp = m.type_params.clone().unwrap_or_default();
        let missing = |r: &mut Self, what: &str, help: &str| {
            r.err(
                Diagnostic::error(
                    codes::METRIC_PARAMS,
                    format!(
                        "{} metric `{}` has no {what}",
                        type_name(m.metric_type.value),
                        m.name.value
                    ),
                )
                .at(m.metric_type.span)
                .with_help(help.to_string()),
            );
        };
        let kind = match m.metric_type.value {
            MetricType::Simple => {
                let mut measure = if let Some(input) = &tp.measure {
                    self.measure_ref(model, input)?
                } else if inline_agg(m).is_some() {
                    self.inline.get(&m.name.value).cloned().flatten()?
                } else {
                    missing(self, "measure", "add `type_params: {measure: <measure>}`, or `agg:` and `expr:` (newer dbt spec)");
                    return None;
                };
                if let Some(j) = tp.join_to_timespine.or(m.join_to_timespine) {
                    measure.join_to_timespine |= j;
                }
                if let Some(f) = tp.fill_nulls_with.as_ref().or(m.fill_nulls_with.as_ref()) {
                    measure.fill_nulls_with = Some(f.value);
                }
                MetricKind::Simple(measure)
            }
            MetricType::Ratio => {
                let (Some(n), Some(d)) = (
                    tp.numerator.as_ref().or(m.numerator.as_ref()),
                    tp.denominator.as_ref().or(m.denominator.as_ref()),
                ) else {
                    missing(
                        self,
                        "numerator and denominator",
                        "add `type_params: {numerator: <metric>, denominator: <metric>}`",
                    );
                    return None;
                };
                MetricKind::Ratio {
                    numerator: self.metric_input(n),
                    denominator: self.metric_input(d),
                }
            }
            MetricType::Derived => {
                let Some(expr) = tp.expr.as_ref().or(m.expr.as_ref()) else {
                    missing(
                        self,
                        "expr",
                        "add `type_params: {expr: <formula over input metrics>}`",
                    );
                    return None;
                };
                let Some(inputs) = tp.metrics.as_ref().or(m.input_metrics.as_ref()) else {
                    missing(self, "input metrics", "add `type_params: {metrics: [...]}`");
                    return None;
                };
                let inputs: Vec<MetricInput> =
                    inputs.iter().map(|i| self.metric_input(i)).collect();
                let mut seen: IndexMap<&str, Span> = IndexMap::new();
                for i in &inputs {
                    if let Some(prev) = seen.get(i.output_name()) {
                        self.err(
                            Diagnostic::error(
                                codes::DERIVED_INPUT,
                                format!(
                                    "two inputs of `{}` are called `{}`",
                                    m.name.value,
                                    i.output_name()
                                ),
                            )
                            .at(i.span)
                            .with_secondary(*prev, "first here")
                            .with_help("give one of them an `alias`"),
                        );
                    }
                    seen.insert(i.output_name(), i.span);
                }
                MetricKind::Derived {
                    expr: Filter::from_spanned(expr),
                    inputs,
                }
            }
            MetricType::Cumulative => {
                let ctp = tp.cumulative_type_params.clone().unwrap_or_default();
                let measure = if let Some(input) = tp.measure.as_ref() {
                    self.measure_ref(model, input)?
                } else if let Some(input) = ctp.metric.as_ref().or(m.input_metric.as_ref()) {
                    self.simple_metric_measure(m, input, model)?
                } else {
                    missing(
                        self,
                        "input",
                        "add `input_metric: <simple metric>` (or legacy `type_params: {measure: <measure>}`)",
                    );
                    return None;
                };
                let window_s = ctp
                    .window
                    .as_ref()
                    .or(tp.window.as_ref())
                    .or(m.window.as_ref());
                let gtd_s = ctp
                    .grain_to_date
                    .as_ref()
                    .or(tp.grain_to_date.as_ref())
                    .or(m.grain_to_date.as_ref());
                if let (Some(w), Some(_)) = (window_s, gtd_s) {
                    self.err(
                        Diagnostic::error(
                            codes::CUMULATIVE_PARAMS,
                            "a cumulative metric takes a window or grain_to_date, not both",
                        )
                        .at(w.span)
                        .with_help("remove one of them"),
                    );
                    return None;
                }
                let window = match window_s {
                    Some(w) => Some(self.window(w)?),
                    None => None,
                };
                let grain_to_date = match gtd_s {
                    Some(g) => Some(self.time_grain(g)?),
                    None => None,
                };
                MetricKind::Cumulative {
                    measure,
                    window,
                    grain_to_date,
                    period_agg: ctp
                        .period_agg
                        .as_ref()
                        .or(m.period_agg.as_ref())
                        .map(|p| p.value)
                        .unwrap_or(PeriodAgg::First),
                }
            }
            MetricType::Conversion => {
                let ctp = tp.conversion_type_params.clone().unwrap_or_default();
                // Legacy measures, or (MetricFlow 0.210+, dbt's latest spec) simple metrics.
                let base_in = ctp.base_measure.as_ref().map(|b| (b, false)).or_else(|| {
                    ctp.base_metric
                        .as_ref()
                        .or(m.base_metric.as_ref())
                        .map(|b| (b, true))
                });
                let conv_in = ctp
                    .conversion_measure
                    .as_ref()
                    .map(|c| (c, false))
                    .or_else(|| {
                        ctp.conversion_metric
                            .as_ref()
                            .or(m.conversion_metric.as_ref())
                            .map(|c| (c, true))
                    });
                let (Some((b, b_metric)), Some((c, c_metric)), Some(e)) =
                    (base_in, conv_in, ctp.entity.as_ref().or(m.entity.as_ref()))
                else {
                    missing(
                        self,
                        "base, conversion and entity",
                        "a conversion metric needs `entity`, `base_metric` and `conversion_metric` (legacy: conversion_type_params with base_measure, conversion_measure and entity)",
                    );
                    return None;
                };
                let base = if b_metric {
                    self.simple_metric_measure(m, b, model)
                } else {
                    self.measure_ref(model, b)
                };
                let conversion = if c_metric {
                    self.simple_metric_measure(m, c, model)
                } else {
                    self.measure_ref(model, c)
                };
                let window_s = ctp.window.as_ref().or(m.window.as_ref());
                let window = match window_s {
                    Some(w) => Some(self.window(w)?),
                    None => None,
                };
                let (base, conversion) = (base?, conversion?);
                for (r, input) in [(&base, b), (&conversion, c)] {
                    let sm = &model.semantic_models[r.model];
                    if sm.entity(&e.value).is_none() {
                        self.err(
                            Diagnostic::error(codes::CONVERSION_PARAMS, format!("entity `{}` is not in semantic model `{}` of measure `{}`", e.value, sm.name, input.name.value))
                                .at(e.span)
                                .with_suggestion(&e.value, sm.entities.iter().map(|x| x.name.as_str()))
                                .with_help("a conversion entity must be an entity of both the base and the conversion measure's semantic model"),
                        );
                        return None;
                    }
                }
                MetricKind::Conversion {
                    base,
                    conversion,
                    entity: e.value.clone(),
                    calculation: ctp
                        .calculation
                        .as_ref()
                        .or(m.calculation.as_ref())
                        .map(|c| c.value)
                        .unwrap_or(ConversionCalculation::ConversionRate),
                    window,
                    constant_properties: if ctp.constant_properties.is_empty() {
                        &m.constant_properties
                    } else {
                        &ctp.constant_properties
                    }
                    .iter()
                    .map(|p| ConstantProperty {
                        base_property: p.base_property.value.clone(),
                        conversion_property: p.conversion_property.value.clone(),
                    })
                    .collect(),
                }
            }
        };
        let time_granularity = match &m.time_granularity {
            Some(g) => self.grain(g),
            None => None,
        };
        let owners = self.resolve_owners(m, model);
        Some(Metric {
            name: m.name.value.clone(),
            span: m.name.span,
            label: m.label.as_ref().map(|l| l.value.clone()),
            description: m.description.clone(),
            kind,
            filters: m.filter.iter().map(Filter::from_spanned).collect(),
            time_granularity,
            owners,
            drivers: m.drivers.iter().map(|d| d.value.clone()).collect(),
            tags: m.tags.clone(),
            hidden: m.hidden || tp.is_private == Some(true),
        })
    }

    /// A simple metric that carries its own aggregation becomes a measure of its semantic model,
    /// named like the metric (dbt's latest spec, MetricFlow's `metric_aggregation_params`).
    fn inline_measure(&mut self, a: &InlineAgg<'_>, model: &mut Model) -> Option<MeasureRef> {
        let Some(smn) = a.semantic_model else {
            self.err(
                Diagnostic::error(
                    codes::METRIC_PARAMS,
                    format!(
                        "simple metric `{}` has `agg` but no semantic model",
                        a.name.value
                    ),
                )
                .at(a.agg.span)
                .with_help(
                    "define the metric under its model's `metrics:` (dbt's latest spec), or add `semantic_model: <name>`",
                ),
            );
            return None;
        };
        let Some((mi, sm)) = model.semantic_model(&smn.value) else {
            let d = Diagnostic::error(
                codes::METRIC_PARAMS,
                format!("unknown semantic model `{}`", smn.value),
            )
            .at(smn.span)
            .with_suggestion(
                &smn.value,
                model.semantic_models.iter().map(|s| s.name.as_str()),
            )
            .with_help("a simple metric aggregates the rows of one semantic model");
            self.err(d);
            return None;
        };
        let atd = a.agg_time_dimension.cloned().or_else(|| {
            sm.default_agg_time_dimension
                .clone()
                .map(Spanned::synthetic)
        });
        let Some(atd) = atd else {
            self.err(
                Diagnostic::error(
                    codes::AGG_TIME_DIMENSION,
                    format!(
                        "metric `{}` has no aggregation time dimension",
                        a.name.value
                    ),
                )
                .at(a.name.span)
                .with_help("set `agg_time_dimension` on the metric, or on its model"),
            );
            return None;
        };
        if !sm
            .dimensions
            .iter()
            .any(|d| d.name == atd.value && d.is_time())
        {
            let time_dims: Vec<&str> = sm
                .dimensions
                .iter()
                .filter(|d| d.is_time())
                .map(|d| d.name.as_str())
                .collect();
            let span = if atd.span.is_dummy() {
                a.name.span
            } else {
                atd.span
            };
            self.err(
                Diagnostic::error(
                    codes::AGG_TIME_DIMENSION,
                    format!(
                        "aggregation time dimension `{}` of metric `{}` is not a time dimension of `{}`",
                        atd.value, a.name.value, sm.name
                    ),
                )
                .at(span)
                .with_suggestion(&atd.value, time_dims.iter().copied())
                .with_help(format!(
                    "time dimensions of `{}`: {}",
                    sm.name,
                    if time_dims.is_empty() {
                        "none".to_string()
                    } else {
                        time_dims.join(", ")
                    }
                )),
            );
            return None;
        }
        let fake = spec::Measure {
            name: a.name.clone(),
            agg: a.agg.clone(),
            expr: a.expr.cloned(),
            description: None,
            label: None,
            create_metric: false,
            agg_params: a.agg_params.clone(),
            non_additive_dimension: a.non_additive.cloned(),
            agg_time_dimension: None,
            config: None,
            meta: None,
        };
        let (kind, expr) = self.resolve_measure(
            &fake,
            a.agg.value,
            a.expr,
            a.agg_params.as_ref(),
            a.agg.span,
        )?;
        let sm = &mut model.semantic_models[mi];
        sm.measures.push(Measure {
            name: a.name.value.clone(),
            agg: kind,
            expr,
            agg_time_dimension: atd.value,
            non_additive: a.non_additive.map(|n| NonAdditive {
                dimension: n.name.value.clone(),
                window_choice: n
                    .window_choice
                    .as_ref()
                    .map(|w| w.value)
                    .unwrap_or(WindowChoice::Min),
                window_groupings: n.window_groupings.iter().map(|g| g.value.clone()).collect(),
            }),
            label: None,
            span: a.name.span,
        });
        Some(MeasureRef {
            model: mi,
            measure: sm.measures.len() - 1,
            name: a.name.value.clone(),
            filters: vec![],
            join_to_timespine: false,
            fill_nulls_with: None,
        })
    }

    /// The measure behind a simple metric named as the input of a cumulative or conversion metric
    /// (MetricFlow 0.210+, dbt's latest spec): the input metric's filters, `join_to_timespine` and
    /// `fill_nulls_with` carry over, followed by the input's own filters.
    fn simple_metric_measure(
        &mut self,
        of: &spec::Metric,
        input: &spec::Input,
        model: &Model,
    ) -> Option<MeasureRef> {
        let spec = self.spec;
        let Some(x) = spec
            .metrics
            .iter()
            .find(|x| x.name.value == input.name.value)
        else {
            let d = Diagnostic::error(
                codes::UNKNOWN_METRIC,
                format!("unknown metric `{}`", input.name.value),
            )
            .at(input.name.span)
            .with_label(format!("input of `{}`", of.name.value))
            .with_suggestion(
                &input.name.value,
                spec.metrics
                    .iter()
                    .filter(|x| x.metric_type.value == MetricType::Simple)
                    .map(|x| x.name.value.as_str()),
            )
            .with_help("the input of a cumulative or conversion metric is a simple metric");
            self.err(d);
            return None;
        };
        if x.metric_type.value != MetricType::Simple {
            self.err(
                Diagnostic::error(
                    codes::METRIC_PARAMS,
                    format!(
                        "input `{}` of `{}` is a {} metric",
                        input.name.value,
                        of.name.value,
                        type_name(x.metric_type.value)
                    ),
                )
                .at(input.name.span)
                .with_secondary(x.name.span, "defined here")
                .with_help("the input of a cumulative or conversion metric is a simple metric"),
            );
            return None;
        }
        let tp = x.type_params.as_ref();
        let mut r = match tp.and_then(|t| t.measure.as_ref()) {
            Some(mi) => self.measure_ref(model, mi)?,
            // Reported where the simple metric itself is resolved.
            None => self.inline.get(&x.name.value).cloned().flatten()?,
        };
        let mut filters: Vec<Filter> = x.filter.iter().map(Filter::from_spanned).collect();
        filters.append(&mut r.filters);
        filters.extend(input.filter.iter().map(Filter::from_spanned));
        r.filters = filters;
        r.name = x.name.value.clone();
        if tp
            .and_then(|t| t.join_to_timespine)
            .or(x.join_to_timespine)
            .unwrap_or(false)
        {
            r.join_to_timespine = true;
        }
        if let Some(f) = tp
            .and_then(|t| t.fill_nulls_with.as_ref())
            .or(x.fill_nulls_with.as_ref())
        {
            r.fill_nulls_with = Some(f.value);
        }
        Some(r)
    }

    fn resolve_owners(&mut self, m: &spec::Metric, model: &Model) -> Owners {
        let Some(o) = &m.owners else {
            return Owners::default();
        };
        let known = |n: &str| model.people.contains_key(n) || model.teams.contains_key(n);
        let candidates: Vec<&str> = model
            .people
            .keys()
            .chain(model.teams.keys())
            .map(String::as_str)
            .collect();
        let check = |r: &mut Self, list: &[Spanned<String>]| -> Vec<String> {
            let mut out = Vec::new();
            for n in list {
                if !known(&n.value) {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_OWNER,
                        format!("unknown owner `{}`", n.value),
                    )
                    .at(n.span)
                    .with_label("not a person or team of the roster")
                    .with_suggestion(&n.value, candidates.iter().copied());
                    if candidates.is_empty() {
                        d = d.with_help(
                            "list people and teams under `people:` and `teams:` in tally.yml",
                        );
                    }
                    r.err(d);
                }
                out.push(n.value.clone());
            }
            out
        };
        let accountable = check(self, &o.accountable.0);
        let responsible = check(self, &o.responsible.0);
        let consulted = check(self, &o.consulted.0);
        let informed = check(self, &o.informed.0);
        if accountable.len() != 1 {
            let d = Diagnostic::error(
                codes::ACCOUNTABLE,
                if accountable.is_empty() {
                    format!("metric `{}` has owners but no accountable owner", m.name.value)
                } else {
                    format!("metric `{}` has {} accountable owners", m.name.value, accountable.len())
                },
            )
            .at(o.accountable.0.get(1).map(|s| s.span).unwrap_or(m.name.span))
            .with_help("RACI: exactly one person or team is accountable; others can be responsible, consulted or informed");
            self.err(d);
        }
        Owners {
            accountable: accountable.into_iter().next(),
            responsible,
            consulted,
            informed,
        }
    }

    /// Input metrics exist; derived metrics and drivers have no cycles.
    fn check_metric_references(&mut self, model: &mut Model) {
        let names: Vec<String> = model.metrics.keys().cloned().collect();
        let mut bad: Vec<String> = Vec::new();
        for m in model.metrics.values() {
            for i in m.input_metrics() {
                if !model.metrics.contains_key(&i.name) {
                    let d = Diagnostic::error(
                        codes::UNKNOWN_METRIC,
                        format!("unknown metric `{}`", i.name),
                    )
                    .at(i.span)
                    .with_label(format!("input of `{}`", m.name))
                    .with_suggestion(&i.name, names.iter().map(String::as_str));
                    self.diags.push(d);
                    bad.push(m.name.clone());
                }
            }
            for d in &m.drivers {
                if !model.metrics.contains_key(d) {
                    let span = self
                        .spec
                        .metrics
                        .iter()
                        .find(|x| x.name.value == m.name)
                        .and_then(|x| x.drivers.iter().find(|s| &s.value == d))
                        .map(|s| s.span)
                        .unwrap_or(m.span);
                    self.diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_DRIVER,
                            format!("unknown driver metric `{d}`"),
                        )
                        .at(span)
                        .with_suggestion(d, names.iter().map(String::as_str))
                        .with_help("`drivers` lists metrics of this project that move this metric"),
                    );
                }
            }
        }
        // Cycles among inputs, and among drivers.
        for (edges_of, code, what) in [
            (0u8, codes::METRIC_CYCLE, "derived metrics"),
            (1u8, codes::DRIVER_CYCLE, "drivers"),
        ] {
            let edges = |m: &Metric| -> Vec<String> {
                if edges_of == 0 {
                    m.input_metrics().iter().map(|i| i.name.clone()).collect()
                } else {
                    m.drivers.clone()
                }
            };
            let mut state: IndexMap<String, u8> = IndexMap::new();
            let mut reported = false;
            for start in &names {
                if reported {
                    break;
                }
                let mut stack: Vec<(String, Vec<String>)> = Vec::new();
                if state.get(start).copied().unwrap_or(0) != 0 {
                    continue;
                }
                stack.push((start.clone(), edges(&model.metrics[start])));
                state.insert(start.clone(), 1);
                while let Some((node, mut rest)) = stack.pop() {
                    if let Some(next) = rest.pop() {
                        stack.push((node, rest));
                        match state.get(&next).copied().unwrap_or(0) {
                            0 => {
                                if let Some(nm) = model.metrics.get(&next) {
                                    state.insert(next.clone(), 1);
                                    stack.push((next.clone(), edges(nm)));
                                }
                            }
                            1 => {
                                let mut cycle: Vec<String> =
                                    stack.iter().map(|(n, _)| n.clone()).collect();
                                if let Some(p) = cycle.iter().position(|n| *n == next) {
                                    cycle.drain(..p);
                                }
                                cycle.push(next.clone());
                                let span = model.metrics[&next].span;
                                self.diags.push(
                                    Diagnostic::error(
                                        code,
                                        format!("{what} form a cycle: {}", cycle.join(" -> ")),
                                    )
                                    .at(span)
                                    .with_help("break the cycle: a metric cannot depend on itself"),
                                );
                                bad.extend(cycle);
                                reported = true;
                                break;
                            }
                            _ => {}
                        }
                    } else {
                        state.insert(node, 2);
                    }
                }
            }
            if edges_of == 1 {
                // Driver cycles do not make metrics unqueryable.
                bad.retain(|_| true);
            }
        }
        // Leave metrics with dangling inputs or input cycles out, transitively.
        let mut changed = !bad.is_empty();
        let mut bad: std::collections::BTreeSet<String> = bad.into_iter().collect();
        while changed {
            changed = false;
            for m in model.metrics.values() {
                if !bad.contains(&m.name) && m.input_metrics().iter().any(|i| bad.contains(&i.name))
                {
                    bad.insert(m.name.clone());
                    changed = true;
                }
            }
        }
        model.metrics.retain(|n, _| !bad.contains(n));
    }
}

/// A simple metric's own aggregation, from the flat keys (`agg`, `expr`, ...; dbt's latest spec as
/// translated by [`crate::spec_latest`]) or from MetricFlow's `metric_aggregation_params`.
struct InlineAgg<'b> {
    name: &'b Spanned<String>,
    semantic_model: Option<&'b Spanned<String>>,
    agg: &'b Spanned<Agg>,
    expr: Option<&'b Spanned<String>>,
    agg_time_dimension: Option<&'b Spanned<String>>,
    agg_params: Option<spec::AggParams>,
    non_additive: Option<&'b spec::NonAdditiveDimension>,
}

/// The inline aggregation of a simple metric that has no `type_params.measure`, if any.
fn inline_agg(m: &spec::Metric) -> Option<InlineAgg<'_>> {
    let tp = m.type_params.as_ref();
    if m.metric_type.value != MetricType::Simple || tp.is_some_and(|t| t.measure.is_some()) {
        return None;
    }
    if let Some(p) = tp.and_then(|t| t.metric_aggregation_params.as_ref()) {
        return Some(InlineAgg {
            name: &m.name,
            semantic_model: Some(&p.semantic_model),
            agg: &p.agg,
            expr: tp.and_then(|t| t.expr.as_ref()).or(p.expr.as_ref()),
            agg_time_dimension: p.agg_time_dimension.as_ref(),
            agg_params: p.agg_params.clone(),
            non_additive: p.non_additive_dimension.as_ref(),
        });
    }
    let agg = m.agg.as_ref()?;
    let discrete = m
        .percentile_type
        .as_ref()
        .is_some_and(|t| t.value.eq_ignore_ascii_case("discrete"));
    // dbt's `percentile_type: continuous` is MetricFlow's approximate percentile; without a
    // `percentile_type` the percentile is exact and continuous.
    let approximate = m
        .percentile_type
        .as_ref()
        .is_some_and(|t| t.value.eq_ignore_ascii_case("continuous"));
    let agg_params = m.agg_params.clone().or_else(|| {
        (m.percentile.is_some() || m.percentile_type.is_some()).then(|| spec::AggParams {
            percentile: m.percentile.clone(),
            use_discrete_percentile: discrete,
            use_approximate_percentile: approximate,
        })
    });
    Some(InlineAgg {
        name: &m.name,
        semantic_model: m.semantic_model.as_ref(),
        agg,
        expr: m.expr.as_ref().or(tp.and_then(|t| t.expr.as_ref())),
        agg_time_dimension: m.agg_time_dimension.as_ref(),
        agg_params,
        non_additive: m.non_additive_dimension.as_ref(),
    })
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
