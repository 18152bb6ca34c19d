//! `tally calendars`: list the project's business calendars, export a calendar's business clock
//! (CSV seed or `CREATE TABLE` SQL for a dialect), print the staleness check query, or run it on
//! a DuckDB database (`check --duckdb FILE`: exit code 1 when a copy is missing or stale).

use crate::choices::{CalendarsAction, DialectArg, ExportFormat};
use crate::{pick_dialect, report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::Path;
use tally_core::calendar::{clock, export};
use tally_core::diag::{codes, did_you_mean, Diagnostic};

pub(crate) fn run(
    ctx: &Ctx,
    action: CalendarsAction,
    calendar: Option<&str>,
    format: ExportFormat,
    dialect: Option<DialectArg>,
    duckdb: Option<&Path>,
) -> u8 {
    let model = match ctx.load() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let cals = &model.calendars;
    let names: Vec<&str> = match calendar {
        Some(n) => {
            if cals.calendars.contains_key(n) {
                cals.schedules_of(n)
                    .into_iter()
                    .map(|s| s.name.as_str())
                    .collect()
            } else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_CALENDAR,
                    format!("unknown business calendar `{n}`"),
                );
                if let Some(s) = did_you_mean(n, cals.declared.iter().map(|s| s.as_str())) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                return report::fail(ctx, d, EXIT_USAGE);
            }
        }
        None => cals
            .calendars
            .keys()
            .filter_map(|n| cals.schedule(n).map(|s| s.name.as_str()))
            .collect(),
    };
    let clocks: Vec<clock::Clock> = names
        .iter()
        .filter_map(|n| cals.schedule(n))
        .map(clock::expand)
        .collect();
    if let Some(db) = duckdb {
        match action {
            CalendarsAction::Check => return check_duckdb(ctx, db, &clocks),
            CalendarsAction::Export => return export_duckdb(ctx, db, &clocks, format, dialect),
            CalendarsAction::List => {
                let d = Diagnostic::error(
                    codes::USAGE,
                    "`tally calendars list` reads the project only; --duckdb is for `check` and `export`",
                )
                .with_help("see whether the copies in a DuckDB database are current with `tally calendars check --duckdb FILE`");
                return report::fail(ctx, d, EXIT_USAGE);
            }
        }
    }
    if action == CalendarsAction::List {
        for c in &clocks {
            let s = cals.schedule(&c.calendar).expect("a schedule");
            println!(
                "{}\t{}\t{}..{}\t{} days\tfingerprint {}",
                c.calendar,
                s.timezone,
                s.range.0,
                s.range.1,
                c.days.len(),
                c.fingerprint
            );
        }
        return EXIT_OK;
    }
    if (action, format) == (CalendarsAction::Export, ExportFormat::Csv) {
        print!(
            "{}",
            clocks.iter().map(export::csv).collect::<Vec<_>>().join("")
        );
        return EXIT_OK;
    }
    let d = match pick_dialect(ctx, &model, dialect) {
        Ok(d) => d,
        Err(code) => return code,
    };
    if action == CalendarsAction::Export {
        let ddl: Vec<String> = clocks
            .iter()
            .map(|c| tally_core::dialect::values::create_clock_table(c, d))
            .collect();
        println!("{}", ddl.join("\n").trim_end());
        return EXIT_OK;
    }
    println!("{}", d.clock_check_query(&clocks).trim_end());
    EXIT_OK
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
    report::warn(ctx, &model.sources, warnings);
}
