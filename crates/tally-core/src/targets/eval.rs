//! The evaluation API: which series to read ([`requests`]) and what they mean ([`evaluate`]).
//!
//! A caller (the CLI's `tally check`, `tally tree`, check tests) asks [`requests`] for the series
//! a set of metrics needs at an evaluation time, reads each series (one compiled query per
//! metric, grain and slice dimensions; see [`super::query`]) into [`Values`], and calls
//! [`evaluate`]. Pure: no clock, no I/O.
//!
//! Target evaluations are made for the period containing `as_of` (with pacing when it is
//! partial) and, when that period is immature, for the latest mature period too. Alerts are
//! evaluated on the latest complete, mature period, so a partial or immature period never fires.
//! `as_of` names its last second: `2026-06-30 23:59:59` completes June.

use super::period::Period;
use super::status::{judge, Judgement, Status};
use super::{Alert, ChangeVs, Condition, Direction, MetricChecks, Op, Severity, Target};
use crate::model::Model;
use crate::time::Grain;
use indexmap::IndexMap;
use jiff::civil::DateTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// One series: a metric at a grain, grouped by some dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SeriesKey {
    pub metric: String,
    pub grain: Grain,
    pub dims: Vec<String>,
}

/// What to read for one series: periods `first..=last`, and the targets to join.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRequest {
    pub key: SeriesKey,
    pub first: Period,
    pub last: Period,
    /// The target whose series is joined to the values (its slices when `dims` are its slice
    /// dimensions).
    pub target: Option<String>,
}

/// One value of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// Values of the series' dimensions, in order.
    pub slice: Vec<String>,
    pub period: Period,
    pub value: Option<f64>,
    /// The target read with the value (the joined target series), when the query joined one.
    pub target: Option<f64>,
}

/// The values read, per series.
pub type Values = BTreeMap<SeriesKey, Vec<Observation>>;

/// The evaluation of one target for one slice and period.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub metric: String,
    pub target: String,
    pub grain: Grain,
    pub period: Period,
    pub slice: IndexMap<String, String>,
    pub value: Option<f64>,
    pub target_value: Option<f64>,
    pub direction: Option<Direction>,
    pub status: Status,
    pub gap: Option<f64>,
    pub gap_pct: Option<f64>,
    /// The share of the period elapsed at `as_of` (1 for a complete period).
    pub elapsed: f64,
    pub pacing: super::Pacing,
    pub previous: Option<Previous>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub period: Period,
    pub value: Option<f64>,
    pub change_pct: Option<f64>,
}

/// Where an alert stands for one slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Ok,
    NoData,
    Immature,
}

impl AlertState {
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Ok => "ok",
            AlertState::NoData => "no_data",
            AlertState::Immature => "immature",
        }
    }
}

/// A recipient of an alert's notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// A person or team of the roster.
    pub name: String,
    /// The RACI role it was reached through, if any.
    pub role: Option<String>,
}

/// The evaluation of one alert for one slice.
#[derive(Debug, Clone, Serialize)]
pub struct AlertEvaluation {
    pub metric: String,
    pub alert: String,
    pub severity: Severity,
    pub grain: Grain,
    pub slice: IndexMap<String, String>,
    /// The period evaluated (the latest complete, mature period), if any.
    pub period: Option<Period>,
    pub value: Option<f64>,
    pub state: AlertState,
    /// Consecutive periods (ending at `period`) on which the condition held.
    pub held_periods: i64,
    /// Whether the escalation (`notify.after`) has been reached.
    pub escalated: bool,
    /// What the condition saw, for people.
    pub detail: String,
    pub notify: Vec<Recipient>,
    pub notify_resolved: Vec<Recipient>,
    pub escalate_to: Vec<Recipient>,
}

/// Everything `tally check` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub as_of: String,
    pub evaluations: Vec<Evaluation>,
    pub alerts: Vec<AlertEvaluation>,
}

