//! Compile-time benchmarks: load and validate synthetic projects of growing size (time and peak
//! memory, one child process per size), compile a typical query and wide derived queries on them,
//! time the stages on the repository's project, and run `tally sql` end to end as a process.

use crate::synth::{self, chain_name, ratio_name, wide_name, Shape};
use crate::{machine, median, ms, peak_rss_kib, thread_cpu, Options};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tally_core::dialect::Dialect;
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;

/// Widths of the wide query (how many wide derived metrics it asks for).
const WIDTHS: [usize; 3] = [10, 25, 50];
/// Runs of the typical query per size.
const TYPICAL_RUNS: usize = 300;
/// Runs of `tally sql` as a process.
const PROCESS_RUNS: usize = 20;

pub(crate) fn request(metrics: &[String], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
    QueryRequest::of(metrics, group_by, wheres)
}

/// A typical query: a simple, a ratio and a derived metric (depth 3) by month and a dimension of a
/// joined model, with a filter on another.
fn typical_query() -> QueryRequest {
    request(
        &["simple_00000".to_string(), ratio_name(0), chain_name(0, 3)],
        &["metric_time__month", "customer__region"],
        &["{{ Dimension('customer__segment') }} = 'smb'"],
    )
}

/// `width` wide derived metrics (each the sum of 100 simple metrics) by month.
fn wide_query(width: usize) -> QueryRequest {
    let metrics: Vec<String> = (0..width).map(wide_name).collect();
    request(&metrics, &["metric_time__month"], &[])
}

fn compile_ok(model: &Model, req: &QueryRequest) -> Result<String, String> {
    tally_core::pipeline::compile(model, Dialect::DuckDb, req)
        .map(|c| c.sql)
        .map_err(|d| tally_core::diag::render_human(&model.sources, &d, false))
}

/// The mean CPU time of `runs` compiles: the thread's CPU clock advances in scheduler ticks, so
/// single short runs read as 0 or a tick, and only their sum is exact.
fn time_compile(model: &Model, req: &QueryRequest, runs: usize) -> Result<Duration, String> {
    let t = thread_cpu();
    for _ in 0..runs {
        compile_ok(model, req)?;
    }
    Ok(thread_cpu().saturating_sub(t) / runs.max(1) as u32)
}

/// The mean of some CPU times (each alone is rounded to scheduler ticks; their sum is exact).
fn mean(ds: &[Duration]) -> Duration {
    ds.iter().sum::<Duration>() / ds.len().max(1) as u32
}

/// Per-stage times of one load: parse (read + YAML), resolve, validate, metric tests, graph.
#[derive(Default, Clone, Copy)]
struct StageTimes {
    parse: Duration,
    resolve: Duration,
    validate: Duration,
    tests: Duration,
    graph: Duration,
}

impl StageTimes {
    /// Load `dir` stage by stage (what `pipeline::load_model` does, each stage timed alone, on
    /// the threads it uses: see `tally_core::heap`), then build the project graph; the model and
    /// every diagnostic.
    fn load(dir: &Path) -> (StageTimes, Model, Vec<tally_core::diag::Diagnostic>) {
        tally_core::heap::apart(|| Self::load_here(dir))
    }

    fn load_here(dir: &Path) -> (StageTimes, Model, Vec<tally_core::diag::Diagnostic>) {
        let mut st = StageTimes::default();
        let t = thread_cpu();
        let (spec, mut diags) = tally_core::load::load_project(dir, &LoadOptions::default());
        st.parse = thread_cpu().saturating_sub(t);
        let t = thread_cpu();
        let (model, more) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
        st.resolve = thread_cpu().saturating_sub(t);
        diags.extend(more);
        let (validated, validate) = tally_core::heap::apart(|| {
            let t = thread_cpu();
            let v = tally_core::validate::validate_model(&model);
            (v, thread_cpu().saturating_sub(t))
        });
        diags.extend(validated);
        st.validate = validate;
        let t = thread_cpu();
        diags.extend(tally_core::metric_test::check_tests(&model));
        st.tests = thread_cpu().saturating_sub(t);
        let t = thread_cpu();
        std::hint::black_box(tally_core::graph::build_graph(&model));
        st.graph = thread_cpu().saturating_sub(t);
        (st, model, diags)
    }

