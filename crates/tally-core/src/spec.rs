//! The project files as written: serde types for every YAML shape tally reads, with spans.
//!
//! These types are deliberately close to the text. Normalisation (legacy measures to simple metrics,
//! `count` to `sum` of a case expression, plural window units, ...) happens in [`crate::model`] (resolution), not
//! here, so that diagnostics can still point at what the user wrote.
//!
//! Shapes read:
//! - MetricFlow's directory format: one top-level key per document (`semantic_model`, `metric`,
//!   `saved_query`, `project_configuration`).
//! - dbt's schema YAML: lists under `semantic_models`, `metrics`, `saved_queries`; everything else in
//!   a dbt YAML file (`models`, `sources`, `version`, ...) is ignored without complaint.
//! - tally's additive keys on metrics: `owners`, `drivers`, `tags`, `meta`; on semantic models: `sql`
//!   (a query to read from instead of a table).

use crate::yaml::Spanned;
use schemars::JsonSchema;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

pub mod calendar;
pub mod metric_keys;
pub mod targets;

pub type SString = Spanned<String>;

/// A list that may also be written as a single value (`filter: "..."` or `filter: ["...", "..."]`).
#[derive(Clone, Debug, Serialize)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<T>, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(v)
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Vec<T>, D::Error> {
                Vec::<T>::deserialize(d)
            }
        }
        d.deserialize_newtype_struct(crate::yaml::ONE_OR_MANY, V(std::marker::PhantomData))
            .map(OneOrMany)
    }
}

