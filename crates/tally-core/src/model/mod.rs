//! Stage 2, `resolve`: [`ProjectSpec`](crate::load::ProjectSpec) -> checked semantic [`Model`] + diagnostics.
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

use crate::diag::Diagnostic;
use crate::source::{SourceMap, Span};
use crate::spec::{self, ConversionCalculation, EntityType, PeriodAgg, WindowChoice};
use crate::time::{Grain, TimeGrain, Window};
use crate::yaml::Spanned;
use indexmap::IndexMap;
use serde::Serialize;
use std::sync::Arc;

pub mod bind;
pub mod business;
mod business_deadline;
pub mod business_range;
pub mod checks;
mod elements;
mod ir;
mod lookup;
mod resolve;

pub use bind::{
    bind_filter, bind_item, item_out, join_path, BoundFilter, FilterRef, Item, ItemKey, ItemPeriod,
    MetricRef, Target,
};
pub use elements::{ElementId, ElementPath, ModelElements, NonAdditiveIds};
pub use ir::{DerivedFormula, Filter, FormulaName};

pub(crate) use resolve::is_valid_name;
pub use resolve::spec_to_model;

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
    /// tally's check tests (`check_tests:`), checked by `targets::check_test`.
    pub check_tests: Vec<spec::CheckTest>,
    /// tally's declared source tables for metric tests.
    #[serde(skip)]
    pub test_tables: Vec<spec::TestTable>,
    /// The project configurations as written (time spines with their spans), for validation.
    #[serde(skip)]
    pub project_configurations: Vec<spec::ProjectConfiguration>,
    /// Targets, alerts and notification endpoints (`tally check`), resolved with the model and
    /// evaluated by [`crate::targets`].
    #[serde(skip)]
    pub checks: checks::Checks,
    /// Business calendars (`business_calendars:`), checked.
    #[serde(skip)]
    pub calendars: crate::calendar::Calendars,
    /// Name lookups over `semantic_models`, built once by resolution so that planning a query (and
    /// validation, which plans every metric) does not scan every semantic model per name.
    #[serde(skip)]
    pub index: ModelIndex,
    /// The `sql:` of semantic models rendered through the macro library, per (model, dialect):
    /// rendered once, not once per query (validation plans every metric).
    #[serde(skip)]
    rendered_sql: std::sync::Mutex<RenderedSql>,
    /// The relation names each `sql:` relation reads, per (semantic model, with business
    /// durations, dialect name), computed when the SQL stage first needs them (`sql::reads`) and
    /// kept with the rendered text they were computed from.
    #[serde(skip)]
    relation_reads: std::sync::Mutex<RelationReads>,
    /// Business relations with their clock's rows written for a dialect, per (semantic model,
    /// dialect): (the rendered relation they were made from, the SQL).
    #[serde(skip)]
    with_clock: std::sync::Mutex<std::collections::HashMap<(usize, String), (Arc<str>, Arc<str>)>>,
    /// The dialect (its name) in which validation found every user SQL fragment of the project to
    /// parse (`fragments::check_model` said nothing): the SQL stage then need not parse a
    /// `sql:` query again when it writes that dialect ([`Model::sql_checked_in`]). Unset until
    /// validation, or a replay of a validation of the same state, says so.
    #[serde(skip)]
    sql_checked: std::sync::OnceLock<String>,
}

impl Model {
    /// Record that every user SQL fragment parses in `dialect` (validation's finding, or that
    /// of a validation of the same project state, replayed). The first dialect recorded stays.
    pub fn mark_sql_checked(&self, dialect: &str) {
        let _ = self.sql_checked.set(dialect.to_string());
    }

    /// Whether validation found every user SQL fragment to parse in `dialect`.
    pub fn sql_checked_in(&self, dialect: &str) -> bool {
        self.sql_checked.get().is_some_and(|d| d == dialect)
    }
}

