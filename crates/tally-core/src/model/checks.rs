//! The resolved targets, alerts and notification endpoints of a project (`tally check`), held by
//! the [`Model`](crate::model::Model) as `Model::checks`: made by resolution
//! (`model/resolve/targets.rs`), read by [`crate::targets`] (evaluation, series queries, state),
//! which re-exports them.

use crate::period::Period;
use crate::source::Span;
use crate::time::Grain;
use indexmap::IndexMap;
use serde::Serialize;

pub use crate::spec::targets::{Direction, Pacing};

/// Everything `tally check` evaluates, resolved from the project.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checks {
    /// Per metric (only metrics with a direction, targets, alerts or maturity).
    pub metrics: IndexMap<String, MetricChecks>,
    /// Notification endpoints of people and teams, by name.
    pub endpoints: IndexMap<String, Endpoints>,
    pub config: CheckConfig,
}

/// The `checks:` settings of tally.yml.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckConfig {
    /// The evaluation time when `--as-of` is not given.
    pub as_of: Option<String>,
    pub fail_on: Option<FailOn>,
    pub state: Option<String>,
    pub smtp: Option<SmtpConfig>,
}

/// SMTP settings; credentials only as environment-variable names.
#[derive(Debug, Clone, Serialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub from: String,
    /// plain, starttls or tls.
    pub security: String,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
}

/// Where a person or team is notified.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Endpoints {
    pub slack_webhook_env: Option<String>,
    pub webhook_env: Option<String>,
    pub email: Option<String>,
    pub slack_user: Option<String>,
}

impl Endpoints {
    /// The channel kinds configured (`slack`, `webhook`, `email`).
    pub fn channels(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.slack_webhook_env.is_some() {
            v.push("slack");
        }
        if self.webhook_env.is_some() {
            v.push("webhook");
        }
        if self.email.is_some() {
            v.push("email");
        }
        v
    }
}

/// The lowest status or alert level that makes `tally check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    AtRisk,
    OffTrack,
    Never,
}

impl FailOn {
    pub fn parse(s: &str) -> Option<FailOn> {
        match s {
            "at_risk" => Some(FailOn::AtRisk),
            "off_track" => Some(FailOn::OffTrack),
            "never" => Some(FailOn::Never),
            _ => None,
        }
    }
}

/// A metric's direction, maturity, targets and alerts.
#[derive(Debug, Clone, Serialize)]
pub struct MetricChecks {
    pub metric: String,
    #[serde(skip)]
    pub span: Span,
    pub direction: Option<Direction>,
    /// Seconds after a period's end before its value is final (`maturity: 7 days`).
    pub maturity_seconds: Option<i64>,
    pub targets: Vec<Target>,
    pub alerts: Vec<Alert>,
}

/// A resolved target series.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub grain: Grain,
    pub bands: Bands,
    pub pacing: Pacing,
    /// The dimensions of its slices (empty when it has none).
    pub slice_dims: Vec<String>,
    /// Entries in order; for a period the last matching entry wins (slices over overall values).
    pub entries: Vec<TargetEntry>,
}

/// One range of a target series, for one slice (empty: the overall metric).
#[derive(Debug, Clone, Serialize)]
pub struct TargetEntry {
    pub slice: Vec<String>,
    pub from: Period,
    /// Inclusive; `None` is open-ended.
    pub to: Option<Period>,
    pub level: Level,
}

/// The target value of an entry.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Constant(f64),
    /// From `start` at the entry's first period to `end` at its last, in equal steps.
    Linear {
        start: f64,
        end: f64,
    },
}

/// A band: how far on the bad side of the target a value may be.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Band {
    pub amount: f64,
    /// A share of |target| (`10%` -> 0.10) rather than an absolute amount.
    pub relative: bool,
}

impl Band {
    pub fn width(self, target: f64) -> f64 {
        if self.relative {
            self.amount * target.abs()
        } else {
            self.amount
        }
    }
}

/// Tolerance bands: within `at_risk` on track, within `off_track` at risk, beyond off track.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Bands {
    pub at_risk: Band,
    pub off_track: Band,
}

impl Default for Bands {
    fn default() -> Bands {
        Bands {
            at_risk: Band {
                amount: 0.0,
                relative: true,
            },
            off_track: Band {
                amount: 0.1,
                relative: true,
            },
        }
    }
}

impl Target {
    /// The target for `period` and `slice` (values of `slice_dims`, or empty for the overall
    /// metric): the slice's own entries first, else the overall entries.
    pub fn value_at(&self, period: Period, slice: &[String]) -> Option<f64> {
        let pick = |want: &[String]| {
            self.entries
                .iter()
                .rev()
                .filter(|e| e.slice == want)
                .find(|e| e.from <= period && e.to.is_none_or(|t| period <= t))
                .map(|e| match e.level {
                    Level::Constant(v) => v,
                    Level::Linear { start, end } => {
                        let n = e.to.map(|t| e.from.steps_to(t)).unwrap_or(0);
                        if n <= 0 {
                            start
                        } else {
                            start + (end - start) * e.from.steps_to(period) as f64 / n as f64
                        }
                    }
                })
        };
        if !slice.is_empty() {
            if let Some(v) = pick(slice) {
                return Some(v);
            }
        }
        pick(&[])
    }
}

/// A resolved alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub grain: Grain,
    pub condition: Condition,
    /// Consecutive periods the condition must hold.
    pub for_periods: i64,
    pub by: Vec<String>,
    pub severity: Severity,
    pub routing: Routing,
    /// A period without data fires (`no_data: fire`) instead of being skipped.
    pub no_data_fires: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The target's status is at least `at_least` (at_risk fires on at_risk and off_track).
    Status {
        target: String,
        at_least: Status,
    },
    Threshold {
        op: Op,
        value: f64,
    },
    /// The change against a comparison period, in the bad (`worse`) or good direction.
    Change {
        vs: ChangeVs,
        worse: bool,
        by: Band,
    },
    /// A robust z-score (median and MAD of the previous `lookback` periods) above `threshold`.
    Anomaly {
        lookback: i64,
        threshold: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeVs {
    PreviousPeriod,
    SamePeriodLastYear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Warn,
    High,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Warn => "warn",
            Severity::High => "high",
        }
    }
}

/// Who is told when an alert fires, escalates and resolves: RACI roles (`responsible`, …) or
/// roster names, expanded at evaluation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Routing {
    pub firing: Vec<String>,
    /// After the episode has lasted this many periods, these are added.
    pub escalate: Option<(i64, Vec<String>)>,
    pub resolved: Vec<String>,
}

/// The RACI roles a recipient may name.
pub const ROLES: &[&str] = &["accountable", "responsible", "consulted", "informed"];

/// The status of one metric period (per slice) against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    AtRisk,
    OffTrack,
    NoTarget,
    NoData,
    Immature,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::OffTrack => "off_track",
            Status::NoTarget => "no_target",
            Status::NoData => "no_data",
            Status::Immature => "immature",
        }
    }

    /// How bad a judged status is (on_track 0, at_risk 1, off_track 2); others are not judged.
    pub fn severity(self) -> Option<u8> {
        match self {
            Status::OnTrack => Some(0),
            Status::AtRisk => Some(1),
            Status::OffTrack => Some(2),
            _ => None,
        }
    }
}
