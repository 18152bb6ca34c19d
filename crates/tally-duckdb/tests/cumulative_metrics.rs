//! Cumulative metrics on DuckDB, checked against values worked out by hand.
//!
//! The planner computes all-time and grain-to-date totals as running values over the days that
//! have rows (a distinct count as a running sum of first-seen values), averages over a window as a
//! daily sum and count, and one value per coarser period by ranking the days. MetricFlow's own cases
//! cover some of these shapes; these cover the rest (distinct counts to date, keys, filters that
//! split the running values, averages) on a small table where every value can be checked by eye.

use tally_core::load::{load_files, LoadOptions};
use tally_core::model::{spec_to_model, Model};
use tally_duckdb::testing::{run_tests, Outcome};

const MODELS: &str = "semantic_models:
  - name: orders
    node_relation: {schema_name: shop, alias: orders}
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: order, type: primary, expr: id}
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: channel, type: categorical}
    measures:
      - {name: revenue_total, agg: sum, expr: amount}
      - {name: largest_order, agg: max, expr: amount}
      - {name: customer_count, agg: count_distinct, expr: customer}
      - {name: average_amount, agg: average, expr: amount}
metrics:
  - {name: revenue_all_time, type: cumulative, type_params: {measure: revenue_total}}
  - name: revenue_mtd
    type: cumulative
    type_params: {measure: revenue_total, cumulative_type_params: {grain_to_date: month}}
  - {name: largest_order_to_date, type: cumulative, type_params: {measure: largest_order}}
  - {name: customers_all_time, type: cumulative, type_params: {measure: customer_count}}
  - name: customers_mtd
    type: cumulative
    type_params: {measure: customer_count, cumulative_type_params: {grain_to_date: month}}
  - name: average_amount_2_days
    type: cumulative
    type_params: {measure: average_amount, cumulative_type_params: {window: 2 days}}
  - name: revenue_all_time_last
    type: cumulative
    type_params: {measure: revenue_total, cumulative_type_params: {period_agg: last}}
";

const SPINE: &str = "project_configuration:
  time_spines:
    - node_relation: {schema_name: shop, alias: days}
      primary_column: {name: ds, time_granularity: day}
";

/// Orders (id, day, customer, channel, amount) and the days 2026-01-01 to 2026-02-03.
fn given() -> String {
    let orders = [
        (1, "2026-01-02", "a", "web", 10.0),
        (2, "2026-01-02", "b", "web", 20.0),
        (3, "2026-01-04", "a", "app", 30.0),
        (4, "2026-02-01", "c", "web", 40.0),
        (5, "2026-02-03", "a", "app", 5.0),
    ];
    let mut s = String::from("    given:\n      - table: shop.orders\n        rows:\n");
    for (id, day, customer, channel, amount) in orders {
        s.push_str(&format!(
            "          - {{id: {id}, ordered_at: {day} 12:00:00, customer: {customer}, channel: {channel}, amount: {amount:.1}}}\n"
        ));
    }
    s.push_str("      - table: shop.days\n        rows:\n");
    for d in 1..=31 {
        s.push_str(&format!("          - {{ds: 2026-01-{d:02}}}\n"));
    }
    for d in 1..=3 {
        s.push_str(&format!("          - {{ds: 2026-02-{d:02}}}\n"));
    }
    s
}

fn model(tests: &str) -> Model {
    let (spec, diags) = load_files(
        &[
            ("models/m.yml", MODELS),
            ("models/spine.yml", SPINE),
            ("metrics/tests/t.yml", tests),
        ],
        Some("name: shop\n"),
        &LoadOptions::default(),
    );
    assert!(diags.is_empty(), "{diags:?}");
    let (m, diags) = spec_to_model(spec, &tally_templates::builtin());
    assert!(diags.is_empty(), "{diags:?}");
    m
}

/// Run one metric test (query and expected rows in YAML) and assert that it passes.
fn check(name: &str, query: &str, rows: &[&str]) {
    let mut t = format!(
        "metric_tests:\n  - name: {name}\n{}    query: {query}\n",
        given()
    );
    t.push_str("    expect:\n      rows:\n");
    for r in rows {
        t.push_str(&format!("        - {r}\n"));
    }
    let reports = run_tests(&model(&t), None);
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].outcome,
        Outcome::Passed,
        "{name}: {:?}\n{:?}",
        reports[0].outcome,
        reports[0].diagnostics
    );
}

