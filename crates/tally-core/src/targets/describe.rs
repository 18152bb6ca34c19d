//! Targets and alerts as text fields, for `tally diff` ("target fy26_plan: month 2026-01 50 →
//! …"): one field per direction, maturity, target and alert, compared as text.

use super::{Band, Condition, Level, Target};
use crate::model::Model;

fn band(b: Band) -> String {
    if b.relative {
        format!("{}%", super::eval::fmt_num(b.amount * 100.0))
    } else {
        super::eval::fmt_num(b.amount)
    }
}

fn target_text(t: &Target) -> String {
    let mut parts = vec![t.grain.name().to_string()];
    for e in &t.entries {
        let slice = if e.slice.is_empty() {
            String::new()
        } else {
            format!("[{}] ", e.slice.join(", "))
        };
        let range = match e.to {
            Some(to) if to == e.from => e.from.label(),
            Some(to) => format!("{}..{}", e.from, to),
            None => format!("{}..", e.from),
        };
        let level = match e.level {
            Level::Constant(v) => super::eval::fmt_num(v),
            Level::Linear { start, end } => format!(
                "ramp {}→{}",
                super::eval::fmt_num(start),
                super::eval::fmt_num(end)
            ),
        };
        parts.push(format!("{slice}{range} {level}"));
    }
    parts.push(format!(
        "bands at_risk {} off_track {}",
        band(t.bands.at_risk),
        band(t.bands.off_track)
    ));
    if t.pacing != super::Pacing::None {
        parts.push(format!("pacing {:?}", t.pacing).to_lowercase());
    }
    parts.join("; ")
}

/// (field, text) pairs of a metric's checks, empty when it has none.
pub fn fields(model: &Model, metric: &str) -> Vec<(String, String)> {
    let Some(mc) = model.checks.metrics.get(metric) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(d) = mc.direction {
        out.push(("direction".to_string(), d.name().to_string()));
    }
    if let Some(s) = mc.maturity_seconds {
        out.push(("maturity".to_string(), format!("{} hours", s / 3600)));
    }
    for t in &mc.targets {
        out.push((format!("target {}", t.name), target_text(t)));
    }
    for a in &mc.alerts {
        let cond = match &a.condition {
            Condition::Status { target, at_least } => {
                format!("{target} status {}", at_least.name())
            }
            Condition::Threshold { op, value } => {
                format!("{op:?} {}", super::eval::fmt_num(*value)).to_lowercase()
            }
            Condition::Change { vs, worse, by } => format!(
                "{} by {} vs {vs:?}",
                if *worse { "worse" } else { "better" },
                band(*by)
            )
            .to_lowercase(),
            Condition::Anomaly {
                lookback,
                threshold,
            } => format!("robust_z over {lookback} periods above {threshold}"),
        };
        let mut text = format!(
            "{cond}; {} for {} period(s); severity {}; notify {}",
            a.grain.name(),
            a.for_periods,
            a.severity.name(),
            a.routing.firing.join(", ")
        );
        if let Some((n, add)) = &a.routing.escalate {
            text.push_str(&format!("; after {n} add {}", add.join(", ")));
        }
        if !a.by.is_empty() {
            text.push_str(&format!("; by {}", a.by.join(", ")));
        }
        out.push((format!("alert {}", a.name), text));
    }
    out
}
