//! The same queries in every dialect: the DuckDB SQL in full, then each other dialect as a unified
//! diff against it, so that a snapshot shows exactly what a dialect changes.

mod common;

use std::path::Path;
use tally_core::dialect::{self, DuckDb};
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::yaml::Spanned;

fn req(metrics: &[&str], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, wheres)
}

/// DuckDB's SQL, then for every other dialect its diff against DuckDB's (or its diagnostics).
fn all_dialects(model: &Model, r: &QueryRequest) -> String {
    let base = match tally_core::pipeline::compile(model, &DuckDb, r) {
        Ok(c) => c.sql,
        Err(d) => panic!("{}", common::render(model, &d)),
    };
    let mut out = format!("-- duckdb\n{base}");
    for d in dialect::ALL.iter().filter(|d| d.name() != "duckdb") {
        out.push_str(&format!("\n-- {} (diff against duckdb)\n", d.name()));
        match tally_core::pipeline::compile(model, *d, r) {
            Ok(c) => {
                let diff = similar::TextDiff::from_lines(&base, &c.sql);
                out.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(0)
                        .header("duckdb", d.name())
                        .to_string(),
                );
            }
            Err(diags) => {
                for x in diags {
                    out.push_str(&format!("error[{}]: {}\n", x.code, x.message));
                }
            }
        }
    }
    out
}

fn simple() -> Model {
    let (model, diags) = common::load_manifest("simple_manifest");
    assert!(diags.iter().all(|d| !d.is_error()));
    model
}

#[test]
fn simple_metric() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(&["booking_value"], &["booking__is_instant"], &[])
    ));
}

#[test]
fn ratio_metric_by_week() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(&["bookings_per_booker"], &["metric_time__week"], &[])
    ));
}

#[test]
fn derived_metric_with_offset() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(&["bookings_growth_2_weeks"], &["metric_time__day"], &[])
    ));
}

#[test]
fn cumulative_metric_with_time_constraint() {
    let mut r = req(&["trailing_2_months_revenue"], &["metric_time__month"], &[]);
    r.start_time = Some("2020-01-01".into());
    r.end_time = Some("2020-03-31".into());
    insta::assert_snapshot!(all_dialects(&simple(), &r));
}

#[test]
fn conversion_metric() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(
            &["visit_buy_conversion_rate_7days"],
            &["metric_time__day"],
            &[]
        )
    ));
}

#[test]
fn percentiles() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(
            &[
                "booking_value_p99",
                "discrete_booking_value_p99",
                "approximate_continuous_booking_value_p99"
            ],
            &["metric_time__quarter"],
            &[]
        )
    ));
}

#[test]
fn date_parts() {
    insta::assert_snapshot!(all_dialects(
        &simple(),
        &req(
            &["bookings"],
            &[
                "TimeDimension('metric_time', date_part_name='dow')",
                "TimeDimension('metric_time', date_part_name='doy')",
                "TimeDimension('metric_time', date_part_name='week')",
            ],
            &[]
        )
    ));
}

#[test]
fn filter_with_string_literal_and_ordered_output() {
    let mut r = req(
        &["bookings", "views"],
        &["listing__country_latest"],
        &["{{ Dimension('listing__country_latest') }} IN ('us', 'fr')"],
    );
    r.order_by = vec![Spanned::synthetic("-bookings".into())];
    r.limit = Some(10);
    insta::assert_snapshot!(all_dialects(&simple(), &r));
}

#[test]
fn intercom_metric_by_month() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (model, diags) = tally_core::pipeline::load_model(&root, &LoadOptions::default());
    assert!(diags.iter().all(|d| !d.is_error()));
    insta::assert_snapshot!(all_dialects(
        &model,
        &req(
            &["first_response_time_median", "resolution_rate"],
            &["metric_time__month"],
            &[]
        )
    ));
}
