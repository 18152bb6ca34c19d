//! The YAML of targets, alerts, endpoints and `checks:` as written (tally's additive keys).
//!
//! ```yaml
//! metrics:
//!   - name: first_response_time_median
//!     direction: lower_is_better
//!     maturity: 7 days                 # a period is `immature` until 7 days after its end
//!     targets:
//!       - name: fy26_plan
//!         grain: month
//!         values:
//!           - {period: 2026-01, value: 60}
//!           - {from: 2026-02, to: 2026-06, ramp: linear, start: 55, end: 30}
//!           - {from: 2026-07, value: 30}             # open-ended
//!         slices:
//!           - {where: {conversation__team_name: Tier 2}, values: [{from: 2026-01, value: 120}]}
//!         tolerance: {at_risk: 10%, off_track: 25%}
//!         pacing: none                                # counts: prorate | project
//!     alerts:
//!       - name: frt_off_plan
//!         when: {target: fy26_plan, status: off_track}
//!         for: 2 periods
//!         notify: {firing: [responsible], after: {periods: 3, add: [accountable]}, resolved: [responsible]}
//!         severity: high
//! ```

use crate::yaml::Spanned;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

type SString = Spanned<String>;

/// Which way a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    TargetIsBest,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
            Direction::TargetIsBest => "target_is_best",
        }
    }
}

/// How a target compares with a partial (current) period of an additive metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// The period-to-date value against the whole target (rates, medians).
    #[default]
    None,
    /// The period-to-date value against the target times the elapsed share of the period.
    Prorate,
    /// The period-to-date value divided by the elapsed share (a projection) against the target.
    Project,
}

/// One entry of a target series: a single period, a range (open-ended without `to`), or a ramp.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct TargetValue {
    /// One period (`2026-01` for a month, `2026-01-05` for a day or week, `2026-Q1`, `2026`).
    #[serde(default)]
    pub period: Option<SString>,
    /// The first period of a range.
    #[serde(default)]
    pub from: Option<SString>,
    /// The last period of a range (inclusive); without it the range is open-ended.
    #[serde(default)]
    pub to: Option<SString>,
    /// The target value (for `period`, or every period of the range).
    #[serde(default)]
    pub value: Option<Spanned<f64>>,
    /// `linear`: the value moves from `start` (at `from`) to `end` (at `to`) in equal steps.
    #[serde(default)]
    pub ramp: Option<SString>,
    #[serde(default)]
    pub start: Option<Spanned<f64>>,
    #[serde(default)]
    pub end: Option<Spanned<f64>>,
}

/// Target values for one dimension slice (`where: {dimension: value}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TargetSlice {
    #[serde(rename = "where")]
    pub where_: indexmap::IndexMap<String, SString>,
    #[serde(default)]
    pub values: Vec<TargetValue>,
}

/// The tolerance bands: how far on the bad side of the target a value may be. `10%` is relative
/// to the target, `5` is absolute.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Tolerance {
    #[serde(default)]
    pub at_risk: Option<SString>,
    #[serde(default)]
    pub off_track: Option<SString>,
}

/// A target series of a metric (`targets:`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Target {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    /// day, week, month, quarter or year.
    pub grain: SString,
    #[serde(default)]
    pub values: Vec<TargetValue>,
    /// Per-slice values; a slice's values override the overall ones for that slice.
    #[serde(default)]
    pub slices: Vec<TargetSlice>,
    /// A CSV file (relative to the YAML file) with columns `period,<slice dimensions…>,value`.
    #[serde(default)]
    pub file: Option<SString>,
    #[serde(default)]
    pub tolerance: Option<Tolerance>,
    #[serde(default)]
    pub pacing: Option<Spanned<Pacing>>,
    /// The CSV file, read into the source map by `load` (not YAML).
    #[serde(skip)]
    #[schemars(skip)]
    pub file_id: Option<crate::source::FileId>,
}

/// A threshold condition: `{op: gt|gte|lt|lte, value: N}`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Threshold {
    pub op: SString,
    pub value: Spanned<f64>,
}

/// The robust anomaly test: a robust z-score from the median and MAD of the last `lookback` periods.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Anomaly {
    #[serde(default)]
    pub method: Option<SString>,
    /// `13 periods` (or a number).
    #[serde(default)]
    pub lookback: Option<SString>,
    /// The |z| above which a value is anomalous (default 3.5).
    #[serde(default)]
    pub threshold: Option<Spanned<f64>>,
}

