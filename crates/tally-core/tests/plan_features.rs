//! SQL snapshots of the planner's time-spine, conversion, semi-additive, custom-granularity,
//! metric-filter and join features on MetricFlow's manifests. The results of these shapes are
//! checked against MetricFlow's expected tables by the conformance runner (tally-conformance); these
//! snapshots pin the SQL itself, readable and deterministic.

mod common;

use tally_core::dialect::DuckDb;
use tally_core::plan::QueryRequest;

fn req(metrics: &[&str], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, wheres)
}

fn sql_in(manifest: &str, r: &QueryRequest) -> String {
    let (model, diags) = common::load_manifest(manifest);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "{}",
        common::render(&model, &diags)
    );
    match tally_core::pipeline::compile(&model, &DuckDb, r) {
        Ok(c) => c.sql,
        Err(d) => panic!("{}", common::render(&model, &d)),
    }
}

fn sql(r: &QueryRequest) -> String {
    sql_in("simple_manifest", r)
}

#[test]
fn cumulative_window_aggregates_by_day_before_the_spine_join() {
    let mut r = req(&["trailing_2_months_revenue"], &["metric_time"], &[]);
    r.start_time = Some("2020-03-05".into());
    r.end_time = Some("2021-01-04".into());
    let s = sql(&r);
    // The revenue rows are read from two months before the constraint.
    assert!(
        s.contains("CAST('2020-01-05 00:00:00' AS TIMESTAMP)"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn cumulative_by_a_coarser_grain_takes_one_value_per_period() {
    insta::assert_snapshot!(sql(&req(
        &["revenue_all_time"],
        &["metric_time__week", "metric_time__quarter"],
        &[]
    )));
}

#[test]
fn cumulative_to_date_is_a_running_total_over_days_with_rows() {
    let s = sql(&req(
        &["revenue_mtd"],
        &["metric_time", "revenue_instance__ds__month"],
        &[],
    ));
    // Revenue is aggregated by day once, summed by a window function over those days, and each
    // spine day matches the one running total that holds on it: no spine day meets every earlier
    // row, and nothing is aggregated after the spine join.
    assert!(s.contains("OVER (PARTITION BY"), "{s}");
    assert!(s.contains("valid_until > time_spine.ds"), "{s}");
    assert_eq!(s.matches("FROM mf_src.fct_revenue").count(), 1, "{s}");
    assert_eq!(s.matches("GROUP BY").count(), 1, "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn cumulative_all_time_by_key_partitions_the_running_total() {
    insta::assert_snapshot!(sql(&req(
        &["revenue_all_time"],
        &["metric_time__month", "user"],
        &[]
    )));
}

#[test]
fn running_totals_split_by_a_filter_key_are_summed_per_output_row() {
    // The filter names metric_time and `user`, which is not a group-by item: the running totals
    // are per user, and the users passing the filter are summed for each day.
    let s = sql(&req(
        &["revenue_all_time"],
        &["metric_time"],
        &["{{ TimeDimension('metric_time', 'day') }} >= '2020-01-02' OR {{ Entity('user') }} = 1"],
    ));
    assert!(s.contains("SUM(txn_revenue_running.txn_revenue)"), "{s}");
}

#[test]
fn two_measures_of_one_model_are_aggregated_in_one_scan() {
    let s = sql(&req(
        &["bookings", "booking_value", "instant_bookings"],
        &["metric_time", "listing__country_latest"],
        &[],
    ));
    assert_eq!(s.matches("FROM mf_src.fct_bookings").count(), 1, "{s}");
    assert_eq!(s.matches("FROM bookings_source\n").count(), 1, "{s}");
    assert!(!s.contains("FULL OUTER JOIN"), "{s}");
    assert!(!s.contains("DISTINCT"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn measures_of_one_model_with_different_filters_share_one_scan() {
    // Three filters on bookings: no filter, `is_instant`, and a dimension of a joined model.
    let s = sql(&req(
        &[
            "booking_value",
            "instant_booking_value",
            "lux_booking_value_rate_expr",
        ],
        &["metric_time"],
        &[],
    ));
    assert_eq!(s.matches("FROM bookings_source\n").count(), 1, "{s}");
    assert!(!s.contains("FULL OUTER JOIN"), "{s}");
    assert!(s.contains("CASE WHEN"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn a_merged_scan_reads_only_the_rows_some_filter_selects() {
    let s = sql(&req(
        &[
            "instant_booking_value",
            "booking_value_for_non_null_listing_id",
        ],
        &["metric_time__month"],
        &[],
    ));
    assert_eq!(s.matches("FROM bookings_source\n").count(), 1, "{s}");
    assert!(
        s.contains("WHERE (bookings_source.is_instant OR (bookings_source.listing IS NOT NULL))"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn two_metrics_on_one_base_relation_share_it() {
    let s = sql(&req(
        &["revenue_all_time", "trailing_2_months_revenue"],
        &["metric_time"],
        &[],
    ));
    assert_eq!(s.matches("SUM(revenue.txn_revenue)").count(), 1, "{s}");
}

#[test]
fn offset_by_the_query_grain_shifts_aggregated_periods() {
    insta::assert_snapshot!(sql(&req(&["bookings_mom"], &["metric_time__month"], &[])));
}

#[test]
fn offset_finer_than_the_query_grain_shifts_days_before_aggregating() {
    insta::assert_snapshot!(sql(&req(
        &["bookings_5_day_lag"],
        &["metric_time__month"],
        &[]
    )));
}

#[test]
fn offset_to_grain_and_nested_offset() {
    insta::assert_snapshot!(sql(&req(
        &[
            "bookings_offset_twice",
            "bookings_growth_since_start_of_month"
        ],
        &["metric_time"],
        &[]
    )));
}

#[test]
fn join_to_timespine_with_fill_nulls() {
    insta::assert_snapshot!(sql(&req(
        &["bookings_fill_nulls_with_0"],
        &["metric_time"],
        &[]
    )));
}

#[test]
fn conversion_rate_with_constant_property() {
    insta::assert_snapshot!(sql(&req(
        &["visit_buy_conversion_rate_by_session"],
        &["metric_time", "visit__referrer_id"],
        &[]
    )));
}

#[test]
fn custom_granularity_and_custom_offset_window() {
    insta::assert_snapshot!(sql(&req(
        &["bookings", "bookings_offset_one_alien_day"],
        &["metric_time__alien_day"],
        &["{{ TimeDimension('listing__ds', 'alien_day') }} >= '2019-12-20'"]
    )));
}

#[test]
fn metric_in_a_filter_is_a_joined_relation() {
    insta::assert_snapshot!(sql(&req(
        &["listings"],
        &[],
        &["{{ Metric('bookings', group_by=['listing']) }} > 2"]
    )));
}

#[test]
fn semi_additive_measure_keeps_the_last_rows_per_grouping() {
    insta::assert_snapshot!(sql(&req(
        &["current_account_balance_by_user"],
        &["metric_time__week"],
        &[]
    )));
}

#[test]
fn slowly_changing_dimension_joins_the_row_valid_at_metric_time() {
    insta::assert_snapshot!(sql_in(
        "scd_manifest",
        &req(
            &["bookings"],
            &["metric_time", "listing__user__home_state_latest"],
            &[]
        )
    ));
}

#[test]
fn partitioned_models_join_on_their_partition() {
    insta::assert_snapshot!(sql(&req(
        &["identity_verifications"],
        &["user__home_state"],
        &[]
    )));
}

#[test]
fn dimension_only_query_joins_models_full_outer() {
    insta::assert_snapshot!(sql(&req(
        &[],
        &["user__home_state_latest", "listing__is_lux_latest"],
        &[]
    )));
}

#[test]
fn shortened_entity_path_names_the_column_by_the_full_path() {
    let s = sql(&req(&["bookings"], &["user__last_login_ts__minute"], &[]));
    assert!(s.contains("AS listing__user__last_login_ts__minute"), "{s}");
}

#[test]
fn default_grain_is_the_coarsest_metric_default() {
    let s = sql_in(
        "extended_date_manifest",
        &req(&["bookings_monthly", "bookings"], &["metric_time"], &[]),
    );
    assert!(s.contains("metric_time__month"), "{s}");
    // A sub-daily measure defaults to day.
    let s = sql(&req(
        &["simple_subdaily_metric_default_day"],
        &["metric_time"],
        &[],
    ));
    assert!(
        s.contains("metric_time__day") && !s.contains("metric_time__hour"),
        "{s}"
    );
}

#[test]
fn new_features_are_deterministic() {
    let r = req(
        &[
            "trailing_2_months_revenue",
            "bookings_growth_2_weeks",
            "visit_buy_conversion_rate_7days",
        ],
        &["metric_time__week"],
        &["{{ TimeDimension('metric_time', 'day') }} >= '2020-01-01'"],
    );
    let a = sql(&r);
    for _ in 0..3 {
        assert_eq!(a, sql(&r));
    }
}

#[test]
fn unknown_custom_granularity_is_a_diagnostic() {
    let (model, _) = common::load_manifest("simple_manifest");
    let err = tally_core::pipeline::compile(
        &model,
        &DuckDb,
        &req(
            &["bookings"],
            &["TimeDimension('metric_time', 'martian_week')"],
            &[],
        ),
    )
    .expect_err("an unknown granularity does not plan");
    assert!(err.iter().any(|d| d.code == "E0211"), "{err:?}");
}
