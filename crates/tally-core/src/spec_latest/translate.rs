//! The latest spec translated into tally's spec types: a model entry becomes one
//! [`spec::SemanticModel`] (entities and dimensions from its columns and `derived_semantics`, the
//! relation `ref('<model>')`) and its metrics become [`spec::Metric`]s, simple ones carrying their
//! aggregation and the semantic model they aggregate. Resolution ([`crate::model`]) then treats them
//! as it treats MetricFlow's `metric_aggregation_params`: each simple metric becomes a measure of
//! the same name.
//!
//! The mapping follows dbt's own normalisation into the semantic manifest: names default to the
//! column's, `expr` is the column, a dimension's description falls back to the column's (so does a
//! mapping-form entity's, as Fusion does), `window_agg`/`group_by` become
//! `window_choice`/`window_groupings`, `hidden` becomes `is_private`, `percentile_type: continuous`
//! becomes an approximate percentile. Filters are kept verbatim.

use super::{
    DerivedDimension, DerivedEntity, ModelColumn, ModelEntry, ModelMetric, PercentileType,
};
use crate::diag::{codes, Diagnostic, Severity};
use crate::source::Span;
use crate::spec::{self, DimensionType, MetricType};
use crate::yaml::{self, Node, NodeKind, Spanned};
use std::cell::RefCell;

/// Keys of a model entry that make it a semantic model in the latest spec.
const SEMANTIC_KEYS: &[&str] = &[
    "semantic_model",
    "metrics",
    "derived_semantics",
    "agg_time_dimension",
    "primary_entity",
];

/// Keys of the legacy spec (or of dbt's manifest) that the latest spec writes elsewhere or under
/// another name, with the hint to give when one turns up as an unknown key.
const MOVED_KEYS: &[(&str, &str)] = &[
    (
        "granularity",
        "in the latest spec `granularity` goes on the column, beside `dimension:`",
    ),
    (
        "time_granularity",
        "in the latest spec a time dimension's grain is the column's `granularity`",
    ),
    (
        "window_choice",
        "the latest spec writes `window_agg: min|max` (MetricFlow's `window_choice`)",
    ),
    (
        "window_groupings",
        "the latest spec writes `group_by: [...]` (MetricFlow's `window_groupings`)",
    ),
    (
        "use_discrete_percentile",
        "the latest spec writes `percentile_type: discrete`",
    ),
    (
        "use_approximate_percentile",
        "the latest spec writes `percentile_type: continuous` (approximate)",
    ),
    (
        "type_params",
        "the latest spec has no `type_params`: write its keys on the metric itself",
    ),
    (
        "measures",
        "the latest spec has no measures: write `type: simple` metrics with `agg` under the model's `metrics:`",
    ),
];

/// Semantic models and metrics read from one `models:` list.
#[derive(Debug, Default)]
pub struct Translated {
    pub semantic_models: Vec<spec::SemanticModel>,
    pub metrics: Vec<spec::Metric>,
}

/// Read the latest-spec semantic models of a `models:` list. Entries without semantic keys are
/// dbt's business and are not looked at.
pub fn read_models(node: &Node, diags: &mut Vec<Diagnostic>) -> Translated {
    let mut out = Translated::default();
    let NodeKind::Seq(items) = &node.kind else {
        return out;
    };
    for item in items {
        if !SEMANTIC_KEYS.iter().any(|k| item.get(k).is_some()) {
            continue;
        }
        let cell = RefCell::new(Vec::new());
        let entry = yaml::decode::<ModelEntry>(item, &cell);
        let lenient = dbt_level_keys(item);
        for mut d in cell.into_inner() {
            hint_and_relax(&mut d, &lenient);
            diags.push(d);
        }
        let Some(entry) = entry else { continue };
        let cell = RefCell::new(Vec::new());
        let columns: Vec<ModelColumn> = items_of(item.get("columns"), &cell);
        let ds = item.get("derived_semantics");
        let derived_dimensions: Vec<DerivedDimension> =
            items_of(ds.and_then(|d| d.get("dimensions")), &cell);
        let derived_entities: Vec<DerivedEntity> =
            items_of(ds.and_then(|d| d.get("entities")), &cell);
        let metrics: Vec<ModelMetric> = items_of(item.get("metrics"), &cell);
        let business_durations = items_of(item.get("business_durations"), &cell);
        for mut d in cell.into_inner() {
            hint_and_relax(&mut d, &lenient);
            diags.push(d);
        }
        let parts = Parts {
            columns,
            derived_dimensions,
            derived_entities,
            metrics,
            business_durations,
        };
        translate_entry(&entry, &parts, &mut out, diags);
    }
    out
}

/// The decoded lists of a model entry.
struct Parts {
    columns: Vec<ModelColumn>,
    derived_dimensions: Vec<DerivedDimension>,
    derived_entities: Vec<DerivedEntity>,
    metrics: Vec<ModelMetric>,
    business_durations: Vec<crate::spec::calendar::BusinessDuration>,
}

