//! Metrics in CI: `tally test`, `tally diff` and the CI formats of `tally validate` and
//! `tally test` (stdout, stderr, exit codes). Projects are written to temporary directories;
//! `tally diff` runs on a temporary git repository made here (no network).

mod common;
mod duckdb_files;

use common::{assert_contains, git, git_commit_all, p, project, shop_models, tally, write};
use std::path::PathBuf;

const TALLY_YML: &str = "name: shop
duckdb: warehouse.duckdb
people:
  - {name: ann, full_name: Ann Lee, email: ann@example.com}
  - {name: bob, full_name: Bob Ray}
teams:
  - {name: finance, members: [ann]}
";

const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
    owners: {accountable: bob}
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
    filter: \"{{ Dimension('order__is_paid') }}\"
    owners: {accountable: ann, informed: [bob]}
  - name: average_order_value
    type: ratio
    type_params: {numerator: revenue, denominator: orders}
    drivers: [orders]
    owners: {accountable: ann, consulted: [finance]}
";

fn test_yml(january_revenue: &str) -> String {
    format!(
        "metric_tests:
  - name: revenue_counts_paid_orders
    given:
      - table: shop.orders
        rows:
          - {{id: 1, ordered_at: 2026-01-05, is_paid: true, amount: 10.0}}
          - {{id: 2, ordered_at: 2026-01-06, is_paid: false, amount: 99.0}}
          - {{id: 3, ordered_at: 2026-02-01, is_paid: true, amount: 5.5}}
    query: {{metrics: [revenue, orders], group_by: [metric_time__month]}}
    expect:
      rows:
        - {{metric_time__month: 2026-01-01, revenue: {january_revenue}, orders: 2}}
        - {{metric_time__month: 2026-02-01, revenue: 5.5, orders: 1}}
"
    )
}

fn shop(january_revenue: &str) -> (tempfile::TempDir, PathBuf) {
    project(&[
        ("tally.yml", TALLY_YML),
        ("models/orders.yml", &shop_models("is_paid", "")),
        ("metrics/metrics.yml", METRICS),
        ("metrics/tests/revenue.yml", &test_yml(january_revenue)),
    ])
}

// ----- tally test ------------------------------------------------------------------------------------

