//! Stage 4, `plan`: a metric query -> a relational plan ([`crate::sql::Query`]).
//!
//! The plan follows what a careful analytics engineer writes by hand:
//! 1. one CTE per semantic model read, projecting the columns the query needs under their element
//!    names (so user SQL in `expr` is evaluated against its own table only);
//! 2. relations keyed by the query's group-by items, one per way a measure is computed:
//!    - plain aggregations ([`aggregate`]): every measure that can share a scan is aggregated in the
//!      same pass; dimensions of other models are reached through LEFT OUTER JOINs on entities that
//!      are keys of the joined model (fan-out protection), with partition and validity-window
//!      conditions where the models have them; semi-additive measures keep only the rows at the
//!      first or last value of their non-additive dimension;
//!    - time spine relations ([`spine`]): offsets, cumulative windows and `join_to_timespine`, each
//!      aggregating the measure to its base grain before joining the time spine (all-time and
//!      grain-to-date totals as running values over those days);
//!    - conversion relations ([`conversion`]);
//! 3. a final SELECT ([`combine`]) that combines relations on the group-by keys (FULL OUTER JOIN
//!    with null-safe equality and coalesced keys) and computes ratio and derived metrics.
//!
//! Queries without metrics are planned by [`dimensions`].

mod aggregate;
mod combine;
mod conversion;
mod cte;
mod ctx;
mod dimensions;
mod filters;
mod items;
mod joins;
pub(crate) use paths::{find_path, queryable_names};
mod metrics;
mod names;
mod options;
mod order;
mod paths;
mod spine;

use crate::diag::{codes, Diagnostic};
use crate::model::{join_path, Filter, Metric, Model};
use crate::sql::{Cte, Expr, Query};
use crate::timeval::Ts;
use crate::yaml::Spanned;
use indexmap::IndexMap;
use serde::Serialize;

use names::ReservedNames;

use cte::CteBuilder;
pub(crate) use ctx::{spine_column, spine_day, PlanCtx};
use items::Item;
use metrics::MetricExpr;

/// A metric query, as given on the command line or by a saved query.
#[derive(Clone, Debug, Default)]
pub struct QueryRequest {
    pub metrics: Vec<Spanned<String>>,
    pub group_by: Vec<Spanned<String>>,
    pub where_: Vec<Filter>,
    pub order_by: Vec<Spanned<String>>,
    pub limit: Option<u64>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// Dimension-only queries: return the min and max of the single group-by item.
    pub min_max_only: bool,
    /// Dimension-only queries: `false` returns rows without de-duplication.
    pub no_group_by: bool,
}

impl QueryRequest {
    /// A request made by a program (tests, benchmarks): metrics, group-by items and where filters
    /// as text, with no source spans.
    pub fn of<M: AsRef<str>, G: AsRef<str>, W: AsRef<str>>(
        metrics: &[M],
        group_by: &[G],
        wheres: &[W],
    ) -> QueryRequest {
        let spanned = |s: &str| Spanned::synthetic(s.to_string());
        QueryRequest {
            metrics: metrics.iter().map(|m| spanned(m.as_ref())).collect(),
            group_by: group_by.iter().map(|g| spanned(g.as_ref())).collect(),
            where_: wheres
                .iter()
                .map(|w| Filter::new(w.as_ref(), crate::source::Span::DUMMY))
                .collect(),
            ..QueryRequest::default()
        }
    }

    /// The request with its own filters bound to `model` ([`Filter::bind`]; a saved query's are
    /// bound already): what the planner reads.
    fn bound(&self, model: &Model) -> std::borrow::Cow<'_, QueryRequest> {
        if self
            .where_
            .iter()
            .all(|f| f.bound.is_some() || f.parsed.is_err())
        {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut req = self.clone();
        for f in &mut req.where_ {
            if f.bound.is_none() {
                f.bind(model);
            }
        }
        std::borrow::Cow::Owned(req)
    }

    /// Build a request from a saved query of the model.
    pub fn from_saved_query(model: &Model, name: &str) -> Result<QueryRequest, Diagnostic> {
        let Some(sq) = model.saved_queries.get(name) else {
            return Err(Diagnostic::error(
                codes::INVALID_QUERY,
                format!("unknown saved query `{name}`"),
            )
            .with_suggestion(name, model.saved_queries.keys().map(String::as_str)));
        };
        Ok(QueryRequest {
            metrics: sq.metrics.clone(),
            group_by: sq.group_by.clone(),
            where_: sq.where_.clone(),
            order_by: sq.order_by.clone(),
            limit: sq.limit.map(|l| l.max(0) as u64),
            ..QueryRequest::default()
        })
    }
}

/// The output of planning: the relational plan and the output columns.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub query: Query,
    pub columns: Vec<String>,
    /// The measures the query aggregates (semantic model and measure positions), in the order
    /// first planned: what the SQL stage checks the dialect can compute.
    #[serde(skip)]
    pub measures: Vec<(usize, usize)>,
}