fn period_seconds(g: Grain) -> i64 {
    match g {
        Grain::Week => 7 * 86_400,
        Grain::Month => 28 * 86_400,
        Grain::Quarter => 89 * 86_400,
        Grain::Year => 365 * 86_400,
        _ => 86_400,
    }
}

fn maturity_periods(mc: &MetricChecks, g: Grain) -> i64 {
    mc.maturity_seconds
        .map(|s| (s + period_seconds(g) - 1) / period_seconds(g) + 1)
        .unwrap_or(0)
}

fn periods_per_year(g: Grain) -> i64 {
    match g {
        Grain::Week => 53,
        Grain::Month => 12,
        Grain::Quarter => 4,
        Grain::Year => 1,
        _ => 366,
    }
}

/// The metrics evaluated: `only` when given, else every metric with targets or alerts.
fn selected<'a>(model: &'a Model, only: &[String]) -> Vec<&'a MetricChecks> {
    model
        .checks
        .metrics
        .values()
        .filter(|m| only.is_empty() || only.contains(&m.metric))
        .filter(|m| !m.targets.is_empty() || !m.alerts.is_empty())
        .collect()
}

/// The series to read to evaluate `only` (or every metric) at `as_of`.
pub fn requests(model: &Model, only: &[String], as_of: DateTime) -> Vec<SeriesRequest> {
    let mut out: Vec<SeriesRequest> = Vec::new();
    let mut add = |key: SeriesKey, back: i64, target: Option<&Target>| {
        let last = Period::containing(key.grain, as_of.date());
        let first = last.shift(-back);
        if let Some(r) = out.iter_mut().find(|r| r.key == key) {
            r.first = r.first.min(first);
            if r.target.is_none() {
                r.target = target.map(|t| t.name.clone());
            }
        } else {
            out.push(SeriesRequest {
                key,
                first,
                last,
                target: target.map(|t| t.name.clone()),
            });
        }
    };
    for mc in selected(model, only) {
        for t in &mc.targets {
            let back = 2 + maturity_periods(mc, t.grain);
            let key = |dims: Vec<String>| SeriesKey {
                metric: mc.metric.clone(),
                grain: t.grain,
                dims,
            };
            add(key(vec![]), back, Some(t));
            if !t.slice_dims.is_empty() {
                add(key(t.slice_dims.clone()), back, Some(t));
            }
        }
        for a in &mc.alerts {
            let mut back = 1 + maturity_periods(mc, a.grain) + a.for_periods;
            back += a.routing.escalate.as_ref().map(|e| e.0).unwrap_or(0);
            back += match a.condition {
                Condition::Change {
                    vs: ChangeVs::PreviousPeriod,
                    ..
                } => 1,
                Condition::Change { .. } => periods_per_year(a.grain),
                Condition::Anomaly { lookback, .. } => lookback,
                _ => 0,
            };
            let target = match &a.condition {
                Condition::Status { target, .. } => mc.targets.iter().find(|t| &t.name == target),
                _ => None,
            };
            add(
                SeriesKey {
                    metric: mc.metric.clone(),
                    grain: a.grain,
                    dims: a.by.clone(),
                },
                back,
                target,
            );
        }
    }
    out
}

/// A series of one slice: values by period.
struct Slice<'a> {
    values: BTreeMap<Period, &'a Observation>,
}

fn slices(obs: &[Observation]) -> BTreeMap<Vec<String>, Slice<'_>> {
    let mut out: BTreeMap<Vec<String>, Slice> = BTreeMap::new();
    for o in obs {
        out.entry(o.slice.clone())
            .or_insert_with(|| Slice {
                values: BTreeMap::new(),
            })
            .values
            .insert(o.period, o);
    }
    out
}

/// Whether `p` is not mature yet at `as_of` (it ended less than the metric's `maturity` ago).
pub fn is_immature(mc: &MetricChecks, p: Period, as_of: DateTime) -> bool {
    let end = p.end().to_datetime(jiff::civil::Time::midnight());
    match mc.maturity_seconds {
        Some(s) => super::period::add_seconds(end, s) > as_of,
        None => false,
    }
}

