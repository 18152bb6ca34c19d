//! A canonical JSON dump of a resolved [`Model`] (`tally model --format json`).
//!
//! Two projects that mean the same thing dump to the same JSON, whatever form they were written
//! in (the legacy YAML spec, dbt's latest YAML spec, or dbt's `semantic_manifest.json`) and in
//! whatever order: semantic models, their entities, dimensions and measures, metrics and saved
//! queries are sorted by name; spans and tally's caches are left out. Measures are not listed on
//! their own: a metric writes out the aggregation it reads in full (semantic model, aggregation,
//! expression, aggregation time dimension), because the legacy spec names a measure apart from
//! its metric while the latest spec makes every simple metric its own measure, so measure names
//! differ between the forms of one project while the aggregations do not. Descriptions and labels
//! are kept: they are part of what a project says. Table names lose the double quotes around
//! plain lower-case identifiers (dbt's manifest writes `"db"."schema"."table"`, a resolved
//! `ref()` may not quote), which name the same table.

use crate::model::{MeasureRef, MetricInput, MetricKind, Model, Relation, SemanticModel};
use serde_json::{json, Value};

/// The canonical dump of a model.
pub fn dump(model: &Model) -> Value {
    let mut semantic_models: Vec<&SemanticModel> = model.semantic_models.iter().collect();
    semantic_models.sort_by(|a, b| a.name.cmp(&b.name));
    let mut metrics: Vec<_> = model.metrics.values().collect();
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut saved: Vec<_> = model.saved_queries.values().collect();
    saved.sort_by(|a, b| a.name.cmp(&b.name));
    let mut spines: Vec<Value> = model
        .time_spines
        .iter()
        .map(|s| {
            let mut custom = s.custom_granularities.clone();
            custom.sort();
            json!({
                "relation": table(&s.relation),
                "column": s.column,
                "grain": s.grain,
                "custom_granularities": custom
                    .iter()
                    .map(|(n, c)| json!({"name": n, "column": c}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    spines.sort_by_key(|v| v.to_string());
    json!({
        "semantic_models": semantic_models.iter().map(|m| semantic_model(m)).collect::<Vec<_>>(),
        "metrics": metrics.iter().map(|m| {
            json!({
                "name": m.name,
                "type": m.type_name(),
                "label": m.label,
                "description": description(&m.description),
                "hidden": m.hidden,
                "filters": m.filters.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
                "time_granularity": m.time_granularity,
                "params": kind(model, &m.kind),
            })
        }).collect::<Vec<_>>(),
        "saved_queries": saved.iter().map(|q| json!({
            "name": q.name,
            "description": description(&q.description),
            "metrics": q.metrics.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
            "group_by": q.group_by.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
            "where": q.where_.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
            "order_by": q.order_by.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
            "limit": q.limit,
        })).collect::<Vec<_>>(),
        "time_spines": spines,
    })
}

/// A table name with the quotes around plain lower-case identifiers removed.
fn table(t: &str) -> String {
    let plain = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    // Only a dotted name of identifiers (quoted or not) is touched; anything else stays as is.
    let parts: Vec<&str> = t.split('.').collect();
    let unquoted: Vec<Option<&str>> = parts
        .iter()
        .map(
            |p| match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(inner) if plain(inner) => Some(inner),
                Some(_) => None,
                None if plain(p) => Some(*p),
                None => None,
            },
        )
        .collect();
    if unquoted.iter().all(Option::is_some) {
        unquoted.into_iter().flatten().collect::<Vec<_>>().join(".")
    } else {
        t.to_string()
    }
}

/// A description, with dbt's empty string for "none" (its manifests write `""`) as null.
fn description(d: &Option<String>) -> Value {
    match d.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Value::String(t.to_string()),
        _ => Value::Null,
    }
}

fn semantic_model(m: &SemanticModel) -> Value {
    let mut entities: Vec<Value> = m
        .entities
        .iter()
        .map(|e| json!({"name": e.name, "type": e.kind, "expr": e.expr}))
        .collect();
    entities.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut dimensions: Vec<Value> = m
        .dimensions
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "time_grain": d.time_grain,
                "validity": d.validity,
                "expr": d.expr,
                "is_partition": d.is_partition,
                "label": d.label,
            })
        })
        .collect();
    dimensions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut out = json!({
        "name": m.name,
        "description": description(&m.description),
        "relation": match &m.relation {
            Relation::Table(t) => json!({"table": table(t)}),
            Relation::Query(q, _) => json!({"sql": &**q}),
        },
        "primary_entity": m.primary_entity_name(),
        "entities": entities,
        "dimensions": dimensions,
    });
    // Business durations (only when the model has some): each one's definition with its
    // calendars written out, so that a calendar's change shows too.
    if let Some(b) = &m.business {
        let mut defs = b.definitions().to_vec();
        defs.sort();
        out["business_durations"] = defs
            .iter()
            .map(|(name, def)| json!({"name": name, "definition": def}))
            .collect();
    }
    out
}

fn measure(model: &Model, r: &MeasureRef) -> Value {
    let x = model.measure(r);
    json!({
        "semantic_model": model.semantic_models[r.model].name,
        "agg": x.agg,
        "expr": x.expr,
        "agg_time_dimension": x.agg_time_dimension,
        "non_additive": x.non_additive,
        "filters": r.filters.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
        "join_to_timespine": r.join_to_timespine,
        "fill_nulls_with": r.fill_nulls_with,
    })
}

fn input(i: &MetricInput) -> Value {
    json!({
        "name": i.name,
        "alias": i.alias,
        "filters": i.filters.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
        "offset_window": i.offset_window,
        "offset_to_grain": i.offset_to_grain,
    })
}

fn kind(model: &Model, k: &MetricKind) -> Value {
    match k {
        MetricKind::Simple(r) => json!({"aggregation": measure(model, r)}),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => json!({"numerator": input(numerator), "denominator": input(denominator)}),
        MetricKind::Derived { expr, inputs } => json!({
            "expr": expr.text,
            "inputs": inputs.iter().map(input).collect::<Vec<_>>(),
        }),
        MetricKind::Cumulative {
            measure: r,
            window,
            grain_to_date,
            period_agg,
        } => json!({
            "aggregation": measure(model, r),
            "window": window,
            "grain_to_date": grain_to_date,
            "period_agg": period_agg,
        }),
        MetricKind::Conversion {
            base,
            conversion,
            entity,
            calculation,
            window,
            constant_properties,
            ..
        } => json!({
            "base": measure(model, base),
            "conversion": measure(model, conversion),
            "entity": entity,
            "calculation": calculation,
            "window": window,
            "constant_properties": constant_properties,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn plain_identifiers_lose_their_quotes() {
        assert_eq!(table("\"shop\".\"main\".\"orders\""), "shop.main.orders");
        assert_eq!(table("shop.main.orders"), "shop.main.orders");
        assert_eq!(
            table("\"Shop\".\"main\".\"orders\""),
            "\"Shop\".\"main\".\"orders\""
        );
        assert_eq!(table("\"a.b\".c"), "\"a.b\".c");
    }
}
