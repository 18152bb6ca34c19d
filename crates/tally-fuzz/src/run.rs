//! One input through the whole pipeline, in-process, with the oracle.

use crate::Input;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tally_core::diag::{self, codes, Diagnostic};
use tally_core::load::LoadOptions;
use tally_core::model::{Filter, Model};
use tally_core::plan::QueryRequest;
use tally_core::source::Span;
use tally_core::yaml::Spanned;

/// The stack of the thread an input runs on: the main thread's usual 8 MiB, so that what
/// overflows here would overflow in `tally` itself.
pub const STACK: usize = 8 << 20;

/// What one execution did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub elapsed: Duration,
    /// Broken promises: (kind, detail).
    pub problems: Vec<(String, String)>,
    pub rejected: bool,
    pub compiled: bool,
}

/// Where the last panic of an execution happened.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Keep panics of fuzzed inputs off stderr: they are findings, reported with their inputs.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tally-fuzz-exec") {
                if let (Some(loc), Ok(mut last)) = (info.location(), LAST_PANIC.lock()) {
                    *last = Some(format!("at {loc}"));
                }
            } else {
                default(info);
            }
        }));
    });
}

/// Run `input` on a fresh thread; a panic, or taking longer than `limit`, is a problem. (A thread
/// that overruns is left to finish on its own: in-process work cannot be killed; the subprocess
/// mode kills it.)
pub fn execute(input: &Input, limit: Duration) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let owned = input.clone();
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name("tally-fuzz-exec".into())
        .stack_size(STACK)
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pipeline(&owned)));
            let _ = tx.send(r);
        });
    let mut out = Outcome::default();
    if let Err(e) = spawned {
        out.problems
            .push(("harness".into(), format!("cannot spawn: {e}")));
        return out;
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(o)) => out = o,
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            let at = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_default();
            out.problems.push(("panic".into(), format!("{msg} {at}")));
        }
        Err(_) => out
            .problems
            .push(("timeout".into(), format!("still running after {limit:?}"))),
    }
    out.elapsed = started.elapsed();
    out
}

/// Load, resolve, validate, check metric tests, render the diagnostics, then compile the query in
/// DuckDB and in the input's dialect.
pub fn pipeline(input: &Input) -> Outcome {
    let mut out = Outcome::default();
    let files: Vec<(&str, &str)> = input
        .files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (spec, mut diags) =
        tally_core::load::load_files(&files, input.config.as_deref(), &LoadOptions::default());
    let (model, more) = tally_core::model::spec_to_model(spec);
    diags.extend(more);
    diags.extend(tally_core::pipeline::check_tests(&model));
    diags.extend(tally_core::validate::validate_model(&model));
    if !diags.iter().any(|d| d.is_error()) {
        diags.extend(tally_core::metric_test::check_tests(&model));
    }
    check(&model, &diags, true, &mut out);
    // The renderers see every diagnostic.
    let _ = diag::render_human(&model.sources, &diags, false);
    let _ = diag::to_json(&model.sources, &diags);
    let _ = diag::to_sarif(&model.sources, &diags);
    out.rejected = diags.iter().any(|d| d.is_error());
    if out.rejected {
        return out;
    }
    let req = request(&input.query);
    for name in ["duckdb", input.query.dialect.as_str()] {
        let Ok(d) = name.parse::<tally_core::dialect::Dialect>() else {
            continue;
        };
        match tally_core::pipeline::compile(&model, d, &req) {
            Ok(_) => out.compiled = true,
            Err(diags) => {
                check(&model, &diags, false, &mut out);
                let _ = diag::render_human(&model.sources, &diags, false);
            }
        }
    }
    out
}

fn request(q: &crate::Query) -> QueryRequest {
    let s = |v: &[String]| v.iter().cloned().map(Spanned::synthetic).collect();
    QueryRequest {
        metrics: s(&q.metrics),
        group_by: s(&q.group_by),
        order_by: s(&q.order),
        where_: q
            .where_
            .iter()
            .map(|w| Filter::new(w.clone(), Span::DUMMY))
            .collect(),
        limit: q.limit,
        start_time: q.start_time.clone(),
        end_time: q.end_time.clone(),
        ..QueryRequest::default()
    }
}

/// Codes that may come without a location: they are not about one place in a file.
const UNLOCATED: &[&str] = &[codes::IO, codes::OUTSIDE_PROJECT];

/// The oracle on diagnostics: known codes, never E0901, and (for project files) errors located.
fn check(model: &Model, diags: &[Diagnostic], project: bool, out: &mut Outcome) {
    for d in diags {
        if !codes::ALL.iter().any(|(c, _)| *c == d.code) {
            out.problems
                .push(("unknown-code".into(), format!("{}: {}", d.code, d.message)));
        }
        if d.code == codes::GENERATED_SQL {
            out.problems.push(("E0901".into(), d.message.clone()));
        }
        let located = !d.span.is_dummy() && model.sources.get(d.span.file).is_some();
        if project && d.is_error() && !located && !UNLOCATED.contains(&d.code) {
            out.problems
                .push(("unlocated".into(), format!("{}: {}", d.code, d.message)));
        }
    }
}
