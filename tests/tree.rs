//! `tally tree`: values per period from DuckDB, exact attribution through the binary, the
//! renderings, and the picture in headless Chromium (skipped without `scripts/browser`'s
//! environment, failed under CI). Projects and databases are made in temporary directories.

mod common;
mod duckdb_files;

use common::{assert_contains, p, tally, write};
use std::path::{Path, PathBuf};
use std::process::Command;

const TALLY_YML: &str = "name: shop
people:
  - {name: ann, full_name: Ann Lee}
  - {name: bob, full_name: Bob Ray}
";

/// The shop's orders with refunds and the median amount too.
fn models() -> String {
    common::shop_models(
        "channel",
        "      - {name: refund_total, agg: sum, expr: refund}
      - {name: amount_median, agg: median, expr: amount}
",
    )
}

const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
    owners: {accountable: bob}
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
    owners: {accountable: ann}
  - name: refunds
    type: simple
    type_params: {measure: refund_total}
    owners: {accountable: ann}
  - name: median_order
    type: simple
    type_params: {measure: amount_median}
    owners: {accountable: ann}
  - name: net_revenue
    type: derived
    type_params:
      expr: revenue - refunds
      metrics: [revenue, refunds]
    owners: {accountable: ann}
  - name: average_order_value
    type: ratio
    type_params: {numerator: net_revenue, denominator: orders}
    drivers: [median_order]
    owners: {accountable: ann}
";

/// A project and its DuckDB database: April has 4 orders (web 3, shop 1), May 5 (web 2, shop 3).
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        &[
            ("tally.yml", TALLY_YML),
            ("models/orders.yml", &models()),
            ("metrics/metrics.yml", METRICS),
        ],
    );
    let db = dir.path().join("warehouse.duckdb");
    duckdb_files::duckdb_file(
        &db,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id INTEGER, ordered_at TIMESTAMP, channel VARCHAR, amount DOUBLE, refund DOUBLE);
         INSERT INTO shop.orders VALUES
           (1, '2026-04-02', 'web', 10, 0), (2, '2026-04-09', 'web', 20, 2), (3, '2026-04-20', 'web', 30, 0),
           (4, '2026-04-28', 'shop', 40, 0),
           (5, '2026-05-01', 'web', 15, 0), (6, '2026-05-03', 'web', 25, 5), (7, '2026-05-10', 'shop', 35, 0),
           (8, '2026-05-11', 'shop', 45, 0), (9, '2026-05-31 23:00:00', 'shop', 55, 1),
           (10, '2026-06-01', 'web', 1000, 0);",
    );
    (dir, db)
}

