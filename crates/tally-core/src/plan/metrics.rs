//! Metrics -> relations. A metric expands into an expression over relation columns; how each
//! measure is computed depends on the metric:
//!
//! - plain aggregations share CTEs ([`LeafGroup`]) when they read the same model with the same
//!   filters; the query's own groups of one model that differ only in filters are then merged into
//!   one aggregation (see [`Planner::flush_final_leaves`]);
//! - `join_to_timespine` aggregates, then LEFT JOINs the time spine so every period appears;
//! - an offset input (`offset_window`, `offset_to_grain`) joins the time spine shifted by the
//!   offset: after aggregation when the query's time grain is at most the offset's (a month-ago
//!   value by month is last month's total), else before aggregation at the measure's base grain;
//! - cumulative metrics join the time spine over their window;
//! - a derived or ratio metric used with an offset is computed into a relation of its own, which is
//!   then shifted.
//!
//! Filters travel down the tree (query filters, then each metric's filter and input filters).
//! Where a time spine moves rows in time, filters that name metric_time (or the measure's
//! aggregation time dimension) are evaluated on the output time, after the shift; other filters
//! are evaluated on the measure's rows.

use super::filters::FilterClass;
use super::items::Item;
use super::{Bounds, Planner};
use crate::diag::{codes, Diagnostic};
use crate::expr::Formula;
use crate::model::{
    AggKind, ElementId, Filter, ItemKey, MeasureRef, Metric, MetricInput, MetricKind, NonAdditive,
    NonAdditiveIds,
};
use crate::source::Span;
use crate::spec::PeriodAgg;
use crate::sql::JoinKind;
use crate::time::{Grain, TimeGrain, Window};
use crate::timeval::Ts;
use indexmap::IndexMap;

/// How a metric is computed from relation columns.
#[derive(Clone, Debug)]
pub(crate) enum MetricExpr {
    /// A plain aggregation (see [`LeafGroup`]), with its `fill_nulls_with`.
    Leaf(usize, Option<i64>),
    /// A column of a relation CTE, with its `fill_nulls_with`.
    Col {
        cte: String,
        col: String,
        fill: Option<i64>,
    },
    Ratio(Box<MetricExpr>, Box<MetricExpr>),
    Formula(Formula, IndexMap<String, MetricExpr>),
}

/// An offset of a metric input.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Offset {
    Window(Window),
    ToGrain(TimeGrain),
}

/// An offset as the time spine applies it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Shift {
    /// `spine.time - INTERVAL n grain = input.time`.
    Window { count: i64, grain: Grain },
    /// `DATE_TRUNC(grain, spine.time) = input.time`.
    ToGrain(Grain),
    /// `n` periods of a custom granularity, day by day (see [`Planner::custom_day_map`]).
    Custom { name: String, count: i64 },
}

impl Shift {
    /// The granularity the shift moves by.
    fn grain(&self) -> Option<Grain> {
        match self {
            Shift::Window { grain, .. } | Shift::ToGrain(grain) => Some(*grain),
            Shift::Custom { .. } => None,
        }
    }
}

/// A cumulative metric's parameters.
#[derive(Clone, Debug)]
pub(crate) struct Cumulative {
    /// The metric, for diagnostics.
    pub span: Span,
    pub window: Option<Window>,
    pub grain_to_date: Option<TimeGrain>,
    pub period_agg: PeriodAgg,
}

/// Plain aggregations that share one CTE: same model, time dimension, filters and constraint.
#[derive(Clone, Debug)]
pub(crate) struct LeafGroup {
    pub model: usize,
    /// The measures' aggregation time dimension.
    pub atd: ElementId,
    pub filters: Vec<Filter>,
    pub bounds: Bounds,
    pub non_additive: Option<SemiAdditive>,
    /// (leaf id, measure)
    pub leaves: Vec<(usize, MeasureRef)>,
}

