//! dbt's latest semantic-layer YAML spec and dbt's `semantic_manifest.json` as inputs.
//!
//! `tests/dbt_spec/shop_legacy` and `tests/dbt_spec/shop_latest` are one small dbt project written
//! in the legacy spec and in the latest spec, each with the `semantic_manifest.json` real dbt wrote
//! for it (see `tests/dbt_spec/README.md`). The four inputs must resolve to the same model.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use tally_core::diag::{self, Diagnostic};
use tally_core::load::{load_files, load_manifest_text, LoadOptions};
use tally_core::model::Model;
use tally_core::model_dump::dump;

fn fixture(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dbt_spec")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The relations dbt resolved (database `shop`, schema `main` of the DuckDB profile), for the YAML
/// forms, where tally resolves `ref()` itself.
const CONFIG: &str = r#"
relations:
  refs:
    orders: '"shop"."main"."orders"'
    customers: '"shop"."main"."customers"'
"#;

/// The time spine as the manifests carry it (the `time_spine:` model property is read by the dbt
/// project loader; here the YAML forms declare it in MetricFlow's form).
const SPINE: &str = r#"
project_configuration:
  time_spines:
    - node_relation:
        alias: metricflow_time_spine
        schema_name: main
        database: shop
        relation_name: '"shop"."main"."metricflow_time_spine"'
      primary_column: {name: date_day, time_granularity: day}
"#;

fn from_yaml(files: &[(&str, &str)]) -> (Model, Vec<Diagnostic>) {
    common::from_files(files, Some(CONFIG))
}

fn from_manifest(name: &str, text: &str) -> (Model, Vec<Diagnostic>) {
    let (spec, diags) = load_manifest_text(name, text, None, &LoadOptions::default());
    common::resolve_and_validate(spec, diags)
}

fn errors(model: &Model, diags: &[Diagnostic]) -> String {
    let errs: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() || d.code == diag::codes::UNKNOWN_KEY)
        .cloned()
        .collect();
    diag::render_human(&model.sources, &errs, false)
}

fn clean_dump(what: &str, (model, diags): (Model, Vec<Diagnostic>)) -> Value {
    let e = errors(&model, &diags);
    assert!(e.is_empty(), "{what}:\n{e}");
    dump(&model)
}

