//! Element names are bound to ids once, by resolution (`model::elements`): every dimension, time
//! dimension and entity name (and every `primary_entity:`) has one `ElementId`, with the places it
//! occurs; bound references (filters, saved queries, a query's group-by items) carry the ids of
//! their entity links and element, and the join-path search reads those. These tests check the
//! tables against a plain scan of the semantic models by name, and that references carry the ids
//! of the names they were written with.

mod common;

use tally_core::diag::codes;
use tally_core::dialect::Dialect;
use tally_core::model::{ElementId, FilterRef, Item, Model};
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
