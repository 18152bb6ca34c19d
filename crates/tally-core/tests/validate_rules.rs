//! One small in-memory project per rule of `validate`: each asserts the code, the exact source text
//! under the primary span, and the help. `five_mistakes` is the project's acceptance test: five
//! different mistakes in one project give exactly five errors, each with a file, line and column.

mod common;

use tally_core::diag::{codes, Diagnostic, Severity};
use tally_core::model::Model;

const TALLY_YML: &str = "\
name: shop
people:
  - {name: ana, full_name: Ana Lima, teams: [analytics]}
  - {name: bo, full_name: Bo Berg}
teams:
  - {name: analytics, members: [ana]}
";

const MODELS: &str = "\
semantic_models:
  - name: orders
    label: Orders
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
      - {name: country, type: categorical}
    measures:
      - {name: customer_count, agg: count_distinct, expr: customer_id}
      - {name: signups, agg: sum, expr: '1'}
";

const SPINE: &str = "\
project_configuration:
  time_spines:
    - node_relation: {alias: all_days, schema_name: shop}
      primary_column: {name: date_day, time_granularity: day}
";

/// Load, resolve and validate files (plus tally.yml); returns every diagnostic of every stage.
fn run(files: &[(&str, &str)]) -> (Model, Vec<Diagnostic>) {
    common::from_files(files, Some(TALLY_YML))
}

/// The base project (two models and a day spine) with one more metrics file.
fn with_metrics(metrics: &str) -> (Model, Vec<Diagnostic>) {
    run(&[
        ("models/shop.yml", MODELS),
        ("models/spine.yml", SPINE),
        ("metrics/m.yml", metrics),
    ])
}

/// The only diagnostic of `code`; fails with all of them otherwise.
fn only<'a>(model: &Model, diags: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {code}, got:\n{}",
        tally_core::diag::render_human(&model.sources, diags, false)
    );
    found[0]
}

fn text<'a>(model: &'a Model, d: &Diagnostic) -> &'a str {
    model
        .sources
        .text(d.span)
        .expect("the diagnostic has a span in a file")
}

fn no_errors_but(model: &Model, diags: &[Diagnostic], code: &str) {
    let others: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() && d.code != code)
        .cloned()
        .collect();
    assert!(
        others.is_empty(),
        "unexpected errors:\n{}",
        tally_core::diag::render_human(&model.sources, &others, false)
    );
}

#[test]
fn the_base_project_is_clean() {
    let (model, diags) = with_metrics(
        "metrics:\n  - {name: revenue_total, type: simple, type_params: {measure: revenue}}\n",
    );
    assert!(
        diags.is_empty(),
        "{}",
        tally_core::diag::render_human(&model.sources, &diags, false)
    );
}

// ----- filters and formulas, through the planner ----------------------------------------------------

#[test]
fn filter_on_unknown_dimension() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: paid_revenue
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ Dimension('order__statuss') }} = 'paid'\"
",
    );
    no_errors_but(&model, &diags, codes::FILTER_REFERENCE);
    let d = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, d), "Dimension('order__statuss')");
    assert_eq!(
        d.message,
        "`order__statuss` cannot be reached from semantic model `orders`"
    );
    assert!(
        d.help
            .contains(&"did you mean `order__status`?".to_string()),
        "{:?}",
        d.help
    );
}

#[test]
fn filter_in_a_block_scalar_points_at_the_file_text() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: paid_revenue
    type: simple
    type_params: {measure: revenue}
    filter: |
      {{ Dimension('order__status') }} = 'paid'
        AND {{ Dimension('order__statuss') }} IS NOT NULL
",
    );
    let d = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, d), "Dimension('order__statuss')");
    assert_eq!(
        model.sources.location(d.span).map(|l| (l.1, l.2)),
        Some((7, 16))
    );
}

