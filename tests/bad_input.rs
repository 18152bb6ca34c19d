//! The catalogue of bad input (docs/bad-input.md): each class of hostile or careless input, run
//! through the `tally` binary, gets its diagnostic code, a clear message and a consistent exit
//! code; nothing is destroyed, nothing hangs, nothing outside the project is read.

mod common;

use common::{p, project, shop_models, tally, write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TALLY_YML: &str = "name: shop\n";

const METRICS: &str = "metrics:
  - name: orders
    type: simple
    type_params: {measure: order_count}
  - name: revenue
    type: simple
    type_params: {measure: revenue_total}
";

const TEST_YML: &str = "metric_tests:
  - name: revenue_by_month
    given:
      - table: shop.orders
        csv: orders.csv
    query: {metrics: [revenue], group_by: [metric_time__month]}
    expect:
      rows:
        - {metric_time__month: 2026-01-01, revenue: 15.5}
";

const ORDERS_CSV: &str =
    "id,ordered_at,status,amount\n1,2026-01-05,paid,10.0\n2,2026-01-06,open,5.5\n";

/// The shop's orders model.
fn models() -> String {
    shop_models("status", "")
}

/// A small valid project in a fresh temporary directory (`dir/project`), with `extra` files.
fn shop(extra: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = project(&[
        ("tally.yml", TALLY_YML),
        ("models/orders.yml", &models()),
        ("metrics/metrics.yml", METRICS),
        ("metrics/tests/revenue.yml", TEST_YML),
        ("metrics/tests/orders.csv", ORDERS_CSV),
    ]);
    write(&root, extra);
    (dir, root)
}

fn validate(root: &Path) -> common::Out {
    tally(&["--project", p(root), "validate"])
}

fn assert_has(out: &common::Out, code: &str) {
    assert!(
        out.stderr.contains(&format!("[{code}]")) || out.stdout.contains(&format!("[{code}]")),
        "expected {code}:\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stderr.contains("E0901"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

fn sample(path: &Path, extra: &[&str]) -> common::Out {
    let mut args = vec![
        "sample-data",
        "intercom",
        "--conversations",
        "1000",
        "--duckdb",
        p(path),
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

#[test]
fn the_small_project_is_valid_and_its_test_passes() {
    let (_d, root) = shop(&[]);
    let out = validate(&root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = tally(&["--project", p(&root), "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

// ----- 1. sample-data never destroys a file it did not make ----------------------------------------

#[test]
fn sample_data_refuses_files_that_are_not_its_databases() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "precious").unwrap();
    let out = sample(&notes, &["--force"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_has(&out, "E0010");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "precious");

    let link = dir.path().join("link.duckdb");
    std::os::unix::fs::symlink(&notes, &link).unwrap();
    let out = sample(&link, &["--force"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "precious");

    let out = sample(dir.path(), &["--force"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);

    let fifo = dir.path().join("fifo.duckdb");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let out = sample(&fifo, &["--force"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo_like());
    }
    let out = sample(Path::new("/dev/null"), &["--force"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

#[test]
fn sample_data_replaces_its_own_database_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/x.duckdb");
    let out = sample(&db, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = std::fs::read(&db).unwrap();
    assert_eq!(&first[8..12], b"DUCK");
    let out = sample(&db, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    let out = sample(&db, &["--force", "--seed", "7"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Published by rename: no temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

// ----- 2. deep YAML -----------------------------------------------------------------------------

#[test]
fn deep_block_yaml_is_an_error_not_an_abort_everywhere() {
    let deep_list = format!("{}x\n", "- ".repeat(10_000));
    let mut deep_map = String::new();
    for d in 0..6_000 {
        deep_map.push_str(&" ".repeat(d));
        deep_map.push_str("a:\n");
    }
    for (file, text) in [
        ("models/deep.yml", deep_list.as_str()),
        ("models/deep.yml", deep_map.as_str()),
        ("tally.yml", deep_list.as_str()),
        ("metrics/tests/deep.yml", deep_map.as_str()),
    ] {
        let (_d, root) = shop(&[(file, text)]);
        let out = validate(&root);
        assert!(
            matches!(out.code, 1 | 2),
            "{file}: {}\n{}",
            out.code,
            out.stderr
        );
        assert_has(&out, "E0002");
        assert!(out.stderr.contains("nested more than"), "{}", out.stderr);
    }
}

// ----- 3. nothing silently ignored ------------------------------------------------------------------

#[test]
fn documents_tally_would_ignore_are_reported() {
    for text in [
        "- name: lost\n  type: simple\n  type_params: {measure: order_count}\n",
        "just a string\n",
        "metrics: []\n---\n- junk\n",
    ] {
        let (_d, root) = shop(&[("metrics/more.yml", text)]);
        let out = validate(&root);
        assert_eq!(out.code, 1, "{text}: {}", out.stderr);
        assert_has(&out, "E0007");
        assert!(out.stderr.contains("metrics/more.yml"), "{}", out.stderr);
    }
    // dbt's own keys stay accepted.
    let (_d, root) = shop(&[(
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n",
    )]);
    assert_eq!(validate(&root).code, 0);
}

#[test]
fn yaml_merge_keys_are_supported() {
    let text = "metrics:
  - &base
    name: paid_orders
    type: simple
    type_params: {measure: order_count}
  - <<: *base
    name: all_orders
";
    let (_d, root) = shop(&[("metrics/merged.yml", text)]);
    let out = validate(&root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = tally(&["--project", p(&root), "list", "metrics"]);
    assert!(out.stdout.contains("all_orders"), "{}", out.stdout);
}

// ----- 4. validate checks user SQL ------------------------------------------------------------------

#[test]
fn validate_rejects_sql_fragments_every_query_would_fail_on() {
    let bad_filter = |f: &str| {
        format!(
            "metrics:\n  - name: filtered\n    type: simple\n    type_params: {{measure: order_count}}\n    filter: \"{f}\"\n"
        )
    };
    let cases = [
        (
            "metrics/f.yml",
            bad_filter("{{ Dimension('order__status') }} = (1"),
        ),
        (
            "metrics/f.yml",
            bad_filter("{{ Dimension('order__status') }} = 1 /* open"),
        ),
        (
            "models/orders.yml",
            models().replace(
                "node_relation: {schema_name: shop, alias: orders}",
                "sql: 'select * from shop.orders; select 1'",
            ),
        ),
        (
            "models/orders.yml",
            models().replace("expr: amount", "expr: '*'"),
        ),
    ];
    for (file, text) in cases {
        let (_d, root) = shop(&[(file, &text)]);
        let out = validate(&root);
        assert_eq!(out.code, 1, "{text}\n{}", out.stderr);
        assert_has(&out, "E0203");
        assert!(out.stderr.contains(file), "{}", out.stderr);
    }
    // A query's own --where is checked the same way.
    let (_d, root) = shop(&[]);
    let out = tally(&[
        "--project",
        p(&root),
        "sql",
        "--metrics",
        "orders",
        "--where",
        "1 = (1",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0203");
}

#[test]
fn a_source_schema_that_is_not_a_name_is_rejected() {
    let models = models().replace("schema_name: shop", "schema_name: $source_schema");
    let (_d, root) = shop(&[("models/orders.yml", &models)]);
    let out = tally(&[
        "--project",
        p(&root),
        "--source-schema",
        "x; drop table y",
        "validate",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0203");
    let out = tally(&["--project", p(&root), "--source-schema", "shop", "validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// ----- 6. a broken tally.yml is the first and only error ---------------------------------------------

#[test]
fn a_broken_configuration_is_the_only_error() {
    let (_d, root) = shop(&[]);
    std::fs::remove_file(root.join("tally.yml")).unwrap();
    std::fs::create_dir(root.join("tally.yml")).unwrap();
    let out = validate(&root);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.matches("error[").count(), 1, "{}", out.stderr);
    assert_has(&out, "E0001");

    let (_d, root) = shop(&[]);
    std::fs::remove_file(root.join("tally.yml")).unwrap();
    std::os::unix::fs::symlink(root.join("missing.yml"), root.join("tally.yml")).unwrap();
    let out = validate(&root);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.matches("error[").count(), 1, "{}", out.stderr);

    let (_d, root) = shop(&[("tally.yml", "name: [unclosed\n")]);
    let out = validate(&root);
    assert_eq!(out.stderr.matches("error[").count(), 1, "{}", out.stderr);
    assert_has(&out, "E0002");
}

// ----- 7. query never creates the database it reads ----------------------------------------------------

#[test]
fn query_does_not_create_a_mistyped_database() {
    let (d, root) = shop(&[]);
    let db = d.path().join("typo.duckdb");
    let out = tally(&[
        "--project",
        p(&root),
        "query",
        "--metrics",
        "orders",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_has(&out, "E0001");
    assert!(!db.exists());
}

// ----- 8. bounded work ----------------------------------------------------------------------------------

#[test]
fn template_loops_run_out_of_fuel() {
    let models = models().replace(
        "node_relation: {schema_name: shop, alias: orders}",
        "sql: \"select 1 {% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %} {% endfor %}{% endfor %}{% endfor %}\"",
    );
    let (_d, root) = shop(&[("models/orders.yml", &models)]);
    let started = Instant::now();
    let out = validate(&root);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0203");
    assert!(out.stderr.contains("fuel"), "{}", out.stderr);
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let (_d, root) = shop(&[]);
    let fifo = root.join("models/pipe.yml");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let started = Instant::now();
        let out = validate(&root);
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_has(&out, "E0001");
        assert!(out.stderr.contains("regular file"), "{}", out.stderr);
        std::fs::remove_file(&fifo).unwrap();
    }
    std::os::unix::fs::symlink("/dev/zero", root.join("models/zero.yml")).unwrap();
    let out = validate(&root);
    assert_has(&out, "E0009");
    let out = tally(&["--project", p(&root), "--allow-outside-project", "validate"]);
    assert_has(&out, "E0001");
    std::fs::remove_file(root.join("models/zero.yml")).unwrap();
    let big = format!("# {}\n", "x".repeat(33 << 20));
    std::fs::write(root.join("models/big.yml"), big).unwrap();
    let out = validate(&root);
    assert_has(&out, "E0001");
    assert!(out.stderr.contains("MiB"), "{}", out.stderr);
}

#[test]
fn list_with_a_huge_description_is_fast_and_clipped() {
    let metrics = METRICS.replace(
        "  - name: revenue\n",
        &format!(
            "  - name: revenue\n    description: \"{}\"\n",
            "d".repeat(5 << 20)
        ),
    );
    let (_d, root) = shop(&[("metrics/metrics.yml", &metrics)]);
    let started = Instant::now();
    let out = tally(&["--project", p(&root), "list", "metrics"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(out.stdout.len() < 10_000, "{}", out.stdout.len());
}

// ----- 9. every error coded ----------------------------------------------------------------------------

#[test]
fn flag_values_out_of_range_are_usage_errors() {
    let (_d, root) = shop(&[]);
    for cmd in ["sql", "query"] {
        let out = tally(&[
            "--project",
            p(&root),
            cmd,
            "--metrics",
            "orders",
            "--limit",
            "9223372036854775808",
        ]);
        assert_eq!(out.code, 2, "{cmd}: {}", out.stderr);
        assert_has(&out, "E0010");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "10",
        "--duckdb",
        p(&dir.path().join("x.duckdb")),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_has(&out, "E0010");
    assert!(!dir.path().join("x.duckdb").exists());
}

#[test]
fn duckdb_runtime_errors_are_coded() {
    let (d, root) = shop(&[]);
    // A database without the project's tables.
    let db = d.path().join("other.duckdb");
    assert_eq!(sample(&db, &[]).code, 0);
    let out = tally(&[
        "--project",
        p(&root),
        "query",
        "--metrics",
        "orders",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0406");
}

#[test]
fn invalid_utf8_is_located() {
    let (_d, root) = shop(&[]);
    std::fs::write(
        root.join("metrics/bad.yml"),
        b"metrics:\n  - name: caf\xe9\n",
    )
    .unwrap();
    let out = validate(&root);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0002");
    assert!(out.stderr.contains("metrics/bad.yml:2:"), "{}", out.stderr);
}

#[test]
fn a_huge_line_is_not_echoed() {
    let line = format!("metrics: {}\n", "z".repeat(5 << 20));
    let (_d, root) = shop(&[("metrics/huge.yml", &line)]);
    let out = validate(&root);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.len() < 20_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains("metrics/huge.yml:1:"),
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
}

#[test]
fn csv_headers_bom_and_duplicates() {
    let (_d, root) = shop(&[(
        "metrics/tests/orders.csv",
        "\u{feff}id,ordered_at,status,amount\n1,2026-01-05,paid,10.0\n2,2026-01-06,open,5.5\n",
    )]);
    let out = tally(&["--project", p(&root), "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (_d, root) = shop(&[(
        "metrics/tests/orders.csv",
        "id,ordered_at,id,amount\n1,2026-01-05,3,10.0\n",
    )]);
    let out = validate(&root);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0502");
    assert!(out.stderr.contains("twice"), "{}", out.stderr);
}

// ----- 10. confinement ------------------------------------------------------------------------------------

#[test]
fn project_files_stay_inside_the_project() {
    let (d, root) = shop(&[]);
    std::fs::write(d.path().join("secret.csv"), "id\n1\n").unwrap();
    let outside = TEST_YML.replace("csv: orders.csv", "csv: ../../../secret.csv");
    write(&root, &[("metrics/tests/revenue.yml", &outside)]);
    let out = validate(&root);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_has(&out, "E0009");
    let out = tally(&["--project", p(&root), "--allow-outside-project", "validate"]);
    assert!(!out.stderr.contains("E0009"), "{}", out.stderr);

    let (_d, root) = shop(&[("tally.yml", "name: shop\npaths: [\"../elsewhere\"]\n")]);
    let out = validate(&root);
    assert_has(&out, "E0009");

    let (_d, root) = shop(&[("tally.yml", "name: shop\nduckdb: ../outside.duckdb\n")]);
    let out = tally(&["--project", p(&root), "query", "--metrics", "orders"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_has(&out, "E0009");
}

#[test]
fn project_sql_cannot_read_files() {
    // A filter calling DuckDB's file functions: planned (it is SQL), but DuckDB refuses to run it.
    let metrics = format!(
        "{METRICS}  - name: sneaky\n    type: simple\n    type_params: {{measure: order_count}}\n    filter: \"(SELECT count(*) FROM read_text('/etc/hostname')) > 0\"\n"
    );
    let test = TEST_YML
        .replace("metrics: [revenue]", "metrics: [sneaky]")
        .replace("revenue: 15.5", "sneaky: 2");
    let (_d, root) = shop(&[
        ("metrics/metrics.yml", &metrics),
        ("metrics/tests/revenue.yml", &test),
    ]);
    let out = tally(&["--project", p(&root), "test"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("E0506"), "{}", out.stdout);
    assert!(
        out.stdout.to_lowercase().contains("external access")
            || out.stdout.to_lowercase().contains("disabled"),
        "{}",
        out.stdout
    );
}