#[test]
fn running_totals_hold_on_days_without_rows_and_restart_each_month() {
    check(
        "by_day",
        "{metrics: [revenue_all_time, revenue_mtd, largest_order_to_date, customers_all_time, customers_mtd], group_by: [metric_time__day], where: [\"{{ TimeDimension('metric_time', 'day') }} IN ('2026-01-01', '2026-01-03', '2026-01-04', '2026-01-31', '2026-02-01', '2026-02-02', '2026-02-03')\"]}",
        &[
            // Nothing before the first order: no row on 2026-01-01.
            "{metric_time__day: 2026-01-03, revenue_all_time: 30, revenue_mtd: 30, largest_order_to_date: 20, customers_all_time: 2, customers_mtd: 2}",
            "{metric_time__day: 2026-01-04, revenue_all_time: 60, revenue_mtd: 60, largest_order_to_date: 30, customers_all_time: 2, customers_mtd: 2}",
            "{metric_time__day: 2026-01-31, revenue_all_time: 60, revenue_mtd: 60, largest_order_to_date: 30, customers_all_time: 2, customers_mtd: 2}",
            "{metric_time__day: 2026-02-01, revenue_all_time: 100, revenue_mtd: 40, largest_order_to_date: 40, customers_all_time: 3, customers_mtd: 1}",
            "{metric_time__day: 2026-02-02, revenue_all_time: 100, revenue_mtd: 40, largest_order_to_date: 40, customers_all_time: 3, customers_mtd: 1}",
            // Customer a returns: counted again this month, not again all time.
            "{metric_time__day: 2026-02-03, revenue_all_time: 105, revenue_mtd: 45, largest_order_to_date: 40, customers_all_time: 3, customers_mtd: 2}",
        ],
    );
}

#[test]
fn running_totals_by_key() {
    check(
        "by_channel",
        "{metrics: [revenue_all_time, customers_all_time], group_by: [metric_time__day, order__channel], where: [\"{{ TimeDimension('metric_time', 'day') }} IN ('2026-01-03', '2026-02-03')\"]}",
        &[
            "{metric_time__day: 2026-01-03, order__channel: web, revenue_all_time: 30, customers_all_time: 2}",
            "{metric_time__day: 2026-02-03, order__channel: web, revenue_all_time: 70, customers_all_time: 3}",
            "{metric_time__day: 2026-02-03, order__channel: app, revenue_all_time: 35, customers_all_time: 1}",
        ],
    );
}

#[test]
fn a_filter_on_time_and_a_key_sums_the_running_totals_of_the_keys_it_keeps() {
    // Web orders on every day, app orders from February on.
    check(
        "split",
        "{metrics: [revenue_all_time], group_by: [metric_time__day], where: [\"{{ Dimension('order__channel') }} = 'web' OR {{ TimeDimension('metric_time', 'day') }} >= '2026-02-03'\", \"{{ TimeDimension('metric_time', 'day') }} IN ('2026-01-04', '2026-02-03')\"]}",
        &[
            "{metric_time__day: 2026-01-04, revenue_all_time: 30}",
            "{metric_time__day: 2026-02-03, revenue_all_time: 105}",
        ],
    );
}

#[test]
fn one_value_per_month_first_or_last() {
    check(
        "by_month",
        "{metrics: [revenue_all_time, revenue_all_time_last, customers_mtd], group_by: [metric_time__month]}",
        &[
            // First: the first day with a value (2026-01-02); last: the spine's last January day.
            "{metric_time__month: 2026-01-01, revenue_all_time: 30, revenue_all_time_last: 60, customers_mtd: 2}",
            "{metric_time__month: 2026-02-01, revenue_all_time: 100, revenue_all_time_last: 105, customers_mtd: 1}",
        ],
    );
}

#[test]
fn windowed_average_over_the_rows_of_the_window() {
    check(
        "average",
        "{metrics: [average_amount_2_days], group_by: [metric_time__day], where: [\"{{ TimeDimension('metric_time', 'day') }} <= '2026-01-06'\"]}",
        &[
            "{metric_time__day: 2026-01-02, average_amount_2_days: 15}",
            "{metric_time__day: 2026-01-03, average_amount_2_days: 15}",
            "{metric_time__day: 2026-01-04, average_amount_2_days: 30}",
            "{metric_time__day: 2026-01-05, average_amount_2_days: 30}",
        ],
    );
}
