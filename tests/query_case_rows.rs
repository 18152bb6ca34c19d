//! The result rows of the query cases (`tests/cases/*.yml`): each case's query run by the `tally`
//! binary on DuckDB (`tally query --format csv`) and compared exactly with the case's `rows:`
//! block (its CRLF line ends read as YAML reads the block: LF). `TALLY_UPDATE_CASES=1` writes the rows into the case files instead (then review the
//! diff). tally-core's `tests/query_cases.rs` checks the SQL side of the same files.
//!
//! Data: MetricFlow's conformance fixtures (schema `mf_src`) for `metricflow/<manifest>` cases,
//! and the Intercom sample data (`tally sample-data`, [`SAMPLE_CONVERSATIONS`] conversations,
//! seed [`SAMPLE_SEED`]) for `repository` cases, each written once into a temporary database.

mod common;
mod duckdb_files;

#[path = "cases/case.rs"]
mod case;

use case::Case;
use common::{p, tally, transcript};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SAMPLE_CONVERSATIONS: &str = "1000";
const SAMPLE_SEED: &str = "7";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project directory, its extra flags and its database for a case's `project:`.
struct Data {
    project: PathBuf,
    flags: Vec<String>,
    database: PathBuf,
}

fn data_for(name: &str, tmp: &Path) -> Data {
    if name == "repository" {
        let database = tmp.join("intercom-sample.duckdb");
        let out = tally(&[
            "--project",
            p(&repo()),
            "sample-data",
            "intercom",
            "--conversations",
            SAMPLE_CONVERSATIONS,
            "--seed",
            SAMPLE_SEED,
            "--duckdb",
            p(&database),
        ]);
        assert_eq!(out.code, 0, "{}", transcript(&out, &[]));
        return Data {
            project: repo(),
            flags: Vec::new(),
            database,
        };
    }
    let manifest = name
        .strip_prefix("metricflow/")
        .unwrap_or_else(|| panic!("unknown project `{name}`: metricflow/<manifest> or repository"));
    let mf = common::metricflow_dir();
    let database = tmp.join("metricflow-fixtures.duckdb");
    if !database.exists() {
        duckdb_files::metricflow_db(&database);
    }
    Data {
        project: mf.join("manifests").join(manifest),
        flags: vec![
            "--source-schema".into(),
            tally_conformance::SOURCE_SCHEMA.into(),
        ],
        database,
    }
}

/// The case's query as `tally query` flags.
fn query_args(case: &Case) -> Vec<String> {
    let q = &case.query;
    let mut args = Vec::new();
    let mut flag = |name: &str, value: &str| {
        args.push(format!("--{name}"));
        args.push(value.to_string());
    };
    q.metrics.iter().for_each(|m| flag("metrics", m));
    q.group_by.iter().for_each(|g| flag("group-by", g));
    q.where_.iter().for_each(|w| flag("where", w));
    q.order_by.iter().for_each(|o| flag("order", o));
    if let Some(l) = q.limit {
        flag("limit", &l.to_string());
    }
    if let Some(t) = &q.start_time {
        flag("start-time", t);
    }
    if let Some(t) = &q.end_time {
        flag("end-time", t);
    }
    args
}

/// The case file with its `rows:` block replaced by (or given) `csv`, as the last key.
fn with_rows(text: &str, csv: &str) -> String {
    let mut out = String::new();
    let mut in_rows = false;
    for line in text.lines() {
        if line.starts_with("rows:") {
            in_rows = true;
            continue;
        }
        if in_rows && (line.starts_with(' ') || line.is_empty()) {
            continue;
        }
        in_rows = false;
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("rows: |\n");
    for line in csv.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn query_cases_return_their_rows_on_duckdb() {
    let dir = repo().join("tests/cases");
    let update = std::env::var_os("TALLY_UPDATE_CASES").is_some();
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut data: BTreeMap<String, Data> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, case) in case::cases(&dir) {
        if case.expect.error.is_some() || case.skip_rows.is_some() {
            assert!(
                case.rows.is_none(),
                "{name}: a case that must fail or skips its rows has no `rows:`"
            );
            continue;
        }
        let d = data
            .entry(case.project.clone())
            .or_insert_with(|| data_for(&case.project, tmp.path()));
        let mut args: Vec<String> = vec!["--project".into(), p(&d.project).into()];
        args.extend(d.flags.iter().cloned());
        args.extend(["query".into(), "--duckdb".into(), p(&d.database).into()]);
        args.extend(query_args(&case));
        args.extend(["--format".into(), "csv".into()]);
        let out = tally(&args.iter().map(String::as_str).collect::<Vec<_>>());
        if out.code != 0 {
            failures.push(format!("{name}: {}", transcript(&out, &[])));
            continue;
        }
        checked += 1;
        let path = dir.join(format!("{name}.yml"));
        if update {
            let text = std::fs::read_to_string(&path).expect("read case");
            std::fs::write(&path, with_rows(&text, &out.stdout)).expect("write case");
        } else if case.rows.as_deref() != Some(out.stdout.replace("\r\n", "\n").as_str()) {
            failures.push(format!(
                "{name}: rows differ (TALLY_UPDATE_CASES=1 writes them)\n--- case\n{}--- tally query\n{}",
                case.rows.as_deref().unwrap_or("(no rows: block)\n"),
                out.stdout
            ));
        }
    }
    assert!(checked > 0, "no case ran");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_rows_block_is_replaced_as_the_last_key() {
    let text = "about: x\nrows: |\n  a,b\n  1,2\nplan: true\n";
    assert_eq!(
        with_rows(text, "a,b\n3,4\n"),
        "about: x\nplan: true\nrows: |\n  a,b\n  3,4\n"
    );
}
