//! Semantic validation of a resolved [`Model`]: the checks that need the whole project.
//!
//! [`crate::model::spec_to_model`] already checks names, duplicates, measure and metric references,
//! aggregation time dimensions, percentiles, owners and cycles, and leaves out what it cannot
//! resolve. The rules here run on what is left, so a broken object is reported once, by resolution,
//! and not again here. They are MetricFlow's remaining semantic rules plus tally's own:
//!
//! | code | rule |
//! |---|---|
//! | E0111 | labels are unique among metrics, among semantic models, and among the dimensions and the measures of one semantic model |
//! | E0106 | a semantic model with measures has a primary entity |
//! | E0110 | a non-additive dimension has the grain of its measure's aggregation time dimension |
//! | E0112 | at most one natural entity per semantic model, and only with a validity window |
//! | E0113 | a validity window is one `is_start` and one `is_end` time dimension, on a model keyed by a natural entity and without measures |
//! | E0402 | a dimension reached through an entity lives on one semantic model (not two at the same distance) |
//! | E0403 | a foreign entity has somewhere to join to (warning) |
//! | E0206 | a derived formula names only its inputs and uses every input (warning); an alias is not the name of another input; an input has `offset_window` or `offset_to_grain`, not both |
//! | E0102 | an input alias is a valid name |
//! | E0211 | `offset_to_grain` is a standard grain |
//! | E0207 | a cumulative window or grain_to_date uses a standard grain; a window is not empty |
//! | E0208 | conversion constant properties are dimensions or entities of each side; conversion measures count; no filter on the conversion measure (warning) |
//! | E0212 | a metric's `time_granularity` is not finer than its measures' aggregation time dimensions |
//! | E0203, E0204, E0206, E0402 | every metric plans on its own: filters parse and every reference is reachable from the measures it filters, formulas are valid |
//! | E0209 | saved queries plan: group-by items, order items and filters resolve, the limit is not negative |
//! | E0210 | at most one time spine per grain; a day-or-finer spine exists when a metric needs one (cumulative, offsets, `join_to_timespine`); custom granularity names are unique and not standard names; a spine at least as fine as the finest time dimension (warning) |
//!
//! Filters and formulas are checked by planning a one-metric query per metric with the planner, so
//! a project validates exactly as its queries will plan. Where the planner does not support a metric
//! yet (cumulative and conversion metrics, offsets, metric filters) the filters of that metric are
//! checked here with the planner's join rules ([`resolve_element`]).
//!
//! Every value a rule is about has its span in the model, made by resolution from the YAML
//! layer's offset maps (the characters of the value in every scalar style); no span is found by
//! searching the source text.

use crate::diag::{self, Diagnostic};
use crate::dialect::Dialect;
use crate::model::{ElementPath, Model};
use crate::source::Span;
use std::collections::BTreeSet;

mod filters;
mod joins;
mod labels;
mod metrics;
mod saved_queries;
mod semantic_models;
mod time_spines;

/// The dialect validation checks users' SQL in: the project's (`dialect:`), else DuckDB's.
pub fn validation_dialect(model: &Model) -> Dialect {
    match model.default_dialect.as_deref().map(str::parse::<Dialect>) {
        Some(Ok(d)) => d,
        _ => Dialect::DuckDb,
    }
}

/// Run every semantic check on a model. Diagnostics are sorted and carry spans.
pub fn validate_model(model: &Model) -> Vec<Diagnostic> {
    let dialect = validation_dialect(model);
    let mut v = Validator {
        model,
        dialect,
        diags: Vec::new(),
    };
    if let Some(Err(e)) = model.default_dialect.as_deref().map(str::parse::<Dialect>) {
        v.diags.push(e.diagnostic().at(model.default_dialect_span));
    }
    v.labels();
    v.semantic_models();
    v.joins();
    for (id, m) in model.metrics_by_id() {
        v.metric_params(m);
        v.metric_time_granularity(id, m);
    }
    v.time_spines();
    // Static checks first: when the planner reports the same problem at the same place, the
    // first report (with its help lines) is kept.
    for (id, m) in model.metrics_by_id() {
        v.plan_metric(id, m);
    }
    v.saved_queries();
    let fragments = crate::fragments::check_model(model, dialect);
    if fragments.is_empty() {
        model.mark_sql_checked(dialect.name());
    }
    v.diags.extend(fragments);
    // Spans inside filters, formulas and saved-query items are exact from resolution on.
    let mut out = dedup(v.diags);
    diag::sort(&mut out);
    out
}

/// Keep the first diagnostic of each code at each place.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen: BTreeSet<(&'static str, Span, String)> = BTreeSet::new();
    let mut out = Vec::new();
    for d in diags {
        let key = if d.span.is_dummy() {
            (d.code, d.span, d.message.clone())
        } else {
            (d.code, d.span, String::new())
        };
        if seen.insert(key) {
            out.push(d);
        }
    }
    out
}

/// The planner's join rule ([`crate::plan::find_path`]), as the model the element is found on:
/// `Ok` with that model, `Err` with the candidates (empty when no model has it).
pub(crate) fn resolve_element(
    model: &Model,
    from: usize,
    path: &ElementPath,
) -> Result<usize, Vec<usize>> {
    crate::plan::find_path(model, from, path)
        .map(|(_, m)| m)
        .map_err(|found| found.into_iter().map(|(_, m)| m).collect())
}

struct Validator<'m> {
    model: &'m Model,
    dialect: Dialect,
    diags: Vec<Diagnostic>,
}

/// The span of a value, or `fallback` (its object) when the value has none (made by tally).
fn at_or(at: Span, fallback: Span) -> Span {
    if at.is_dummy() {
        fallback
    } else {
        at
    }
}

impl<'m> Validator<'m> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}