/// Judge one period of one slice against a target: status, target value, judgement.
pub fn judge_period(
    mc: &MetricChecks,
    t: &Target,
    p: Period,
    slice: &[String],
    obs: Option<&Observation>,
    as_of: DateTime,
) -> (Status, Option<f64>, Option<Judgement>) {
    let target_value = obs.and_then(|o| o.target).or_else(|| t.value_at(p, slice));
    if is_immature(mc, p, as_of) {
        return (Status::Immature, target_value, None);
    }
    let Some(value) = obs.and_then(|o| o.value) else {
        return (Status::NoData, target_value, None);
    };
    let (Some(tv), Some(dir)) = (target_value, mc.direction) else {
        return (Status::NoTarget, target_value, None);
    };
    let through = super::period::add_seconds(as_of, 1);
    let j = judge(dir, value, tv, t.bands, t.pacing, p.elapsed_share(through));
    (j.status, target_value, Some(j))
}

fn slice_map(dims: &[String], slice: &[String]) -> IndexMap<String, String> {
    dims.iter().cloned().zip(slice.iter().cloned()).collect()
}

/// Evaluate the targets and alerts of `only` (or every metric) at `as_of` on the values read.
pub fn evaluate(model: &Model, values: &Values, only: &[String], as_of: DateTime) -> Report {
    let mut evaluations = Vec::new();
    let mut alerts = Vec::new();
    let empty = Vec::new();
    for mc in selected(model, only) {
        for t in &mc.targets {
            let mut dim_sets = vec![vec![]];
            if !t.slice_dims.is_empty() {
                dim_sets.push(t.slice_dims.clone());
            }
            for dims in dim_sets {
                let key = SeriesKey {
                    metric: mc.metric.clone(),
                    grain: t.grain,
                    dims: dims.clone(),
                };
                let obs = values.get(&key).unwrap_or(&empty);
                let mut by_slice = slices(obs);
                if dims.is_empty() {
                    by_slice.entry(vec![]).or_insert_with(|| Slice {
                        values: BTreeMap::new(),
                    });
                } else {
                    for e in t.entries.iter().filter(|e| e.slice.len() == dims.len()) {
                        by_slice.entry(e.slice.clone()).or_insert_with(|| Slice {
                            values: BTreeMap::new(),
                        });
                    }
                }
                for (slice, s) in &by_slice {
                    evaluations.extend(target_evaluations(mc, t, &dims, slice, s, as_of));
                }
            }
        }
        for a in &mc.alerts {
            let key = SeriesKey {
                metric: mc.metric.clone(),
                grain: a.grain,
                dims: a.by.clone(),
            };
            let obs = values.get(&key).unwrap_or(&empty);
            let mut by_slice = slices(obs);
            if a.by.is_empty() {
                by_slice.entry(vec![]).or_insert_with(|| Slice {
                    values: BTreeMap::new(),
                });
            }
            for (slice, s) in &by_slice {
                alerts.push(alert_evaluation(model, mc, a, slice, s, as_of));
            }
        }
    }
    Report {
        as_of: as_of.to_string().replace('T', " "),
        evaluations,
        alerts,
    }
}

