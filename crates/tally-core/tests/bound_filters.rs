//! The references of filters are bound to the model once, by resolution (`Filter::bound`):
//! dimensions, time dimensions and entities to their targets (entity links, element, grain, date
//! part, output name), `Metric('x')` names to `MetricId`s, bare item names of the SQL read as
//! references; a query's own filter is bound by the same function when the query is planned.

mod common;

use tally_core::diag::codes;
use tally_core::dialect::Dialect;
use tally_core::model::{BoundFilter, ElementPath, Filter, FilterRef, Item, Model, Target};
use tally_core::plan::{plan_query, QueryRequest};
use tally_core::source::Span;
use tally_core::time::{Grain, TimeGrain};

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
      - {name: revenue, agg: sum, expr: amount}
      - {name: order_count, agg: sum, expr: '1'}
  - name: customers
    node_relation: {alias: customers, schema_name: shop}
    entities:
      - {name: customer, type: primary, expr: customer_id}
    dimensions:
      - {name: region, type: categorical}
";

fn load(metrics: &str) -> (Model, Vec<tally_core::diag::Diagnostic>) {
    common::from_files(
        &[("models/shop.yml", MODELS), ("metrics/m.yml", metrics)],
        None,
    )
}

fn bound(f: &Filter) -> &BoundFilter {
    f.bound
        .as_deref()
        .expect("resolution binds every filter that parses")
}

fn item(r: &FilterRef) -> &Item {
    match r {
        FilterRef::Item(Ok(i)) => i,
        other => panic!("expected a bound item, got {other:?}"),
    }
}

const FILTERED: &str = "\
metrics:
  - name: broken_first
    type: derived
    type_params:
      expr: nothing
      metrics: [nothing]
  - name: orders
    type: simple
    type_params: {measure: order_count}
  - name: big_customer_revenue
    type: simple
    type_params: {measure: revenue}
    filter: |
      {{ Dimension('customer__region') }} = 'EU'
      AND {{ TimeDimension('order__ordered_at', 'month') }} >= '2024-01-01'
      AND {{ Entity('customer') }} IS NOT NULL
      AND {{ Metric('orders', group_by=['customer']) }} > 2
      AND order__status = 'paid'
";

#[test]
fn project_filters_are_bound_at_resolution() {
    let (model, _) = load(FILTERED);
    let m = model.metric("big_customer_revenue").expect("resolved");
    let b = bound(&m.filters[0]);
    assert_eq!(b.refs.len(), 5, "{b:?}");

    let region = item(&b.refs[0]);
    assert_eq!(
        region.target,
        Target::Element {
            links: vec!["customer".into()],
            element: "region".into(),
            path: ElementPath {
                links: vec![model.element_id("customer").expect("an entity")],
                element: model.element_id("region").expect("a dimension"),
            },
            grain: None,
            date_part: None,
        }
    );
    assert_eq!(region.out, "customer__region");
    assert_eq!(
        model.sources.text(region.span),
        Some("Dimension('customer__region')")
    );

    let ordered_at = item(&b.refs[1]);
    assert_eq!(ordered_at.out, "order__ordered_at__month");
    assert_eq!(ordered_at.grain(), Some(&TimeGrain::Standard(Grain::Month)));
    assert_eq!(
        ordered_at.element(),
        Some((&["order".to_string()][..], "ordered_at"))
    );

    let customer = item(&b.refs[2]);
    assert_eq!(customer.element(), Some((&[][..], "customer")));

    // `Metric('orders')` is bound to the id of `orders`, though a metric before it was left out.
    let FilterRef::Metric(mr) = &b.refs[3] else {
        panic!("expected a metric reference: {:?}", b.refs[3]);
    };
    let id = *mr.metric.as_ref().expect("bound");
    assert_eq!(Some(id), model.metric_id("orders"));
    assert_eq!(
        model.metric_by_id(id).map(|m| m.name.as_str()),
        Some("orders")
    );
    assert!(model.metric("broken_first").is_none());
    assert_eq!(mr.items.len(), 1);
    assert_eq!(mr.items[0].as_ref().expect("bound").out, "customer");

    // A bare item name in the SQL is a reference too, at its characters.
    let status = item(&b.refs[4]);
    assert_eq!(status.out, "order__status");
    assert_eq!(model.sources.text(status.span), Some("order__status"));
}

