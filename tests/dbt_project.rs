//! A dbt project loaded unchanged (`tests/fixtures/dbt_shop`): relations named as `dbt run` names
//! them from profiles.yml and the models' configs, the `time_spine:` model property with a custom
//! granularity, var()/env_var()/doc() rendered where dbt renders them, and `tally query` reading the
//! DuckDB target's database file. The test copies the project into a temporary directory and creates
//! the tables dbt would create there, at the relations dbt would use.

mod common;

use common::p;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dbt_shop")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).expect("read fixture").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// The project in a fresh temporary directory, with `shop.duckdb` holding what `dbt run` builds
/// for target `dev`: catalog `shop` (the file's stem), schema `main` plus custom schemas.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture(), dir.path());
    let conn = tally_duckdb::engine::open(Some(&dir.path().join("shop.duckdb"))).expect("open");
    conn.execute_batch(
        "create schema main_marts;
         create schema main_calendar;
         create table main_marts.fct_orders as
           select * from (values
             (1, 1, date '2024-01-05', 30),
             (2, 2, date '2024-01-20', 70),
             (3, 1, date '2024-02-10', 100),
             (4, 2, date '2024-03-01', 20)
           ) t(order_id, customer_id, ordered_at, amount);
         create table main_marts.customers as
           select * from (values (1, 'emea'), (2, 'amer')) t(customer_id, region);
         create table main_calendar.all_days as
           select d::date as date_day,
                  (date_trunc('quarter', d - interval 1 month) + interval 1 month)::date as fiscal_quarter_start
           from generate_series(date '2023-12-01', date '2024-06-30', interval 1 day) as t(d);",
    )
    .expect("tables");
    drop(conn);
    dir
}

/// Run tally in `dir` with a home without `~/.dbt` and no `DBT_PROFILES_DIR`.
fn tally(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> common::Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.arg("--project")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", dir.join("no-home"))
        .env_remove("DBT_PROFILES_DIR")
        .env_remove("SHOP_SCHEMA");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tally");
    common::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The value in `column` of the CSV row whose first field starts with `key`.
fn cell(csv: &str, key: &str, column: usize) -> Option<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f[0].starts_with(key))
        .and_then(|f| f.get(column).cloned())
}

#[test]
fn validate_reads_only_what_dbt_reads() {
    let dir = project();
    let out = tally(dir.path(), &[], &["validate"]);
    // macros/, seeds/, analyses/ and a package without semantic models hold YAML that is not
    // semantic-layer YAML: reading any of it would be an error.
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn query_reads_the_relations_dbt_builds_in_the_targets_database() {
    let dir = project();
    let out = tally(
        dir.path(),
        &[],
        &[
            "query",
            "--metrics",
            "order_total",
            "--group-by",
            "metric_time__month",
            "--order",
            "metric_time__month",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().next(),
        Some("metric_time__month,order_total")
    );
    assert_eq!(
        cell(&out.stdout, "2024-01", 1).as_deref(),
        Some("100"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&out.stdout, "2024-02", 1).as_deref(),
        Some("100"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&out.stdout, "2024-03", 1).as_deref(),
        Some("20"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_time_spine_property_gives_cumulative_metrics_and_custom_granularities() {
    let dir = project();
    let out = tally(
        dir.path(),
        &[],
        &[
            "query",
            "--metrics",
            "cumulative_order_total",
            "--group-by",
            "metric_time__day",
            "--start-time",
            "2024-02-10",
            "--end-time",
            "2024-02-11",
            "--order",
            "metric_time__day",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        cell(&out.stdout, "2024-02-10", 1).as_deref(),
        Some("200"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&out.stdout, "2024-02-11", 1).as_deref(),
        Some("200"),
        "{}",
        out.stdout
    );
    let out = tally(
        dir.path(),
        &[],
        &[
            "query",
            "--metrics",
            "order_total",
            "--group-by",
            "metric_time__fiscal_quarter",
            "--order",
            "metric_time__fiscal_quarter",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        cell(&out.stdout, "2023-11-01", 1).as_deref(),
        Some("100"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&out.stdout, "2024-02-01", 1).as_deref(),
        Some("120"),
        "{}",
        out.stdout
    );
}

#[test]
fn vars_render_in_expressions_and_filters_stay_for_metricflow() {
    let dir = project();
    let q = ["query", "--metrics", "big_orders", "--format", "csv"];
    // big_order is 50 in dbt_project.yml: two orders of 70 and 100.
    let out = tally(dir.path(), &[], &q);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // RFC 4180 line ends, as `mf query --csv` writes them.
    assert_eq!(out.stdout, "big_orders\r\n2\r\n");
    // --vars overrides dbt_project.yml, as in dbt.
    let mut with_vars = vec!["--vars", "{big_order: 80}"];
    with_vars.extend_from_slice(&q);
    let out = tally(dir.path(), &[], &with_vars);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "big_orders\r\n1\r\n");
}

#[test]
fn labels_and_descriptions_render_project_vars_and_doc_blocks() {
    let dir = project();
    let out = tally(dir.path(), &[], &["list", "metrics"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Order total (EUR)"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("The sum of order amounts, in the shop's currency."),
        "{}",
        out.stdout
    );
}

#[test]
fn target_profile_and_env_var_choose_the_relations() {
    let dir = project();
    let sql = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend_from_slice(&["sql", "--metrics", "order_total"]);
        let out = tally(dir.path(), env, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    assert!(sql(&[], &[]).contains("\"shop\".\"main_marts\".\"fct_orders\""));
    assert!(sql(&[], &["--target", "prod"]).contains("\"shop_prod\".\"prod_marts\".\"fct_orders\""));
    assert!(sql(&[("SHOP_SCHEMA", "analytics")], &[])
        .contains("\"shop\".\"analytics_marts\".\"fct_orders\""));
    // profiles.yml found through --profiles-dir instead of the project directory.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        elsewhere.path().join("profiles.yml"),
        "shop:\n  target: ci\n  outputs:\n    ci: {type: duckdb, path: ci.duckdb, schema: ci}\n",
    )
    .expect("write");
    assert!(sql(&[], &["--profiles-dir", p(elsewhere.path())])
        .contains("\"ci\".\"ci_marts\".\"fct_orders\""));
    let out = tally(dir.path(), &[], &["--target", "staging", "validate"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error[E0021]: profile `shop` has no target `staging`"),
        "{}",
        out.stderr
    );
}