fn run_tree(dir: &Path, db: &Path, extra: &[&str]) -> common::Out {
    let mut args = vec![
        "--project",
        p(dir),
        "tree",
        "--duckdb",
        p(db),
        "--as-of",
        "2026-05-31",
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

fn json(out: &common::Out) -> serde_json::Value {
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("json")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn contributions_add_up_to_each_metrics_change() {
    let (dir, db) = project();
    let v = json(&run_tree(
        dir.path(),
        &db,
        &["average_order_value", "--format", "json"],
    ));
    assert_eq!(v["schema"], "tally.tree/v1");
    assert_eq!(v["period"], "2026-05-01");
    assert_eq!(v["compare_period"], "2026-04-01");
    let m = &v["metrics"];
    // Net revenue 98 over 4 orders, then 169 over 5 (June's order is outside both periods).
    assert!(close(
        m["average_order_value"]["values"]["base"].as_f64().unwrap(),
        98.0 / 4.0
    ));
    assert!(close(
        m["average_order_value"]["values"]["current"]
            .as_f64()
            .unwrap(),
        169.0 / 5.0
    ));
    for metric in ["average_order_value", "net_revenue"] {
        let f = &m[metric];
        let change = f["change"].as_f64().unwrap();
        let sum: f64 = f["attribution"]["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_f64().unwrap())
            .sum();
        assert!(close(sum, change), "{metric}: {sum} vs {change}");
    }
    assert_eq!(m["average_order_value"]["attribution"]["method"], "lmdi");
    let net = &m["net_revenue"]["attribution"];
    assert_eq!(net["method"], "sum");
    // revenue 100 -> 175 (+75), refunds 2 -> 6 (+4, which lowers net revenue by 4).
    assert!(close(
        net["contributions"][0]["value"].as_f64().unwrap(),
        75.0
    ));
    assert!(close(
        net["contributions"][1]["value"].as_f64().unwrap(),
        -4.0
    ));
    // LMDI by hand: L(P1, P0) · ln(x1 / x0).
    let (p0, p1) = (24.5f64, 33.8f64);
    let l = (p1 - p0) / (p1.ln() - p0.ln());
    let aov = &m["average_order_value"]["attribution"]["contributions"];
    assert!(close(
        aov[0]["value"].as_f64().unwrap(),
        l * (169.0f64 / 98.0).ln()
    ));
    assert!(close(
        aov[1]["value"].as_f64().unwrap(),
        -l * (5.0f64 / 4.0).ln()
    ));
    // The median is flagged, the driver labelled as co-movement.
    assert_eq!(
        m["median_order"]["attribution"]["method"],
        "non_decomposable"
    );
    let d = &m["average_order_value"]["drivers"][0];
    assert_eq!(d["driver"], "median_order");
    assert_eq!(d["label"], "co-movement, not causation");
    assert_eq!(d["moved"], "with");
    // The display tree: formula inputs carry their contribution, drivers none.
    let root = &v["roots"][0];
    assert_eq!(root["metric"], "average_order_value");
    assert_eq!(root["children"][0]["edge"], "formula");
    assert_eq!(root["children"][2]["edge"], "influence");
    assert!(root["children"][2].get("contribution").is_none());
}

#[test]
fn mix_and_rate_split_the_ratio_by_a_dimension() {
    let (dir, db) = project();
    let v = json(&run_tree(
        dir.path(),
        &db,
        &[
            "average_order_value",
            "--by",
            "order__channel",
            "--format",
            "json",
        ],
    ));
    let split = &v["mix_rate"]["split"];
    let total = split["mix_total"].as_f64().unwrap() + split["rate_total"].as_f64().unwrap();
    assert!(close(total, 169.0 / 5.0 - 98.0 / 4.0), "{split}");
    assert_eq!(split["unexplained"], 0.0);
    assert_eq!(split["slices"].as_array().unwrap().len(), 2);
}

#[test]
fn text_and_mermaid_read_as_a_tree() {
    let (dir, db) = project();
    let out = run_tree(dir.path(), &db, &["average_order_value"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let t = &out.stdout;
    assert!(t.starts_with("month 2026-05-01 vs 2026-04-01\n"), "{t}");
    assert!(
        t.contains("average_order_value  33.8 (was 24.5)  Δ +9.300 (+38.0%)  @ann"),
        "{t}"
    );
    assert!(t.contains("├─ = numerator net_revenue"), "{t}");
    assert!(
        t.contains(
            "│  ├─ = revenue revenue  175 (was 100)  Δ +75 (+75.0%)  → contributes +75  @ann"
        ),
        "{t}"
    );
    assert!(t.contains("└─ ~ median_order"), "{t}");
    assert!(
        t.contains("(non-decomposable) a median has no exact decomposition"),
        "{t}"
    );
    let out = run_tree(
        dir.path(),
        &db,
        &["average_order_value", "--format", "mermaid"],
    );
    assert!(out.stdout.starts_with("flowchart TD\n"));
    assert_contains(&out.stdout, &["-.->|co-moves|"]);
}

#[test]
fn the_year_comparison_and_bad_flags() {
    let (dir, db) = project();
    let v = json(&run_tree(
        dir.path(),
        &db,
        &["orders", "--compare", "year", "--format", "json"],
    ));
    assert_eq!(v["compare_period"], "2025-05-01");
    assert!(v["metrics"]["orders"]["values"]["base"].is_null());
    let out = run_tree(dir.path(), &db, &["average_order_valeu"]);
    assert_eq!(out.code, 2);
    assert_contains(&out.stderr, &["did you mean `average_order_value`"]);
    let out = run_tree(dir.path(), &db, &["--period", "May"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// The picture of the repository's project in headless Chromium: every node drawn, none
/// overlapping, text inside its box; the screenshot is kept (path printed).
#[test]
fn the_picture_renders_in_a_headless_browser() {
    let (Some(browser), Some(modules)) = (
        std::env::var_os("TALLY_BROWSER"),
        std::env::var_os("TALLY_NODE_MODULES"),
    ) else {
        let msg = "browser checks skipped: TALLY_BROWSER and TALLY_NODE_MODULES are not set (run `eval \"$(scripts/browser)\"`, as scripts/test does)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}");
        }
        eprintln!("{msg}");
        return;
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("support.duckdb");
    let gen = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "2000",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(gen.code, 0, "{}", gen.stderr);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tree-browser");
    std::fs::create_dir_all(&shots).expect("dir");
    // The north star's tree, and every tree of the project (50+ nodes) under 1,600 px wide.
    for (name, root) in [
        ("tree", Some("resolved_without_repeat_contact_rate")),
        ("forest", None),
    ] {
        let mut args = vec!["--project", p(&repo), "tree"];
        args.extend(root);
        args.extend([
            "--duckdb",
            p(&db),
            "--period",
            "2026-05",
            "--format",
            "html",
        ]);
        let out = tally(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let page = tmp.path().join(format!("{name}.html"));
        std::fs::write(&page, &out.stdout).expect("write page");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tree/check.cjs");
        let run = Command::new("node")
            .arg(&script)
            .arg(&page)
            .arg(shots.join(format!("{name}.png")))
            .arg("1600")
            .env("TALLY_BROWSER", &browser)
            .env("NODE_PATH", &modules)
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        println!("{stdout}\n{stderr}");
        assert!(run.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("nodes: "), "{stdout}");
        assert!(shots.join(format!("{name}.png")).is_file());
    }
}