/// The non-additive dimension of a semi-additive group: as written (the names of its SQL columns
/// and comments) and bound to ids (what groups compare).
#[derive(Clone, Debug)]
pub(crate) struct SemiAdditive {
    pub written: NonAdditive,
    pub ids: NonAdditiveIds,
}

/// What makes two plain aggregations the same: measure (its aggregation time dimension with
/// it), filters (by their text: the same text is the same bound filter), time constraint and
/// group-by items (as bound: metric_time or an element path, with the grain or date part that
/// names their column).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LeafKey {
    model: usize,
    measure: usize,
    filters: Vec<String>,
    lo: Option<Ts>,
    hi: Option<Ts>,
    items: Vec<ItemKey>,
}

/// The plain aggregations of the query being planned.
#[derive(Default)]
pub(crate) struct Leaves {
    /// Aggregations not yet turned into CTEs.
    pub pending: Vec<LeafGroup>,
    /// Built leaves: leaf id -> (CTE, column); `None` while pending.
    pub columns: Vec<Option<(String, String)>>,
    /// Built leaves by what they aggregate, for reuse.
    pub built: IndexMap<LeafKey, usize>,
}

fn leaf_key(m: &MeasureRef, filters: &[Filter], bounds: &Bounds, items: &[Item]) -> LeafKey {
    LeafKey {
        model: m.model,
        measure: m.measure,
        filters: filters.iter().map(|f| f.text.clone()).collect(),
        lo: bounds.lo,
        hi: bounds.hi,
        items: items.iter().map(Item::key).collect(),
    }
}

fn same_filters(a: &[Filter], b: &[Filter]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.text == y.text)
}

fn same_non_additive(a: Option<&SemiAdditive>, b: Option<&SemiAdditive>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.ids == y.ids && x.written.window_choice == y.written.window_choice,
        _ => false,
    }
}

