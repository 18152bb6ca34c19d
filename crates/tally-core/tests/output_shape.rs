//! The shape of a query's answer as MetricFlow gives it: the order of the output columns, the
//! entity paths a dunder name may stand for (and the name of its column), CTE names that never
//! shadow a relation the query reads, and the request options of dimension-only queries.
//!
//! The `shop` project below is a small dbt Semantic Layer project; every expected column list was
//! produced by `mf query` (MetricFlow 0.213.0, dbt-metricflow 0.15.0, dbt-duckdb) on the same
//! semantic models built as a dbt project.

use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;

const SHOP: &str = r#"
semantic_model:
  name: orders
  node_relation: {schema_name: main, alias: orders}
  defaults: {agg_time_dimension: ordered_at}
  entities:
    - {name: order, type: primary, expr: order_id}
    - {name: customer, type: foreign, expr: customer_id}
    - {name: product, type: foreign, expr: product_id}
  dimensions:
    - {name: ordered_at, type: time, type_params: {time_granularity: day}}
    - {name: status, type: categorical}
    - {name: amount_band, type: categorical, expr: "case when amount > 8 then 'big' else 'small' end"}
    - {name: day_of, type: time, expr: ordered_at, type_params: {time_granularity: day}}
  measures:
    - {name: order_total, agg: sum, expr: amount}
    - {name: order_count, agg: count, expr: order_id}
---
semantic_model:
  name: customers
  node_relation: {schema_name: main, alias: customers}
  entities:
    - {name: customer, type: primary, expr: customer_id}
    - {name: region_e, type: foreign, expr: region}
  dimensions:
    - {name: region, type: categorical}
    - {name: signup_at, type: time, type_params: {time_granularity: day}}
    - {name: cid_upper, type: categorical, expr: upper(customer_id)}
---
semantic_model:
  name: products
  node_relation: {schema_name: main, alias: products}
  entities:
    - {name: product, type: primary, expr: product_id}
  dimensions:
    - {name: category, type: categorical}
    - {name: launched_at, type: time, type_params: {time_granularity: day}}
  measures:
    - {name: product_count, agg: count, expr: product_id, agg_time_dimension: launched_at}
---
semantic_model:
  name: regions
  node_relation: {schema_name: main, alias: customers}
  entities:
    - {name: region_e, type: primary, expr: region}
  dimensions:
    - {name: region_upper, type: categorical, expr: upper(region)}
---
metric: {name: order_total, type: simple, type_params: {measure: order_total}}
---
metric: {name: order_count, type: simple, type_params: {measure: order_count}}
---
metric: {name: product_count, type: simple, type_params: {measure: product_count}}
---
metric: {name: order_total_mtd, type: cumulative, type_params: {measure: order_total, grain_to_date: month}}
---
metric: {name: order_total_7d, type: cumulative, type_params: {measure: order_total, window: 7 days}}
---
metric:
  name: order_total_prev
  type: derived
  type_params:
    expr: prev_total
    metrics: [{name: order_total, offset_window: 1 month, alias: prev_total}]
---
metric:
  name: total_per_product
  type: derived
  type_params: {expr: order_total / product_count, metrics: [order_total, product_count]}
---
project_configuration:
  time_spines:
    - node_relation: {schema_name: main, alias: metricflow_time_spine}
      primary_column: {name: date_day, time_granularity: day}
"#;

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let (model, diags) = tally_core::pipeline::load_model(
        dir.path(),
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (dir, model)
}

fn columns(model: &Model, metrics: &[&str], group_by: &[&str]) -> Vec<String> {
    let req = QueryRequest::of(metrics, group_by, &[] as &[&str]);
    match tally_core::pipeline::compile(model, Dialect::DuckDb, &req) {
        Ok(c) => c.plan.columns,
        Err(d) => panic!("{metrics:?} by {group_by:?}: {d:#?}"),
    }
}