#[test]
fn formula_in_quotes_points_at_the_file_text() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, type: simple, type_params: {measure: revenue}}
  - name: doubled
    type: derived
    type_params: {expr: \"2 * \\\"revenue_total\\\" + revnue_total\", metrics: [revenue_total]}
",
    );
    let d = only(&model, &diags, codes::DERIVED_INPUT);
    assert_eq!(text(&model, d), "revnue_total");
    assert_eq!(d.help[0], "did you mean `revenue_total`?");
}

#[test]
fn filter_that_does_not_parse() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: paid_revenue
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ Dimension('order__status' }} = 'paid'\"
",
    );
    no_errors_but(&model, &diags, codes::EXPRESSION);
    let d = only(&model, &diags, codes::EXPRESSION);
    assert!(
        text(&model, d).len() < "{{ Dimension('order__status' }} = 'paid'".len(),
        "{}",
        text(&model, d)
    );
    assert!(!d.help.is_empty());
}

#[test]
fn filter_on_a_dimension_of_a_model_that_cannot_be_joined() {
    // `status` is on orders; customers has no entity leading there.
    let (model, diags) = with_metrics(
        "metrics:
  - name: paid_signups
    type: simple
    type_params: {measure: signups}
    filter: \"{{ Dimension('order__status') }} = 'paid'\"
",
    );
    let d = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, d), "Dimension('order__status')");
    assert_eq!(
        d.message,
        "`order__status` cannot be reached from semantic model `customers`"
    );
}

#[test]
fn filter_through_a_join_is_fine() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: french_revenue
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ Dimension('customer__country') }} = 'FR'\"
",
    );
    assert!(
        diags.is_empty(),
        "{}",
        tally_core::diag::render_human(&model.sources, &diags, false)
    );
}

#[test]
fn filter_on_a_cumulative_metric() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: revenue_7d
    type: cumulative
    type_params: {measure: revenue, window: 7 days}
    filter: \"{{ Dimension('customer__countyr') }} = 'FR'\"
",
    );
    no_errors_but(&model, &diags, codes::FILTER_REFERENCE);
    let d = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, d), "Dimension('customer__countyr')");
    assert!(
        d.help
            .contains(&"did you mean `customer__country`?".to_string()),
        "{:?}",
        d.help
    );
}

#[test]
fn input_filter_applies_to_the_inputs_measures() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, type: simple, type_params: {measure: revenue}}
  - {name: signups_total, type: simple, type_params: {measure: signups}}
  - name: revenue_per_signup
    type: derived
    type_params:
      expr: r / s
      metrics:
        - {name: revenue_total, alias: r}
        - name: signups_total
          alias: s
          filter: \"{{ Dimension('order__status') }} = 'paid'\"
",
    );
    let d = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, d), "Dimension('order__status')");
    assert_eq!(
        d.message,
        "`order__status` cannot be reached from semantic model `customers`"
    );
}

#[test]
fn formula_names_something_that_is_not_an_input() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, type: simple, type_params: {measure: revenue}}
  - {name: orders_total, type: simple, type_params: {measure: order_count}}
  - name: average_order
    type: derived
    type_params:
      expr: revenue_totl / orders_total
      metrics: [revenue_total, orders_total]
",
    );
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(
        errors.len(),
        1,
        "{}",
        tally_core::diag::render_human(&model.sources, &diags, false)
    );
    let d = errors[0];
    assert_eq!(d.code, codes::DERIVED_INPUT);
    assert_eq!(text(&model, d), "revenue_totl");
    assert_eq!(d.help[0], "did you mean `revenue_total`?");
    // The unused input is a warning.
    let w = diags
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .expect("a warning");
    assert_eq!(w.code, codes::DERIVED_INPUT);
    assert_eq!(text(&model, w), "revenue_total");
    assert_eq!(
        w.message,
        "input `revenue_total` of `average_order` is not used in its formula"
    );
    assert_eq!(
        w.help,
        vec!["use it in `expr`, or remove it from the inputs".to_string()]
    );
}