impl<'m> Planner<'m> {
    /// Expand a metric into an expression over relations.
    ///
    /// `inherited` are the filters from the query and the metrics above; `offset` is the offset this
    /// metric is used with as an input; `bounds` the time constraint its measures are read with.
    pub(crate) fn expand_metric(
        &mut self,
        metric: &'m Metric,
        span: Span,
        inherited: &[Filter],
        offset: Option<&Offset>,
        bounds: &Bounds,
        depth: usize,
    ) -> Option<MetricExpr> {
        let model = self.cx.model;
        let name = metric.name.as_str();
        if depth > 64 {
            self.err(
                Diagnostic::error(
                    codes::METRIC_CYCLE,
                    format!("metric `{name}` nests too deeply"),
                )
                .at(span),
            );
            return None;
        }
        let own_filters = metric.filters.clone();
        match &metric.kind {
            MetricKind::Simple(m) => {
                let mut own = own_filters;
                own.extend(m.filters.iter().cloned());
                self.simple(m, &own, inherited, offset, None, bounds, span)
            }
            MetricKind::Cumulative {
                measure,
                window,
                grain_to_date,
                period_agg,
            } => {
                let mut own = own_filters;
                own.extend(measure.filters.iter().cloned());
                let cum = Cumulative {
                    span,
                    window: window.clone(),
                    grain_to_date: grain_to_date.clone(),
                    period_agg: *period_agg,
                };
                self.simple(measure, &own, inherited, offset, Some(cum), bounds, span)
            }
            MetricKind::Conversion { .. } => {
                let mut filters = own_filters;
                filters.extend(inherited.iter().cloned());
                let e = self.conversion(metric, span, &filters, bounds)?;
                match offset {
                    Some(o) => self.shift_metric(metric, e, o, &[], bounds, span),
                    None => Some(e),
                }
            }
            MetricKind::Ratio { .. } | MetricKind::Derived { .. } => {
                let kind = metric.kind.clone();
                let measures = self.cx.metric_measures(metric, 0);
                // Without a time group-by item an offset changes nothing (one period: all time).
                let has_time = self
                    .q
                    .items
                    .iter()
                    .any(|i| self.cx.is_metric_time_item(i, &measures));
                let offset = offset.filter(|_| has_time);
                // Filters above an offset metric that name its time are applied after the offset.
                let (pushed, after): (Vec<Filter>, Vec<Filter>) = match offset {
                    None => (inherited.to_vec(), Vec::new()),
                    Some(_) => {
                        let mut pushed = Vec::new();
                        let mut after = Vec::new();
                        for f in inherited {
                            let class = self
                                .classify_filter(f, &|p, i| p.cx.is_metric_time_item(i, &measures));
                            if class == FilterClass::NoTime
                                || (class == FilterClass::Mixed && !self.filter_within_items(f))
                            {
                                pushed.push(f.clone());
                            } else {
                                after.push(f.clone());
                            }
                        }
                        (pushed, after)
                    }
                };
                // The measures under an offset metric are read without the time constraint: it
                // applies to the shifted output.
                let input_bounds = if offset.is_some() {
                    Bounds::default()
                } else {
                    bounds.clone()
                };
                let input = |p: &mut Self, i: &MetricInput| -> Option<MetricExpr> {
                    let mut fs = own_filters.clone();
                    fs.extend(i.filters.iter().cloned());
                    fs.extend(pushed.iter().cloned());
                    let off = match (&i.offset_window, &i.offset_to_grain) {
                        (Some(w), _) => Some(Offset::Window(w.clone())),
                        (None, Some(g)) => Some(Offset::ToGrain(g.clone())),
                        (None, None) => None,
                    };
                    // Inputs are bound to their metrics by resolution.
                    let m = model.metric_by_id(i.metric)?;
                    p.expand_metric(m, i.span, &fs, off.as_ref(), &input_bounds, depth + 1)
                };
                let e = match kind {
                    MetricKind::Ratio {
                        numerator,
                        denominator,
                    } => {
                        let n = input(self, &numerator)?;
                        let d = input(self, &denominator)?;
                        MetricExpr::Ratio(Box::new(n), Box::new(d))
                    }
                    MetricKind::Derived {
                        expr: formula,
                        inputs,
                    } => {
                        let parsed = match &formula.parsed {
                            Ok(f) => f.clone(),
                            Err(d) => {
                                self.err(d.clone());
                                return None;
                            }
                        };
                        let mut map = IndexMap::new();
                        for i in &inputs {
                            let e = input(self, i)?;
                            map.insert(i.output_name().to_string(), e);
                        }
                        // Names are bound to inputs by resolution.
                        if let Some(n) = formula.names.iter().find(|n| n.input.is_none()) {
                            self.err(
                                Diagnostic::error(
                                    codes::DERIVED_INPUT,
                                    format!(
                                        "`{}` in the formula of `{name}` is not one of its inputs",
                                        n.name
                                    ),
                                )
                                .at(n.token.span)
                                .with_suggestion(&n.name, map.keys().map(String::as_str)),
                            );
                            return None;
                        }
                        MetricExpr::Formula(parsed, map)
                    }
                    // Matched as ratio or derived above.
                    _ => return None,
                };
                match offset {
                    Some(o) => self.shift_metric(metric, e, o, &after, bounds, span),
                    None => Some(e),
                }
            }
        }
    }

