//! Helpers shared by the integration tests of tally-duckdb.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use tally_core::load::LoadOptions;
use tally_core::model::Model;

/// The repository's root: its own (Intercom) project.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project in `root`, loaded and checked by the pipeline; panics with the rendered errors
/// when it has any.
pub(crate) fn load_valid(root: &Path) -> Model {
    let (model, diags) = tally_core::pipeline::load_model(
        root,
        &LoadOptions::default(),
        &tally_templates::builtin(),
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    assert!(
        errors.is_empty(),
        "the project has errors:\n{}",
        tally_core::diag::render_human(&model.sources, &errors, false)
    );
    model
}
