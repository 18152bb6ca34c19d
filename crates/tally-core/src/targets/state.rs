//! Episodes across runs: an alert fires once per episode, escalates once, and says when it
//! resolves. The state is data (the CLI reads and writes the file); [`advance`] is pure.
//!
//! A notification counts as delivered only when the caller marks it sent ([`State::mark_sent`]),
//! so a failed send is retried on the next run and the state is never lost.

use super::eval::{AlertEvaluation, AlertState, Recipient, Report};
use super::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state file's contents (`.tally/check-state.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Open episodes by key (`metric/alert/slice`).
    pub episodes: BTreeMap<String, Episode>,
}

/// One open episode of an alert for a slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub metric: String,
    pub alert: String,
    pub slice: BTreeMap<String, String>,
    /// The first period evaluated as firing.
    pub since: String,
    /// The latest period evaluated.
    pub last: String,
    /// The firing message was delivered.
    pub notified: bool,
    /// The escalation message was delivered.
    pub escalated: bool,
    /// The alert stopped firing; the resolved message is still to be delivered.
    pub resolving: bool,
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Firing,
    Escalated,
    Resolved,
}

impl NoticeKind {
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::Firing => "firing",
            NoticeKind::Escalated => "escalated",
            NoticeKind::Resolved => "resolved",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub key: String,
    pub kind: NoticeKind,
    pub metric: String,
    pub alert: String,
    pub severity: Severity,
    pub slice: BTreeMap<String, String>,
    pub period: Option<String>,
    pub since: String,
    pub value: Option<f64>,
    pub detail: String,
    pub recipients: Vec<Recipient>,
}

impl Notice {
    /// A one-line summary for people.
    pub fn text(&self) -> String {
        let slice = if self.slice.is_empty() {
            String::new()
        } else {
            format!(
                " [{}]",
                self.slice
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let period = self.period.as_deref().unwrap_or("-");
        match self.kind {
            NoticeKind::Firing => format!(
                "[{}] {} on {}{slice} is firing for {period}: {}",
                self.severity.name(),
                self.alert,
                self.metric,
                self.detail
            ),
            NoticeKind::Escalated => format!(
                "[{}] {} on {}{slice} still firing since {} (now {period}): {}; escalated",
                self.severity.name(),
                self.alert,
                self.metric,
                self.since,
                self.detail
            ),
            NoticeKind::Resolved => format!(
                "[resolved] {} on {}{slice} resolved in {period} (firing since {}): {}",
                self.alert, self.metric, self.since, self.detail
            ),
        }
    }
}

/// The episode key of an alert evaluation.
pub fn key(a: &AlertEvaluation) -> String {
    let slice: Vec<String> = a.slice.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}/{}/{}", a.metric, a.alert, slice.join(","))
}

impl State {
    /// Record a notice as delivered.
    pub fn mark_sent(&mut self, n: &Notice) {
        match n.kind {
            NoticeKind::Firing => {
                if let Some(e) = self.episodes.get_mut(&n.key) {
                    e.notified = true;
                }
            }
            NoticeKind::Escalated => {
                if let Some(e) = self.episodes.get_mut(&n.key) {
                    e.escalated = true;
                }
            }
            NoticeKind::Resolved => {
                self.episodes.remove(&n.key);
            }
        }
    }
}

/// The next state and the notices to send, from the previous state and this run's report.
/// Episodes of alerts this run did not evaluate are kept as they were.
pub fn advance(prev: &State, report: &Report) -> (State, Vec<Notice>) {
    let mut next = prev.clone();
    next.version = 1;
    let mut notices = Vec::new();
    for a in &report.alerts {
        let k = key(a);
        let period = a.period.map(|p| p.label());
        let notice = |kind, since: &str, recipients: Vec<Recipient>| Notice {
            key: k.clone(),
            kind,
            metric: a.metric.clone(),
            alert: a.alert.clone(),
            severity: a.severity,
            slice: a.slice.iter().map(|(x, y)| (x.clone(), y.clone())).collect(),
            period: period.clone(),
            since: since.to_string(),
            value: a.value,
            detail: a.detail.clone(),
            recipients,
        };
        match a.state {
            AlertState::Firing => {
                let since = a
                    .period
                    .map(|p| p.shift(1 - a.held_periods.max(1)).label())
                    .unwrap_or_default();
                let e = next.episodes.entry(k.clone()).or_insert(Episode {
                    metric: a.metric.clone(),
                    alert: a.alert.clone(),
                    slice: a.slice.iter().map(|(x, y)| (x.clone(), y.clone())).collect(),
                    since,
                    last: String::new(),
                    notified: false,
                    escalated: false,
                    resolving: false,
                });
                e.last = period.clone().unwrap_or_default();
                e.resolving = false;
                if !e.notified {
                    notices.push(notice(NoticeKind::Firing, &e.since, a.notify.clone()));
                }
                if a.escalated && !e.escalated && !a.escalate_to.is_empty() {
                    let mut to = a.escalate_to.clone();
                    for r in &a.notify {
                        if !to.contains(r) {
                            to.push(r.clone());
                        }
                    }
                    notices.push(notice(NoticeKind::Escalated, &e.since, to));
                }
            }
            AlertState::Ok => {
                if let Some(e) = next.episodes.get_mut(&k) {
                    e.resolving = true;
                    e.last = period.clone().unwrap_or_default();
                    if e.notified {
                        let since = e.since.clone();
                        notices.push(notice(NoticeKind::Resolved, &since, a.notify_resolved.clone()));
                    } else {
                        // Never announced: nothing to resolve.
                        next.episodes.remove(&k);
                    }
                }
            }
            AlertState::NoData | AlertState::Immature => {}
        }
    }
    (next, notices)
}
