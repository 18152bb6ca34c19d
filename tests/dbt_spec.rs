//! `--manifest FILE` (dbt's semantic_manifest.json), `tally model --format json`, and the note
//! about a manifest newer than the project's YAML.

mod common;

use common::{p, tally, write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/tally-core/tests/dbt_spec")
        .join(rel)
}

/// The latest-spec shop project with the relations and time spine dbt resolved, so that tally's
/// model of the YAML is comparable with its model of dbt's manifest.
fn shop_project(dir: &Path) {
    let yaml = std::fs::read_to_string(fixture("shop_latest/models/semantic.yml")).unwrap();
    write(
        dir,
        &[
            (
                "tally.yml",
                "relations:\n  refs:\n    orders: '\"shop\".\"main\".\"orders\"'\n    customers: '\"shop\".\"main\".\"customers\"'\n",
            ),
            ("models/semantic.yml", &yaml),
            (
                "models/spine.yml",
                "project_configuration:\n  time_spines:\n    - node_relation: {alias: metricflow_time_spine, relation_name: '\"shop\".\"main\".\"metricflow_time_spine\"'}\n      primary_column: {name: date_day, time_granularity: day}\n",
            ),
        ],
    );
}

#[test]
fn model_of_the_yaml_equals_model_of_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    shop_project(tmp.path());
    let yaml = tally(&["--project", p(tmp.path()), "model", "--format", "json"]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    let manifest = fixture("shop_latest/semantic_manifest.json");
    let json = tally(&[
        "--project",
        p(tmp.path()),
        "--manifest",
        p(&manifest),
        "model",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["metrics"].as_array().unwrap().len(), 10);
    assert_eq!(yaml.stdout, json.stdout);
}

#[test]
fn a_missing_manifest_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("target/semantic_manifest.json");
    let out = tally(&[
        "--project",
        p(tmp.path()),
        "--manifest",
        p(&missing),
        "validate",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot read the semantic manifest"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_newer_manifest_gets_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    shop_project(tmp.path());
    let manifest = tmp.path().join("target/semantic_manifest.json");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    std::fs::copy(fixture("shop_latest/semantic_manifest.json"), &manifest).unwrap();
    let set = |path: &Path, t: SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for f in ["tally.yml", "models/semantic.yml", "models/spine.yml"] {
        set(&tmp.path().join(f), base);
    }
    // Older than the YAML: no note.
    set(&manifest, base - Duration::from_secs(60));
    let out = tally(&["--project", p(tmp.path()), "validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("note:"), "{}", out.stderr);
    // Newer: a note on stderr, and the YAML is still what is read.
    set(&manifest, base + Duration::from_secs(60));
    let out = tally(&["--project", p(tmp.path()), "validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("target/semantic_manifest.json is newer than the project's YAML"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--manifest"), "{}", out.stderr);
    // With --manifest, no note.
    let out = tally(&[
        "--project",
        p(tmp.path()),
        "--manifest",
        p(&manifest),
        "validate",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("note:"), "{}", out.stderr);
}

#[test]
fn hidden_metrics_are_not_listed_but_stay_queryable() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[
            ("tally.yml", "name: shop\n"),
            (
                "models/orders.yml",
                "models:\n  - name: orders\n    semantic_model: true\n    agg_time_dimension: ordered_at\n    columns:\n      - {name: order_id, entity: primary}\n      - {name: ordered_at, granularity: day, dimension: time}\n    metrics:\n      - {name: revenue_raw, agg: sum, expr: amount, hidden: true}\n      - {name: revenue, type: derived, expr: revenue_raw, input_metrics: [revenue_raw]}\n",
            ),
        ],
    );
    let out = tally(&["--project", p(tmp.path()), "list", "metrics"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("revenue"), "{}", out.stdout);
    assert!(!out.stdout.contains("revenue_raw"), "{}", out.stdout);
    let out = tally(&[
        "--project",
        p(tmp.path()),
        "sql",
        "--metrics",
        "revenue_raw",
        "--group-by",
        "metric_time__day",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("SUM("), "{}", out.stdout);
}
