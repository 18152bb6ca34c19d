//! A value against a target: the gap on the bad side, the tolerance bands and pacing.

use super::{Bands, Direction, Pacing};
pub use crate::model::checks::Status;
use serde::Serialize;

/// A judged value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Judgement {
    pub status: Status,
    /// The value compared (projected when pacing is `project`).
    pub compared_value: f64,
    /// The target compared (prorated when pacing is `prorate`).
    pub compared_target: f64,
    /// Distance on the bad side of the target (negative: better than target).
    pub gap: f64,
    /// `gap / |target|` when the target is not zero.
    pub gap_pct: Option<f64>,
}

/// The gap on the bad side: positive means worse than the target.
pub fn bad_gap(direction: Direction, value: f64, target: f64) -> f64 {
    match direction {
        Direction::HigherIsBetter => target - value,
        Direction::LowerIsBetter => value - target,
        Direction::TargetIsBest => (value - target).abs(),
    }
}

/// Judge `value` against `target`. `elapsed` is the share of the period elapsed at the
/// evaluation time (1 for a complete period); pacing applies only to partial periods.
pub fn judge(
    direction: Direction,
    value: f64,
    target: f64,
    bands: Bands,
    pacing: Pacing,
    elapsed: f64,
) -> Judgement {
    let partial = elapsed > 0.0 && elapsed < 1.0;
    let (v, t) = match pacing {
        Pacing::Prorate if partial => (value, target * elapsed),
        Pacing::Project if partial => (value / elapsed, target),
        _ => (value, target),
    };
    let gap = bad_gap(direction, v, t);
    let status = if gap <= bands.at_risk.width(t) + 1e-12 {
        Status::OnTrack
    } else if gap <= bands.off_track.width(t) + 1e-12 {
        Status::AtRisk
    } else {
        Status::OffTrack
    };
    Judgement {
        status,
        compared_value: v,
        compared_target: t,
        gap,
        gap_pct: (t != 0.0).then(|| gap / t.abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::Band;

    fn bands(a: f64, o: f64) -> Bands {
        Bands {
            at_risk: Band {
                amount: a,
                relative: true,
            },
            off_track: Band {
                amount: o,
                relative: true,
            },
        }
    }

    #[test]
    fn bands_follow_direction() {
        let b = bands(0.10, 0.25);
        let j = |d, v| judge(d, v, 100.0, b, Pacing::None, 1.0).status;
        assert_eq!(j(Direction::LowerIsBetter, 105.0), Status::OnTrack);
        assert_eq!(j(Direction::LowerIsBetter, 115.0), Status::AtRisk);
        assert_eq!(j(Direction::LowerIsBetter, 130.0), Status::OffTrack);
        assert_eq!(j(Direction::LowerIsBetter, 10.0), Status::OnTrack);
        assert_eq!(j(Direction::HigherIsBetter, 85.0), Status::AtRisk);
        assert_eq!(j(Direction::HigherIsBetter, 130.0), Status::OnTrack);
        assert_eq!(j(Direction::TargetIsBest, 130.0), Status::OffTrack);
        assert_eq!(j(Direction::TargetIsBest, 92.0), Status::OnTrack);
    }

    #[test]
    fn pacing_for_partial_periods() {
        let b = bands(0.0, 0.10);
        // Half the month gone, 55 of a 100 target: prorated target 50, on track.
        let p = judge(
            Direction::HigherIsBetter,
            55.0,
            100.0,
            b,
            Pacing::Prorate,
            0.5,
        );
        assert_eq!(p.status, Status::OnTrack);
        assert_eq!(p.compared_target, 50.0);
        // Projected 110 against 100.
        let p = judge(
            Direction::HigherIsBetter,
            55.0,
            100.0,
            b,
            Pacing::Project,
            0.5,
        );
        assert_eq!(p.compared_value, 110.0);
        // Without pacing the period to date is compared as is.
        let p = judge(Direction::HigherIsBetter, 55.0, 100.0, b, Pacing::None, 0.5);
        assert_eq!(p.status, Status::OffTrack);
    }
}
