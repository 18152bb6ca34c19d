use super::*;
use crate::fixtures::*;
use crate::jinja::*;
use saphyr::LoadableYamlNode;
use std::path::PathBuf;

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
fn metricflow_dir() -> PathBuf {
    manifest_dir().join("../../tests/metricflow")
}

/// The package's directory: the one cargo gives the running test or binary (`CARGO_MANIFEST_DIR`
/// in its environment) before the one compiled in. The compiled-in one is that of the checkout
/// that last compiled this crate, and cargo does not compile a crate again when only the
/// checkout's place changed: a second clone sharing the build cache read the first one's files
/// (or failed when it was gone).
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// Number of `integration_test:` documents, counted from the raw text (not with the YAML parser).
fn count_case_documents(dir: &Path) -> usize {
    let mut n = 0;
    for path in yaml_files(&dir.join("cases")).unwrap() {
        let text = fs::read_to_string(path).unwrap();
        n += text
            .lines()
            .filter(|l| l.trim_end() == "integration_test:")
            .count();
    }
    n
}

fn find<'a>(cases: &'a [Case], name: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

// ---------------------------------------------------------------------------------------------
// Case loading
// ---------------------------------------------------------------------------------------------

#[test]
fn conformance_parses_all_cases() {
    let dir = metricflow_dir();
    let cases = load_cases(&dir).unwrap();
    assert_eq!(cases.len(), count_case_documents(&dir));
    assert_eq!(cases.len(), 173);
    let files: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files.len(), 17);
    for case in &cases {
        let id = case.id();
        assert!(!case.name.is_empty(), "{id}");
        assert!(
            dir.join("manifests").join(&case.model).is_dir(),
            "{id}: {}",
            case.model
        );
        assert!(
            !case.metrics.is_empty()
                || !case.group_bys.is_empty()
                || case.saved_query_name.is_some(),
            "{id}: nothing to query"
        );
        assert!(!case.check_query.trim().is_empty(), "{id}");
        assert!(
            case.check_query.contains("SELECT") || case.check_query.contains("select"),
            "{id}"
        );
        for item in case
            .metrics
            .iter()
            .chain(&case.group_bys)
            .chain(&case.order_bys)
        {
            assert!(!item.trim().is_empty(), "{id}: empty item");
        }
        if let Some(w) = &case.where_filter {
            assert!(
                !w.contains("render_"),
                "{id}: where filter not rendered: {w}"
            );
            assert!(!w.trim().is_empty(), "{id}");
        }
        if let Some((start, end)) = &case.time_constraint {
            assert!(
                parse_datetime(start).is_ok() && parse_datetime(end).is_ok(),
                "{id}"
            );
        }
    }

    let c = find(&cases, "simple_expr_metric");
    assert_eq!(c.file, "itest_metrics");
    assert_eq!(c.id(), "itest_metrics::simple_expr_metric");
    assert_eq!(c.model, "simple_manifest");
    assert_eq!(c.metrics, ["booking_fees"]);
    assert_eq!(c.group_bys, ["metric_time"]);
    assert!(c.apply_group_by && !c.check_order && !c.allow_empty && !c.min_max_only);

    let c = find(&cases, "constrained_metric");
    assert_eq!(
        c.where_filter.as_deref(),
        Some("{{ Dimension('booking__is_instant', entity_path=[]) }}")
    );
    let c = find(&cases, "simple_metric_in_where_filter");
    assert_eq!(
        c.where_filter.as_deref(),
        Some("{{ Metric('bookings', group_by=['listing']) }} > 2")
    );
    let c = find(&cases, "nested_derived_metric_offset_with_where_constraint");
    assert_eq!(
        c.where_filter.as_deref(),
        Some(
            "CAST({{ TimeDimension('metric_time', entity_path=[]) }} AS TIMESTAMP) >= CAST('2020-01-08' AS TIMESTAMP) \
             AND CAST({{ TimeDimension('metric_time', entity_path=[]) }} AS TIMESTAMP) < CAST('2020-01-10' AS TIMESTAMP)"
        )
    );
    assert_eq!(c.group_bys, ["TimeDimension('metric_time', 'day')"]);

    let c = find(&cases, "test_time_constraint");
    assert_eq!(
        c.time_constraint,
        Some(("2020-01-01".into(), "2020-01-01".into()))
    );
    let c = find(&cases, "test_subdaily_time_constraint");
    assert!(c.metrics.is_empty());
    assert_eq!(c.group_bys, ["metric_time__second"]);

    let c = find(&cases, "simple_query_with_multiple_date_parts");
    assert_eq!(
        c.group_bys,
        [
            "TimeDimension('metric_time', date_part_name='quarter')",
            "TimeDimension('metric_time', date_part_name='dow')",
            "TimeDimension('metric_time', date_part_name='doy')",
            "TimeDimension('metric_time', date_part_name='day')",
        ]
    );
    let c = find(&cases, "custom_offset_window_with_grain_and_date_part");
    assert_eq!(
        c.group_bys,
        [
            "TimeDimension('booking__ds', 'week')",
            "TimeDimension('metric_time', date_part_name='month')",
            "TimeDimension('booking__ds', 'alien_day')",
        ]
    );
    let c = find(&cases, "simple_join_to_time_spine_with_queried_filter");
    assert_eq!(c.group_bys, ["metric_time", "booking__is_instant"]);
    let c = find(
        &cases,
        "nested_derived_metric_outer_offset_with_agg_time_dimension",
    );
    assert_eq!(c.group_bys, ["booking__ds__day"]);

    let c = find(&cases, "order_desc");
    assert!(c.check_order);
    assert_eq!(c.order_bys, ["-booking_value", "metric_time"]);
    let c = find(&cases, "simple_query_without_dates_available");
    assert!(c.allow_empty);
    let c = find(&cases, "min_max_only_categorical");
    assert!(c.min_max_only);
    let c = find(&cases, "no_dedupe");
    assert!(!c.apply_group_by);
    let c = find(&cases, "saved_query_no_dedupe");
    assert_eq!(c.saved_query_name.as_deref(), Some("dimensions_only"));
    assert!(!c.apply_group_by);
    assert!(c.metrics.is_empty() && c.group_bys.is_empty());

    let c = find(&cases, "approximate_discrete_percentile_agg");
    assert_eq!(
        c.required_features,
        ["APPROXIMATE_DISCRETE_PERCENTILE_AGGREGATION"]
    );
    assert!(c.skip_reason().is_some());
    let c = find(&cases, "continuous_percentile_agg");
    assert!(c.skip_reason().is_none());
    assert_eq!(
        cases.iter().filter(|c| c.skip_reason().is_some()).count(),
        1
    );

    let models: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.model.as_str()).collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        [
            "extended_date_manifest",
            "multi_hop_join_manifest",
            "scd_manifest",
            "simple_manifest"
        ]
    );
}

