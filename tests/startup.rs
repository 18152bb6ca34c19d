//! The two binaries (README.md, "Performance", start-up): the lean `tally` links no DuckDB and
//! runs the commands that run no SQL alone; it hands the others to `tally-engine`, found next to
//! it, with the same arguments, and says so with a coded error when the engine is missing.

mod common;

use common::p;
use std::path::{Path, PathBuf};
use std::process::Command;

const LEAN: &str = env!("CARGO_BIN_EXE_tally");
const ENGINE: &str = env!("CARGO_BIN_EXE_tally-engine");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(bin: &Path, args: &[&str]) -> common::Out {
    // A binary this test just copied can be "busy" (ETXTBSY) for a moment: another test's thread
    // may be forking while the copy's write descriptor is open, and the child holds it until it
    // execs. Spawning again once it is closed is the usual remedy.
    let mut tries = 0;
    let out = loop {
        match Command::new(bin)
            .args(args)
            .env("NO_COLOR", "1")
            // Nothing written outside the test's directories (no validation cache).
            .env("TALLY_CACHE", "off")
            .output()
        {
            Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.expect("run"),
        }
    };
    common::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `duckdb_open` is DuckDB's C API (its symbol and the name duckdb-rs calls it by); a binary that
/// links DuckDB also needs libstdc++ (DT_NEEDED, a name in `.dynstr`).
#[test]
fn the_lean_binary_links_no_duckdb_and_the_engine_does() {
    let lean = std::fs::read(LEAN).expect("read tally");
    let engine = std::fs::read(ENGINE).expect("read tally-engine");
    assert!(
        contains(&engine, b"duckdb_open"),
        "the check sees DuckDB in the engine"
    );
    assert!(!contains(&lean, b"duckdb_open"), "tally links DuckDB");
    if cfg!(target_os = "linux") {
        assert!(contains(&engine, b"libstdc++"));
        assert!(!contains(&lean, b"libstdc++"), "tally needs libstdc++");
    }
    assert!(
        lean.len() * 3 < engine.len(),
        "tally is {} bytes, tally-engine {}",
        lean.len(),
        engine.len()
    );
}

/// The ELF file type (`e_type`: 2 an executable at a fixed address, 3 position-independent).
fn elf_type(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[16], bytes[17]])
}

/// `build.rs`: on x86-64 and AArch64 Linux with glibc the lean binary is linked at a fixed
/// address (the loader relocates none of its pointers at start), `tally-engine` (DuckDB's C++)
/// stays position-independent; `TALLY_PIE=1` at build time links both position-independent.
#[test]
fn the_lean_binary_is_linked_at_a_fixed_address_and_the_engine_is_not() {
    let linux_gnu = cfg!(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ));
    if !linux_gnu {
        return;
    }
    let lean = std::fs::read(LEAN).expect("read tally");
    let engine = std::fs::read(ENGINE).expect("read tally-engine");
    assert_eq!(&engine[..4], b"\x7fELF");
    assert_eq!(elf_type(&engine), 3, "tally-engine is position-independent");
    let pie = option_env!("TALLY_PIE").is_some_and(|v| v != "0");
    assert_eq!(elf_type(&lean), if pie { 3 } else { 2 }, "TALLY_PIE={pie}");
}

/// The lean binary copied alone into a directory: the commands that run no SQL work without the
/// engine; one that runs SQL is E0001 (exit 2), as text or as JSON, naming `tally-engine`.
#[test]
fn commands_without_sql_need_no_engine_and_a_missing_engine_is_a_coded_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alone = dir.path().join("tally");
    std::fs::copy(LEAN, &alone).expect("copy tally");
    let project = repo();
    let project = p(&project);

    let version = run(&alone, &["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert!(version.stdout.starts_with("tally "), "{}", version.stdout);
    let validate = run(&alone, &["--project", project, "validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    let sql_args = [
        "--project",
        project,
        "sql",
        "--metrics",
        "resolution_rate,csat",
        "--group-by",
        "metric_time__month,conversation__team_name",
    ];
    let sql = run(&alone, &sql_args);
    assert_eq!(sql.code, 0, "{}", sql.stderr);
    assert!(sql.stdout.contains("SELECT"), "{}", sql.stdout);
    let others: [&[&str]; 5] = [
        &["graph", "--format", "json"],
        &["list", "metrics", "--search", "csat"],
        &["calendars", "list"],
        &["calendars", "check", "--dialect", "postgres"],
        &["diff", "--base", "HEAD", "--format", "json"],
    ];
    for args in others {
        let out = run(&alone, &[&["--project", project][..], args].concat());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }

    let query = run(
        &alone,
        &["--project", project, "query", "--metrics", "csat"],
    );
    assert_eq!(query.code, 2, "{}", query.stderr);
    assert!(query.stdout.is_empty(), "{}", query.stdout);
    assert!(query.stderr.contains("E0001"), "{}", query.stderr);
    assert!(query.stderr.contains("tally-engine"), "{}", query.stderr);

    let db = dir.path().join("none.duckdb");
    let check = run(
        &alone,
        &[
            "--project",
            project,
            "calendars",
            "check",
            "--duckdb",
            p(&db),
        ],
    );
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("tally-engine"), "{}", check.stderr);
    // `diff --data` runs the metrics on DuckDB.
    let data = run(
        &alone,
        &["--project", project, "diff", "--base", "HEAD", "--data"],
    );
    assert_eq!(data.code, 2, "{}", data.stderr);
    assert!(data.stderr.contains("tally-engine"), "{}", data.stderr);

    let json = run(
        &alone,
        &[
            "--project",
            project,
            "query",
            "--metrics",
            "csat",
            "--format",
            "json",
        ],
    );
    assert_eq!(json.code, 2, "{}", json.stderr);
    let diags: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON diagnostics");
    assert_eq!(diags[0]["code"], "E0001", "{}", json.stdout);
}

/// Both binaries are the same command line: what the lean one runs itself, the engine prints
/// alike; what the lean one hands over gives the engine's output and exit code. (Usage errors
/// are the lean binary's: clap names the program by its file, `tally-engine` when run alone.)
#[test]
fn both_binaries_answer_alike() {
    let project = repo();
    let project = p(&project);
    let cases: [&[&str]; 7] = [
        &["--version"],
        &[
            "--project",
            project,
            "diff",
            "--base",
            "HEAD",
            "--format",
            "json",
        ],
        &[
            "--project",
            project,
            "sql",
            "--metrics",
            "csat",
            "--group-by",
            "metric_time__month",
        ],
        &[
            "--project",
            project,
            "query",
            "--metrics",
            "no_such_metric",
            "--format",
            "json",
        ],
        &["--project", project, "lineage", "csat", "--format", "json"],
        &["--project", project, "calendars", "list"],
        &["--project", project, "test", "no_such_test"],
    ];
    for args in cases {
        let lean = run(Path::new(LEAN), args);
        let engine = run(Path::new(ENGINE), args);
        assert_eq!(
            (lean.code, &lean.stdout, &lean.stderr),
            (engine.code, &engine.stdout, &engine.stderr),
            "{args:?}"
        );
    }
}
