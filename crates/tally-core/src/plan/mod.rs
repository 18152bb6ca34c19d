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
mod dimensions;
mod filters;
mod items;
mod joins;
pub(crate) use joins::find_path;
mod metrics;
mod names;
mod options;
mod order;
mod spine;

use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, Model, Relation};
use crate::sql::{Cte, Expr, Query, Select, SelectItem, TableRef};
use crate::timeval::Ts;
use crate::yaml::Spanned;
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::ReservedNames;

use items::Item;
use metrics::{LeafGroup, MetricExpr};

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

pub(crate) struct Planner<'m> {
    model: &'m Model,
    diags: Vec<Diagnostic>,
    /// The measures aggregated so far (see [`Plan::measures`]).
    measures: Vec<(usize, usize)>,
    /// Columns each semantic model's scan CTE projects: element name -> SQL expr.
    scans: IndexMap<usize, IndexMap<String, String>>,
    /// The CTEs after the scans, in dependency order.
    ctes: Vec<Cte>,
    /// Names of the CTEs made so far, lower-cased (scans are named after their semantic models).
    cte_names: BTreeSet<String>,
    /// Relation names the query may read, which no CTE may take.
    reserved: Arc<ReservedNames>,
    /// The CTE name of each semantic model's scan.
    scan_names: IndexMap<usize, String>,
    q: QueryState,
    /// Plain aggregations not yet turned into CTEs.
    pending: Vec<LeafGroup>,
    /// Built plain leaves: leaf id -> (CTE, column).
    leaves: Vec<Option<(String, String)>>,
    /// Built plain leaves by what they aggregate, for reuse.
    built_leaves: IndexMap<metrics::LeafKey, usize>,
    metric_filters: IndexMap<String, MetricFilterRel>,
    /// CTEs of custom granularity offsets (day -> moved day).
    custom_offsets: IndexMap<CustomOffsetKey, String>,
    /// Nesting of metric-filter sub-queries, against cycles.
    depth: usize,
}

