//! `tally-engine`: the whole `tally` command line, DuckDB linked in. The lean `tally` binary
//! (`main.rs`) runs the commands that run no SQL and execs this one, found next to it, with the
//! same arguments for the others (`handoff`); run alone it behaves as `tally`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is the CLI's job

mod args;
mod cache;
mod calendar_export;
mod calendars;
mod check;
mod choices;
mod ci;
mod ci_paths;
mod commands;
mod database;
mod diff;
mod docs;
mod open;
mod output;
mod parsed;
mod project;
mod report;
mod serve;
mod table;
mod tree;
mod usage;
mod vcache;

use args::{Cli, Command, QueryArgs};
use choices::QueryFormat;
pub(crate) use commands::{compile, pick_dialect, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use tally_core::diag::{self, Diagnostic};
use tally_core::dialect;
use tally_core::model::Model;
use tally_core::pipeline::ClockForm;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::parse_args(&argv) {
        Ok(c) => c,
        // A bad flag or value is a coded diagnostic too (E0010, E0004 for a dialect).
        Err(e) => return ExitCode::from(usage::report(&e, &argv)),
    };
    report::install_bug_hook();
    // A panic has printed its bug diagnostic (E0901) through the hook.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(code) => ExitCode::from(code),
        Err(_) if report::was_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(_) => ExitCode::from(report::EXIT_BUG),
    }
}

fn run(cli: Cli) -> u8 {
    let ctx = commands::context(&cli);
    let code = match commands::run(&ctx, cli.command) {
        Ok(code) => code,
        Err(command) => run_sql_command(&ctx, command),
    };
    report::flush(&ctx);
    project::debug_loads(&ctx);
    code
}

/// The commands that run SQL on DuckDB (or serve queries that do).
fn run_sql_command(ctx: &Ctx, command: Command) -> u8 {
    if let Err(code) = commands::prelude(ctx, &command) {
        return code;
    }
    if let Err(msg) = check_sample_flags(&command) {
        return report::fail(
            ctx,
            Diagnostic::error(diag::codes::USAGE, msg).with_help("see `tally help`"),
            EXIT_USAGE,
        );
    }
    match command {
        Command::Query {
            query,
            duckdb,
            format,
        } => query_cmd(ctx, &query, duckdb.as_deref(), format),
        Command::Tree {
            root,
            grain,
            period,
            as_of,
            compare,
            by,
            format,
            duckdb,
        } => tree::run(
            ctx,
            &tree::TreeArgs {
                root: root.as_deref(),
                grain,
                period: period.as_deref(),
                as_of: as_of.as_deref(),
                compare,
                format,
                by: by.as_deref(),
                duckdb: duckdb.as_deref(),
            },
        ),
        Command::SampleData {
            generator,
            conversations,
            seed,
            duckdb,
            force,
        } => sample_data(
            ctx,
            generator.generator(),
            conversations,
            seed,
            duckdb.as_deref(),
            force,
        ),
        Command::Test { filter, format } => ci::test(ctx, filter.as_deref(), format),
        Command::Cache { action, duckdb } => cache::run(ctx, action, duckdb.as_deref()),
        Command::Calendars {
            action: choices::CalendarsAction::Check,
            calendar,
            duckdb: Some(db),
            ..
        } => calendars::check(ctx, calendar.as_deref(), &db),
        Command::Calendars {
            action: choices::CalendarsAction::Export,
            calendar,
            format,
            dialect,
            duckdb: Some(db),
        } => calendars::export(ctx, calendar.as_deref(), &db, format, dialect),
        Command::Diff {
            base,
            format,
            data,
            duckdb,
        } => ci::diff(ctx, &base, format, data, duckdb.as_deref()),
        Command::Mcp { transport, serve } => serve::mcp(ctx, transport, &serve),
        Command::Serve { serve } => serve::http(ctx, &serve),
        Command::Check(a) => check::run(ctx, &a),
        // `commands::run` ran the others.
        other => commands::run(ctx, other).unwrap_or(report::EXIT_BUG),
    }
}

/// `sample-data`'s flag values clap accepts but tally cannot honour (`commands::check_flags`
/// checks the others).
fn check_sample_flags(command: &Command) -> Result<(), String> {
    if let Command::SampleData { conversations, .. } = command {
        use tally_sample::{MAX_CONVERSATIONS, MIN_CONVERSATIONS};
        if !(MIN_CONVERSATIONS..=MAX_CONVERSATIONS).contains(conversations) {
            return Err(format!(
                "--conversations {conversations} is out of range: give {MIN_CONVERSATIONS} to {MAX_CONVERSATIONS}"
            ));
        }
    }
    Ok(())
}

