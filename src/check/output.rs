//! The output formats of `tally check`: human (grouped by accountable owner, with who is
//! notified), json (docs/check-json.md), markdown, github, junit and sarif.

use crate::choices::CheckFormat;
use tally_core::diag::{self, Diagnostic, JunitCase, JunitProblem, JunitProblemKind};
use tally_core::model::Model;
use tally_core::targets::eval::{fmt_num, AlertEvaluation, AlertState, Evaluation, Report};
use tally_core::targets::state::Notice;
use tally_core::targets::{Condition, FailOn, Severity, Status};

/// The report in `format`; `warnings` (the project's and the data's) go into the SARIF and
/// JUnit documents (other formats report them apart, `report::warn`).
pub(crate) fn render(
    model: &Model,
    report: &Report,
    notices: &[Notice],
    warnings: &[Diagnostic],
    format: CheckFormat,
) -> String {
    match format {
        CheckFormat::Json => {
            serde_json::to_string_pretty(&json(model, report, notices)).expect("json") + "\n"
        }
        CheckFormat::Markdown => markdown(report),
        CheckFormat::Github => diag::render_github(&model.sources, &findings(model, report)),
        CheckFormat::Sarif => {
            let mut all = findings(model, report);
            all.extend_from_slice(warnings);
            serde_json::to_string_pretty(&diag::to_sarif(&model.sources, &all)).expect("json")
                + "\n"
        }
        CheckFormat::Junit => junit(model, report, warnings),
        CheckFormat::Human => human(model, report, notices),
    }
}

/// The level (1 at_risk, 2 off_track) at which a firing alert counts for `--fail-on`.
fn alert_level(model: &Model, a: &AlertEvaluation) -> u8 {
    let cond = model
        .checks
        .metrics
        .get(&a.metric)
        .and_then(|m| m.alerts.iter().find(|x| x.name == a.alert))
        .map(|x| &x.condition);
    match cond {
        Some(Condition::Status { at_least, .. }) => at_least.severity().unwrap_or(2),
        _ if a.severity == Severity::High => 2,
        _ => 1,
    }
}

/// Whether the report fails at `fail_on`.
pub(crate) fn fails_with(model: &Model, report: &Report, fail_on: FailOn) -> bool {
    let level = match fail_on {
        FailOn::Never => return false,
        FailOn::AtRisk => 1,
        FailOn::OffTrack => 2,
    };
    report
        .evaluations
        .iter()
        .any(|e| e.status.severity().is_some_and(|s| s >= level))
        || report
            .alerts
            .iter()
            .any(|a| a.state == AlertState::Firing && alert_level(model, a) >= level)
}

fn slice_text<'a>(s: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let parts: Vec<String> = s.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join(", "))
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "-".into())
}

fn accountable(model: &Model, metric: &str) -> String {
    model
        .metrics
        .get(metric)
        .and_then(|m| m.owners.accountable.clone())
        .unwrap_or_else(|| "(no accountable owner)".into())
}

fn who(model: &Model, name: &str) -> String {
    let channels = model
        .checks
        .endpoints
        .get(name)
        .map(|e| e.channels())
        .unwrap_or_default();
    let label = model
        .people
        .get(name)
        .and_then(|p| p.full_name.clone())
        .map(|f| format!("{f} ({name})"))
        .unwrap_or_else(|| name.to_string());
    if channels.is_empty() {
        format!("{label}: no endpoint")
    } else {
        format!("{label}: {}", channels.join(", "))
    }
}

