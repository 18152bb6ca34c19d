//! Check tests (`check_tests:`): fixture rows in, target statuses and alerts out.
//!
//! ```yaml
//! check_tests:
//!   - name: frt_off_plan_fires_in_june
//!     as_of: 2026-06-30 23:59:59
//!     given:                                   # fixture rows, as in metric tests
//!       - table: intercom.conversation_history
//!         rows: [...]
//!     expect:
//!       - {metric: first_response_time_median, target: fy26_plan, period: 2026-06, status: off_track,
//!          firing: [frt_jump], not_firing: [frt_off_plan]}
//! ```
//!
//! [`prepare`] checks a test against the project (spanned E0501/E0502 diagnostics with "did you
//! mean") and turns it into fixture tables and typed expectations; [`compare`] checks an
//! evaluation ([`super::eval::Report`]) against them. Pure: `tally_duckdb::check_testing` creates
//! the tables, runs the series queries and evaluates.

use super::eval::{AlertState, Report};
use super::period::{parse_as_of, Period};
use super::{Checks, Status};
use crate::diag::{codes, Diagnostic};
use crate::metric_test::{fixture_tables, TableData};
use crate::source::{SourceMap, Span};
use crate::spec::{CheckTest, TestTable};
use indexmap::IndexMap;
use jiff::civil::DateTime;

/// The statuses an expectation may name.
pub const STATUSES: &[&str] = &[
    "on_track",
    "at_risk",
    "off_track",
    "no_target",
    "no_data",
    "immature",
];

fn status_named(s: &str) -> Option<Status> {
    Some(match s {
        "on_track" => Status::OnTrack,
        "at_risk" => Status::AtRisk,
        "off_track" => Status::OffTrack,
        "no_target" => Status::NoTarget,
        "no_data" => Status::NoData,
        "immature" => Status::Immature,
        _ => return None,
    })
}

/// What the project offers a check test: its metrics, their checks, the declared test tables and
/// the CSV files the loader read.
pub struct Project<'a> {
    pub metrics: Vec<&'a str>,
    pub checks: &'a Checks,
    pub test_tables: &'a [TestTable],
    pub sources: &'a SourceMap,
}

impl<'a> Project<'a> {
    /// What a resolved model offers.
    pub fn of(model: &'a crate::model::Model) -> Project<'a> {
        Project {
            metrics: model.metrics.keys().map(String::as_str).collect(),
            checks: &model.checks,
            test_tables: &model.test_tables,
            sources: &model.sources,
        }
    }
}

/// One expectation, resolved.
#[derive(Clone, Debug)]
pub struct Expect {
    /// The `metric:` value, where a failure points.
    pub span: Span,
    pub metric: String,
    /// The target whose status is expected (with `period` and `status`).
    pub target: Option<String>,
    pub period: Option<Period>,
    pub slice: IndexMap<String, String>,
    pub status: Option<Status>,
    pub firing: Vec<String>,
    pub not_firing: Vec<String>,
}

/// A check test ready to run.
#[derive(Clone, Debug)]
pub struct PreparedCheckTest {
    pub name: String,
    pub span: Span,
    pub as_of: DateTime,
    pub tables: Vec<TableData>,
    /// The metrics to evaluate.
    pub metrics: Vec<String>,
    pub expectations: Vec<Expect>,
}

/// Every problem of the project's check tests: duplicate names and what [`prepare`] finds.
pub fn check_all(p: &Project, tests: &[CheckTest]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut names: Vec<(&str, Span)> = Vec::new();
    for t in tests {
        if let Some((_, prev)) = names.iter().find(|(n, _)| *n == t.name.value) {
            diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("check test `{}` is defined twice", t.name.value),
                )
                .at(t.name.span)
                .with_secondary(*prev, "first defined here")
                .with_help("check test names are unique across the project: rename one"),
            );
        }
        names.push((&t.name.value, t.name.span));
        if let Err(more) = prepare(p, t) {
            diags.extend(more);
        }
    }
    diags
}

fn bad(span: Span, msg: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::error(codes::TEST_FIXTURE, msg)
        .at(span)
        .with_label(label)
        .with_help(help)
}

