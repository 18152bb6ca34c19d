//! The differential test of tally against real dbt and MetricFlow, on the dbt projects of
//! `examples/` (each one with a `queries.yml`).
//!
//! For each example: a copy in a temporary directory is built with the dbt of a Python venv
//! (`dbt seed`, `dbt run`, `dbt parse`; the venv is named by `dbt_venv:` in `queries.yml` and found
//! through `TALLY_<NAME>_VENV`, e.g. `TALLY_DBT_VENV`, which `scripts/test` sets), then
//!
//! - (a) tally's model read from the YAML must equal tally's model read from the
//!   `target/semantic_manifest.json` dbt wrote: `tally --project DIR [--manifest FILE] list KIND
//!   --format json` for metrics, dimensions, entities and saved queries, compared as JSON;
//! - (b) every query's answer, `tally query --project DIR <flags> --format csv`, must equal the
//!   answer MetricFlow's `mf query` gave (recorded in `expected/<query>.csv` by `scripts/record-mf`):
//!   column names and order exactly, numbers within a relative 1e-6, times by value, rows in order
//!   when the query has `order`, as a multiset otherwise.
//!
//! Checks that fail today are listed in `dbt_examples_known_failures.txt` (beside this file): the
//! test fails on a failure that is not listed and on a listed check that now passes (so the list
//! only shrinks); `TALLY_UPDATE_DBT_EXAMPLES=1` rewrites it. Without the venv the test reports itself
//! skipped, and fails when `CI=true`.

mod common;

use serde::Deserialize;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const KNOWN_FAILURES: &str = "tests/dbt_examples_known_failures.txt";
const MAX_DIFF_ROWS: usize = 25;

// ---------------------------------------------------------------------------------------------
// The examples and their queries
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct QueryFile {
    /// The venv (`scripts/python/<name>.txt`) whose dbt builds the example.
    dbt_venv: String,
    queries: Vec<Query>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Query {
    name: String,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default, rename = "where")]
    where_: Vec<String>,
    #[serde(default)]
    order: Vec<String>,
    limit: Option<u64>,
    start_time: Option<String>,
    end_time: Option<String>,
    saved_query: Option<String>,
}

impl Query {
    /// The query flags, the same for `mf query` and `tally query`.
    fn flags(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        if let Some(sq) = &self.saved_query {
            push("--saved-query", sq.clone());
        }
        if !self.metrics.is_empty() {
            push("--metrics", self.metrics.join(","));
        }
        if !self.group_by.is_empty() {
            push("--group-by", self.group_by.join(","));
        }
        for w in &self.where_ {
            push("--where", w.clone());
        }
        if !self.order.is_empty() {
            push("--order", self.order.join(","));
        }
        if let Some(l) = self.limit {
            push("--limit", l.to_string());
        }
        if let Some(s) = &self.start_time {
            push("--start-time", s.clone());
        }
        if let Some(e) = &self.end_time {
            push("--end-time", e.clone());
        }
        args
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example with a `queries.yml`, by name.
fn examples() -> Vec<(String, PathBuf, QueryFile)> {
    let dir = repo_root().join("examples");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read examples/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("queries.yml").is_file())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = read_query_file(&path.join("queries.yml"));
        out.push((name, path, file));
    }
    out
}

fn read_query_file(path: &Path) -> QueryFile {
    let text = std::fs::read_to_string(path).expect("read queries.yml");
    let docs = tally_core::yaml::parse(tally_core::source::FileId(0), &text)
        .unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message));
    let diags = RefCell::new(Vec::new());
    let file: QueryFile = tally_core::yaml::from_node(&docs[0], &diags)
        .unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message));
    let diags = diags.into_inner();
    assert!(
        diags.is_empty(),
        "{}: {:?}",
        path.display(),
        diags.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    file
}

// ---------------------------------------------------------------------------------------------
// CSV answers and their comparison
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Bool(bool),
    Number(f64),
    /// A date or timestamp, normalised to `YYYY-MM-DD HH:MM:SS.ffffff`.
    Time(String),
    Text(String),
}