/// A time constraint as timestamps: `[lo, hi)` on metric_time.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Bounds {
    pub lo: Option<Ts>,
    pub hi: Option<Ts>,
}

impl Bounds {
    fn is_set(&self) -> bool {
        self.lo.is_some() || self.hi.is_some()
    }

    /// `e >= lo AND e < hi`, if any bound is set.
    fn on(&self, e: Expr) -> Option<Expr> {
        self.is_set().then(|| Expr::Range {
            expr: Box::new(e),
            lo: self.lo,
            hi: self.hi,
        })
    }
}

/// A custom granularity offset: `count` periods of the custom granularity `granularity`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CustomOffsetKey {
    pub granularity: String,
    pub count: i64,
}

/// What the query being planned groups by and constrains; sub-queries of metric filters plan with
/// their own.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueryState {
    pub items: Vec<Item>,
    pub bounds: Bounds,
}

/// A relation built for a metric filter (`{{ Metric('bookings', group_by=['listing']) }}`).
#[derive(Clone, Debug)]
pub(crate) struct MetricFilterRel {
    pub cte: String,
    pub column: String,
    pub items: Vec<Item>,
}

/// A metric filter's relation is planned once per metric and group-by items.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MetricFilterKey {
    pub metric: crate::model::MetricId,
    pub group_by: Vec<String>,
}

/// Planning a query: the read-only context, the CTE builder, and what the query has planned so
/// far (the state the relation builders share).
pub(crate) struct Planner<'m> {
    /// What planning reads and never changes: the model.
    cx: PlanCtx<'m>,
    /// CTE names, scans and the CTEs made so far.
    ctes: CteBuilder,
    diags: Vec<Diagnostic>,
    /// The measures aggregated so far (see [`Plan::measures`]).
    measures: Vec<(usize, usize)>,
    q: QueryState,
    /// Plain aggregations: pending and built (see [`metrics::Leaves`]).
    leaves: metrics::Leaves,
    metric_filters: IndexMap<MetricFilterKey, MetricFilterRel>,
    /// CTEs of custom granularity offsets (day -> moved day).
    custom_offsets: IndexMap<CustomOffsetKey, String>,
    /// Nesting of metric-filter sub-queries, against cycles.
    depth: usize,
}

/// Plan a query. Every problem is reported; a plan is returned only when there are none.
///
/// CTE names keep clear of the relations the query reads whatever the dialect ([`names`]), which
/// are known once it is planned: the first plan reserves the tables of the table-backed models,
/// and a plan with a CTE named like a relation it reads is made again with those names reserved
/// (which it then reads again, its relations not depending on CTE names). Should that ever not
/// settle, the last plan reserves every such relation of the project. The relations that a
/// `sql:` model reads depend on the dialect its Jinja is rendered for: the SQL stage checks them
/// and plans again with [`plan_query_avoiding`] when a CTE took one (`query::compile`).
pub fn plan_query(model: &Model, req: &QueryRequest) -> Result<Plan, Vec<Diagnostic>> {
    plan_query_avoiding(model, req, &std::collections::BTreeSet::new())
}

/// [`plan_query`] with no CTE named like one of `relations` (lower-cased names): the relations
/// one dialect's rendering of the query's `sql:` models reads (`sql::reads::shadowed`).
pub fn plan_query_avoiding(
    model: &Model,
    req: &QueryRequest,
    relations: &std::collections::BTreeSet<String>,
) -> Result<Plan, Vec<Diagnostic>> {
    let req = req.bound(model);
    let req = req.as_ref();
    const PASSES: usize = 3;
    // The tables of table-backed models are known without rendering anything: reserved from the
    // start, so that a model reading a table named like itself is planned once.
    let tables = model.table_relation_parts();
    let mut reserved = if relations.is_empty() {
        ReservedNames::new(model, tables)
    } else {
        let mut all = relations.clone();
        all.extend(tables.iter().cloned());
        ReservedNames::new(model, std::sync::Arc::new(all))
    };
    for _ in 0..PASSES {
        let plan = plan_with(model, req, reserved.clone())?;
        match names::shadowed(model, &plan.query, reserved.relations()) {
            None => return Ok(plan),
            Some(more) => reserved = ReservedNames::new(model, std::sync::Arc::new(more)),
        }
    }
    plan_with(model, req, ReservedNames::whole_project(model, relations))
}

/// Plan a query with CTE names that avoid `reserved`.
fn plan_with(
    model: &Model,
    req: &QueryRequest,
    reserved: ReservedNames,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut p = Planner {
        cx: PlanCtx { model },
        ctes: CteBuilder::new(reserved),
        diags: Vec::new(),
        measures: Vec::new(),
        q: QueryState::default(),
        leaves: metrics::Leaves::default(),
        metric_filters: IndexMap::new(),
        custom_offsets: IndexMap::new(),
        depth: 0,
    };
    let plan = p.plan(req).map(|mut plan| {
        plan.measures = std::mem::take(&mut p.measures);
        plan
    });
    match plan {
        Some(plan) if p.diags.iter().all(|d| !d.is_error()) => Ok(plan),
        _ => {
            if !p.diags.iter().any(|d| d.is_error()) {
                p.diags.push(Diagnostic::error(
                    codes::INVALID_QUERY,
                    "the query could not be planned",
                ));
            }
            Err(p.diags)
        }
    }
}

