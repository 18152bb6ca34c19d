//! Element names are bound to ids once, by resolution (`model::elements`): every dimension, time
//! dimension and entity name (and every `primary_entity:`) has one `ElementId`, with the places it
//! occurs; bound references (filters, saved queries, a query's group-by items) carry the ids of
//! their entity links and element, and the join-path search reads those. So do the names the
//! project writes elsewhere: a measure's aggregation time and non-additive dimensions (and window
//! groupings), a conversion metric's entity and constant properties, a saved query's metrics.
//! These tests check the tables against a plain scan of the semantic models by name, and that
//! references carry the ids of the names they were written with.

mod common;

use tally_core::diag::codes;
use tally_core::dialect::Dialect;
use tally_core::model::{ElementId, FilterRef, Item, MetricId, MetricKind, Model};
use tally_core::plan::{plan_query, QueryRequest};
use tally_core::source::Span;
use tally_core::spec::EntityType;

/// Every project the tests load: MetricFlow's manifests (multi-hop, SCD, partitions).
fn projects() -> Vec<(String, Model)> {
    let mut out = Vec::new();
    for name in [
        "simple_manifest",
        "multi_hop_join_manifest",
        "partitioned_multi_hop_join_manifest",
        "scd_manifest",
        "extended_date_manifest",
    ] {
        let (model, diags) = common::load_manifest(name);
        assert!(
            !diags.iter().any(|d| d.is_error()),
            "{name}: {}",
            common::render(&model, &diags)
        );
        out.push((name.to_string(), model));
    }
    out
}

