//! A real MCP client: the official Python SDK (`mcp` from PyPI, the package dbt-mcp is built on)
//! drives `tally mcp` over stdio and streamable HTTP (`tests/python/mcp_client.py`): `tools/list`
//! against dbt-mcp's contract snapshot, every semantic-layer tool, results validated by the SDK
//! against the tools' output schemas.
//!
//! Needs `TALLY_MCP_VENV` (set by `scripts/test` from `scripts/pyenv mcp`); without it the test
//! says it is skipped, and fails under CI (`CI=true`).

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn official_python_sdk_drives_tally_mcp() {
    let Some(venv) = std::env::var_os("TALLY_MCP_VENV") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "TALLY_MCP_VENV is not set: run the tests through scripts/test (scripts/pyenv mcp)"
            );
        }
        eprintln!(
            "skipped: TALLY_MCP_VENV is not set (scripts/test sets it from `scripts/pyenv mcp`)"
        );
        return;
    };
    let python = PathBuf::from(venv).join("bin/python");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("support.duckdb");
    let out = tally(&[
        "sample-data",
        "intercom",
        "--conversations",
        "1000",
        "--duckdb",
        p(&db),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/mcp_client.py");
    let contract =
        root.join("crates/tally-serve/contract/dbt-mcp-semantic-layer-tools.contract.json");
    let out = Command::new(&python)
        .arg(&script)
        .args([env!("CARGO_BIN_EXE_tally"), p(&root), p(&db), p(&contract)])
        .env_remove("TALLY_SERVE_TOKEN")
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mcp_client.py failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("stdio:") && stdout.contains("http:") && stdout.trim_end().ends_with("ok"),
        "{stdout}"
    );
    eprintln!("{stdout}");
}