impl<'m> Planner<'m> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A measure the query aggregates (recorded for the dialect's capability checks).
    fn use_measure(&mut self, m: &crate::model::MeasureRef) -> &'m crate::model::Measure {
        if !self.measures.contains(&(m.model, m.measure)) {
            self.measures.push((m.model, m.measure));
        }
        self.cx.model.measure(m)
    }

    fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.is_error())
    }

    /// The CTE name of a semantic model's scan (see [`CteBuilder::scan_name`]).
    fn scan_name(&mut self, sm: usize) -> String {
        self.ctes.scan_name(self.cx.model, sm)
    }

    /// Ask the scan of `sm` to project a dimension or entity (by id) under its name.
    fn project_element(&mut self, sm: usize, element: crate::model::ElementId) {
        self.ctes.project_element(self.cx.model, sm, element);
    }

    /// Every CTE of the plan, scans first.
    fn finish_ctes(&mut self) -> Vec<Cte> {
        self.ctes.finish(self.cx.model)
    }

    // ----- the whole query -----------------------------------------------------------------------

    fn plan(&mut self, req: &QueryRequest) -> Option<Plan> {
        if req.metrics.is_empty() && req.group_by.is_empty() {
            self.err(
                Diagnostic::error(
                    codes::INVALID_QUERY,
                    "the query names no metrics and no group-by items",
                )
                .with_help("pass --metrics, --group-by, or --saved-query"),
            );
            return None;
        }
        if !self.check_request_options(req) {
            return None;
        }
        let mut items: Vec<Item> = Vec::new();
        for g in &req.group_by {
            if let Some(i) = self.parse_item(g) {
                if !items.iter().any(|x| x.out == i.out) {
                    items.push(i);
                }
            }
        }
        // Each metric named once, looked up once: planning follows the metric (its inputs by id).
        let mut metrics_asked: Vec<(&'m Metric, crate::source::Span)> = Vec::new();
        for m in &req.metrics {
            if metrics_asked.iter().any(|(n, _)| n.name == m.value) {
                continue;
            }
            let Some(metric) = self.cx.model.metric(&m.value) else {
                self.err(
                    Diagnostic::error(
                        codes::UNKNOWN_METRIC,
                        format!("unknown metric `{}`", m.value),
                    )
                    .at(m.span)
                    .with_suggestion(&m.value, self.cx.model.metrics.keys().map(String::as_str)),
                );
                continue;
            };
            metrics_asked.push((metric, m.span));
        }
        let names: Vec<&'m Metric> = metrics_asked.iter().map(|(m, _)| *m).collect();
        // Past an unknown metric or an item that did not bind, plan what did, so that one run
        // reports every problem of the query (the join search's with the names'); the errors
        // already reported keep the plan from being returned. Stop when nothing is left to plan:
        // every metric asked unknown (planning the items alone would be another query), or no
        // item left of a query of items.
        let nothing_left = if req.metrics.is_empty() {
            items.is_empty()
        } else {
            names.is_empty()
        };
        if self.has_errors() && nothing_left {
            return None;
        }
        let default_grain = self.cx.query_default_grain(&names);
        items::apply_default_grain(&mut items, default_grain);
        self.cx.infer_item_paths(&mut items, &names);
        // Output columns in MetricFlow's order (see `order`), from the first measure's model.
        let first_model = names
            .first()
            .and_then(|m| self.cx.metric_measures(m, 0).first().map(|r| r.model));
        if let Some(root) = first_model {
            self.cx.order_items_as_metricflow(&mut items, root, true);
        }
        let bounds = self.time_bounds(req, &items, default_grain, !names.is_empty())?;
        self.q = QueryState { items, bounds };
        if names.is_empty() {
            return self.plan_dimensions(req);
        }
        let mut metrics: Vec<(String, MetricExpr)> = Vec::new();
        for &(m, span) in &metrics_asked {
            // Query filters apply to every measure the query reads.
            let bounds = self.q.bounds.clone();
            if let Some(e) = self.expand_metric(m, span, &req.where_, None, &bounds, 0) {
                metrics.push((m.name.clone(), e));
            }
        }
        self.flush_final_leaves();
        if self.has_errors() {
            return None;
        }
        let keys: Vec<String> = self.q.items.iter().map(|i| i.out.clone()).collect();
        let mut body = self.combine_select(&metrics, &keys)?;
        let mut columns: Vec<String> = keys.clone();
        columns.extend(metrics.iter().map(|(n, _)| n.clone()));
        let items = self.q.items.clone();
        self.order_and_limit(&mut body, req, &columns, &items);
        let ctes = self.finish_ctes();
        Some(Plan {
            query: Query { ctes, body },
            columns,
            measures: Vec::new(),
        })
    }
}