fn human(model: &Model, report: &Report, notices: &[Notice]) -> String {
    let mut owners: Vec<String> = Vec::new();
    for m in report
        .evaluations
        .iter()
        .map(|e| &e.metric)
        .chain(report.alerts.iter().map(|a| &a.metric))
    {
        let o = accountable(model, m);
        if !owners.contains(&o) {
            owners.push(o);
        }
    }
    let mut out = format!("tally check as of {}\n", report.as_of);
    for o in owners {
        let label = model
            .people
            .get(&o)
            .and_then(|p| p.full_name.clone())
            .map(|f| format!("{f} ({o})"))
            .unwrap_or_else(|| o.clone());
        out.push_str(&format!("\n{label}, accountable\n"));
        for e in report
            .evaluations
            .iter()
            .filter(|e| accountable(model, &e.metric) == o)
        {
            out.push_str(&format!("  {}\n", evaluation_line(e)));
        }
        for a in report
            .alerts
            .iter()
            .filter(|a| accountable(model, &a.metric) == o)
        {
            out.push_str(&format!(
                "  alert {} on {}{} ({}): {} at {}: {}\n",
                a.alert,
                a.metric,
                slice_text(&a.slice),
                a.severity.name(),
                a.state.name(),
                a.period.map(|p| p.label()).unwrap_or_else(|| "-".into()),
                a.detail
            ));
            if a.state == AlertState::Firing {
                let mut to = a.notify.clone();
                if a.escalated {
                    to.extend(a.escalate_to.iter().cloned());
                }
                for r in to {
                    let role = r.role.map(|x| format!(" ({x})")).unwrap_or_default();
                    out.push_str(&format!("      notifies {}{role}\n", who(model, &r.name)));
                }
            }
        }
    }
    if !notices.is_empty() {
        out.push_str("\nnotifications this run:\n");
        for n in notices {
            out.push_str(&format!("  {}\n", n.text()));
        }
    }
    let count = |s: Status| report.evaluations.iter().filter(|e| e.status == s).count();
    let firing = report
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    out.push_str(&format!(
        "\n{} on track, {} at risk, {} off track, {} immature, {} no data, {} no target; {firing} alert(s) firing\n",
        count(Status::OnTrack),
        count(Status::AtRisk),
        count(Status::OffTrack),
        count(Status::Immature),
        count(Status::NoData),
        count(Status::NoTarget),
    ));
    out
}

fn evaluation_line(e: &Evaluation) -> String {
    let gap = match (e.gap, e.gap_pct) {
        (Some(g), Some(p)) => format!(", gap {} ({:+.1}%)", fmt_num(g), p * 100.0),
        (Some(g), None) => format!(", gap {}", fmt_num(g)),
        _ => String::new(),
    };
    let partial = if e.elapsed < 1.0 && e.elapsed > 0.0 {
        format!(", {:.0}% of period elapsed", e.elapsed * 100.0)
    } else {
        String::new()
    };
    format!(
        "{}{} {} {}: {} vs target {}{gap}{partial}  {}",
        e.metric,
        slice_text(&e.slice),
        e.target,
        e.period,
        opt(e.value),
        opt(e.target_value),
        e.status.name().to_uppercase()
    )
}

/// The JSON output (schema: docs/check-json.md).
pub(crate) fn json(model: &Model, report: &Report, notices: &[Notice]) -> serde_json::Value {
    let evaluations: Vec<serde_json::Value> = report
        .evaluations
        .iter()
        .map(|e| {
            serde_json::json!({
                "metric": e.metric, "target": e.target, "grain": e.grain, "period": e.period,
                "slice": e.slice, "value": e.value, "target_value": e.target_value,
                "direction": e.direction, "gap": e.gap, "gap_pct": e.gap_pct, "status": e.status,
                "elapsed": e.elapsed, "pacing": e.pacing, "previous": e.previous,
                "accountable": model.metrics.get(&e.metric).and_then(|m| m.owners.accountable.clone()),
            })
        })
        .collect();
    serde_json::json!({
        "version": 1,
        "as_of": report.as_of,
        "evaluations": evaluations,
        "alerts": report.alerts,
        "notifications": notices,
    })
}

fn markdown(report: &Report) -> String {
    let mut out = format!("## tally check as of {}\n\n", report.as_of);
    out.push_str("| metric | slice | target | period | value | target value | status |\n");
    out.push_str("|---|---|---|---|---:|---:|---|\n");
    for e in &report.evaluations {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            e.metric,
            slice_text(&e.slice).trim(),
            e.target,
            e.period,
            opt(e.value),
            opt(e.target_value),
            e.status.name()
        ));
    }
    if !report.alerts.is_empty() {
        out.push_str("\n| alert | metric | slice | severity | state | period | detail |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for a in &report.alerts {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                a.alert,
                a.metric,
                slice_text(&a.slice).trim(),
                a.severity.name(),
                a.state.name(),
                a.period.map(|p| p.label()).unwrap_or_default(),
                a.detail.replace('|', "\\|")
            ));
        }
    }
    out
}

