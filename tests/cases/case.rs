//! The format of a query case (`tests/cases/*.yml`, see `tests/cases/README.md`) and its reader,
//! shared by tally-core's `tests/query_cases.rs` (the SQL side) and the root package's
//! `tests/query_case_rows.rs` (the rows on DuckDB), which include this file by path.
#![allow(dead_code)] // each includer uses its part

use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tally_core::plan::QueryRequest;
use tally_core::source::{SourceFile, SourceMap};
use tally_core::yaml::Spanned;

#[derive(Debug, Deserialize)]
pub(crate) struct Case {
    pub about: String,
    pub project: String,
    pub query: Query,
    #[serde(default)]
    pub dialects: bool,
    #[serde(default)]
    pub skip_dialects: BTreeMap<String, String>,
    #[serde(default)]
    pub plan: bool,
    #[serde(default)]
    pub repeat: usize,
    #[serde(default)]
    pub expect: Expect,
    /// DuckDB's result rows as CSV (`tally query --format csv`), checked by the root package.
    #[serde(default)]
    pub rows: Option<String>,
    /// Why the case has no `rows:` (too many to read, or a query that fails on the data).
    #[serde(default)]
    pub skip_rows: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Query {
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub group_by: Vec<String>,
    #[serde(default, rename = "where")]
    pub where_: Vec<String>,
    #[serde(default)]
    pub order_by: Vec<String>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Expect {
    #[serde(default)]
    pub sql_contains: Vec<String>,
    #[serde(default)]
    pub sql_not_contains: Vec<String>,
    #[serde(default)]
    pub sql_count: BTreeMap<String, usize>,
    #[serde(default)]
    pub error: Option<String>,
}

/// Every case file, sorted by name, decoded with tally's own YAML reader (unknown keys are errors).
pub(crate) fn cases(dir: &Path) -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
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

pub(crate) fn read_case(path: &Path) -> Case {
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

pub(crate) fn request(q: &Query) -> QueryRequest {
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
