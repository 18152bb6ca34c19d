//! dbt's latest semantic-layer YAML spec (dbt-core 1.12, dbt Fusion / Core v2), as written.
//!
//! In the latest spec a dbt model entry (`models:` in a schema file) is itself the semantic model:
//!
//! ```yaml
//! models:
//!   - name: orders
//!     semantic_model: {enabled: true}      # or `semantic_model: true` (dbt-core 1.12)
//!     agg_time_dimension: ordered_at
//!     columns:
//!       - {name: order_id, entity: {type: primary, name: order}}
//!       - {name: ordered_at, granularity: day, dimension: {type: time}}
//!       - {name: status, dimension: categorical}
//!     derived_semantics:
//!       dimensions: [{name: big, type: categorical, expr: "amount > 100"}]
//!     metrics:
//!       - {name: revenue, agg: sum, expr: amount}            # `type` defaults to simple
//!       - {name: revenue_mtd, type: cumulative, input_metric: revenue, grain_to_date: month}
//! ```
//!
//! This module holds the serde types of those keys (strict: unknown keys are errors with a "did you
//! mean", as everywhere else); [`translate`] turns a model entry into tally's spec types
//! ([`crate::spec::SemanticModel`] and [`crate::spec::Metric`]), the one place where the latest spec
//! meets the rest of tally. The legacy spec (`semantic_models:`, `type_params`) is read as before,
//! and a project may mix both, file by file or even in one file, as dbt-core 1.12 allows.
//!
//! Where dbt-core 1.12 and Fusion differ, tally accepts the union: `semantic_model: true` and the
//! mapping form, enum values in any case, `filter:` as one string or a list, `input_metrics` as names
//! or mappings, custom granularities in `offset_window`, and `fill_nulls_with` on model metrics
//! (which dbt-core 1.12 drops from its manifest, a dbt bug; Fusion keeps it, and so does tally).

pub mod translate;

use crate::spec::{DimensionType, EntityType, SString, ValidityParams, WindowChoice};
use crate::yaml::Spanned;
use schemars::JsonSchema;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// `semantic_model:` on a model entry: `true`/`false` (dbt-core 1.12) or a mapping (both engines).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename = "bool_or_map:SemanticModelConfig")]
#[schemars(rename = "SemanticModelConfig", transform = crate::schema_transform::or_bool)]
pub struct SemanticModelConfig {
    /// Whether the model is a semantic model (default true; dbt Fusion requires the key).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The semantic model's name (default: the model's name).
    #[serde(default)]
    pub name: Option<SString>,
    #[serde(default)]
    pub group: Option<SString>,
    /// `{meta: {...}}`.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// `dimension:` on a column: its type alone (`dimension: categorical`) or a mapping.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename = "type_or_map:ColumnDimension")]
#[schemars(rename = "ColumnDimension", transform = crate::schema_transform::or_type_string)]
pub struct ColumnDimension {
    /// categorical or time (a time dimension's granularity is the column's `granularity`).
    #[serde(rename = "type")]
    pub dimension_type: Spanned<DimensionType>,
    /// The dimension's name (default: the column's name).
    #[serde(default)]
    pub name: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    #[serde(default)]
    pub is_partition: bool,
    /// SCD type II: `{is_start: true}` or `{is_end: true}` (needs the column's `granularity`).
    #[serde(default)]
    pub validity_params: Option<ValidityParams>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// `entity:` on a column: its type alone (`entity: foreign`) or a mapping.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename = "type_or_map:ColumnEntity")]
#[schemars(rename = "ColumnEntity", transform = crate::schema_transform::or_type_string)]
pub struct ColumnEntity {
    /// primary, unique, foreign or natural.
    #[serde(rename = "type")]
    pub entity_type: Spanned<EntityType>,
    /// The entity's name (default: the column's name).
    #[serde(default)]
    pub name: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// A column of a model entry: dbt's column properties plus the semantic ones.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ModelColumn {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    /// The column's time granularity: required when its dimension is `time`; also names the grain
    /// of time-spine columns.
    #[serde(default)]
    pub granularity: Option<SString>,
    /// The column is a dimension.
    #[serde(default)]
    pub dimension: Option<ColumnDimension>,
    /// The column is an entity (a column may be both).
    #[serde(default)]
    pub entity: Option<ColumnEntity>,
    // dbt's own column properties: tally ignores them.
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub data_type: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub data_tests: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub tests: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub constraints: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub meta: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub tags: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub quote: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub config: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub policy_tags: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub docs: Option<IgnoredAny>,
}

/// A dimension computed by an expression (`derived_semantics: {dimensions: [...]}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DerivedDimension {
    pub name: SString,
    #[serde(rename = "type")]
    pub dimension_type: Spanned<DimensionType>,
    /// The SQL expression over the model's columns.
    pub expr: SString,
    /// Required for a time dimension.
    #[serde(default)]
    pub granularity: Option<SString>,
    #[serde(default)]
    pub is_partition: bool,
    #[serde(default)]
    pub label: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub validity_params: Option<ValidityParams>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// An entity computed by an expression (`derived_semantics: {entities: [...]}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DerivedEntity {
    pub name: SString,
    #[serde(rename = "type")]
    pub entity_type: Spanned<EntityType>,
    /// The SQL expression of the key.
    pub expr: SString,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// Entities and dimensions that are expressions rather than columns. Each item is decoded on its
/// own (see [`translate`]), so that one broken item does not hide the others' problems.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct DerivedSemantics {
    #[serde(default, skip_serializing)]
    #[schemars(with = "Vec<DerivedDimension>")]
    pub dimensions: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Vec<DerivedEntity>")]
    pub entities: Option<IgnoredAny>,
}

/// `percentile_type`: `discrete`, or `continuous` (MetricFlow's approximate percentile). Without
/// it a percentile is exact and continuous.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PercentileType {
    Discrete,
    Continuous,
}