#[test]
fn conformance_rejects_bad_cases() {
    let parse = |text: &str| {
        let docs = Yaml::load_from_str(text).unwrap();
        parse_case("f", &docs[0])
    };
    let ok = "integration_test:\n  name: a\n  model: SIMPLE_MODEL\n  metrics: [x]\n  check_query: SELECT 1\n";
    let c = parse(ok).unwrap();
    assert!(c.apply_group_by);
    assert!(parse(&ok.replace("SIMPLE_MODEL", "NOPE"))
        .unwrap_err()
        .contains("unknown model"));
    assert!(parse(&format!("{ok}  bogus: 1\n"))
        .unwrap_err()
        .contains("bogus"));
    assert!(parse(&format!("{ok}  required_features: [FOO]\n")).is_err());
    assert!(parse(&format!("{ok}  time_constraint: [\"2020-01-01\"]\n")).is_err());
    assert!(parse(&format!("{ok}  where_filter: \"{{{{ nope() }}}}\"\n")).is_err());
    assert_eq!(parse(&format!("{ok}  limit: 3\n")).unwrap().limit, Some(3));
    assert!(parse("other: 1\n").is_err());
}

// ---------------------------------------------------------------------------------------------
// Jinja helpers
// ---------------------------------------------------------------------------------------------

fn render(src: &str) -> String {
    render_with(&build_env("s", false), src).unwrap()
}

