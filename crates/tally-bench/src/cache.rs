//! `tally-bench cache`: the materialisation cache as a user meets it, through the `tally` binary
//! on generated Intercom data (1M conversations by default): every metric by month without the
//! cache, on the first run with it (which builds the `sql:` relations the query reads, unless an
//! earlier metric did), and on later runs (median); the rows must be the same. Then `tally check`
//! over every target, on a cold cache and a warm one.

use crate::{median, ms, Options};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) fn tally() -> Result<PathBuf, String> {
    let t = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("tally");
    if t.exists() {
        Ok(t)
    } else {
        Err(format!("no {} binary (build it first)", t.display()))
    }
}

/// Run `tally args...`; its stdout and wall time. A failure is an error with its stderr.
fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// CPU time (user and system) of this process's waited-for children so far (`cutime` and
/// `cstime` of /proc/self/stat): the machine may be shared, and a process's CPU time moves less
/// with the load than its wall time.
pub(crate) fn children_cpu() -> Duration {
    stat_ticks(13)
}

/// Fields `first` and `first + 1` of /proc/self/stat after the command name (0 = the state),
/// summed, as CPU time (clock ticks of 10 ms): `utime`/`stime` at 11, `cutime`/`cstime` at 13.
pub(crate) fn stat_ticks(first: usize) -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            Some(f.get(first)? + f.get(first + 1)?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Two CSV outputs hold the same rows, numbers within 1e-9 relative (a parallel sum's order
/// changes the last digits).
fn same_csv(a: &str, b: &str) -> bool {
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    la.len() == lb.len()
        && la.iter().zip(&lb).all(|(x, y)| {
            let fx: Vec<&str> = x.split(',').collect();
            let fy: Vec<&str> = y.split(',').collect();
            fx.len() == fy.len()
                && fx.iter().zip(&fy).all(|(u, v)| {
                    u == v
                        || matches!((u.parse::<f64>(), v.parse::<f64>()), (Ok(p), Ok(q))
                            if (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0))
                })
        })
}

fn timed(tally: &Path, project: &Path, args: &[&str]) -> Result<(String, Duration), String> {
    let (out, took) = run_tally(tally, project, args)?;
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), took))
}

/// Runs `tally ARGS --project PROJECT` to its end: its output and wall time, an error when it failed.
fn run_tally(
    tally: &Path,
    project: &Path,
    args: &[&str],
) -> Result<(std::process::Output, Duration), String> {
    let t = Instant::now();
    let out = Command::new(tally)
        .args(args)
        .arg("--project")
        .arg(project)
        .output()
        .map_err(|e| e.to_string())?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "tally {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((out, took))
}