// ----- semantic models ---------------------------------------------------------------------------

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SemanticModel {
    /// The semantic model's name, unique in the project.
    pub name: SString,
    /// What the model holds, for people.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    /// MetricFlow's resolved relation.
    #[serde(default)]
    pub node_relation: Option<NodeRelation>,
    /// dbt's `model: ref('table')`.
    #[serde(default)]
    pub model: Option<SString>,
    /// tally: a SQL query (Jinja with the macro library) to read from instead of a table.
    #[serde(default)]
    pub sql: Option<SString>,
    /// Defaults for the model's measures (`agg_time_dimension`).
    #[serde(default)]
    pub defaults: Option<ModelDefaults>,
    /// The entity a model without a primary entity in `entities` is about.
    #[serde(default)]
    pub primary_entity: Option<SString>,
    /// Join keys: primary, unique, foreign or natural.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Aggregations over the model's rows.
    #[serde(default)]
    pub measures: Vec<Measure>,
    /// Categorical and time columns to group and filter by.
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// tally: columns measured in business time (see `calendar`).
    #[serde(default)]
    pub business_durations: Vec<calendar::BusinessDuration>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub metadata: Option<IgnoredAny>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct NodeRelation {
    pub alias: SString,
    #[serde(default)]
    pub schema_name: Option<SString>,
    #[serde(default)]
    pub database: Option<SString>,
    #[serde(default)]
    pub relation_name: Option<SString>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ModelDefaults {
    #[serde(default)]
    pub agg_time_dimension: Option<SString>,
}

#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Primary,
    Unique,
    Foreign,
    Natural,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Entity {
    /// The entity's name (`listing`), used in group-by names (`listing__country`).
    pub name: SString,
    /// primary (one row per value), unique, natural (SCD type II) or foreign.
    #[serde(rename = "type")]
    pub entity_type: Spanned<EntityType>,
    /// The SQL expression of the key (default: the column named like the entity).
    #[serde(default)]
    pub expr: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    #[serde(default)]
    pub role: Option<SString>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    Sum,
    Min,
    Max,
    CountDistinct,
    SumBoolean,
    Count,
    Average,
    Percentile,
    Median,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct AggParams {
    #[serde(default)]
    pub percentile: Option<Spanned<f64>>,
    #[serde(default)]
    pub use_discrete_percentile: bool,
    #[serde(default)]
    pub use_approximate_percentile: bool,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowChoice {
    Min,
    Max,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct NonAdditiveDimension {
    pub name: SString,
    #[serde(default)]
    pub window_choice: Option<Spanned<WindowChoice>>,
    #[serde(default)]
    pub window_groupings: Vec<SString>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Measure {
    /// The measure's name, unique in the project.
    pub name: SString,
    /// How rows aggregate: sum, count, count_distinct, min, max, average, sum_boolean, percentile or median.
    pub agg: Spanned<Agg>,
    /// The SQL expression aggregated (default: the column named like the measure).
    #[serde(default)]
    pub expr: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    /// Also define a simple metric of the same name.
    #[serde(default)]
    pub create_metric: bool,
    #[serde(default)]
    pub agg_params: Option<AggParams>,
    /// Semi-additive: aggregate only the rows at the first or last value of this time dimension (balances, snapshots).
    #[serde(default)]
    pub non_additive_dimension: Option<NonAdditiveDimension>,
    /// The time dimension that is `metric_time` for this measure (default: the model's).
    #[serde(default)]
    pub agg_time_dimension: Option<SString>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DimensionType {
    Categorical,
    Time,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ValidityParams {
    #[serde(default)]
    pub is_start: bool,
    #[serde(default)]
    pub is_end: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DimensionTypeParams {
    #[serde(default)]
    pub time_granularity: Option<SString>,
    #[serde(default)]
    pub validity_params: Option<ValidityParams>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Dimension {
    /// The dimension's name, unique within the model.
    pub name: SString,
    /// categorical or time.
    #[serde(rename = "type")]
    pub dimension_type: Spanned<DimensionType>,
    /// The SQL expression (default: the column named like the dimension).
    #[serde(default)]
    pub expr: Option<SString>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    /// A partition column: queries join on it too.
    #[serde(default)]
    pub is_partition: bool,
    /// For time dimensions: `time_granularity` and SCD `validity_params`.
    #[serde(default)]
    pub type_params: Option<DimensionTypeParams>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

// ----- metrics -----------------------------------------------------------------------------------

#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    Simple,
    Ratio,
    Cumulative,
    Derived,
    Conversion,
}

/// A reference to a measure or metric, written as a name or as a mapping with a name.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename = "str_or_map:Input")]
#[schemars(rename = "Input", transform = crate::schema_transform::or_name_string)]
pub struct Input {
    pub name: SString,
    #[serde(default)]
    pub filter: OneOrMany<SString>,
    #[serde(default)]
    pub alias: Option<SString>,
    #[serde(default)]
    pub offset_window: Option<SString>,
    #[serde(default)]
    pub offset_to_grain: Option<SString>,
    #[serde(default)]
    pub join_to_timespine: bool,
    #[serde(default)]
    pub fill_nulls_with: Option<Spanned<i64>>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodAgg {
    First,
    Last,
    Average,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct CumulativeTypeParams {
    #[serde(default)]
    pub window: Option<SString>,
    #[serde(default)]
    pub grain_to_date: Option<SString>,
    #[serde(default)]
    pub period_agg: Option<Spanned<PeriodAgg>>,
    /// The newer dbt spec names the input metric here.
    #[serde(default)]
    pub metric: Option<Input>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversionCalculation {
    Conversions,
    ConversionRate,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ConstantProperty {
    pub base_property: SString,
    pub conversion_property: SString,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ConversionTypeParams {
    #[serde(default)]
    pub base_measure: Option<Input>,
    #[serde(default)]
    pub conversion_measure: Option<Input>,
    #[serde(default)]
    pub base_metric: Option<Input>,
    #[serde(default)]
    pub conversion_metric: Option<Input>,
    #[serde(default)]
    pub entity: Option<SString>,
    #[serde(default)]
    pub calculation: Option<Spanned<ConversionCalculation>>,
    #[serde(default)]
    pub window: Option<SString>,
    #[serde(default)]
    pub constant_properties: Vec<ConstantProperty>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MetricTypeParams {
    #[serde(default)]
    pub measure: Option<Input>,
    #[serde(default)]
    pub numerator: Option<Input>,
    #[serde(default)]
    pub denominator: Option<Input>,
    #[serde(default)]
    pub expr: Option<SString>,
    #[serde(default)]
    pub metrics: Option<Vec<Input>>,
    #[serde(default)]
    pub window: Option<SString>,
    #[serde(default)]
    pub grain_to_date: Option<SString>,
    #[serde(default)]
    pub cumulative_type_params: Option<CumulativeTypeParams>,
    #[serde(default)]
    pub conversion_type_params: Option<ConversionTypeParams>,
    #[serde(default)]
    pub join_to_timespine: Option<bool>,
    #[serde(default)]
    pub fill_nulls_with: Option<Spanned<i64>>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub input_measures: Option<IgnoredAny>,
    /// MetricFlow 0.210+ (measures folded into simple metrics): the aggregation of a simple metric;
    /// `expr` above is then the aggregated expression.
    #[serde(default)]
    pub metric_aggregation_params: Option<MetricAggregationParams>,
    /// MetricFlow 0.210+: a private metric (dbt's `hidden: true`), left out of listings.
    #[serde(default)]
    pub is_private: Option<bool>,
}

/// MetricFlow's `metric_aggregation_params` of a simple metric (the semantic manifest's form of
/// dbt's latest-spec `agg` on a model's metric).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MetricAggregationParams {
    /// The semantic model whose rows the metric aggregates.
    pub semantic_model: SString,
    pub agg: Spanned<Agg>,
    #[serde(default)]
    pub agg_params: Option<AggParams>,
    #[serde(default)]
    pub agg_time_dimension: Option<SString>,
    #[serde(default)]
    pub non_additive_dimension: Option<NonAdditiveDimension>,
    /// dbt Fusion still writes the aggregated expression here too (MetricFlow reads `type_params.expr`).
    #[serde(default)]
    pub expr: Option<SString>,
}

/// tally: who answers for a metric, in RACI terms. Names are people or teams of the roster.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Owners {
    #[serde(default)]
    pub accountable: OneOrMany<SString>,
    #[serde(default)]
    pub responsible: OneOrMany<SString>,
    #[serde(default)]
    pub consulted: OneOrMany<SString>,
    #[serde(default)]
    pub informed: OneOrMany<SString>,
}

metric_keys::metric_struct! {
    // MetricFlow's format and dbt's legacy schema YAML: the definition under `type_params`, or
    // (the newer dbt spec) the parameters as top-level keys. The keys shared with the latest
    // spec's `spec_latest::ModelMetric` are declared once, in `metric_keys`.
    #[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
    pub struct Metric {
        /// The metric's name, unique in the project.
        pub name: SString,
        /// simple, ratio, cumulative, derived or conversion.
        #[serde(rename = "type")]
        pub metric_type: Spanned<MetricType>,
        /// The metric's definition (MetricFlow's shape): measure, numerator/denominator, expr and metrics, window, ...
        // Boxed: 2.4 KB inline, and a project's metrics are moved between lists while loading.
        #[serde(default)]
        pub type_params: Option<Box<MetricTypeParams>>,
    }
    then {
        /// simple: the semantic model it aggregates (the latest spec: the model it is written under).
        #[serde(default)]
        pub semantic_model: Option<SString>,
        #[serde(default)]
        pub agg_params: Option<AggParams>,
        #[serde(default)]
        pub percentile_type: Option<SString>,
        #[serde(default)]
        pub non_additive_dimension: Option<NonAdditiveDimension>,
        #[serde(default, skip_serializing)]
        #[schemars(with = "Option<serde_json::Value>")]
        pub metadata: Option<IgnoredAny>,
    }
}

// ----- saved queries and project configuration ---------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct QueryParams {
    #[serde(default)]
    pub metrics: Vec<SString>,
    #[serde(default)]
    pub group_by: Vec<SString>,
    #[serde(default, rename = "where")]
    pub where_: OneOrMany<SString>,
    #[serde(default)]
    pub order_by: Vec<SString>,
    #[serde(default)]
    pub limit: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SavedQuery {
    /// The saved query's name (`tally query --saved-query NAME`).
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub label: Option<SString>,
    /// metrics, group_by, where, order_by and limit.
    #[serde(default)]
    pub query_params: QueryParams,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub exports: Option<IgnoredAny>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub metadata: Option<IgnoredAny>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TimeSpineTableConfiguration {
    pub location: SString,
    pub column_name: SString,
    pub grain: SString,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TimeSpinePrimaryColumn {
    pub name: SString,
    pub time_granularity: SString,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename = "str_or_map:CustomGranularity")]
#[schemars(rename = "CustomGranularity", transform = crate::schema_transform::or_name_string)]
pub struct CustomGranularity {
    pub name: SString,
    #[serde(default)]
    pub column_name: Option<SString>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TimeSpine {
    pub node_relation: NodeRelation,
    pub primary_column: TimeSpinePrimaryColumn,
    #[serde(default)]
    pub custom_granularities: Vec<CustomGranularity>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProjectConfiguration {
    #[serde(default)]
    pub time_spine_table_configurations: Vec<TimeSpineTableConfiguration>,
    #[serde(default)]
    pub time_spines: Vec<TimeSpine>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub metadata: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub dsi_package_version: Option<IgnoredAny>,
}

// ----- tally.yml ----------------------------------------------------------------------------------

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Person {
    pub name: SString,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub teams: Vec<SString>,
    /// Where `tally check` notifies this person (secrets by environment-variable name only).
    #[serde(default)]
    pub notify: Option<targets::Endpoints>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Team {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub members: Vec<SString>,
    /// Where `tally check` notifies this team (secrets by environment-variable name only).
    #[serde(default)]
    pub notify: Option<targets::Endpoints>,
}

/// How `ref('x')` and `$source_schema` become relations.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Relations {
    /// What `$source_schema` in node relations stands for.
    #[serde(default)]
    pub source_schema: Option<SString>,
    /// The schema in which `ref('x')` finds relation `x` (default: none, the bare name).
    #[serde(default)]
    pub ref_schema: Option<SString>,
    /// Per-name overrides: `ref('x')` -> the relation given here.
    #[serde(default)]
    pub refs: indexmap::IndexMap<String, SString>,
}

/// `sample_data:` in tally.yml: what `tally query` and the servers generate into the project's
/// DuckDB database when it does not exist yet (`tally sample-data` with the same settings).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub struct SampleData {
    /// The generator (`intercom`: the Intercom support project's tables).
    #[serde(default)]
    pub generator: SampleGenerator,
    /// How many conversations to simulate.
    #[serde(default = "SampleData::default_conversations")]
    pub conversations: u64,
    /// The random seed: the same seed gives the same rows.
    #[serde(default = "SampleData::default_seed")]
    pub seed: u64,
}

impl SampleData {
    fn default_conversations() -> u64 {
        20_000
    }
    fn default_seed() -> u64 {
        42
    }
}

impl Default for SampleData {
    fn default() -> SampleData {
        SampleData {
            generator: SampleGenerator::default(),
            conversations: SampleData::default_conversations(),
            seed: SampleData::default_seed(),
        }
    }
}

/// The sample-data generators tally has.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SampleGenerator {
    #[default]
    Intercom,
}

impl SampleGenerator {
    pub fn name(self) -> &'static str {
        match self {
            SampleGenerator::Intercom => "intercom",
        }
    }
}

/// `tally.yml`: project settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProjectFile {
    #[serde(default)]
    pub name: Option<SString>,
    #[serde(default)]
    pub dialect: Option<SString>,
    /// The DuckDB database file `tally query` runs against (relative to the project).
    #[serde(default)]
    pub duckdb: Option<SString>,
    /// Sample data to generate into the database when it is missing.
    #[serde(default)]
    pub sample_data: Option<SampleData>,
    #[serde(default)]
    pub vars: indexmap::IndexMap<String, serde_json::Value>,
    #[serde(default)]
    pub relations: Relations,
    #[serde(default)]
    pub people: Vec<Person>,
    #[serde(default)]
    pub teams: Vec<Team>,
    /// Directories to read semantic-layer YAML from (default: models and metrics).
    #[serde(default)]
    pub paths: Vec<String>,
    /// `tally check` settings: as_of, default_fail_on, state file, SMTP.
    #[serde(default)]
    pub checks: Option<targets::ChecksConfig>,
}

// ----- metric tests (tally) ------------------------------------------------------------------------
//
// ```yaml
// test_tables:                           # optional: column types of source tables, declared once
//   - table: intercom.team
//     columns: {id: varchar, name: varchar}
// metric_tests:
//   - name: volume_counts_inbound_only
//     given:                             # fixture rows per source table (the relation the SQL reads)
//       - table: intercom.conversation_history
//         rows:
//           - {id: c1, created_at: 2026-01-05 09:00:00, source_delivered_as: customer_initiated}
//       - table: intercom.team
//         csv: fixtures/team.csv         # relative to this YAML file
//     query: {metrics: [conversation_volume], group_by: [metric_time__month]}
//     expect:
//       rows:
//         - {metric_time__month: 2026-01-01, conversation_volume: 1}
// ```

/// One column of a fixture or declared table: a name and, optionally, a SQL type.
#[derive(Clone, Debug, Serialize)]
pub struct Column {
    pub name: SString,
    pub data_type: Option<SString>,
}

/// Columns written as a list of names (`[id, name]`) or a mapping of names to SQL types
/// (`{id: varchar, created_at: timestamp}`; a null type is inferred from the values).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Columns(pub Vec<Column>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Columns;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of column names or a mapping of column names to SQL types")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Columns, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<SString>()? {
                    out.push(Column {
                        name,
                        data_type: None,
                    });
                }
                Ok(Columns(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Columns, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<SString>()? {
                    let data_type = map.next_value::<Option<SString>>()?;
                    out.push(Column { name, data_type });
                }
                Ok(Columns(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One row of fixture or expected data: a mapping of column to value, or a list of values in the
/// order of `columns`.
#[derive(Clone, Debug, Serialize)]
pub enum Row {
    Map(Vec<(SString, Spanned<serde_json::Value>)>),
    List(Vec<Spanned<serde_json::Value>>),
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Row;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row: a mapping of column to value, or a list of values")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<serde_json::Value>>()? {
                    out.push(v);
                }
                Ok(Row::List(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<SString>()? {
                    let v = map.next_value::<Spanned<serde_json::Value>>()?;
                    out.push((k, v));
                }
                Ok(Row::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Rows of one source table for one metric test: inline `rows`, or a `csv` file (relative to the
/// YAML file; a header line, then one line per row). Neither means an empty table.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Fixture {
    /// The relation as the project's SQL reads it (`intercom.conversation_history`).
    pub table: SString,
    #[serde(default)]
    pub columns: Option<Columns>,
    #[serde(default)]
    pub rows: Option<Vec<Spanned<Row>>>,
    #[serde(default)]
    pub csv: Option<SString>,
    /// The CSV file once the loader has read it.
    #[serde(skip)]
    pub csv_file: Option<crate::source::FileId>,
}

/// The rows a metric test expects. Only the columns named here are compared; numbers match with a
/// relative tolerance of 1e-9; row order matters only with `ordered: true`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Expectation {
    #[serde(default)]
    pub columns: Option<Columns>,
    #[serde(default)]
    pub rows: Option<Vec<Spanned<Row>>>,
    #[serde(default)]
    pub csv: Option<SString>,
    #[serde(default)]
    pub ordered: bool,
    #[serde(skip)]
    pub csv_file: Option<crate::source::FileId>,
}

/// tally: a metric test (`metric_tests:` in any project YAML file).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MetricTest {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    /// Fixture rows per source table. Tables of `test_tables:` that a test does not give are empty.
    #[serde(default)]
    pub given: Vec<Fixture>,
    /// The query: metrics, group_by, where, order_by, limit (like a saved query's query_params).
    #[serde(default)]
    pub query: Option<QueryParams>,
    /// Or run a saved query of the project.
    #[serde(default)]
    pub saved_query: Option<SString>,
    pub expect: Expectation,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// tally: a check test (`check_tests:` in any project YAML file): fixture rows in, the statuses
/// of targets and the alerts that fire (or stay quiet) at `as_of` out; run by `tally test`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CheckTest {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    /// The evaluation time, as `tally check --as-of` takes it (`2026-06-30 23:59:59`; a date
    /// alone names its last second).
    pub as_of: SString,
    /// Fixture rows per source table, as in metric tests.
    #[serde(default)]
    pub given: Vec<Fixture>,
    /// What the evaluation must say, one entry per metric (and period, slice).
    pub expect: Vec<CheckExpectation>,
}

/// One expectation of a check test: a target's status for a period (and slice), and alerts of the
/// metric that fire or stay quiet.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CheckExpectation {
    pub metric: SString,
    /// The target (default: the metric's first target).
    #[serde(default)]
    pub target: Option<SString>,
    /// The target's period, as its grain writes it (`2026-05`, `2026-Q2`).
    #[serde(default)]
    pub period: Option<SString>,
    /// Values of the target's slice dimensions or of the alerts' `by:` dimensions.
    #[serde(default)]
    pub slice: Option<std::collections::BTreeMap<String, SString>>,
    /// on_track, at_risk, off_track, no_target, no_data or immature.
    #[serde(default)]
    pub status: Option<SString>,
    /// Alerts of the metric that must fire.
    #[serde(default)]
    pub firing: Vec<SString>,
    /// Alerts of the metric that must not fire.
    #[serde(default)]
    pub not_firing: Vec<SString>,
}

/// tally: the columns (and SQL types) of a source table, shared by every metric test
/// (`test_tables:`). Each test starts with every declared table created empty.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TestTable {
    pub table: SString,
    #[serde(default)]
    pub description: Option<String>,
    pub columns: Columns,
}

/// Top-level keys of dbt YAML files that tally does not read.
pub(crate) const DBT_KEYS: &[&str] = &[
    "version",
    "models",
    "sources",
    "seeds",
    "snapshots",
    "analyses",
    "macros",
    "exposures",
    "groups",
    "unit_tests",
    "data_tests",
    "tests",
    "functions",
];