#[test]
fn alias_that_is_the_name_of_another_input() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, type: simple, type_params: {measure: revenue}}
  - {name: orders_total, type: simple, type_params: {measure: order_count}}
  - name: confusing
    type: derived
    type_params:
      expr: orders_total - r
      metrics:
        - {name: revenue_total, alias: orders_total}
        - {name: orders_total, alias: r}
",
    );
    let d = only(&model, &diags, codes::DERIVED_INPUT);
    assert_eq!(text(&model, d), "orders_total");
    assert_eq!(
        d.message,
        "alias `orders_total` of input `revenue_total` is the name of another input of `confusing`"
    );
    assert!(d.help[0].starts_with("pick an alias"));
}

#[test]
fn input_with_offset_window_and_offset_to_grain() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, type: simple, type_params: {measure: revenue}}
  - name: revenue_growth
    type: derived
    type_params:
      expr: revenue_total - last
      metrics:
        - revenue_total
        - {name: revenue_total, alias: last, offset_window: 1 month, offset_to_grain: month}
",
    );
    let d = only(&model, &diags, codes::DERIVED_INPUT);
    assert_eq!(text(&model, d), "month");
    assert_eq!(
        d.message,
        "input `revenue_total` of `revenue_growth` has both `offset_window` and `offset_to_grain`"
    );
    assert!(d.help[0].contains("not both"));
}

// ----- cumulative and conversion metrics ------------------------------------------------------------

#[test]
fn cumulative_window_of_zero() {
    let (model, diags) = with_metrics(
        "metrics:
  - name: revenue_running
    type: cumulative
    type_params:
      measure: revenue
      cumulative_type_params: {window: 0 days}
",
    );
    let d = only(&model, &diags, codes::CUMULATIVE_PARAMS);
    assert_eq!(text(&model, d), "0 days");
    assert!(d.help[0].contains("at least one period"));
}

#[test]
fn cumulative_window_with_a_custom_grain() {
    let spine = "\
project_configuration:
  time_spines:
    - node_relation: {alias: all_days, schema_name: shop}
      primary_column: {name: date_day, time_granularity: day}
      custom_granularities: [{name: fiscal_quarter}]
";
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/spine.yml", spine),
        (
            "metrics/m.yml",
            "metrics:
  - name: revenue_fq
    type: cumulative
    type_params:
      measure: revenue
      cumulative_type_params: {window: 1 fiscal_quarter}
",
        ),
    ]);
    let d = only(&model, &diags, codes::CUMULATIVE_PARAMS);
    assert_eq!(text(&model, d), "1 fiscal_quarter");
    assert_eq!(
        d.message,
        "the window `1 fiscal_quarter` uses the custom granularity `fiscal_quarter`"
    );
    assert!(d.help[0].starts_with("use a standard granularity"));
}

const SESSIONS: &str = "\
semantic_models:
  - name: visits
    node_relation: {alias: visits, schema_name: shop}
    defaults: {agg_time_dimension: visited_at}
    primary_entity: visit
    entities:
      - {name: customer, type: foreign, expr: customer_id}
    dimensions:
      - {name: visited_at, type: time, type_params: {time_granularity: day}}
      - {name: channel, type: categorical}
    measures:
      - {name: visit_count, agg: sum, expr: '1'}
      - {name: visit_minutes, agg: sum, expr: minutes}
";

#[test]
fn conversion_constant_property_that_is_not_on_the_model() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/visits.yml", SESSIONS),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:
  - name: visit_to_order
    type: conversion
    type_params:
      conversion_type_params:
        base_measure: visit_count
        conversion_measure: order_count
        entity: customer
        constant_properties:
          - {base_property: chanel, conversion_property: status}
",
        ),
    ]);
    let d = only(&model, &diags, codes::CONVERSION_PARAMS);
    assert_eq!(text(&model, d), "chanel");
    assert_eq!(d.message, "constant property `chanel` is not a dimension or entity of `visits`, the base measure's semantic model");
    assert_eq!(d.help[0], "did you mean `channel`?");
}

