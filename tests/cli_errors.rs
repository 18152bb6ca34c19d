//! The CLI's own errors (flags, files) are coded diagnostics: the whole run (exit code, stdout,
//! stderr) is snapshotted, and a command asked for JSON gets its errors as JSON on stdout.

mod common;
mod duckdb_files;

use common::{p, project, shop_models, tally, tally_env, transcript};
use std::path::{Path, PathBuf};

#[test]
fn a_limit_sql_cannot_take_is_a_usage_error() {
    let out = tally(&["sql", "--metrics", "x", "--limit", "9223372036854775808"]);
    insta::assert_snapshot!(transcript(&out, &[]));
}

#[test]
fn a_command_asked_for_json_reports_its_errors_as_json() {
    let out = tally(&[
        "query",
        "--metrics",
        "x",
        "--limit",
        "9223372036854775808",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(diags[0]["code"], "E0010");
    insta::assert_snapshot!(transcript(&out, &[]));
}

#[test]
fn sample_data_conversations_out_of_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("x.duckdb");
    let out = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "5",
        "--duckdb",
        p(&db),
    ]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
    assert!(!db.exists());
}

#[test]
fn schema_cannot_write_into_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = tally(&["schema", "--write", p(&file.join("schemas"))]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

const METRICS: &str = "metrics:
  - {name: orders, type: simple, type_params: {measure: order_count}}
  - {name: revenue, type: simple, type_params: {measure: revenue_total}}
";

/// The small shop project (`dir/project`) and a DuckDB file `dir/<db_name>` holding its table
/// `shop.orders`.
fn shop(db_name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, root) = project(&[
        ("tally.yml", "name: shop\n"),
        ("models/orders.yml", &shop_models("status", "")),
        ("metrics/metrics.yml", METRICS),
    ]);
    let db = dir.path().join(db_name);
    duckdb_files::duckdb_file(
        &db,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id INTEGER, ordered_at DATE, status VARCHAR, amount DOUBLE);
         INSERT INTO shop.orders VALUES (1, '2026-01-05', 'paid', 10.0), (2, '2026-02-06', 'open', 5.5);",
    );
    (dir, root, db)
}

fn query(root: &Path, db: &Path, extra: &[&str]) -> common::Out {
    let mut args = vec![
        "--project",
        p(root),
        "query",
        "--metrics",
        "revenue",
        "--duckdb",
        p(db),
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_missing_database_is_a_coded_error_in_text_and_json() {
    let (dir, root, _) = shop("shop_data.duckdb");
    let missing = dir.path().join("typo.duckdb");
    let out = query(&root, &missing, &[]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
    let out = query(&root, &missing, &["--format", "json"]);
    assert_eq!(out.code, 2);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(diags[0]["code"], "E0001");
    assert!(!missing.exists());
}

#[test]
fn a_database_named_like_its_schema_gets_a_hint() {
    // DuckDB names the database `shop` after its file: `shop.orders` is then ambiguous.
    let (dir, root, made) = shop("shop_data.duckdb");
    let db = dir.path().join("shop.duckdb");
    std::fs::rename(&made, &db).expect("rename");
    let out = query(&root, &db, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error[E0406]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("`shop` is both the database")
            && out.stderr.contains("shop_data.duckdb"),
        "{}",
        out.stderr
    );
    // The hint's fix works.
    std::fs::rename(&db, &made).expect("rename");
    let out = query(&root, &made, &["--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "revenue\r\n15.5\r\n");
}

#[test]
fn a_project_with_errors_reports_them_as_json_to_a_json_command() {
    let (dir, root, db) = shop("shop_data.duckdb");
    std::fs::write(
        root.join("metrics/broken.yml"),
        "metrics:\n  - {name: broken, type: simple, type_params: {measure: nope}}\n",
    )
    .expect("write");
    let out = query(&root, &db, &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(diags[0]["code"], "E0103", "{diags}");
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn sample_data_refuses_to_replace_a_database_without_force() {
    let (dir, root, db) = shop("shop_data.duckdb");
    let out = tally(&[
        "--project",
        p(&root),
        "sample-data",
        "intercom",
        "--duckdb",
        p(&db),
    ]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn an_unknown_business_calendar_is_coded_with_a_suggestion() {
    let out = tally(&[
        "--project",
        p(&repo()),
        "calendars",
        "export",
        "--calendar",
        "tier1_hour",
    ]);
    insta::assert_snapshot!(transcript(&out, &[]));
}

#[test]
fn check_of_a_metric_without_targets_is_coded_with_a_suggestion() {
    let (dir, root, db) = shop("shop_data.duckdb");
    let out = tally(&[
        "--project",
        p(&root),
        "check",
        "revenu",
        "--as-of",
        "2026-06-30",
        "--duckdb",
        p(&db),
    ]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn check_without_a_database_is_a_usage_error() {
    let (dir, root, _) = shop("shop_data.duckdb");
    let out = tally(&["--project", p(&root), "check", "--as-of", "2026-06-30"]);
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn a_server_on_a_public_address_without_a_token_is_refused() {
    let (dir, root, db) = shop("shop_data.duckdb");
    let out = tally_env(
        &[
            "--project",
            p(&root),
            "serve",
            "--bind",
            "0.0.0.0:0",
            "--duckdb",
            p(&db),
        ],
        &[],
        &["TALLY_SERVE_TOKEN"],
    );
    insta::assert_snapshot!(transcript(&out, &[(dir.path(), "[tmp]")]));
}

#[test]
fn query_reads_the_project_once() {
    let (_dir, root, db) = shop("shop_data.duckdb");
    let args = [
        "--project",
        p(&root),
        "query",
        "--metrics",
        "revenue",
        "--duckdb",
        p(&db),
    ];
    let out = tally_env(&args, &[("TALLY_DEBUG_LOADS", "1".into())], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("debug: the project was read 1 time(s)"),
        "{}",
        out.stderr
    );
}

/// Run tally with its stdout a pipe whose reader is already closed (`tally ... | head` after
/// head has exited): every write fails with EPIPE.
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let cache = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("TALLY_CACHE_DIR", cache.path())
        .stdout(writer)
        .output()
        .expect("run tally");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let repo = repo();
    for args in [
        vec![
            "--project",
            p(&repo),
            "calendars",
            "export",
            "--format",
            "csv",
        ],
        vec!["--project", p(&repo), "calendars", "list"],
        vec!["--project", p(&repo), "graph", "--format", "json"],
        vec!["schema"],
    ] {
        let (code, stderr) = into_closed_pipe(&args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("E0901") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

/// A query DuckDB cannot run (here the database lacks the model's table) is E0406 with DuckDB's
/// message and a hint, exit 1, nothing on stdout; as JSON, the diagnostic on stdout.
#[test]
fn a_query_duckdb_cannot_run_is_a_coded_error_with_a_hint() {
    let (dir, root, _) = shop("shop_data.duckdb");
    let empty = dir.path().join("empty.duckdb");
    duckdb_files::duckdb_file(&empty, "CREATE TABLE unrelated (x INTEGER);");
    let out = query(&root, &empty, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("E0406"), "{}", out.stderr);
    assert!(
        out.stderr.contains("DuckDB could not run the query"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("orders"), "{}", out.stderr);
    assert!(
        out.stderr.contains("see the SQL with `tally sql`"),
        "{}",
        out.stderr
    );
    let out = query(&root, &empty, &["--format", "json"]);
    assert_eq!(out.code, 1);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(diags[0]["code"], "E0406");
}
