//! Metrics in CI: `tally validate` in CI formats (GitHub annotations, JUnit XML, SARIF),
//! `tally test` (the project's metric tests on in-memory DuckDB) and `tally diff` (what changed
//! since a git ref, what it affects and who must know).

use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::{Path, PathBuf};
use std::process::Command;
use tally_core::diag::{self, codes, Diagnostic, JunitCase, JunitProblem, JunitProblemKind};
use tally_core::model::Model;
use tally_core::source::{SourceFile, SourceMap};
use tally_duckdb::engine::Value;
use tally_duckdb::testing::{Outcome, TestReport};

/// The `validate` formats handled here; `human` and `json` stay in main.rs.
pub fn handles_validate_format(format: &str) -> bool {
    matches!(format, "github" | "junit" | "sarif")
}

// ----- paths for CI ----------------------------------------------------------------------------------

/// The project's directory relative to the root of its git work tree (`""` at the root, else
/// `sub/dir/`), found by looking for `.git` upwards; `""` outside a repository. CI tools resolve
/// annotation paths from the repository root.
fn repo_prefix(project: &Path) -> String {
    let Ok(abs) = project.canonicalize() else {
        return String::new();
    };
    let mut dir: &Path = &abs;
    loop {
        if dir.join(".git").exists() {
            let rel = abs.strip_prefix(dir).unwrap_or(Path::new(""));
            let s = rel.to_string_lossy().replace('\\', "/");
            return if s.is_empty() { s } else { format!("{s}/") };
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return String::new(),
        }
    }
}

/// The same files, named relative to the repository root (file ids are unchanged).
fn rebased(sources: &SourceMap, prefix: &str) -> SourceMap {
    let mut out = SourceMap::new();
    for (_, f) in sources.files() {
        out.add(SourceFile::new(
            format!("{prefix}{}", f.name),
            &f.path,
            f.text.clone(),
        ));
    }
    out
}

fn ci_sources(ctx: &Ctx, model: &Model) -> SourceMap {
    rebased(&model.sources, &repo_prefix(&ctx.project))
}

fn is_unreadable(model: &Model, diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.code == codes::IO) && model.semantic_models.is_empty()
}

// ----- validate ------------------------------------------------------------------------------------

/// `tally validate --format github|junit|sarif`, paths relative to the repository root.
pub fn validate(ctx: &Ctx, format: &str) -> u8 {
    let (model, diags) = tally_core::pipeline::load_model(&ctx.project, &ctx.opts);
    let sources = ci_sources(ctx, &model);
    match format {
        "github" => print!("{}", diag::render_github(&sources, &diags)),
        "junit" => print!("{}", diag::render_junit(&sources, &diags, "tally validate")),
        _ => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_sarif(&sources, &diags)).expect("json")
        ),
    }
    if is_unreadable(&model, &diags) {
        EXIT_USAGE
    } else if diags.iter().any(|d| d.is_error()) {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

// ----- test ----------------------------------------------------------------------------------------

fn status(r: &TestReport) -> &'static str {
    match r.outcome {
        Outcome::Passed => "passed",
        Outcome::Failed { .. } => "failed",
        Outcome::Error => "error",
    }
}

