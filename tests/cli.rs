//! The `tally` binary: stdout, stderr and exit codes, on MetricFlow's simple manifest and on broken
//! projects. Queries run on an in-repo DuckDB database built from MetricFlow's fixtures.

mod common;
mod duckdb_files;

use common::{assert_contains, metricflow_dir, p, tally};
use std::path::PathBuf;

fn simple_manifest() -> PathBuf {
    metricflow_dir().join("manifests/simple_manifest")
}

/// Run `tally` on MetricFlow's simple manifest (fixture tables in schema `mf_src`).
fn mf(args: &[&str]) -> common::Out {
    let m = simple_manifest();
    let mut all = vec!["--project", p(&m), "--source-schema", "mf_src"];
    all.extend_from_slice(args);
    tally(&all)
}

/// A DuckDB file with MetricFlow's fixture tables in schema `mf_src`, built once per test run.
fn fixture_db() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-fixtures");
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join(format!("mf-{}.duckdb", std::process::id()));
        let _ = std::fs::remove_file(&path);
        duckdb_files::metricflow_db(&path);
        path
    })
    .clone()
}

#[test]
fn validate_simple_manifest_is_clean() {
    let m = simple_manifest();
    let out = tally(&["--project", p(&m), "--source-schema", "mf_src", "validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.starts_with("ok: "), "{}", out.stderr);
}

#[test]
fn validate_without_source_schema_is_an_error_with_a_hint() {
    let m = simple_manifest();
    let out = tally(&["--project", p(&m), "validate"]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &[
            "error[E0008]: `$source_schema` is used but not set",
            "--source-schema",
        ],
    );
}

#[test]
fn validate_broken_project_reports_json_with_locations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/tally-core/tests/errors/E0103_unknown_measure");
    let out = tally(&["--project", p(&dir), "validate", "--format", "json"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let d = &v[0];
    assert_eq!(d["code"], "E0103");
    assert_eq!(d["file"], "metrics/m.yml");
    assert_eq!(d["line"], 4);
    assert_eq!(d["help"][0], "did you mean `revenue`?");
}

#[test]
fn validate_github_annotations_point_at_the_line() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/tally-core/tests/errors/E0003_unknown_key");
    let out = tally(&["--project", p(&dir), "validate", "--format", "github"]);
    assert_eq!(out.code, 1);
    // Paths are relative to the repository root, where CI resolves them.
    assert!(out.stdout.starts_with("::error file="), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("E0003_unknown_key/models/orders.yml,line=15,col=9,")
            || out
                .stdout
                .starts_with("::error file=models/orders.yml,line=15,col=9,"),
        "{}",
        out.stdout
    );
}

#[test]
fn missing_project_is_a_usage_error() {
    let out = tally(&["--project", "/nonexistent/tally-project", "validate"]);
    assert_eq!(out.code, 2);
    assert_contains(&out.stderr, &["E0001"]);
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = tally(&["query", "--metrix", "bookings"]);
    assert_eq!(out.code, 2);
    assert_contains(
        &out.stderr,
        &[
            "error[E0010]: unexpected argument '--metrix' found",
            "help: a similar argument exists: '--metrics'",
        ],
    );
}

#[test]
fn sql_prints_parseable_sql() {
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings",
        "--group-by",
        "metric_time__month,listing__country_latest",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("WITH bookings_source AS ("),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("DATE_TRUNC('month', bookings_source.ds) AS metric_time__month"));
}

#[test]
fn sql_stage_plan_is_json() {
    let out = mf(&["sql", "--metrics", "bookings", "--stage", "plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan json");
    assert_eq!(v["columns"][0], "bookings");
}

#[test]
fn unknown_metric_is_reported_with_a_suggestion() {
    let out = mf(&["sql", "--metrics", "bookngs"]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &[
            "error[E0201]: unknown metric `bookngs`",
            "did you mean `bookings`?",
        ],
    );
}

#[test]
fn a_misspelt_granularity_suggests_the_item_it_meant() {
    // A granularity that is no granularity is reported as one, with the whole item suggested
    // (not as an element the join search cannot reach, with `metric_time` suggested).
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings",
        "--group-by",
        "metric_time__mnth",
    ]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &[
            "error[E0211]: unknown time granularity `mnth` in `metric_time__mnth`",
            "did you mean `metric_time__month`?",
        ],
    );
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings",
        "--group-by",
        "booking__ds__wek,metric_time__yeer",
    ]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &[
            "unknown time granularity `wek` in `booking__ds__wek`",
            "did you mean `booking__ds__week`?",
            "did you mean `metric_time__year`?",
        ],
    );
    // Not after a time dimension: an element the join search does not reach.
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings",
        "--group-by",
        "booking__is_instant__x",
    ]);
    assert_contains(
        &out.stderr,
        &["error[E0401]: `booking__is_instant__x` cannot be reached"],
    );
}