    /// A metric computed into a relation of its own, then joined to the time spine shifted by an
    /// offset; filters on its time and the time constraint apply to the shifted output.
    fn shift_metric(
        &mut self,
        metric: &Metric,
        e: MetricExpr,
        offset: &Offset,
        after: &[Filter],
        bounds: &Bounds,
        span: Span,
    ) -> Option<MetricExpr> {
        let name = metric.name.as_str();
        let measures = self.cx.metric_measures(metric, 0);
        let time_items: Vec<Item> = self
            .q
            .items
            .iter()
            .filter(|i| self.cx.is_metric_time_item(i, &measures))
            .cloned()
            .collect();
        if time_items.is_empty() {
            // Without a time group-by item the offset does not change the total.
            return Some(e);
        }
        let shift = self.shift_of(offset, span)?;
        if matches!(shift, Shift::Custom { .. }) {
            self.err(
                Diagnostic::error(codes::UNSUPPORTED, format!("an offset by a custom granularity on `{name}` is supported on simple and cumulative metrics only"))
                    .at(span)
                    .with_help("offset the inputs of this metric instead"),
            );
            return None;
        }
        let (cte, col) = self.materialize(&e, name)?;
        let mut spine_filters = Vec::new();
        let mut post = Vec::new();
        for f in after {
            let class = self.classify_filter(f, &|p, i| p.cx.is_metric_time_item(i, &measures));
            if class == FilterClass::TimeOnly {
                spine_filters.push(f.clone());
            } else {
                post.push(f.clone());
            }
        }
        let shifted = self.shift_relation(
            &cte,
            std::slice::from_ref(&col),
            &time_items,
            Some(&shift),
            JoinKind::Inner,
            &spine_filters,
            &post,
            bounds,
            name,
        )?;
        Some(MetricExpr::Col {
            cte: shifted,
            col,
            fill: None,
        })
    }

    /// An offset as a shift of the time spine.
    pub(crate) fn shift_of(&mut self, offset: &Offset, span: Span) -> Option<Shift> {
        match offset {
            Offset::Window(w) => match &w.grain {
                TimeGrain::Standard(g) => Some(Shift::Window {
                    count: w.count,
                    grain: *g,
                }),
                TimeGrain::Custom(c) => Some(Shift::Custom {
                    name: c.clone(),
                    count: w.count,
                }),
            },
            Offset::ToGrain(TimeGrain::Standard(g)) => Some(Shift::ToGrain(*g)),
            Offset::ToGrain(TimeGrain::Custom(c)) => {
                self.err(
                    Diagnostic::error(codes::UNSUPPORTED, format!("`offset_to_grain: {c}`: offsets to a custom granularity are not supported"))
                        .at(span)
                        .with_help("use a standard granularity (day, week, month, quarter, year)"),
                );
                None
            }
        }
    }

