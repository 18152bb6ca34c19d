//! Group-by items: parsing, output names, default granularities and the time constraint.

use super::{join_path, Bounds, Planner, QueryRequest};
use crate::diag::{codes, Diagnostic};
use crate::expr::{self, RefKind, Reference};
use crate::model::{MeasureRef, MetricKind};
use crate::source::Span;
use crate::time::{DatePart, Grain, TimeGrain};
use crate::timeval::Ts;
use crate::yaml::Spanned;

/// What a group-by item or filter reference points at, independent of the source model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Target {
    MetricTime {
        grain: Option<TimeGrain>,
        date_part: Option<DatePart>,
    },
    Element {
        links: Vec<String>,
        element: String,
        grain: Option<TimeGrain>,
        date_part: Option<DatePart>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// The output column name, as MetricFlow names it.
    pub out: String,
    pub target: Target,
    pub span: Span,
    /// A time dimension queried without a granularity, at its own.
    pub own_grain: bool,
}

impl Item {
    pub fn is_metric_time(&self) -> bool {
        matches!(self.target, Target::MetricTime { .. })
    }

    pub fn grain(&self) -> Option<&TimeGrain> {
        match &self.target {
            Target::MetricTime { grain, .. } | Target::Element { grain, .. } => grain.as_ref(),
        }
    }

    pub fn date_part(&self) -> Option<DatePart> {
        match &self.target {
            Target::MetricTime { date_part, .. } | Target::Element { date_part, .. } => *date_part,
        }
    }

    /// The standard grain of a time item without a date part.
    pub fn standard_grain(&self) -> Option<Grain> {
        if self.date_part().is_some() {
            return None;
        }
        self.grain().and_then(TimeGrain::standard)
    }
}