/// DuckDB's error running a query, with a hint for the errors that have a known cause.
pub(crate) fn database_error(e: &str) -> Diagnostic {
    let d = Diagnostic::error(
        diag::codes::DATABASE,
        format!("DuckDB could not run the query: {e}"),
    );
    match database::ambiguity_hint(e) {
        Some(hint) => d.with_help(hint),
        None => d,
    }
}

fn query_cmd(ctx: &Ctx, q: &QueryArgs, duckdb: Option<&Path>, format: QueryFormat) -> u8 {
    let mut model = match ctx.load() {
        Ok(m) => m,
        Err(c) => return c,
    };
    // The business clocks are read from temporary tables (`tally_duckdb::clock`).
    let local = ClockForm::Relation;
    let mut compiled = match compile(ctx, &model, q, dialect::Dialect::DuckDb, local) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let (conn, mut session) =
        match open::open_database(ctx, duckdb, open::WithoutDatabase::InMemory) {
            Ok(c) => c,
            Err(c) => return c,
        };
    // The `sql:` relations the query reads, materialised once (`tally cache`).
    if cache::prepare(ctx, &mut session, &conn, &mut model, [&compiled.plan]) {
        compiled = match compile(ctx, &model, q, dialect::Dialect::DuckDb, local) {
            Ok(c) => c,
            Err(c) => return c,
        };
    }
    // A result kept by an earlier run of the same SQL on the same data (`tally cache`); else the
    // clocks the SQL reads, and the query, whose result is kept for the next run.
    use tally_duckdb::cache::RunError;
    let result = match session.run_query(&conn, &model, "the query", &compiled.sql) {
        Ok(t) => Ok(t),
        Err(RunError::Query(e)) => Err(e),
        Err(RunError::Clocks(e)) => return clocks_failed(ctx, &e),
    };
    let code = match result {
        Ok(table) => {
            print_table(&model, q, table, format);
            calendars::warn_out_of_range(ctx, &conn, &mut session, &model, &compiled.plan.query);
            EXIT_OK
        }
        Err(e) => {
            let d = database_error(&e.to_string())
                .with_help("see the SQL with `tally sql` and the same flags");
            report::fail(ctx, d, EXIT_PROBLEMS)
        }
    };
    cache::report(ctx, &mut session);
    code
}

/// The business clocks `sql` reads, as temporary tables of the session (`tally_duckdb::clock`).
/// Errors are printed; the exit code returned.
fn install_clocks(
    ctx: &Ctx,
    conn: &tally_duckdb::duckdb::Connection,
    model: &Model,
    sql: &str,
) -> Result<(), u8> {
    tally_duckdb::clock::install_read(conn, model, sql)
        .map(|_| ())
        .map_err(|e| clocks_failed(ctx, &e))
}

/// The business clock tables could not be created: printed, the exit code returned.
fn clocks_failed(ctx: &Ctx, e: &tally_duckdb::duckdb::Error) -> u8 {
    let d = Diagnostic::error(
        diag::codes::DATABASE,
        format!("cannot create the business clock tables in DuckDB: {e}"),
    );
    report::fail(ctx, d, EXIT_PROBLEMS)
}

/// A query's result on stdout in `format`. Without an order (no --order, none in the saved
/// query) the database returns groups in any order: they are printed sorted by the group-by
/// columns (the leading columns).
fn print_table(
    model: &Model,
    q: &QueryArgs,
    mut table: tally_duckdb::engine::ResultTable,
    format: QueryFormat,
) {
    let saved_order = q
        .saved_query
        .as_ref()
        .and_then(|n| model.saved_queries.get(n))
        .is_some_and(|sq| !sq.order_by.is_empty());
    if q.order.is_empty() && !saved_order {
        table.rows.sort_by(|a, b| output::compare_rows(a, b));
    }
    print!("{}", output::render(&table, format));
}