    /// A simple or cumulative metric over measure `m`.
    fn simple(
        &mut self,
        m: &MeasureRef,
        own: &[Filter],
        inherited: &[Filter],
        offset: Option<&Offset>,
        cum: Option<Cumulative>,
        bounds: &Bounds,
        span: Span,
    ) -> Option<MetricExpr> {
        let fill = m.fill_nulls_with;
        let mut all: Vec<Filter> = own.to_vec();
        all.extend(inherited.iter().cloned());
        let time_items: Vec<Item> = self
            .q
            .items
            .iter()
            .filter(|i| self.cx.is_agg_time_item(i, m))
            .cloned()
            .collect();
        let mut non_time = Vec::new();
        let mut time_only = Vec::new();
        let mut mixed = Vec::new();
        for f in &all {
            match self.classify_filter(f, &|p, i| p.cx.is_agg_time_item(i, m)) {
                FilterClass::NoTime => non_time.push(f.clone()),
                FilterClass::TimeOnly => time_only.push(f.clone()),
                FilterClass::Mixed => mixed.push(f.clone()),
            }
        }
        // Rows the time spine adds are filtered again by the filters on group-by items (but not by
        // the measure's own filters, which only select the rows aggregated).
        let mut reapply = Vec::new();
        for f in inherited {
            if !time_only.iter().any(|t| t.text == f.text) && self.filter_within_items(f) {
                reapply.push(f.clone());
            }
        }
        let has_time = !time_items.is_empty();
        let shift = match offset {
            Some(o) if has_time => Some(self.shift_of(o, span)?),
            _ => None,
        };
        if let (Some(cum), true) = (&cum, has_time) {
            let e = self.cumulative(
                m,
                &non_time,
                &time_only,
                &mixed,
                cum,
                shift.as_ref(),
                &time_items,
                bounds,
                fill,
            )?;
            return self.spine_fill(m, e, &time_items, &time_only, &reapply, bounds);
        }
        if let Some(shift) = shift {
            let smallest = time_items.iter().filter_map(Item::standard_grain).min();
            let irregular = time_items.iter().any(|i| i.standard_grain().is_none());
            let after = match (&shift, smallest) {
                (Shift::Custom { .. }, _) | (_, None) => false,
                (s, Some(q)) => {
                    !irregular
                        && s.grain().is_some_and(|g| q <= g)
                        // Weeks do not roll up into months or years: offset them day by day.
                        && !(q == Grain::Week && matches!(s, Shift::ToGrain(_)))
                }
            };
            if !after {
                let mut post = time_only.clone();
                post.extend(mixed.iter().cloned());
                let e =
                    self.offset_before(m, &non_time, &post, &shift, &time_items, bounds, fill)?;
                return self.spine_fill(m, e, &time_items, &time_only, &reapply, bounds);
            }
            // After aggregation: aggregate by the query's items, then shift whole periods.
            let mut row = non_time.clone();
            let mut post = Vec::new();
            for f in &mixed {
                if self.filter_within_items(f) {
                    post.push(f.clone());
                } else {
                    row.push(f.clone());
                }
            }
            let leaf = self.plain_leaf(m, row, Bounds::default());
            self.flush_leaves();
            let (cte, col) = self.leaves.columns.get(leaf).cloned().flatten()?;
            // With join_to_timespine, every period of the spine stays.
            let kind = if m.join_to_timespine {
                JoinKind::Left
            } else {
                JoinKind::Inner
            };
            let shifted = self.shift_relation(
                &cte,
                std::slice::from_ref(&col),
                &time_items,
                Some(&shift),
                kind,
                &time_only,
                &post,
                bounds,
                &m.name,
            )?;
            return Some(MetricExpr::Col {
                cte: shifted,
                col,
                fill,
            });
        }
        if m.join_to_timespine && has_time {
            let leaf = self.plain_leaf(m, all.clone(), bounds.clone());
            self.flush_leaves();
            let (cte, col) = self.leaves.columns.get(leaf).cloned().flatten()?;
            let e = MetricExpr::Col { cte, col, fill };
            return self.spine_fill(m, e, &time_items, &time_only, &reapply, bounds);
        }
        let leaf = self.plain_leaf(m, all, bounds.clone());
        Some(MetricExpr::Leaf(leaf, fill))
    }

    /// `join_to_timespine`: a measure's relation LEFT JOINed to the time spine, so every period of
    /// the spine appears (within the time constraint and the filters on time).
    fn spine_fill(
        &mut self,
        m: &MeasureRef,
        e: MetricExpr,
        time_items: &[Item],
        time_only: &[Filter],
        reapply: &[Filter],
        bounds: &Bounds,
    ) -> Option<MetricExpr> {
        if !m.join_to_timespine {
            return Some(e);
        }
        let MetricExpr::Col { cte, col, fill } = e else {
            return Some(e);
        };
        let spined = self.shift_relation(
            &cte,
            std::slice::from_ref(&col),
            time_items,
            None,
            JoinKind::Left,
            time_only,
            reapply,
            bounds,
            &m.name,
        )?;
        Some(MetricExpr::Col {
            cte: spined,
            col,
            fill,
        })
    }

