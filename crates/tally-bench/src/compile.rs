//! Compile-time benchmarks: load and validate synthetic projects of growing size (time and peak
//! memory, one child process per size), compile a typical query and wide derived queries on them,
//! time the stages on the repository's project, and run `tally sql` end to end as a process.

use crate::synth::{self, chain_name, ratio_name, wide_name, Shape};
use crate::{machine, median, ms, peak_rss_kib, Options};
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

pub fn request(metrics: &[String], group_by: &[&str], wheres: &[&str]) -> QueryRequest {
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

fn time_compile(model: &Model, req: &QueryRequest, runs: usize) -> Result<Duration, String> {
    let mut ts = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        compile_ok(model, req)?;
        ts.push(t.elapsed());
    }
    Ok(median(ts))
}

/// `compile-child --dir DIR`: load the project in DIR (first load timed alone, for peak memory),
/// then time more loads and the queries; prints one line of JSON.
pub fn child(opts: &Options) -> Result<(), String> {
    let dir = opts.dir.as_deref().ok_or("compile-child needs --dir")?;
    let before = peak_rss_kib();
    let t = Instant::now();
    let (model, diags) =
        tally_core::pipeline::load_model(dir, &LoadOptions::default(), &tally_templates::builtin());
    let first = t.elapsed();
    let peak = peak_rss_kib();
    if !diags.is_empty() {
        return Err(format!(
            "the synthetic project has diagnostics:\n{}",
            tally_core::diag::render_human(&model.sources, &diags, false)
        ));
    }
    let metrics = model.metrics.len();
    let mut loads = vec![first];
    for _ in 1..opts.runs {
        drop(std::hint::black_box(tally_core::pipeline::load_model(
            dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        )));
        let t = Instant::now();
        let loaded = tally_core::pipeline::load_model(
            dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        loads.push(t.elapsed());
        drop(std::hint::black_box(loaded));
    }
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
        "load_ms": ms(median(loads)),
        "first_load_ms": ms(first),
        "rss_before_kib": before,
        "rss_peak_kib": peak,
        "typical_us": typical.as_secs_f64() * 1e6,
        "wide": wide,
    });
    println!("{out}");
    Ok(())
}

pub fn run(opts: &Options) -> Result<(), String> {
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
    println!("Synthetic projects (generated YAML under {}; load = read, parse, resolve, validate; median of {} loads; peak RSS of a child process per size, baseline first):\n", root.display(), loads(opts));
    println!("| metrics | semantic models | measures | dimensions | YAML | load + validate | per metric | peak RSS (baseline) | typical query | wide 10 | wide 25 | wide 50 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
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
    }
    let _ = std::fs::remove_dir_all(&root);
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
        let t = Instant::now();
        let (spec, _) = tally_core::load::load_project(project, &opts);
        t_load.push(t.elapsed());
        let t = Instant::now();
        let (model, _) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
        t_resolve.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(tally_core::validate::validate_model(&model));
        t_validate.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(tally_core::metric_test::check_tests(&model));
        t_tests.push(t.elapsed());
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
        "The repository's project ({} metrics, {} semantic models, {} metric tests), median of {runs} runs per stage:\n",
        model.metrics.len(),
        model.semantic_models.len(),
        model.metric_tests.len()
    );
    println!("| stage | time |\n|---|---:|");
    for (name, d) in [
        ("load (read + parse YAML)", median(t_load)),
        ("resolve", median(t_resolve)),
        (
            "validate (plans every metric and saved query)",
            median(t_validate),
        ),
        (
            "check metric tests (plans every test query)",
            median(t_tests),
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
    let time = |args: &[&str]| -> Result<(Duration, Duration), String> {
        let mut ts = Vec::new();
        for _ in 0..PROCESS_RUNS {
            let t = Instant::now();
            let out = Command::new(&tally)
                .args(args)
                .current_dir(project)
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