fn target_evaluations(
    mc: &MetricChecks,
    t: &Target,
    dims: &[String],
    slice: &[String],
    s: &Slice,
    as_of: DateTime,
) -> Vec<Evaluation> {
    let current = Period::containing(t.grain, as_of.date());
    let tslice: &[String] = if dims == t.slice_dims.as_slice() {
        slice
    } else {
        &[]
    };
    let mut periods = vec![current];
    if is_immature(mc, current, as_of) {
        let mut p = current.shift(-1);
        for _ in 0..400 {
            if !is_immature(mc, p, as_of) {
                periods.push(p);
                break;
            }
            p = p.shift(-1);
        }
    }
    let mut out = Vec::new();
    for p in periods {
        let obs = s.values.get(&p).copied();
        let (status, target_value, j) = judge_period(mc, t, p, tslice, obs, as_of);
        let prev_p = p.shift(-1);
        let value = obs.and_then(|o| o.value);
        let previous = s.values.get(&prev_p).map(|o| Previous {
            period: prev_p,
            value: o.value,
            change_pct: match (value, o.value) {
                (Some(v), Some(b)) if b != 0.0 => Some((v - b) / b.abs()),
                _ => None,
            },
        });
        out.push(Evaluation {
            metric: mc.metric.clone(),
            target: t.name.clone(),
            grain: t.grain,
            period: p,
            slice: slice_map(dims, slice),
            value,
            target_value,
            direction: mc.direction,
            status,
            gap: j.map(|j| j.gap),
            gap_pct: j.and_then(|j| j.gap_pct),
            elapsed: p.elapsed_share(super::period::add_seconds(as_of, 1)),
            pacing: t.pacing,
            previous,
        });
    }
    out
}

/// Whether the condition holds at `p`: Some(true/false), or None when there is no data.
fn holds(
    mc: &MetricChecks,
    a: &Alert,
    slice: &[String],
    s: &Slice,
    p: Period,
    as_of: DateTime,
) -> (Option<bool>, String) {
    let value = s.values.get(&p).and_then(|o| o.value);
    let Some(v) = value else {
        return (None, "no data".into());
    };
    match &a.condition {
        Condition::Status { target, at_least } => {
            let Some(t) = mc.targets.iter().find(|t| &t.name == target) else {
                return (Some(false), String::new());
            };
            let tslice: &[String] = if a.by == t.slice_dims { slice } else { &[] };
            let (status, tv, _) = judge_period(mc, t, p, tslice, s.values.get(&p).copied(), as_of);
            let fires = match (status.severity(), at_least.severity()) {
                (Some(x), Some(y)) => x >= y,
                _ => false,
            };
            let tv = tv.map(fmt_num).unwrap_or_else(|| "none".into());
            (
                Some(fires),
                format!("{} against target {tv} ({target})", status.name()),
            )
        }
        Condition::Threshold { op, value: x } => {
            let fires = match op {
                Op::Gt => v > *x,
                Op::Gte => v >= *x,
                Op::Lt => v < *x,
                Op::Lte => v <= *x,
            };
            let sym = match op {
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                Op::Lte => "<=",
            };
            (Some(fires), format!("{} {sym} {}", fmt_num(v), fmt_num(*x)))
        }
        Condition::Change { vs, worse, by } => {
            let base_p = match vs {
                ChangeVs::PreviousPeriod => p.shift(-1),
                ChangeVs::SamePeriodLastYear => p.year_ago(),
            };
            let Some(b) = s.values.get(&base_p).and_then(|o| o.value) else {
                return (
                    Some(false),
                    format!("no value for {base_p} to compare with"),
                );
            };
            let bad = match mc.direction {
                Some(Direction::HigherIsBetter) => b - v,
                _ => v - b,
            };
            let moved = if *worse { bad } else { -bad };
            let fires = moved > 0.0 && moved + 1e-12 >= by.width(b);
            let pct = if b != 0.0 {
                format!(" ({:+.1}%)", (v - b) / b.abs() * 100.0)
            } else {
                String::new()
            };
            (
                Some(fires),
                format!("{} vs {} in {base_p}{pct}", fmt_num(v), fmt_num(b)),
            )
        }
        Condition::Anomaly {
            lookback,
            threshold,
        } => {
            let history: Vec<f64> = (1..=*lookback)
                .filter_map(|i| s.values.get(&p.shift(-i)).and_then(|o| o.value))
                .collect();
            if history.len() < 3 {
                return (Some(false), "too little history for an anomaly test".into());
            }
            let z = robust_z(v, &history);
            let bad_side = match mc.direction {
                Some(Direction::HigherIsBetter) => z < 0.0,
                Some(Direction::LowerIsBetter) => z > 0.0,
                _ => true,
            };
            (
                Some(bad_side && z.abs() > *threshold),
                format!("robust z {z:.2} (threshold {threshold})"),
            )
        }
    }
}