#[test]
fn conformance_macros_render_duckdb_sql() {
    assert_eq!(
        render("{{ render_date_trunc('ds', TimeGranularity.WEEK) }}"),
        "DATE_TRUNC('week', CAST(ds AS TIMESTAMP))"
    );
    assert_eq!(
        render("{{ render_time_constraint(\"ds\", \"2020-01-01\", \"2020-01-31\") }}"),
        "CAST(ds AS TIMESTAMP) >= CAST('2020-01-01' AS TIMESTAMP) AND CAST(ds AS TIMESTAMP) < CAST('2020-02-01' AS TIMESTAMP)"
    );
    assert_eq!(
        render("{{ render_time_constraint('ts', '2020-12-31 23:59:59', stop_time='2020-12-31 23:59:59') }}"),
        "CAST(ts AS TIMESTAMP) >= CAST('2020-12-31 23:59:59' AS TIMESTAMP) AND CAST(ts AS TIMESTAMP) < CAST('2021-01-01 00:00:00' AS TIMESTAMP)"
    );
    assert_eq!(
        render("{{ render_time_constraint('ts', start_time='2019-12-20') }}"),
        "CAST(ts AS TIMESTAMP) >= CAST('2019-12-20' AS TIMESTAMP)"
    );
    assert_eq!(
        render("{{ render_time_constraint('ts', stop_time='2020-02-28') }}"),
        "CAST(ts AS TIMESTAMP) < CAST('2020-02-29' AS TIMESTAMP)"
    );
    assert!(render_with(&build_env("s", false), "{{ render_time_constraint('ts') }}").is_err());
    assert_eq!(
        render("{{ render_date_sub('a', 'ds', 2, TimeGranularity.QUARTER) }}"),
        "a.ds - INTERVAL 6 month"
    );
    assert_eq!(
        render("{{ render_date_sub(\"a\", \"ds\", 5, TimeGranularity.DAY) }}"),
        "a.ds - INTERVAL 5 day"
    );
    assert_eq!(
        render("{{ render_date_add('x', '(n - 1)', TimeGranularity.DAY) }}"),
        "x + INTERVAL (n - 1) day"
    );
    assert_eq!(
        render("{{ render_date_add('x', 'n', TimeGranularity.QUARTER) }}"),
        "x + INTERVAL (n * 3) month"
    );
    assert_eq!(
        render("{{ render_extract('ds', DatePart.DOW) }}"),
        "EXTRACT(isodow FROM CAST(ds AS TIMESTAMP))"
    );
    assert_eq!(
        render("{{ render_percentile_expr('v', 0.99, False, False) }}"),
        "PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY (v))"
    );
    assert_eq!(
        render("{{ render_percentile_expr('v', 0.5, True, False) }}"),
        "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY (v))"
    );
    assert_eq!(
        render("{{ render_percentile_expr('v', 0.5, False, True) }}"),
        "approx_quantile(v, 0.5)"
    );
    assert!(render_with(
        &build_env("s", false),
        "{{ render_percentile_expr('v', 0.5, True, True) }}"
    )
    .is_err());
    assert_eq!(
        render("{{ source_schema }}.t {{ mf_time_spine_source }} {{ double_data_type_name }}"),
        "s.t s.mf_time_spine DOUBLE"
    );
    assert_eq!(
        render("{{ generate_random_uuid() }} {{ cast_to_ts('2020-01-01') }}"),
        "GEN_RANDOM_UUID() CAST('2020-01-01' AS TIMESTAMP)"
    );
    // Strict undefined: unknown names and enum members are errors.
    assert!(render_with(&build_env("s", false), "{{ nope }}").is_err());
    assert!(render_with(&build_env("s", false), "{{ TimeGranularity.FORTNIGHT }}").is_err());
    // Template helpers exist only for where filters.
    assert!(render_with(
        &build_env("s", false),
        "{{ render_dimension_template('x') }}"
    )
    .is_err());
}

#[test]
fn conformance_where_filter_templates() {
    let r = |s: &str| render_where_filter(s, "s").unwrap();
    assert_eq!(
        r("{{ render_dimension_template('listing__country_latest') }} = 'us'"),
        "{{ Dimension('listing__country_latest', entity_path=[]) }} = 'us'"
    );
    assert_eq!(
        r("{{ render_dimension_template('country_latest', entity_path=['listing']) }}"),
        "{{ Dimension('country_latest', entity_path=['listing']) }}"
    );
    assert_eq!(
        r("{{ render_entity_template('user', ['listing']) }}"),
        "{{ Entity('user', entity_path=['listing']) }}"
    );
    assert_eq!(
        r("{{ render_metric_template('bookings', ['listing']) }} > 2"),
        "{{ Metric('bookings', group_by=['listing']) }} > 2"
    );
    assert_eq!(
        r("{{ render_time_dimension_template('metric_time', 'day') }} = {{ cast_to_ts('2019-12-20') }}"),
        "{{ TimeDimension('metric_time', 'day', entity_path=[]) }} = CAST('2019-12-20' AS TIMESTAMP)"
    );
    assert_eq!(
        r("{{ render_time_constraint(render_time_dimension_template('listing__ds', 'alien_day'), start_time=\"2019-12-20\") }}\n"),
        "CAST({{ TimeDimension('listing__ds', 'alien_day', entity_path=[]) }} AS TIMESTAMP) >= CAST('2019-12-20' AS TIMESTAMP)"
    );
}

#[test]
fn conformance_date_helpers() {
    for s in [
        "1970-01-01",
        "2020-02-29",
        "1900-01-01",
        "2024-12-31",
        "1969-12-31",
    ] {
        assert_eq!(format_date(parse_datetime(s).unwrap()), s);
    }
    for s in [
        "2020-01-01 00:00:00",
        "2020-01-03 05:59:59",
        "2020-01-01 00:00:00.000123",
    ] {
        assert_eq!(format_timestamp(parse_datetime(s).unwrap()), s);
    }
    assert_eq!(parse_datetime("1970-01-02").unwrap(), MICROS_PER_DAY);
    assert_eq!(
        parse_datetime("2020-01-01T00:00:01").unwrap(),
        parse_datetime("2020-01-01 00:00:01").unwrap()
    );
    assert!(parse_datetime("2020-13-01").is_err());
    assert!(parse_datetime("yesterday").is_err());
    assert_eq!(
        truncate_fraction("2020-01-01 00:00:00.000000001"),
        "2020-01-01 00:00:00.000000"
    );
    assert_eq!(
        truncate_fraction("2020-01-01 00:00:00.5"),
        "2020-01-01 00:00:00.5"
    );
}

// ---------------------------------------------------------------------------------------------
// Fixtures and check queries
// ---------------------------------------------------------------------------------------------