/// Resolve a check test's fixtures and expectations.
pub fn prepare(p: &Project, t: &CheckTest) -> Result<PreparedCheckTest, Vec<Diagnostic>> {
    let what = format!("check test `{}`", t.name.value);
    let mut diags = Vec::new();
    let as_of = parse_as_of(&t.as_of.value);
    if as_of.is_none() {
        diags.push(bad(
            t.as_of.span,
            format!("{what}: `{}` is not an evaluation time", t.as_of.value),
            "not a date or timestamp",
            "write `2026-06-30` (its last second) or `2026-06-30 23:59:59`",
        ));
    }
    let tables = fixture_tables(&what, p.test_tables, p.sources, &t.given, &mut diags);
    if t.expect.is_empty() {
        diags.push(bad(
            t.name.span,
            format!("{what} expects nothing"),
            "`expect` is empty",
            "add `expect: [{metric: ..., period: ..., status: ...}]`",
        ));
    }
    let mut expectations = Vec::new();
    let mut metrics: Vec<String> = Vec::new();
    for e in &t.expect {
        if let Some(x) = expectation(p, &what, e, &mut diags) {
            if !metrics.contains(&x.metric) {
                metrics.push(x.metric.clone());
            }
            expectations.push(x);
        }
    }
    match as_of {
        Some(as_of) if diags.is_empty() => Ok(PreparedCheckTest {
            name: t.name.value.clone(),
            span: t.name.span,
            as_of,
            tables,
            metrics,
            expectations,
        }),
        _ => Err(diags),
    }
}

fn expectation(
    p: &Project,
    what: &str,
    e: &crate::spec::CheckExpectation,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expect> {
    let m = &e.metric;
    let Some(mc) = p.checks.metrics.get(&m.value) else {
        let known = p.metrics.contains(&m.value.as_str());
        diags.push(
            Diagnostic::error(
                codes::TEST_UNKNOWN_METRIC,
                if known {
                    format!(
                        "{what} expects metric `{}`, which has no targets or alerts",
                        m.value
                    )
                } else {
                    format!("{what} expects unknown metric `{}`", m.value)
                },
            )
            .at(m.span)
            .with_label("nothing to check here")
            .with_suggestion(&m.value, p.checks.metrics.keys().map(String::as_str))
            .with_help("a check test expects statuses of a metric's `targets:` and its `alerts:`"),
        );
        return None;
    };
    let before = diags.len();
    let target = match &e.target {
        Some(t) => match mc.targets.iter().find(|x| x.name == t.value) {
            Some(x) => Some(x),
            None => {
                diags.push(
                    bad(
                        t.span,
                        format!("metric `{}` has no target `{}`", m.value, t.value),
                        "no target of this name",
                        "`targets:` of the metric names them",
                    )
                    .with_suggestion(&t.value, mc.targets.iter().map(|x| x.name.as_str())),
                );
                None
            }
        },
        None => mc.targets.first(),
    };
    let status = e
        .status
        .as_ref()
        .and_then(|s| match status_named(&s.value) {
            Some(x) => Some(x),
            None => {
                diags.push(
                    bad(
                        s.span,
                        format!("`{}` is not a status", s.value),
                        "unknown status",
                        "statuses: on_track, at_risk, off_track, no_target, no_data, immature",
                    )
                    .with_suggestion(&s.value, STATUSES.iter().copied()),
                );
                None
            }
        });
    let period = match (&e.period, target) {
        (Some(text), Some(t)) => match Period::parse(t.grain, &text.value) {
            Ok(p) => Some(p),
            Err(msg) => {
                diags.push(bad(
                    text.span,
                    msg,
                    "not a period of the target's grain",
                    "periods are written `2026-05` (month), `2026-05-04` (a week's Monday or a day), `2026-Q2`, `2026`",
                ));
                None
            }
        },
        _ => None,
    };
    if let (Some(s), None) = (&e.status, &e.period) {
        diags.push(bad(
            s.span,
            format!("{what}: a status needs the `period` it is expected for"),
            "which period?",
            "add `period: 2026-05` (written in the target's grain)",
        ));
    }
    if e.status.is_some() && e.target.is_none() && mc.targets.is_empty() {
        diags.push(bad(
            m.span,
            format!("metric `{}` has no targets, so it has no status", m.value),
            "no `targets:`",
            "expect alerts (`firing:`, `not_firing:`) instead, or give the metric a target",
        ));
    }
    for a in e.firing.iter().chain(&e.not_firing) {
        if !mc.alerts.iter().any(|x| x.name == a.value) {
            diags.push(
                bad(
                    a.span,
                    format!("metric `{}` has no alert `{}`", m.value, a.value),
                    "no alert of this name",
                    "`alerts:` of the metric names them",
                )
                .with_suggestion(&a.value, mc.alerts.iter().map(|x| x.name.as_str())),
            );
        }
    }
    if e.status.is_none() && e.firing.is_empty() && e.not_firing.is_empty() {
        diags.push(bad(
            m.span,
            format!("{what}: this expectation checks nothing"),
            "no `status`, `firing` or `not_firing`",
            "add `status:` with `period:`, or the alerts expected to fire (`firing:`) or not (`not_firing:`)",
        ));
    }
    let slice: IndexMap<String, String> = e
        .slice
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    if let (Some(t), true) = (target, e.status.is_some() && !slice.is_empty()) {
        let dims: Vec<&String> = slice.keys().collect();
        if t.slice_dims.iter().collect::<Vec<_>>() != dims {
            diags.push(bad(
                m.span,
                format!(
                    "target `{}` is sliced by [{}], not by [{}]",
                    t.name,
                    t.slice_dims.join(", "),
                    slice.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                "the slice names other dimensions",
                "name the target's slice dimensions, in its order",
            ));
        }
    }
    (diags.len() == before).then(|| Expect {
        span: m.span,
        metric: m.value.clone(),
        target: target.map(|t| t.name.clone()),
        period,
        slice,
        status,
        firing: e.firing.iter().map(|a| a.value.clone()).collect(),
        not_firing: e.not_firing.iter().map(|a| a.value.clone()).collect(),
    })
}

/// One unmet expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub span: Span,
    /// What was expected (`resolution_rate fy26_plan 2026-05: on_track`).
    pub expected: String,
    /// What the evaluation said.
    pub actual: String,
}

fn slice_text(slice: &IndexMap<String, String>) -> String {
    if slice.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = slice.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(" [{}]", parts.join(", "))
    }
}