/// Plan a query. Every problem is reported; a plan is returned only when there are none.
pub fn plan_query(model: &Model, req: &QueryRequest) -> Result<Plan, Vec<Diagnostic>> {
    let mut p = Planner {
        model,
        diags: Vec::new(),
        measures: Vec::new(),
        scans: IndexMap::new(),
        ctes: Vec::new(),
        cte_names: BTreeSet::new(),
        reserved: ReservedNames::of(model),
        scan_names: IndexMap::new(),
        q: QueryState::default(),
        pending: Vec::new(),
        leaves: Vec::new(),
        built_leaves: IndexMap::new(),
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
        self.model.measure(m)
    }

    fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.is_error())
    }

    /// A CTE name not used yet, not the name of a relation the query may read (see [`names`]),
    /// and not the name of a semantic model, which names its scan; names compare
    /// case-insensitively.
    fn fresh_cte_name(&mut self, base: &str) -> String {
        self.allocate_name(base, false)
    }

    fn allocate_name(&mut self, base: &str, for_scan: bool) -> String {
        let taken = |n: &str, s: &Self| {
            s.cte_names.contains(&n.to_ascii_lowercase())
                || s.reserved.is_relation(n)
                || (!for_scan && s.reserved.is_model(n))
        };
        let mut name = base.to_string();
        let mut i = 1;
        while taken(&name, self) {
            i += 1;
            name = format!("{base}_{i}");
        }
        self.cte_names.insert(name.to_ascii_lowercase());
        name
    }

    /// Add a CTE under a fresh name derived from `base`; returns the name. A CTE that computes
    /// exactly what an earlier one does is not added again: the earlier one's name is returned.
    fn add_cte(&mut self, base: &str, comment: String, select: Select) -> String {
        if let Some(c) = self.ctes.iter().find(|c| c.select == select) {
            return c.name.clone();
        }
        let name = self.fresh_cte_name(base);
        self.ctes.push(Cte {
            name: name.clone(),
            comment,
            select,
        });
        name
    }

    /// The primary column of a time spine read through `alias`, as a time value the dialect
    /// compares with truncated times ([`Expr::SpineTime`]).
    pub(crate) fn spine_day(&self, alias: &str, spine: &crate::model::TimeSpine) -> Expr {
        self.spine_column(Expr::col(alias, &spine.column))
    }

    /// A column of a time spine (its day or a custom granularity's column) as a time value of the
    /// type the dialect compares truncated times as ([`Expr::SpineTime`]): every time column of
    /// a spine is read alike, so that custom granularity periods compare with truncated times and
    /// with each other.
    pub(crate) fn spine_column(&self, col: Expr) -> Expr {
        Expr::SpineTime(Box::new(col))
    }

    /// The CTE name of a semantic model's scan: the model's name, unless a relation the query
    /// reads has that name.
    fn scan_name(&mut self, model: usize) -> String {
        if let Some(n) = self.scan_names.get(&model) {
            return n.clone();
        }
        let base = self.model.semantic_models[model].name.clone();
        let name = self.allocate_name(&base, true);
        self.scan_names.insert(model, name.clone());
        name
    }

    /// Ask the scan of `model` to project `column` as `expr_sql`.
    fn project(&mut self, model: usize, column: &str, expr_sql: &str) {
        self.scans
            .entry(model)
            .or_default()
            .entry(column.to_string())
            .or_insert_with(|| expr_sql.to_string());
    }

    /// Ask the scan of `model` to project a dimension or entity under its name.
    fn project_element(&mut self, model: usize, element: &str) {
        let sm = &self.model.semantic_models[model];
        let e = if let Some(d) = sm.dimension(element) {
            d.expr.clone()
        } else if let Some(en) = sm.entity(element) {
            en.expr.clone()
        } else {
            return;
        };
        self.project(model, element, &e);
    }

    fn scan_ctes(&mut self) -> Vec<Cte> {
        let scanned: Vec<usize> = self.scans.keys().copied().collect();
        for m in scanned {
            self.scan_name(m);
        }
        let mut out = Vec::new();
        for (model, cols) in &self.scans {
            let sm = &self.model.semantic_models[*model];
            // Business durations (`calendar::duration`): the clock joins only when used.
            let business = sm.business.as_ref().filter(|b| b.used_by(cols.iter()));
            let relation = business.map_or(&sm.relation, |b| &b.relation);
            let (from, what) = match relation {
                Relation::Table(t) => (
                    TableRef::Table {
                        name: t.clone(),
                        alias: None,
                    },
                    t.clone(),
                ),
                Relation::Query(q, _) => (
                    TableRef::Subquery {
                        sql: q.clone(),
                        model: *model,
                        business: business.is_some(),
                        alias: format!("{}_sql", sm.name),
                    },
                    "its SQL query".to_string(),
                ),
            };
            let columns = cols
                .iter()
                .map(|(name, e)| SelectItem {
                    expr: if is_simple_ident(e) {
                        Expr::bare(e)
                    } else {
                        Expr::UserSql {
                            text: e.clone(),
                            span: sm.span,
                        }
                    },
                    alias: Some(name.clone()),
                })
                .collect();
            out.push(Cte {
                name: self.scan_names[model].clone(),
                comment: format!("Read semantic model {} from {what}", sm.name),
                select: Select {
                    columns,
                    from: Some(from),
                    ..Select::default()
                },
            });
        }
        out
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
        let mut metric_names: Vec<Spanned<String>> = Vec::new();
        for m in &req.metrics {
            if metric_names.iter().any(|n| n.value == m.value) {
                continue;
            }
            if self.model.metric(&m.value).is_none() {
                self.err(
                    Diagnostic::error(
                        codes::UNKNOWN_METRIC,
                        format!("unknown metric `{}`", m.value),
                    )
                    .at(m.span)
                    .with_suggestion(&m.value, self.model.metrics.keys().map(String::as_str)),
                );
                continue;
            }
            metric_names.push(m.clone());
        }
        if self.has_errors() {
            return None;
        }
        let names: Vec<&str> = metric_names.iter().map(|m| m.value.as_str()).collect();
        let default_grain = self.query_default_grain(&names);
        items::apply_default_grain(&mut items, default_grain);
        self.infer_item_paths(&mut items, &names);
        // Output columns in MetricFlow's order (see `order`), from the first measure's model.
        let first_model = names
            .first()
            .and_then(|m| self.metric_measures(m, 0).first().map(|r| r.model));
        if let Some(root) = first_model {
            self.order_items_as_metricflow(&mut items, root, true);
        }
        let bounds = self.time_bounds(req, &items, default_grain, !names.is_empty())?;
        self.q = QueryState { items, bounds };
        if names.is_empty() {
            return self.plan_dimensions(req);
        }
        let mut metrics: Vec<(String, MetricExpr)> = Vec::new();
        for m in &metric_names {
            // Query filters apply to every measure the query reads.
            let bounds = self.q.bounds.clone();
            if let Some(e) = self.expand_metric(&m.value, m.span, &req.where_, None, &bounds, 0) {
                metrics.push((m.value.clone(), e));
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
        let mut ctes = self.scan_ctes();
        ctes.append(&mut self.ctes);
        Some(Plan {
            query: Query { ctes, body },
            columns,
            measures: Vec::new(),
        })
    }
}

fn is_simple_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `a__b__c` from path parts.
fn join_path(links: &[String], element: &str) -> String {
    let mut parts: Vec<&str> = links.iter().map(String::as_str).collect();
    parts.push(element);
    parts.join("__")
}
