//! The `tally` binary: stdout, stderr and exit codes, on MetricFlow's simple manifest and on broken
//! projects. Queries run on an in-repo DuckDB database built from MetricFlow's fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

fn metricflow_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TALLY_METRICFLOW_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/metricflow")
}

fn simple_manifest() -> PathBuf {
    metricflow_dir().join("manifests/simple_manifest")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tally(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tally");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A DuckDB file with MetricFlow's fixture tables in schema `mf_src`, built once per test run.
fn fixture_db() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-fixtures");
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join(format!("mf-{}.duckdb", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let conn = tally_duckdb::engine::open(Some(&path)).expect("open");
        tally_duckdb::conformance::load_fixtures(&conn, &metricflow_dir(), "mf_src")
            .expect("fixtures");
        path
    })
    .clone()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
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
    assert!(
        out.stderr
            .contains("error[E0008]: `$source_schema` is used but not set"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--source-schema"), "{}", out.stderr);
}

#[test]
fn validate_broken_project_reports_json_with_locations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tally-core/tests/errors/E0103_unknown_measure");
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
        .join("../tally-core/tests/errors/E0003_unknown_key");
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
    assert!(out.stderr.contains("E0001"), "{}", out.stderr);
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = tally(&["query", "--metrix", "bookings"]);
    assert_eq!(out.code, 2);
}

#[test]
fn sql_prints_parseable_sql() {
    let m = simple_manifest();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
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
    let m = simple_manifest();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "sql",
        "--metrics",
        "bookings",
        "--stage",
        "plan",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan json");
    assert_eq!(v["columns"][0], "bookings");
}

#[test]
fn unknown_metric_is_reported_with_a_suggestion() {
    let m = simple_manifest();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "sql",
        "--metrics",
        "bookngs",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error[E0201]: unknown metric `bookngs`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `bookings`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_dialect_is_a_usage_error() {
    let m = simple_manifest();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "sql",
        "--metrics",
        "bookings",
        "--dialect",
        "duckdbb",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `duckdb`?"),
        "{}",
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
    let m = simple_manifest();
    let db = fixture_db();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
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
    let m = simple_manifest();
    let out = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "list",
        "metrics",
        "--search",
        "booking_value",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("booking_value"));
    assert!(!out.stdout.contains("│ views "), "{}", out.stdout);
}

#[test]
fn graph_and_lineage() {
    let m = simple_manifest();
    let g = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "graph",
        "--format",
        "dot",
        "--full",
    ]);
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(g.stdout.starts_with("digraph"), "{}", g.stdout);
    let l = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "lineage",
        "bookings_per_booker",
    ]);
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(l.stdout.contains("bookings"), "{}", l.stdout);
    let bad = tally(&[
        "--project",
        p(&m),
        "--source-schema",
        "mf_src",
        "lineage",
        "bookngs_per_booker",
    ]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("E0201"), "{}", bad.stderr);
}