/// The robust z-score of `x` against `history`: 0.6745 · (x − median) / MAD. A zero MAD gives 0
/// for the median itself and ±1e9 otherwise (any change from a constant history is anomalous).
pub fn robust_z(x: f64, history: &[f64]) -> f64 {
    let med = median(history);
    let dev: Vec<f64> = history.iter().map(|h| (h - med).abs()).collect();
    let mad = median(&dev);
    if mad == 0.0 {
        if x == med {
            0.0
        } else {
            1e9 * (x - med).signum()
        }
    } else {
        0.6745 * (x - med) / mad
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// A number for people: integers without decimals, others with up to 4 significant decimals.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() < 1.0 {
        format!("{v:.4}")
    } else {
        format!("{v:.2}")
    }
}

fn alert_evaluation(
    model: &Model,
    mc: &MetricChecks,
    a: &Alert,
    slice: &[String],
    s: &Slice,
    as_of: DateTime,
) -> AlertEvaluation {
    // The latest complete, mature period.
    let mut p = Period::containing(a.grain, as_of.date());
    let as_of_midnight = |p: Period| p.end().to_datetime(jiff::civil::Time::midnight());
    let mut guard = 0;
    // `as_of` names its last second: data up to 23:59:59 completes the day.
    let through = super::period::add_seconds(as_of, 1);
    while (as_of_midnight(p) > through || is_immature(mc, p, as_of)) && guard < 400 {
        p = p.shift(-1);
        guard += 1;
    }
    let (first, detail) = holds(mc, a, slice, s, p, as_of);
    let mut held = 0;
    let mut q = p;
    loop {
        let (h, _) = if q == p {
            (first, String::new())
        } else {
            holds(mc, a, slice, s, q, as_of)
        };
        let counts = match h {
            Some(x) => x,
            None => a.no_data_fires,
        };
        if !counts || held > 400 {
            break;
        }
        held += 1;
        q = q.shift(-1);
    }
    let state = match first {
        None if !a.no_data_fires => AlertState::NoData,
        _ if held >= a.for_periods => AlertState::Firing,
        _ => AlertState::Ok,
    };
    let firing_len = held - a.for_periods + 1;
    let escalated = state == AlertState::Firing
        && a.routing
            .escalate
            .as_ref()
            .is_some_and(|(n, _)| firing_len >= *n);
    AlertEvaluation {
        metric: mc.metric.clone(),
        alert: a.name.clone(),
        severity: a.severity,
        grain: a.grain,
        slice: slice_map(&a.by, slice),
        period: Some(p),
        value: s.values.get(&p).and_then(|o| o.value),
        state,
        held_periods: held,
        escalated,
        detail,
        notify: expand(model, &mc.metric, &a.routing.firing),
        notify_resolved: expand(model, &mc.metric, &a.routing.resolved),
        escalate_to: a
            .routing
            .escalate
            .as_ref()
            .map(|(_, add)| expand(model, &mc.metric, add))
            .unwrap_or_default(),
    }
}

/// Expand RACI roles into the metric's owners; names stay as they are. No duplicates.
pub fn expand(model: &Model, metric: &str, names: &[String]) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    let owners = model.metrics.get(metric).map(|m| &m.owners);
    for n in names {
        let found: Vec<String> = match (n.as_str(), owners) {
            ("accountable", Some(o)) => o.accountable.iter().cloned().collect(),
            ("responsible", Some(o)) => o.responsible.clone(),
            ("consulted", Some(o)) => o.consulted.clone(),
            ("informed", Some(o)) => o.informed.clone(),
            _ => {
                if !out.iter().any(|r| &r.name == n) {
                    out.push(Recipient {
                        name: n.clone(),
                        role: None,
                    });
                }
                continue;
            }
        };
        for f in found {
            if !out.iter().any(|r| r.name == f) {
                out.push(Recipient {
                    name: f,
                    role: Some(n.clone()),
                });
            }
        }
    }
    out
}
