//! Query cases as data: every `tests/cases/*.yml` of the repository is one query on one project,
//! compiled here and checked against its snapshot (`snapshots/query_cases__<case>.snap`: the
//! DuckDB SQL; with `dialects: true`, the DuckDB SQL and every other dialect's diff against it;
//! with `plan: true` also `<case>__plan`, the plan as JSON) and the properties the case states
//! under `expect:`. A new case is a new file; the root package's `tests/query_case_rows.rs` runs
//! the same files on DuckDB and compares the result rows.
//!
//! ```yaml
//! about: what the case shows, in a sentence
//! project: metricflow/simple_manifest   # MetricFlow's conformance manifest, or `repository`
//! query: {metrics: [bookings], group_by: [metric_time__month], where: [...], order_by: [-bookings],
//!         limit: 10, start_time: '2020-01-01', end_time: '2020-03-31'}
//! dialects: true                        # snapshot every dialect's diff against DuckDB
//! skip_dialects: {bigquery: why}        # dialects left out of that snapshot, with the reason
//! plan: true                            # snapshot the plan too
//! repeat: 3                             # compile again this many times: the SQL must not change
//! expect:
//!   sql_contains: [...]                 # text the DuckDB SQL must contain
//!   sql_not_contains: [...]
//!   sql_count: {"FROM x": 1}            # how often a text occurs in the SQL
//!   error: E0211                        # the query must fail with this code (no snapshot)
//! rows: |                               # DuckDB's result rows as `tally query --format csv`
//!   metric_time__day,bookings           # prints them (checked by the root package's
//!   2019-12-01,1                        # tests/query_case_rows.rs; TALLY_UPDATE_CASES=1 writes them)
//! skip_rows: why                        # instead of rows: too many, or the data rejects the query
//! ```

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_core::dialect::{self, Dialect};
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;

/// The case files' format and reader, shared with the root package's `tests/query_case_rows.rs`.
#[path = "../../../tests/cases/case.rs"]
mod case;

use case::{request, Case};

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

fn cases() -> Vec<(String, Case)> {
    case::cases(&cases_dir())
}

/// `metricflow/<manifest>` or `repository` (the Intercom project at the repository's root).
fn load_project(name: &str) -> Model {
    let (model, diags) = match name.strip_prefix("metricflow/") {
        Some(manifest) => common::load_manifest(manifest),
        None if name == "repository" => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            tally_core::pipeline::load_model(
                &root,
                &LoadOptions::default(),
                &tally_templates::builtin(),
            )
        }
        None => panic!("unknown project `{name}`: metricflow/<manifest> or repository"),
    };
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "{}",
        common::render(&model, &diags)
    );
    model
}

/// DuckDB's SQL, then for every other dialect its diff against DuckDB's (or its diagnostics).
fn all_dialects(
    model: &Model,
    base: &str,
    r: &QueryRequest,
    skip: &BTreeMap<String, String>,
) -> String {
    let mut out = format!("-- duckdb\n{base}");
    for d in dialect::Dialect::ALL
        .iter()
        .filter(|d| d.name() != "duckdb")
    {
        if let Some(why) = skip.get(d.name()) {
            out.push_str(&format!("\n-- {} skipped: {why}\n", d.name()));
            continue;
        }
        out.push_str(&format!("\n-- {} (diff against duckdb)\n", d.name()));
        match tally_core::pipeline::compile(model, *d, r) {
            Ok(c) => {
                let diff = similar::TextDiff::from_lines(base, &c.sql);
                out.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(0)
                        .header("duckdb", d.name())
                        .to_string(),
                );
            }
            Err(diags) => {
                for x in diags {
                    out.push_str(&format!("error[{}]: {}\n", x.code, x.message));
                }
            }
        }
    }
    out
}

/// Run one case: its properties as a list of problems; snapshot mismatches panic (insta).
fn run(name: &str, case: &Case, model: &Model) -> Vec<String> {
    let mut problems = Vec::new();
    for d in case.skip_dialects.keys() {
        if !dialect::Dialect::ALL.iter().any(|x| x.name() == d) {
            problems.push(format!("skip_dialects names `{d}`, which is not a dialect"));
        }
    }
    let r = request(&case.query);
    let compiled = tally_core::pipeline::compile(model, Dialect::DuckDb, &r);
    if let Some(code) = &case.expect.error {
        match compiled {
            Ok(c) => problems.push(format!("expected {code}, the query compiled:\n{}", c.sql)),
            Err(d) if !d.iter().any(|d| d.code == code.as_str()) => problems.push(format!(
                "expected {code}, got:\n{}",
                common::render(model, &d)
            )),
            Err(_) => {}
        }
        return problems;
    }
    let compiled = match compiled {
        Ok(c) => c,
        Err(d) => return vec![common::render(model, &d)],
    };
    let s = &compiled.sql;
    for t in &case.expect.sql_contains {
        if !s.contains(t.as_str()) {
            problems.push(format!("the SQL does not contain {t:?}"));
        }
    }
    for t in &case.expect.sql_not_contains {
        if s.contains(t.as_str()) {
            problems.push(format!("the SQL contains {t:?}"));
        }
    }
    for (t, n) in &case.expect.sql_count {
        let got = s.matches(t.as_str()).count();
        if got != *n {
            problems.push(format!("{t:?} occurs {got} times in the SQL, not {n}"));
        }
    }
    for _ in 0..case.repeat {
        match tally_core::pipeline::compile(model, Dialect::DuckDb, &r) {
            Ok(again) if again.sql == *s => {}
            _ => problems.push("compiling again gives other SQL".into()),
        }
    }
    let shown = if case.dialects {
        all_dialects(model, s, &r, &case.skip_dialects)
    } else {
        s.clone()
    };
    insta::with_settings!({ description => case.about.trim(), omit_expression => true }, {
        insta::assert_snapshot!(name.to_string(), shown);
        if case.plan {
            let plan = serde_json::to_string_pretty(&compiled.plan).expect("plan serialises");
            insta::assert_snapshot!(format!("{name}__plan"), plan);
        }
    });
    problems
}

#[test]
fn query_cases() {
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in {}", cases_dir().display());
    let mut models: BTreeMap<String, Model> = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let model = models
            .entry(case.project.clone())
            .or_insert_with(|| load_project(&case.project));
        // Every case runs even when one fails, so a change shows all it breaks at once.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(name, case, model))) {
            Ok(problems) => failures.extend(problems.into_iter().map(|p| format!("{name}: {p}"))),
            Err(_) => failures.push(format!("{name}: snapshot mismatch (see above)")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