#[test]
fn one_project_in_four_forms_is_one_model() {
    let legacy_yaml = fixture("shop_legacy/models/semantic.yml");
    let latest_yaml = fixture("shop_latest/models/semantic.yml");
    let legacy = clean_dump(
        "legacy YAML",
        from_yaml(&[("models/semantic.yml", &legacy_yaml), ("spine.yml", SPINE)]),
    );
    let latest = clean_dump(
        "latest YAML",
        from_yaml(&[("models/semantic.yml", &latest_yaml), ("spine.yml", SPINE)]),
    );
    let legacy_manifest = clean_dump(
        "dbt 1.11 manifest of the legacy YAML",
        from_manifest(
            "shop_legacy/semantic_manifest.json",
            &fixture("shop_legacy/semantic_manifest.json"),
        ),
    );
    let latest_manifest = clean_dump(
        "dbt 1.12 manifest of the latest YAML",
        from_manifest(
            "shop_latest/semantic_manifest.json",
            &fixture("shop_latest/semantic_manifest.json"),
        ),
    );
    let text = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    assert_eq!(text(&legacy), text(&latest), "legacy YAML vs latest YAML");
    assert_eq!(
        text(&legacy),
        text(&legacy_manifest),
        "legacy YAML vs its manifest"
    );
    assert_eq!(
        text(&latest),
        text(&latest_manifest),
        "latest YAML vs its manifest"
    );
    // The dump is not vacuous: every kind of metric is there, with its parameters.
    assert_eq!(legacy["metrics"].as_array().unwrap().len(), 10);
    let m = |name: &str| {
        legacy["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        m("order_total_mtd")["params"]["grain_to_date"]["Standard"],
        "month"
    );
    assert_eq!(
        m("order_total_mtd")["params"]["aggregation"]["expr"],
        "amount"
    );
    assert_eq!(
        m("p90_amount")["params"]["aggregation"]["agg"]["Percentile"]["approximate"],
        true
    );
    assert_eq!(
        m("last_day_amount")["params"]["aggregation"]["non_additive"]["window_groupings"][0],
        "customer"
    );
    assert_eq!(m("signup_to_order")["params"]["entity"], "customer");
    assert_eq!(
        legacy["semantic_models"][1]["relation"]["table"],
        "shop.main.orders"
    );
    insta::assert_snapshot!("shop_model_dump", text(&legacy));
}

/// dbt-core 1.12's own fixture for the latest spec (reference §2.11 (a)): one column that is both
/// a dimension and an entity, the mapping and shorthand forms, every metric type under the model.
#[test]
fn dbt_core_fixture_loads() {
    let yaml = r#"
models:
  - name: fct_revenue
    description: This is the model fct_revenue.
    semantic_model: true
    agg_time_dimension: second_dim
    columns:
      - name: id
        description: This is the id column dim.
        dimension:
          name: id_dim
          label: "ID Dimension"
          type: categorical
          is_partition: true
          config: {meta: {component_level: "dimension_override"}}
        entity:
          name: id_entity
          label: ID Entity
          type: primary
      - name: second_col
        granularity: day
        dimension:
          name: second_dim
          type: time
      - name: foreign_id_col
        entity: foreign
      - name: created_at
        granularity: day
        dimension:
          name: ds
          type: time
    metrics:
      - name: simple_metric
        label: Simple Metric
        type: simple
        agg: count
        expr: id
      - name: simple_metric_2
        agg_time_dimension: ds
        type: simple
        agg: count
        expr: second_col
      - name: percentile_metric
        type: simple
        agg: percentile
        percentile: 0.99
        percentile_type: discrete
        expr: second_col
      - name: private_metric
        type: simple
        agg: count
        expr: id
        hidden: true
      - name: cumulative_metric
        type: cumulative
        grain_to_date: day
        period_agg: first
        input_metric: simple_metric
      - name: conversion_metric
        type: conversion
        entity: id_entity
        calculation: conversion_rate
        base_metric: simple_metric
        conversion_metric: simple_metric_2
      - name: derived_metric_with_jinja_filter
        type: derived
        expr: simple_metric - offset_metric
        input_metrics:
          - name: simple_metric
          - name: simple_metric
            alias: offset_metric
            filter: |
              {{ Dimension('id_entity__id_dim') }} > 0
            offset_window: 1 week
      - name: ratio_metric_with_jinja_filter
        type: ratio
        numerator:
          name: simple_metric
          filter: |
            {{ Dimension('id_entity__id_dim') }} > 0
        denominator: simple_metric_2
"#;
    let (spec, diags) = load_files(&[("models/fct.yml", yaml)], None, &LoadOptions::default());
    let (model, diags) = common::resolve_and_validate(spec, diags);
    let e = errors(&model, &diags);
    // Cumulative and offset metrics need a time spine; nothing else may be wrong.
    assert!(
        !diags
            .iter()
            .any(|d| d.is_error() && d.code != diag::codes::TIME_SPINE),
        "{e}"
    );
    let sm = &model.semantic_models[0];
    assert_eq!(sm.name, "fct_revenue");
    assert_eq!(sm.primary_entity_name(), Some("id_entity"));
    let names = |v: Vec<&str>| v.join(",");
    assert_eq!(
        names(sm.entities.iter().map(|e| e.name.as_str()).collect()),
        "id_entity,foreign_id_col"
    );
    assert_eq!(
        names(sm.dimensions.iter().map(|d| d.name.as_str()).collect()),
        "id_dim,second_dim,ds"
    );
    assert_eq!(sm.dimension("id_dim").unwrap().expr, "id");
    assert!(sm.dimension("id_dim").unwrap().is_partition);
    assert_eq!(model.metrics.len(), 8);
    let d = dump(&model);
    let metric = |name: &str| {
        d["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(metric("private_metric")["hidden"], true);
    assert_eq!(metric("simple_metric")["hidden"], false);
    assert_eq!(
        metric("simple_metric_2")["params"]["aggregation"]["agg_time_dimension"],
        "ds"
    );
    assert_eq!(
        metric("simple_metric")["params"]["aggregation"]["agg_time_dimension"],
        "second_dim"
    );
    let p = &metric("percentile_metric")["params"]["aggregation"]["agg"]["Percentile"];
    assert_eq!(
        (p["p"].as_f64(), &p["discrete"]),
        (Some(0.99), &Value::Bool(true))
    );
    assert_eq!(
        metric("conversion_metric")["params"]["conversion"]["agg_time_dimension"],
        "ds"
    );
    assert_eq!(
        metric("cumulative_metric")["params"]["aggregation"]["expr"],
        "CASE WHEN id IS NOT NULL THEN 1 ELSE 0 END"
    );
}

/// The two specs mix in one project, even in one file: a latest-spec metric reads a legacy
/// measure's metric and the other way round.
#[test]
fn specs_mix_in_one_project() {
    let legacy = r#"
semantic_models:
  - name: visits
    model: ref('visits')
    defaults: {agg_time_dimension: visited_at}
    entities: [{name: visit, type: primary}, {name: customer, type: foreign, expr: customer_id}]
    dimensions: [{name: visited_at, type: time, type_params: {time_granularity: day}}]
    measures: [{name: visits, agg: count, expr: visit}]
metrics:
  - name: visits
    type: simple
    type_params: {measure: visits}
  - name: orders_per_visit
    type: ratio
    type_params: {numerator: orders, denominator: visits}
"#;
    let latest = r#"
models:
  - name: orders
    semantic_model: {enabled: true, name: order_facts}
    agg_time_dimension: ordered_at
    columns:
      - {name: order_id, entity: primary}
      - {name: customer_id, entity: {type: foreign, name: customer}}
      - {name: ordered_at, granularity: day, dimension: time}
    metrics:
      - {name: orders, agg: COUNT, expr: order_id}
  - name: not_semantic
    semantic_model: {enabled: false}
    metrics:
      - {name: ignored, agg: sum}
metrics:
  - name: visits_minus_orders
    type: derived
    expr: visits - orders
    input_metrics: [visits, orders]
"#;
    let (spec, diags) = load_files(
        &[("models/legacy.yml", legacy), ("models/latest.yml", latest)],
        None,
        &LoadOptions::default(),
    );
    let (model, diags) = common::resolve_and_validate(spec, diags);
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "{}",
        errors(&model, &diags)
    );
    let names: Vec<&str> = model.metrics.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "visits",
            "orders_per_visit",
            "orders",
            "visits_minus_orders"
        ]
    );
    let (_, sm) = model.semantic_model("order_facts").unwrap();
    assert_eq!(
        sm.relation,
        tally_core::model::Relation::Table("orders".into())
    );
    assert_eq!(sm.entity("order_id").unwrap().expr, "order_id");
}

