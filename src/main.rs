//! The `tally` command line. The only crate that prints.
//!
//! This binary is the lean one: it links no DuckDB, so its start-up costs no C++ static
//! initialisers, no libstdc++ and no mapping of DuckDB's code (README.md, "Performance",
//! start-up). It parses the command line (help, version and usage errors are its own) and runs the
//! commands that run no SQL (`commands`); every other command is handed to `tally-engine`, found
//! next to it, with the same arguments (`handoff`).
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is the CLI's job

// Shared with `tally-engine`, which uses all of them; what only its commands use is dead here.
#[allow(dead_code)]
mod args;
mod calendar_export;
#[allow(dead_code)]
mod choices;
mod ci_paths;
#[allow(dead_code)]
mod commands;
mod diff;
mod docs;
mod handoff;
mod parsed;
#[allow(dead_code)]
mod project;
#[allow(dead_code)]
mod report;
mod table;
mod usage;
mod vcache;

use args::Cli;
pub(crate) use commands::{Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::parse_args(&argv) {
        Ok(c) => c,
        // A bad flag or value is a coded diagnostic too (E0010, E0004 for a dialect).
        Err(e) => return ExitCode::from(usage::report(&e, &argv)),
    };
    report::install_bug_hook();
    // A panic has printed its bug diagnostic (E0901) through the hook.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli, &argv))) {
        Ok(code) => ExitCode::from(code),
        Err(_) if report::was_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(_) => ExitCode::from(report::EXIT_BUG),
    }
}

fn run(cli: Cli, argv: &[OsString]) -> u8 {
    let ctx = commands::context(&cli);
    match commands::run(&ctx, cli.command) {
        Ok(code) => {
            report::flush(&ctx);
            project::debug_loads(&ctx);
            code
        }
        // The command runs SQL: `tally-engine` runs it (returns only when it cannot be started).
        Err(_) => handoff::exec(&ctx, argv),
    }
}