/// The output name of a target.
pub(crate) fn item_out(target: &Target) -> String {
    let (base, grain, date_part) = match target {
        Target::MetricTime { grain, date_part } => ("metric_time".to_string(), grain, date_part),
        Target::Element {
            links,
            element,
            grain,
            date_part,
        } => (join_path(links, element), grain, date_part),
    };
    match (date_part, grain) {
        (Some(p), _) => format!("{base}__extract_{}", p.name()),
        (None, Some(g)) => format!("{base}__{g}"),
        (None, None) => base,
    }
}

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
    pub(crate) fn parse_item(&mut self, text: &Spanned<String>) -> Option<Item> {
        let loc = crate::yaml::locate(&self.model.sources, text.span, &text.value);
        match expr::parse_group_by_at(&text.value, &loc) {
            Ok(r) => self.reference_to_item(&r),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    /// A granularity name: standard, or custom (a column of a time spine).
    pub(crate) fn parse_time_grain(&self, s: &str) -> Option<TimeGrain> {
        if let Some(g) = Grain::parse(s) {
            return Some(TimeGrain::Standard(g));
        }
        let l = s.trim().to_ascii_lowercase();
        self.model
            .custom_granularity(&l)
            .map(|_| TimeGrain::Custom(l))
    }

    fn grain_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Grain::names().map(str::to_string).collect();
        for s in &self.model.time_spines {
            names.extend(s.custom_granularities.iter().map(|(n, _)| n.clone()));
        }
        names
    }

    /// Turn a parsed reference into a target and its output column name.
    pub(crate) fn reference_to_item(&mut self, r: &Reference) -> Option<Item> {
        let mut parts: Vec<String> = r.entity_path.clone();
        parts.extend(expr::split_dunder(&r.name));
        let mut grain = match &r.grain {
            Some(g) => match self.parse_time_grain(g) {
                Some(g) => Some(g),
                None => {
                    let names = self.grain_names();
                    self.err(
                        Diagnostic::error(
                            codes::GRANULARITY,
                            format!("unknown time granularity `{g}`"),
                        )
                        .at(r.span)
                        .with_suggestion(g, names.iter().map(String::as_str)),
                    );
                    return None;
                }
            },
            None => None,
        };
        let date_part = match &r.date_part {
            Some(p) => match DatePart::parse(p) {
                Some(p) => Some(p),
                None => {
                    self.err(
                        Diagnostic::error(codes::GRANULARITY, format!("unknown date part `{p}`"))
                            .at(r.span)
                            .with_suggestion(p, DatePart::ALL.iter().map(|d| d.name())),
                    );
                    return None;
                }
            },
            None => None,
        };
        // A trailing granularity in a dunder name (`metric_time__month`, `booking__ds__alien_day`).
        if r.kind != RefKind::Entity && grain.is_none() && parts.len() >= 2 {
            let last = parts.last().expect("len checked").to_ascii_lowercase();
            let g = match Grain::parse(&last) {
                Some(g) if g.name() == last => Some(TimeGrain::Standard(g)),
                _ => self
                    .model
                    .custom_granularity(&last)
                    .map(|_| TimeGrain::Custom(last.clone())),
            };
            if let Some(g) = g {
                let is_metric_time = parts.len() == 2 && parts[0] == "metric_time";
                if is_metric_time || parts.len() >= 3 {
                    grain = Some(g);
                    parts.pop();
                }
            }
        }
        if r.kind == RefKind::Metric {
            self.err(
                Diagnostic::error(
                    codes::UNSUPPORTED,
                    "metrics cannot be used as group-by items",
                )
                .at(r.span)
                .with_help("group by dimensions, entities or metric_time"),
            );
            return None;
        }
        if parts.len() == 1 && parts[0] == "metric_time" {
            let target = Target::MetricTime { grain, date_part };
            return Some(Item {
                out: item_out(&target),
                target,
                span: r.span,
                own_grain: false,
            });
        }
        let element = parts.pop().unwrap_or_default();
        let links = parts;
        let time_grain = self.element_time_grain(&element);
        if grain.is_some() && time_grain.is_none() && self.element_exists(&element) {
            self.err(
                Diagnostic::error(
                    codes::INVALID_QUERY,
                    format!("`{element}` is not a time dimension, so it has no granularity"),
                )
                .at(r.span)
                .with_help(format!(
                    "group by `{}` without a granularity",
                    join_path(&links, &element)
                )),
            );
            return None;
        }
        // A time dimension queried without a grain is at its own grain: the grain of the dimension
        // on the model the item resolves to (set once paths are known), else the first one found.
        let own_grain = grain.is_none() && time_grain.is_some();
        let grain = grain.or(time_grain.map(TimeGrain::Standard));
        let target = Target::Element {
            links,
            element,
            grain,
            date_part,
        };
        Some(Item {
            out: item_out(&target),
            target,
            span: r.span,
            own_grain,
        })
    }

    pub(crate) fn element_time_grain(&self, element: &str) -> Option<Grain> {
        self.model.element_time_grain(element)
    }

    pub(crate) fn element_exists(&self, element: &str) -> bool {
        self.model.element_exists(element)
    }

    // ----- default granularity -------------------------------------------------------------------

    /// The measures a metric reads, through its inputs.
    pub(crate) fn metric_measures(&self, name: &str, depth: usize) -> Vec<MeasureRef> {
        let Some(m) = self.model.metric(name) else {
            return Vec::new();
        };
        if depth > 64 {
            return Vec::new();
        }
        match &m.kind {
            MetricKind::Simple(r) => vec![r.clone()],
            MetricKind::Cumulative { measure, .. } => vec![measure.clone()],
            MetricKind::Conversion {
                base, conversion, ..
            } => vec![base.clone(), conversion.clone()],
            MetricKind::Ratio { .. } | MetricKind::Derived { .. } => m
                .input_metrics()
                .iter()
                .flat_map(|i| self.metric_measures(&i.name, depth + 1))
                .collect(),
        }
    }

    /// The grain of a measure's aggregation time dimension.
    pub(crate) fn measure_time_grain(&self, r: &MeasureRef) -> Grain {
        let sm = &self.model.semantic_models[r.model];
        let atd = &self.model.measure(r).agg_time_dimension;
        sm.dimension(atd)
            .and_then(|d| d.time_grain)
            .unwrap_or(Grain::Day)
    }

    /// The finest grain a metric can be queried at: the coarsest grain of its measures' aggregation
    /// time dimensions.
    pub(crate) fn min_queryable_grain(&self, name: &str) -> Grain {
        self.metric_measures(name, 0)
            .iter()
            .map(|r| self.measure_time_grain(r))
            .max()
            .unwrap_or(Grain::Day)
    }

    /// A metric's default granularity: its `time_granularity`, else its finest queryable grain but
    /// at least a day (MetricFlow: sub-daily measures default to day).
    pub(crate) fn metric_default_grain(&self, name: &str) -> Grain {
        if let Some(g) = self.model.metric(name).and_then(|m| m.time_granularity) {
            return g;
        }
        self.min_queryable_grain(name).max(Grain::Day)
    }

    /// The default granularity of metric_time for a query: the largest of its metrics' defaults.
    pub(crate) fn query_default_grain(&self, metrics: &[&str]) -> Grain {
        metrics
            .iter()
            .map(|m| self.metric_default_grain(m))
            .max()
            .unwrap_or(Grain::Day)
    }

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