/// `fill_nulls_with` and `join_to_timespine` on a latest-spec metric are kept (dbt-core 1.12 drops
/// `fill_nulls_with` from its manifest; Fusion keeps it, and so does tally), and `filter:` may be a
/// list; derived entities and dimensions are expressions.
#[test]
fn simple_metric_options_and_derived_semantics() {
    let yaml = r#"
models:
  - name: orders
    semantic_model: {enabled: true}
    agg_time_dimension: ordered_at
    columns:
      - {name: order_id, entity: {type: primary, name: order}}
      - {name: ordered_at, granularity: day, dimension: {type: time}}
    derived_semantics:
      entities:
        - {name: order_customer_key, type: foreign, expr: "order_id || '-' || customer_id"}
      dimensions:
        - {name: size, type: categorical, expr: "case when amount > 100 then 'large' else 'small' end"}
        - {name: ordered_week, type: time, granularity: week, expr: "date_trunc('week', ordered_at)"}
    metrics:
      - name: revenue
        agg: sum
        expr: amount
        fill_nulls_with: 0
        join_to_timespine: true
        filter:
          - "{{ Dimension('order__size') }} = 'large'"
          - "{{ Dimension('order__size') }} != 'x'"
      - name: revenue_p50
        agg: median
        expr: amount
        percentile_type: continuous
      - name: revenue_cumulative
        type: cumulative
        input_metric: {name: revenue, filter: "{{ Dimension('order__size') }} = 'small'"}
        window: 7 days
"#;
    let (spec, diags) = load_files(&[("models/o.yml", yaml)], None, &LoadOptions::default());
    let (model, diags) = common::resolve_and_validate(spec, diags);
    assert!(
        !diags
            .iter()
            .any(|d| d.is_error() && d.code != diag::codes::TIME_SPINE),
        "{}",
        errors(&model, &diags)
    );
    let d = dump(&model);
    let metric = |name: &str| {
        d["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let revenue = metric("revenue");
    assert_eq!(revenue["params"]["aggregation"]["fill_nulls_with"], 0);
    assert_eq!(revenue["params"]["aggregation"]["join_to_timespine"], true);
    assert_eq!(revenue["filters"].as_array().unwrap().len(), 2);
    let p50 = &metric("revenue_p50")["params"]["aggregation"]["agg"]["Percentile"];
    assert_eq!(
        (p50["p"].as_f64(), &p50["approximate"]),
        (Some(0.5), &Value::Bool(true))
    );
    // The cumulative metric reads the simple metric with its filters, options and its own filter.
    let cum = &metric("revenue_cumulative")["params"];
    assert_eq!(cum["aggregation"]["filters"].as_array().unwrap().len(), 3);
    assert_eq!(cum["aggregation"]["fill_nulls_with"], 0);
    let sm = &model.semantic_models[0];
    assert_eq!(
        sm.entity("order_customer_key").unwrap().expr,
        "order_id || '-' || customer_id"
    );
    assert_eq!(
        sm.dimension("ordered_week").unwrap().time_grain,
        Some(tally_core::time::Grain::Week)
    );
}

/// What both engines reject is an error with a span and a hint.
#[test]
fn rejected_latest_spec_keys_are_spanned_errors() {
    let yaml = r#"
models:
  - name: orders
    semantic_model: {enable: true}
    agg_time_dimension: ordered_at
    columns:
      - name: ordered_at
        dimension: {type: time, granularity: day}
      - {name: order_id, entity: {type: primary, name: order}, data_tests: [unique]}
      - {name: status, dimension: categorical, dimensoin_note: x}
    metrics:
      - {name: revenue, agg: avg, expr: amount}
      - {name: p99, agg: percentile, percentile: 0.99, percentile_type: approximate}
      - {name: revenue2, expr: amount}
      - {name: ratio, type: ratio, numerator: a, denominator: b, fill_nulls_with: 0}
      - name: nad
        agg: sum
        non_additive_dimension: {name: ordered_at, window_choice: max}
"#;
    let (spec, diags) = load_files(&[("models/o.yml", yaml)], None, &LoadOptions::default());
    let (model, diags) = common::resolve_and_validate(spec, diags);
    let text = diag::render_human(&model.sources, &diags, false);
    insta::assert_snapshot!("rejected_latest_spec_keys", text);
    // Unknown keys of dbt's own column properties are warnings, not errors.
    let dimensoin = diags
        .iter()
        .find(|d| d.message.contains("dimensoin_note"))
        .unwrap();
    assert_eq!(dimensoin.severity, diag::Severity::Warning);
    let enable = diags
        .iter()
        .find(|d| d.message.contains("`enable`"))
        .unwrap();
    assert!(enable.is_error());
    assert_eq!(enable.help, vec!["did you mean `enabled`?".to_string()]);
}

/// Errors in a semantic manifest point at file, line and column of the JSON.
#[test]
fn manifest_errors_point_into_the_json() {
    let render = |text: &str| {
        let (model, diags) = from_manifest("target/semantic_manifest.json", text);
        diag::render_human(&model.sources, &diags, false)
    };
    // A syntax error.
    let out = render("{\n  \"metrics\": [\n    {\"name\": \"m\",}\n  ]\n}\n");
    assert!(out.contains("error[E0014]"), "{out}");
    assert!(out.contains("target/semantic_manifest.json:3:18"), "{out}");
    // A value of the wrong type, and an unknown metric in a saved query.
    let out = render(
        r#"{"semantic_models": [],
 "metrics": [{"name": "m", "type": "simple", "type_params": {"measure": {"name": "nope"}}}],
 "saved_queries": [{"name": "q", "query_params": {"metrics": ["mm"], "limit": "ten"}}]
}"#,
    );
    assert!(
        out.contains("error[E0103]: unknown measure `nope`"),
        "{out}"
    );
    assert!(out.contains("target/semantic_manifest.json:2:82"), "{out}");
    assert!(out.contains("error[E0004]"), "{out}");
    assert!(out.contains("target/semantic_manifest.json:3:79"), "{out}");
}

/// A slowly changing dimension (SCD type II) in the latest spec (reference §2.11 (c)) is the same
/// model as in the legacy spec.
#[test]
fn scd2_in_both_specs() {
    let latest = r#"
models:
  - name: sales_person_tiers
    semantic_model: {enabled: true}
    agg_time_dimension: tier_start
    primary_entity: sales_person
    columns:
      - name: start_date
        granularity: day
        dimension: {type: time, name: tier_start, validity_params: {is_start: true}}
      - name: end_date
        granularity: day
        dimension: {type: time, name: tier_end, validity_params: {is_end: true}}
      - name: tier
        dimension: {type: categorical}
      - name: sales_person_id
        entity: {type: natural, name: sales_person}
"#;
    let legacy = r#"
semantic_models:
  - name: sales_person_tiers
    model: ref('sales_person_tiers')
    defaults: {agg_time_dimension: tier_start}
    primary_entity: sales_person
    entities: [{name: sales_person, type: natural, expr: sales_person_id}]
    dimensions:
      - name: tier_start
        type: time
        expr: start_date
        type_params: {time_granularity: day, validity_params: {is_start: true}}
      - name: tier_end
        type: time
        expr: end_date
        type_params: {time_granularity: day, validity_params: {is_end: true}}
      - {name: tier, type: categorical}
"#;
    let load = |yaml: &str| {
        let (spec, diags) = load_files(&[("models/m.yml", yaml)], None, &LoadOptions::default());
        clean_dump("SCD", common::resolve_and_validate(spec, diags))
    };
    let (a, b) = (load(latest), load(legacy));
    assert_eq!(a, b);
    assert_eq!(
        a["semantic_models"][0]["dimensions"][2]["validity"],
        "Start"
    );
}

/// With `--manifest`, the semantic layer comes from the manifest only; the project's metric tests
/// are still read from its YAML.
#[test]
fn with_a_manifest_the_yaml_gives_only_metric_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("tally.yml", "name: shop\n");
    write(
        "models/semantic.yml",
        &fixture("shop_latest/models/semantic.yml"),
    );
    write(
        "models/tests.yml",
        "metric_tests:\n  - name: t\n    query: {metrics: [order_total]}\n    expect: {rows: []}\n",
    );
    write(
        "target/semantic_manifest.json",
        &fixture("shop_legacy/semantic_manifest.json"),
    );
    let opts = LoadOptions {
        manifest: Some(root.join("target/semantic_manifest.json")),
        ..LoadOptions::default()
    };
    let (spec, diags) = tally_core::load::load_project(root, &opts);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(spec.metric_tests.len(), 1);
    assert_eq!(spec.metrics.len(), 10);
    // The legacy manifest's measures, not the latest YAML's model metrics.
    assert_eq!(spec.semantic_models[1].measures.len(), 4);
}

