//! Errors of the command line itself (flags, files, git refs, databases) as coded diagnostics,
//! rendered like the project's: human text on stderr, or a JSON array on stdout when the command
//! was asked for JSON. A panic anywhere in tally is a bug diagnostic (E0901, severity `bug`).

use crate::Ctx;
use tally_core::diag::{self, Diagnostic};
use tally_core::source::SourceMap;

/// The exit code of a bug in tally (Rust's code for a panic).
pub(crate) const EXIT_BUG: u8 = 101;

/// Print diagnostics that have no place in a project file, in the command's output format.
pub(crate) fn print(ctx: &Ctx, diags: &[Diagnostic]) {
    let none = SourceMap::new();
    if ctx.json {
        let json = serde_json::to_string_pretty(&diag::to_json(&none, diags));
        println!("{}", json.unwrap_or_default());
    } else {
        eprint!("{}", diag::render_human(&none, diags, ctx.color));
    }
}

/// Report one error and return the exit code to end with.
pub(crate) fn fail(ctx: &Ctx, d: Diagnostic, code: u8) -> u8 {
    print(ctx, &[d]);
    code
}

/// A panic prints a bug diagnostic (E0901) with where it happened, instead of Rust's message;
/// `main` then exits with [`EXIT_BUG`].
pub(crate) fn install_bug_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let mut d = Diagnostic::bug(format!("tally panicked: {message}"));
        if let Some(l) = info.location() {
            d = d.with_label(format!("at {}:{}:{}", l.file(), l.line(), l.column()));
        }
        eprint!("{}", diag::render_human(&SourceMap::new(), &[d], false));
    }));
}
