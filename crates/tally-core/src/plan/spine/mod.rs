//! Time spine relations: offsets, cumulative windows and `join_to_timespine`.
//!
//! A measure that moves in time is first aggregated to its base grain (one row per day and
//! group-by keys; its distinct values for COUNT DISTINCT; a sum and a count for an average of a
//! cumulative metric) and only then joined to the time spine, so the spine join reads a day's rows
//! once instead of every fact row per window day. All-time and grain-to-date sums, minimums and
//! maximums go further: a window function turns the days into running values, each valid until the
//! next day with rows, and every spine day joins exactly one of them. Percentiles (which cannot be
//! re-aggregated) and averages moved by an offset are joined row by row.

mod base;
mod cumulative;
mod custom_grain;
mod offset;

use super::items::{Item, Target};
use super::joins::FromBuilder;
use super::metrics::Cumulative;
use super::spine_column;
use super::Planner;
use crate::diag::{codes, Diagnostic};
use crate::model::{AggKind, TimeSpine};
use crate::sql::{Expr, Join, TableRef};
use crate::time::{Grain, TimeGrain};
use crate::timeval::Ts;

/// The column of a running aggregate's relation holding the time until which a row's value holds.
const VALID_UNTIL: &str = "valid_until";

/// The column numbering the base-grain rows of a period, from the one a cumulative metric keeps.
const PERIOD_RANK: &str = "period_rank";

/// The end of a running aggregate without a period: a time after every time spine.
const END_OF_TIME: Ts = Ts::date(9999, 12, 31);

/// A measure aggregated to its base grain by the query's other items.
pub(crate) struct BaseRel {
    pub cte: String,
    /// The column of the base-grain time.
    pub time: String,
    pub grain: Grain,
    /// The columns of the key items (named by their output names).
    pub keys: Vec<String>,
    /// The column holding the measure (a partial aggregate or the raw value).
    pub measure: String,
    /// The aggregation that finishes `measure`.
    pub agg: AggKind,
    /// For an average split into a sum (`measure`) and a count: the column of the count.
    pub count: Option<String>,
}

/// Days of the time spine mapped to the days they move to.
struct DayMap {
    from: TableRef,
    joins: Vec<Join>,
    /// The day the shifted relation is joined on.
    in_day: Expr,
    /// The day it moves to.
    out_day: Expr,
    /// The spine row whose day is `out_day`, when there is one (its custom granularity columns
    /// can be read directly).
    out_row: Option<(String, TimeSpine)>,
}

impl<'m> Planner<'m> {
    /// The time spine for a grain: the one with the coarsest grain at most `grain`.
    pub(crate) fn spine_for(&mut self, grain: Grain) -> Option<TimeSpine> {
        match self
            .cx
            .model
            .spine_for(grain)
            .or(self.cx.model.time_spines.first())
        {
            Some(s) => Some(s.clone()),
            None => {
                self.err(
                    Diagnostic::error(
                        codes::TIME_SPINE,
                        "this query needs a time spine, and the project has none",
                    )
                    .with_help("configure `time_spines` in a project_configuration"),
                );
                None
            }
        }
    }

    /// The expression of a time item over a time expression `t` of grain `t_grain`; `row` is the
    /// time spine row of `t`, if `t` is a spine's own column.
    pub(crate) fn time_item_over(
        &mut self,
        fb: &mut FromBuilder,
        item: &Item,
        t: Expr,
        t_grain: Grain,
        row: Option<&(String, TimeSpine)>,
    ) -> Option<Expr> {
        let (grain, part) = match &item.target {
            Target::MetricTime { grain, date_part }
            | Target::Element {
                grain, date_part, ..
            } => (grain.clone(), *date_part),
        };
        if let (Some(TimeGrain::Custom(c)), None, Some((alias, spine))) = (&grain, part, row) {
            if let Some((cs, col)) = self.cx.model.custom_granularity(c) {
                if cs.relation == spine.relation {
                    return Some(spine_column(Expr::col(alias, col)));
                }
            }
        }
        if let (Some(TimeGrain::Standard(g)), None) = (&grain, part) {
            if *g == t_grain && row.is_some() {
                return Some(t);
            }
        }
        self.time_expr(fb, t, t_grain, grain.as_ref(), part)
    }
}

fn window_text(cum: &Cumulative) -> String {
    match (&cum.window, &cum.grain_to_date) {
        (Some(w), _) => format!("a window of {}", amount(w.count, &w.grain.to_string())),
        (None, Some(g)) => format!("the {g} to date"),
        (None, None) => "all time".to_string(),
    }
}

/// `1 day`, `5 days`.
fn amount(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("{count} {unit}")
    } else {
        format!("{count} {unit}s")
    }
}
