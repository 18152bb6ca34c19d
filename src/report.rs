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
    print_in(ctx, &SourceMap::new(), diags);
}

/// Print diagnostics in the command's output format: human text on stderr, or a JSON array on
/// stdout when the command prints JSON.
pub(crate) fn print_in(ctx: &Ctx, sources: &SourceMap, diags: &[Diagnostic]) {
    if ctx.json {
        let json = serde_json::to_string_pretty(&diag::to_json(sources, diags));
        println!("{}", json.unwrap_or_default());
    } else {
        eprint!("{}", diag::render_human(sources, diags, ctx.color));
    }
}

/// Print diagnostics as human text on stderr whatever the format (after a command's output).
pub(crate) fn print_human(ctx: &Ctx, diags: &[Diagnostic]) {
    eprint!(
        "{}",
        diag::render_human(&SourceMap::new(), diags, ctx.color)
    );
}

/// Report one error and return the exit code to end with.
pub(crate) fn fail(ctx: &Ctx, d: Diagnostic, code: u8) -> u8 {
    print(ctx, &[d]);
    code
}

/// Set when output failed because its reader went away (`tally … | head`).
static BROKEN_PIPE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the panic `main` caught was a write to a closed pipe: the reader has all it wanted, so
/// tally exits quietly with success, like `cat`.
pub(crate) fn was_broken_pipe() -> bool {
    BROKEN_PIPE.load(std::sync::atomic::Ordering::SeqCst)
}

/// `print!` and `eprint!` panic with this message when the reader closed the pipe (Rust ignores
/// SIGPIPE, so the write fails with EPIPE): every command's output goes through them, so this is
/// the one place a closed pipe is handled.
fn is_broken_pipe(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.contains("Broken pipe")
}

/// A panic prints a bug diagnostic (E0901) with where it happened, instead of Rust's message;
/// `main` then exits with [`EXIT_BUG`]. A closed output pipe is no bug: nothing is printed.
pub(crate) fn install_bug_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        if is_broken_pipe(&message) {
            BROKEN_PIPE.store(true, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        let mut d = Diagnostic::bug(format!("tally panicked: {message}"));
        if let Some(l) = info.location() {
            d = d.with_label(format!("at {}:{}:{}", l.file(), l.line(), l.column()));
        }
        eprint!("{}", diag::render_human(&SourceMap::new(), &[d], false));
    }));
}
