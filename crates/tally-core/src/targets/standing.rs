//! Where one metric stands against its target in one period: the question `tally tree` asks of
//! every node. The same judgement as [`super::eval`] (maturity, no data, bands, pacing) for one
//! period and the overall metric (no slice), from a value the caller read. Pure, no clock.

use super::eval::Observation;
use super::period::Period;
use super::{Direction, MetricChecks, Status, Target};
use crate::model::Model;
use crate::time::Grain;
use jiff::civil::DateTime;
use serde::Serialize;

/// A metric's target and status for one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// The target judged (the metric's first target at the grain), if any.
    pub target_name: Option<String>,
    pub target: Option<f64>,
    pub status: Status,
    pub direction: Option<Direction>,
    /// Distance on the bad side of the target (positive: worse than target), as `tally check`
    /// reports it.
    pub bad_gap: Option<f64>,
}

/// The target of `mc` at `grain` that a tree judges: the first one declared at that grain.
pub fn target_at(mc: &MetricChecks, grain: Grain) -> Option<&Target> {
    mc.targets.iter().find(|t| t.grain == grain)
}

/// The standing of `metric` in `period` (of `grain`) with the value read, at `as_of`; None when
/// the metric has no direction, targets or maturity (nothing to judge it by).
pub fn standing(
    model: &Model,
    metric: &str,
    grain: Grain,
    period: Period,
    value: Option<f64>,
    as_of: DateTime,
) -> Option<Standing> {
    let mc = model.checks.metrics.get(metric)?;
    let Some(t) = target_at(mc, grain) else {
        let status = if super::eval::is_immature(mc, period, as_of) {
            Status::Immature
        } else if value.is_none() {
            Status::NoData
        } else {
            Status::NoTarget
        };
        return Some(Standing {
            target_name: None,
            target: None,
            status,
            direction: mc.direction,
            bad_gap: None,
        });
    };
    let obs = Observation {
        slice: Vec::new(),
        period,
        value,
        target: None,
    };
    let (status, target, judgement) =
        super::eval::judge_period(mc, t, period, &[], Some(&obs), as_of);
    Some(Standing {
        target_name: Some(t.name.clone()),
        target,
        status,
        direction: mc.direction,
        bad_gap: judgement.map(|j| j.gap),
    })
}
