//! Metrics in CI: `tally test` (the project's metric tests on in-memory DuckDB) and `tally diff` (what changed
//! since a git ref, what it affects and who must know).

use crate::choices::{DiagFormat, DiffFormat};
use crate::ci_paths::ci_sources;
use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::Path;
use tally_core::diag::{self, codes, Diagnostic, JunitCase, JunitProblem, JunitProblemKind};
use tally_core::model::Model;
use tally_core::source::SourceMap;
use tally_duckdb::engine::Value;
use tally_duckdb::testing::{Outcome, TestReport};

// ----- test ----------------------------------------------------------------------------------------

fn status(r: &TestReport) -> &'static str {
    match r.outcome {
        Outcome::Passed => "passed",
        Outcome::Failed { .. } => "failed",
        Outcome::Error => "error",
    }
}

/// `tally test [FILTER] --format human|json|github|junit|sarif`.
pub(crate) fn test(ctx: &Ctx, filter: Option<&str>, format: DiagFormat) -> u8 {
    let loaded = crate::project::load(ctx);
    if loaded.unreadable() {
        ctx.print_diags(&loaded.model, &loaded.diags);
        return EXIT_USAGE;
    }
    let (model, diags) = (loaded.model, loaded.diags);
    // Problems of the tests themselves are reported per test; anything else stops the run.
    let mut test_diags = tally_core::metric_test::check_tests(&model);
    test_diags.extend(tally_core::targets::check_test::check_all(
        &tally_duckdb::check_testing::project(&model),
        &model.check_tests,
    ));
    let project_errors: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() && !test_diags.contains(d))
        .cloned()
        .collect();
    let sources = ci_sources(ctx, &model);
    if !project_errors.is_empty() {
        print_project_errors(ctx, &model, &sources, &project_errors, format);
        return EXIT_PROBLEMS;
    }
    // The project's warnings (not the tests' own problems, reported per test).
    let warnings: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| !d.is_error() && !test_diags.contains(d))
        .cloned()
        .collect();
    report::warn(ctx, &model.sources, &warnings);
    // Duplicate test names belong to no single test.
    let extra: Vec<Diagnostic> = test_diags
        .into_iter()
        .filter(|d| d.code == codes::DUPLICATE_NAME)
        .collect();
    let mut reports = tally_duckdb::testing::run_tests(&model, filter);
    reports.extend(tally_duckdb::check_testing::run_check_tests(&model, filter));
    let counts = Counts::of(&reports);
    let all_diags: Vec<Diagnostic> = extra
        .iter()
        .cloned()
        .chain(reports.iter().flat_map(|r| r.to_diagnostics()))
        .chain(reports.iter().flat_map(|r| r.warnings.iter().cloned()))
        .collect();
    match format {
        DiagFormat::Human => print!(
            "{}",
            render_test_human(ctx, &model, &reports, &extra, filter)
        ),
        DiagFormat::Json => {
            let v = test_json(&sources, &reports, &extra, counts);
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        DiagFormat::Github => {
            print!("{}", diag::render_github(&sources, &all_diags));
            println!(
                "{}",
                summary_line(counts.passed, counts.failed, counts.errors)
            );
        }
        DiagFormat::Junit => {
            let mut cases: Vec<JunitCase> =
                reports.iter().map(|r| junit_case(&sources, r)).collect();
            cases.extend(extra.iter().map(|d| junit_extra_case(&sources, d)));
            cases.extend(junit_warnings_case(&sources, &report::take_warnings(ctx)));
            print!("{}", diag::render_junit_cases("tally test", &cases));
        }
        DiagFormat::Sarif => {
            let mut all = report::take_warnings(ctx);
            all.extend(all_diags);
            let sarif = diag::to_sarif(&sources, &all);
            println!("{}", serde_json::to_string_pretty(&sarif).expect("json"));
        }
    }
    if reports.is_empty() && format == DiagFormat::Human {
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
    if counts.failed + counts.errors > 0 || !extra.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

/// How many tests passed, failed and could not run.
#[derive(Clone, Copy)]
struct Counts {
    passed: usize,
    failed: usize,
    errors: usize,
}

impl Counts {
    fn of(reports: &[TestReport]) -> Counts {
        let passed = reports.iter().filter(|r| r.passed()).count();
        let failed = reports
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
            .count();
        Counts {
            passed,
            failed,
            errors: reports.len() - passed - failed,
        }
    }
}

/// The project's own errors, which stop `tally test` before any test runs, in the format asked.
fn print_project_errors(
    ctx: &Ctx,
    model: &Model,
    sources: &SourceMap,
    errors: &[Diagnostic],
    format: DiagFormat,
) {
    match format {
        DiagFormat::Human => {
            eprint!("{}", diag::render_human(&model.sources, errors, ctx.color));
            eprintln!(
                "the project has {} error(s); metric tests run on a valid project (see `tally validate`)",
                errors.len()
            );
        }
        DiagFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_json(sources, errors)).expect("json")
        ),
        DiagFormat::Github => print!("{}", diag::render_github(sources, errors)),
        DiagFormat::Junit => print!("{}", diag::render_junit(sources, errors, "tally test")),
        DiagFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_sarif(sources, errors)).expect("json")
        ),
    }
}