#[test]
fn conversion_measure_that_does_not_count() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/visits.yml", SESSIONS),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:
  - name: visit_to_order
    type: conversion
    type_params:
      conversion_type_params: {base_measure: visit_minutes, conversion_measure: order_count, entity: customer}
",
        ),
    ]);
    let d = only(&model, &diags, codes::CONVERSION_PARAMS);
    assert_eq!(text(&model, d), "visit_minutes");
    assert_eq!(d.message, "the base measure `visit_minutes` of conversion metric `visit_to_order` does not count rows");
    assert!(d.help[0].contains("count"));
}

// ----- metric time granularity ------------------------------------------------------------------------

#[test]
fn time_granularity_finer_than_the_data() {
    let models = MODELS.replace(
        "{name: signed_up_at, type: time, type_params: {time_granularity: day}}",
        "{name: signed_up_at, type: time, type_params: {time_granularity: month}}",
    );
    let (model, diags) = run(&[
        ("models/shop.yml", &models),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:
  - name: signups_weekly
    type: simple
    type_params: {measure: signups}
    time_granularity: week
",
        ),
    ]);
    let d = only(&model, &diags, codes::METRIC_TIME_GRANULARITY);
    assert_eq!(text(&model, d), "week");
    assert_eq!(d.labels[0].message, "`signed_up_at` has grain `month`");
    assert_eq!(
        d.help[0],
        "a metric cannot be shown finer than its data: use one of month, quarter, year"
    );
}

// ----- saved queries -------------------------------------------------------------------------------

#[test]
fn saved_query_with_unreachable_group_by_and_bad_order() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:\n  - {name: revenue_total, type: simple, type_params: {measure: revenue}}\n",
        ),
        (
            "saved/q.yml",
            "saved_queries:
  - name: revenue_by_country
    query_params:
      metrics: [revenue_total]
      group_by: [\"Dimension('customer__contry')\"]
",
        ),
    ]);
    let d = only(&model, &diags, codes::SAVED_QUERY);
    assert_eq!(text(&model, d), "Dimension('customer__contry')");
    assert!(
        d.help
            .contains(&"did you mean `customer__country`?".to_string()),
        "{:?}",
        d.help
    );
}

#[test]
fn saved_query_order_by_something_not_queried() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:\n  - {name: revenue_total, type: simple, type_params: {measure: revenue}}\n",
        ),
        (
            "saved/q.yml",
            "saved_queries:
  - name: revenue_by_country
    query_params:
      metrics: [revenue_total]
      group_by: [customer__country]
      order_by: [-revenue_totl]
",
        ),
    ]);
    let d = only(&model, &diags, codes::SAVED_QUERY);
    assert_eq!(text(&model, d), "-revenue_totl");
    assert!(
        d.help
            .contains(&"did you mean `revenue_total`?".to_string()),
        "{:?}",
        d.help
    );
}

#[test]
fn saved_query_where_on_unknown_dimension_and_negative_limit() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:\n  - {name: revenue_total, type: simple, type_params: {measure: revenue}}\n",
        ),
        (
            "saved/q.yml",
            "saved_queries:
  - name: french_revenue
    query_params:
      metrics: [revenue_total]
      where: \"{{ Dimension('customer__county') }} = 'FR'\"
      limit: -5
",
        ),
    ]);
    let f = only(&model, &diags, codes::FILTER_REFERENCE);
    assert_eq!(text(&model, f), "Dimension('customer__county')");
    let l = only(&model, &diags, codes::SAVED_QUERY);
    assert_eq!(text(&model, l), "-5");
    assert_eq!(
        l.help[0],
        "a limit is a number of rows: 0 or more, or leave it out"
    );
}

// ----- time spines ---------------------------------------------------------------------------------

