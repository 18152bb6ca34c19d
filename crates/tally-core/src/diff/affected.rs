//! From changes to the metrics they reach: each changed metric, each metric reading a changed
//! model, measure or dimension, then downstream through ratio and derived inputs (values may
//! move) and up the driver trees (informational); then the owners of every affected metric and
//! who must know.

use super::model::{depends_on, ModelTarget};
use super::{AffectedMetric, ChangeKind, MetricChange, ModelDiff, Notify};
use crate::model::{Metric, Model};
use std::collections::{BTreeMap, BTreeSet};

type Affected = BTreeMap<String, AffectedMetric>;

/// Every metric the diff reaches, by name, with the reasons and owners.
pub(super) fn affected_metrics(
    base: &Model,
    head: &Model,
    diff: &ModelDiff,
    targets: &[ModelTarget],
    renames: &BTreeMap<String, String>,
) -> Vec<AffectedMetric> {
    let mut affected = Affected::new();
    for mc in &diff.metrics {
        mark_change(&mut affected, mc);
    }
    for (sm, target, reason) in targets {
        for m in head.metrics.values() {
            if depends_on(head, m, sm, target) {
                mark(&mut affected, &m.name, reason.clone(), true, false);
            }
        }
    }
    propagate_to_inputs(&mut affected, head);
    propagate_up_drivers(&mut affected, head);
    for a in affected.values_mut() {
        add_owners(a, base, head, diff, renames);
    }
    affected.into_values().collect()
}

fn mark(affected: &mut Affected, name: &str, reason: String, values: bool, removed: bool) {
    let e = affected
        .entry(name.to_string())
        .or_insert_with(|| AffectedMetric {
            name: name.to_string(),
            values_may_change: false,
            removed,
            reasons: Vec::new(),
            accountable: Vec::new(),
            consulted: Vec::new(),
            informed: Vec::new(),
        });
    e.values_may_change |= values;
    if !e.reasons.contains(&reason) {
        e.reasons.push(reason);
    }
}

fn mark_change(affected: &mut Affected, mc: &MetricChange) {
    match mc.kind {
        ChangeKind::Added => mark(affected, &mc.name, "added".into(), true, false),
        ChangeKind::Removed => mark(affected, &mc.name, "removed".into(), true, true),
        ChangeKind::Renamed | ChangeKind::Changed => {
            if mc.kind == ChangeKind::Renamed {
                let from = mc.renamed_from.clone().unwrap_or_default();
                mark(
                    affected,
                    &mc.name,
                    format!("renamed from `{from}`"),
                    false,
                    false,
                );
            }
            for c in &mc.changes {
                let reason = format!("{} changed", c.field);
                mark(affected, &mc.name, reason, c.affects_values, false);
            }
        }
    }
}

/// Downstream: ratio and derived metrics whose inputs may move.
fn propagate_to_inputs(affected: &mut Affected, head: &Model) {
    loop {
        let mut changed = false;
        for m in head.metrics.values() {
            for i in m.input_metrics() {
                let moved = affected.get(&i.name).is_some_and(|a| a.values_may_change);
                let reason = format!("input `{}` may change", i.name);
                let has = affected
                    .get(&m.name)
                    .is_some_and(|a| a.values_may_change && a.reasons.contains(&reason));
                if moved && !has {
                    mark(affected, &m.name, reason, true, false);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Up the driver trees: a metric whose driver may move (or sits above one that does).
fn propagate_up_drivers(affected: &mut Affected, head: &Model) {
    let mut tree: BTreeSet<String> = affected
        .values()
        .filter(|a| a.values_may_change)
        .map(|a| a.name.clone())
        .collect();
    loop {
        let mut changed = false;
        for m in head.metrics.values() {
            for d in &m.drivers {
                if tree.contains(d) {
                    let reason = format!("driver `{d}` may move");
                    let has = affected
                        .get(&m.name)
                        .is_some_and(|a| a.reasons.contains(&reason));
                    if !has {
                        mark(affected, &m.name, reason, false, false);
                        changed = true;
                    }
                    if tree.insert(m.name.clone()) {
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Owners: the head's, the base's for removed metrics, and both when the owners changed.
fn add_owners(
    a: &mut AffectedMetric,
    base: &Model,
    head: &Model,
    diff: &ModelDiff,
    renames: &BTreeMap<String, String>,
) {
    let mut sources: Vec<&Metric> = Vec::new();
    if let Some(m) = head.metrics.get(&a.name) {
        sources.push(m);
    }
    let base_name = renames
        .iter()
        .find(|(_, n)| **n == a.name)
        .map(|(o, _)| o.clone())
        .unwrap_or_else(|| a.name.clone());
    if let Some(b) = base.metrics.get(&base_name) {
        let owners_changed = diff.metrics.iter().any(|c| {
            c.name == a.name
                && c.changes
                    .iter()
                    .any(|f| matches!(f.field.as_str(), "accountable" | "consulted" | "informed"))
        });
        if sources.is_empty() || owners_changed {
            sources.push(b);
        }
    }
    for m in sources {
        let o = &m.owners;
        for (list, names) in [
            (
                &mut a.accountable,
                o.accountable.iter().cloned().collect::<Vec<_>>(),
            ),
            (&mut a.consulted, o.consulted.clone()),
            (&mut a.informed, o.informed.clone()),
        ] {
            for n in names {
                if !list.contains(&n) {
                    list.push(n);
                }
            }
        }
    }
}

/// Who must know: each owner of an affected metric, with the metrics by role.
pub(super) fn notify(base: &Model, head: &Model, affected: &[AffectedMetric]) -> Vec<Notify> {
    let mut notify: BTreeMap<String, Notify> = BTreeMap::new();
    for a in affected {
        for (role, names) in [(0, &a.accountable), (1, &a.consulted), (2, &a.informed)] {
            for n in names {
                let e = notify
                    .entry(n.clone())
                    .or_insert_with(|| roster_entry(head, base, n));
                let list = match role {
                    0 => &mut e.accountable,
                    1 => &mut e.consulted,
                    _ => &mut e.informed,
                };
                if !list.contains(&a.name) {
                    list.push(a.name.clone());
                }
            }
        }
    }
    notify.into_values().collect()
}

fn roster_entry(head: &Model, base: &Model, name: &str) -> Notify {
    let person = head.people.get(name).or_else(|| base.people.get(name));
    let team = head.teams.get(name).or_else(|| base.teams.get(name));
    Notify {
        name: name.to_string(),
        kind: if person.is_some() {
            "person"
        } else if team.is_some() {
            "team"
        } else {
            "unknown"
        }
        .into(),
        full_name: person.and_then(|p| p.full_name.clone()),
        email: person.and_then(|p| p.email.clone()),
        members: team.map(|t| t.members.clone()).unwrap_or_default(),
        accountable: Vec::new(),
        consulted: Vec::new(),
        informed: Vec::new(),
    }
}
