//! SQL snapshots: queries on MetricFlow's simple manifest compile to readable, deterministic SQL
//! that parses back in the dialect.

mod common;

use tally_core::dialect::DuckDb;
use tally_core::plan::QueryRequest;

fn req(metrics: &[&str], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, wheres)
}

fn sql(r: &QueryRequest) -> String {
    let (model, diags) = common::load_manifest("simple_manifest");
    assert!(diags.iter().all(|d| !d.is_error()));
    match tally_core::pipeline::compile(&model, &DuckDb, r) {
        Ok(c) => c.sql,
        Err(d) => panic!("{}", common::render(&model, &d)),
    }
}

#[test]
fn simple_metric_by_local_dimension() {
    insta::assert_snapshot!(sql(&req(&["booking_value"], &["booking__is_instant"], &[])));
}

#[test]
fn two_metrics_two_sources_by_time_and_joined_dimension() {
    insta::assert_snapshot!(sql(&req(
        &["bookings", "views"],
        &["metric_time__month", "listing__country_latest"],
        &["{{ Dimension('listing__is_lux_latest') }}"]
    )));
}

#[test]
fn ratio_and_derived_metrics() {
    insta::assert_snapshot!(sql(&req(
        &["bookings_per_booker", "booking_value_per_view"],
        &["metric_time"],
        &[]
    )));
}

#[test]
fn multi_hop_dimension() {
    insta::assert_snapshot!(sql(&req(
        &["bookings"],
        &["listing__user__home_state_latest"],
        &[]
    )));
}

#[test]
fn output_is_deterministic() {
    let r = req(
        &["bookings", "views", "listings"],
        &["metric_time__week", "listing__country_latest"],
        &[],
    );
    let a = sql(&r);
    for _ in 0..5 {
        assert_eq!(a, sql(&r));
    }
}