#[test]
fn one_run_reports_every_problem_of_a_query() {
    // A misspelt granularity, an unknown metric and an item the join search cannot reach: all
    // three in one run, not the names' first and the join search's after they are fixed.
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings,bookngs_growth",
        "--group-by",
        "metric_time__mnth,booking__is_instant__x",
    ]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &[
            "unknown time granularity `mnth` in `metric_time__mnth`",
            "unknown metric `bookngs_growth`",
            "error[E0401]: `booking__is_instant__x` cannot be reached",
        ],
    );
    assert_eq!(out.stderr.matches("error[").count(), 3, "{}", out.stderr);
    // The misspelt metric_time stands in as metric_time: an offset metric does not add that it
    // needs metric_time.
    let out = mf(&[
        "sql",
        "--metrics",
        "bookings_growth_2_weeks",
        "--group-by",
        "metric_time__mnth",
    ]);
    assert_eq!(out.code, 1);
    assert_contains(&out.stderr, &["unknown time granularity `mnth`"]);
    assert_eq!(
        out.stderr.matches("error[").count(),
        1,
        "one error only:\n{}",
        out.stderr
    );
}

#[test]
fn query_runs_on_duckdb_in_every_format() {
    let m = simple_manifest();
    let db = fixture_db();
    let base = [
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "query",
        "--duckdb",
        p(&db),
        "--metrics",
        "bookings,booking_value",
        "--group-by",
        "booking__is_instant",
        "--order",
        "booking__is_instant",
    ];
    let csv = tally(&[&base[..], &["--format", "csv"]].concat());
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines[0], "booking__is_instant,bookings,booking_value");
    assert_eq!(lines.len(), 3, "{}", csv.stdout);
    let json = tally(&[&base[..], &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v.as_array().map(|a| a.len()), Some(2));
    assert_eq!(v[0]["booking__is_instant"], false);
    let table = tally(&base);
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.contains("booking__is_instant") && table.stdout.contains("(2 rows)"),
        "{}",
        table.stdout
    );
}

