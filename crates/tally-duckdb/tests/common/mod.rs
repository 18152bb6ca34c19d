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

/// `conversations` generated Intercom conversations (seed `seed`) written into `conn`, in schema
/// `intercom`.
pub(crate) fn generate(conn: &tally_duckdb::duckdb::Connection, conversations: usize, seed: u64) {
    tally_sample::generate_intercom(
        conn,
        &tally_sample::SampleOptions {
            conversations,
            seed,
            ..tally_sample::SampleOptions::default()
        },
    )
    .expect("generate the sample");
}

/// Same rows; floating-point values within 1e-9 relative (the order of a parallel sum moves the
/// last digits).
pub(crate) fn same_rows(
    a: &tally_duckdb::engine::ResultTable,
    b: &tally_duckdb::engine::ResultTable,
) -> bool {
    use tally_duckdb::engine::Value;
    a.columns == b.columns
        && a.rows.len() == b.rows.len()
        && a.rows.iter().zip(&b.rows).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(u, v)| match (u, v) {
                    (Value::Float(p), Value::Float(q)) => {
                        (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0)
                    }
                    _ => u == v,
                })
        })
}