/// Each item of a list decoded on its own; a broken item is reported and left out.
fn items_of<'a, T: serde::Deserialize<'a>>(
    node: Option<&'a Node>,
    cell: &'a RefCell<Vec<Diagnostic>>,
) -> Vec<T> {
    let Some(n) = node else {
        return Vec::new();
    };
    match &n.kind {
        NodeKind::Seq(items) => items
            .iter()
            .filter_map(|i| yaml::decode::<T>(i, cell))
            .collect(),
        NodeKind::Null => Vec::new(),
        _ => {
            cell.borrow_mut().push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("expected a list, found {}", n.type_name()),
                )
                .at(n.span)
                .with_label("expected a list")
                .with_help("write one `- ...` item per entry"),
            );
            Vec::new()
        }
    }
}

/// A hint for keys the latest spec moved or renamed; unknown keys of dbt's own model and column
/// properties are warnings (`lenient` holds their spans), since dbt only warns about them too.
fn hint_and_relax(d: &mut Diagnostic, lenient: &[Span]) {
    if d.code == codes::INVALID_VALUE && d.message == "unknown value `avg`" {
        d.help
            .push("the aggregation is called `average` (dbt's docs write `avg` in places)".into());
    }
    if d.code != codes::UNKNOWN_KEY {
        return;
    }
    if let Some((_, hint)) = MOVED_KEYS
        .iter()
        .find(|(k, _)| d.message == format!("unknown key `{k}`"))
    {
        d.help.push((*hint).to_string());
    }
    if lenient.contains(&d.span) {
        d.severity = Severity::Warning;
        d.help.push(
            "tally reads the semantic keys of models and columns and ignores dbt's others"
                .to_string(),
        );
    }
}

/// The spans of the keys of a model entry and of its columns: unknown keys there are dbt's
/// concern, so tally only warns.
fn dbt_level_keys(item: &Node) -> Vec<Span> {
    let mut spans: Vec<Span> = item.entries().iter().map(|(k, _)| k.span).collect();
    if let Some(NodeKind::Seq(cols)) = item.get("columns").map(|c| &c.kind) {
        for c in cols {
            spans.extend(c.entries().iter().map(|(k, _)| k.span));
        }
    }
    spans
}

fn translate_entry(
    e: &ModelEntry,
    parts: &Parts,
    out: &mut Translated,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(smc) = &e.semantic_model else {
        diags.push(
            Diagnostic::error(
                codes::MISSING_KEY,
                format!(
                    "model `{}` has semantic-layer keys but no `semantic_model`",
                    e.name.value
                ),
            )
            .at(e.name.span)
            .with_label("not a semantic model")
            .with_help("add `semantic_model: {enabled: true}` to the model (dbt's latest spec)"),
        );
        return;
    };
    if smc.enabled == Some(false) {
        return;
    }
    let sm_name = smc.name.clone().unwrap_or_else(|| e.name.clone());
    let mut entities = Vec::new();
    let mut dimensions = Vec::new();
    for c in &parts.columns {
        if let Some(ent) = &c.entity {
            entities.push(spec::Entity {
                name: ent.name.clone().unwrap_or_else(|| c.name.clone()),
                entity_type: ent.entity_type.clone(),
                expr: Some(c.name.clone()),
                description: ent.description.clone().or_else(|| c.description.clone()),
                label: ent.label.clone(),
                role: None,
                config: ent.config.clone(),
                meta: None,
            });
        }
        if let Some(d) = column_dimension(c, diags) {
            dimensions.push(d);
        }
    }
    for ent in &parts.derived_entities {
        entities.push(spec::Entity {
            name: ent.name.clone(),
            entity_type: ent.entity_type.clone(),
            expr: Some(ent.expr.clone()),
            description: ent.description.clone(),
            label: ent.label.clone(),
            role: None,
            config: ent.config.clone(),
            meta: None,
        });
    }
    for d in &parts.derived_dimensions {
        let time = d.dimension_type.value == DimensionType::Time;
        if time && d.granularity.is_none() {
            diags.push(
                Diagnostic::error(
                    codes::TIME_DIMENSION_PARAMS,
                    format!("time dimension `{}` has no granularity", d.name.value),
                )
                .at(d.dimension_type.span)
                .with_help("add `granularity: day` (or another grain) to the derived dimension"),
            );
            continue;
        }
        dimensions.push(spec::Dimension {
            name: d.name.clone(),
            dimension_type: d.dimension_type.clone(),
            expr: Some(d.expr.clone()),
            description: d.description.clone(),
            label: d.label.clone(),
            is_partition: d.is_partition,
            type_params: time.then(|| spec::DimensionTypeParams {
                time_granularity: d.granularity.clone(),
                validity_params: d.validity_params.clone(),
            }),
            config: d.config.clone(),
            meta: None,
        });
    }
    out.semantic_models.push(spec::SemanticModel {
        name: sm_name.clone(),
        description: e.description.clone(),
        label: None,
        node_relation: None,
        // The model's relation, resolved like any `ref()` (its database, schema and alias).
        model: Some(Spanned::new(
            e.name.span,
            format!("ref('{}')", e.name.value),
        )),
        sql: None,
        defaults: e.agg_time_dimension.as_ref().map(|a| spec::ModelDefaults {
            agg_time_dimension: Some(a.clone()),
        }),
        primary_entity: e.primary_entity.clone(),
        entities,
        measures: Vec::new(),
        dimensions,
        config: smc.config.clone(),
        meta: None,
        tags: Vec::new(),
        business_durations: parts.business_durations.clone(),
        metadata: None,
    });
    for m in &parts.metrics {
        if let Some(m) = translate_metric(m, &sm_name, diags) {
            out.metrics.push(m);
        }
    }
}

