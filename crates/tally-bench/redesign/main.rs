//! Before/after figures of the #12 redesign: tally-core at 025f6ff against tally-core now, in
//! process, on the same project files. Built twice by `scripts/bench-redesign` (outside the
//! workspace, each against its own tally-core and Cargo.lock), with `core_api.rs` the copy of
//! `old.rs` or `new.rs`: everything else, what is measured and how, is this one file.
//!
//! ```text
//! tally-redesign-bench generate DIR METRICS        write a synthetic project (tally-bench's synth.rs)
//! tally-redesign-bench time DIR synth|intercom [LOADS]   one child's CPU times, one line of key=value
//! tally-redesign-bench count DIR OP               run OP once inside `measured` (for callgrind's
//!                                                 --toggle-collect): load|typical|wide10|wide25|wide50|intercom
//!                                                 (noop: nothing, for whole-process counts)
//! tally-redesign-bench compare --old BIN [--rounds 5 (0: no times)] [--callgrind] [--loads N] PROJECT...
//!     PROJECT = synth:DIR or intercom:DIR; paired rounds of `time` children of this binary and of
//!     BIN (order alternating), medians, ratios; with --callgrind also instruction counts of `count`.
//! ```
//!
//! Times are the CPU time of the process (every thread's: the new core loads on threads of its
//! own), not wall time: the machine is shared. Instruction counts (callgrind's `Ir`, collected only inside `measured`)
//! do not depend on the load at all. Nothing here asserts a time.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool: printing is its job

mod core_api;
mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Widths of the wide query (how many of the 50 wide derived metrics it asks for).
const WIDTHS: [usize; 3] = [10, 25, 50];
/// Compiles per child of the typical and the Intercom query, and of each wide query.
const TYPICAL_RUNS: usize = 300;
const WIDE_RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let result = match arg(0) {
        "generate" => synth::write_project(Path::new(arg(1)), arg(2).parse().unwrap_or(10_000))
            .map(|shape| println!("{shape:?}"))
            .map_err(|e| e.to_string()),
        "time" => time(Path::new(arg(1)), arg(2), arg(3).parse().unwrap_or(3)),
        "count" => count(Path::new(arg(1)), arg(2)),
        "compare" => compare(&args[1..]),
        _ => Err(
            "usage: tally-redesign-bench generate|time|count|compare (see the source's header)"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("tally-redesign-bench ({}): {e}", core_api::NAME);
        std::process::exit(1);
    }
}

