//! `tally calendars check --duckdb FILE`: the staleness check run on a DuckDB database (exit code 1
//! when a copy is missing or stale; listing, exporting and printing the query are
//! `calendar_export`'s, without DuckDB), and the range warnings of the business durations a query
//! on DuckDB read.

use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::Path;
use tally_core::calendar::clock;
use tally_core::diag::{codes, Diagnostic};

/// `tally calendars check --duckdb FILE` (the rest of `tally calendars` runs no SQL:
/// `calendar_export`).
pub(crate) fn check(ctx: &Ctx, calendar: Option<&str>, db: &Path) -> u8 {
    match crate::calendar_export::clocks(ctx, calendar) {
        Ok((_, clocks)) => check_duckdb(ctx, db, &clocks),
        Err(code) => code,
    }
}

/// `tally calendars check --duckdb FILE`: the check run on the database (read-only). Stale and
/// missing copies are printed one per line (`calendar reason fingerprint rows first last`, tab
/// separated) and reported as one E0810 error, exit code 1; all current: exit code 0.
fn check_duckdb(ctx: &Ctx, db: &Path, clocks: &[clock::Clock]) -> u8 {
    let fail = |e: String| {
        let d = Diagnostic::error(
            codes::DATABASE,
            format!("cannot check the business clocks in {}: {e}", db.display()),
        )
        .with_help("see the check query with `tally calendars check --dialect duckdb`");
        report::fail(ctx, d, EXIT_PROBLEMS)
    };
    let conn = match tally_duckdb::engine::open_project_database(db) {
        Ok(c) => c,
        Err(e) => {
            let d = Diagnostic::error(
                codes::IO,
                format!("cannot open DuckDB database {}: {e}", db.display()),
            )
            .with_help("pass an existing DuckDB database file (it is opened read-only)");
            return report::fail(ctx, d, EXIT_USAGE);
        }
    };
    let stale = match tally_duckdb::clock_check::check(&conn, clocks) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    if stale.is_empty() {
        eprintln!(
            "ok: {} business clock copies in {} are current",
            clocks.len(),
            db.display()
        );
        return EXIT_OK;
    }
    println!(
        "{}",
        tally_core::dialect::clock_check::CHECK_COLUMNS.join("\t")
    );
    for s in &stale {
        let found: Vec<String> = s.found.iter().map(|v| v.to_string()).collect();
        println!("{}\t{}\t{}", s.calendar, s.reason, found.join("\t"));
    }
    let list: Vec<String> = stale
        .iter()
        .map(|s| format!("{} ({})", s.calendar, s.reason))
        .collect();
    let d = Diagnostic::error(
        codes::CALENDAR_STALE,
        format!(
            "{} of {} business clock copies in {} are missing or stale: {}",
            stale.len(),
            clocks.len(),
            db.display(),
            list.join(", ")
        ),
    )
    .with_help("drop the stale tables and load `tally calendars export --format sql --dialect duckdb --calendar NAME` again");
    report::print(ctx, &[d]);
    EXIT_PROBLEMS
}

/// After a query on DuckDB: the range warnings (E0809) of the business durations it read, on
/// stderr (human text, or the JSON diagnostics array when the command prints JSON, so that stdout
/// stays the rows). Results and exit code are unchanged; a check that cannot run is said with
/// `-v` only.
pub(crate) fn warn_out_of_range(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &tally_core::model::Model,
    query: &tally_core::sql::Query,
) {
    let mut warnings = Vec::new();
    collect_warnings(ctx, conn, model, query, &mut warnings);
    print_warnings(ctx, model, &warnings);
}

/// [`warn_out_of_range`] after the queries of several requests (`tally tree`, `tally check`):
/// each semantic model's check runs once (a plan that reads no model not yet checked runs none).
pub(crate) fn warn_out_of_range_of(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &tally_core::model::Model,
    requests: impl IntoIterator<Item = tally_core::plan::QueryRequest>,
) {
    let mut checked: Vec<usize> = Vec::new();
    let mut warnings = Vec::new();
    for req in requests {
        let d = tally_core::dialect::Dialect::DuckDb;
        let Ok(plan) = tally_core::pipeline::plan(model, d, &req) else {
            continue;
        };
        let read = tally_core::sql::range_check::business_models_read(model, &plan.query);
        if read.iter().all(|m| checked.contains(m)) {
            continue;
        }
        checked.extend(read);
        collect_warnings(ctx, conn, model, &plan.query, &mut warnings);
    }
    print_warnings(ctx, model, &warnings);
}

fn collect_warnings(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &tally_core::model::Model,
    query: &tally_core::sql::Query,
    out: &mut Vec<Diagnostic>,
) {
    match tally_duckdb::clock::range_warnings(conn, model, query) {
        Ok(w) => {
            for d in w {
                if !out.iter().any(|o| o.message == d.message) {
                    out.push(d);
                }
            }
        }
        Err(e) => {
            if ctx.verbose {
                eprintln!("note: the calendar range check did not run: {e}");
            }
        }
    }
}

fn print_warnings(ctx: &Ctx, model: &tally_core::model::Model, warnings: &[Diagnostic]) {
    if warnings.is_empty() {
        return;
    }
    if ctx.json {
        let json = tally_core::diag::to_json(&model.sources, warnings);
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        eprint!(
            "{}",
            tally_core::diag::render_human(&model.sources, warnings, ctx.color)
        );
    }
}
