//! Errors of the command line itself (flags, files, git refs, databases) as coded diagnostics,
//! rendered like the project's: human text on stderr, or a JSON array on stdout when the command
//! was asked for JSON. A panic anywhere in tally is a bug diagnostic (E0901, severity `bug`).
//!
//! Diagnostics that do not stop a command (the project's warnings, a query's range warnings, a
//! note on what tally did) go through [`warn`], in the command's output format: human text on
//! stderr at once; with `--format json`, one JSON array on stderr when the command ends (stdout
//! is the command's JSON), or in the errors' array on stdout when the command fails; with
//! `--format github`, annotations on stdout; `junit` and `sarif` documents take them in
//! ([`take_warnings`]).

use crate::choices::DiagFormat;
use crate::Ctx;
use tally_core::diag::{self, Diagnostic};
use tally_core::source::SourceMap;

/// The warnings and notes of a command not printed yet (every format but human).
#[derive(Default)]
pub(crate) struct Pending {
    /// As diagnostics, for the documents that take them in (`junit`, `sarif`).
    diags: Vec<Diagnostic>,
    /// Rendered when reported, with the sources they point into.
    json: Vec<serde_json::Value>,
    github: String,
}

/// Report diagnostics that do not stop the command (warnings, notes), with the sources their
/// spans point into, in the command's format (see the module's documentation).
pub(crate) fn warn(ctx: &Ctx, sources: &SourceMap, diags: &[Diagnostic]) {
    if diags.is_empty() {
        return;
    }
    if ctx.diag_format == DiagFormat::Human {
        eprint!("{}", diag::render_human(sources, diags, ctx.color));
        return;
    }
    let mut p = ctx.pending.borrow_mut();
    p.diags.extend_from_slice(diags);
    match ctx.diag_format {
        DiagFormat::Json => {
            if let serde_json::Value::Array(items) = diag::to_json(sources, diags) {
                p.json.extend(items);
            }
        }
        DiagFormat::Github => {
            let files = crate::ci_paths::ci_files(ctx, sources);
            p.github.push_str(&diag::render_github(&files, diags));
        }
        DiagFormat::Human | DiagFormat::Junit | DiagFormat::Sarif => {}
    }
}

/// A note on what the command did (E0011), in the command's diagnostic format.
pub(crate) fn note(ctx: &Ctx, message: String, help: Option<String>) {
    let mut d = Diagnostic::note(diag::codes::NOTE, message);
    if let Some(h) = help {
        d = d.with_help(h);
    }
    warn(ctx, &SourceMap::new(), &[d]);
}

/// The warnings not printed yet, for a `junit` or `sarif` document that holds them (the
/// project's sources are the ones their spans point into).
pub(crate) fn take_warnings(ctx: &Ctx) -> Vec<Diagnostic> {
    std::mem::take(&mut *ctx.pending.borrow_mut()).diags
}

/// At the end of a command: the warnings not printed yet, in its format.
pub(crate) fn flush(ctx: &Ctx) {
    let p = std::mem::take(&mut *ctx.pending.borrow_mut());
    if p.diags.is_empty() {
        return;
    }
    match ctx.diag_format {
        DiagFormat::Human => {}
        DiagFormat::Json => eprintln!(
            "{}",
            serde_json::to_string_pretty(&p.json).unwrap_or_default()
        ),
        DiagFormat::Github => print!("{}", p.github),
        // A document that could not take them in (the command stopped before it).
        DiagFormat::Junit | DiagFormat::Sarif => print_human(ctx, &p.diags),
    }
}

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
        // The warnings reported so far lead the array: one JSON document on stdout.
        let mut items = std::mem::take(&mut *ctx.pending.borrow_mut()).json;
        if let serde_json::Value::Array(errors) = diag::to_json(sources, diags) {
            items.extend(errors);
        }
        let json = serde_json::to_string_pretty(&items);
        println!("{}", json.unwrap_or_default());
    } else {
        eprint!("{}", diag::render_human(sources, diags, ctx.color));
    }
}

/// Print diagnostics as human text on stderr whatever the format.
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
