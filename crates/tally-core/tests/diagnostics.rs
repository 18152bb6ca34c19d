//! One broken project per diagnostic code under `tests/errors/<code>_<what>/`, discovered by glob:
//! each must report its code, and its rendered diagnostics are snapshotted. Every code of
//! `diag::codes::ALL` that a project can trigger has a fixture here (see `codes_without_fixture`).

use std::path::PathBuf;
use tally_core::diag;
use tally_core::load::LoadOptions;

fn cases() -> Vec<(String, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("tests/errors")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

#[test]
fn every_fixture_reports_its_code() {
    let mut rendered_all = String::new();
    let mut problems = Vec::new();
    for (name, path) in cases() {
        let code = &name[..5];
        let (model, diags) = tally_core::pipeline::load_model(
            &path,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        assert!(
            diags.iter().any(|d| d.code == code),
            "{name}: expected {code}, got:\n{}",
            diag::render_human(&model.sources, &diags, false)
        );
        for d in &diags {
            if d.span.is_dummy() {
                problems.push(format!("{name}: {} has no span", d.code));
            }
            if d.help.is_empty() {
                problems.push(format!("{name}: {} `{}` has no help", d.code, d.message));
            }
        }
        let text = diag::render_human(&model.sources, &diags, false);
        insta::assert_snapshot!(name.clone(), text);
        rendered_all.push_str(&name);
    }
    assert!(!rendered_all.is_empty());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Codes that no project file can trigger (they come from the command line, the file system or a
/// bug in tally) are checked elsewhere; every other code needs a fixture.
#[test]
fn codes_without_fixture() {
    let have: Vec<String> = cases()
        .into_iter()
        .map(|(n, _)| n[..5].to_string())
        .collect();
    let exempt = [
        "E0001", // I/O: tested by the CLI tests.
        "E0014", // a semantic manifest's JSON (`--manifest`): tests/dbt_spec.rs.
        "E0010", // command-line flags: CLI tests (tests/bad_input.rs).
        "E0011", // notes on what a command did: the CLI's tests/polish.rs.
        "E0406", // DuckDB runtime errors: CLI tests (tests/bad_input.rs).
        "E0112", "E0203", "E0204", "E0210", "E0401", "E0402", "E0403", "E0404",
        "E0405", // queries and later rules: CLI and plan tests.
        "E0111", // labels: validate tests.
        "E0901", // a bug in tally.
        "E0504", "E0506",
        "E0507", // found by running metric tests: tally-duckdb's testing tests.
        "E0601", "E0602", "E0603", "E0604", "E0605", "E0606",
        "E0607", // server refusals: tally-serve's tests.
        "E0316", // check findings: the CLI's check tests (tests/check.rs).
        "E0809", // found in a query's data: the CLI's tests/calendars.rs and tally-duckdb's.
        "E0810", // found in a warehouse copy: the CLI's tests/calendars.rs.
    ];
    let missing: Vec<&str> = diag::codes::ALL
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !have.iter().any(|h| h == c) && !exempt.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in tests/errors: {missing:?}"
    );
}
