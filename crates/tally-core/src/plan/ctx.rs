//! The read-only planning context: what every builder reads and none changes.
//!
//! [`PlanCtx`] holds the model; its methods answer questions about it (join paths, grains, the
//! measures of a metric) and are shared by reference. What changes while a query is planned lives
//! elsewhere: the CTEs in [`super::cte::CteBuilder`], the query's own state in
//! [`super::Planner`].

use crate::model::{Model, TimeSpine};
use crate::sql::Expr;

/// The read-only context of planning.
#[derive(Clone, Copy)]
pub(crate) struct PlanCtx<'m> {
    pub model: &'m Model,
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