/// `tally test [FILTER] --format human|json|github|junit|sarif`.
pub fn test(ctx: &Ctx, filter: Option<&str>, format: &str) -> u8 {
    let (model, diags) = tally_core::pipeline::load_model(&ctx.project, &ctx.opts);
    if is_unreadable(&model, &diags) {
        eprint!("{}", diag::render_human(&model.sources, &diags, ctx.color));
        return EXIT_USAGE;
    }
    // Problems of the tests themselves are reported per test; anything else stops the run.
    let test_diags = tally_core::metric_test::check_tests(&model);
    let project_errors: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() && !test_diags.contains(d))
        .cloned()
        .collect();
    let sources = ci_sources(ctx, &model);
    if !project_errors.is_empty() {
        match format {
            "human" => {
                eprint!(
                    "{}",
                    diag::render_human(&model.sources, &project_errors, ctx.color)
                );
                eprintln!(
                    "error: the project has {} error(s); metric tests run on a valid project (see `tally validate`)",
                    project_errors.len()
                );
            }
            "json" => println!(
                "{}",
                serde_json::to_string_pretty(&diag::to_json(&sources, &project_errors))
                    .expect("json")
            ),
            "github" => print!("{}", diag::render_github(&sources, &project_errors)),
            "junit" => print!(
                "{}",
                diag::render_junit(&sources, &project_errors, "tally test")
            ),
            _ => println!(
                "{}",
                serde_json::to_string_pretty(&diag::to_sarif(&sources, &project_errors))
                    .expect("json")
            ),
        }
        return EXIT_PROBLEMS;
    }
    // Duplicate test names belong to no single test.
    let extra: Vec<Diagnostic> = test_diags
        .into_iter()
        .filter(|d| d.code == codes::DUPLICATE_NAME)
        .collect();
    let reports = tally_duckdb::testing::run_tests(&model, filter);
    let passed = reports.iter().filter(|r| r.passed()).count();
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .count();
    let errors = reports.len() - passed - failed;
    let all_diags: Vec<Diagnostic> = extra
        .iter()
        .cloned()
        .chain(reports.iter().flat_map(|r| r.to_diagnostics()))
        .collect();
    match format {
        "human" => print!(
            "{}",
            render_test_human(ctx, &model, &reports, &extra, filter)
        ),
        "json" => {
            let tests: Vec<serde_json::Value> = reports
                .iter()
                .map(|r| {
                    let loc = sources.location(r.span);
                    serde_json::json!({
                        "name": r.name,
                        "file": loc.as_ref().map(|l| l.0.clone()),
                        "line": loc.as_ref().map(|l| l.1),
                        "status": status(r),
                        "diff": match &r.outcome { Outcome::Failed { diff, .. } => Some(diff.clone()), _ => None },
                        "diagnostics": diag::to_json(&sources, &r.to_diagnostics()),
                        "sql": r.sql,
                    })
                })
                .collect();
            let v = serde_json::json!({
                "passed": passed,
                "failed": failed,
                "errors": errors,
                "tests": tests,
                "diagnostics": diag::to_json(&sources, &extra),
            });
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        "github" => {
            print!("{}", diag::render_github(&sources, &all_diags));
            println!("{}", summary_line(passed, failed, errors));
        }
        "junit" => {
            let mut cases: Vec<JunitCase> = reports
                .iter()
                .map(|r| {
                    let loc = sources.location(r.span);
                    let problem = match &r.outcome {
                        Outcome::Passed => None,
                        Outcome::Failed { diff, .. } => {
                            let d = &r.to_diagnostics()[0];
                            Some(JunitProblem {
                                kind: JunitProblemKind::Failure,
                                type_: codes::TEST_FAILED.into(),
                                message: d.message.clone(),
                                text: format!("expected (-) and actual (+) rows:\n{diff}"),
                            })
                        }
                        Outcome::Error => Some(JunitProblem {
                            kind: JunitProblemKind::Error,
                            type_: r
                                .diagnostics
                                .first()
                                .map(|d| d.code)
                                .unwrap_or(codes::TEST_EXECUTION)
                                .into(),
                            message: r
                                .diagnostics
                                .first()
                                .map(|d| d.message.clone())
                                .unwrap_or_default(),
                            text: r
                                .diagnostics
                                .iter()
                                .map(|d| diag::plain_text(&sources, d))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        }),
                    };
                    JunitCase {
                        name: r.name.clone(),
                        classname: loc
                            .as_ref()
                            .map(|l| {
                                format!(
                                    "tally.test.{}",
                                    l.0.trim_end_matches(".yml")
                                        .trim_end_matches(".yaml")
                                        .replace('/', ".")
                                )
                            })
                            .unwrap_or_else(|| "tally.test".into()),
                        file: loc.as_ref().map(|l| l.0.clone()),
                        line: loc.as_ref().map(|l| l.1),
                        problem,
                        output: None,
                    }
                })
                .collect();
            for d in &extra {
                let loc = sources.location(d.span);
                cases.push(JunitCase {
                    name: d.message.clone(),
                    classname: "tally.test".into(),
                    file: loc.as_ref().map(|l| l.0.clone()),
                    line: loc.as_ref().map(|l| l.1),
                    problem: Some(JunitProblem {
                        kind: JunitProblemKind::Error,
                        type_: d.code.into(),
                        message: d.message.clone(),
                        text: diag::plain_text(&sources, d),
                    }),
                    output: None,
                });
            }
            print!("{}", diag::render_junit_cases("tally test", &cases));
        }
        _ => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_sarif(&sources, &all_diags)).expect("json")
        ),
    }
    if reports.is_empty() && format == "human" {
        eprintln!(
            "note: {}",
            match filter {
                Some(f) => format!("no metric test name contains `{f}`"),
                None =>
                    "the project has no metric tests (`metric_tests:` in its YAML; see the README)"
                        .to_string(),
            }
        );
    }
    if failed + errors > 0 || !extra.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

