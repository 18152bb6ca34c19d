//! The CLI's own errors (flags, files) are coded diagnostics: the whole run (exit code, stdout,
//! stderr) is snapshotted, and a command asked for JSON gets its errors as JSON on stdout.

mod common;

use common::{p, tally, transcript};

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