/// `tally test --format json`: the counts, each test, and the diagnostics of no single test.
fn test_json(
    sources: &SourceMap,
    reports: &[TestReport],
    extra: &[Diagnostic],
    counts: Counts,
) -> serde_json::Value {
    let tests: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let loc = sources.location(r.span);
            serde_json::json!({
                "name": r.name,
                "file": loc.as_ref().map(|l| l.0.clone()),
                "line": loc.as_ref().map(|l| l.1),
                "kind": r.kind,
                "status": status(r),
                "diff": match &r.outcome { Outcome::Failed { diff, .. } => Some(diff.clone()), _ => None },
                "diagnostics": diag::to_json(sources, &r.diagnostics_and_warnings()),
                "sql": r.sql,
            })
        })
        .collect();
    serde_json::json!({
        "passed": counts.passed,
        "failed": counts.failed,
        "errors": counts.errors,
        "tests": tests,
        "diagnostics": diag::to_json(sources, extra),
    })
}

/// One test as a JUnit case, its class named after its file.
fn junit_case(sources: &SourceMap, r: &TestReport) -> JunitCase {
    let loc = sources.location(r.span);
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
        problem: junit_problem(sources, r),
        output: (!r.warnings.is_empty()).then(|| {
            r.warnings
                .iter()
                .map(|d| diag::plain_text(sources, d))
                .collect::<Vec<_>>()
                .join("\n")
        }),
    }
}

