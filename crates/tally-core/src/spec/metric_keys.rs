//! The keys a metric has in both of dbt's specs, written once.
//!
//! MetricFlow's format and dbt's legacy schema YAML ([`crate::spec::Metric`]) and dbt's latest spec
//! ([`crate::spec_latest::ModelMetric`]) share most of a metric's keys: the top-level parameters of
//! every metric type and tally's additive keys. They differ in a few (the legacy spec's
//! `type_params`, `semantic_model`, `agg_params` and `metadata`; the latest spec's optional `type`,
//! typed `percentile_type` and `non_additive_dimension` with `window_agg`/`group_by`). The shared
//! keys are declared here, once, with their documentation (the JSON Schema's descriptions); both
//! structs are declared through [`metric_struct!`], and the latest spec's translation moves the
//! shared keys over with [`metric_with_shared_keys!`], so a key added here reaches both specs and
//! the translation.
//!
//! Why a macro: serde's `#[serde(flatten)]` would decode the embedded struct through serde's own
//! buffered map, out of reach of the span-keeping deserializer of [`crate::yaml`] (no spans, no
//! unknown-key check, no type errors pinned on the value).

/// The shared keys, handed to one of the arms below; `@list (declare ...)` and
/// `@list (copy ...)` are reached through [`metric_struct!`] and [`metric_with_shared_keys!`].
macro_rules! metric_keys {
    (@list $what:tt) => {
        $crate::spec::metric_keys::metric_keys! { @go $what;
            /// What the metric means, for people.
            #[serde(default)]
            pub description: Option<String>,
            #[serde(default)]
            pub label: Option<$crate::spec::SString>,
            /// Where-filters in dbt's Jinja syntax, one string or a list: `{{ Dimension('conversation__channel') }} = 'email'`.
            #[serde(default)]
            pub filter: $crate::spec::OneOrMany<$crate::spec::SString>,
            #[serde(default)]
            pub time_granularity: Option<$crate::spec::SString>,
            /// simple: sum, count, count_distinct, min, max, average, median, percentile or sum_boolean.
            #[serde(default)]
            pub agg: Option<$crate::yaml::Spanned<$crate::spec::Agg>>,
            /// simple: the SQL aggregated (default: the metric's name); derived: the formula.
            #[serde(default)]
            pub expr: Option<$crate::spec::SString>,
            /// simple: overrides the semantic model's `agg_time_dimension`.
            #[serde(default)]
            pub agg_time_dimension: Option<$crate::spec::SString>,
            /// simple, agg percentile: strictly between 0 and 1.
            #[serde(default)]
            pub percentile: Option<$crate::yaml::Spanned<f64>>,
            #[serde(default)]
            pub join_to_timespine: Option<bool>,
            #[serde(default)]
            pub fill_nulls_with: Option<$crate::yaml::Spanned<i64>>,
            #[serde(default)]
            pub numerator: Option<Box<$crate::spec::Input>>,
            #[serde(default)]
            pub denominator: Option<Box<$crate::spec::Input>>,
            #[serde(default)]
            pub input_metrics: Option<Vec<$crate::spec::Input>>,
            /// cumulative: the simple metric accumulated.
            #[serde(default)]
            pub input_metric: Option<Box<$crate::spec::Input>>,
            /// cumulative and conversion: `<count> <granularity>`.
            #[serde(default)]
            pub window: Option<$crate::spec::SString>,
            #[serde(default)]
            pub grain_to_date: Option<$crate::spec::SString>,
            #[serde(default)]
            pub period_agg: Option<$crate::yaml::Spanned<$crate::spec::PeriodAgg>>,
            #[serde(default)]
            pub entity: Option<$crate::spec::SString>,
            #[serde(default)]
            pub calculation: Option<$crate::yaml::Spanned<$crate::spec::ConversionCalculation>>,
            #[serde(default)]
            pub base_metric: Option<Box<$crate::spec::Input>>,
            #[serde(default)]
            pub conversion_metric: Option<Box<$crate::spec::Input>>,
            #[serde(default)]
            pub constant_properties: Vec<$crate::spec::ConstantProperty>,
            /// tally: who answers for the metric, in RACI roles; names come from the roster in tally.yml.
            #[serde(default)]
            pub owners: Option<$crate::spec::Owners>,
            /// tally: the metrics that drive this one in the metric tree (`tally graph`).
            #[serde(default)]
            pub drivers: Vec<$crate::spec::SString>,
            /// tally: which way the metric is better (`tally check`, `tally tree`).
            #[serde(default)]
            pub direction: Option<$crate::yaml::Spanned<$crate::spec::targets::Direction>>,
            /// tally: how long after a period's end its value is final (`7 days`); younger periods are `immature`.
            #[serde(default)]
            pub maturity: Option<$crate::spec::SString>,
            /// tally: target series with tolerance bands (`tally check`).
            #[serde(default)]
            pub targets: Vec<$crate::spec::targets::Target>,
            /// tally: alerts on target status, thresholds, changes and anomalies (`tally check`).
            #[serde(default)]
            pub alerts: Vec<$crate::spec::targets::Alert>,
            #[serde(default)]
            pub tags: Vec<String>,
            #[serde(default)]
            pub meta: Option<serde_json::Value>,
            #[serde(default)]
            pub config: Option<serde_json::Value>,
            /// Left out of listings (MetricFlow's `is_private`); still queryable.
            #[serde(default)]
            pub hidden: bool,
        }
    };
    // A struct: its own `head` keys, the shared keys, its own `tail` keys.
    (@go (declare
        $(#[$attr:meta])*
        pub struct $name:ident { $($head:tt)* }
        then { $($tail:tt)* }
    ); $($shared:tt)*) => {
        $(#[$attr])*
        pub struct $name {
            $($head)*
            $($shared)*
            $($tail)*
        }
    };
    // A struct literal: the own fields given, every shared key moved out of `$from`.
    (@go (copy $from:ident => $($ty:ident)::+ { $($own:tt)* });
        $( $(#[$fm:meta])* pub $f:ident : $t:ty, )*) => {
        $($ty)::+ {
            $($own)*
            $( $f: $from.$f, )*
        }
    };
}
pub(crate) use metric_keys;

/// Declares a metric struct: `pub struct Name { head keys } then { tail keys }`, with the shared
/// keys between the two.
macro_rules! metric_struct {
    ($($t:tt)*) => {
        $crate::spec::metric_keys::metric_keys! { @list (declare $($t)*) }
    };
}
pub(crate) use metric_struct;

/// `metric_with_shared_keys!(from => path::Type { own: value, ... })`: a struct literal of
/// `Type` whose shared keys are moved out of `from` (a struct declared by [`metric_struct!`]).
macro_rules! metric_with_shared_keys {
    ($($t:tt)*) => {
        $crate::spec::metric_keys::metric_keys! { @list (copy $($t)*) }
    };
}
pub(crate) use metric_with_shared_keys;