fn generate_from_config(
    ctx: &Ctx,
    path: &Path,
    cfg: &tally_core::spec::SampleData,
) -> Result<(), u8> {
    let generator = cfg.generator;
    let conversations = cfg.conversations.min(usize::MAX as u64) as usize;
    let seed = cfg.seed;
    report::note(
        ctx,
        format!(
            "{} does not exist; generating {} sample data ({conversations} conversations, seed {seed}) first",
            path.display(),
            generator.name()
        ),
        None,
    );
    // Concurrent first runs: one generates under the lock, the others wait and then read it.
    match publish_sample(ctx, generator, conversations, seed, path, true) {
        0 => Ok(()),
        c => Err(c),
    }
}

/// Generate sample data and publish it at `path` (see [`database::publish`]).
fn publish_sample(
    ctx: &Ctx,
    generator: tally_core::spec::SampleGenerator,
    conversations: usize,
    seed: u64,
    path: &Path,
    only_if_missing: bool,
) -> u8 {
    use tally_sample::{MAX_CONVERSATIONS, MIN_CONVERSATIONS};
    if !(MIN_CONVERSATIONS..=MAX_CONVERSATIONS).contains(&conversations) {
        let d = Diagnostic::error(
            diag::codes::USAGE,
            format!("{conversations} conversations is out of range"),
        )
        .with_help(format!("give {MIN_CONVERSATIONS} to {MAX_CONVERSATIONS}"));
        return report::fail(ctx, d, EXIT_USAGE);
    }
    let mut summary = None;
    let result = database::publish(path, only_if_missing, |tmp| {
        let conn = tally_duckdb::engine::open(Some(tmp))
            .map_err(|e| format!("cannot create DuckDB database {}: {e}", tmp.display()))?;
        let opts = tally_sample::SampleOptions {
            conversations,
            seed,
            schema: "intercom".into(),
            progress: std::io::stderr().is_terminal(),
        };
        let s = match generator {
            tally_core::spec::SampleGenerator::Intercom => {
                tally_sample::generate_intercom(&conn, &opts)
            }
        }
        .map_err(|e| format!("sample data generation failed: {e}"))?;
        // Closing checkpoints the write-ahead log into the file before it is renamed.
        conn.close()
            .map_err(|(_, e)| format!("cannot close {}: {e}", tmp.display()))?;
        summary = Some(s);
        Ok(())
    });
    match result {
        Ok(database::Published::AlreadyThere) => {
            let text = format!(
                "{} was generated meanwhile by another tally",
                path.display()
            );
            report::note(ctx, text, None);
            EXIT_OK
        }
        Ok(database::Published::Generated) => {
            if let Some(summary) = summary {
                let rows: u64 = summary.tables.iter().map(|(_, n)| n).sum();
                let text = format!(
                    "wrote {} tables ({rows} rows) to {}, as of {}",
                    summary.tables.len(),
                    path.display(),
                    summary.as_of
                );
                report::note(ctx, text, None);
            }
            EXIT_OK
        }
        Err(e) => report::fail(
            ctx,
            Diagnostic::error(diag::codes::IO, e)
                .with_help("check that the directory exists and is writable"),
            EXIT_PROBLEMS,
        ),
    }
}

fn sample_data(
    ctx: &Ctx,
    generator: tally_core::spec::SampleGenerator,
    conversations: usize,
    seed: u64,
    duckdb: Option<&Path>,
    force: bool,
) -> u8 {
    let path = match duckdb {
        Some(p) => p.to_path_buf(),
        None => {
            // tally.yml's `duckdb:` only: a dbt target's database is dbt's to build.
            let settings = project::database_settings(ctx);
            let setting = settings.setting.filter(|_| !settings.from_dbt);
            match project::database_path(ctx, setting.as_deref(), None) {
                Ok(Some(p)) => p,
                Ok(None) => ctx.project.join(".tally/support.duckdb"),
                Err(c) => return c,
            }
        }
    };
    // Never destroy what tally did not make: only a DuckDB database, and only with --force.
    match database::inspect(&path) {
        Err(why) => {
            let d = Diagnostic::error(
                diag::codes::USAGE,
                format!("refusing to write {}: {why}", path.display()),
            )
            .with_help("give another path with --duckdb");
            return report::fail(ctx, d, EXIT_USAGE);
        }
        Ok(database::Target::DuckDb) if !force => {
            let d = Diagnostic::error(
                diag::codes::USAGE,
                format!("{} already exists", path.display()),
            )
            .with_help(
                "pass --force to replace this DuckDB database, or give another path with --duckdb",
            );
            return report::fail(ctx, d, EXIT_USAGE);
        }
        Ok(_) => {}
    }
    publish_sample(ctx, generator, conversations, seed, &path, false)
}
