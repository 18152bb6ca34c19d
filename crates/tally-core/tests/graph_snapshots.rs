//! Snapshots of the project graph and of lineage: on MetricFlow's simple manifest, and on a small
//! project with owners and drivers.

mod common;

use tally_core::diag::codes;
use tally_core::graph::{self, GraphOptions, NodeKind};
use tally_core::model::Model;

const TALLY_YML: &str = "\
name: shop
people:
  - {name: ana, full_name: Ana Lima, teams: [analytics]}
  - {name: bo, full_name: Bo Berg, teams: [growth]}
  - {name: cy, full_name: Cy Ng}
teams:
  - {name: analytics, description: Data and BI, members: [ana]}
  - {name: growth, members: [bo]}
";

const MODELS: &str = "\
semantic_models:
  - name: orders
    node_relation: {alias: orders, schema_name: shop}
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: order, type: primary, expr: order_id}
      - {name: customer, type: foreign, expr: customer_id}
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: status, type: categorical}
    measures:
      - {name: order_count, agg: count, expr: order_id}
      - {name: revenue, agg: sum, expr: amount}
  - name: customers
    node_relation: {alias: customers, schema_name: shop}
    defaults: {agg_time_dimension: signed_up_at}
    entities:
      - {name: customer, type: primary, expr: customer_id}
    dimensions:
      - {name: signed_up_at, type: time, type_params: {time_granularity: day}}
      - {name: country, type: categorical, expr: upper(country_code)}
    measures:
      - {name: signups, agg: sum, expr: '1'}
";

const METRICS: &str = "\
metrics:
  - name: revenue_total
    label: Revenue
    type: simple
    type_params: {measure: revenue}
    owners: {accountable: ana, responsible: [analytics]}
  - name: orders_total
    type: simple
    type_params: {measure: order_count}
    filter: \"{{ Dimension('order__status') }} != 'cancelled'\"
    owners: {accountable: bo, informed: [cy]}
  - name: signups_total
    type: simple
    type_params: {measure: signups}
    owners: {accountable: growth}
  - name: average_order_value
    type: derived
    type_params:
      expr: revenue_total / orders
      metrics:
        - revenue_total
        - name: orders_total
          alias: orders
          filter: \"{{ Dimension('customer__country') }} = 'FR'\"
    owners: {accountable: ana}
    drivers: [signups_total, orders_total]
  - name: revenue_per_signup
    type: ratio
    type_params: {numerator: revenue_total, denominator: signups_total}
    drivers: [average_order_value]
";

fn small() -> Model {
    let (model, diags) = common::from_files(
        &[("models/shop.yml", MODELS), ("metrics/m.yml", METRICS)],
        Some(TALLY_YML),
    );
    assert!(diags.is_empty(), "{}", common::render(&model, &diags));
    model
}

#[test]
fn small_project_mermaid_metric_tree() {
    let g = graph::build_graph(&small());
    insta::assert_snapshot!(graph::to_mermaid(&g, &GraphOptions::default()));
}

#[test]
fn small_project_dot_full() {
    let g = graph::build_graph(&small());
    insta::assert_snapshot!(graph::to_dot(&g, &GraphOptions::full()));
}

#[test]
fn small_project_json_metric_tree() {
    let g = graph::build_graph(&small());
    insta::assert_snapshot!(serde_json::to_string_pretty(&graph::to_json(
        &g,
        &GraphOptions::metric_tree()
    ))
    .expect("json"));
}

#[test]
fn small_project_lineage() {
    let model = small();
    let l = graph::lineage(&model, "average_order_value").expect("known metric");
    insta::assert_snapshot!("small_lineage_text", graph::render_lineage_text(&l));
    insta::assert_snapshot!(
        "small_lineage_json",
        serde_json::to_string_pretty(&graph::lineage_to_json(&l)).expect("json")
    );
}

#[test]
fn graph_has_every_kind_and_stable_ids() {
    let g = graph::build_graph(&small());
    for kind in [
        NodeKind::SemanticModel,
        NodeKind::Entity,
        NodeKind::Dimension,
        NodeKind::Measure,
        NodeKind::Metric,
        NodeKind::Person,
        NodeKind::Team,
    ] {
        assert!(g.nodes().any(|n| n.kind == kind), "no {kind:?} node");
    }
    for id in [
        "metric:revenue_total",
        "measure:revenue",
        "semantic_model:orders",
        "entity:customer",
        "dimension:customers.country",
        "person:ana",
        "team:analytics",
    ] {
        assert!(g.node(id).is_some(), "no node {id}");
    }
    let edges: Vec<(String, &str, String, Option<String>)> = g
        .edges()
        .map(|(a, e, b)| (a.id.clone(), e.kind.name(), b.id.clone(), e.label.clone()))
        .collect();
    assert!(edges.contains(&(
        "semantic_model:orders".into(),
        "joins-to",
        "semantic_model:customers".into(),
        Some("customer".into())
    )));
    // Never towards a model on which the entity is foreign.
    assert!(!edges
        .iter()
        .any(|(a, k, b, _)| a == "semantic_model:customers"
            && *k == "joins-to"
            && b == "semantic_model:orders"));
    assert!(edges.contains(&(
        "metric:signups_total".into(),
        "drives",
        "metric:average_order_value".into(),
        None
    )));
    assert!(edges.contains(&(
        "metric:revenue_total".into(),
        "owned-by",
        "team:analytics".into(),
        Some("responsible".into())
    )));
    assert!(edges.contains(&("person:bo".into(), "member-of", "team:growth".into(), None)));
    // Same input, same output.
    assert_eq!(
        graph::to_dot(&g, &GraphOptions::full()),
        graph::to_dot(&graph::build_graph(&small()), &GraphOptions::full())
    );
}

#[test]
fn lineage_of_an_unknown_metric() {
    let model = small();
    let d = graph::lineage(&model, "revenue_totl").expect_err("unknown");
    assert_eq!(d.code, codes::UNKNOWN_METRIC);
    assert_eq!(d.help[0], "did you mean `revenue_total`?");
}

#[test]
fn simple_manifest_mermaid() {
    let (model, _) = common::load_manifest("simple_manifest");
    let g = graph::build_graph(&model);
    insta::assert_snapshot!(graph::to_mermaid(&g, &GraphOptions::default()));
}

#[test]
fn simple_manifest_dot() {
    let (model, _) = common::load_manifest("simple_manifest");
    let g = graph::build_graph(&model);
    insta::assert_snapshot!(graph::to_dot(&g, &GraphOptions::full()));
}

#[test]
fn simple_manifest_lineage_of_bookings_per_booker() {
    let (model, _) = common::load_manifest("simple_manifest");
    let l = graph::lineage(&model, "bookings_per_booker").expect("known metric");
    insta::assert_snapshot!(graph::render_lineage_text(&l));
}
