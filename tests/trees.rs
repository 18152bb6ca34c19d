//! Issue #15's last pieces through the binary: `tally tree` with targets and statuses
//! (`--compare target` splits each gap to target among the inputs), check tests run by
//! `tally test`, and the status flips of `tally diff --data`. Projects, databases and git
//! repositories are made in temporary directories.

mod common;
mod duckdb_files;

use common::{assert_contains, git, git_commit_all, p, tally, write};
use std::path::{Path, PathBuf};

const TALLY_YML: &str = "name: shop
people:
  - {name: ann, full_name: Ann Lee}
checks:
  as_of: '2026-06-30 23:59:59'
";

const MODELS: &str = "semantic_models:
  - name: orders
    node_relation: {schema_name: shop, alias: orders}
    defaults: {agg_time_dimension: ordered_at}
    entities: [{name: order, type: primary, expr: id}]
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
      - {name: channel, type: categorical}
    measures:
      - {name: order_count, agg: sum, expr: '1'}
      - {name: revenue_total, agg: sum, expr: amount}
      - {name: refund_total, agg: sum, expr: refund}
";

/// Average order value = net revenue / orders, with monthly targets on it and on net revenue.
const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
    owners: {accountable: ann}
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
  - name: refunds
    type: simple
    type_params: {measure: refund_total}
  - name: net_revenue
    type: derived
    type_params: {expr: revenue - refunds, metrics: [revenue, refunds]}
    direction: higher_is_better
    targets:
      - name: plan
        grain: month
        values: [{from: 2026-01, value: 180}]
        tolerance: {at_risk: 5%, off_track: 10%}
  - name: average_order_value
    type: ratio
    type_params: {numerator: net_revenue, denominator: orders}
    owners: {accountable: ann}
    direction: higher_is_better
    targets:
      - name: plan
        grain: month
        values: [{from: 2026-01, value: 36}]
        tolerance: {at_risk: 5%, off_track: 10%}
    alerts:
      - name: aov_off_plan
        when: {target: plan, status: off_track}
";

/// April: 4 orders, net revenue 98; May: 5 orders, net revenue 169.
const DATA: &str = "CREATE SCHEMA shop;
CREATE TABLE shop.orders (id INTEGER, ordered_at TIMESTAMP, channel VARCHAR, amount DOUBLE, refund DOUBLE);
INSERT INTO shop.orders VALUES
  (1, '2026-04-02', 'web', 10, 0), (2, '2026-04-09', 'web', 20, 2), (3, '2026-04-20', 'web', 30, 0),
  (4, '2026-04-28', 'shop', 40, 0),
  (5, '2026-05-01', 'web', 15, 0), (6, '2026-05-03', 'web', 25, 5), (7, '2026-05-10', 'shop', 35, 0),
  (8, '2026-05-11', 'shop', 45, 0), (9, '2026-05-31 23:00:00', 'shop', 55, 1);";

