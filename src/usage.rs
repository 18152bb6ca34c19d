//! Errors of the command line itself as clap finds them (a value outside a flag's closed set, an
//! unknown flag, a missing argument) become coded diagnostics (E0010; an unknown dialect is the
//! one unknown-dialect diagnostic, E0004), rendered like every other error of tally: human text
//! on stderr, or JSON on stdout when the command was asked for JSON. Exit code 2.

use crate::args::Cli;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory;
use std::ffi::OsString;
use std::io::IsTerminal;
use tally_core::diag::{self, Diagnostic};
use tally_core::dialect::Dialect;
use tally_core::source::SourceMap;

/// Report clap's error for `args` and return the exit code. Help and version are no errors:
/// clap prints them and tally exits 0.
pub(crate) fn report(e: &clap::Error, args: &[OsString]) -> u8 {
    if !e.use_stderr() {
        let _ = e.print();
        return crate::EXIT_OK;
    }
    // `tally` alone prints its help (to stderr, exit 2), as every clap program does.
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return crate::EXIT_USAGE;
    }
    let d = diagnostic(e);
    if asks_json(args) {
        let json = serde_json::to_string_pretty(&diag::to_json(&SourceMap::new(), &[d]));
        println!("{}", json.unwrap_or_default());
    } else {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprint!("{}", diag::render_human(&SourceMap::new(), &[d], color));
    }
    crate::EXIT_USAGE
}

/// The commands whose errors are JSON on stdout when they are asked for `--format json`
/// ([`crate::args::Command::prints_json`]; a test keeps the two in step).
const JSON_COMMANDS: [&str; 9] = [
    "validate", "test", "query", "graph", "lineage", "model", "diff", "tree", "check",
];

/// Whether the command line, read as far as it parses, asks for JSON output: one of
/// [`JSON_COMMANDS`] with `--format json`. A bad `--format` itself asks for nothing.
fn asks_json(args: &[OsString]) -> bool {
    let Ok(matches) = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args)
    else {
        return false;
    };
    let Some((name, sub)) = matches.subcommand() else {
        return false;
    };
    let format = sub.try_get_raw("format").ok().flatten();
    JSON_COMMANDS.contains(&name) && format.is_some_and(|mut v| v.any(|v| v == "json"))
}

/// clap's error as a coded diagnostic.
pub(crate) fn diagnostic(e: &clap::Error) -> Diagnostic {
    let text = |k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    if e.kind() == ErrorKind::InvalidValue {
        if let (Some(arg), Some(value)) = (
            text(ContextKind::InvalidArg),
            text(ContextKind::InvalidValue),
        ) {
            let valid = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) => v.clone(),
                _ => Vec::new(),
            };
            return invalid_value(arg, value, &valid);
        }
    }
    // Any other error: clap's words (its first line, its tips and lists, the usage line).
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("the command line is not valid");
    let mut d = Diagnostic::error(
        diag::codes::USAGE,
        first.strip_prefix("error: ").unwrap_or(first),
    );
    for line in lines {
        if let Some(tip) = line.strip_prefix("tip: ") {
            d = d.with_help(tip);
        } else if let Some(list) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            d = d.with_help(list);
        } else if let Some(usage) = line.strip_prefix("Usage: ") {
            d = d.with_help(format!("usage: {usage}"));
        }
    }
    d.with_help("see `tally help`")
}

/// A value outside an option's closed set, with the values it takes and a "did you mean".
fn invalid_value(arg: &str, value: &str, valid: &[String]) -> Diagnostic {
    // `--dialect <DIALECT>` is named by its flag; a positional `<WHAT>` by its placeholder.
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    if flag == "--dialect" {
        return Dialect::unknown(value);
    }
    let mut d = Diagnostic::error(
        diag::codes::USAGE,
        format!("`{value}` is not a value of {flag}"),
    )
    .with_suggestion(value, valid.iter().map(String::as_str));
    if !valid.is_empty() {
        d = d.with_help(format!("{flag} takes: {}", valid.join(", ")));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `JSON_COMMANDS` are exactly the commands that print their errors as JSON.
    #[test]
    fn json_commands_are_those_that_print_json() {
        for line in [
            "validate --format json",
            "test --format json",
            "query --metrics m --format json",
            "graph --format json",
            "lineage m --format json",
            "model --format json",
            "diff --base main --format json",
            "tree --format json",
            "check --format json",
        ] {
            let args: Vec<OsString> = std::iter::once("tally")
                .chain(line.split(' '))
                .map(OsString::from)
                .collect();
            let cli = Cli::try_parse_from(&args).expect(line);
            assert_eq!(cli.command.prints_json(), asks_json(&args), "{line}");
        }
    }
}