fn summary_line(passed: usize, failed: usize, errors: usize) -> String {
    let verdict = if failed + errors == 0 { "ok" } else { "FAILED" };
    let s = if errors == 1 { "" } else { "s" };
    format!("test result: {verdict}. {passed} passed; {failed} failed; {errors} error{s}")
}

fn render_test_human(
    ctx: &Ctx,
    model: &Model,
    reports: &[TestReport],
    extra: &[Diagnostic],
    filter: Option<&str>,
) -> String {
    let mut out = String::new();
    if reports.is_empty() && extra.is_empty() {
        return out;
    }
    let n = reports.len();
    out.push_str(&format!(
        "running {n} metric test{}{}\n",
        if n == 1 { "" } else { "s" },
        filter
            .map(|f| format!(" (names containing `{f}`)"))
            .unwrap_or_default()
    ));
    for r in reports {
        let word = match r.outcome {
            Outcome::Passed => "ok",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Error => "ERROR",
        };
        out.push_str(&format!("test {} ... {word}\n", r.name));
    }
    let bad: Vec<&TestReport> = reports.iter().filter(|r| !r.passed()).collect();
    if !bad.is_empty() || !extra.is_empty() {
        out.push_str("\nfailures:\n");
        for r in bad {
            let at = model
                .sources
                .location(r.span)
                .map(|(f, l, c)| format!(" ({f}:{l}:{c})"))
                .unwrap_or_default();
            out.push_str(&format!("\n---- {}{at} ----\n", r.name));
            match &r.outcome {
                Outcome::Failed { diff, .. } => {
                    if let Some(d) = r.to_diagnostics().first() {
                        out.push_str(&format!("error[{}]: {}\n", d.code, d.message));
                    }
                    out.push_str("expected (-) and actual (+) rows:\n");
                    out.push_str(diff);
                }
                _ => {
                    let text = diag::render_human(&model.sources, &r.diagnostics, ctx.color);
                    out.push_str(text.trim_end());
                    out.push('\n');
                }
            }
        }
        if !extra.is_empty() {
            out.push('\n');
            out.push_str(diag::render_human(&model.sources, extra, ctx.color).trim_end());
            out.push('\n');
        }
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .count();
    out.push_str(&format!(
        "\n{}\n",
        summary_line(passed, failed, reports.len() - passed - failed)
    ));
    out
}

// ----- diff ----------------------------------------------------------------------------------------

/// Run git in `dir`; stdout, or the first line of stderr.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .next()
            .unwrap_or("git failed")
            .trim()
            .to_string())
    }
}