fn project(dir: &Path, metrics: &str) -> PathBuf {
    write(
        dir,
        &[
            ("tally.yml", TALLY_YML),
            ("models/orders.yml", MODELS),
            ("metrics/metrics.yml", metrics),
        ],
    );
    let db = dir.join("warehouse.duckdb");
    if !db.exists() {
        duckdb_files::duckdb_file(&db, DATA);
    }
    db
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn tree(dir: &Path, db: &Path, extra: &[&str]) -> common::Out {
    let mut args = vec![
        "--project",
        p(dir),
        "tree",
        "average_order_value",
        "--duckdb",
        p(db),
        "--period",
        "2026-05",
        "--as-of",
        "2026-06-30",
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

#[test]
fn the_tree_shows_targets_statuses_and_the_rolled_up_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = project(dir.path(), METRICS);
    let out = tree(dir.path(), &db, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let m = &v["metrics"];
    // May: AOV 33.8 against 36 (within 10%, beyond 5%): at risk; net revenue 169 against 180
    // (6.1% short): at risk too; the root's rolled-up status is the worst below it.
    let aov = &m["average_order_value"];
    assert_eq!(aov["target"], 36.0);
    assert_eq!(aov["target_name"], "plan");
    assert_eq!(aov["status"], "at_risk");
    assert!(close(aov["gap"].as_f64().unwrap(), 33.8 - 36.0));
    assert_eq!(m["net_revenue"]["status"], "at_risk");
    assert_eq!(aov["rolled_up_status"], "at_risk");
    assert!(m["orders"]["status"].is_null());
    // Every format carries them.
    let text = tree(dir.path(), &db, &[]).stdout;
    assert!(
        text.contains("average_order_value  33.8 (was 24.5)  Δ +9.300 (+38.0%)  target 36  gap −2.200 (−6.1%)  [at_risk]"),
        "{text}"
    );
    let mermaid = tree(dir.path(), &db, &["--format", "mermaid"]).stdout;
    assert!(mermaid.contains("target 36 · at risk"), "{mermaid}");
    assert!(mermaid.contains("class n0 at_risk"), "{mermaid}");
    let svg = tree(dir.path(), &db, &["--format", "svg"]).stdout;
    assert!(svg.contains("target 36  ·  at risk"), "{svg}");
    assert!(svg.contains(r#"data-status="at_risk""#), "{svg}");
}

#[test]
fn compare_target_splits_the_gap_among_the_inputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = project(dir.path(), METRICS);
    let out = tree(
        dir.path(),
        &db,
        &["--compare", "target", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["compare"], "target");
    assert!(v["compare_period"].is_null());
    let aov = &v["metrics"]["average_order_value"];
    // The change is the gap to target: 33.8 − 36.
    let gap = aov["change"].as_f64().unwrap();
    assert!(close(gap, 33.8 - 36.0), "{aov}");
    // Net revenue 169 vs its target 180, orders (no target) held at 5: LMDI over 169/5 vs 180/5
    // explains it all (36 is 180/5, nothing unexplained); together exactly the gap.
    let a = &aov["attribution"];
    assert_eq!(a["method"], "lmdi");
    let sum: f64 = a["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_f64().unwrap())
        .sum::<f64>()
        + a["unexplained"].as_f64().unwrap();
    assert!(close(sum, gap), "{sum} vs {gap}");
    assert!(close(
        a["contributions"][0]["value"].as_f64().unwrap(),
        169.0 / 5.0 - 180.0 / 5.0
    ));
    assert!(close(a["contributions"][1]["value"].as_f64().unwrap(), 0.0));
    assert!(close(a["unexplained"].as_f64().unwrap(), 0.0));
    assert!(
        a["note"]
            .as_str()
            .unwrap()
            .contains("orders held at the actual value"),
        "{a}"
    );
    let text = tree(dir.path(), &db, &["--compare", "target"]).stdout;
    assert!(text.starts_with("month 2026-05-01 vs target\n"), "{text}");
    assert!(
        text.contains("= numerator net_revenue  169  target 180  gap −11 (−6.1%)  [at_risk]  → contributes −2.200"),
        "{text}"
    );
}

const CHECK_TESTS: &str = "check_tests:
  - name: may_is_at_risk
    as_of: 2026-05-31
    given:
      - table: shop.orders
        columns: {id: integer, ordered_at: timestamp, channel: varchar, amount: double, refund: double}
        rows:
          - [1, 2026-05-02, web, 30, 0]
          - [2, 2026-05-03, web, 38, 0]
    expect:
      - {metric: average_order_value, period: 2026-05, status: at_risk, not_firing: [aov_off_plan]}
      - {metric: net_revenue, target: plan, period: 2026-05, status: off_track}
";

#[test]
fn check_tests_pass_fail_and_report_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    project(dir.path(), METRICS);
    // At the end of May: AOV 34 against 36 (5.6% short): at risk, so the off-track alert stays
    // quiet; net revenue 68 against 180: off track.
    write(dir.path(), &[("metrics/checks.yml", CHECK_TESTS)]);
    let out = tally(&["--project", p(dir.path()), "test"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_contains(
        &out.stdout,
        &[
            "running 0 metric tests and 1 check test",
            "test may_is_at_risk ... ok",
        ],
    );
    // A wrong expectation fails with a diff.
    write(
        dir.path(),
        &[(
            "metrics/checks.yml",
            &CHECK_TESTS.replace("status: at_risk", "status: on_track"),
        )],
    );
    let out = tally(&["--project", p(dir.path()), "test"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_contains(
        &out.stdout,
        &[
            "error[E0507]: check test `may_is_at_risk` failed: 1 expectation not met",
            "- average_order_value plan 2026-05: on_track\n+ at_risk (value 34, target 36)",
        ],
    );
    let json = tally(&["--project", p(dir.path()), "test", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["tests"][0]["kind"], "check test");
    assert_eq!(v["tests"][0]["status"], "failed");
    // Bad input: an unknown alert, status and metric, each at its place with a suggestion.
    let bad = CHECK_TESTS
        .replace("not_firing: [aov_off_plan]", "not_firing: [aov_of_plan]")
        .replace("status: off_track", "status: off-track")
        + "      - {metric: average_order_valu, period: 2026-05, status: on_track}\n";
    write(dir.path(), &[("metrics/checks.yml", &bad)]);
    let out = tally(&["--project", p(dir.path()), "validate"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("metric `average_order_value` has no alert `aov_of_plan`"),
        "{all}"
    );
    assert!(all.contains("did you mean `aov_off_plan`"), "{all}");
    assert!(all.contains("checks.yml:11:"), "{all}");
    assert!(all.contains("`off-track` is not a status"), "{all}");
    assert!(all.contains("did you mean `off_track`"), "{all}");
    assert!(all.contains("checks.yml:12:"), "{all}");
    assert!(all.contains("error[E0501]"), "{all}");
    assert!(all.contains("did you mean `average_order_value`"), "{all}");
    assert!(all.contains("checks.yml:13:"), "{all}");
    // `tally test` reports them on the test, not as project errors.
    let out = tally(&["--project", p(dir.path()), "test"]);
    assert_eq!(out.code, 1);
    assert_contains(&out.stdout, &["test may_is_at_risk ... ERROR"]);
}

#[test]
fn diff_data_says_which_statuses_a_change_moves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = project(dir.path(), METRICS);
    git(dir.path(), &["init", "-q"]);
    write(dir.path(), &[(".gitignore", "*.duckdb\n")]);
    git_commit_all(dir.path(), "base");
    // A definition change (refunds no longer subtracted) and a tighter band on net revenue.
    let changed = METRICS
        .replace("expr: revenue - refunds", "expr: revenue + 0 * refunds")
        .replace(
            "values: [{from: 2026-01, value: 180}]\n        tolerance: {at_risk: 5%, off_track: 10%}",
            "values: [{from: 2026-01, value: 180}]\n        tolerance: {at_risk: 7%, off_track: 10%}",
        );
    write(dir.path(), &[("metrics/metrics.yml", &changed)]);
    let run = |format: &str| {
        tally(&[
            "--project",
            p(dir.path()),
            "diff",
            "--base",
            "HEAD",
            "--data",
            "--duckdb",
            p(&db),
            "--format",
            format,
        ])
    };
    let out = run("markdown");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.contains("### Status flips"), "{md}");
    // May: net revenue 169 -> 175 against 180 (a 7% band now): at_risk -> on_track; AOV 33.8 ->
    // 35 against 36 (within 5%): at_risk -> on_track. April: off track either way.
    assert!(
        md.contains("- this change moves `net_revenue` for 2026-05 from at_risk to on_track (target plan 180)"),
        "{md}"
    );
    assert!(
        md.contains("- this change moves `average_order_value` for 2026-05 from at_risk to on_track (target plan 36)"),
        "{md}"
    );
    assert!(!md.contains("for 2026-04 from"), "{md}");
    let v: serde_json::Value = serde_json::from_str(&run("json").stdout).expect("json");
    let flips = v["data"]["status_flips"].as_array().expect("flips");
    assert_eq!(flips.len(), 2, "{flips:?}");
    let net = flips
        .iter()
        .find(|f| f["metric"] == "net_revenue")
        .expect("net_revenue");
    assert_eq!(net["period"], "2026-05");
    assert_eq!(net["from"], "at_risk");
    assert_eq!(net["to"], "on_track");
}
