//! Helpers shared by the integration tests of tally-core.
#![allow(dead_code)]

use std::path::PathBuf;
use tally_core::diag::{self, Diagnostic};
use tally_core::load::LoadOptions;
use tally_core::model::Model;

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
pub fn metricflow_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/metricflow")
}

pub fn load_manifest(name: &str) -> (Model, Vec<Diagnostic>) {
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

pub fn render(model: &Model, diags: &[Diagnostic]) -> String {
    diag::render_human(&model.sources, diags, false)
}