fn git_text(dir: &Path, args: &[&str]) -> Result<String, String> {
    git(dir, args).map(|b| {
        String::from_utf8_lossy(&b)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    })
}

/// Directories a project scan skips (as `load` does).
const SKIP_DIRS: &[&str] = &[
    "target",
    "dbt_packages",
    "node_modules",
    "logs",
    "dbt_modules",
];
const NOT_MODEL_FILES: &[&str] = &[
    "tally.yml",
    "tally.yaml",
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "selectors.yml",
];

/// The project as it was at a commit: its files read with `git show`, loaded and resolved.
fn base_model(
    ctx: &Ctx,
    toplevel: &Path,
    prefix: &str,
    commit: &str,
) -> Result<(Model, usize), String> {
    let listing = git(
        toplevel,
        &["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit],
    )?;
    let rel: Vec<String> = listing
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter_map(|p| p.strip_prefix(prefix).map(str::to_string))
        .collect();
    let show = |r: &str| -> Result<String, String> {
        git(toplevel, &["show", &format!("{commit}:{prefix}{r}")])
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let config_name = ["tally.yml", "tally.yaml"]
        .into_iter()
        .find(|n| rel.iter().any(|r| r == n));
    let config = match config_name {
        Some(n) => Some(show(n)?),
        None => None,
    };
    let is_project = config.is_some() || rel.iter().any(|r| r == "dbt_project.yml");
    let paths: Vec<String> = match &config {
        Some(c) => tally_core::load::load_files(&[], Some(c), &ctx.opts)
            .0
            .config
            .paths
            .clone(),
        None => Vec::new(),
    };
    let mut dirs: Vec<String> = paths
        .iter()
        .map(|p| p.trim_matches('/').to_string())
        .collect();
    if dirs.is_empty() && is_project {
        for d in ["models", "metrics", "semantic_models"] {
            if rel.iter().any(|r| r.starts_with(&format!("{d}/"))) {
                dirs.push(d.to_string());
            }
        }
    }
    let scan_all = dirs.is_empty();
    let wanted = |r: &str| -> bool {
        let parts: Vec<&str> = r.split('/').collect();
        if parts.iter().any(|p| p.starts_with('.'))
            || parts[..parts.len() - 1]
                .iter()
                .any(|p| SKIP_DIRS.contains(p))
        {
            return false;
        }
        let ext_ok = r.ends_with(".yml") || r.ends_with(".yaml") || r.ends_with(".csv");
        if scan_all {
            ext_ok && !(parts.len() == 1 && NOT_MODEL_FILES.contains(&parts[0]))
        } else {
            ext_ok
                && dirs
                    .iter()
                    .any(|d| d == "." || r.starts_with(&format!("{d}/")))
        }
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let mut templates: Vec<(String, String)> = Vec::new();
    for r in &rel {
        if wanted(r) {
            files.push((r.clone(), show(r)?));
        } else if let Some(name) = r.strip_prefix("templates/") {
            if name.ends_with(".sql") && !name.contains('/') {
                templates.push((name.to_string(), show(r)?));
            }
        }
    }
    files.sort();
    templates.sort();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (mut spec, mut diags) = tally_core::load::load_files(&pairs, config.as_deref(), &ctx.opts);
    spec.root = ctx.project.clone();
    spec.templates = templates;
    if is_project && rel.iter().any(|r| r == "dbt_project.yml") {
        // A dbt project's relations come from profiles.yml and SQL files, outside what is read
        // here: the working tree's stand in for the base's (FIXME: read them at the commit).
        spec.dbt = tally_core::load::load_project(&ctx.project, &ctx.opts)
            .0
            .dbt;
    }
    let (model, more) = tally_core::model::spec_to_model(spec);
    diags.extend(more);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    Ok((model, errors))
}

/// `tally diff --base <ref> [--format markdown|json] [--data] [--duckdb FILE]`.
pub fn diff(ctx: &Ctx, base: &str, format: &str, data: bool, duckdb: Option<&Path>) -> u8 {
    let toplevel = match git_text(&ctx.project, &["rev-parse", "--show-toplevel"]) {
        Ok(t) => PathBuf::from(t),
        Err(e) => {
            let d = Diagnostic::error(
                codes::IO,
                format!(
                    "`{}` is not in a git repository: {e}",
                    ctx.project.display()
                ),
            )
            .with_help(
                "`tally diff` compares the project with a git ref; run it inside the repository",
            );
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let prefix = git_text(&ctx.project, &["rev-parse", "--show-prefix"]).unwrap_or_default();
    let commit = match git_text(
        &ctx.project,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ],
    ) {
        Ok(c) if !c.is_empty() => c,
        _ => {
            let d = Diagnostic::error(codes::IO, format!("unknown git ref `{base}`"))
                .with_help("pass a branch, tag or commit: `--base origin/main` (in CI, fetch it first: `git fetch origin main`)");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let (base_model, base_errors) = match base_model(ctx, &toplevel, &prefix, &commit) {
        Ok(x) => x,
        Err(e) => {
            let d = Diagnostic::error(
                codes::IO,
                format!("cannot read the project at `{base}`: {e}"),
            )
            .with_help("check that the project directory exists at that ref");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let (head, head_diags) = tally_core::pipeline::load_model(&ctx.project, &ctx.opts);
    if is_unreadable(&head, &head_diags) {
        eprint!(
            "{}",
            diag::render_human(&head.sources, &head_diags, ctx.color)
        );
        return EXIT_USAGE;
    }
    if base_errors > 0 {
        eprintln!("note: the project at `{base}` has {base_errors} error(s); objects with errors are left out of the comparison");
    }
    let head_errors = head_diags.iter().filter(|d| d.is_error()).count();
    if head_errors > 0 {
        eprintln!("note: the working tree has {head_errors} error(s) (see `tally validate`); objects with errors are left out of the comparison");
    }
    let d = tally_core::diff::diff_models(&base_model, &head);
    let values = if data {
        Some(value_changes(ctx, &base_model, &head, &d, duckdb))
    } else {
        None
    };
    match format {
        "json" => {
            let mut v = serde_json::to_value(&d).expect("diff serialises");
            if let Some(obj) = v.as_object_mut() {
                let mut out = serde_json::Map::new();
                out.insert("base".into(), serde_json::Value::String(base.to_string()));
                out.insert(
                    "base_commit".into(),
                    serde_json::Value::String(commit.clone()),
                );
                out.insert(
                    "head".into(),
                    serde_json::Value::String("working tree".into()),
                );
                out.extend(std::mem::take(obj));
                if let Some(values) = &values {
                    out.insert("data".into(), values.to_json());
                }
                v = serde_json::Value::Object(out);
            }
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        _ => {
            print!(
                "{}",
                tally_core::diff::render_markdown(&d, base, "working tree")
            );
            if let Some(values) = &values {
                print!("{}", values.to_markdown());
            }
        }
    }
    EXIT_OK
}

// ----- diff --data -----------------------------------------------------------------------------------

/// One metric's values by month, with the base and the head definitions.
struct MetricValues {
    metric: String,
    /// (month, base, head).
    rows: Vec<(String, Option<f64>, Option<f64>)>,
    notes: Vec<String>,
}

enum ValueChanges {
    Skipped(String),
    Ran {
        database: String,
        metrics: Vec<MetricValues>,
    },
}

impl ValueChanges {
    fn to_json(&self) -> serde_json::Value {
        match self {
            ValueChanges::Skipped(why) => serde_json::json!({"skipped": why}),
            ValueChanges::Ran { database, metrics } => serde_json::json!({
                "database": database,
                "metrics": metrics.iter().map(|m| serde_json::json!({
                    "metric": m.metric,
                    "notes": m.notes,
                    "months": m.rows.iter().map(|(month, b, h)| serde_json::json!({"month": month, "base": b, "head": h})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }),
        }
    }

    fn to_markdown(&self) -> String {
        let mut out = String::from("### How values move (by month)\n\n");
        match self {
            ValueChanges::Skipped(why) => out.push_str(&format!("_Not computed: {why}._\n")),
            ValueChanges::Ran { database, metrics } => {
                out.push_str(&format!(
                    "On `{database}`, with the base and the working-tree definitions.\n\n"
                ));
                if metrics.is_empty() {
                    out.push_str("_No metric whose values may move._\n");
                }
                // The metrics that move, largest move first; the others in one line.
                let mut moved: Vec<(f64, &MetricValues)> = metrics
                    .iter()
                    .filter_map(|m| movement(m).map(|score| (score, m)))
                    .collect();
                moved.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
                for (_, m) in &moved {
                    out.push_str(&metric_details(m));
                }
                let still: Vec<String> = metrics
                    .iter()
                    .filter(|m| movement(m).is_none())
                    .map(|m| format!("`{}`", m.metric))
                    .collect();
                if !still.is_empty() {
                    out.push_str(&format!("Unchanged on this data: {}.\n", still.join(", ")));
                }
            }
        }
        out
    }
}

/// How much a metric moves: the largest relative change of a month (infinite when values appear,
/// disappear or could not be computed); `None` when every month is unchanged.
fn movement(m: &MetricValues) -> Option<f64> {
    if !m.notes.is_empty() {
        return Some(f64::INFINITY);
    }
    let mut score: Option<f64> = None;
    for (_, b, h) in &m.rows {
        let r = match (b, h) {
            (None, None) => continue,
            (Some(b), Some(h)) => match relative(*b, *h) {
                Some(r) if r.abs() < 1e-9 => continue,
                Some(r) => r.abs(),
                None => f64::INFINITY,
            },
            _ => f64::INFINITY,
        };
        score = Some(score.map_or(r, |s: f64| s.max(r)));
    }
    score
}

/// One metric's months as a collapsible table.
fn metric_details(m: &MetricValues) -> String {
    let largest = m
        .rows
        .iter()
        .filter_map(|(month, b, h)| Some((month, relative((*b)?, (*h)?)?)))
        .max_by(|a, b| {
            a.1.abs()
                .partial_cmp(&b.1.abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let summary = match largest {
        _ if m.rows.is_empty() => "no values".to_string(),
        Some((month, r)) if r.abs() >= 1e-9 => format!("largest change {} ({month})", percent(r)),
        _ => "values appear or disappear".to_string(),
    };
    let mut out = format!(
        "<details><summary><code>{}</code>: {summary}</summary>\n\n",
        m.metric
    );
    for n in &m.notes {
        out.push_str(&format!("_{n}_\n\n"));
    }
    if !m.rows.is_empty() {
        out.push_str("| month | base | head | change |\n|---|---:|---:|---:|\n");
        for (month, b, h) in &m.rows {
            let change = match (b, h) {
                (Some(b), Some(h)) => match relative(*b, *h) {
                    Some(r) => format!("{} ({})", number(h - b), percent(r)),
                    None => number(h - b),
                },
                _ => "—".to_string(),
            };
            out.push_str(&format!(
                "| {month} | {} | {} | {change} |\n",
                b.map(number).unwrap_or_else(|| "—".into()),
                h.map(number).unwrap_or_else(|| "—".into())
            ));
        }
        out.push('\n');
    }
    out.push_str("</details>\n\n");
    out
}

fn relative(b: f64, h: f64) -> Option<f64> {
    if b == h {
        return Some(0.0);
    }
    (b != 0.0).then(|| (h - b) / b.abs())
}

fn number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn percent(r: f64) -> String {
    format!("{:+.2}%", r * 100.0)
}

/// A metric by month on an open database: month -> value.
fn by_month(
    model: &Model,
    metric: &str,
    conn: &tally_duckdb::duckdb::Connection,
) -> Result<Vec<(String, Option<f64>)>, String> {
    use tally_core::yaml::Spanned;
    let req = tally_core::plan::QueryRequest {
        metrics: vec![Spanned::synthetic(metric.to_string())],
        group_by: vec![Spanned::synthetic("metric_time__month".to_string())],
        order_by: vec![Spanned::synthetic("metric_time__month".to_string())],
        ..Default::default()
    };
    let compiled = tally_core::pipeline::compile(model, &tally_core::dialect::DuckDb, &req)
        .map_err(|d| {
            d.first()
                .map(|d| format!("{}: {}", d.code, d.message))
                .unwrap_or_default()
        })?;
    tally_duckdb::clock::install(conn, model).map_err(|e| e.to_string())?;
    let table = tally_duckdb::engine::run(conn, &compiled.sql)
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?;
    Ok(table
        .rows
        .iter()
        .map(|r| {
            let month = match &r[0] {
                Value::Time(t) => t.get(..7).unwrap_or(t).to_string(),
                other => other.to_string(),
            };
            let v = match r.get(1) {
                Some(Value::Int(i)) => Some(*i as f64),
                Some(Value::Float(f)) => Some(*f),
                _ => None,
            };
            (month, v)
        })
        .collect())
}

fn value_changes(
    ctx: &Ctx,
    base: &Model,
    head: &Model,
    d: &tally_core::diff::ModelDiff,
    flag: Option<&Path>,
) -> ValueChanges {
    let path =
        match flag {
            Some(p) => p.to_path_buf(),
            None => {
                let (spec, _) = tally_core::load::load_project(&ctx.project, &ctx.opts);
                match spec.config.duckdb {
                    Some(p) => ctx.project.join(&p.value),
                    None => return ValueChanges::Skipped(
                        "the project sets no `duckdb:` database in tally.yml (pass --duckdb FILE)"
                            .into(),
                    ),
                }
            }
        };
    if !path.exists() {
        return ValueChanges::Skipped(format!(
            "the database `{}` does not exist (`tally sample-data` or a first `tally query` creates it)",
            path.display()
        ));
    }
    // Both versions of the project run sandboxed, like `tally query`.
    let conn = match tally_duckdb::engine::open_project_database(&path) {
        Ok(c) => c,
        Err(e) => return ValueChanges::Skipped(format!("cannot open `{}`: {e}", path.display())),
    };
    let mut metrics = Vec::new();
    for a in d.affected.iter().filter(|a| a.values_may_change) {
        let renamed_from = d
            .metrics
            .iter()
            .find(|m| m.name == a.name)
            .and_then(|m| m.renamed_from.clone());
        let base_name = renamed_from.unwrap_or_else(|| a.name.clone());
        let mut notes = Vec::new();
        let mut side = |model: &Model, name: &str, label: &str| -> Vec<(String, Option<f64>)> {
            if !model.metrics.contains_key(name) {
                return Vec::new();
            }
            by_month(model, name, &conn).unwrap_or_else(|e| {
                notes.push(format!("{label}: {e}"));
                Vec::new()
            })
        };
        let b = side(base, &base_name, "base");
        let h = side(head, &a.name, "head");
        let mut months: Vec<String> = b.iter().chain(&h).map(|(m, _)| m.clone()).collect();
        months.sort();
        months.dedup();
        let rows = months
            .into_iter()
            .map(|m| {
                let bv = b.iter().find(|(x, _)| *x == m).and_then(|(_, v)| *v);
                let hv = h.iter().find(|(x, _)| *x == m).and_then(|(_, v)| *v);
                (m, bv, hv)
            })
            .collect();
        metrics.push(MetricValues {
            metric: a.name.clone(),
            rows,
            notes,
        });
    }
    ValueChanges::Ran {
        database: path.display().to_string(),
        metrics,
    }
}