    /// Register a plain aggregation of a measure; returns its leaf id.
    pub(crate) fn plain_leaf(
        &mut self,
        m: &MeasureRef,
        filters: Vec<Filter>,
        bounds: Bounds,
    ) -> usize {
        let model = self.cx.model;
        let measure = model.measure(m);
        let atd = model.agg_time_id(m.model, m.measure);
        let non_additive = measure
            .non_additive
            .as_ref()
            .zip(model.non_additive_ids(m.model, m.measure))
            .map(|(written, ids)| SemiAdditive {
                written: written.clone(),
                ids: ids.clone(),
            });
        // The same aggregation already built for these group-by items.
        let key = leaf_key(m, &filters, &bounds, &self.q.items);
        if let Some(id) = self.leaves.built.get(&key) {
            return *id;
        }
        let gi = self.leaves.pending.iter().position(|g| {
            g.model == m.model
                && g.atd == atd
                && g.bounds == bounds
                && same_filters(&g.filters, &filters)
                && same_non_additive(g.non_additive.as_ref(), non_additive.as_ref())
        });
        let gi = match gi {
            Some(gi) => gi,
            None => {
                self.leaves.pending.push(LeafGroup {
                    model: m.model,
                    atd,
                    filters,
                    bounds,
                    non_additive,
                    leaves: Vec::new(),
                });
                self.leaves.pending.len() - 1
            }
        };
        if let Some((id, _)) = self.leaves.pending[gi]
            .leaves
            .iter()
            .find(|(_, r)| r.measure == m.measure)
        {
            return *id;
        }
        let id = self.leaves.columns.len();
        self.leaves.columns.push(None);
        self.leaves.pending[gi].leaves.push((id, m.clone()));
        id
    }

    /// Build the CTEs of every pending plain aggregation.
    pub(crate) fn flush_leaves(&mut self) {
        let groups = std::mem::take(&mut self.leaves.pending);
        for g in groups {
            let built = self.build_group(&g);
            if let Some(cte) = built {
                for (id, m) in &g.leaves {
                    let col = self.cx.model.measure(m).name.clone();
                    self.leaves.columns[*id] = Some((cte.clone(), col));
                    let key = leaf_key(m, &g.filters, &g.bounds, &self.q.items);
                    self.leaves.built.entry(key).or_insert(*id);
                }
            }
        }
    }

    /// Build the pending plain aggregations of the query's own metrics (used only by the final
    /// SELECT, which combines every relation on the group-by keys): groups of one model, time
    /// dimension and time constraint that differ only in their filters share one scan
    /// ([`Planner::build_merged`]). A group with a semi-additive or COUNT DISTINCT measure is
    /// built alone: COUNT DISTINCT counts 0, not NULL, where its filters select no row.
    pub(crate) fn flush_final_leaves(&mut self) {
        let groups = std::mem::take(&mut self.leaves.pending);
        let mergeable = |p: &Self, g: &LeafGroup| {
            g.non_additive.is_none()
                && g.leaves
                    .iter()
                    .all(|(_, m)| p.cx.model.measure(m).agg != AggKind::CountDistinct)
        };
        let mut clusters: Vec<Vec<LeafGroup>> = Vec::new();
        for g in groups {
            let at = clusters.iter().position(|c| {
                let h = &c[0];
                mergeable(self, h)
                    && mergeable(self, &g)
                    && h.model == g.model
                    && h.atd == g.atd
                    && h.bounds == g.bounds
            });
            match at {
                Some(i) => clusters[i].push(g),
                None => clusters.push(vec![g]),
            }
        }
        for c in clusters {
            if c.len() == 1 {
                self.leaves.pending = c;
                self.flush_leaves();
                continue;
            }
            let Some((cte, cols)) = self.build_merged(&c) else {
                continue;
            };
            let mut cols = cols.into_iter();
            for g in &c {
                for (id, m) in &g.leaves {
                    let col = cols.next().unwrap_or_default();
                    self.leaves.columns[*id] = Some((cte.clone(), col));
                    let key = leaf_key(m, &g.filters, &g.bounds, &self.q.items);
                    self.leaves.built.entry(key).or_insert(*id);
                }
            }
        }
    }

    /// A metric's expression computed into a CTE keyed by the query's items.
    pub(crate) fn materialize(&mut self, e: &MetricExpr, name: &str) -> Option<(String, String)> {
        self.flush_leaves();
        let keys: Vec<String> = self.q.items.iter().map(|i| i.out.clone()).collect();
        let select = self.combine_select(&[(name.to_string(), e.clone())], &keys)?;
        let cte = self.ctes.add(
            &format!("{name}_unshifted"),
            format!("Compute {name} before its offset"),
            select,
        );
        Some((cte, name.to_string()))
    }
}
