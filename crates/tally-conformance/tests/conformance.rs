//! MetricFlow's integration cases, run through tally on DuckDB.
//!
//! Prints one line per failing case and the closing line `N passed, N failed, N skipped`. The cases
//! listed in `conformance_passing.txt` must pass (a ratchet: a regression fails the build); a case
//! that passes but is not listed is reported so the list can grow. Set `TALLY_UPDATE_CONFORMANCE=1`
//! to rewrite the list from the current results.

use std::path::PathBuf;
use tally_conformance::crosscheck::metricflow_dir;
use tally_conformance::tally::TallyCompiler;
use tally_conformance::{self as conformance, Outcome};

#[test]
fn metricflow_conformance() {
    let dir = metricflow_dir();
    assert!(
        dir.is_dir(),
        "MetricFlow data not found at {} (vendored in tests/metricflow)",
        dir.display()
    );
    let compiler = TallyCompiler::default();
    let report = conformance::run(&dir, &|c, d| compiler.compile(c, d), None).expect("runner");
    for (id, outcome) in &report.results {
        if let Outcome::Fail(msg) = outcome {
            let first = msg.lines().next().unwrap_or("");
            println!("FAIL {id}: {first}");
        }
    }
    println!("conformance: {}", report.summary_line());
    let list_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance_passing.txt");
    let passing: Vec<&str> = report
        .results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Pass))
        .map(|(id, _)| id.as_str())
        .collect();
    if std::env::var_os("TALLY_UPDATE_CONFORMANCE").is_some() {
        std::fs::write(&list_path, passing.join("\n") + "\n").expect("write list");
        return;
    }
    let expected = std::fs::read_to_string(&list_path).unwrap_or_default();
    let regressions: Vec<&str> = expected
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !passing.contains(l))
        .collect();
    let new: Vec<&&str> = passing
        .iter()
        .filter(|p| !expected.lines().any(|l| l == **p))
        .collect();
    if !new.is_empty() {
        println!(
            "{} case(s) now pass but are not in conformance_passing.txt: {new:?}",
            new.len()
        );
    }
    assert!(
        regressions.is_empty(),
        "cases that used to pass now fail: {regressions:#?}"
    );
}