fn error(model: &Model, metrics: &[&str], group_by: &[&str]) -> String {
    let req = QueryRequest::of(metrics, group_by, &[] as &[&str]);
    match tally_core::pipeline::compile(model, Dialect::DuckDb, &req) {
        Ok(c) => panic!("{metrics:?} by {group_by:?} compiled:\n{}", c.sql),
        Err(d) => tally_core::diag::render_human(&model.sources, &d, false),
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one table-driven test of every case
fn group_by_columns_come_in_metricflows_order() {
    let (_dir, m) = load(&[("shop.yml", SHOP)]);
    // (metrics, group-by as requested, columns as `mf query` returns them)
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["order_total"],
            &["customer__region", "metric_time__month"],
            &["metric_time__month", "customer__region", "order_total"],
        ),
        (
            &["order_total", "order_count"],
            &[
                "order__status",
                "customer",
                "metric_time__month",
                "customer__signup_at__month",
            ],
            &[
                "metric_time__month",
                "customer__signup_at__month",
                "customer",
                "order__status",
                "order_total",
                "order_count",
            ],
        ),
        (
            &["order_count", "order_total"],
            &[
                "customer__signup_at__month",
                "metric_time__month",
                "customer__region",
                "order__status",
                "order",
                "customer",
            ],
            &[
                "metric_time__month",
                "customer__signup_at__month",
                "order",
                "customer",
                "order__status",
                "customer__region",
                "order_count",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &["order__amount_band", "order__status"],
            &["order__status", "order__amount_band", "order_total"],
        ),
        (
            &["order_total"],
            &[
                "customer__cid_upper",
                "customer__region",
                "order__status",
                "order__amount_band",
            ],
            &[
                "order__status",
                "order__amount_band",
                "customer__region",
                "customer__cid_upper",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "order__day_of__month",
                "metric_time__month",
                "customer__signup_at__month",
            ],
            &[
                "order__day_of__month",
                "metric_time__month",
                "customer__signup_at__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "customer__signup_at__month",
                "order__day_of__month",
                "metric_time__day",
            ],
            &[
                "order__day_of__month",
                "metric_time__day",
                "customer__signup_at__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "metric_time__month",
                "order__day_of__month",
                "order__ordered_at__month",
            ],
            &[
                "order__ordered_at__month",
                "order__day_of__month",
                "metric_time__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &["customer", "order"],
            &["order", "customer", "order_total"],
        ),
        (
            &["order_total"],
            &["customer__region", "customer"],
            &["customer", "customer__region", "order_total"],
        ),
        (
            &["order_total"],
            &["product__category", "customer__region"],
            &["customer__region", "product__category", "order_total"],
        ),
        (
            &["order_total"],
            &["product__launched_at__month", "customer__signup_at__month"],
            &[
                "customer__signup_at__month",
                "product__launched_at__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "customer__region_e__region_upper",
                "customer__region",
                "product__category",
            ],
            &[
                "customer__region",
                "customer__region_e__region_upper",
                "product__category",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "customer__region_e",
                "product",
                "customer",
                "customer__region_e__region_upper",
            ],
            &[
                "customer",
                "product",
                "customer__region_e",
                "customer__region_e__region_upper",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "customer__cid_upper",
                "customer__region",
                "customer__signup_at__month",
                "product__category",
                "product__launched_at__month",
                "product__launched_at__year",
            ],
            &[
                "customer__signup_at__month",
                "product__launched_at__month",
                "product__launched_at__year",
                "customer__region",
                "customer__cid_upper",
                "product__category",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "customer__region_e__region_upper",
                "order__status",
                "customer__region_e",
            ],
            &[
                "customer__region_e",
                "order__status",
                "customer__region_e__region_upper",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &[
                "metric_time__month",
                "metric_time__day",
                "metric_time__week",
            ],
            &[
                "metric_time__day",
                "metric_time__week",
                "metric_time__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &["order__ordered_at__month", "order__ordered_at__day"],
            &[
                "order__ordered_at__day",
                "order__ordered_at__month",
                "order_total",
            ],
        ),
        (
            &["order_total"],
            &["customer__signup_at__year", "customer__signup_at__day"],
            &[
                "customer__signup_at__day",
                "customer__signup_at__year",
                "order_total",
            ],
        ),
        // Metrics stay in the requested order, after every group-by column.
        (
            &["order_total", "product_count"],
            &["product__category", "metric_time__month"],
            &[
                "metric_time__month",
                "product__category",
                "order_total",
                "product_count",
            ],
        ),
        (
            &["product_count", "order_total"],
            &["product__category", "metric_time__month"],
            &[
                "metric_time__month",
                "product__category",
                "product_count",
                "order_total",
            ],
        ),
        (
            &["total_per_product"],
            &["product__category", "metric_time__month"],
            &[
                "metric_time__month",
                "product__category",
                "total_per_product",
            ],
        ),
        // Cumulative and offset metrics: the same order.
        (
            &["order_total_mtd"],
            &["metric_time", "order__ordered_at__month"],
            &[
                "order__ordered_at__month",
                "metric_time__day",
                "order_total_mtd",
            ],
        ),
        (
            &["order_total_7d"],
            &["metric_time__day", "order__status", "order__day_of__day"],
            &[
                "order__day_of__day",
                "metric_time__day",
                "order__status",
                "order_total_7d",
            ],
        ),
        (
            &["order_total_prev"],
            &["metric_time__month", "order__day_of__month"],
            &[
                "order__day_of__month",
                "metric_time__month",
                "order_total_prev",
            ],
        ),
        (
            &["order_total", "order_total_mtd"],
            &["order__status", "metric_time__day"],
            &[
                "metric_time__day",
                "order__status",
                "order_total",
                "order_total_mtd",
            ],
        ),
        // Without metrics.
        (
            &[],
            &[
                "customer__region",
                "order__status",
                "metric_time__day",
                "customer",
            ],
            &[
                "metric_time__day",
                "customer",
                "order__status",
                "customer__region",
            ],
        ),
        (
            &[],
            &["metric_time__month", "metric_time__day"],
            &["metric_time__day", "metric_time__month"],
        ),
        (
            &[],
            &["customer__region", "customer__signup_at__month", "customer"],
            &["customer__signup_at__month", "customer", "customer__region"],
        ),
    ];
    let mut wrong = Vec::new();
    for (metrics, group_by, want) in cases {
        let got = columns(&m, metrics, group_by);
        if got != *want {
            wrong.push(format!(
                "{metrics:?} by {group_by:?}:\n  want {want:?}\n  got  {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_shortened_entity_path_completes_within_two_joins_and_names_the_full_path() {
    let (_dir, m) = load(&[("shop.yml", SHOP)]);
    // `mf query --metrics order_total --group-by region_e__region_upper` answers in a column named
    // by the full path.
    assert_eq!(
        columns(&m, &["order_total"], &["region_e__region_upper"]),
        ["customer__region_e__region_upper", "order_total"]
    );
}

#[test]
fn an_entity_path_is_the_joins_it_names() {
    let (_dir, m) = load(&[("shop.yml", SHOP)]);
    // MetricFlow rejects `order__customer__...`: `order` names the orders' own rows, it is not a
    // join, so the path is not `customer__region_e__region_upper` with a local prefix.
    let e = error(
        &m,
        &["order_total"],
        &["order__customer__region_e__region_upper"],
    );
    assert!(e.contains("error[E0"), "{e}");
    assert!(
        e.contains("`order__customer__region_e__region_upper` cannot be reached from semantic model `orders`"),
        "{e}"
    );
    // The valid names of the element are listed; the did-you-mean is one of the valid names.
    assert!(
        e.contains(
            "`region_upper` is reachable from `orders` as `customer__region_e__region_upper`"
        ),
        "{e}"
    );
    assert!(e.contains("did you mean `order__customer`?"), "{e}");
}

/// The claims project (shared with the root package's `tests/query_flags.rs`).
const CLAIMS: &str = include_str!("../../../tests/fixtures/claims/claims.yml");

#[test]
fn a_dunder_name_is_not_answered_through_a_longer_path() {
    let (_dir, m) = load(&[("claims.yml", CLAIMS)]);
    // `policy` is three joins away from `claim` (claim_identifier -> policy_coverage_detail ->
    // policy): MetricFlow rejects both the short name and the full path.
    let e = error(&m, &["claim_amount"], &["policy__policy_number"]);
    assert!(
        e.contains("`policy__policy_number` cannot be reached from semantic model `claim`"),
        "{e}"
    );
    assert!(
        !e.contains("claim_identifier__policy_coverage_detail__policy__policy_number` is"),
        "{e}"
    );
    let e = error(
        &m,
        &["claim_amount"],
        &["claim_identifier__policy_coverage_detail__policy__policy_number"],
    );
    assert!(
        e.contains("cannot be reached from semantic model `claim`"),
        "{e}"
    );
    // Two joins are within reach, under the name asked for.
    assert_eq!(
        columns(
            &m,
            &["claim_amount"],
            &["claim_identifier__policy_coverage_detail__coverage_type"]
        ),
        [
            "claim_identifier__policy_coverage_detail__coverage_type",
            "claim_amount"
        ]
    );
    // A shortened name completes to those two joins, and the error names what is valid.
    assert_eq!(
        columns(
            &m,
            &["claim_amount"],
            &["policy_coverage_detail__coverage_type"]
        ),
        [
            "claim_identifier__policy_coverage_detail__coverage_type",
            "claim_amount"
        ]
    );
    // The error says why and lists the valid names closest to the one asked for.
    let e = error(&m, &["claim_amount"], &["policy__policy_number"]);
    assert!(
        e.contains("`policy_number` is on semantic model `policy`, which `claim` does not reach within 2 joins"),
        "{e}"
    );
    assert!(
        e.contains("the valid group-by items of `claim` closest to it: ")
            && e.contains("`claim_identifier__policy_coverage_detail__policy`"),
        "{e}"
    );
    let e = error(
        &m,
        &["claim_amount"],
        &["claim_identifier__policy_coverage"],
    );
    assert!(
        e.contains("did you mean `claim_identifier__policy_coverage_detail`?"),
        "{e}"
    );
}

#[test]
fn cte_names_never_shadow_a_relation_the_query_reads() {
    let (_dir, m) = load(&[("claims.yml", CLAIMS)]);
    let req = QueryRequest::of(
        &["claim_amount"],
        &[
            "claim_identifier__status",
            "claim_identifier__policy_coverage_detail__coverage_type",
        ],
        &[] as &[&str],
    );
    let sql = tally_core::pipeline::compile(&m, Dialect::DuckDb, &req)
        .expect("compiles")
        .sql;
    let lower = sql.to_ascii_lowercase();
    // Tables `claim` and `claim_detail`, `main.policy_coverage_detail` (any case) and `main.policy`
    // inside the user's SQL: no CTE takes any of those names, nor `main`.
    for read in [
        "claim",
        "claim_detail",
        "policy_coverage_detail",
        "policy",
        "main",
    ] {
        assert!(
            !lower.contains(&format!(", {read} as ("))
                && !lower.contains(&format!("with {read} as (")),
            "a CTE is named `{read}`:\n{sql}"
        );
    }
    assert!(
        lower.contains("from claim\n") || lower.contains("from claim "),
        "{sql}"
    );
}

#[test]
fn request_options_of_dimension_only_queries() {
    let (_dir, m) = load(&[("shop.yml", SHOP)]);
    let mut req = QueryRequest::of(
        &[] as &[&str],
        &["customer__signup_at__day"],
        &[] as &[&str],
    );
    req.min_max_only = true;
    let c = tally_core::pipeline::compile(&m, Dialect::DuckDb, &req).expect("min_max_only");
    assert_eq!(
        c.plan.columns,
        [
            "customer__signup_at__day__min",
            "customer__signup_at__day__max"
        ]
    );
    // As MetricFlow: exactly one group-by item, no metrics, order or limit.
    for (metrics, group_by, limit) in [
        (&["order_total"][..], &["customer__region"][..], None),
        (&[][..], &["customer__region", "customer"][..], None),
        (&[][..], &["customer__region"][..], Some(3)),
    ] {
        let mut req = QueryRequest::of(metrics, group_by, &[] as &[&str]);
        req.min_max_only = true;
        req.limit = limit;
        let d = tally_core::pipeline::compile(&m, Dialect::DuckDb, &req).expect_err("invalid");
        assert!(
            d[0].message
                .contains("min_max_only takes exactly one group-by item"),
            "{d:#?}"
        );
    }
    let mut req = QueryRequest::of(&[] as &[&str], &["customer__region"], &[] as &[&str]);
    req.no_group_by = true;
    let c = tally_core::pipeline::compile(&m, Dialect::DuckDb, &req).expect("no dedupe");
    assert!(!c.sql.contains("GROUP BY"), "{}", c.sql);
    let mut req = QueryRequest::of(&["order_total"], &["customer__region"], &[] as &[&str]);
    req.no_group_by = true;
    let d = tally_core::pipeline::compile(&m, Dialect::DuckDb, &req).expect_err("metrics");
    assert!(d[0].message.contains("cannot have metrics"), "{d:#?}");
}
