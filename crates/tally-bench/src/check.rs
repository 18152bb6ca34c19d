//! `tally-bench check [--conversations 1M] [--duckdb FILE]`: `tally check` over every target of
//! the repository's project on generated Intercom data (issue #19, goal 2: under 10 s on 1M
//! conversations with the materialisation cache), on a cold cache and a warm one.
//!
//! The generated database is cached under `$HOME/.cache/tally-bench` (as for `exec`) and copied
//! into a private temporary directory there, so that the cache file beside it (`<stem>.tally-cache.duckdb`)
//! is this run's alone: clearing it leaves other benchmarks' caches alone.

use crate::Options;
use std::process::Command;

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let tally = crate::cache::tally()?;
    let n = opts.conversations.first().copied().unwrap_or(1_000_000);
    let shared = crate::exec::database(opts, n)?;
    let parent = shared.parent().ok_or("the database has no directory")?;
    let dir = tempfile::Builder::new()
        .prefix("check-")
        .tempdir_in(parent)
        .map_err(|e| e.to_string())?;
    // Not `intercom.duckdb`: DuckDB names the database after its file, and `intercom` is a schema.
    let db = dir.path().join("tally_bench_check.duckdb");
    std::fs::copy(&shared, &db).map_err(|e| format!("copying {}: {e}", shared.display()))?;
    let out = Command::new(&tally)
        .args(["check", "--sql", "--dialect", "duckdb", "--project"])
        .arg(&opts.project)
        .output()
        .map_err(|e| e.to_string())?;
    let series = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("-- "))
        .count();
    println!("## `tally check` on generated data\n");
    println!("machine: {}\n", crate::machine());
    println!(
        "{n} conversations (a copy of {}); {series} series queries (one per metric, grain and slice)\n",
        shared.display()
    );
    crate::cache::check(&tally, &opts.project, &db.to_string_lossy())
}