    fn load_total(&self) -> Duration {
        self.parse + self.resolve + self.validate + self.tests
    }

    /// The median of each stage over some runs.
    fn medians(runs: &[StageTimes]) -> StageTimes {
        let m = |f: fn(&StageTimes) -> Duration| median(runs.iter().map(f).collect());
        StageTimes {
            parse: m(|s| s.parse),
            resolve: m(|s| s.resolve),
            validate: m(|s| s.validate),
            tests: m(|s| s.tests),
            graph: m(|s| s.graph),
        }
    }
}

/// `compile-child --dir DIR`: load the project in DIR stage by stage (first load alone, for peak
/// memory), then time more loads and the queries; prints one line of JSON.
pub(crate) fn child(opts: &Options) -> Result<(), String> {
    let dir = opts.dir.as_deref().ok_or("compile-child needs --dir")?;
    let before = peak_rss_kib();
    let (first, model, diags) = StageTimes::load(dir);
    let peak = peak_rss_kib();
    if !diags.is_empty() {
        return Err(format!(
            "the synthetic project has diagnostics:\n{}",
            tally_core::diag::render_human(&model.sources, &diags, false)
        ));
    }
    let metrics = model.metrics.len();
    let mut runs = vec![first];
    for _ in 1..opts.runs {
        let (st, m, d) = StageTimes::load(dir);
        runs.push(st);
        drop(std::hint::black_box((m, d)));
    }
    let st = StageTimes::medians(&runs);
    let typical = time_compile(&model, &typical_query(), TYPICAL_RUNS)?;
    let mut wide = Vec::new();
    for w in WIDTHS {
        let req = wide_query(w);
        let sql_len = compile_ok(&model, &req)?.len();
        let d = time_compile(&model, &req, 5)?;
        wide.push(serde_json::json!({"width": w, "ms": ms(d), "sql_bytes": sql_len}));
    }
    let out = serde_json::json!({
        "metrics": metrics,
        "semantic_models": model.semantic_models.len(),
        "load_ms": ms(st.load_total()),
        "first_load_ms": ms(first.load_total()),
        "parse_ms": ms(st.parse),
        "resolve_ms": ms(st.resolve),
        "validate_ms": ms(st.validate),
        "tests_ms": ms(st.tests),
        "graph_ms": ms(st.graph),
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "typical_us": typical.as_secs_f64() * 1e6,
        "wide": wide,
    });
    println!("{out}");
    Ok(())
}

/// `wide-query --dir DIR [--runs N]`: load the generated project in DIR, then compile the 50-wide
/// query N times and print its shape (CTEs, SQL bytes) and mean CPU time. For profilers: the
/// compiles run in [`wide_runs`] alone (`valgrind --tool=callgrind --collect-atstart=no
/// --toggle-collect='*wide_runs*'`), so a profile of the query leaves out the loading.
pub(crate) fn wide_profile(opts: &Options) -> Result<(), String> {
    let dir = opts.dir.as_deref().ok_or("wide-query needs --dir")?;
    let (model, diags) =
        tally_core::pipeline::load_model(dir, &LoadOptions::default(), &tally_templates::builtin());
    if diags.iter().any(|d| d.is_error()) {
        return Err(tally_core::diag::render_human(
            &model.sources,
            &diags,
            false,
        ));
    }
    let req = wide_query(WIDTHS[WIDTHS.len() - 1]);
    let sql = compile_ok(&model, &req)?;
    let plan = tally_core::plan::plan_query(&model, &req)
        .map_err(|d| tally_core::diag::render_human(&model.sources, &d, false))?;
    let t = thread_cpu();
    wide_runs(&model, &req, opts.runs)?;
    let d = thread_cpu().saturating_sub(t) / opts.runs.max(1) as u32;
    println!(
        "metrics {} semantic models {}: wide {} query: {} CTEs, {} bytes of SQL, {:.1} ms (mean CPU of {} compiles)",
        model.metrics.len(),
        model.semantic_models.len(),
        req.metrics.len(),
        plan.query.ctes.len(),
        sql.len(),
        ms(d),
        opts.runs
    );
    Ok(())
}

