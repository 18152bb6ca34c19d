//! `tally cache status|clear`, and the materialisation cache (`tally_duckdb::cache`) as the
//! commands that run queries on the local DuckDB use it: compile, cache the `sql:` relations the
//! plans read, compile again against the cached tables. Warehouse SQL (`tally sql`, `--sql`)
//! never goes through here.

use crate::args::CacheMode;
use crate::{Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::{Path, PathBuf};
use tally_core::diag::{self, Diagnostic};
use tally_core::model::Model;
use tally_core::plan::Plan;
use tally_duckdb::cache::{self, Mode, Session};
use tally_duckdb::duckdb::Connection;

pub(crate) fn mode(m: CacheMode) -> Mode {
    match m {
        CacheMode::On => Mode::On,
        CacheMode::Off => Mode::Off,
        CacheMode::Refresh => Mode::Refresh,
    }
}

/// Cache the relations `plans` read and point `model` at them; with `-v`, say what was done.
/// Returns whether the model changed (compile again).
pub(crate) fn prepare<'p>(
    ctx: &Ctx,
    session: &mut Session,
    conn: &Connection,
    model: &mut Model,
    plans: impl IntoIterator<Item = &'p Plan>,
) -> bool {
    let mut used = std::collections::BTreeSet::new();
    for p in plans {
        used.extend(cache::relations_read(p));
    }
    let changed = session.prepare(conn, model, &used);
    report(ctx, session);
    changed
}

/// With `-v`, say what the cache did since the last report (relations and results), and forget it.
pub(crate) fn report(ctx: &Ctx, session: &mut Session) {
    if ctx.verbose {
        for line in session.describe() {
            eprintln!("{line}");
        }
    }
    session.events.clear();
    session.results.clear();
}

/// [`prepare`] for the plans of `requests` (requests that do not plan are left to the command,
/// which reports them).
pub(crate) fn prepare_requests(
    ctx: &Ctx,
    session: &mut Session,
    conn: &Connection,
    model: &mut Model,
    requests: impl IntoIterator<Item = tally_core::plan::QueryRequest>,
) -> bool {
    let plans: Vec<Plan> = if session.attached() {
        requests
            .into_iter()
            .filter_map(|req| {
                tally_core::pipeline::plan(model, tally_core::dialect::Dialect::DuckDb, &req).ok()
            })
            .collect()
    } else {
        Vec::new()
    };
    prepare(ctx, session, conn, model, &plans)
}

/// A metric by `metric_time` at `grain` and `dims`, as `tally tree` and `tally check` read it.
pub(crate) fn metric_request(
    metric: &str,
    grain: &str,
    dims: &[String],
) -> tally_core::plan::QueryRequest {
    let mut group_by = vec![format!("metric_time__{grain}")];
    group_by.extend(dims.iter().cloned());
    tally_core::plan::QueryRequest::of(&[metric], &group_by, &[] as &[&str])
}

/// The database `tally cache` works on: `--duckdb`, else the project's.
fn database(ctx: &Ctx, flag: Option<&Path>) -> Result<PathBuf, u8> {
    let settings = crate::project::database_settings(ctx);
    match crate::project::database_path(ctx, settings.setting.as_deref(), flag)? {
        Some(p) => Ok(p),
        None => Err(crate::report::fail(
            ctx,
            Diagnostic::error(
                diag::codes::USAGE,
                "no DuckDB database: the cache lives beside one".to_string(),
            )
            .with_help("pass --duckdb FILE or set `duckdb:` in tally.yml"),
            EXIT_USAGE,
        )),
    }
}

/// `tally cache status|clear`.
pub(crate) fn run(ctx: &Ctx, action: crate::choices::CacheAction, flag: Option<&Path>) -> u8 {
    use crate::choices::CacheAction;
    // The validation cache first (`vcache`): it needs no database.
    match action {
        CacheAction::Status => crate::vcache::status(),
        CacheAction::Clear => {
            if let Err(e) = crate::vcache::clear() {
                eprintln!("error[{}]: {e}", diag::codes::IO);
                return EXIT_PROBLEMS;
            }
        }
    }
    if flag.is_none() && crate::project::database_settings(ctx).setting.is_none() {
        println!("no DuckDB database: no materialisation cache");
        return EXIT_OK;
    }
    let db = match database(ctx, flag) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let path = cache::cache_path(&db);
    match action {
        CacheAction::Clear => match cache::clear(&db) {
            Ok(true) => {
                println!("removed {}", path.display());
                EXIT_OK
            }
            Ok(false) => {
                println!("no cache at {}", path.display());
                EXIT_OK
            }
            Err(e) => cache_error(ctx, &e),
        },
        CacheAction::Status => status(ctx, &db, &path),
    }
}

/// The cache file cannot be read or removed: a coded error (E0001).
fn cache_error(ctx: &Ctx, e: &str) -> u8 {
    let d = Diagnostic::error(diag::codes::IO, format!("the materialisation cache: {e}"))
    .with_help("check the file's permissions; `tally cache clear` deletes it, `--cache off` runs without it");
    crate::report::fail(ctx, d, EXIT_PROBLEMS)
}

fn status(ctx: &Ctx, db: &Path, path: &Path) -> u8 {
    let entries = match cache::entries(db) {
        Ok(e) => e,
        Err(e) => return cache_error(ctx, &e),
    };
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if !path.exists() {
        println!("no cache at {} (database {})", path.display(), db.display());
        return EXIT_OK;
    }
    println!(
        "cache {} ({:.1} MB) for database {}",
        path.display(),
        size as f64 / 1e6,
        db.display()
    );
    let results = match cache::results(db) {
        Ok(r) => r,
        Err(e) => return cache_error(ctx, &e),
    };
    if entries.is_empty() && results.count == 0 {
        println!("no tables");
    }
    for e in &entries {
        let what = if e.business {
            format!("{} (with business durations)", e.model)
        } else {
            e.model.clone()
        };
        println!(
            "{:<28} {:>12} rows  {}  {}",
            what,
            e.rows,
            if e.fresh { "fresh" } else { "stale" },
            e.table
        );
    }
    if results.count > 0 {
        println!(
            "kept query results: {} ({} rows): {} fresh, {} stale",
            results.count,
            results.rows,
            results.fresh,
            results.count - results.fresh
        );
    }
    EXIT_OK
}
