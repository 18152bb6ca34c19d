//! Group-by items: parsing, output names, default granularities and the time constraint.

use super::{Bounds, Planner, QueryRequest};
use crate::diag::{codes, Diagnostic};
use crate::expr::{self, Reference};
use crate::model::bind_item;
pub(crate) use crate::model::{item_out, Item, Target};
use crate::time::{Grain, TimeGrain};
use crate::timeval::Ts;
use crate::yaml::Spanned;

/// Give metric_time without a granularity the query's default granularity.
pub(crate) fn apply_default_grain(items: &mut [Item], default: Grain) {
    for it in items.iter_mut() {
        if let Target::MetricTime { grain, date_part } = &mut it.target {
            if grain.is_none() {
                *grain = Some(TimeGrain::Standard(default));
                if date_part.is_none() {
                    it.out = item_out(&it.target);
                }
            }
        }
    }
}

impl<'m> Planner<'m> {
    /// A group-by item of the query. One that names metric_time but does not bind (a misspelt
    /// granularity or date part) is reported and stands in as metric_time at the default
    /// granularity, so that planning goes on to report the query's other problems without
    /// adding that offset metrics need metric_time; the error keeps the plan from being used.
    pub(crate) fn parse_item(&mut self, text: &Spanned<String>) -> Option<Item> {
        let loc = crate::yaml::locate(&self.cx.model.sources, text.span, &text.value);
        match expr::parse_group_by_at(&text.value, &loc) {
            Ok(r) => self.reference_to_item(&r).or_else(|| {
                let names_metric_time = r.entity_path.is_empty()
                    && expr::split_dunder(&r.name)
                        .first()
                        .is_some_and(|p| p.eq_ignore_ascii_case("metric_time"));
                names_metric_time.then(|| {
                    let target = Target::MetricTime {
                        grain: None,
                        date_part: None,
                    };
                    Item {
                        out: item_out(&target),
                        target,
                        span: r.span,
                        own_grain: false,
                    }
                })
            }),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    /// Turn a parsed reference into a target and its output column name ([`bind_item`], the
    /// function that binds the references of filters), reporting a problem.
    pub(crate) fn reference_to_item(&mut self, r: &Reference) -> Option<Item> {
        match bind_item(self.cx.model, r) {
            Ok(i) => Some(i),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    // ----- default granularity -------------------------------------------------------------------

    /// The time constraint as timestamps `[lo, hi)` on metric_time, widened to whole periods of the
    /// query's metric_time granularity (MetricFlow: `[2020-01-15, 2020-02-15]` by month is
    /// `[2020-01-01, 2020-03-01)`).
    pub(crate) fn time_bounds(
        &mut self,
        req: &QueryRequest,
        items: &[Item],
        default_grain: Grain,
        has_metrics: bool,
    ) -> Option<Bounds> {
        if req.start_time.is_none() && req.end_time.is_none() {
            return Some(Bounds::default());
        }
        let grain = items
            .iter()
            .filter(|i| i.is_metric_time())
            .map(|i| match (i.date_part(), i.grain()) {
                (None, Some(TimeGrain::Standard(g))) => *g,
                (None, Some(TimeGrain::Custom(c))) => self
                    .cx
                    .model
                    .custom_granularity(c)
                    .map(|(s, _)| s.grain)
                    .unwrap_or(Grain::Day),
                _ => default_grain,
            })
            .min()
            .unwrap_or(if has_metrics {
                default_grain
            } else {
                Grain::Day
            });
        let parse = |s: &str, what: &str, planner: &mut Self| -> Option<(Ts, bool)> {
            match Ts::parse(s) {
                Some(t) => Some(t),
                None => {
                    planner.err(
                        Diagnostic::error(codes::INVALID_QUERY, format!("invalid {what} `{s}`"))
                            .with_help(
                                "write a date `2024-01-31` or a timestamp `2024-01-31 13:00:00`",
                            ),
                    );
                    None
                }
            }
        };
        let lo = match &req.start_time {
            Some(s) => Some(parse(s, "start time", self)?.0.trunc(grain)),
            None => None,
        };
        let hi = match &req.end_time {
            Some(s) => {
                let (t, has_time) = parse(s, "end time", self)?;
                // A date without a time means the whole day.
                let last = if has_time {
                    t
                } else {
                    t.add(1, Grain::Day).add(-1, Grain::Microsecond)
                };
                Some(last.trunc(grain).add(1, grain))
            }
            None => None,
        };
        Some(Bounds { lo, hi })
    }
}