/// When an alert fires. Exactly one of `status` (with `target`), `threshold`, `change_vs` or
/// `anomaly`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct When {
    #[serde(default)]
    pub target: Option<SString>,
    /// at_risk (fires on at_risk or off_track) or off_track.
    #[serde(default)]
    pub status: Option<SString>,
    #[serde(default)]
    pub threshold: Option<Threshold>,
    /// previous_period or same_period_last_year.
    #[serde(default)]
    pub change_vs: Option<SString>,
    /// A change in the bad direction of at least this much: `20%` (relative) or `5` (absolute).
    #[serde(default)]
    pub worse_by: Option<SString>,
    #[serde(default)]
    pub better_by: Option<SString>,
    #[serde(default)]
    pub anomaly: Option<Anomaly>,
}

/// Escalation: after the episode has lasted `periods` periods, `add` these recipients.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Escalation {
    pub periods: Spanned<i64>,
    #[serde(default)]
    pub add: Vec<SString>,
}

/// Who is told: RACI roles of the metric's owners (`responsible`, `accountable`, `consulted`,
/// `informed`) or names of people and teams of the roster.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct NotifyMap {
    #[serde(default)]
    pub firing: Vec<SString>,
    #[serde(default)]
    pub after: Option<Escalation>,
    /// Told when the episode ends (default: the firing recipients).
    #[serde(default)]
    pub resolved: Option<Vec<SString>>,
}

/// `notify: [responsible]` (shorthand for `{firing: [responsible]}`) or the full mapping.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[schemars(untagged)]
pub enum Notify {
    #[default]
    Default,
    Roles(Vec<SString>),
    Full(NotifyMap),
}

impl<'de> Deserialize<'de> for Notify {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Notify;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of roles or a mapping with firing, after and resolved")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Notify, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Notify::Roles(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Notify, A::Error> {
                NotifyMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Notify::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// An alert on a metric (`alerts:`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Alert {
    pub name: SString,
    #[serde(default)]
    pub description: Option<String>,
    pub when: When,
    /// The grain evaluated (default: the target's grain, else month).
    #[serde(default)]
    pub grain: Option<SString>,
    /// Persistence: the condition must hold this many consecutive periods (`2 periods` or 2).
    #[serde(default, rename = "for")]
    pub for_: Option<SString>,
    /// Evaluate per slice of these dimensions.
    #[serde(default)]
    pub by: Vec<SString>,
    /// low, warn (default) or high.
    #[serde(default)]
    pub severity: Option<SString>,
    #[serde(default)]
    pub notify: Notify,
    /// ignore (default) or fire: what a period without data does.
    #[serde(default)]
    pub no_data: Option<SString>,
}

/// Notification endpoints of a person or team (tally.yml). Secrets only by environment-variable name.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Endpoints {
    /// The environment variable holding a Slack incoming-webhook URL.
    #[serde(default)]
    pub slack_webhook_env: Option<SString>,
    /// The environment variable holding a generic JSON webhook URL.
    #[serde(default)]
    pub webhook_env: Option<SString>,
    /// An e-mail address (defaults to the person's `email`).
    #[serde(default)]
    pub email: Option<SString>,
    /// A Slack user id to mention (`U0123`).
    #[serde(default)]
    pub slack_user: Option<SString>,
}

/// SMTP settings for e-mail notifications (tally.yml `checks.smtp`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Smtp {
    pub host: SString,
    #[serde(default)]
    pub port: Option<Spanned<i64>>,
    pub from: SString,
    /// plain (default: no TLS, for relays on a private network), starttls or tls.
    #[serde(default)]
    pub security: Option<SString>,
    #[serde(default)]
    pub username_env: Option<SString>,
    #[serde(default)]
    pub password_env: Option<SString>,
}

/// `checks:` in tally.yml.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChecksConfig {
    /// The evaluation cut-off (`2026-06-30 23:59:59`); `--as-of` overrides it.
    #[serde(default)]
    pub as_of: Option<SString>,
    /// at_risk, off_track (default) or never.
    #[serde(default)]
    pub default_fail_on: Option<SString>,
    /// The state file (default `.tally/check-state.json`).
    #[serde(default)]
    pub state: Option<SString>,
    #[serde(default)]
    pub smtp: Option<Smtp>,
}
