//! The commands that run SQL on DuckDB are `tally-engine`'s: the lean `tally` binary replaces
//! itself with it (`exec` on Unix; elsewhere it runs it and exits with its code), with the same
//! arguments, standard streams and environment, so that output and exit codes are the engine's.
//! `tally-engine` is looked for next to the running binary (`cargo install` installs both); a
//! missing one is a coded error (E0001), in the command's format.

use crate::{report, Ctx, EXIT_USAGE};
use std::ffi::OsString;
use std::path::PathBuf;
use tally_core::diag::{codes, Diagnostic};

/// The engine binary's file name.
const ENGINE: &str = "tally-engine";

/// Where `tally-engine` should be: beside this binary (symbolic links followed).
fn engine_path() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(format!("{ENGINE}{}", std::env::consts::EXE_SUFFIX)))
}

/// Run `argv` (this process's own arguments) with `tally-engine`. Returns only when the engine
/// cannot be started (the error reported) or, off Unix, with its exit code.
pub(crate) fn exec(ctx: &Ctx, argv: &[OsString]) -> u8 {
    let path = match engine_path() {
        Ok(p) => p,
        Err(e) => return missing(ctx, &format!("cannot find the running binary: {e}")),
    };
    let mut command = std::process::Command::new(&path);
    command.args(argv.iter().skip(1));
    match start(&mut command, argv.first()) {
        Ok(code) => code,
        Err(e) => missing(ctx, &format!("cannot run {}: {e}", path.display())),
    }
}

#[cfg(unix)]
fn start(command: &mut std::process::Command, arg0: Option<&OsString>) -> std::io::Result<u8> {
    use std::os::unix::process::CommandExt;
    if let Some(a) = arg0 {
        command.arg0(a);
    }
    // `exec` returns only on failure.
    Err(command.exec())
}

#[cfg(not(unix))]
fn start(command: &mut std::process::Command, _arg0: Option<&OsString>) -> std::io::Result<u8> {
    let status = command.status()?;
    Ok(status.code().map_or(crate::report::EXIT_BUG, |c| c as u8))
}

fn missing(ctx: &Ctx, what: &str) -> u8 {
    let d = Diagnostic::error(
        codes::IO,
        format!("this command runs SQL on DuckDB, which `{ENGINE}` does, and {what}"),
    )
    .with_help(format!(
        "install both binaries (`cargo install --path .` installs `tally` and `{ENGINE}`), and keep `{ENGINE}` in the same directory as `tally`"
    ));
    report::fail(ctx, d, EXIT_USAGE)
}
