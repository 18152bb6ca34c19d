//! Semantic diff of two models: what changed between a base version of a project (a git ref) and
//! the working tree, which metrics that affects, and who must know.
//!
//! [`diff_models`] is pure: it compares two resolved [`Model`](crate::model::Model)s.
//! - Metrics are added, removed, renamed (a removed and an added metric with the same definition)
//!   or changed; a change lists each field that differs (type, measure, aggregation, filter,
//!   formula, inputs, grain, owners, ...) and whether it can move the metric's values.
//! - Semantic models, project variables and the project's macro files are compared too; a change
//!   there affects the metrics that read the changed measure, dimension (in a filter or as the
//!   aggregation time) or model.
//! - Affected metrics are propagated downstream to ratio and derived metrics that use them
//!   (values may change) and up the `drivers` trees (informational).
//! - Everyone accountable, consulted or informed on an affected metric is listed.
//!
//! [`render_markdown`] writes a pull-request comment; the [`ModelDiff`] itself serialises to JSON.
//!
//! Files: `model.rs` compares the two models (the fields of metrics and semantic models, what a
//! metric reads); `affected.rs` propagates changes to the metrics they reach and collects their
//! owners; `markdown.rs` renders the comment. `tally diff --data` (values on a database) is the
//! CLI's, as it needs DuckDB.

use serde::Serialize;

mod affected;
mod markdown;
mod model;

pub use markdown::{line_diff, render_markdown};
pub use model::diff_models;

/// What happened to an object.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Renamed,
    Changed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One field that differs. `None` means the field is absent on that side.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The change can move the values of a metric (a definition change, not documentation).
    pub affects_values: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricChange {
    pub name: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    pub metric_type: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SemanticModelChange {
    pub name: String,
    pub kind: ChangeKind,
    pub changes: Vec<FieldChange>,
}

/// A metric whose definition or values may have changed, or that sits above one in a driver tree.
#[derive(Clone, Debug, Serialize)]
pub struct AffectedMetric {
    pub name: String,
    /// Its values may move (its definition, an input or its source changed). `false`: only
    /// documentation, owners, or a driver changed.
    pub values_may_change: bool,
    /// The metric exists only in the base.
    pub removed: bool,
    pub reasons: Vec<String>,
    pub accountable: Vec<String>,
    pub consulted: Vec<String>,
    pub informed: Vec<String>,
}

/// A person or team who must know, with the affected metrics by role.
#[derive(Clone, Debug, Serialize)]
pub struct Notify {
    pub name: String,
    /// `person`, `team`, or `unknown` (not in the roster).
    pub kind: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// A team's members.
    pub members: Vec<String>,
    pub accountable: Vec<String>,
    pub consulted: Vec<String>,
    pub informed: Vec<String>,
}

/// The semantic difference between two models.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelDiff {
    pub metrics: Vec<MetricChange>,
    pub semantic_models: Vec<SemanticModelChange>,
    /// Project variables (`vars:` in tally.yml).
    pub vars: Vec<FieldChange>,
    /// The project's macro files (`templates/*.sql`).
    pub macros: Vec<FieldChange>,
    pub affected: Vec<AffectedMetric>,
    pub notify: Vec<Notify>,
}

impl ModelDiff {
    /// Nothing changed that tally can see.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.semantic_models.is_empty()
            && self.vars.is_empty()
            && self.macros.is_empty()
    }

    pub(crate) fn count(&self, kind: ChangeKind) -> usize {
        self.metrics.iter().filter(|m| m.kind == kind).count()
    }
}

#[cfg(test)]
mod tests;