/// The dimension a column declares, if any. A time dimension takes the column's `granularity`.
fn column_dimension(c: &ModelColumn, diags: &mut Vec<Diagnostic>) -> Option<spec::Dimension> {
    let d = c.dimension.as_ref()?;
    let name = d.name.clone().unwrap_or_else(|| c.name.clone());
    let time = d.dimension_type.value == DimensionType::Time;
    if time && c.granularity.is_none() {
        diags.push(
            Diagnostic::error(
                codes::TIME_DIMENSION_PARAMS,
                format!(
                    "time dimension `{}` has no granularity: column `{}` must set one",
                    name.value, c.name.value
                ),
            )
            .at(d.dimension_type.span)
            .with_label("a time dimension")
            .with_help(format!(
                "add `granularity: day` (or another grain) to column `{}`, beside `dimension:`",
                c.name.value
            )),
        );
        return None;
    }
    Some(spec::Dimension {
        name,
        dimension_type: d.dimension_type.clone(),
        expr: Some(c.name.clone()),
        description: d.description.clone().or_else(|| c.description.clone()),
        label: d.label.clone(),
        is_partition: d.is_partition,
        type_params: time.then(|| spec::DimensionTypeParams {
            time_granularity: c.granularity.clone(),
            validity_params: d.validity_params.clone(),
        }),
        config: d.config.clone(),
        meta: None,
    })
}

/// A model's metric as a spec metric: simple metrics aggregate the model's semantic model.
fn translate_metric(
    m: &ModelMetric,
    semantic_model: &Spanned<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<spec::Metric> {
    let t = m
        .metric_type
        .clone()
        .unwrap_or_else(|| Spanned::new(m.name.span, MetricType::Simple));
    let simple = t.value == MetricType::Simple;
    if simple && m.agg.is_none() {
        diags.push(
            Diagnostic::error(
                codes::MISSING_KEY,
                format!("simple metric `{}` has no `agg`", m.name.value),
            )
            .at(m.name.span)
            .with_label("`type` defaults to simple")
            .with_help(
                "add `agg:` (sum, count, count_distinct, min, max, average, median, percentile or sum_boolean), or set `type:` to ratio, derived, cumulative or conversion",
            ),
        );
        return None;
    }
    if !simple {
        let only_simple = [
            ("agg", m.agg.as_ref().map(|a| a.span)),
            (
                "fill_nulls_with",
                m.fill_nulls_with.as_ref().map(|f| f.span),
            ),
            (
                "join_to_timespine",
                m.join_to_timespine.map(|_| m.name.span),
            ),
            (
                "non_additive_dimension",
                m.non_additive_dimension.as_ref().map(|n| n.name.span),
            ),
        ];
        for (key, span) in only_simple {
            if let Some(span) = span {
                diags.push(
                    Diagnostic::error(
                        codes::METRIC_PARAMS,
                        format!(
                            "`{key}` is only for simple metrics, and `{}` is not one",
                            m.name.value
                        ),
                    )
                    .at(span)
                    .with_help("set it on the simple metric this metric reads"),
                );
                return None;
            }
        }
    }
    let m = m.clone();
    Some(
        crate::spec::metric_keys::metric_with_shared_keys!(m => spec::Metric {
            name: m.name,
            metric_type: t,
            type_params: None,
            semantic_model: simple.then(|| semantic_model.clone()),
            agg_params: None,
            percentile_type: m.percentile_type.as_ref().map(|p| {
                Spanned::new(
                    p.span,
                    match p.value {
                        PercentileType::Discrete => "discrete",
                        PercentileType::Continuous => "continuous",
                    }
                    .to_string(),
                )
            }),
            non_additive_dimension: m.non_additive_dimension.map(|n| spec::NonAdditiveDimension {
                name: n.name,
                window_choice: n.window_agg,
                window_groupings: n.group_by,
            }),
            metadata: None,
        }),
    )
}
