//! Query cases as data: every `tests/cases/*.yml` of the repository is one query on one project,
//! compiled here and checked against its snapshot (`snapshots/query_cases__<case>.snap`: the
//! DuckDB SQL; with `dialects: true`, the DuckDB SQL and every other dialect's diff against it;
//! with `plan: true` also `<case>__plan`, the plan as JSON) and the properties the case states
//! under `expect:`. A new case is a new file; the root package's tests run the same files on
//! DuckDB.
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
//! ```

mod common;

use indexmap::IndexMap;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_core::dialect::{self, Dialect};
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::source::{SourceFile, SourceMap};
use tally_core::yaml::Spanned;

#[derive(Debug, Deserialize)]
struct Case {
    about: String,
    project: String,
    query: Query,
    #[serde(default)]
    dialects: bool,
    #[serde(default)]
    skip_dialects: IndexMap<String, String>,
    #[serde(default)]
    plan: bool,
    #[serde(default)]
    repeat: usize,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default, rename = "where")]
    where_: Vec<String>,
    #[serde(default)]
    order_by: Vec<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Expect {
    #[serde(default)]
    sql_contains: Vec<String>,
    #[serde(default)]
    sql_not_contains: Vec<String>,
    #[serde(default)]
    sql_count: IndexMap<String, usize>,
    #[serde(default)]
    error: Option<String>,
}

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

/// Every case file, sorted by name, decoded with tally's own YAML reader (unknown keys are errors).
fn cases() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            (name, read_case(path))
        })
        .collect()
}

fn read_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).expect("read case");
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(
        path.display().to_string(),
        path,
        text.clone(),
    ));
    let fail = |d: &[tally_core::diag::Diagnostic]| -> ! {
        panic!("{}", tally_core::diag::render_human(&sources, d, false))
    };
    let docs = tally_core::yaml::parse(id, &text).unwrap_or_else(|d| fail(&[d]));
    let [doc] = docs.as_slice() else {
        panic!("{}: one YAML document per case", path.display())
    };
    let diags = RefCell::new(Vec::new());
    let case: Case = tally_core::yaml::from_node(doc, &diags).unwrap_or_else(|d| fail(&[d]));
    let diags = diags.into_inner();
    if !diags.is_empty() {
        fail(&diags);
    }
    assert!(
        !case.about.trim().is_empty(),
        "{}: say what the case shows",
        path.display()
    );
    case
}

fn request(q: &Query) -> QueryRequest {
    let mut r = QueryRequest::of(&q.metrics, &q.group_by, &q.where_);
    r.order_by = q
        .order_by
        .iter()
        .map(|o| Spanned::synthetic(o.clone()))
        .collect();
    r.limit = q.limit;
    r.start_time = q.start_time.clone();
    r.end_time = q.end_time.clone();
    r
}

/// `metricflow/<manifest>` or `repository` (the Intercom project at the repository's root).
fn load_project(name: &str) -> Model {
    let (model, diags) = match name.strip_prefix("metricflow/") {
        Some(manifest) => common::load_manifest(manifest),
        None if name == "repository" => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            tally_core::pipeline::load_model(&root, &LoadOptions::default())
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
    skip: &IndexMap<String, String>,
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
