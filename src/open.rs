//! The project's DuckDB database opened for reading: one function for every command that runs
//! SQL locally (`tally-engine` only; `project` says where the database is without linking DuckDB).

use crate::{project, report, Ctx, EXIT_USAGE};
use std::path::Path;
use tally_core::diag::{codes, Diagnostic};

/// What a command does when the project names no database.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WithoutDatabase {
    /// Query a sealed in-memory database (`tally query` of a project whose SQL reads no table).
    InMemory,
    /// Refuse: the command reads the project's data (`tally check`).
    Refuse,
}

/// The project's DuckDB database for reading (`--duckdb`, else tally.yml's `duckdb:`, else a dbt
/// DuckDB target's `path:`; sample data generated first when configured and missing). Errors are
/// reported; the exit code returned.
pub(crate) fn open_database(
    ctx: &Ctx,
    flag: Option<&Path>,
    without: WithoutDatabase,
) -> Result<
    (
        tally_duckdb::duckdb::Connection,
        tally_duckdb::cache::Session,
    ),
    u8,
> {
    let settings = project::database_settings(ctx);
    let path = project::database_path(ctx, settings.setting.as_deref(), flag)?;
    let Some(path) = path else {
        if without == WithoutDatabase::Refuse {
            let d = Diagnostic::error(codes::USAGE, "no DuckDB database")
                .with_help("pass --duckdb FILE or set `duckdb:` in tally.yml");
            return Err(report::fail(ctx, d, EXIT_USAGE));
        }
        let opened = tally_duckdb::engine::open_sandboxed_in_memory()
            .and_then(|c| tally_duckdb::engine::seal(&c).map(|()| c))
            .map(|c| (c, tally_duckdb::cache::Session::off()));
        return opened.map_err(|e| cannot_open(ctx, &e.to_string()));
    };
    if flag.is_none() && !path.exists() {
        if settings.from_dbt {
            let d = Diagnostic::error(
                codes::IO,
                format!(
                    "the dbt target's DuckDB database `{}` does not exist",
                    path.display()
                ),
            )
            .with_help(
                "build it with `dbt build` (or `dbt seed` and `dbt run`), or pass --duckdb FILE",
            );
            return Err(report::fail(ctx, d, EXIT_USAGE));
        }
        if let Some(cfg) = &settings.sample {
            crate::generate_from_config(ctx, &path, cfg)?;
        }
    }
    // Never create a database tally was asked to read: a mistyped path is an error.
    if !path.is_file() {
        let d = Diagnostic::error(
            codes::IO,
            format!(
                "DuckDB database {} does not exist (or is not a file)",
                path.display()
            ),
        )
        .with_help("check the path, or create the database first (`tally sample-data intercom --duckdb PATH`)");
        return Err(report::fail(ctx, d, EXIT_USAGE));
    }
    tally_duckdb::engine::open_project_database_cached(&path, crate::cache::mode(ctx.cache))
        .map_err(|e| cannot_open(ctx, &e.to_string()))
}

fn cannot_open(ctx: &Ctx, e: &str) -> u8 {
    let d = Diagnostic::error(codes::IO, format!("cannot open DuckDB database: {e}"))
        .with_help("check that the file is a DuckDB database that this DuckDB version reads");
    report::fail(ctx, d, EXIT_USAGE)
}