#[test]
fn two_time_spines_of_one_grain() {
    let spine = "\
project_configuration:
  time_spines:
    - node_relation: {alias: all_days, schema_name: shop}
      primary_column: {name: date_day, time_granularity: day}
    - node_relation: {alias: calendar, schema_name: shop}
      primary_column: {name: d, time_granularity: day}
";
    let (model, diags) = run(&[("models/shop.yml", MODELS), ("models/spine.yml", spine)]);
    let d = only(&model, &diags, codes::TIME_SPINE);
    assert_eq!(text(&model, d), "calendar");
    assert_eq!(d.labels[0].message, "first `day` spine");
    assert_eq!(d.help[0], "keep one time spine per granularity");
}

#[test]
fn cumulative_metric_without_a_day_spine() {
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        (
            "metrics/m.yml",
            "metrics:
  - {name: revenue_running, type: cumulative, type_params: {measure: revenue}}
",
        ),
    ]);
    let d = only(&model, &diags, codes::TIME_SPINE);
    assert_eq!(text(&model, d), "revenue_running");
    assert_eq!(d.message, "metric `revenue_running` needs a time spine of grain `day` or finer, but the project has none");
    assert!(d.help[0].contains("time_spines"));
}

/// The shop models with `ordered_at` (orders' aggregation time dimension) and a `shipped_at`
/// dimension kept to the hour.
fn hourly_models() -> String {
    MODELS.replace(
        "- {name: ordered_at, type: time, type_params: {time_granularity: day}}",
        "- {name: ordered_at, type: time, type_params: {time_granularity: hour}}\n      - {name: shipped_at, type: time, type_params: {time_granularity: hour}}",
    )
}

#[test]
fn a_time_dimension_finer_than_the_spine_warns_only_where_a_metric_joins_the_spine() {
    let models = hourly_models();
    // No metric joins the spine: an hourly dimension never meets it (dbt-semantic-interfaces
    // warns here; tally does not).
    let (model, diags) = run(&[
        ("models/shop.yml", &models),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:\n  - {name: revenue_total, type: simple, type_params: {measure: revenue}}\n",
        ),
    ]);
    assert!(
        diags.iter().all(|d| d.code != codes::TIME_SPINE),
        "{}",
        tally_core::diag::render_human(&model.sources, &diags, false)
    );
    // A cumulative metric on orders joins the spine on `ordered_at` (hour): one warning there,
    // none for `shipped_at`, which no spine join reads.
    let (model, diags) = run(&[
        ("models/shop.yml", &models),
        ("models/spine.yml", SPINE),
        (
            "metrics/m.yml",
            "metrics:
  - {name: revenue_running, type: cumulative, type_params: {measure: revenue}}
  - {name: orders_running, type: cumulative, type_params: {measure: order_count}}
",
        ),
    ]);
    let d = only(&model, &diags, codes::TIME_SPINE);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(text(&model, d), "ordered_at");
    assert_eq!(
        d.message,
        "time dimension `ordered_at` has grain `hour`, finer than the finest time spine (`day`), and metric `revenue_running` joins the time spine on it"
    );
    assert_eq!(
        d.help[0],
        "add a time spine of grain `hour` so `revenue_running` can be queried at that grain"
    );
}

// ----- labels --------------------------------------------------------------------------------------

#[test]
fn duplicate_metric_labels() {
    let (model, diags) = with_metrics(
        "metrics:
  - {name: revenue_total, label: Revenue, type: simple, type_params: {measure: revenue}}
  - name: revenue_sum
    label: Revenue
    type: simple
    type_params: {measure: revenue}
",
    );
    let d = only(&model, &diags, codes::LABEL);
    assert_eq!(text(&model, d), "Revenue");
    assert_eq!(model.sources.location(d.span).map(|l| l.1), Some(4));
    assert_eq!(
        d.message,
        "label `Revenue` of metric `revenue_sum` is already the label of `revenue_total`"
    );
    assert!(d.help[0].contains("another label"));
}

#[test]
fn duplicate_semantic_model_labels() {
    let models = MODELS.replace(
        "  - name: customers\n",
        "  - name: customers\n    label: 'Orders'\n",
    );
    let (model, diags) = run(&[("models/shop.yml", &models), ("models/spine.yml", SPINE)]);
    let d = only(&model, &diags, codes::LABEL);
    assert_eq!(text(&model, d), "Orders");
    assert_eq!(model.sources.location(d.span).map(|l| l.1), Some(16));
    assert_eq!(d.labels[0].message, "label of `orders`");
}

