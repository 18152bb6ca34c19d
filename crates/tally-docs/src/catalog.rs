//! The cross-references the pages need, computed once: who owns what, which tests and saved
//! queries use a metric, which metrics use or are driven by another. Every map is ordered, so the
//! pages are byte-for-byte deterministic.

use std::collections::{BTreeMap, BTreeSet};
use tally_core::diag::Diagnostic;
use tally_core::model::{Metric, Model};

/// The RACI roles, in the order pages list them.
pub(crate) const ROLES: [&str; 4] = ["accountable", "responsible", "consulted", "informed"];

/// A metric test that covers a metric.
#[derive(Clone, Debug)]
pub(crate) struct TestRef {
    pub name: String,
    pub description: Option<String>,
    /// `file:line`.
    pub location: String,
    /// `query` or `saved query NAME`.
    pub how: String,
}

pub(crate) struct Catalog<'a> {
    pub model: &'a Model,
    pub diags: &'a [Diagnostic],
    /// Owner name -> (metric, role), in metric order then role order.
    pub owns: BTreeMap<String, Vec<(String, &'static str)>>,
    /// Metric -> the metric tests whose query includes it.
    pub tests: BTreeMap<String, Vec<TestRef>>,
    /// Metric -> the saved queries that include it.
    pub saved_queries: BTreeMap<String, Vec<String>>,
    /// Metric -> the metrics that read it as an input.
    pub used_by: BTreeMap<String, BTreeSet<String>>,
    /// Metric -> the metrics it drives (it is in their `drivers`).
    pub drives: BTreeMap<String, BTreeSet<String>>,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(model: &'a Model, diags: &'a [Diagnostic]) -> Catalog<'a> {
        let mut owns: BTreeMap<String, Vec<(String, &'static str)>> = BTreeMap::new();
        let mut used_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut drives: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for m in model.metrics.values() {
            for (role, owner) in roles(m) {
                owns.entry(owner.to_string())
                    .or_default()
                    .push((m.name.clone(), role));
            }
            for i in m.input_metrics() {
                used_by
                    .entry(i.name.clone())
                    .or_default()
                    .insert(m.name.clone());
            }
            for d in &m.drivers {
                drives.entry(d.clone()).or_default().insert(m.name.clone());
            }
        }
        let mut saved_queries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for sq in model.saved_queries.values() {
            for m in &sq.metrics {
                saved_queries
                    .entry(m.value.clone())
                    .or_default()
                    .push(sq.name.clone());
            }
        }
        let mut tests: BTreeMap<String, Vec<TestRef>> = BTreeMap::new();
        for t in &model.metric_tests {
            let location = model
                .sources
                .location(t.name.span)
                .map(|(f, l, _)| format!("{f}:{l}"))
                .unwrap_or_default();
            let (metrics, how): (Vec<String>, String) = match (&t.query, &t.saved_query) {
                (Some(q), _) => (
                    q.metrics.iter().map(|m| m.value.clone()).collect(),
                    "query".into(),
                ),
                (None, Some(sq)) => (
                    model
                        .saved_queries
                        .get(&sq.value)
                        .map(|s| s.metrics.iter().map(|m| m.value.clone()).collect())
                        .unwrap_or_default(),
                    format!("saved query {}", sq.value),
                ),
                (None, None) => (Vec::new(), String::new()),
            };
            let unique: BTreeSet<String> = metrics.into_iter().collect();
            for m in unique {
                tests.entry(m).or_default().push(TestRef {
                    name: t.name.value.clone(),
                    description: t.description.clone(),
                    location: location.clone(),
                    how: how.clone(),
                });
            }
        }
        Catalog {
            model,
            diags,
            owns,
            tests,
            saved_queries,
            used_by,
            drives,
        }
    }

    /// `person`, `team` or `unknown` (an owner missing from the roster: a diagnostic says so).
    pub(crate) fn owner_kind(&self, name: &str) -> &'static str {
        if self.model.people.contains_key(name) {
            "person"
        } else if self.model.teams.contains_key(name) {
            "team"
        } else {
            "unknown"
        }
    }

    /// The page of an owner, if it is in the roster.
    pub(crate) fn owner_path(&self, name: &str) -> Option<String> {
        match self.owner_kind(name) {
            "person" => Some(crate::paths::person(name)),
            "team" => Some(crate::paths::team(name)),
            _ => None,
        }
    }

    /// What to show for an owner: a person's full name, else the name.
    pub(crate) fn owner_display(&self, name: &str) -> String {
        self.model
            .people
            .get(name)
            .and_then(|p| p.full_name.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// What to show for a metric: its label, else its name.
    pub(crate) fn metric_display(&self, name: &str) -> String {
        self.model
            .metrics
            .get(name)
            .and_then(|m| m.label.clone())
            .unwrap_or_else(|| name.to_string())
    }
}

/// A metric's owners as (role, owner), in RACI order.
pub(crate) fn roles(m: &Metric) -> Vec<(&'static str, &str)> {
    let o = &m.owners;
    o.accountable
        .iter()
        .map(|n| ("accountable", n.as_str()))
        .chain(o.responsible.iter().map(|n| ("responsible", n.as_str())))
        .chain(o.consulted.iter().map(|n| ("consulted", n.as_str())))
        .chain(o.informed.iter().map(|n| ("informed", n.as_str())))
        .collect()
}

/// The first sentence (or line) of a description, for lists.
pub(crate) fn summary(text: Option<&str>) -> String {
    let t = text
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let cut = t
        .char_indices()
        .find(|&(i, c)| c == '.' && t[i + 1..].starts_with(' '))
        .map(|(i, _)| i + 1)
        .unwrap_or(t.len());
    let s = &t[..cut];
    if s.chars().count() > 200 {
        let mut c: String = s.chars().take(199).collect();
        c.push('…');
        c
    } else {
        s.to_string()
    }
}