/// `runs` compiles of `req` (see [`wide_profile`]).
#[inline(never)]
fn wide_runs(model: &Model, req: &QueryRequest, runs: usize) -> Result<(), String> {
    for _ in 0..runs {
        std::hint::black_box(compile_ok(model, req)?);
    }
    Ok(())
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    println!("## Compile benchmarks\n");
    println!("machine: {}\n", machine());
    synthetic(opts)?;
    stages(&opts.project)?;
    process(&opts.project)?;
    Ok(())
}

fn synthetic(opts: &Options) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let root = std::env::temp_dir().join(format!("tally-bench-{}", std::process::id()));
    println!("Synthetic projects (generated YAML under {}; load = read, parse, resolve, validate; times are CPU time of the loading thread (`/proc/thread-self/schedstat`), which moves less than wall time on a shared machine; median of {} loads; peak RSS of a child process per size, baseline first):\n", root.display(), loads(opts));
    println!("| metrics | semantic models | measures | dimensions | YAML | load + validate | per metric | peak RSS (baseline) | typical query | wide 10 | wide 25 | wide 50 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut stage_rows = Vec::new();
    for &size in &opts.sizes {
        let dir = root.join(format!("p{size}"));
        let shape: Shape = synth::write_project(&dir, size).map_err(|e| e.to_string())?;
        let bytes = dir_bytes(&dir);
        let out = Command::new(&exe)
            .arg("compile-child")
            .arg("--dir")
            .arg(&dir)
            .arg("--runs")
            .arg(loads(opts).to_string())
            .output()
            .map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&dir);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        let wide = |i: usize| v["wide"][i]["ms"].as_f64().unwrap_or(0.0);
        println!(
            "| {} | {} | {} | {} | {:.1} MB | {:.0} ms | {:.1} µs | {:.0} MB ({:.0} MB) | {:.0} µs | {:.1} ms | {:.1} ms | {:.1} ms |",
            shape.metrics(),
            shape.semantic_models + 1,
            shape.measures,
            shape.dimensions,
            bytes as f64 / 1e6,
            f("load_ms"),
            f("load_ms") * 1e3 / shape.metrics() as f64,
            f("rss_peak_kib") / 1024.0,
            f("rss_before_kib") / 1024.0,
            f("typical_us"),
            wide(0),
            wide(1),
            wide(2),
        );
        stage_rows.push((shape.metrics(), v));
    }
    let _ = std::fs::remove_dir_all(&root);
    println!();
    println!("Per stage (median of the same loads; µs per metric in brackets; linear growth keeps the bracketed figure flat). load = parse + resolve + validate + metric tests; graph (`tally graph`'s `build_graph`) is not part of a load:\n");
    println!(
        "| metrics | parse (read + YAML) | resolve | validate | metric tests | load | graph |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (n, v) in &stage_rows {
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        let cell = |k: &str| format!("{:.0} ms ({:.1})", f(k), f(k) * 1e3 / *n as f64);
        println!(
            "| {n} | {} | {} | {} | {} | {} | {} |",
            cell("parse_ms"),
            cell("resolve_ms"),
            cell("validate_ms"),
            cell("tests_ms"),
            cell("load_ms"),
            cell("graph_ms"),
        );
    }
    println!();
    Ok(())
}

/// Loads per project size: `--runs`, at least 3.
fn loads(opts: &Options) -> usize {
    opts.runs.max(3)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += dir_bytes(&p);
            } else if let Ok(m) = e.metadata() {
                n += m.len();
            }
        }
    }
    n
}

