//! tally's benchmark binary: compile-time figures on synthetic projects and execution figures on
//! generated Intercom data. Run through `scripts/bench` (which builds the release binaries first):
//!
//! ```text
//! tally-bench compile [--sizes 1000,2500,5000,10000,20000] [--project DIR]
//! tally-bench exec [--conversations 1000000] [--runs 1] [--only TEXT,^NAME$] [--memory-limit 8GB] [--tables] [--project DIR] [--duckdb FILE]
//!   (--tables: both sides read the `sql:` models from tables stored once: the SQL each adds on top)
//! tally-bench explain --only METRIC[,METRIC] [--dir DIR] [--tables] [--conversations N] [--duckdb FILE]  (plan and run time, EXPLAIN ANALYZE; --dir: write both SQL texts there; --tables: over the stored models of `exec --tables`)
//! tally-bench explain --sql FILE [--sql FILE ..] [--runs N] [--conversations N] [--duckdb FILE]  (SQL files, clocks installed; --runs: paired timing)
//! tally-bench all  (both, with their defaults)
//! tally-bench serve [--conversations 20000] [--clients 4] [--requests 400] [--seconds 60] [--duckdb FILE]
//! tally-bench docs [--sizes 10000]  (`tally docs generate` on synthetic projects)
//! tally-bench cache [--conversations 1M] [--runs 3] [--only TEXT]  (the materialisation cache)
//! tally-bench cache --hits [--runs 5] [--only TEXT] [--duckdb FILE]  (every metric's cache hit, slowest first)
//! tally-bench check [--conversations 1M] [--duckdb FILE]  (`tally check` over every target, cold and warm cache)
//! tally-bench compare --bin NAME=COMMAND --bin NAME=COMMAND [--runs 20] [--project DIR] [--query Q]
//! tally-bench wide-query --dir DIR [--runs 5]  (load a generated project, compile the 50-wide query; for profilers)
//! ```
//!
//! Each project size is measured in a child process (this binary re-executed with `compile-child`)
//! so that peak memory (VmHWM) is that of one size alone. Figures are medians of repeated runs;
//! nothing here asserts a time.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool: printing is its job

mod cache;
mod check;
mod compare;
mod compile;
mod docs;
mod exec;
mod serve;
mod synth;

use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("help");
    let opts = Options::parse(&args[args.len().min(1)..]);
    let result = match what {
        "compile" => compile::run(&opts),
        "exec" => exec::run(&opts),
        "explain" => exec::explain(&opts),
        "cache" => cache::run(&Options {
            runs: opts.runs.max(3),
            ..opts.clone()
        }),
        "compare" => compare::run(&opts),
        "check" => check::run(&opts),
        "all" => compile::run(&opts).and_then(|()| exec::run(&opts)),
        "compile-child" => compile::child(&opts),
        "wide-query" => compile::wide_profile(&opts),
        "serve" => serve::run(&Options {
            conversations: if opts.conversations == [1_000_000] {
                vec![20_000]
            } else {
                opts.conversations.clone()
            },
            ..opts.clone()
        }),
        "generate" => generate(&opts),
        "docs" => {
            // Without --sizes, the 10,000-metric project the docs site is sized for.
            let explicit = args.iter().any(|a| a == "--sizes");
            docs::run(&opts, if explicit { &opts.sizes } else { &[10_000] })
        }
        _ => {
            eprintln!(
                "usage: tally-bench compile|exec|explain|all|serve|docs|cache|check|compare [--bin NAME=COMMAND] [--query METRICS|GROUP_BY] [--sizes N,N,..] [--clients N] [--requests N] [--seconds N] [--conversations N] [--runs N] [--only TEXT] [--hits] [--memory-limit SIZE] [--tables] [--project DIR] [--duckdb FILE]"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("tally-bench: {e}");
        std::process::exit(1);
    }
}

/// `generate --dir DIR --sizes N`: write a synthetic project of N metrics to DIR (for profiling).
fn generate(opts: &Options) -> Result<(), String> {
    let dir = opts.dir.as_deref().ok_or("generate needs --dir")?;
    let n = opts.sizes.first().copied().unwrap_or(10_000);
    let shape = synth::write_project(dir, n).map_err(|e| e.to_string())?;
    println!("{shape:?}");
    Ok(())
}

/// Command-line options shared by the subcommands.
#[derive(Debug, Clone)]
pub struct Options {
    pub sizes: Vec<usize>,
    pub conversations: Vec<usize>,
    pub runs: usize,
    pub project: PathBuf,
    pub duckdb: Option<PathBuf>,
    /// `exec`, `cache`: only the metrics whose name contains one of these (comma-separated;
    /// see [`Options::picks`]).
    pub only: Option<String>,
    /// `compile-child`: the generated project directory.
    pub dir: Option<PathBuf>,
    /// `serve`: concurrent clients, calls in all, and the time bound in seconds.
    pub clients: usize,
    pub requests: usize,
    pub seconds: u64,
    /// `compare`: the commands (`NAME=COMMAND`) and queries (`metrics|group_by`).
    pub bins: Vec<String>,
    pub queries: Vec<String>,
    /// `explain --sql FILE` (repeatable): time SQL files instead of the metrics' queries.
    pub sql: Vec<PathBuf>,
    /// `cache --hits`: only the cache hits, on the cache as it is.
    pub hits: bool,
    /// `exec`, `explain`: DuckDB's `memory_limit` for the benchmark's connection (`8GB`), so that
    /// a 10M-conversation query spills to disk instead of growing past the machine's memory.
    pub memory_limit: Option<String>,
    /// `exec --tables`: both sides read the `sql:` semantic models from tables stored once.
    pub tables: bool,
}

impl Options {
    /// Whether `--only` picks metric `name`: no `--only`, or one of its comma-separated patterns
    /// is in the name. A pattern may be anchored: `^closed` at the name's start, `_median$` at its
    /// end, `^closed_conversations$` the whole name (a plain `closed_conversations` also picks
    /// `customers_with_closed_conversations`).
    pub fn picks(&self, name: &str) -> bool {
        let Some(only) = &self.only else {
            return true;
        };
        only.split(',').map(str::trim).any(|p| {
            let (start, p) = p.strip_prefix('^').map_or((false, p), |p| (true, p));
            let (end, p) = p.strip_suffix('$').map_or((false, p), |p| (true, p));
            match (start, end) {
                (true, true) => name == p,
                (true, false) => name.starts_with(p),
                (false, true) => name.ends_with(p),
                (false, false) => name.contains(p),
            }
        })
    }
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options {
            sizes: vec![1000, 2500, 5000, 10_000, 20_000],
            conversations: vec![1_000_000],
            runs: 1,
            project: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
            duckdb: None,
            dir: None,
            only: None,
            clients: 4,
            requests: 400,
            seconds: 60,
            bins: Vec::new(),
            queries: Vec::new(),
            sql: Vec::new(),
            hits: false,
            memory_limit: None,
            tables: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next().cloned().unwrap_or_else(|| {
                    eprintln!("tally-bench: {a} needs a value");
                    std::process::exit(2)
                })
            };
            match a.as_str() {
                "--sizes" => o.sizes = numbers(&value()),
                "--conversations" => o.conversations = numbers(&value()),
                "--runs" => o.runs = numbers(&value()).first().copied().unwrap_or(1).max(1),
                "--project" => o.project = PathBuf::from(value()),
                "--duckdb" => o.duckdb = Some(PathBuf::from(value())),
                "--only" => o.only = Some(value()),
                "--dir" => o.dir = Some(PathBuf::from(value())),
                "--bin" => o.bins.push(value()),
                "--query" => o.queries.push(value()),
                "--sql" => o.sql.push(PathBuf::from(value())),
                "--hits" => o.hits = true,
                "--tables" => o.tables = true,
                "--memory-limit" => o.memory_limit = Some(value()),
                "--clients" => o.clients = numbers(&value()).first().copied().unwrap_or(4),
                "--requests" => o.requests = numbers(&value()).first().copied().unwrap_or(400),
                "--seconds" => o.seconds = numbers(&value()).first().copied().unwrap_or(60) as u64,
                _ => {
                    eprintln!("tally-bench: unknown option {a}");
                    std::process::exit(2)
                }
            }
        }
        o.project = o.project.canonicalize().unwrap_or(o.project);
        o
    }
}