impl Cell {
    fn parse(s: &str) -> Cell {
        if s.is_empty() {
            return Cell::Null;
        }
        if s.eq_ignore_ascii_case("true") {
            return Cell::Bool(true);
        }
        if s.eq_ignore_ascii_case("false") {
            return Cell::Bool(false);
        }
        if let Some(t) = parse_time(s) {
            return Cell::Time(t);
        }
        let looks_numeric = s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            && s.chars().any(|c| c.is_ascii_digit());
        if looks_numeric {
            if let Ok(x) = s.parse::<f64>() {
                return Cell::Number(x);
            }
        }
        Cell::Text(s.to_string())
    }

    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Bool(_) => 1,
            Cell::Number(_) => 2,
            Cell::Time(_) => 3,
            Cell::Text(_) => 4,
        }
    }
}

/// `YYYY-MM-DD`, optionally followed by ` ` or `T` and `HH:MM[:SS[.fraction]]`.
fn parse_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 10
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return None;
    }
    let date = &s[..10];
    if b.len() == 10 {
        return Some(format!("{date} 00:00:00.000000"));
    }
    if !matches!(b[10], b' ' | b'T')
        || b.len() < 16
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
    {
        return None;
    }
    let hm = &s[11..16];
    let mut sec = "00";
    let mut frac = String::new();
    let mut rest = &s[16..];
    if let Some(r) = rest.strip_prefix(':') {
        if r.len() < 2 || !r[..2].bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        sec = &r[..2];
        rest = &r[2..];
        if let Some(f) = rest.strip_prefix('.') {
            if f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            frac = f.to_string();
            rest = "";
        }
    }
    if !rest.is_empty() {
        return None;
    }
    while frac.len() < 6 {
        frac.push('0');
    }
    Some(format!("{date} {hm}:{sec}.{}", &frac[..6]))
}

fn numbers_close(x: f64, y: f64) -> bool {
    if x == y {
        return true;
    }
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    (x - y).abs() <= 1e-6 * x.abs().max(y.abs())
}

fn cells_equal(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => numbers_close(*x, *y),
        _ => a == b,
    }
}

fn cmp_cells(a: &Cell, b: &Cell) -> Ordering {
    match (a, b) {
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
        (Cell::Number(x), Cell::Number(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Cell::Time(x), Cell::Time(y)) | (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        _ => a.rank().cmp(&b.rank()),
    }
}

#[derive(Debug)]
struct Answer {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_csv(text: &str) -> Result<Answer, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let columns = reader
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV: {e}"))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Answer { columns, rows })
}

/// Compares tally's answer with MetricFlow's; the error says how they differ, with a diff of the
/// rows (`-` expected, `+` actual).
fn compare(expected: &Answer, actual: &Answer, ordered: bool) -> Result<(), String> {
    if expected.columns != actual.columns {
        return Err(format!(
            "columns differ\n  expected: {}\n  actual:   {}",
            expected.columns.join(","),
            actual.columns.join(",")
        ));
    }
    let typed = |a: &Answer| -> Vec<(Vec<Cell>, String)> {
        let mut rows: Vec<(Vec<Cell>, String)> = a
            .rows
            .iter()
            .map(|r| (r.iter().map(|c| Cell::parse(c)).collect(), r.join(",")))
            .collect();
        if !ordered {
            rows.sort_by(|x, y| {
                x.0.iter()
                    .zip(&y.0)
                    .map(|(a, b)| cmp_cells(a, b))
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            });
        }
        rows
    };
    let exp = typed(expected);
    let act = typed(actual);
    let same = exp.len() == act.len()
        && exp.iter().zip(&act).all(|(e, a)| {
            e.0.len() == a.0.len() && e.0.iter().zip(&a.0).all(|(x, y)| cells_equal(x, y))
        });
    if same {
        return Ok(());
    }
    let mut msg = format!(
        "rows differ ({} expected, {} actual{})\n  {}\n",
        exp.len(),
        act.len(),
        if ordered { ", in order" } else { ", sorted" },
        expected.columns.join(",")
    );
    let mut shown = 0;
    for i in 0..exp.len().max(act.len()) {
        let e = exp.get(i);
        let a = act.get(i);
        let equal = matches!((e, a), (Some(e), Some(a))
            if e.0.len() == a.0.len() && e.0.iter().zip(&a.0).all(|(x, y)| cells_equal(x, y)));
        if equal {
            let _ = writeln!(msg, "  {}", e.unwrap().1);
            continue;
        }
        if shown == MAX_DIFF_ROWS {
            msg.push_str("  ...\n");
            break;
        }
        shown += 1;
        if let Some(e) = e {
            let _ = writeln!(msg, "- {}", e.1);
        }
        if let Some(a) = a {
            let _ = writeln!(msg, "+ {}", a.1);
        }
    }
    Err(msg.trim_end().to_string())
}

// ---------------------------------------------------------------------------------------------
// Running dbt and tally
// ---------------------------------------------------------------------------------------------

/// Copies `from` into `to`, leaving out what dbt writes and the recorded answers.
fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create project copy");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(
            name.as_ref(),
            "target" | "logs" | "expected" | "dbt_packages"
        ) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_project(&path, &to.join(&*name));
        } else {
            std::fs::copy(&path, to.join(&*name)).expect("copy file");
        }
    }
}