#[test]
fn the_repository_projects_metric_tests_pass() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = tally(&["--project", p(&root), "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("running "), "{}", out.stdout);
    assert_contains(
        &out.stdout,
        &[
            "test resolution_and_reopen_rates_by_month ... ok",
            "test result: ok.",
        ],
    );
}

#[test]
fn passing_test_exits_zero() {
    let (_dir, dir) = shop("10");
    let out = tally(&["--project", p(&dir), "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "running 1 metric test\ntest revenue_counts_paid_orders ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 errors\n"
    );
}

#[test]
fn failing_test_prints_a_table_diff_and_exits_one() {
    let (_dir, dir) = shop("109");
    let out = tally(&["--project", p(&dir), "test"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "running 1 metric test
test revenue_counts_paid_orders ... FAILED

failures:

---- revenue_counts_paid_orders (metrics/tests/revenue.yml:2:11) ----
error[E0507]: metric test `revenue_counts_paid_orders` failed: 1 expected row not returned, 1 unexpected row
expected (-) and actual (+) rows:
  | metric_time__month | revenue | orders |
  |--------------------|---------|--------|
- | 2026-01-01         | 109     | 2      |
+ | 2026-01-01         | 10.0    | 2      |
  | 2026-02-01         | 5.5     | 1      |

test result: FAILED. 0 passed; 1 failed; 0 errors
"
    );
}

#[test]
fn test_filter_and_no_tests() {
    let (_dir, dir) = shop("10");
    let out = tally(&["--project", p(&dir), "test", "nothing_matches"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert_contains(
        &out.stderr,
        &["no metric test name contains `nothing_matches`"],
    );
}

#[test]
fn test_formats_json_junit_sarif_github() {
    let (_dir, dir) = shop("109");
    let json = tally(&["--project", p(&dir), "test", "--format", "json"]);
    assert_eq!(json.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["failed"], 1);
    assert_eq!(v["tests"][0]["status"], "failed");
    assert_eq!(v["tests"][0]["file"], "metrics/tests/revenue.yml");
    assert_eq!(v["tests"][0]["line"], 2);
    assert_eq!(v["tests"][0]["diagnostics"][0]["code"], "E0507");
    assert!(v["tests"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("+ | 2026-01-01"));
    assert!(v["tests"][0]["sql"].as_str().unwrap().starts_with("WITH "));

    let junit = tally(&["--project", p(&dir), "test", "--format", "junit"]);
    assert_eq!(junit.code, 1);
    assert!(junit.stdout.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tally test\" tests=\"1\" failures=\"1\" errors=\"0\">"), "{}", junit.stdout);
    assert_contains(&junit.stdout, &["<testcase name=\"revenue_counts_paid_orders\" classname=\"tally.test.metrics.tests.revenue\" file=\"metrics/tests/revenue.yml\" line=\"2\">", "<failure type=\"E0507\" message=\"metric test `revenue_counts_paid_orders` failed: 1 expected row not returned, 1 unexpected row\">expected (-) and actual (+) rows:\n"]);

    let sarif = tally(&["--project", p(&dir), "test", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("sarif json");
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "E0507");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        11
    );

    let gh = tally(&["--project", p(&dir), "test", "--format", "github"]);
    assert!(gh.stdout.starts_with("::error file=metrics/tests/revenue.yml,line=2,col=11,endLine=2,endColumn=37,title=E0507::metric test"), "{}", gh.stdout);
    assert_contains(&gh.stdout, &["%0A- | 2026-01-01"]);
    assert!(
        gh.stdout
            .ends_with("test result: FAILED. 0 passed; 1 failed; 0 errors\n"),
        "{}",
        gh.stdout
    );
}

#[test]
fn a_broken_test_is_an_error_with_its_location() {
    let (_dir, dir) = shop("10");
    write(
        &dir,
        &[(
            "metrics/tests/revenue.yml",
            &test_yml("10").replace("metrics: [revenue, orders]", "metrics: [revenu, orders]"),
        )],
    );
    let out = tally(&["--project", p(&dir), "test"]);
    assert_eq!(out.code, 1);
    assert_contains(&out.stdout, &["test revenue_counts_paid_orders ... ERROR", "error[E0501]: metric test `revenue_counts_paid_orders` queries unknown metric `revenu`", "did you mean `revenue`?"]);
    // `tally validate` reports it too.
    let v = tally(&["--project", p(&dir), "validate", "--format", "json"]);
    assert_eq!(v.code, 1);
    let j: serde_json::Value = serde_json::from_str(&v.stdout).expect("json");
    assert_eq!(j[0]["code"], "E0501");
    assert_eq!(j[0]["file"], "metrics/tests/revenue.yml");
    assert_eq!(j[0]["line"], 9);
}

#[test]
fn a_project_with_errors_does_not_run_tests() {
    let (_dir, dir) = shop("10");
    write(
        &dir,
        &[(
            "metrics/metrics.yml",
            &METRICS.replace("measure: order_count", "measure: order_cnt"),
        )],
    );
    let out = tally(&["--project", p(&dir), "test"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_contains(
        &out.stderr,
        &["error[E0103]", "metric tests run on a valid project"],
    );
}

// ----- validate in CI formats --------------------------------------------------------------------------

#[test]
fn validate_junit_and_sarif_parse_back() {
    let (_dir, dir) = shop("10");
    write(
        &dir,
        &[(
            "models/orders.yml",
            &shop_models("is_paid", "")
                .replace("type: categorical}", "type: categorical, exprr: paid}"),
        )],
    );
    let junit = tally(&["--project", p(&dir), "validate", "--format", "junit"]);
    assert_eq!(junit.code, 1);
    assert_contains(&junit.stdout, &["<testsuite name=\"tally validate\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\">", "<testcase name=\"models/orders.yml\" classname=\"tally.validate\" file=\"models/orders.yml\" line=\"8\">", "<testcase name=\"tally.yml\" classname=\"tally.validate\" file=\"tally.yml\"/>"]);
    let sarif = tally(&["--project", p(&dir), "validate", "--format", "sarif"]);
    assert_eq!(sarif.code, 1);
    let v: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "E0003");
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "models/orders.yml");
    assert_eq!(loc["region"]["startLine"], 8);
    assert_eq!(loc["region"]["startColumn"], 44);
    assert_eq!(loc["region"]["endColumn"], 49);
    let (_clean_dir, clean_project) = shop("10");
    let clean = tally(&[
        "--project",
        p(&clean_project),
        "validate",
        "--format",
        "sarif",
    ]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
}

// ----- git ------------------------------------------------------------------------------------------

/// A git repository with the shop project in `analytics/`, committed; returns (repo, project).
fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let project = root.join("analytics");
    write(
        &project,
        &[
            ("tally.yml", TALLY_YML),
            ("models/orders.yml", &shop_models("is_paid", "")),
            ("metrics/metrics.yml", METRICS),
            ("metrics/tests/revenue.yml", &test_yml("10")),
        ],
    );
    write(&root, &[("README.md", "a repository\n")]);
    git(&root, &["init", "-q"]);
    git_commit_all(&root, "base");
    (dir, project)
}

#[test]
fn github_annotations_are_relative_to_the_repository_root() {
    let (_root, project) = repo();
    write(
        &project,
        &[(
            "models/orders.yml",
            &shop_models("is_paid", "")
                .replace("type: categorical}", "type: categorical, exprr: paid}"),
        )],
    );
    let out = tally(&["--project", p(&project), "validate", "--format", "github"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.starts_with("::error file=analytics/models/orders.yml,line=8,col=44,endLine=8,endColumn=49,title=E0003::unknown key `exprr`%0Ahelp: did you mean `expr`?\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn diff_reports_changes_affected_metrics_and_owners() {
    let (_root, project) = repo();
    // Revenue now counts unpaid orders too; a metric is added.
    let head = METRICS.replace("    filter: \"{{ Dimension('order__is_paid') }}\"\n", "")
        + "  - name: paid_orders\n    type: simple\n    type_params: {measure: order_count}\n    filter: \"{{ Dimension('order__is_paid') }}\"\n    owners: {accountable: bob}\n";
    write(&project, &[("metrics/metrics.yml", &head)]);
    let out = tally(&["--project", p(&project), "diff", "--base", "HEAD"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let md = &out.stdout;
    assert!(
        md.starts_with("## tally diff: `HEAD` → working tree\n"),
        "{md}"
    );
    assert!(md.contains("| `revenue` | simple | changed | filter: removed (was `{{ Dimension('order__is_paid') }}`) |"), "{md}");
    assert!(md.contains("| `paid_orders` | simple | added |  |"), "{md}");
    assert!(
        md.contains("| `average_order_value` | may move | input `revenue` may change | ann |"),
        "{md}"
    );
    assert!(
        md.contains("| **finance** (team: ann) |  | `average_order_value` |  |"),
        "{md}"
    );
    assert!(
        md.contains("| **bob** (Bob Ray) | `paid_orders` |  | `revenue` |"),
        "{md}"
    );

    let json = tally(&[
        "--project",
        p(&project),
        "diff",
        "--base",
        "HEAD",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, 0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["base"], "HEAD");
    assert_eq!(v["metrics"][0]["name"], "revenue");
    assert_eq!(v["metrics"][0]["kind"], "changed");
    assert_eq!(v["metrics"][0]["changes"][0]["field"], "filter");
    assert_eq!(v["metrics"][1]["kind"], "added");
    let affected: Vec<&str> = v["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        affected,
        vec!["average_order_value", "paid_orders", "revenue"]
    );
    assert!(v.get("data").is_none());
}

#[test]
fn diff_without_changes_and_with_renames() {
    let (_root, project) = repo();
    let out = tally(&["--project", p(&project), "diff", "--base", "HEAD"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_contains(&out.stdout, &["No changes to metrics"]);
    write(
        &project,
        &[(
            "metrics/metrics.yml",
            &METRICS
                .replace("name: revenue\n", "name: paid_revenue\n")
                .replace("numerator: revenue", "numerator: paid_revenue"),
        )],
    );
    let v: serde_json::Value = serde_json::from_str(
        &tally(&[
            "--project",
            p(&project),
            "diff",
            "--base",
            "HEAD",
            "--format",
            "json",
        ])
        .stdout,
    )
    .expect("json");
    assert_eq!(v["metrics"][0]["name"], "paid_revenue");
    assert_eq!(v["metrics"][0]["kind"], "renamed");
    assert_eq!(v["metrics"][0]["renamed_from"], "revenue");
    assert_eq!(v["metrics"].as_array().unwrap().len(), 1, "{v:#}");
}

#[test]
fn diff_data_shows_how_values_move() {
    let (_root, project) = repo();
    let db = project.join("warehouse.duckdb");
    duckdb_files::duckdb_file(
        &db,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id INTEGER, ordered_at DATE, is_paid BOOLEAN, amount DOUBLE);
         INSERT INTO shop.orders VALUES (1, '2026-01-05', TRUE, 10), (2, '2026-01-06', FALSE, 99), (3, '2026-02-01', TRUE, 5.5);",
    );
    write(
        &project,
        &[(
            "metrics/metrics.yml",
            &METRICS.replace("    filter: \"{{ Dimension('order__is_paid') }}\"\n", ""),
        )],
    );
    let out = tally(&["--project", p(&project), "diff", "--base", "HEAD", "--data"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.contains("### How values move (by month)"), "{md}");
    assert!(
        md.contains(
            "<details><summary><code>revenue</code>: largest change +990.00% (2026-01)</summary>"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 2026-01 | 10 | 109 | 99 (+990.00%) |"),
        "{md}"
    );
    assert!(md.contains("| 2026-02 | 5.5 | 5.5 | 0 (+0.00%) |"), "{md}");
    assert!(
        md.contains("| 2026-01 | 5 | 54.5 | 49.5 (+990.00%) |"),
        "{md}"
    );
    // The values are computed as `tally query` computes them, through its cache: a second run
    // reads each side's kept result (`-v` says so) and prints the same report; `--cache off`
    // computes them again, the same.
    assert!(project.join("warehouse.tally-cache.duckdb").is_file());
    let diff = |extra: &[&str]| {
        let mut args = vec!["--project", p(&project), "diff", "--base", "HEAD", "--data"];
        args.extend(extra);
        tally(&args)
    };
    let again = diff(&["-v"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(&again.stdout, md);
    assert_contains(
        &again.stderr,
        &[
            "cache: result of revenue (base): hit (",
            "cache: result of revenue (head): hit (",
        ],
    );
    let off = diff(&["--cache", "off", "-v"]);
    assert_eq!(&off.stdout, md);
    assert_contains(&off.stderr, &["cache: off"]);
    assert!(!off.stderr.contains("result of"), "{}", off.stderr);
    // Without the database, the values are skipped with a note.
    std::fs::remove_file(&db).expect("rm db");
    let out = tally(&[
        "--project",
        p(&project),
        "diff",
        "--base",
        "HEAD",
        "--data",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert!(
        v["data"]["skipped"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{v:#}"
    );
}

#[test]
fn diff_usage_errors_exit_two() {
    let (_root, project) = repo();
    let out = tally(&["--project", p(&project), "diff", "--base", "no-such-branch"]);
    assert_eq!(out.code, 2);
    assert_contains(
        &out.stderr,
        &["error[E0001]: unknown git ref `no-such-branch`"],
    );
    let (_outside_dir, outside) = shop("10");
    let out = tally(&["--project", p(&outside), "diff", "--base", "HEAD"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_contains(&out.stderr, &["is not in a git repository"]);
    let out = tally(&["--project", p(&project), "diff"]);
    assert_eq!(out.code, 2);
}
