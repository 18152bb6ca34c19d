//! The harness's view of tally-core at 025f6ff (before the #12 redesign): its API as that
//! commit's tally-bench called it. Copied to `core_api.rs` by `scripts/bench-redesign`.

use std::path::Path;
use std::time::Duration;
use tally_core::dialect::DuckDb;
use tally_core::load::LoadOptions;
use tally_core::plan::QueryRequest;

pub(crate) use tally_core::model::Model;

pub(crate) const NAME: &str = "old (025f6ff)";

/// `pipeline::load_model`: read, parse, resolve, validate, metric tests; the model and the
/// rendered diagnostics (empty when there are none).
pub(crate) fn load(dir: &Path) -> (Model, String) {
    let (model, diags) = tally_core::pipeline::load_model(dir, &LoadOptions::default());
    let text = tally_core::diag::render_human(&model.sources, &diags, false);
    (model, text)
}

/// The same load stage by stage, each stage timed with `clock`: parse, resolve, validate,
/// metric tests (025f6ff has no check tests: zero).
pub(crate) fn stages(dir: &Path, clock: fn() -> Duration) -> [Duration; 5] {
    let t = clock();
    let (spec, _) = tally_core::load::load_project(dir, &LoadOptions::default());
    let parse = clock().saturating_sub(t);
    let t = clock();
    let (model, _) = tally_core::model::spec_to_model(spec);
    let resolve = clock().saturating_sub(t);
    let t = clock();
    std::hint::black_box(tally_core::validate::validate_model(&model));
    let validate = clock().saturating_sub(t);
    let t = clock();
    std::hint::black_box(tally_core::metric_test::check_tests(&model));
    let tests = clock().saturating_sub(t);
    [parse, resolve, validate, tests, Duration::ZERO]
}

pub(crate) fn metric_count(model: &Model) -> usize {
    model.metrics.len()
}

/// Compile a query for DuckDB: the SQL's length, or the rendered diagnostics.
pub(crate) fn compile(
    model: &Model,
    metrics: &[String],
    group_by: &[&str],
    wheres: &[&str],
) -> Result<usize, String> {
    let req = QueryRequest::of(metrics, group_by, wheres);
    tally_core::pipeline::compile(model, &DuckDb, &req)
        .map(|c| c.sql.len())
        .map_err(|d| tally_core::diag::render_human(&model.sources, &d, false))
}
