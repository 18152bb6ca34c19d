//! `tally calendars check --duckdb FILE`: the staleness check run on a DuckDB database (exit code 1
//! when a copy is missing or stale; listing, exporting and printing the query are
//! `calendar_export`'s, without DuckDB), and the range warnings of the business durations a query
//! on DuckDB read.

use crate::choices::{DialectArg, ExportFormat};
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

/// `tally calendars export --duckdb FILE` (see [`export_duckdb`]).
pub(crate) fn export(
    ctx: &Ctx,
    calendar: Option<&str>,
    db: &Path,
    format: ExportFormat,
    dialect: Option<DialectArg>,
) -> u8 {
    match crate::calendar_export::clocks(ctx, calendar) {
        Ok((_, clocks)) => export_duckdb(ctx, db, &clocks, format, dialect),
        Err(code) => code,
    }
}

/// `tally calendars export --duckdb FILE`: the copies written into a DuckDB database (created
/// when missing; only a DuckDB database is written), each `tally_bh__<calendar>` replaced. A CSV
/// export or another dialect asks for text, not a database: a usage error.
fn export_duckdb(
    ctx: &Ctx,
    db: &Path,
    clocks: &[clock::Clock],
    format: ExportFormat,
    dialect: Option<DialectArg>,
) -> u8 {
    let conflict = if format == ExportFormat::Csv {
        Some("--format csv writes a seed file on stdout")
    } else if dialect.is_some_and(|DialectArg(d)| d != tally_core::dialect::Dialect::DuckDb) {
        Some("--dialect names a warehouse whose SQL is printed")
    } else {
        None
    };
    if let Some(why) = conflict {
        let d = Diagnostic::error(
            codes::USAGE,
            format!("--duckdb loads the business clocks into a DuckDB database, but {why}"),
        )
        .with_help("drop --duckdb to print the export, or drop the other flag to load it");
        return report::fail(ctx, d, EXIT_USAGE);
    }
    if let Err(why) = crate::database::inspect(db) {
        let d = Diagnostic::error(
            codes::USAGE,
            format!("refusing to write {}: {why}", db.display()),
        )
        .with_help("give the path of a DuckDB database, or of a new one");
        return report::fail(ctx, d, EXIT_USAGE);
    }
    let loaded = tally_duckdb::engine::open(Some(db)).and_then(|conn| {
        tally_duckdb::clock_check::load(&conn, clocks)?;
        conn.close().map_err(|(_, e)| e)
    });
    if let Err(e) = loaded {
        let d = Diagnostic::error(
            codes::DATABASE,
            format!("cannot load the business clocks into {}: {e}", db.display()),
        )
        .with_help("see the SQL with `tally calendars export --format sql --dialect duckdb`");
        return report::fail(ctx, d, EXIT_PROBLEMS);
    }
    let names: Vec<String> = clocks
        .iter()
        .map(|c| tally_core::calendar::duration::clock_relation(&c.calendar))
        .collect();
    eprintln!(
        "wrote {} business clock table(s) to {}: {}",
        names.len(),
        db.display(),
        names.join(", ")
    );
    EXIT_OK
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

/// After a query on DuckDB: the range warnings (E0809) of the business durations it read, in the
/// command's format (`report::warn`: human text on stderr, or with JSON output in the JSON
/// diagnostics array on stderr, so that stdout stays the rows). Results and exit code are
/// unchanged; a check that cannot run is said with `-v` only.
pub(crate) fn warn_out_of_range(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    cache: &mut tally_duckdb::cache::Session,
    model: &tally_core::model::Model,
    query: &tally_core::sql::Query,
) {
    let mut warnings = Vec::new();
    collect_warnings(ctx, conn, cache, model, query, &mut warnings);
    print_warnings(ctx, model, &warnings);
}

/// [`warn_out_of_range`] after the queries of several requests (`tally tree`, `tally check`):
/// each semantic model's check runs once (a plan that reads no model not yet checked runs none).
pub(crate) fn warn_out_of_range_of(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    cache: &mut tally_duckdb::cache::Session,
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
        collect_warnings(ctx, conn, cache, model, &plan.query, &mut warnings);
    }
    print_warnings(ctx, model, &warnings);
}

fn collect_warnings(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    cache: &mut tally_duckdb::cache::Session,
    model: &tally_core::model::Model,
    query: &tally_core::sql::Query,
    out: &mut Vec<Diagnostic>,
) {
    match tally_duckdb::clock::range_warnings(conn, cache, model, query) {
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
    report::warn(ctx, &model.sources, warnings);
}