/// Every element name of the project, as a scan of the semantic models finds them.
fn names(model: &Model) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sm in &model.semantic_models {
        out.extend(sm.entities.iter().map(|e| e.name.clone()));
        out.extend(sm.dimensions.iter().map(|d| d.name.clone()));
        out.extend(sm.primary_entity.clone());
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_element_name_has_one_id_in_name_order() {
    for (project, model) in projects() {
        let names = names(&model);
        let ids: Vec<ElementId> = names
            .iter()
            .map(|n| model.element_id(n).expect("every name has an id"))
            .collect();
        for (n, id) in names.iter().zip(&ids) {
            assert_eq!(model.element_name(*id), n, "{project}");
        }
        // Ids compare as their names do.
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{project}: {ids:?}");
        assert_eq!(model.element_id("no_such_element"), None);
        assert_eq!(
            model.element_id_or_unknown("no_such_element"),
            ElementId::UNKNOWN
        );
    }
}

#[test]
fn element_tables_agree_with_a_scan_by_name() {
    for (project, model) in projects() {
        for name in names(&model) {
            let id = model.element_id(&name).expect("an id");
            let mut keyed = Vec::new();
            let mut grain = None;
            let mut exists = false;
            for (mi, sm) in model.semantic_models.iter().enumerate() {
                let dim = sm.dimensions.iter().position(|d| d.name == name);
                let ent = sm.entities.iter().position(|e| e.name == name);
                assert_eq!(
                    model.dimension_of(mi, id).map(|(i, _)| i),
                    dim,
                    "{project}: dimension `{name}` of `{}`",
                    sm.name
                );
                assert_eq!(
                    model.entity_of(mi, id).map(|(i, _)| i),
                    ent,
                    "{project}: entity `{name}` of `{}`",
                    sm.name
                );
                assert_eq!(model.has_element(mi, id), dim.is_some() || ent.is_some());
                if ent.is_some_and(|i| sm.entities[i].kind != EntityType::Foreign) {
                    keyed.push(mi);
                }
                if grain.is_none() {
                    grain = dim.and_then(|i| sm.dimensions[i].time_grain);
                }
                exists |= dim.is_some() || ent.is_some();
            }
            assert_eq!(model.keyed_by(id), keyed, "{project}: keyed by `{name}`");
            assert_eq!(
                model.element_grain(id),
                grain,
                "{project}: grain of `{name}`"
            );
            assert_eq!(model.is_element(id), exists, "{project}: `{name}`");
        }
        for (mi, sm) in model.semantic_models.iter().enumerate() {
            let me = model.model_elements(mi);
            assert_eq!(
                me.primary.map(|p| model.element_name(p)),
                sm.primary_entity_name(),
                "{project}: primary entity of `{}`",
                sm.name
            );
            for (m, atd) in sm.measures.iter().zip(&me.agg_time) {
                assert_eq!(model.element_name(*atd), m.agg_time_dimension);
            }
        }
    }
}

/// The ids of an item's path are the ids of the names it was written with.
fn assert_bound_ids(model: &Model, i: &Item) {
    let (links, element) = i.element().expect("an element item");
    let path = i.path().expect("an element item");
    assert_eq!(path.element, model.element_id_or_unknown(element), "{i:?}");
    let link_ids: Vec<ElementId> = links
        .iter()
        .map(|l| model.element_id_or_unknown(l))
        .collect();
    assert_eq!(path.links, link_ids, "{i:?}");
}

#[test]
fn bound_filters_and_saved_queries_carry_element_ids() {
    let mut checked = 0;
    for (_, model) in projects() {
        for m in model.metrics.values() {
            for f in m.all_filters() {
                let Some(b) = f.bound.as_deref() else {
                    continue;
                };
                for r in &b.refs {
                    let items: Vec<&Item> = match r {
                        FilterRef::Item(Ok(i)) => vec![i],
                        FilterRef::Item(Err(_)) => vec![],
                        FilterRef::Metric(mr) => mr.items.iter().flatten().collect(),
                    };
                    for i in items.into_iter().filter(|i| !i.is_metric_time()) {
                        assert_bound_ids(&model, i);
                        assert_ne!(i.path().expect("element").element, ElementId::UNKNOWN);
                        checked += 1;
                    }
                }
            }
        }
        for sq in model.saved_queries.values() {
            for i in sq.group_by_items.iter().flatten() {
                if !i.is_metric_time() {
                    assert_bound_ids(&model, i);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} references checked");
}

#[test]
fn unknown_names_bind_to_the_unknown_id_and_are_reported_by_name() {
    let (model, _) = common::load_manifest("simple_manifest");
    for (group_by, what) in [
        ("nowhere__country_latest", "nowhere__country_latest"),
        ("listing__no_such_dimension", "listing__no_such_dimension"),
    ] {
        let item = tally_core::model::bind_item(
            &model,
            &tally_core::expr::parse_group_by(group_by, Span::DUMMY).expect("parses"),
        )
        .expect("binds");
        assert_bound_ids(&model, &item);
        let err = plan_query(
            &model,
            &QueryRequest::of(&["bookings"], &[group_by], &[] as &[&str]),
        )
        .expect_err("an unknown element does not plan");
        assert!(
            err.iter()
                .any(|d| d.code == codes::UNKNOWN_GROUP_BY && d.message.contains(what)),
            "{err:?}"
        );
    }
    // A known element over an unknown link: the element keeps its id.
    let item = tally_core::model::bind_item(
        &model,
        &tally_core::expr::parse_group_by("nowhere__country_latest", Span::DUMMY).expect("parses"),
    )
    .expect("binds");
    let path = item.path().expect("an element");
    assert_eq!(path.links, vec![ElementId::UNKNOWN]);
    assert_eq!(
        Some(path.element),
        model.element_id("country_latest"),
        "{item:?}"
    );
}

#[test]
fn a_shortened_path_is_completed_with_the_ids_of_the_full_path() {
    let (model, _) = common::load_manifest("multi_hop_join_manifest");
    // `customer_id__customer_name` from the account model is reached as
    // `account_id__customer_id__customer_name`: the output names the full path.
    let sql = tally_core::pipeline::compile(
        &model,
        Dialect::DuckDb,
        &QueryRequest::of(
            &["txn_count"],
            &["customer_id__customer_name"],
            &[] as &[&str],
        ),
    )
    .expect("compiles")
    .sql;
    assert!(
        sql.contains("account_id__customer_id__customer_name"),
        "{sql}"
    );
}

#[test]
fn measure_time_and_non_additive_dimensions_carry_the_ids_of_their_names() {
    let mut semi = 0;
    for (project, model) in projects() {
        for (mi, sm) in model.semantic_models.iter().enumerate() {
            for (i, m) in sm.measures.iter().enumerate() {
                // The aggregation time dimension: a time dimension of the measure's own model.
                let atd = model.agg_time_id(mi, i);
                let scanned = sm
                    .dimensions
                    .iter()
                    .position(|d| d.name == m.agg_time_dimension);
                assert_eq!(model.dimension_of(mi, atd).map(|(d, _)| d), scanned);
                assert!(
                    model.time_grain_on(mi, atd).is_some(),
                    "{project}: {}",
                    m.name
                );
                let ids = model.non_additive_ids(mi, i);
                let Some(na) = &m.non_additive else {
                    assert_eq!(ids, None, "{project}: {}", m.name);
                    continue;
                };
                let ids = ids.expect("a semi-additive measure has ids");
                assert_eq!(model.element_name(ids.dimension), na.dimension);
                assert_eq!(
                    model.dimension_of(mi, ids.dimension).map(|(d, _)| d),
                    sm.dimensions.iter().position(|d| d.name == na.dimension),
                    "{project}: {}",
                    m.name
                );
                let groupings: Vec<&str> = ids
                    .window_groupings
                    .iter()
                    .map(|g| model.element_name(*g))
                    .collect();
                assert_eq!(groupings, na.window_groupings, "{project}: {}", m.name);
                for (g, id) in na.window_groupings.iter().zip(&ids.window_groupings) {
                    assert_eq!(
                        model.entity_of(mi, *id).map(|(e, _)| e),
                        sm.entities.iter().position(|e| e.name == *g)
                    );
                }
                semi += 1;
            }
        }
    }
    assert!(semi > 0, "no semi-additive measure checked");
}

#[test]
fn conversion_entities_and_constant_properties_carry_the_ids_of_their_names() {
    let mut checked = 0;
    for (project, model) in projects() {
        for m in model.metrics.values() {
            let MetricKind::Conversion {
                base,
                conversion,
                entity,
                entity_id,
                constant_properties,
                ..
            } = &m.kind
            else {
                continue;
            };
            assert_eq!(model.element_id(entity), Some(*entity_id), "{project}");
            for r in [base, conversion] {
                let sm = &model.semantic_models[r.model];
                assert_eq!(
                    model.entity_of(r.model, *entity_id).map(|(e, _)| e),
                    sm.entities.iter().position(|e| e.name == *entity)
                );
            }
            for p in constant_properties {
                for (name, id, r) in [
                    (&p.base_property, p.base_id, base),
                    (&p.conversion_property, p.conversion_id, conversion),
                ] {
                    assert_eq!(id, model.element_id_or_unknown(name), "{project}: {name}");
                    let sm = &model.semantic_models[r.model];
                    let scanned = sm.dimensions.iter().any(|d| d.name == *name)
                        || sm.entities.iter().any(|e| e.name == *name);
                    assert_eq!(model.has_element(r.model, id), scanned, "{project}: {name}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0, "no constant property checked");
}

/// A conversion metric whose constant property names no element of its side is reported at the
/// property's characters by validation (the planner's report of it is left out), as before ids.
#[test]
fn an_unknown_constant_property_is_reported_at_its_name() {
    let (model, diags) = common::from_files(
        &[(
            "models/m.yml",
            "semantic_models:
  - name: visit_events
    node_relation: {alias: visits, schema_name: s}
    defaults: {agg_time_dimension: ds}
    entities:
      - {name: visit, type: primary, expr: visit_id}
      - {name: user, type: foreign, expr: user_id}
    dimensions:
      - {name: ds, type: time, type_params: {time_granularity: day}}
      - {name: referrer, type: categorical}
    measures:
      - {name: visits, agg: count, expr: visit_id}
  - name: buy_events
    node_relation: {alias: buys, schema_name: s}
    defaults: {agg_time_dimension: ds}
    entities:
      - {name: buy, type: primary, expr: buy_id}
      - {name: user, type: foreign, expr: user_id}
    dimensions:
      - {name: ds, type: time, type_params: {time_granularity: day}}
      - {name: referrer, type: categorical}
    measures:
      - {name: buys, agg: count, expr: buy_id}
metrics:
  - name: visit_buy
    type: conversion
    type_params:
      conversion_type_params:
        base_measure: visits
        conversion_measure: buys
        entity: user
        constant_properties:
          - {base_property: referrer, conversion_property: refferer}
project_configuration:
  time_spines:
    - node_relation: {alias: all_days, schema_name: s}
      primary_column: {name: date_day, time_granularity: day}
",
        )],
        None,
    );
    let found: Vec<_> = diags
        .iter()
        .filter(|d| d.code == codes::CONVERSION_PARAMS)
        .collect();
    assert_eq!(found.len(), 1, "{}", common::render(&model, &diags));
    let d = found[0];
    assert_eq!(
        d.message,
        "constant property `refferer` is not a dimension or entity of `buy_events`, the conversion measure's semantic model"
    );
    assert_eq!(
        model.sources.text(d.span),
        Some("refferer"),
        "{}",
        common::render(&model, &diags)
    );
    assert!(d.help.contains(&"did you mean `referrer`?".to_string()));
    let Some(MetricKind::Conversion {
        constant_properties,
        ..
    }) = model.metric("visit_buy").map(|m| &m.kind)
    else {
        panic!("the conversion metric resolves");
    };
    assert_eq!(constant_properties[0].conversion_id, ElementId::UNKNOWN);
    assert_eq!(
        constant_properties[0].base_id,
        model.element_id("referrer").expect("an element")
    );
}

#[test]
fn saved_queries_carry_the_ids_of_their_metrics() {
    let (model, _) = common::from_files(
        &[(
            "models/m.yml",
            "semantic_models:
  - name: orders
    node_relation: {alias: orders, schema_name: s}
    defaults: {agg_time_dimension: ds}
    entities:
      - {name: order, type: primary, expr: order_id}
    dimensions:
      - {name: ds, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: order_count, agg: count, expr: order_id}
metrics:
  - {name: revenue, type: simple, type_params: {measure: revenue}}
  - {name: order_count, type: simple, type_params: {measure: order_count}}
saved_queries:
  - name: daily
    query_params:
      metrics: [order_count, revenue, no_such_metric]
      group_by: [metric_time__day]
",
        )],
        None,
    );
    let sq = &model.saved_queries["daily"];
    let names: Vec<Option<&str>> = sq
        .metric_ids
        .iter()
        .map(|id| model.metric_by_id(*id).map(|m| m.name.as_str()))
        .collect();
    assert_eq!(names, [Some("order_count"), Some("revenue"), None]);
    assert_eq!(sq.metric_ids[2], MetricId::UNBOUND);
}

/// The planner keys its plain aggregations by the group-by items' typed keys: two items have
/// the same key exactly when they name the same output column.
#[test]
fn item_keys_tell_items_apart_as_their_output_names_do() {
    let (model, _) = common::load_manifest("simple_manifest");
    let texts = [
        "metric_time",
        "metric_time__day",
        "metric_time__month",
        "metric_time__extract_year",
        "booking__ds",
        "booking__ds__day",
        "booking__ds__month",
        "booking__ds__extract_year",
        "listing__country_latest",
        "listing",
        "listing__user__home_state_latest",
        "user__home_state_latest",
        "TimeDimension('booking__ds', 'week')",
        "Dimension('listing__country_latest')",
    ];
    let items: Vec<Item> = texts
        .iter()
        .map(|t| {
            tally_core::model::bind_item(
                &model,
                &tally_core::expr::parse_group_by(t, Span::DUMMY).expect("parses"),
            )
            .expect("binds")
        })
        .collect();
    for a in &items {
        for b in &items {
            assert_eq!(a.key() == b.key(), a.out == b.out, "{} / {}", a.out, b.out);
        }
    }
}
