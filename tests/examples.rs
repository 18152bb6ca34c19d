//! The example projects of `examples/` validate and answer queries on DuckDB through the `tally`
//! binary, and the library-using program `examples/compile_all_dialects.rs` runs. Each project is
//! copied into a temporary directory first, so nothing is written into the repository.

mod common;

use common::{copy_dir, p, tally};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh copy of `examples/<name>` in a temporary directory.
fn example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join(name);
    copy_dir(&repo().join("examples").join(name), &root);
    (dir, root)
}

/// `tally query --format csv` in the project; panics with stderr unless it succeeds.
fn query_csv(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["--project", p(root), "query", "--format", "csv"];
    all.extend_from_slice(args);
    let out = tally(&all);
    assert_eq!(out.code, 0, "{all:?}\n{}\n{}", out.stdout, out.stderr);
    out.stdout
}

fn validates_cleanly(root: &Path) {
    let out = tally(&["--project", p(root), "validate"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stderr.contains("warning["),
        "warnings in {}:\n{}",
        root.display(),
        out.stderr
    );
}

#[test]
fn starter_validates_and_answers_queries() {
    let (_dir, root) = example("starter");
    validates_cleanly(&root);
    let csv = query_csv(
        &root,
        &[
            "--metrics",
            "orders,revenue,customers",
            "--group-by",
            "metric_time__month",
            "--order",
            "metric_time__month",
        ],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0], "metric_time__month,orders,revenue,customers",
        "{csv}"
    );
    assert_eq!(lines.len(), 4, "three months:\n{csv}");
    for line in &lines[1..] {
        assert!(line.contains(",10,"), "ten orders a month:\n{csv}");
    }
    // The whole period: revenue over orders, 30 orders summing to 2416.48.
    let total = query_csv(&root, &["--metrics", "orders,revenue,average_order_value"]);
    let row: Vec<&str> = total.lines().nth(1).expect("one row").split(',').collect();
    assert_eq!(row[0], "30", "{total}");
    let revenue: f64 = row[1].parse().expect("revenue");
    let aov: f64 = row[2].parse().expect("average order value");
    assert!((revenue - 2416.48).abs() < 1e-6, "{total}");
    assert!((aov - 2416.48 / 30.0).abs() < 1e-6, "{total}");
    // The filtered metric is a part of the whole.
    let web = query_csv(&root, &["--metrics", "web_revenue,revenue"]);
    let row: Vec<f64> = web
        .lines()
        .nth(1)
        .expect("one row")
        .split(',')
        .map(|c| c.parse().expect("number"))
        .collect();
    assert!(row[0] > 0.0 && row[0] < row[1], "{web}");
}

#[test]
fn saas_revenue_validates_and_answers_the_mrr_tree() {
    let (_dir, root) = example("saas_revenue");
    validates_cleanly(&root);
    let csv = query_csv(
        &root,
        &[
            "--metrics",
            "mrr,starting_mrr,net_new_mrr,new_mrr,expansion_mrr,contraction_mrr,churned_mrr",
            "--group-by",
            "metric_time__month",
            "--order",
            "metric_time__month",
        ],
    );
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|c| {
                    if c.is_empty() {
                        0.0
                    } else {
                        c.parse().expect(c)
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 6, "January to June:\n{csv}");
    let ending = [5720.0, 6120.0, 6850.0, 7050.0, 7100.0, 7100.0];
    for (i, r) in rows.iter().enumerate() {
        let (mrr, start, net, new, exp, con, churn) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
        assert_eq!(mrr, ending[i], "month {}:\n{csv}", i + 1);
        // The tree adds up: ending = starting + net new, net new = the four movements.
        assert_eq!(net, new + exp - con - churn, "month {}:\n{csv}", i + 1);
        assert_eq!(mrr, start + net, "month {}:\n{csv}", i + 1);
    }
    // MRR is a balance: a quarter's MRR is its last month's, its starting MRR its first month's.
    let q = query_csv(
        &root,
        &[
            "--metrics",
            "mrr,starting_mrr,churned_mrr,gross_mrr_churn_rate,net_revenue_retention",
            "--group-by",
            "metric_time__quarter",
            "--order",
            "metric_time__quarter",
        ],
    );
    let lines: Vec<Vec<&str>> = q.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 2, "{q}");
    assert_eq!(lines[0][1].parse::<f64>().unwrap(), 6850.0, "{q}");
    assert_eq!(lines[0][2].parse::<f64>().unwrap(), 0.0, "{q}");
    assert_eq!(lines[1][1].parse::<f64>().unwrap(), 7100.0, "{q}");
    assert_eq!(lines[1][2].parse::<f64>().unwrap(), 6850.0, "{q}");
    let (churn, rate, nrr): (f64, f64, f64) = (
        lines[1][3].parse().unwrap(),
        lines[1][4].parse().unwrap(),
        lines[1][5].parse().unwrap(),
    );
    assert_eq!(churn, 250.0, "{q}");
    assert!((rate - 250.0 / 6850.0).abs() < 1e-9, "{q}");
    // Q2: 6850 + 400 expansion - 700 contraction - 250 churned, over 6850.
    assert!((nrr - 6300.0 / 6850.0).abs() < 1e-9, "{q}");
}

#[test]
fn saas_revenue_metrics_have_owners_and_drivers() {
    let (_dir, root) = example("saas_revenue");
    let out = tally(&["--project", p(&root), "graph", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in ["net_new_mrr", "churned_mrr", "net_revenue_retention"] {
        assert!(out.stdout.contains(name), "{name} missing:\n{}", out.stdout);
    }
    let out = tally(&[
        "--project",
        p(&root),
        "lineage",
        "net_new_mrr",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in ["ana_ruiz", "customer-success", "churned_mrr"] {
        assert!(out.stdout.contains(name), "{name} missing:\n{}", out.stdout);
    }
}

/// The cargo example, built next to the test binaries by `cargo test --all-targets`.
fn example_program() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let deps = exe.parent().expect("deps dir");
    let path = deps
        .parent()
        .expect("profile dir")
        .join("examples")
        .join(format!(
            "compile_all_dialects{}",
            std::env::consts::EXE_SUFFIX
        ));
    assert!(
        path.is_file(),
        "{} is missing: build with `cargo test --release --workspace --all-targets`",
        path.display()
    );
    path
}

#[test]
fn compile_all_dialects_prints_a_metric_in_every_dialect() {
    let (_dir, root) = example("saas_revenue");
    let out = Command::new(example_program())
        .args([p(&root), "net_revenue_retention", "metric_time__quarter"])
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for d in [
        "bigquery",
        "databricks",
        "duckdb",
        "postgres",
        "redshift",
        "snowflake",
        "trino",
    ] {
        assert!(stdout.contains(&format!("-- {d}\n")), "{d}:\n{stdout}");
    }
    assert!(stdout.matches("SELECT").count() >= 7, "{stdout}");
    // Bad input is an error with a diagnostic and exit code 1, not a panic.
    let out = Command::new(example_program())
        .args([p(&root), "net_revenue_retentoin"])
        .output()
        .expect("run the example");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("net_revenue_retention"), "{stderr}");
}
