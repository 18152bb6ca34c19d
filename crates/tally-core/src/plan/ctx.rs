//! The read-only planning context: what every builder reads and none changes.
//!
//! [`PlanCtx`] holds the model; its methods answer questions about it (join paths, grains, the
//! measures of a metric) and are shared by reference. What changes while a query is planned lives
//! elsewhere: the CTEs in [`super::cte::CteBuilder`], the query's own state in
//! [`super::Planner`].

use super::items::{Item, Target};
use crate::model::{ElementId, MeasureRef, Metric, MetricKind, Model, TimeSpine};
use crate::sql::Expr;
use crate::time::{Grain, TimeGrain};

/// The read-only context of planning.
#[derive(Clone, Copy)]
pub(crate) struct PlanCtx<'m> {
    pub model: &'m Model,
}

impl<'m> PlanCtx<'m> {
    /// The measures a metric reads, through its inputs (followed by id).
    pub(crate) fn metric_measures(&self, m: &Metric, depth: usize) -> Vec<MeasureRef> {
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
                .filter_map(|i| self.model.metric_by_id(i.metric))
                .flat_map(|i| self.metric_measures(i, depth + 1))
                .collect(),
        }
    }

    /// The grain of a measure's aggregation time dimension.
    pub(crate) fn measure_time_grain(&self, r: &MeasureRef) -> Grain {
        let atd = self.model.agg_time_id(r.model, r.measure);
        self.model.time_grain_on(r.model, atd).unwrap_or(Grain::Day)
    }

    /// The finest grain a metric can be queried at: the coarsest grain of its measures' aggregation
    /// time dimensions.
    pub(crate) fn min_queryable_grain(&self, m: &Metric) -> Grain {
        self.metric_measures(m, 0)
            .iter()
            .map(|r| self.measure_time_grain(r))
            .max()
            .unwrap_or(Grain::Day)
    }

    /// A metric's default granularity: its `time_granularity`, else its finest queryable grain but
    /// at least a day (MetricFlow: sub-daily measures default to day).
    pub(crate) fn metric_default_grain(&self, m: &Metric) -> Grain {
        if let Some(g) = m.time_granularity {
            return g;
        }
        self.min_queryable_grain(m).max(Grain::Day)
    }

    /// The default granularity of metric_time for a query: the largest of its metrics' defaults.
    pub(crate) fn query_default_grain(&self, metrics: &[&Metric]) -> Grain {
        metrics
            .iter()
            .map(|m| self.metric_default_grain(m))
            .max()
            .unwrap_or(Grain::Day)
    }

    /// The number of group-by items a model offers, roughly as MetricFlow counts them (each time
    /// dimension at every grain): fewer means less to read.
    pub(crate) fn element_count(&self, model: usize) -> usize {
        let sm = &self.model.semantic_models[model];
        sm.entities.len()
            + sm.dimensions
                .iter()
                .map(|d| if d.is_time() { 10 } else { 1 })
                .sum::<usize>()
    }

    /// The finest spine grain the metric_time items need.
    pub(crate) fn time_items_grain(&self, items: &[Item]) -> Grain {
        items
            .iter()
            .filter(|i| i.is_metric_time())
            .map(|i| match (i.date_part(), i.grain()) {
                (None, Some(TimeGrain::Standard(g))) => *g,
                (_, Some(TimeGrain::Custom(c))) => self
                    .model
                    .custom_granularity(c)
                    .map(|(s, _)| s.grain)
                    .unwrap_or(Grain::Day),
                _ => Grain::Day,
            })
            .min()
            .unwrap_or(Grain::Day)
    }

    /// Whether an item is aggregation time for a measure: metric_time, or the measure's aggregation
    /// time dimension through its model's primary entity (`booking__ds` for bookings).
    pub(crate) fn is_agg_time_item(&self, item: &Item, m: &MeasureRef) -> bool {
        match &item.target {
            Target::MetricTime { .. } => true,
            Target::Element { path, .. } => {
                let me = self.model.model_elements(m.model);
                path.element != ElementId::UNKNOWN
                    && path.element == me.agg_time[m.measure]
                    && path.links.len() == 1
                    && me.primary == Some(path.links[0])
            }
        }
    }

    /// Whether an item is aggregation time for every measure of a metric.
    pub(crate) fn is_metric_time_item(&self, item: &Item, measures: &[MeasureRef]) -> bool {
        item.is_metric_time()
            || (!measures.is_empty() && measures.iter().all(|m| self.is_agg_time_item(item, m)))
    }
}

/// The primary column of a time spine read through `alias`, as a time value the dialect compares
/// with truncated times ([`Expr::SpineTime`]).
pub(crate) fn spine_day(alias: &str, spine: &TimeSpine) -> Expr {
    spine_column(Expr::col(alias, &spine.column))
}

/// A column of a time spine (its day or a custom granularity's column) as a time value of the type
/// the dialect compares truncated times as ([`Expr::SpineTime`]): every time column of a spine is
/// read alike, so that custom granularity periods compare with truncated times and with each other.
pub(crate) fn spine_column(col: Expr) -> Expr {
    Expr::SpineTime(Box::new(col))
}