/// Relation names read by `sql:` relations: (semantic model, business, dialect name) -> (the
/// relation's text as that dialect renders it, every part of every relation it reads,
/// lower-cased).
type RelationReads =
    std::collections::HashMap<(usize, bool, &'static str), (String, Arc<BTreeSet<String>>)>;
use std::collections::BTreeSet;

/// Rendered `sql:` of semantic models by (semantic model, dialect name).
type RenderedSql = std::collections::HashMap<(usize, String), Result<Arc<str>, Diagnostic>>;

/// Hash indexes from names to the semantic models that define them. Only looked up, never
/// iterated, so output order does not depend on them. An index built for a different number of
/// semantic models than the model now has is ignored (lookups fall back to a scan).
#[derive(Debug, Default)]
pub struct ModelIndex {
    built_for: usize,
    /// Measure name -> (semantic model, measure), the first in model order.
    measures: std::collections::HashMap<String, (usize, usize)>,
    /// Element names bound to ids, and where each occurs ([`elements`]).
    elements: elements::Elements,
    /// The names of the semantic models, lower-cased (CTE names keep clear of them).
    model_names: Arc<std::collections::HashSet<String>>,
    /// Every part of the tables that table-backed semantic models read, lower-cased: reserved
    /// from a query's first plan on, so that a model reading a table named like itself does not
    /// make the planner plan again (`plan::names`).
    table_relations: Arc<BTreeSet<String>>,
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
    /// when a query is planned. Shared, not copied, by the plans that read it.
    Query(
        #[serde(serialize_with = "serialize_shared_str")] Arc<str>,
        #[serde(skip)] Span,
    ),
}

/// Serializes a shared text as the string it holds.
pub(crate) fn serialize_shared_str<S: serde::Serializer>(
    s: &Arc<str>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

#[derive(Debug, Clone, Serialize)]
pub struct SemanticModel {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub label: Option<String>,
    /// The characters of `label`'s value in the file.
    #[serde(skip)]
    pub label_span: Span,
    pub description: Option<String>,
    pub relation: Relation,
    pub primary_entity: Option<String>,
    pub default_agg_time_dimension: Option<String>,
    pub entities: Vec<Entity>,
    pub dimensions: Vec<Dimension>,
    pub measures: Vec<Measure>,
    /// The relation with the model's business durations as columns (`calendar::duration`).
    #[serde(skip)]
    pub business: Option<business::Wrapped>,
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
    /// The characters of `label`'s value in the file.
    #[serde(skip)]
    pub label_span: Span,
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
    /// The characters of the dimension's name in the file.
    #[serde(skip)]
    pub dimension_span: Span,
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
    /// The characters of `label`'s value in the file.
    #[serde(skip)]
    pub label_span: Span,
    #[serde(skip)]
    pub span: Span,
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
    /// Where the input names the measure (or the simple metric it comes from).
    #[serde(skip)]
    pub span: Span,
}

/// A metric of a [`Model`]: its position in [`Model::metrics`]. Resolution binds every input
/// to one after it has left out the metrics that do not resolve, and the metrics do not move
/// afterwards; look it up with [`Model::metric_by_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub u32);

impl MetricId {
    /// Not bound (yet): an input of a metric that resolution left out.
    pub const UNBOUND: MetricId = MetricId(u32::MAX);

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A metric as the input of a ratio or derived metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricInput {
    pub name: String,
    /// The metric `name` names, bound by resolution.
    #[serde(skip)]
    pub metric: MetricId,
    pub alias: Option<String>,
    pub filters: Vec<Filter>,
    pub offset_window: Option<Window>,
    pub offset_to_grain: Option<TimeGrain>,
    #[serde(skip)]
    pub span: Span,
    /// The characters of `alias`'s value in the file.
    #[serde(skip)]
    pub alias_span: Span,
    /// The characters of `offset_to_grain`'s value in the file.
    #[serde(skip)]
    pub offset_to_grain_span: Span,
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
    /// The characters of `base_property`'s value in the file.
    #[serde(skip)]
    pub base_span: Span,
    /// The characters of `conversion_property`'s value in the file.
    #[serde(skip)]
    pub conversion_span: Span,
    /// `base_property` bound to its id by resolution ([`ElementId::UNKNOWN`] for a name no
    /// semantic model has).
    #[serde(skip)]
    pub base_id: ElementId,
    /// `conversion_property` bound to its id by resolution.
    #[serde(skip)]
    pub conversion_id: ElementId,
}

#[derive(Debug, Clone, Serialize)]
pub enum MetricKind {
    Simple(MeasureRef),
    Ratio {
        numerator: MetricInput,
        denominator: MetricInput,
    },
    Derived {
        expr: DerivedFormula,
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
        /// `entity` bound to its id by resolution (an entity of both measures' models).
        #[serde(skip)]
        entity_id: ElementId,
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
    /// Where the values of the metric's keys are written (characters of the value).
    #[serde(skip)]
    pub spans: MetricSpans,
}

/// The characters in the file of a metric's values that have no span of their own in the model.
/// [`Span::DUMMY`] when the key is absent.
#[derive(Debug, Clone, Copy)]
pub struct MetricSpans {
    pub label: Span,
    pub time_granularity: Span,
    /// The cumulative or conversion window.
    pub window: Span,
    pub grain_to_date: Span,
}

impl Default for MetricSpans {
    fn default() -> MetricSpans {
        MetricSpans {
            label: Span::DUMMY,
            time_granularity: Span::DUMMY,
            window: Span::DUMMY,
            grain_to_date: Span::DUMMY,
        }
    }
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

    /// The inputs of a ratio or derived metric, to bind them.
    pub(crate) fn input_metrics_mut(&mut self) -> Vec<&mut MetricInput> {
        match &mut self.kind {
            MetricKind::Ratio {
                numerator,
                denominator,
            } => vec![numerator, denominator],
            MetricKind::Derived { inputs, .. } => inputs.iter_mut().collect(),
            _ => Vec::new(),
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
    /// The characters of `limit`'s value in the file.
    #[serde(skip)]
    pub limit_span: Span,
    /// `metrics` bound to ids by resolution, one per metric ([`MetricId::UNBOUND`] for a name no
    /// metric has, which resolution reports).
    #[serde(skip)]
    pub metric_ids: Vec<MetricId>,
    /// `group_by`, parsed by resolution (spans exact in the file), one per item.
    #[serde(skip)]
    pub group_by_parsed: Vec<Result<crate::expr::Reference, Diagnostic>>,
    /// `group_by`, bound to the model by resolution ([`bind::bind_item`]), one per item.
    #[serde(skip)]
    pub group_by_items: Vec<Result<Item, Diagnostic>>,
    /// `order_by`, parsed by resolution: the reference and whether it sorts descending.
    #[serde(skip)]
    pub order_by_parsed: Vec<Result<(crate::expr::Reference, bool), Diagnostic>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeSpine {
    pub relation: String,
    pub column: String,
    pub grain: Grain,
    /// Custom granularities: name -> column on the spine.
    pub custom_granularities: Vec<(String, String)>,
}