/// `1000,2.5k,1M` -> numbers.
fn numbers(s: &str) -> Vec<usize> {
    s.split(',')
        .filter_map(|p| {
            let p = p.trim().to_ascii_lowercase();
            let (num, mult) = if let Some(n) = p.strip_suffix('k') {
                (n.to_string(), 1e3)
            } else if let Some(n) = p.strip_suffix('m') {
                (n.to_string(), 1e6)
            } else {
                (p.clone(), 1.0)
            };
            num.parse::<f64>().ok().map(|n| (n * mult).round() as usize)
        })
        .collect()
}

/// The median of some durations (the upper one of the middle two).
pub fn median(mut ds: Vec<Duration>) -> Duration {
    ds.sort();
    ds.get(ds.len() / 2).copied().unwrap_or_default()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time of the calling thread so far (the first field of `/proc/thread-self/schedstat`, in
/// nanoseconds): on a machine shared with other jobs a stage's CPU time moves far less than its
/// wall time. Zero where the file is missing.
pub fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Peak resident memory of this process so far (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The machine the figures come from: CPU model, cores, memory.
/// The first three fields of /proc/loadavg (empty where there is none).
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "? GiB".into());
    format!("{cpu}, {cores} cores, {mem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_suffixes() {
        assert_eq!(numbers("1000,2.5k,1M"), vec![1000, 2500, 1_000_000]);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let d = |n| Duration::from_millis(n);
        assert_eq!(median(vec![d(3), d(1), d(2)]), d(2));
        assert_eq!(median(vec![d(4), d(1), d(2), d(3)]), d(3));
    }

    #[test]
    fn only_patterns_match_inside_or_anchored() {
        let only = |o: &str| Options::parse(&["--only".into(), o.into()]);
        let o = only("closed_conversations");
        assert!(o.picks("closed_conversations") && o.picks("customers_with_closed_conversations"));
        let o = only("^closed_conversations$, ^fin_");
        assert!(o.picks("closed_conversations") && o.picks("fin_resolutions"));
        assert!(
            !o.picks("customers_with_closed_conversations") && !o.picks("closed_conversations_x")
        );
        let o = only("_median$");
        assert!(o.picks("time_to_first_close_median") && !o.picks("median_of"));
        assert!(Options::parse(&[]).picks("anything"));
    }
}