/// CPU time of this process so far: every thread's, ended threads' included (`clock_gettime`'s
/// `CLOCK_PROCESS_CPUTIME_ID`). The new core loads on threads of its own
/// (`tally_core::heap::apart`), so the measuring thread's own clock would miss the load; the
/// harness starts no other thread, so elsewhere this is the measuring thread's time.
fn cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec (Linux x86-64 layout) for the call's duration.
    if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Peak resident memory of this process so far (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            l.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A query by name: the synthetic project's typical and wide queries, the Intercom query.
fn query(op: &str) -> Option<(Vec<String>, Vec<&'static str>, Vec<&'static str>)> {
    if op == "typical" {
        return Some((
            vec![
                "simple_00000".into(),
                synth::ratio_name(0),
                synth::chain_name(0, 3),
            ],
            vec!["metric_time__month", "customer__region"],
            vec!["{{ Dimension('customer__segment') }} = 'smb'"],
        ));
    }
    if op == "intercom" {
        return Some((
            vec!["resolution_rate".into(), "csat".into()],
            vec!["metric_time__month", "conversation__team_name"],
            vec![],
        ));
    }
    let width: usize = op.strip_prefix("wide")?.parse().ok()?;
    Some((
        (0..width).map(synth::wide_name).collect(),
        vec!["metric_time__month"],
        vec![],
    ))
}

fn load_clean(dir: &Path) -> Result<core_api::Model, String> {
    let (model, diags) = core_api::load(dir);
    if diags.is_empty() {
        Ok(model)
    } else {
        Err(format!("{} has diagnostics:\n{diags}", dir.display()))
    }
}

/// Mean CPU time in µs of `runs` compiles of `op` (the clock advances in scheduler ticks, so only
/// a sum over many runs is exact), and the SQL's length.
fn time_query(model: &core_api::Model, op: &str, runs: usize) -> Result<(f64, usize), String> {
    let (m, g, w) = query(op).ok_or_else(|| format!("unknown query {op}"))?;
    let len = core_api::compile(model, &m, &g, &w)?;
    let t = cpu_time();
    for _ in 0..runs {
        std::hint::black_box(core_api::compile(model, &m, &g, &w)?);
    }
    Ok((
        cpu_time().saturating_sub(t).as_secs_f64() * 1e6 / runs as f64,
        len,
    ))
}

/// `time DIR KIND LOADS`: mean CPU time of LOADS whole loads (`pipeline::load_model`) and of
/// each stage (the clock advances at scheduler ticks and switches, so a short stage alone
/// may read 0; a mean over several is exact), peak memory after the first load, then the queries
/// of KIND. One line of key=value.
fn time(dir: &Path, kind: &str, loads: usize) -> Result<(), String> {
    let t = cpu_time();
    let model = load_clean(dir)?;
    let first = cpu_time().saturating_sub(t);
    let mut out: Vec<(String, f64)> = vec![
        ("metrics".into(), core_api::metric_count(&model) as f64),
        ("rss_mb".into(), peak_rss_kib() as f64 / 1024.0),
    ];
    let mut whole = vec![first.as_secs_f64() * 1e3];
    for _ in 1..loads.max(1) {
        let t = cpu_time();
        std::hint::black_box(core_api::load(dir));
        whole.push(cpu_time().saturating_sub(t).as_secs_f64() * 1e3);
    }
    out.push(("load_ms".into(), mean(&whole)));
    let mut stages: Vec<[Duration; 5]> = Vec::new();
    for _ in 0..loads.max(1) {
        stages.push(core_api::stages(dir, cpu_time));
    }
    for (i, name) in ["parse", "resolve", "validate", "tests", "checks"]
        .iter()
        .enumerate()
    {
        let ms = mean(
            &stages
                .iter()
                .map(|s| s[i].as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        );
        out.push((format!("{name}_ms"), ms));
    }
    let ops: Vec<(String, usize)> = if kind == "intercom" {
        vec![("intercom".into(), TYPICAL_RUNS)]
    } else {
        let mut v = vec![("typical".to_string(), TYPICAL_RUNS)];
        v.extend(WIDTHS.iter().map(|w| (format!("wide{w}"), WIDE_RUNS)));
        v
    };
    for (op, runs) in ops {
        let (us, len) = time_query(&model, &op, runs)?;
        out.push((format!("{op}_us"), us));
        out.push((format!("{op}_sql_bytes"), len as f64));
    }
    let line: Vec<String> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{}", line.join(" "));
    Ok(())
}

/// The one function callgrind collects in (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(f: &mut dyn FnMut()) {
    f();
}

/// `count DIR OP`: load DIR, warm the query up once, then run OP once inside [`measured`]
/// (`load`: the load itself; `noop`: nothing, the base of a whole-process count).
fn count(dir: &Path, op: &str) -> Result<(), String> {
    if op == "noop" {
        measured(&mut || ());
        return Ok(());
    }
    if op == "load" {
        let mut result = None;
        measured(&mut || result = Some(core_api::load(dir)));
        return match result {
            Some((_, d)) if d.is_empty() => Ok(()),
            _ => Err("the project has diagnostics".into()),
        };
    }
    let model = load_clean(dir)?;
    let (m, g, w) = query(op).ok_or_else(|| format!("unknown op {op}"))?;
    core_api::compile(&model, &m, &g, &w)?;
    let mut result = Ok(0);
    measured(&mut || result = core_api::compile(&model, &m, &g, &w));
    result.map(|_| ())
}

/// One project of a comparison: its kind (`synth` or `intercom`) and directory.
struct Project {
    kind: String,
    dir: PathBuf,
}

impl Project {
    fn label(&self) -> String {
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        format!("{}:{name}", self.kind)
    }
}

struct CompareOptions {
    old: PathBuf,
    rounds: usize,
    loads: usize,
    callgrind: bool,
    projects: Vec<Project>,
}

fn parse_compare(args: &[String]) -> Result<CompareOptions, String> {
    let mut o = CompareOptions {
        old: PathBuf::new(),
        rounds: 5,
        loads: 3,
        callgrind: false,
        projects: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--old" => o.old = PathBuf::from(value()?),
            "--rounds" => o.rounds = value()?.parse().map_err(|_| "--rounds: a number")?,
            "--loads" => o.loads = value()?.parse().map_err(|_| "--loads: a number")?,
            "--callgrind" => o.callgrind = true,
            p => {
                let (kind, dir) = p.split_once(':').ok_or(format!("not KIND:DIR: {p}"))?;
                if kind != "synth" && kind != "intercom" {
                    return Err(format!("unknown project kind {kind} (synth or intercom)"));
                }
                o.projects.push(Project {
                    kind: kind.into(),
                    dir: dir.into(),
                });
            }
        }
    }
    if o.old.as_os_str().is_empty() || o.projects.is_empty() {
        return Err("compare needs --old BIN and at least one KIND:DIR".into());
    }
    Ok(o)
}

/// Run one child and parse its line of key=value.
fn child(bin: &Path, args: &[&str]) -> Result<BTreeMap<String, f64>, String> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