#[test]
fn query_numbers_match_a_hand_written_query() {
    let db = fixture_db();
    let out = mf(&[
        "query",
        "--duckdb",
        p(&db),
        "--metrics",
        "bookings_per_booker",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: f64 = out
        .stdout
        .lines()
        .nth(1)
        .expect("row")
        .parse()
        .expect("number");
    let conn = tally_duckdb::engine::open_read_only(&db).expect("open");
    let want = tally_duckdb::engine::run(
        &conn,
        "SELECT CAST(COUNT(*) AS DOUBLE) / COUNT(DISTINCT guest_id) FROM mf_src.fct_bookings",
    )
    .expect("query");
    let tally_duckdb::engine::Value::Float(want) = want.rows[0][0] else {
        panic!("float")
    };
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
}

#[test]
fn list_metrics_with_search() {
    let out = mf(&["list", "metrics", "--search", "booking_value"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("booking_value"));
    assert!(!out.stdout.contains("│ views "), "{}", out.stdout);
}

#[test]
fn graph_and_lineage() {
    let g = mf(&["graph", "--format", "dot", "--full"]);
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(g.stdout.starts_with("digraph"), "{}", g.stdout);
    let l = mf(&["lineage", "bookings_per_booker"]);
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert_contains(&l.stdout, &["bookings"]);
    let bad = mf(&["lineage", "bookngs_per_booker"]);
    assert_eq!(bad.code, 1);
    assert_contains(&bad.stderr, &["E0201"]);
}

#[test]
fn schema_prints_and_writes_json_schemas() {
    let out = tally(&["schema"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["title"], "tally project file");
    assert!(v["$defs"]["Metric"]["properties"]["owners"].is_object());
    let out = tally(&["schema", "tally-yml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["title"], "tally.yml");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("schema-{}", std::process::id()));
    let out = tally(&["schema", "--write", p(&dir)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for f in ["tally-project.schema.json", "tally-config.schema.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // The committed copies are what the binary prints.
    let committed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/tally-project.schema.json");
    assert_eq!(
        std::fs::read_to_string(committed).expect("committed schema"),
        std::fs::read_to_string(dir.join("tally-project.schema.json")).expect("written schema")
    );
    let out = tally(&["schema", "nope"]);
    assert_eq!(out.code, 2);
}

#[test]
fn sql_compiles_for_every_dialect() {
    for (dialect, marker) in [
        (
            "bigquery",
            "DATETIME_TRUNC(CAST(bookings_source.ds AS DATETIME), MONTH)",
        ),
        ("databricks", "DATE_TRUNC('month', bookings_source.ds)"),
        ("duckdb", "DATE_TRUNC('month', bookings_source.ds)"),
        (
            "postgres",
            "CAST(DATE_TRUNC('month', bookings_source.ds) AS TIMESTAMP)",
        ),
        (
            "PostgreSQL",
            "CAST(DATE_TRUNC('month', bookings_source.ds) AS TIMESTAMP)",
        ),
        ("redshift", "DATE_TRUNC('month', bookings_source.ds)"),
        ("snowflake", "AS \"bookings\""),
        (
            "trino",
            "CAST(date_trunc('month', bookings_source.ds) AS TIMESTAMP(6))",
        ),
    ] {
        let out = mf(&[
            "sql",
            "--metrics",
            "bookings",
            "--group-by",
            "metric_time__month",
            "--dialect",
            dialect,
        ]);
        assert_eq!(out.code, 0, "{dialect}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{dialect}:\n{}", out.stdout);
    }
    let out = mf(&["sql", "--metrics", "bookings", "--dialect", "snowflak"]);
    assert_eq!(out.code, 2);
    assert_contains(&out.stderr, &["did you mean `snowflake`?"]);
}

/// Metrics of three models queried together (combined through a key set left-joined to each
/// aggregation) give, for every key, what each metric gives alone, and every key of any of them.
#[test]
fn metrics_of_three_models_combine_like_each_alone() {
    let db = fixture_db();
    let query = |metrics: &str| -> Vec<Vec<String>> {
        let out = mf(&[
            "query",
            "--duckdb",
            p(&db),
            "--metrics",
            metrics,
            "--group-by",
            "metric_time__day,listing__country_latest",
            "--format",
            "csv",
        ]);
        assert_eq!(out.code, 0, "{metrics}: {}", out.stderr);
        out.stdout
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let together = query("bookings,views,listings");
    let mut keys_alone = std::collections::BTreeSet::new();
    for (i, metric) in ["bookings", "views", "listings"].iter().enumerate() {
        let alone = query(metric);
        assert!(!alone.is_empty(), "{metric}");
        for row in &alone {
            let key = (row[0].clone(), row[1].clone());
            keys_alone.insert(key.clone());
            let combined = together
                .iter()
                .find(|r| (r[0].clone(), r[1].clone()) == key)
                .unwrap_or_else(|| panic!("{metric}: key {key:?} missing when combined"));
            assert_eq!(combined[2 + i], row[2], "{metric} at {key:?}");
        }
    }
    // No key appears twice, and none that no metric has.
    assert_eq!(together.len(), keys_alone.len());
}