/// What the figures ran on: the generated database of `n` conversations, or the file `--duckdb`
/// named (whose size the benchmark does not know).
fn data_label(opts: &Options, n: usize, db: &Path) -> String {
    match opts.duckdb {
        Some(_) => format!("the database {}", db.display()),
        None => format!("{n} conversations ({})", db.display()),
    }
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    if opts.hits {
        return hits(opts);
    }
    let tally = tally()?;
    let n = opts.conversations.first().copied().unwrap_or(1_000_000);
    let db = crate::exec::database(opts, n)?;
    let dbs = db.to_string_lossy().into_owned();
    let project = &opts.project;
    let metrics = metric_names(opts);
    println!("## The materialisation cache\n");
    println!("machine: {}\n", crate::machine());
    println!(
        "{} metrics by month on {}; `tally query` as a process, wall time; \
         second run: median of {} runs\n",
        metrics.len(),
        data_label(opts, n, &db),
        opts.runs
    );
    timed(&tally, project, &["cache", "clear", "--duckdb", &dbs])?;
    println!("| metric | --cache off | first run | second run | its CPU time | same rows |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut seconds = Vec::new();
    let mut cpus = Vec::new();
    let mut firsts = Duration::ZERO;
    let mut offs = Duration::ZERO;
    for m in &metrics {
        let off_args = query_args(m, &dbs, "off");
        let on_args = query_args(m, &dbs, "on");
        let (plain, off) = timed(&tally, project, &refs(&off_args))?;
        let (first_rows, first) = timed(&tally, project, &refs(&on_args))?;
        let mut ts = Vec::new();
        let mut cpu = Vec::new();
        let mut same = same_csv(&first_rows, &plain);
        for _ in 0..opts.runs {
            let before = children_cpu();
            let (rows, t) = timed(&tally, project, &refs(&on_args))?;
            cpu.push(children_cpu().saturating_sub(before));
            same &= same_csv(&rows, &plain);
            ts.push(t);
        }
        let second = median(ts);
        let second_cpu = median(cpu);
        seconds.push(second);
        cpus.push(second_cpu);
        firsts += first;
        offs += off;
        println!(
            "| `{m}` | {:.0} ms | {:.0} ms | {:.1} ms | {:.0} ms | {} |",
            ms(off),
            ms(first),
            ms(second),
            ms(second_cpu),
            if same { "yes" } else { "NO" }
        );
    }
    let worst = seconds.iter().max().copied().unwrap_or_default();
    println!(
        "\ntotal: {:.1} s without the cache, {:.1} s on first runs; second runs: median {:.1} ms, \
         slowest {:.1} ms (goal: under 100 ms); their CPU time: median {:.0} ms, largest {:.0} ms\n",
        offs.as_secs_f64(),
        firsts.as_secs_f64(),
        ms(median(seconds.clone())),
        ms(worst),
        ms(median(cpus.clone())),
        ms(cpus.iter().max().copied().unwrap_or_default())
    );
    check(&tally, project, &dbs)
}

/// The metrics of the project whose name contains one of `--only`'s comma-separated parts (all
/// without `--only`), sorted by name.
fn metric_names(opts: &Options) -> Vec<String> {
    let (model, _) = tally_core::pipeline::load_model(
        &opts.project,
        &tally_core::load::LoadOptions::default(),
        &tally_templates::builtin(),
    );
    model
        .metrics
        .keys()
        .filter(|m| opts.picks(m))
        .cloned()
        .collect()
}

/// `tally query` of one metric by month, CSV, on `db` with `--cache mode`.
fn query_args(metric: &str, db: &str, mode: &str) -> Vec<String> {
    [
        "query",
        "--metrics",
        metric,
        "--group-by",
        "metric_time__month",
        "--format",
        "csv",
        "--duckdb",
        db,
        "--cache",
        mode,
    ]
    .map(String::from)
    .to_vec()
}

/// `tally-bench cache --hits`: the cache hit of every metric (or those of `--only`) without
/// clearing the cache or running `--cache off`: one run with the cache on (it builds what no
/// earlier run built), then `--runs` runs timed. One line per metric, slowest CPU time first.
/// CPU time is the children's (user and system, every thread) summed over the runs and divided
/// by their number: the kernel adds each child's CPU time in nanoseconds and reports the sum in
/// ticks of 10 ms, so the mean is exact to 10 ms / runs where one run's figure is not.
fn hits(opts: &Options) -> Result<(), String> {
    let tally = tally()?;
    let n = opts.conversations.first().copied().unwrap_or(1_000_000);
    let db = crate::exec::database(opts, n)?;
    let dbs = db.to_string_lossy().into_owned();
    let metrics = metric_names(opts);
    println!("## Cache hits\n");
    println!("machine: {}\n", crate::machine());
    println!("load average before: {}\n", crate::loadavg());
    let mut rows = Vec::new();
    for m in &metrics {
        let args = query_args(m, &dbs, "on");
        let mut warm = args.clone();
        warm.push("-v".into());
        let before = children_cpu();
        let first = timed_stderr(&tally, &opts.project, &refs(&warm))?;
        let first_cpu = children_cpu().saturating_sub(before);
        let mut ts = Vec::new();
        let before = children_cpu();
        for _ in 0..opts.runs {
            ts.push(timed(&tally, &opts.project, &refs(&args))?.1);
        }
        let cpu = children_cpu().saturating_sub(before) / opts.runs as u32;
        rows.push((m.clone(), median(ts), cpu, first, first_cpu));
    }
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    println!(
        "{} metrics by month on {}, `tally query` as a process: a first run \
         with the cache on (builds what is missing), then {} hits: median wall time, mean CPU time\n",
        rows.len(),
        data_label(opts, n, &db),
        opts.runs
    );
    println!("| metric | hit CPU | hit wall | first run wall / CPU |\n|---|---:|---:|---:|");
    for (m, wall, cpu, first, first_cpu) in &rows {
        println!(
            "| `{m}` | {:.1} ms | {:.0} ms | {:.0} / {:.0} ms |",
            ms(*cpu),
            ms(*wall),
            ms(*first),
            ms(*first_cpu)
        );
    }
    let cpus: Vec<Duration> = rows.iter().map(|r| r.2).collect();
    let over = rows
        .iter()
        .filter(|r| r.2 >= Duration::from_millis(100))
        .count();
    println!(
        "\nhit CPU time: median {:.1} ms, largest {:.1} ms, {over} of {} at or over 100 ms; \
         load average after: {}\n",
        ms(median(cpus.clone())),
        ms(cpus.iter().max().copied().unwrap_or_default()),
        rows.len(),
        crate::loadavg()
    );
    Ok(())
}

/// [`timed`], passing on what the child's `-v` says of the cache to our stderr.
fn timed_stderr(tally: &Path, project: &Path, args: &[&str]) -> Result<Duration, String> {
    let (out, took) = run_tally(tally, project, args)?;
    let err = String::from_utf8_lossy(&out.stderr);
    for line in err.lines().filter(|l| l.contains("cache:")) {
        eprintln!("{}: {line}", args.get(2).copied().unwrap_or_default());
    }
    Ok(took)
}

/// `tally check` over every target: cold cache, then warm (without the cache every series query
/// recomputes its `sql:` relations: minutes at 1M conversations, so that run is left out).
pub(crate) fn check(tally: &Path, project: &Path, db: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let args = [
        "check",
        "--duckdb",
        db,
        "--fail-on",
        "never",
        "--format",
        "json",
    ];
    let mut rows = Vec::new();
    for (i, (label, clear, mode)) in [
        ("cold cache (builds)", true, "on"),
        ("warm cache", false, "on"),
    ]
    .into_iter()
    .enumerate()
    {
        if clear {
            timed(tally, project, &["cache", "clear", "--duckdb", db])?;
        }
        // A state file per run: episodes fire once, so a shared one would change the output.
        let state = dir.path().join(format!("state-{i}.json"));
        let state = state.to_string_lossy().into_owned();
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--cache", mode, "--state", &state]);
        let before = children_cpu();
        let (out, t) = timed(tally, project, &a)?;
        rows.push((label, t, children_cpu().saturating_sub(before), out));
    }
    let same = rows.windows(2).all(|w| w[0].3 == w[1].3);
    println!("`tally check` over every target (wall time; goal: under 10 s):\n");
    println!("| run | wall time | CPU time |\n|---|---:|---:|");
    for (label, t, cpu, _) in &rows {
        println!(
            "| {label} | {:.2} s | {:.2} s |",
            t.as_secs_f64(),
            cpu.as_secs_f64()
        );
    }
    println!(
        "\nsame output in both runs: {}\n",
        if same { "yes" } else { "NO" }
    );
    Ok(())
}