fn dbt(venv: &Path, project: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(venv.join("bin").join("dbt"))
        .args(args)
        .current_dir(project)
        .env("DBT_PROFILES_DIR", project)
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        .output()
        .map_err(|e| format!("cannot run dbt from {}: {e}", venv.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`dbt {}` failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Runs tally in the project directory, as a user of the project would.
fn tally_in(project: &Path, args: &[String]) -> common::Out {
    let cache = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .current_dir(project)
        .env("NO_COLOR", "1")
        .env("TALLY_CACHE_DIR", cache.path())
        .output()
        .expect("run tally");
    common::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_,./=".contains(c))
            {
                a.clone()
            } else if !a.contains(['"', '$', '`', '\\', '!']) {
                format!("\"{a}\"")
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.trim_end().lines().collect();
    let mut out = lines.iter().take(n).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > n {
        let _ = write!(out, "\n... ({} more lines)", lines.len() - n);
    }
    out
}

/// (a): the model read from the YAML against the model read from dbt's semantic manifest.
fn check_model(project: &Path) -> Result<(), String> {
    let p = project.to_string_lossy().into_owned();
    let manifest = project.join("target/semantic_manifest.json");
    let from_yaml: Vec<String> = ["--project", &p, "model", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let from_manifest: Vec<String> = [
        "--project",
        &p,
        "--manifest",
        &manifest.to_string_lossy(),
        "model",
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut values = Vec::new();
    for args in [&from_yaml, &from_manifest] {
        let out = tally_in(project, args);
        if out.code != 0 {
            return Err(format!(
                "`tally {}` exited with {}:\n{}",
                shell_words(args),
                out.code,
                first_lines(&out.stderr, 30)
            ));
        }
        let value: serde_json::Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("`tally {}` printed no JSON: {e}", shell_words(args)))?;
        values.push(value);
    }
    if values[0] != values[1] {
        let a = serde_json::to_string_pretty(&values[0]).unwrap();
        let b = serde_json::to_string_pretty(&values[1]).unwrap();
        let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        let at = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let window = |l: &[&str]| l[at.saturating_sub(8)..(at + 4).min(l.len())].join("\n");
        return Err(format!(
            "the model (`tally model`) differs between the YAML and the manifest at line {}\n  from YAML:\n{}\n  from manifest:\n{}",
            at + 1,
            window(&a),
            window(&b)
        ));
    }
    Ok(())
}

/// (b): one query's answer against MetricFlow's.
fn check_query(example: &Path, project: &Path, query: &Query) -> Result<(), String> {
    let expected_path = example.join("expected").join(format!("{}.csv", query.name));
    let expected_text = std::fs::read_to_string(&expected_path).map_err(|e| {
        format!(
            "no recorded answer {} ({e}); run scripts/record-mf",
            expected_path.display()
        )
    })?;
    let expected = read_csv(&expected_text)?;
    let mut args: Vec<String> = vec![
        "--project".into(),
        project.to_string_lossy().into_owned(),
        "query".into(),
    ];
    args.extend(query.flags());
    args.extend(["--format".to_string(), "csv".to_string()]);
    let shown = format!("tally query {}", shell_words(&query.flags()));
    let out = tally_in(project, &args);
    if out.code != 0 {
        return Err(format!(
            "`{shown}` exited with {}:\n{}",
            out.code,
            first_lines(&out.stderr, 30)
        ));
    }
    let actual = read_csv(&out.stdout).map_err(|e| format!("`{shown}`: {e}"))?;
    compare(&expected, &actual, !query.order.is_empty()).map_err(|e| format!("`{shown}`: {e}"))
}

/// The venv of an example: `TALLY_<NAME>_VENV` for `dbt_venv: <name>`.
fn venv_var(name: &str) -> String {
    format!("TALLY_{}_VENV", name.to_ascii_uppercase().replace('-', "_"))
}

fn read_known_failures() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(KNOWN_FAILURES);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn write_known_failures(failing: &BTreeSet<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(KNOWN_FAILURES);
    let mut text = String::from(
        "# Checks of tests/dbt_examples.rs that fail today: <example>/<query> (a query's answer\n\
         # against MetricFlow's) or <example>/model (the model from YAML against the model\n\
         # from dbt's semantic_manifest.json). The test fails when a check not listed here fails and\n\
         # when a listed one passes; TALLY_UPDATE_DBT_EXAMPLES=1 rewrites this file.\n",
    );
    for f in failing {
        text.push_str(f);
        text.push('\n');
    }
    std::fs::write(path, text).expect("write known failures");
}

#[test]
fn dbt_examples_against_metricflow() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let known = read_known_failures();
    let mut passed = 0usize;
    let mut failing: BTreeSet<String> = BTreeSet::new();
    let mut report = String::new();
    let mut skipped = Vec::new();
    let mut checked_examples = BTreeSet::new();
    for (name, dir, file) in examples() {
        let var = venv_var(&file.dbt_venv);
        let Some(venv) = std::env::var_os(&var).filter(|v| !v.is_empty()) else {
            skipped.push(format!(
                "{name}: {var} is not set (scripts/test sets it from `scripts/pyenv {}`)",
                file.dbt_venv
            ));
            continue;
        };
        let venv = PathBuf::from(venv);
        let tmp = tempfile::tempdir().expect("temp dir");
        let project = tmp.path().join(&name);
        copy_project(&dir, &project);
        for step in [&["seed"][..], &["run"], &["parse"]] {
            if let Err(e) = dbt(&venv, &project, step) {
                panic!("{name}: dbt does not accept the example:\n{e}");
            }
        }
        checked_examples.insert(name.clone());
        // The details of a failure (what follows its first line) that an earlier check of this
        // example already printed, such as a project tally refuses for every query, are not repeated.
        let mut printed: Vec<(String, String)> = Vec::new();
        let mut record = |id: String, result: Result<(), String>| match result {
            Ok(()) => passed += 1,
            Err(e) => {
                let tag = if known.contains(&id) { "known" } else { "NEW" };
                let (first, details) = e.split_once('\n').unwrap_or((&e, ""));
                match printed
                    .iter()
                    .find(|(d, _)| !details.is_empty() && d == details)
                {
                    Some((_, earlier)) => {
                        let _ = writeln!(
                            report,
                            "FAIL ({tag}) {id}: {first}\n  (the same output as {earlier})\n"
                        );
                    }
                    None => {
                        let _ = writeln!(report, "FAIL ({tag}) {id}: {e}\n");
                        printed.push((details.to_string(), id.clone()));
                    }
                }
                failing.insert(id);
            }
        };
        record(format!("{name}/model"), check_model(&project));
        for query in &file.queries {
            record(
                format!("{name}/{}", query.name),
                check_query(&dir, &project, query),
            );
        }
    }
    for s in &skipped {
        eprintln!("dbt examples: skipped {s}");
    }
    eprint!("{report}");
    let known_failing = failing.iter().filter(|f| known.contains(*f)).count();
    eprintln!(
        "dbt-examples: {passed} of {} checks agree with MetricFlow; {} fail ({known_failing} of them \
         listed as known); {} example(s) skipped",
        passed + failing.len(),
        failing.len(),
        skipped.len()
    );
    if ci && !skipped.is_empty() {
        panic!(
            "the dbt examples cannot be skipped under CI:\n{}",
            skipped.join("\n")
        );
    }
    // Known failures of examples that did not run stay as they are.
    let relevant_known: BTreeSet<String> = known
        .iter()
        .filter(|k| {
            checked_examples
                .iter()
                .any(|e| k.starts_with(&format!("{e}/")))
        })
        .cloned()
        .collect();
    if std::env::var("TALLY_UPDATE_DBT_EXAMPLES").is_ok_and(|v| v == "1") {
        let mut all: BTreeSet<String> = known.difference(&relevant_known).cloned().collect();
        all.extend(failing.iter().cloned());
        write_known_failures(&all);
        return;
    }
    let new: Vec<&String> = failing.difference(&relevant_known).collect();
    let fixed: Vec<&String> = relevant_known.difference(&failing).collect();
    let mut problems = String::new();
    if !new.is_empty() {
        let _ = writeln!(
            problems,
            "{} check(s) fail that are not in {KNOWN_FAILURES} (details above): {new:?}",
            new.len()
        );
    }
    if !fixed.is_empty() {
        let _ = writeln!(
            problems,
            "{} check(s) listed in {KNOWN_FAILURES} pass now; remove them (or run with \
             TALLY_UPDATE_DBT_EXAMPLES=1): {fixed:?}",
            fixed.len()
        );
    }
    assert!(problems.is_empty(), "{problems}");
}

/// What dbt writes into a project, and the recorded answers: not part of an example.
const NOT_EXAMPLE: [&str; 5] = ["target", "logs", "expected", "dbt_packages", ".user.yml"];

/// FNV-1a (64 bits) over the example's files: relative path, NUL, content, NUL, sorted by path
/// (`example_hash` of scripts/python/record_mf.py, which stores it in `expected/RECORDED_FROM`).
fn example_hash(dir: &Path) -> String {
    fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for entry in std::fs::read_dir(dir).expect("read example") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if NOT_EXAMPLE.contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
                collect(root, &path, out);
            } else if path.is_file() {
                let rel = path.strip_prefix(root).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), path));
            }
        }
    }
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, path) in files {
        let content = std::fs::read(&path).expect("read example file");
        let chunks: [&[u8]; 4] = [rel.as_bytes(), b"\0", &content, b"\0"];
        for chunk in chunks {
            for &byte in chunk {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    format!("{h:016x}")
}

/// Every query has a recorded answer and every recorded answer a query, recorded from the example
/// as it is; runs without dbt.
#[test]
fn dbt_examples_have_recorded_answers() {
    let all = examples();
    assert!(!all.is_empty(), "no examples/*/queries.yml");
    for (name, dir, file) in all {
        let recorded_from = std::fs::read_to_string(dir.join("expected/RECORDED_FROM"))
            .unwrap_or_else(|e| {
                panic!("{name}: no expected/RECORDED_FROM ({e}); run scripts/record-mf")
            });
        let hash = recorded_from
            .lines()
            .find_map(|l| l.strip_prefix("fnv1a64 "))
            .unwrap_or_else(|| panic!("{name}: expected/RECORDED_FROM has no `fnv1a64` line"));
        assert_eq!(
            hash.trim(),
            example_hash(&dir),
            "{name}: the example changed since MetricFlow's answers were recorded; run scripts/record-mf {name}"
        );
        let names: BTreeSet<String> = file.queries.iter().map(|q| q.name.clone()).collect();
        assert_eq!(
            names.len(),
            file.queries.len(),
            "{name}: duplicate query names"
        );
        let recorded: BTreeSet<String> = std::fs::read_dir(dir.join("expected"))
            .unwrap_or_else(|e| panic!("{name}: no expected/ ({e}); run scripts/record-mf"))
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter_map(|f| f.strip_suffix(".csv").map(str::to_string))
            .collect();
        assert_eq!(
            names, recorded,
            "{name}: the queries of queries.yml and the answers in expected/ differ; run scripts/record-mf"
        );
        for q in &file.queries {
            let text =
                std::fs::read_to_string(dir.join("expected").join(format!("{}.csv", q.name)))
                    .expect("read answer");
            let answer = read_csv(&text).unwrap_or_else(|e| panic!("{name}/{}: {e}", q.name));
            assert!(!answer.columns.is_empty(), "{name}/{}: no columns", q.name);
            assert!(
                !answer.rows.is_empty(),
                "{name}/{}: MetricFlow answered no rows",
                q.name
            );
        }
    }
}

/// The examples that define the same project in two specs (same seeds, same metric names) got the
/// same answers from MetricFlow for the queries they share: the two specs mean the same thing.
#[test]
fn dbt_examples_in_both_specs_answer_alike() {
    let all = examples();
    let mut compared = 0;
    for (i, (a_name, a_dir, a_file)) in all.iter().enumerate() {
        for (b_name, b_dir, b_file) in &all[i + 1..] {
            let same_seeds = ["raw_rentals.csv", "raw_members.csv"].iter().all(|f| {
                let a = std::fs::read(a_dir.join("seeds").join(f));
                a.is_ok() && a.ok() == std::fs::read(b_dir.join("seeds").join(f)).ok()
            });
            if !same_seeds {
                continue;
            }
            for qa in &a_file.queries {
                let Some(qb) = b_file.queries.iter().find(|q| q.name == qa.name) else {
                    continue;
                };
                let read = |dir: &Path, q: &Query| {
                    read_csv(
                        &std::fs::read_to_string(
                            dir.join("expected").join(format!("{}.csv", q.name)),
                        )
                        .expect("read answer"),
                    )
                    .expect("csv")
                };
                compare(&read(a_dir, qa), &read(b_dir, qb), !qa.order.is_empty())
                    .unwrap_or_else(|e| panic!("{a_name} and {b_name} differ on {}: {e}", qa.name));
                compared += 1;
            }
        }
    }
    assert!(
        compared > 0,
        "no two examples share their seeds and queries"
    );
}

#[test]
fn answers_compare_by_value() {
    let csv = |s: &str| read_csv(s).unwrap();
    // Times by value, numbers within a relative 1e-6, rows as a multiset unless ordered.
    let mf = csv("metric_time__month,city,revenue\n2025-02-01 00:00:00,Porto,95.0\n2025-01-01 00:00:00,Lisbon,12.450000000000001\n");
    let tally = csv(
        "metric_time__month,city,revenue\n2025-01-01,Lisbon,12.45\n2025-02-01T00:00:00,Porto,95\n",
    );
    assert_eq!(compare(&mf, &tally, false), Ok(()));
    let err = compare(&mf, &tally, true).unwrap_err();
    assert!(
        err.starts_with("rows differ (2 expected, 2 actual, in order)"),
        "{err}"
    );
    assert!(err.contains("- 2025-02-01 00:00:00,Porto,95.0"), "{err}");
    // Column names and their order count.
    let swapped =
        csv("city,metric_time__month,revenue\nLisbon,2025-01-01,12.45\nPorto,2025-02-01,95\n");
    let err = compare(&mf, &swapped, false).unwrap_err();
    assert!(err.starts_with("columns differ"), "{err}");
    // A NULL is not a zero, and a number off by more than the tolerance differs.
    let nulls = csv("x\n\"\"\n");
    let zeros = csv("x\n0\n");
    assert!(compare(&nulls, &zeros, false).is_err());
    assert!(compare(&csv("x\n1.0\n"), &csv("x\n1.00001\n"), false).is_err());
    assert_eq!(
        compare(&csv("x\n1.0\n"), &csv("x\n1.0000001\n"), false),
        Ok(())
    );
    assert_eq!(Cell::parse("True"), Cell::Bool(true));
    assert_eq!(Cell::parse("2025-13"), Cell::Text("2025-13".into()));
    assert_eq!(
        parse_time("2025-03-01T08:09:10.5").as_deref(),
        Some("2025-03-01 08:09:10.500000")
    );
}
