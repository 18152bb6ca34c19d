//! Every metric of the repository's Intercom project is asserted by at least one metric test
//! (`metrics/tests/*.yml`, run by `tally test` and by `tests/ci.rs`), and the
//! coverage table in docs/intercom.md ("Metric tests") lists exactly which test covers which
//! metric. A metric is covered by a test when the test's query (or saved query) asks for it, so
//! its expected value is written out beside hand-made fixture rows. `TALLY_UPDATE_DOCS=1`
//! rewrites the table.

use std::collections::BTreeMap;
use std::path::Path;

use tally_core::diag::render_human;
use tally_core::load::LoadOptions;
use tally_core::metric_test::prepare;

const BEGIN: &str = "<!-- metric-test coverage: begin -->";
const END: &str = "<!-- metric-test coverage: end -->";

#[test]
fn every_intercom_metric_has_a_metric_test_and_the_docs_list_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (model, diags) = tally_core::pipeline::load_model(
        &root,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(
        errors.is_empty(),
        "the project has errors:\n{}",
        render_human(&model.sources, &errors, false)
    );

    // metric -> the tests that query it, in the order the project lists them.
    let mut covered: BTreeMap<&str, Vec<String>> = model
        .metrics
        .keys()
        .map(|m| (m.as_str(), Vec::new()))
        .collect();
    for test in &model.metric_tests {
        let prepared = prepare(&model, test).unwrap_or_else(|d| {
            panic!(
                "metric test {} does not prepare:\n{}",
                test.name.value,
                render_human(&model.sources, &d, false)
            )
        });
        for m in &prepared.request.metrics {
            if let Some(tests) = covered.get_mut(m.value.as_str()) {
                if !tests.contains(&prepared.name) {
                    tests.push(prepared.name.clone());
                }
            }
        }
    }

    let missing: Vec<&str> = covered
        .iter()
        .filter(|(_, t)| t.is_empty())
        .map(|(m, _)| *m)
        .collect();
    assert!(
        missing.is_empty(),
        "metrics without a metric test (add one under metrics/tests/, with fixture rows and the \
         hand-worked expected values beside them): {missing:?}"
    );

    // The table in docs/intercom.md, in the project's metric order.
    let mut table = String::from("| metric | metric tests |\n|---|---|\n");
    for name in model.metrics.keys() {
        let tests = &covered[name.as_str()];
        let tests: Vec<String> = tests.iter().map(|t| format!("`{t}`")).collect();
        table.push_str(&format!("| `{name}` | {} |\n", tests.join(", ")));
    }
    let docs_path = root.join("docs/intercom.md");
    let docs = std::fs::read_to_string(&docs_path).expect("read docs/intercom.md");
    let (Some(b), Some(e)) = (docs.find(BEGIN), docs.find(END)) else {
        panic!("docs/intercom.md has no `{BEGIN}` ... `{END}` block; it should hold:\n{table}");
    };
    let current = docs[b + BEGIN.len()..e].trim_matches('\n');
    if std::env::var_os("TALLY_UPDATE_DOCS").is_some() && current != table.trim_end_matches('\n') {
        let updated = format!("{}{BEGIN}\n{table}{}", &docs[..b], &docs[e..]);
        std::fs::write(&docs_path, updated).expect("write docs/intercom.md");
        return;
    }
    assert_eq!(
        current,
        table.trim_end_matches('\n'),
        "the coverage table in docs/intercom.md is out of date (TALLY_UPDATE_DOCS=1 rewrites it); it \
         should read:\n{table}"
    );
}