/// The repository's query of the README, by month and team.
const REPO_ARGS: [&str; 5] = [
    "sql",
    "--metrics",
    "resolution_rate,csat",
    "--group-by",
    "metric_time__month,conversation__team_name",
];

/// Stage by stage on the repository's project (median of 20 runs each).
fn stages(project: &Path) -> Result<(), String> {
    let opts = LoadOptions::default();
    let runs = 20;
    let mut t_load = Vec::new();
    let mut t_resolve = Vec::new();
    let mut t_validate = Vec::new();
    let mut t_tests = Vec::new();
    for _ in 0..runs {
        let t = thread_cpu();
        let (spec, _) = tally_core::load::load_project(project, &opts);
        t_load.push(thread_cpu().saturating_sub(t));
        let t = thread_cpu();
        let (model, _) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
        t_resolve.push(thread_cpu().saturating_sub(t));
        let t = thread_cpu();
        std::hint::black_box(tally_core::validate::validate_model(&model));
        t_validate.push(thread_cpu().saturating_sub(t));
        let t = thread_cpu();
        std::hint::black_box(tally_core::metric_test::check_tests(&model));
        t_tests.push(thread_cpu().saturating_sub(t));
    }
    let (model, diags) =
        tally_core::pipeline::load_model(project, &opts, &tally_templates::builtin());
    if diags.iter().any(|d| d.is_error()) {
        return Err("the repository's project has errors".into());
    }
    let req = request(
        &["resolution_rate".into(), "csat".into()],
        &["metric_time__month", "conversation__team_name"],
        &[],
    );
    let compile = time_compile(&model, &req, 100)?;
    println!(
        "The repository's project ({} metrics, {} semantic models, {} metric tests), mean CPU time of {runs} runs per stage:\n",
        model.metrics.len(),
        model.semantic_models.len(),
        model.metric_tests.len()
    );
    println!("| stage | time |\n|---|---:|");
    for (name, d) in [
        ("load (read + parse YAML)", mean(&t_load)),
        ("resolve", mean(&t_resolve)),
        (
            "validate (plans every metric and saved query)",
            mean(&t_validate),
        ),
        (
            "check metric tests (plans every test query)",
            mean(&t_tests),
        ),
        ("compile `resolution_rate,csat` by month and team", compile),
    ] {
        println!("| {name} | {:.2} ms |", ms(d));
    }
    println!();
    Ok(())
}

/// `tally sql` and `tally --version` as processes (wall time, median of 20).
fn process(project: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let tally = exe.with_file_name("tally");
    if !tally.exists() {
        println!(
            "(no {} binary: skipping the process benchmark)",
            tally.display()
        );
        return Ok(());
    }
    // tally's validation cache in a directory of this run: `tally sql` after `tally validate`
    // replays the validation of the unchanged project (README, "Performance").
    let cache = tempfile::tempdir().map_err(|e| e.to_string())?;
    let time = |args: &[&str]| -> Result<(Duration, Duration), String> {
        let mut ts = Vec::new();
        for _ in 0..PROCESS_RUNS {
            let t = Instant::now();
            let out = Command::new(&tally)
                .args(args)
                .current_dir(project)
                .env("TALLY_CACHE_DIR", cache.path())
                .output()
                .map_err(|e| e.to_string())?;
            ts.push(t.elapsed());
            if !out.status.success() {
                return Err(format!(
                    "tally {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let min = ts.iter().min().copied().unwrap_or_default();
        Ok((median(ts), min))
    };
    println!("`tally` as a process on the repository's project (wall time, median and minimum of {PROCESS_RUNS} runs):\n");
    println!("| command | median | min |\n|---|---:|---:|");
    for args in [&["--version"][..], &["validate"][..], &REPO_ARGS[..]] {
        let (med, min) = time(args)?;
        println!(
            "| `tally {}` | {:.1} ms | {:.1} ms |",
            args.join(" "),
            ms(med),
            ms(min)
        );
    }
    println!();
    Ok(())
}