/// A failed test's difference, or the error that kept a test from running; `None` if it passed.
fn junit_problem(sources: &SourceMap, r: &TestReport) -> Option<JunitProblem> {
    match &r.outcome {
        Outcome::Passed => None,
        Outcome::Failed { diff, .. } => {
            let d = &r.to_diagnostics()[0];
            Some(JunitProblem {
                kind: JunitProblemKind::Failure,
                type_: codes::TEST_FAILED.into(),
                message: d.message.clone(),
                text: if r.kind == tally_duckdb::testing::CHECK_TEST {
                    format!("expected (-) and actual (+):\n{diff}")
                } else {
                    format!("expected (-) and actual (+) rows:\n{diff}")
                },
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
                .map(|d| diag::plain_text(sources, d))
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

/// The project's warnings as a passing JUnit case, in its `<system-out>`.
fn junit_warnings_case(sources: &SourceMap, warnings: &[Diagnostic]) -> Option<JunitCase> {
    (!warnings.is_empty()).then(|| JunitCase {
        name: "the project's warnings".into(),
        classname: "tally.test".into(),
        file: None,
        line: None,
        problem: None,
        output: Some(
            warnings
                .iter()
                .map(|d| diag::plain_text(sources, d))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    })
}

/// A diagnostic of no single test (a duplicate name) as an erroring JUnit case.
fn junit_extra_case(sources: &SourceMap, d: &Diagnostic) -> JunitCase {
    let loc = sources.location(d.span);
    JunitCase {
        name: d.message.clone(),
        classname: "tally.test".into(),
        file: loc.as_ref().map(|l| l.0.clone()),
        line: loc.as_ref().map(|l| l.1),
        problem: Some(JunitProblem {
            kind: JunitProblemKind::Error,
            type_: d.code.into(),
            message: d.message.clone(),
            text: diag::plain_text(sources, d),
        }),
        output: None,
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
    let checks = reports
        .iter()
        .filter(|r| r.kind == tally_duckdb::testing::CHECK_TEST)
        .count();
    let n = reports.len() - checks;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    out.push_str(&format!(
        "running {n} metric test{}{}{}\n",
        plural(n),
        if checks > 0 {
            format!(" and {checks} check test{}", plural(checks))
        } else {
            String::new()
        },
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
        if !r.warnings.is_empty() {
            let text = diag::render_human(&model.sources, &r.warnings, ctx.color);
            out.push_str(text.trim_end());
            out.push('\n');
        }
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
                    out.push_str(if r.kind == tally_duckdb::testing::CHECK_TEST {
                        "expected (-) and actual (+):\n"
                    } else {
                        "expected (-) and actual (+) rows:\n"
                    });
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

/// `tally diff --base <ref> [--format markdown|json] [--data] [--duckdb FILE]`: `diff::run`, with
/// the values that move on DuckDB when `--data`.
pub(crate) fn diff(
    ctx: &Ctx,
    base: &str,
    format: DiffFormat,
    data: bool,
    duckdb: Option<&Path>,
) -> u8 {
    let values = |b: &mut Model, h: &mut Model, d: &tally_core::diff::ModelDiff| {
        let v = value_changes(ctx, b, h, d, duckdb);
        (v.to_json(), v.to_markdown())
    };
    crate::diff::run(
        ctx,
        base,
        format,
        data.then_some(&values as crate::diff::DataChanges<'_>),
    )
}

// ----- diff --data -----------------------------------------------------------------------------------

/// One metric's values by month, with the base and the head definitions.
struct MetricValues {
    metric: String,
    /// (month, base, head).
    rows: Vec<(String, Option<f64>, Option<f64>)>,
    notes: Vec<String>,
    /// Months whose target status the change moves (monthly targets).
    flips: Vec<Flip>,
}

/// A month whose status against the metric's monthly target differs between the base and the
/// head definitions (values, targets, bands or maturity).
struct Flip {
    month: String,
    target: String,
    from: String,
    to: String,
    target_from: Option<f64>,
    target_to: Option<f64>,
}

impl Flip {
    fn sentence(&self, metric: &str) -> String {
        let t = |v: Option<f64>| v.map(number).unwrap_or_else(|| "none".into());
        let target = if self.target_from == self.target_to {
            format!("target {} {}", self.target, t(self.target_to))
        } else {
            format!(
                "target {} {} → {}",
                self.target,
                t(self.target_from),
                t(self.target_to)
            )
        };
        format!(
            "this change moves `{metric}` for {} from {} to {} ({target})",
            self.month, self.from, self.to
        )
    }
}

/// The status flips of one metric's months between the two models, at `as_of`.
fn flips(
    base: &Model,
    head: &Model,
    base_name: &str,
    metric: &str,
    rows: &[(String, Option<f64>, Option<f64>)],
    as_of: jiff::civil::DateTime,
) -> Vec<Flip> {
    use tally_core::targets::{period::Period, standing::standing};
    let grain = tally_core::time::Grain::Month;
    let mut out = Vec::new();
    for (month, b, h) in rows {
        let Ok(period) = Period::parse(grain, month) else {
            continue;
        };
        let sb = standing(base, base_name, grain, period, *b, as_of);
        let sh = standing(head, metric, grain, period, *h, as_of);
        if sb.is_none() && sh.is_none() {
            continue;
        }
        let name = |s: &Option<tally_core::targets::standing::Standing>| {
            s.as_ref()
                .map(|s| s.status.name().to_string())
                .unwrap_or_else(|| "no_target".into())
        };
        let (from, to) = (name(&sb), name(&sh));
        if from != to {
            out.push(Flip {
                month: month.clone(),
                target: sh
                    .as_ref()
                    .and_then(|s| s.target_name.clone())
                    .or_else(|| sb.as_ref().and_then(|s| s.target_name.clone()))
                    .unwrap_or_default(),
                from,
                to,
                target_from: sb.as_ref().and_then(|s| s.target),
                target_to: sh.as_ref().and_then(|s| s.target),
            });
        }
    }
    out
}

fn flips_markdown(metrics: &[MetricValues]) -> String {
    let all: Vec<String> = metrics
        .iter()
        .flat_map(|m| {
            m.flips
                .iter()
                .map(|f| format!("- {}\n", f.sentence(&m.metric)))
        })
        .collect();
    if all.is_empty() {
        return String::new();
    }
    format!("### Status flips\n\n{}\n", all.concat())
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
                "status_flips": metrics.iter().flat_map(|m| m.flips.iter().map(|f| serde_json::json!({
                    "metric": m.metric,
                    "period": f.month,
                    "target": f.target,
                    "from": f.from,
                    "to": f.to,
                    "target_from": f.target_from,
                    "target_to": f.target_to,
                    "message": f.sentence(&m.metric),
                }))).collect::<Vec<_>>(),
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
                out.push_str(&flips_markdown(metrics));
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
    if !m.notes.is_empty() || !m.flips.is_empty() {
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
/// A metric by month as `tally query` computes it on the local DuckDB: the `sql:` relations it
/// reads cached (`tally cache`), its result kept for the next run.
fn by_month(
    ctx: &Ctx,
    model: &mut Model,
    metric: &str,
    label: &str,
    conn: &tally_duckdb::duckdb::Connection,
    session: &mut tally_duckdb::cache::Session,
) -> Result<Vec<(String, Option<f64>)>, String> {
    use tally_core::yaml::Spanned;
    let req = tally_core::plan::QueryRequest {
        metrics: vec![Spanned::synthetic(metric.to_string())],
        group_by: vec![Spanned::synthetic("metric_time__month".to_string())],
        order_by: vec![Spanned::synthetic("metric_time__month".to_string())],
        ..Default::default()
    };
    let compile = |model: &Model| {
        tally_core::pipeline::compile_with(
            model,
            tally_core::dialect::Dialect::DuckDb,
            tally_core::pipeline::ClockForm::Relation,
            &req,
        )
        .map_err(|d| {
            d.first()
                .map(|d| format!("{}: {}", d.code, d.message))
                .unwrap_or_default()
        })
    };
    let mut compiled = compile(model)?;
    if crate::cache::prepare(ctx, session, conn, model, [&compiled.plan]) {
        compiled = compile(model)?;
    }
    let what = format!("{metric} ({label})");
    use tally_duckdb::cache::RunError;
    let table = session
        .run_query(conn, model, &what, &compiled.sql)
        .map_err(|e| match e {
            RunError::Clocks(e) => e.to_string(),
            RunError::Query(e) => e.to_string().lines().next().unwrap_or("").to_string(),
        })?;
    crate::cache::report(ctx, session);
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
    base: &mut Model,
    head: &mut Model,
    d: &tally_core::diff::ModelDiff,
    flag: Option<&Path>,
) -> ValueChanges {
    let path =
        match flag {
            Some(p) => p.to_path_buf(),
            None => {
                // Read when the working tree was loaded; a dbt target's database is not used.
                let db = crate::project::database_settings(ctx);
                match db.setting.filter(|_| !db.from_dbt) {
                    Some(p) => ctx.project.join(p),
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
    // Both versions of the project run sandboxed, like `tally query`, and share its cache: a
    // `sql:` relation both definitions read is one table, and a side whose query did not change
    // since the last run (the base, usually) reads its kept result.
    let (conn, mut session) = match tally_duckdb::engine::open_project_database_cached(
        &path,
        crate::cache::mode(ctx.cache),
    ) {
        Ok(c) => c,
        Err(e) => return ValueChanges::Skipped(format!("cannot open `{}`: {e}", path.display())),
    };
    crate::cache::report(ctx, &mut session);
    // Statuses are judged at the project's evaluation time, as `tally check` does.
    let as_of = crate::check::evaluation_time(head, None).ok();
    // Metrics whose values may move, and those whose targets, bands or maturity changed.
    let mut names: Vec<String> = d
        .affected
        .iter()
        .filter(|a| a.values_may_change)
        .map(|a| a.name.clone())
        .collect();
    for m in head.checks.metrics.keys() {
        if !names.contains(m)
            && tally_core::targets::describe::fields(base, m)
                != tally_core::targets::describe::fields(head, m)
        {
            names.push(m.clone());
        }
    }
    let mut metrics = Vec::new();
    for name in names {
        let renamed_from = d
            .metrics
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.renamed_from.clone());
        let base_name = renamed_from.unwrap_or_else(|| name.to_string());
        let mut notes = Vec::new();
        let mut side = |model: &mut Model, name: &str, label: &str| -> Vec<(String, Option<f64>)> {
            if !model.metrics.contains_key(name) {
                return Vec::new();
            }
            by_month(ctx, model, name, label, &conn, &mut session).unwrap_or_else(|e| {
                notes.push(format!("{label}: {e}"));
                Vec::new()
            })
        };
        let b = side(base, &base_name, "base");
        let h = side(head, &name, "head");
        let mut months: Vec<String> = b.iter().chain(&h).map(|(m, _)| m.clone()).collect();
        months.sort();
        months.dedup();
        let rows: Vec<(String, Option<f64>, Option<f64>)> = months
            .into_iter()
            .map(|m| {
                let bv = b.iter().find(|(x, _)| *x == m).and_then(|(_, v)| *v);
                let hv = h.iter().find(|(x, _)| *x == m).and_then(|(_, v)| *v);
                (m, bv, hv)
            })
            .collect();
        let flips = as_of
            .map(|t| flips(base, head, &base_name, &name, &rows, t))
            .unwrap_or_default();
        metrics.push(MetricValues {
            metric: name,
            rows,
            notes,
            flips,
        });
    }
    ValueChanges::Ran {
        database: path.display().to_string(),
        metrics,
    }
}