/// Compare an evaluation with the test's expectations: every unmet one.
pub fn compare(t: &PreparedCheckTest, report: &Report) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for e in &t.expectations {
        let at = slice_text(&e.slice);
        if let (Some(status), Some(period), Some(target)) = (e.status, e.period, &e.target) {
            let found = report.evaluations.iter().find(|x| {
                x.metric == e.metric
                    && &x.target == target
                    && x.period == period
                    && x.slice == e.slice
            });
            let actual = found.map(|x| {
                let v = x
                    .value
                    .map(super::eval::fmt_num)
                    .unwrap_or_else(|| "none".into());
                let tv = x
                    .target_value
                    .map(super::eval::fmt_num)
                    .unwrap_or_else(|| "none".into());
                (
                    x.status,
                    format!("{} (value {v}, target {tv})", x.status.name()),
                )
            });
            if actual.as_ref().map(|a| a.0) != Some(status) {
                out.push(Mismatch {
                    span: e.span,
                    expected: format!("{} {target} {}{at}: {}", e.metric, period.label(), status.name()),
                    actual: actual.map(|a| a.1).unwrap_or_else(|| {
                        format!("no evaluation for {} (only the period containing as_of and the latest mature one are evaluated)", period.label())
                    }),
                });
            }
        }
        for (names, fire) in [(&e.firing, true), (&e.not_firing, false)] {
            for a in names {
                let found = report
                    .alerts
                    .iter()
                    .find(|x| x.metric == e.metric && &x.alert == a && x.slice == e.slice);
                let state = found.map(|x| x.state);
                if (state == Some(AlertState::Firing)) != fire {
                    out.push(Mismatch {
                        span: e.span,
                        expected: format!(
                            "alert {a}{at}: {}",
                            if fire { "firing" } else { "not firing" }
                        ),
                        actual: match found {
                            Some(x) => format!("{} ({})", x.state.name(), x.detail),
                            None => "not evaluated for this slice".into(),
                        },
                    });
                }
            }
        }
    }
    out
}

/// The mismatches as a diff: expected (`-`) and actual (`+`) lines.
pub fn diff_text(mismatches: &[Mismatch]) -> String {
    let mut s = String::new();
    for m in mismatches {
        s.push_str(&format!("- {}\n+ {}\n", m.expected, m.actual));
    }
    s
}
