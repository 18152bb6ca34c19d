//! Helpers shared by the integration tests of tally-core.
#![allow(dead_code)]

use std::path::PathBuf;
use tally_core::diag::{self, Diagnostic};
use tally_core::load::LoadOptions;
use tally_core::model::Model;

/// MetricFlow's conformance data: `TALLY_METRICFLOW_DIR`, else `../shared/metricflow` beside the clone.
pub fn metricflow_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TALLY_METRICFLOW_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/metricflow")
}

pub fn load_manifest(name: &str) -> (Model, Vec<Diagnostic>) {
    let dir = metricflow_dir().join("manifests").join(name);
    assert!(
        dir.is_dir(),
        "MetricFlow data not found at {}; set TALLY_METRICFLOW_DIR",
        dir.display()
    );
    tally_core::pipeline::load_model(
        &dir,
        &LoadOptions {
            source_schema: Some("mf_src".into()),
            ..LoadOptions::default()
        },
    )
}

pub fn render(model: &Model, diags: &[Diagnostic]) -> String {
    diag::render_human(&model.sources, diags, false)
}