// ----- joins and entities --------------------------------------------------------------------------

#[test]
fn dimension_on_two_models_keyed_by_the_same_entity() {
    let more = "\
semantic_models:
  - name: customer_profiles
    node_relation: {alias: customer_profiles, schema_name: shop}
    entities:
      - {name: customer, type: unique, expr: customer_id}
    dimensions:
      - {name: country, type: categorical, expr: profile_country}
";
    // Both keyed models have `customer` as a non-primary key.
    let models = MODELS.replace(
        "{name: customer, type: primary, expr: customer_id}",
        "{name: customer, type: unique, expr: customer_id}",
    );
    let models = models.replace(
        "  - name: customers\n",
        "  - name: customers\n    primary_entity: customer_row\n",
    );
    let (model, diags) = run(&[
        ("models/shop.yml", &models),
        ("models/more.yml", more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::AMBIGUOUS_JOIN);
    assert_eq!(text(&model, d), "country");
    assert_eq!(
        model.sources.location(d.span).map(|l| l.0),
        Some("models/more.yml".to_string())
    );
    assert_eq!(d.message, "`customer__country` is ambiguous: semantic models `customers` and `customer_profiles` both have `customer` as a key and a dimension `country`");
    assert!(d.help[0].contains("rename one of the dimensions"));
}

#[test]
fn foreign_entity_that_joins_nowhere() {
    let more = "\
semantic_models:
  - name: refunds
    node_relation: {alias: refunds, schema_name: shop}
    defaults: {agg_time_dimension: refunded_at}
    primary_entity: refund
    entities:
      - {name: store, type: foreign, expr: store_id}
    dimensions:
      - {name: refunded_at, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: refund_amount, agg: sum, expr: amount}
";
    let models = MODELS.replace("      - {name: customer, type: foreign, expr: customer_id}\n", "      - {name: customer, type: foreign, expr: customer_id}\n      - {name: store, type: foreign, expr: store_id}\n");
    let (model, diags) = run(&[
        ("models/shop.yml", &models),
        ("models/more.yml", more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::FAN_OUT);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(text(&model, d), "store");
    assert!(d.help[0].contains("add a semantic model whose rows are one `store` each"));
}

#[test]
fn measures_without_a_primary_entity() {
    let more = "\
semantic_models:
  - name: refunds
    node_relation: {alias: refunds, schema_name: shop}
    defaults: {agg_time_dimension: refunded_at}
    entities:
      - {name: order, type: foreign, expr: order_id}
    measures:
      - {name: refund_amount, agg: sum, expr: amount}
    dimensions:
      - {name: refunded_at, type: time, type_params: {time_granularity: day}}
";
    // model.rs reports a model with dimensions and no key; this one has a key elsewhere.
    let more = more.replace(
        "type: foreign, expr: order_id}",
        "type: unique, expr: order_id}",
    );
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/more.yml", &more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::PRIMARY_ENTITY);
    assert_eq!(text(&model, d), "refunds");
    assert!(d.help[0].contains("primary_entity"));
}

#[test]
fn non_additive_dimension_of_another_grain() {
    let more = "\
semantic_models:
  - name: balances
    node_relation: {alias: balances, schema_name: shop}
    defaults: {agg_time_dimension: day}
    primary_entity: balance
    entities:
      - {name: customer, type: foreign, expr: customer_id}
    dimensions:
      - {name: day, type: time, expr: snapshot_day, type_params: {time_granularity: day}}
      - {name: snapshot_month, type: time, type_params: {time_granularity: month}}
    measures:
      - name: balance
        agg: sum
        expr: amount
        non_additive_dimension: {name: snapshot_month}
";
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/more.yml", more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::NON_ADDITIVE);
    assert_eq!(text(&model, d), "snapshot_month");
    assert_eq!(model.sources.location(d.span).map(|l| l.1), Some(15));
    assert!(d.help[0].contains("same grain"));
}

#[test]
fn natural_entity_without_a_validity_window() {
    let more = "\
semantic_models:
  - name: customer_tiers
    node_relation: {alias: customer_tiers, schema_name: shop}
    primary_entity: tier_row
    entities:
      - {name: customer, type: natural, expr: customer_id}
    dimensions:
      - {name: tier, type: categorical}
";
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/more.yml", more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::ENTITY_TYPE);
    assert_eq!(text(&model, d), "customer");
    assert_eq!(
        d.message,
        "natural entity `customer` of `customer_tiers` needs a validity window"
    );
    assert!(d.help[0].contains("validity_params"));
}

#[test]
fn validity_window_with_two_starts() {
    let more = "\
semantic_models:
  - name: customer_history
    node_relation: {alias: customer_history, schema_name: shop}
    primary_entity: customer_version
    entities:
      - {name: customer, type: natural, expr: customer_id}
    dimensions:
      - {name: valid_from, type: time, type_params: {time_granularity: day, validity_params: {is_start: true}}}
      - {name: valid_to, type: time, type_params: {time_granularity: day, validity_params: {is_start: true}}}
";
    let (model, diags) = run(&[
        ("models/shop.yml", MODELS),
        ("models/more.yml", more),
        ("models/spine.yml", SPINE),
    ]);
    let d = only(&model, &diags, codes::VALIDITY_WINDOW);
    assert_eq!(text(&model, d), "valid_to");
    assert_eq!(d.label.as_deref(), Some("a second `is_start` dimension"));
    assert!(d.help[0].contains("is_end: true"));
}

// ----- acceptance ----------------------------------------------------------------------------------

/// Five different mistakes in one project: exactly five errors, each with its place.
#[test]
fn five_mistakes() {
    let metrics = "\
metrics:
  - name: revenue_total
    descripton: Revenue of all orders.
    type: simple
    type_params: {measure: revenue}
  - name: revenue_typo
    type: simple
    type_params: {measure: revenu}
  - name: paid_revenue
    type: simple
    type_params: {measure: revenue}
    owners: {accountable: anna}
  - name: loop_a
    type: derived
    type_params: {expr: loop_b + 1, metrics: [loop_b]}
  - name: loop_b
    type: derived
    type_params: {expr: loop_a - 1, metrics: [loop_a]}
  - name: shipped_revenue
    type: simple
    type_params: {measure: revenue}
    filter: \"{{ Dimension('order__stauts') }} = 'shipped'\"
";
    let (model, diags) = with_metrics(metrics);
    let mut errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    errors.sort_by_key(|d| d.span);
    let got: Vec<(&str, String, usize, usize, &str)> = errors
        .iter()
        .map(|d| {
            let (file, line, col) = model
                .sources
                .location(d.span)
                .expect("every error has a place");
            (d.code, file, line, col, text(&model, d))
        })
        .collect();
    let want: Vec<(&str, String, usize, usize, &str)> = vec![
        (
            codes::UNKNOWN_KEY,
            "metrics/m.yml".into(),
            3,
            5,
            "descripton",
        ),
        (
            codes::UNKNOWN_MEASURE,
            "metrics/m.yml".into(),
            8,
            28,
            "revenu",
        ),
        (codes::UNKNOWN_OWNER, "metrics/m.yml".into(), 12, 27, "anna"),
        (
            codes::METRIC_CYCLE,
            "metrics/m.yml".into(),
            13,
            11,
            "loop_a",
        ),
        (
            codes::FILTER_REFERENCE,
            "metrics/m.yml".into(),
            22,
            17,
            "Dimension('order__stauts')",
        ),
    ];
    assert_eq!(
        got,
        want,
        "{}",
        tally_core::diag::render_human(&model.sources, &diags, false)
    );
    for d in errors {
        assert!(!d.help.is_empty(), "{} `{}` has no help", d.code, d.message);
    }
}