/// Business calendars and durations load from latest-spec files as from legacy ones: the same
/// project in both spellings dumps identically, durations and calendars included.
#[test]
fn business_durations_in_both_specs() {
    let calendars = r#"
business_calendars:
  - name: office
    timezone: Europe/Dublin
    weekly: {weekdays: ["09:00-17:00"]}
    include_exceptions: [bank_holidays]
    range: {start: 2026-01-01, end: 2026-12-31}
holiday_sets:
  - name: bank_holidays
    exceptions: [{date: 2026-03-17, closed: true, name: St Patrick's Day}]
"#;
    let latest = r#"
models:
  - name: tickets
    semantic_model: {enabled: true}
    agg_time_dimension: opened_at
    columns:
      - {name: ticket_id, entity: {type: primary, name: ticket}}
      - {name: opened_at, granularity: day, dimension: {type: time}}
      - {name: closed_at, granularity: day, dimension: {type: time}}
    business_durations:
      - {name: business_minutes_to_close, start: opened_at, end: closed_at, calendar: office}
      - {name: business_days_open, start: opened_at, end: closed_at, calendar: office, unit: business_day, open_end: as_of}
"#;
    let legacy = r#"
semantic_models:
  - name: tickets
    model: ref('tickets')
    defaults: {agg_time_dimension: opened_at}
    entities: [{name: ticket, type: primary, expr: ticket_id}]
    dimensions:
      - {name: opened_at, type: time, type_params: {time_granularity: day}}
      - {name: closed_at, type: time, type_params: {time_granularity: day}}
    business_durations:
      - {name: business_minutes_to_close, start: opened_at, end: closed_at, calendar: office}
      - {name: business_days_open, start: opened_at, end: closed_at, calendar: office, unit: business_day, open_end: as_of}
"#;
    let load = |yaml: &str, with_calendars: bool| {
        let mut files = vec![("models/m.yml", yaml.to_string())];
        if with_calendars {
            files.push(("models/calendars.yml", calendars.to_string()));
        } else {
            // The calendars in the same latest-spec file as the model.
            files[0].1 = format!("{yaml}{calendars}");
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let (spec, diags) = load_files(&files, None, &LoadOptions::default());
        clean_dump(
            "business durations",
            common::resolve_and_validate(spec, diags),
        )
    };
    let (a, b) = (load(latest, false), load(legacy, true));
    assert_eq!(a, b);
    let defs = a["semantic_models"][0]["business_durations"]
        .as_array()
        .expect("durations dumped");
    assert_eq!(defs.len(), 2);
    assert!(defs[0]["definition"]
        .as_str()
        .unwrap()
        .contains("exception 2026-03-17: closed"));
}