#[test]
fn an_unknown_metric_in_a_filter_is_bound_to_its_diagnostic() {
    let (model, diags) = load(
        "\
metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
  - name: filtered
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ Metric('ordes', group_by=['customer']) }} > 2\"
",
    );
    let m = model.metric("filtered").expect("resolved");
    let FilterRef::Metric(mr) = &bound(&m.filters[0]).refs[0] else {
        panic!("a metric reference");
    };
    let d = mr.metric.as_ref().expect_err("no metric `ordes`");
    assert_eq!(d.code, codes::UNKNOWN_METRIC);
    assert_eq!(
        model.sources.text(d.span),
        Some("Metric('ordes', group_by=['customer'])")
    );
    assert!(
        d.help.iter().any(|h| h.contains("did you mean `orders`")),
        "{d:?}"
    );
    // Validation reports it once, where the filter is planned.
    let reported: Vec<_> = diags
        .iter()
        .filter(|x| x.is_error() && x.message.contains("ordes"))
        .collect();
    assert_eq!(reported.len(), 1, "{diags:?}");
    assert_eq!(reported[0].span, d.span);
}

#[test]
fn an_unknown_granularity_is_bound_to_its_diagnostic() {
    let (model, diags) = load(
        "\
metrics:
  - name: filtered
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ TimeDimension('order__ordered_at', 'mnth') }} >= '2024-01-01'\"
",
    );
    let m = model.metric("filtered").expect("resolved");
    let FilterRef::Item(Err(d)) = &bound(&m.filters[0]).refs[0] else {
        panic!("an unbound item");
    };
    assert_eq!(d.code, codes::GRANULARITY);
    assert!(d.help.iter().any(|h| h.contains("month")), "{d:?}");
    assert!(diags
        .iter()
        .any(|x| x.code == codes::GRANULARITY && x.span == d.span));
}

#[test]
fn a_query_filter_is_bound_by_the_same_function() {
    let (model, _) = load(FILTERED);
    let text = "{{ Dimension('customer__region') }} = 'EU' AND order__status = 'paid'";
    let f = Filter::new(text, Span::DUMMY);
    assert!(f.bound.is_none(), "bound when the query is planned");
    let b = f.bound_in(&model);
    let outs: Vec<&str> = bound(&b).items().map(|i| i.out.as_str()).collect();
    assert_eq!(outs, ["customer__region", "order__status"]);

    // Planned as a query's own filter, it gives the SQL the same filter gives in a saved query
    // (bound by resolution).
    let project = format!(
        "{FILTERED}saved_queries:\n  - name: eu_paid\n    query_params:\n      metrics: [orders]\n      group_by: [metric_time__day]\n      where: [\"{}\"]\n",
        text
    );
    let (model, diags) = load(&project);
    assert!(
        diags.iter().all(|d| d.code != codes::SAVED_QUERY),
        "{diags:?}"
    );
    let saved = QueryRequest::from_saved_query(&model, "eu_paid").expect("saved query");
    assert!(saved.where_[0].bound.is_some());
    let req = QueryRequest::of(&["orders"], &["metric_time__day"], &[text]);
    let compile = |r: &QueryRequest| {
        tally_core::pipeline::compile(&model, Dialect::DuckDb, r)
            .expect("compiles")
            .sql
    };
    let sql = compile(&req);
    assert_eq!(sql, compile(&saved));
    assert!(sql.contains("'paid'") && sql.contains("region"), "{sql}");
}

#[test]
fn a_query_filter_with_an_unknown_metric_is_reported_at_planning() {
    let (model, _) = load(FILTERED);
    let req = QueryRequest::of(
        &["orders"],
        &["metric_time__day"],
        &["{{ Metric('revenu', group_by=['order']) }} > 1"],
    );
    let errs = plan_query(&model, &req).expect_err("unknown metric");
    let d = errs
        .iter()
        .find(|d| d.code == codes::UNKNOWN_METRIC)
        .expect("E0201");
    assert_eq!(d.message, "unknown metric `revenu`");
}
