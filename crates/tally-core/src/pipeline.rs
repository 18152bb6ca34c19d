//! The stages composed: one function per common use, each a chain of the stage functions.

use crate::diag::Diagnostic;
use crate::jinja::Templates;
use crate::load::{load_project, LoadOptions, ProjectSpec};
use crate::model::{spec_to_model, Model};
use std::path::Path;

pub use crate::calendar::duration::ClockForm;
pub use crate::query::{
    compile, compile_remembering, compile_with, plan, Compiled, NothingParsed, ParsedBefore,
};

/// Load and resolve a project directory: files -> spec -> model, with every diagnostic found.
/// `templates` are the built-in macros the model's SQL renders with (`tally_templates::builtin()`).
pub fn load_model(
    root: &Path,
    opts: &LoadOptions,
    templates: &Templates,
) -> (Model, Vec<Diagnostic>) {
    // A large project on a thread of its own, so that the model's heap stays apart from the
    // caller's ([`crate::heap`]); judged from the files' sizes before they are read. A small one
    // is read here, then resolved as [`check_spec`] decides from the sources it read.
    let large = crate::load::sources_reach(root, crate::heap::APART_FROM_BYTES as u64);
    if large {
        crate::heap::apart(|| {
            let (spec, diags) = load_project(root, opts);
            resolve_and_check(spec, diags, templates)
        })
    } else {
        let (spec, diags) = load_project(root, opts);
        check_spec(spec, diags, templates)
    }
}

/// Resolve, validate and check a loaded project (`diags` are the loader's): the second half of
/// [`load_model`], for callers that read settings of the spec (its database) before resolution
/// consumes it, so that the project is read once. On a thread of its own when the sources are
/// large ([`crate::heap::APART_FROM_BYTES`]).
pub fn check_spec(
    spec: ProjectSpec,
    diags: Vec<Diagnostic>,
    templates: &Templates,
) -> (Model, Vec<Diagnostic>) {
    let bytes: usize = spec.sources.files().map(|(_, f)| f.text.len()).sum();
    crate::heap::apart_if(bytes >= crate::heap::APART_FROM_BYTES, || {
        resolve_and_check(spec, diags, templates)
    })
}

/// [`check_spec`] on the calling thread; validation on a thread of its own when the model is large
/// ([`crate::heap`]).
fn resolve_and_check(
    spec: ProjectSpec,
    mut diags: Vec<Diagnostic>,
    templates: &Templates,
) -> (Model, Vec<Diagnostic>) {
    let (model, more) = spec_to_model(spec, templates);
    diags.extend(more);
    // Check tests read the resolved checks and the fixtures' tables (`metric_test`, above `model`).
    diags.extend(check_tests(&model));
    // Semantic validation runs on whatever resolved (objects with errors are already left out);
    // a problem reported by resolution at the same place under the same code is not repeated.
    let large = model.metrics.len() >= crate::heap::APART_FROM_METRICS;
    for d in crate::heap::apart_if(large, || crate::validate::validate_model(&model)) {
        if !diags.iter().any(|x| x.code == d.code && x.span == d.span) {
            diags.push(d);
        }
    }
    // Metric tests are checked against a model without errors (an unknown metric in a test is
    // otherwise often just a metric that did not resolve).
    if !diags.iter().any(|d| d.is_error()) {
        diags.extend(crate::metric_test::check_tests(&model));
    }
    crate::diag::sort(&mut diags);
    (model, diags)
}

/// The problems of the project's check tests (`check_tests:`, E0501/E0502), checked against the
/// resolved model and its checks.
pub fn check_tests(model: &Model) -> Vec<Diagnostic> {
    crate::targets::check_test::check_all(
        &crate::targets::check_test::Project::of(model),
        &model.check_tests,
    )
}
