//! Helpers shared by the integration tests of tally-core.
#![allow(dead_code)]

use std::path::PathBuf;
use tally_core::diag::{self, Diagnostic};
use tally_core::load::{load_files, LoadOptions, ProjectSpec};
use tally_core::model::Model;

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
pub(crate) fn metricflow_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/metricflow")
}

pub(crate) fn load_manifest(name: &str) -> (Model, Vec<Diagnostic>) {
    let dir = metricflow_dir().join("manifests").join(name);
    assert!(
        dir.is_dir(),
        "MetricFlow data not found at {} (vendored in tests/metricflow)",
        dir.display()
    );
    tally_core::pipeline::load_model(
        &dir,
        &LoadOptions {
            source_schema: Some("mf_src".into()),
            ..LoadOptions::default()
        },
        &tally_templates::builtin(),
    )
}

pub(crate) fn render(model: &Model, diags: &[Diagnostic]) -> String {
    diag::render_human(&model.sources, diags, false)
}

/// Resolve and validate a loaded project (`diags` are the loader's); every diagnostic of every
/// stage, unsorted (the metric tests are not checked).
pub(crate) fn resolve_and_validate(
    spec: ProjectSpec,
    mut diags: Vec<Diagnostic>,
) -> (Model, Vec<Diagnostic>) {
    let (model, more) = tally_core::model::spec_to_model(spec, &tally_templates::builtin());
    diags.extend(more);
    diags.extend(tally_core::validate::validate_model(&model));
    (model, diags)
}

/// In-memory project files (and tally.yml, when given) loaded, resolved and validated.
pub(crate) fn from_files(files: &[(&str, &str)], config: Option<&str>) -> (Model, Vec<Diagnostic>) {
    let (spec, diags) = load_files(files, config, &LoadOptions::default());
    resolve_and_validate(spec, diags)
}
