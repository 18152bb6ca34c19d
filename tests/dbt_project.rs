//! A dbt project loaded unchanged (`tests/fixtures/dbt_shop`): relations named as `dbt run` names
//! them from profiles.yml and the models' configs, the `time_spine:` model property with a custom
//! granularity, var()/env_var()/doc() rendered where dbt renders them, and `tally query` reading the
//! DuckDB target's database file. The test copies the project into a temporary directory and creates
//! the tables dbt would create there, at the relations dbt would use.

mod common;
mod duckdb_files;

use common::{assert_contains, copy_dir, p};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dbt_shop")
}

/// The project in a fresh temporary directory, with `shop.duckdb` holding what `dbt run` builds
/// for target `dev`: catalog `shop` (the file's stem), schema `main` plus custom schemas.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture(), dir.path());
    duckdb_files::duckdb_file(
        &dir.path().join("shop.duckdb"),
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
    );
    dir
}

/// Run tally on the project in `dir` with a home without `~/.dbt` and no `DBT_PROFILES_DIR`.
fn tally(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> common::Out {
    let mut all = vec!["--project", p(dir)];
    all.extend_from_slice(args);
    let mut set = vec![("HOME", p(&dir.join("no-home")).to_string())];
    set.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
    common::tally_env(&all, &set, &["DBT_PROFILES_DIR", "SHOP_SCHEMA"])
}

/// `tally query ARGS --format csv` on the project; the query must succeed.
fn csv(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend(["--format", "csv"]);
    let out = tally(dir, &[], &all);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out.stdout
}

/// Each `(key, value)`: the CSV row whose first field starts with `key` has `value` in column 1.
#[track_caller]
fn assert_cells(csv: &str, expected: &[(&str, &str)]) {
    for (key, value) in expected {
        assert_eq!(cell(csv, key, 1).as_deref(), Some(*value), "{key}:\n{csv}");
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
    let out = csv(
        dir.path(),
        &[
            "--metrics",
            "order_total",
            "--group-by",
            "metric_time__month",
            "--order",
            "metric_time__month",
        ],
    );
    assert_eq!(out.lines().next(), Some("metric_time__month,order_total"));
    assert_cells(
        &out,
        &[("2024-01", "100"), ("2024-02", "100"), ("2024-03", "20")],
    );
}

#[test]
fn the_time_spine_property_gives_cumulative_metrics_and_custom_granularities() {
    let dir = project();
    let out = csv(
        dir.path(),
        &[
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
        ],
    );
    assert_cells(&out, &[("2024-02-10", "200"), ("2024-02-11", "200")]);
    let out = csv(
        dir.path(),
        &[
            "--metrics",
            "order_total",
            "--group-by",
            "metric_time__fiscal_quarter",
            "--order",
            "metric_time__fiscal_quarter",
        ],
    );
    assert_cells(&out, &[("2023-11-01", "100"), ("2024-02-01", "120")]);
}

#[test]
fn vars_render_in_expressions_and_filters_stay_for_metricflow() {
    let dir = project();
    // big_order is 50 in dbt_project.yml: two orders of 70 and 100.
    // RFC 4180 line ends, as `mf query --csv` writes them.
    assert_eq!(
        csv(dir.path(), &["--metrics", "big_orders"]),
        "big_orders\r\n2\r\n"
    );
    // --vars overrides dbt_project.yml, as in dbt.
    assert_eq!(
        csv(
            dir.path(),
            &["--metrics", "big_orders", "--vars", "{big_order: 80}"]
        ),
        "big_orders\r\n1\r\n"
    );
}

#[test]
fn labels_and_descriptions_render_project_vars_and_doc_blocks() {
    let dir = project();
    let out = tally(dir.path(), &[], &["list", "metrics"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_contains(
        &out.stdout,
        &[
            "Order total (EUR)",
            "The sum of order amounts, in the shop's currency.",
        ],
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
    for (env, extra, relation) in [
        (&[][..], &[][..], "\"shop\".\"main_marts\".\"fct_orders\""),
        (
            &[][..],
            &["--target", "prod"][..],
            "\"shop_prod\".\"prod_marts\".\"fct_orders\"",
        ),
        (
            &[("SHOP_SCHEMA", "analytics")][..],
            &[][..],
            "\"shop\".\"analytics_marts\".\"fct_orders\"",
        ),
    ] {
        assert_contains(&sql(env, extra), &[relation]);
    }
    // profiles.yml found through --profiles-dir instead of the project directory.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        elsewhere.path().join("profiles.yml"),
        "shop:\n  target: ci\n  outputs:\n    ci: {type: duckdb, path: ci.duckdb, schema: ci}\n",
    )
    .expect("write");
    assert_contains(
        &sql(&[], &["--profiles-dir", p(elsewhere.path())]),
        &["\"ci\".\"ci_marts\".\"fct_orders\""],
    );
    let out = tally(dir.path(), &[], &["--target", "staging", "validate"]);
    assert_eq!(out.code, 1);
    assert_contains(
        &out.stderr,
        &["error[E0021]: profile `shop` has no target `staging`"],
    );
}