/// `compare`: paired rounds (old and new in alternating order, each project a fresh child of each),
/// then a table of medians over rounds and new/old ratios.
fn compare(args: &[String]) -> Result<(), String> {
    let o = parse_compare(args)?;
    let new = std::env::current_exe().map_err(|e| e.to_string())?;
    // (project, key) -> ([old values], [new values])
    let mut figures: BTreeMap<(usize, String), [Vec<f64>; 2]> = BTreeMap::new();
    for round in 0..o.rounds {
        for (p, project) in o.projects.iter().enumerate() {
            let order = if (round + p) % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                let bin = if side == 0 { &o.old } else { &new };
                let dir = project.dir.to_string_lossy();
                // The Intercom project loads in milliseconds: more loads for an exact mean.
                let n = if project.kind == "intercom" {
                    o.loads.max(30)
                } else {
                    o.loads
                };
                let loads = n.to_string();
                let v = child(bin, &["time", &dir, &project.kind, &loads])?;
                for (k, x) in v {
                    figures.entry((p, k)).or_default()[side].push(x);
                }
            }
        }
        eprintln!("round {} of {} done", round + 1, o.rounds);
    }
    if o.rounds > 0 {
        time_table(&o, &figures);
    }
    if o.callgrind {
        counts(&o, &new)?;
    }
    Ok(())
}

/// The table of CPU times: medians over rounds, new/old.
fn time_table(o: &CompareOptions, figures: &BTreeMap<(usize, String), [Vec<f64>; 2]>) {
    println!("CPU time of the process (all its threads), median of {} paired rounds (each round one child process per core and project, order alternating; loads: mean of {} per child, Intercom 30; queries: mean of {TYPICAL_RUNS} compiles, wide {WIDE_RUNS}):\n", o.rounds, o.loads);
    println!("| project | figure | old (025f6ff) | new | new / old |\n|---|---|---:|---:|---:|");
    for ((p, key), [old, new]) in figures {
        let (a, b) = (median(old.clone()), median(new.clone()));
        if a == 0.0 && b == 0.0 {
            continue; // a stage neither side has (check tests) or an empty one
        }
        println!(
            "| {} | {key} | {a:.3} | {b:.3} | {:.2} |",
            o.projects[*p].label(),
            b / a
        );
    }
    println!();
}

/// Instruction counts (callgrind's Ir inside [`measured`]) of each operation, old and new.
fn counts(o: &CompareOptions, new: &Path) -> Result<(), String> {
    let tmp = std::env::temp_dir().join(format!("tally-redesign-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    println!("Instructions (callgrind, collected inside the measured call only, and in the threads a load starts; one run each; hash seeds move counts by about 0.2%):\n");
    println!("| project | operation | old (025f6ff) | new | new / old |\n|---|---|---:|---:|---:|");
    for project in &o.projects {
        let ops: &[&str] = if project.kind == "intercom" {
            &["load", "intercom"]
        } else {
            &["load", "typical", "wide10", "wide25", "wide50"]
        };
        for op in ops {
            let mut ir = [0u64; 2];
            for (side, bin) in [&o.old, &new.to_path_buf()].into_iter().enumerate() {
                ir[side] = callgrind(bin, &project.dir, op, &tmp)?;
            }
            println!(
                "| {} | {op} | {} | {} | {:.2} |",
                project.label(),
                ir[0],
                ir[1],
                ir[1] as f64 / ir[0] as f64
            );
        }
    }
    println!();
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// Callgrind's `Ir` of `count DIR OP`. Collection is on inside [`measured`] only, and callgrind's
/// collection state is per thread: a thread started inside `measured` (the new core loads on
/// threads of its own, `tally_core::heap::apart`) would start with it off. So for the load, every
/// thread's entry function (std's `thread_start`) turns collection on as well: the threads the load
/// starts are counted whole, the main thread's wait for them is a blocked call. Only for the load:
/// a query's model is loaded before `measured`, on threads that must not be counted; 025f6ff
/// starts no thread, so its count is unchanged.
fn callgrind(bin: &Path, dir: &Path, op: &str, tmp: &Path) -> Result<u64, String> {
    let out_file = tmp.join("callgrind.out");
    let mut valgrind = Command::new("valgrind");
    valgrind
        .arg("--tool=callgrind")
        .arg("--toggle-collect=*measured*");
    if op == "load" {
        valgrind.arg("--toggle-collect=*thread_start*");
    }
    let out = valgrind
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(bin)
        .arg("count")
        .arg(dir)
        .arg(op)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(err.into_owned());
    }
    err.lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .and_then(|(_, n)| n.trim().parse().ok())
        })
        .ok_or_else(|| format!("no count in valgrind's output:\n{err}"))
}