/// Statuses at risk or worse and firing alerts as diagnostics at their YAML (github, sarif).
fn findings(model: &Model, report: &Report) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for e in &report.evaluations {
        let Some(sev) = e.status.severity().filter(|s| *s > 0) else {
            continue;
        };
        let span = model
            .checks
            .metrics
            .get(&e.metric)
            .and_then(|m| m.targets.iter().find(|t| t.name == e.target))
            .map(|t| t.span)
            .unwrap_or_default();
        let msg = format!(
            "{}{} is {} against target {} for {}: {} vs {}",
            e.metric,
            slice_text(&e.slice),
            e.status.name(),
            e.target,
            e.period,
            opt(e.value),
            opt(e.target_value)
        );
        let d = if sev >= 2 {
            Diagnostic::error(diag::codes::CHECK_STATUS, msg)
        } else {
            Diagnostic::warning(diag::codes::CHECK_STATUS, msg)
        };
        out.push(d.at(span));
    }
    for a in report
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
    {
        let span = model
            .checks
            .metrics
            .get(&a.metric)
            .and_then(|m| m.alerts.iter().find(|x| x.name == a.alert))
            .map(|x| x.span)
            .unwrap_or_default();
        let msg = format!(
            "alert {} fires on {}{} for {}: {}",
            a.alert,
            a.metric,
            slice_text(&a.slice),
            a.period.map(|p| p.label()).unwrap_or_default(),
            a.detail
        );
        let d = if alert_level(model, a) >= 2 {
            Diagnostic::error(diag::codes::CHECK_STATUS, msg)
        } else {
            Diagnostic::warning(diag::codes::CHECK_STATUS, msg)
        };
        out.push(d.at(span));
    }
    diag::sort(&mut out);
    out
}

fn junit(model: &Model, report: &Report, warnings: &[Diagnostic]) -> String {
    let mut cases = Vec::new();
    for e in &report.evaluations {
        let problem = e
            .status
            .severity()
            .filter(|s| *s > 0)
            .map(|_| JunitProblem {
                kind: JunitProblemKind::Failure,
                type_: e.status.name().into(),
                message: evaluation_line(e),
                text: String::new(),
            });
        cases.push(JunitCase {
            name: format!(
                "{}{} {} {}",
                e.target,
                slice_text(&e.slice),
                e.period,
                e.status.name()
            ),
            classname: e.metric.clone(),
            file: None,
            line: None,
            problem,
            output: None,
        });
    }
    for a in &report.alerts {
        let problem = (a.state == AlertState::Firing).then(|| JunitProblem {
            kind: JunitProblemKind::Failure,
            type_: "firing".into(),
            message: format!("{}: {}", a.alert, a.detail),
            text: String::new(),
        });
        cases.push(JunitCase {
            name: format!("alert {}{}", a.alert, slice_text(&a.slice)),
            classname: a.metric.clone(),
            file: None,
            line: None,
            problem,
            output: None,
        });
    }
    // Errors among them (a notification not delivered) are failing cases of their own.
    let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) = warnings
        .iter()
        .partition(|d| d.severity == diag::Severity::Error);
    for d in errors {
        cases.push(JunitCase {
            name: d.message.clone(),
            classname: "tally.check".into(),
            file: None,
            line: None,
            problem: Some(JunitProblem {
                kind: JunitProblemKind::Failure,
                type_: d.code.to_string(),
                message: d.message.clone(),
                text: diag::plain_text(&model.sources, d),
            }),
            output: None,
        });
    }
    if !warnings.is_empty() {
        // Warnings are no failures: a passing case that carries them in `<system-out>`.
        let text: Vec<String> = warnings
            .iter()
            .map(|d| diag::plain_text(&model.sources, d))
            .collect();
        cases.push(JunitCase {
            name: "warnings".into(),
            classname: "tally.check".into(),
            file: None,
            line: None,
            problem: None,
            output: Some(text.join("\n")),
        });
    }
    diag::render_junit_cases("tally check", &cases)
}