/// A semi-additive metric's non-additive dimension (MetricFlow's `window_choice` and
/// `window_groupings` are `window_agg` and `group_by` here).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct NonAdditive {
    /// The time dimension the value is taken at (a balance's snapshot date).
    pub name: SString,
    /// min or max: the first or the last value of the dimension.
    #[serde(default)]
    pub window_agg: Option<Spanned<WindowChoice>>,
    /// Entities per which the first or last value is taken.
    #[serde(default)]
    pub group_by: Vec<SString>,
}

crate::spec::metric_keys::metric_struct! {
    // The keys shared with `spec::Metric` are declared once, in `spec::metric_keys`.
    /// A metric in the latest spec: under a model's `metrics:` (any type; simple metrics aggregate
    /// that model), with every parameter as a top-level key (no `type_params`).
    #[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
    pub struct ModelMetric {
        pub name: SString,
        /// simple (the default), ratio, cumulative, derived or conversion.
        #[serde(default, rename = "type")]
        pub metric_type: Option<Spanned<crate::spec::MetricType>>,
    }
    then {
        #[serde(default)]
        pub percentile_type: Option<Spanned<PercentileType>>,
        #[serde(default)]
        pub non_additive_dimension: Option<NonAdditive>,
    }
}

/// A dbt model entry (`models:` in a schema file) that is a semantic model in the latest spec.
/// Only the semantic keys are read; dbt's own model properties are accepted and ignored. The
/// lists (`metrics`, `columns`, `derived_semantics`) are decoded item by item (see [`translate`]),
/// so that one broken metric does not hide the problems of the others.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ModelEntry {
    /// The dbt model's name (the semantic model's, unless `semantic_model.name` says otherwise).
    pub name: SString,
    /// The semantic model's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Makes the model a semantic model: `true`, or `{enabled: true, name: ...}`.
    #[serde(default)]
    pub semantic_model: Option<SemanticModelConfig>,
    /// The default aggregation time dimension of the model's simple metrics.
    #[serde(default)]
    pub agg_time_dimension: Option<SString>,
    /// The entity the model is about when no column is a primary entity.
    #[serde(default)]
    pub primary_entity: Option<SString>,
    /// Metrics of the model: simple metrics aggregate it; others may live here too.
    #[serde(default, skip_serializing)]
    #[schemars(with = "Vec<ModelMetric>")]
    pub metrics: Option<IgnoredAny>,
    /// Entities and dimensions that are SQL expressions.
    #[serde(default)]
    pub derived_semantics: Option<DerivedSemantics>,
    /// The model's columns; `entity:` and `dimension:` make a column part of the semantic model.
    #[serde(default, skip_serializing)]
    #[schemars(with = "Vec<ModelColumn>")]
    pub columns: Option<IgnoredAny>,
    /// tally's durations in business time (`business_durations:` as on a legacy semantic model).
    #[serde(default, skip_serializing)]
    #[schemars(with = "Vec<crate::spec::calendar::BusinessDuration>")]
    pub business_durations: Option<IgnoredAny>,
    // dbt's own model properties: tally ignores them (the time spine is read elsewhere).
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub time_spine: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub config: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub docs: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub latest_version: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub deprecation_date: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub access: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub constraints: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub data_tests: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub tests: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub versions: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub meta: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub tags: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub group: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub freshness: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub unit_tests: Option<IgnoredAny>,
}
