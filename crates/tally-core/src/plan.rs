//! Stage 4, `plan`: a metric query -> a relational plan ([`sql::Query`]).
//!
//! The plan follows what a careful analytics engineer writes by hand:
//! 1. one CTE per semantic model read, projecting the columns the query needs under their element
//!    names (so user SQL in `expr` is evaluated against its own table only);
//! 2. one aggregation CTE per (semantic model, aggregation time dimension, filters): every measure
//!    that can share a scan is aggregated in the same pass; dimensions of other models are reached
//!    through LEFT OUTER JOINs on entities that are keys of the joined model, so a join never
//!    multiplies measure rows (fan-out protection);
//! 3. a final SELECT that combines aggregations on the group-by keys (FULL OUTER JOIN with null-safe
//!    equality and coalesced keys) and computes ratio and derived metrics from their inputs.

use crate::dialect::Dialect;
use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::expr::{self, RefKind, Reference};
use crate::model::{Filter, MeasureRef, MetricKind, Model, Relation};
use crate::source::Span;
use crate::spec::EntityType;
use crate::sql::{self, Cte, Expr, Join, JoinKind, Query, Select, SelectItem, TableRef};
use crate::time::{DatePart, Grain};
use crate::timeval::Ts;
use crate::yaml::Spanned;
use indexmap::IndexMap;
use serde::Serialize;

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
    /// Build a request from a saved query of the model.
    pub fn from_saved_query(model: &Model, name: &str) -> Result<QueryRequest, Diagnostic> {
        let Some(sq) = model.saved_queries.get(name) else {
            return Err(Diagnostic::error(codes::INVALID_QUERY, format!("unknown saved query `{name}`"))
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
}

/// What a group-by item or filter reference points at, independent of the source model.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    MetricTime {
        grain: Option<Grain>,
        date_part: Option<DatePart>,
    },
    Element {
        links: Vec<String>,
        element: String,
        grain: Option<Grain>,
        date_part: Option<DatePart>,
    },
}

#[derive(Clone, Debug)]
struct Item {
    out: String,
    target: Target,
    span: Span,
}

/// One hop of a join path: from the model at `from` over entity `entity` to model `to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Hop {
    entity: String,
    to: usize,
}

/// A measure instance the query aggregates.
#[derive(Clone, Debug)]
struct Leaf {
    column: String,
    measure: MeasureRef,
    filters: Vec<Filter>,
}

/// One aggregation CTE under construction.
struct Agg {
    name: String,
    model: usize,
    agg_time_dimension: String,
    filters: Vec<Filter>,
    leaves: Vec<Leaf>,
}

pub struct Planner<'m> {
    model: &'m Model,
    dialect: &'m dyn Dialect,
    diags: Vec<Diagnostic>,
    /// Columns each semantic model's scan CTE projects: element name -> SQL expr.
    scans: IndexMap<usize, IndexMap<String, String>>,
}

/// Plan a query. Every problem is reported; a plan is returned only when there are none.
pub fn plan_query(model: &Model, dialect: &dyn Dialect, req: &QueryRequest) -> Result<Plan, Vec<Diagnostic>> {
    let mut p = Planner {
        model,
        dialect,
        diags: Vec::new(),
        scans: IndexMap::new(),
    };
    let plan = p.plan(req);
    match plan {
        Some(plan) if p.diags.iter().all(|d| !d.is_error()) => Ok(plan),
        _ => {
            if p.diags.is_empty() {
                p.diags.push(Diagnostic::error(codes::INVALID_QUERY, "the query could not be planned"));
            }
            Err(p.diags)
        }
    }
}

fn join_path(links: &[String], element: &str) -> String {
    let mut parts: Vec<&str> = links.iter().map(String::as_str).collect();
    parts.push(element);
    parts.join("__")
}

impl<'m> Planner<'m> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    // ----- group-by items ------------------------------------------------------------------------

    fn parse_item(&mut self, text: &Spanned<String>) -> Option<Item> {
        match expr::parse_group_by(&text.value, text.span) {
            Ok(r) => self.reference_to_item(&r),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    /// Turn a parsed reference into a target and its output column name.
    fn reference_to_item(&mut self, r: &Reference) -> Option<Item> {
        let mut parts: Vec<String> = r.entity_path.clone();
        parts.extend(expr::split_dunder(&r.name));
        let mut grain = match &r.grain {
            Some(g) => match Grain::parse(g) {
                Some(g) => Some(g),
                None => {
                    self.err(
                        Diagnostic::error(codes::GRANULARITY, format!("unknown time granularity `{g}`"))
                            .at(r.span)
                            .with_suggestion(g, Grain::names()),
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
        // A trailing standard grain in a dunder name (`metric_time__month`, `booking__ds__week`).
        if r.kind != RefKind::Entity && grain.is_none() && parts.len() >= 2 {
            if let Some(g) = Grain::parse(parts.last().expect("len checked")) {
                if parts.last().map(|s| s.as_str()) == Some(g.name()) {
                    let is_metric_time = parts.len() == 2 && parts[0] == "metric_time";
                    if is_metric_time || parts.len() >= 3 {
                        grain = Some(g);
                        parts.pop();
                    }
                }
            }
        }
        if r.kind == RefKind::Metric {
            self.err(
                Diagnostic::error(codes::UNSUPPORTED, "metrics cannot be used as group-by items")
                    .at(r.span)
                    .with_help("group by dimensions, entities or metric_time"),
            );
            return None;
        }
        if parts.len() == 1 && parts[0] == "metric_time" {
            let out = match (date_part, grain) {
                (Some(p), _) => format!("metric_time__extract_{}", p.name()),
                (None, Some(g)) => format!("metric_time__{}", g.name()),
                (None, None) => "metric_time".to_string(),
            };
            return Some(Item {
                out,
                target: Target::MetricTime { grain, date_part },
                span: r.span,
            });
        }
        let element = parts.pop().unwrap_or_default();
        let links = parts;
        // A time dimension queried without a grain is at its own grain.
        let time_grain = self.element_time_grain(&element);
        if grain.is_some() && time_grain.is_none() && self.element_exists(&element) {
            self.err(
                Diagnostic::error(codes::INVALID_QUERY, format!("`{element}` is not a time dimension, so it has no granularity"))
                    .at(r.span)
                    .with_help(format!("group by `{}` without a granularity", join_path(&links, &element))),
            );
            return None;
        }
        let grain = grain.or(time_grain);
        let base = join_path(&links, &element);
        let out = match (date_part, grain) {
            (Some(p), _) => format!("{base}__extract_{}", p.name()),
            (None, Some(g)) => format!("{base}__{}", g.name()),
            (None, None) => base,
        };
        Some(Item {
            out,
            target: Target::Element {
                links,
                element,
                grain,
                date_part,
            },
            span: r.span,
        })
    }

    fn element_time_grain(&self, element: &str) -> Option<Grain> {
        self.model
            .semantic_models
            .iter()
            .find_map(|m| m.dimension(element).and_then(|d| d.time_grain))
    }

    fn element_exists(&self, element: &str) -> bool {
        self.model
            .semantic_models
            .iter()
            .any(|m| m.dimension(element).is_some() || m.entity(element).is_some())
    }

    /// Find the join path from model `from` along entity links to a model that has `element`.
    fn resolve_path(&self, from: usize, links: &[String], element: &str) -> Result<(Vec<Hop>, usize), Vec<(Vec<Hop>, usize)>> {
        let models = &self.model.semantic_models;
        let mut states: Vec<(Vec<Hop>, usize)> = vec![(Vec::new(), from)];
        for link in links {
            let mut next = Vec::new();
            for (hops, cur) in &states {
                let m = &models[*cur];
                // `primary_entity:` names the rows' entity without a column: it qualifies local
                // dimensions only.
                if m.entity(link).is_none() && m.primary_entity.as_deref() == Some(link.as_str()) {
                    next.push((hops.clone(), *cur));
                    continue;
                }
                let Some(e) = m.entity(link) else { continue };
                if e.kind != EntityType::Foreign {
                    next.push((hops.clone(), *cur));
                }
                for (ti, t) in models.iter().enumerate() {
                    if ti == *cur {
                        continue;
                    }
                    if t.entity(link).is_some_and(|te| te.kind != EntityType::Foreign) {
                        let mut h = hops.clone();
                        h.push(Hop {
                            entity: link.clone(),
                            to: ti,
                        });
                        next.push((h, ti));
                    }
                }
            }
            states = next;
        }
        let mut found: Vec<(Vec<Hop>, usize)> = states
            .into_iter()
            .filter(|(_, m)| {
                let sm = &models[*m];
                sm.dimension(element).is_some() || sm.entity(element).is_some()
            })
            .collect();
        if found.is_empty() {
            return Err(Vec::new());
        }
        let min = found.iter().map(|(h, _)| h.len()).min().unwrap_or(0);
        found.retain(|(h, _)| h.len() == min);
        found.sort();
        found.dedup();
        if found.len() > 1 {
            // The same element on several models at the same distance: prefer a model on which the
            // last link is the primary entity.
            let last = links.last().cloned().unwrap_or_default();
            let primary: Vec<(Vec<Hop>, usize)> = found
                .iter()
                .filter(|(_, m)| models[*m].primary_entity_name() == Some(last.as_str()))
                .cloned()
                .collect();
            if primary.len() == 1 {
                return Ok(primary.into_iter().next().expect("one"));
            }
            return Err(found);
        }
        Ok(found.into_iter().next().expect("non-empty"))
    }

    /// All names reachable from a model, for "did you mean".
    fn reachable_names(&self, from: usize) -> Vec<String> {
        let models = &self.model.semantic_models;
        let mut out = vec!["metric_time".to_string()];
        let m = &models[from];
        for e in &m.entities {
            out.push(e.name.clone());
            for (ti, t) in models.iter().enumerate() {
                let keyed = if ti == from {
                    e.kind != EntityType::Foreign
                } else {
                    t.entity(&e.name).is_some_and(|te| te.kind != EntityType::Foreign)
                };
                if keyed {
                    for d in &t.dimensions {
                        out.push(format!("{}__{}", e.name, d.name));
                    }
                    for x in &t.entities {
                        if x.name != e.name {
                            out.push(format!("{}__{}", e.name, x.name));
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    // ----- scans and expressions ----------------------------------------------------------------

    fn scan_name(&self, model: usize) -> String {
        self.model.semantic_models[model].name.clone()
    }

    /// Ask the scan of `model` to project `element` (a dimension, entity or measure input column).
    fn project(&mut self, model: usize, column: &str, expr_sql: &str) {
        self.scans
            .entry(model)
            .or_default()
            .entry(column.to_string())
            .or_insert_with(|| expr_sql.to_string());
    }

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

    /// The SQL expression of an item within an aggregation whose fact alias is `fact_alias`; adds
    /// joins as needed.
    fn item_expr(&mut self, agg: &mut AggBuild, item: &Item, default_grain: Grain) -> Option<Expr> {
        match &item.target {
            Target::MetricTime { grain, date_part } => {
                let atd = agg.agg_time_dimension.clone();
                self.project_element(agg.model, &atd);
                let col = Expr::col(&agg.alias, &atd);
                Some(time_expr(col, grain.unwrap_or(default_grain), *date_part))
            }
            Target::Element {
                links,
                element,
                grain,
                date_part,
            } => {
                let (hops, target) = match self.resolve_path(agg.model, links, element) {
                    Ok(x) => x,
                    Err(candidates) => {
                        let name = join_path(links, element);
                        if candidates.is_empty() {
                            let reachable = self.reachable_names(agg.model);
                            let mut d = Diagnostic::error(
                                codes::UNKNOWN_GROUP_BY,
                                format!(
                                    "`{name}` cannot be reached from semantic model `{}`",
                                    self.model.semantic_models[agg.model].name
                                ),
                            )
                            .at(item.span)
                            .with_suggestion(&name, reachable.iter().map(String::as_str));
                            if links.is_empty() && self.element_exists(element) {
                                d = d.with_help("qualify a dimension with the entity it belongs to, e.g. `listing__country`");
                            }
                            self.err(d);
                        } else {
                            let names: Vec<String> = candidates
                                .iter()
                                .map(|(_, m)| self.model.semantic_models[*m].name.clone())
                                .collect();
                            self.err(
                                Diagnostic::error(codes::AMBIGUOUS_JOIN, format!("`{name}` is reachable through several semantic models: {}", names.join(", ")))
                                    .at(item.span)
                                    .with_help("qualify it with a longer entity path"),
                            );
                        }
                        return None;
                    }
                };
                let alias = self.ensure_joins(agg, &hops);
                self.project_element(target, element);
                let col = Expr::col(&alias, element);
                let is_time = self.model.semantic_models[target]
                    .dimension(element)
                    .is_some_and(|d| d.is_time());
                if is_time {
                    Some(time_expr(col, grain.unwrap_or(Grain::Day), *date_part))
                } else {
                    Some(col)
                }
            }
        }
    }

    /// Add the joins of a path to an aggregation; returns the alias of the last relation.
    fn ensure_joins(&mut self, agg: &mut AggBuild, hops: &[Hop]) -> String {
        let mut alias = agg.alias.clone();
        let mut from_model = agg.model;
        let mut path: Vec<Hop> = Vec::new();
        for hop in hops {
            path.push(hop.clone());
            if let Some((a, _)) = agg.joins.iter().find(|(_, (p, _))| *p == path) {
                alias = a.clone();
                from_model = hop.to;
                continue;
            }
            let mut new_alias: String = path.iter().map(|h| h.entity.as_str()).collect::<Vec<_>>().join("__");
            while new_alias == agg.alias || agg.joins.contains_key(&new_alias) {
                new_alias.push('_');
            }
            self.project_element(from_model, &hop.entity);
            self.project_element(hop.to, &hop.entity);
            let join = Join {
                kind: JoinKind::Left,
                table: TableRef::Cte {
                    name: self.scan_name(hop.to),
                    alias: Some(new_alias.clone()),
                },
                on: vec![Expr::Eq(
                    Box::new(Expr::col(&alias, &hop.entity)),
                    Box::new(Expr::col(&new_alias, &hop.entity)),
                )],
            };
            agg.joins.insert(new_alias.clone(), (path.clone(), join));
            alias = new_alias;
            from_model = hop.to;
        }
        alias
    }

    /// Render a filter for an aggregation: each `{{ ... }}` reference becomes a column expression.
    fn filter_expr(&mut self, agg: &mut AggBuild, f: &Filter, default_grain: Grain) -> Option<Expr> {
        let template = match expr::parse_filter(&f.text, f.span) {
            Ok(t) => t,
            Err(d) => {
                self.err(d);
                return None;
            }
        };
        let mut failed = false;
        let mut resolve = |r: &Reference| -> Result<String, Diagnostic> {
            if r.kind == RefKind::Metric {
                return Err(Diagnostic::error(codes::UNSUPPORTED, "metric filters (`Metric(...)` in a where filter) are not supported yet")
                    .at(r.span)
                    .with_help("filter on dimensions and entities for now"));
            }
            let Some(item) = self.reference_to_item(r) else {
                failed = true;
                return Ok("NULL".into());
            };
            match self.item_expr(agg, &item, default_grain) {
                Some(e) => Ok(sql::expr_sql(self.dialect, &e)),
                None => {
                    failed = true;
                    Ok("NULL".into())
                }
            }
        };
        let rendered = expr::render_filter(&template, &mut resolve);
        match rendered {
            Ok(s) if !failed => Some(Expr::Raw(s)),
            Ok(_) => None,
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    // ----- metrics -------------------------------------------------------------------------------

    /// Expand a metric into leaves; returns its expression over leaf columns.
    fn expand_metric(
        &mut self,
        name: &str,
        span: Span,
        inherited: &[Filter],
        leaves: &mut Vec<Leaf>,
        depth: usize,
    ) -> Option<MetricExpr> {
        let Some(metric) = self.model.metric(name) else {
            self.err(
                Diagnostic::error(codes::UNKNOWN_METRIC, format!("unknown metric `{name}`"))
                    .at(span)
                    .with_suggestion(name, self.model.metrics.keys().map(String::as_str)),
            );
            return None;
        };
        if depth > 64 {
            return None;
        }
        let mut filters: Vec<Filter> = inherited.to_vec();
        filters.extend(metric.filters.iter().cloned());
        match &metric.kind {
            MetricKind::Simple(m) => {
                let mut fs = filters.clone();
                fs.extend(m.filters.iter().cloned());
                let leaf = self.leaf(m, fs, leaves);
                Some(MetricExpr::Leaf(leaf, m.fill_nulls_with))
            }
            MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                let n = self.expand_input(numerator, &filters, leaves, depth)?;
                let d = self.expand_input(denominator, &filters, leaves, depth)?;
                Some(MetricExpr::Ratio(Box::new(n), Box::new(d)))
            }
            MetricKind::Derived { expr: formula, inputs } => {
                let parsed = match expr::parse_formula(&formula.text, formula.span) {
                    Ok(f) => f,
                    Err(d) => {
                        self.err(d);
                        return None;
                    }
                };
                let mut map = IndexMap::new();
                for i in inputs {
                    let e = self.expand_input(i, &filters, leaves, depth)?;
                    map.insert(i.output_name().to_string(), e);
                }
                for id in parsed.identifiers() {
                    let n = id.text.trim_matches('"');
                    if !map.contains_key(n) {
                        self.err(
                            Diagnostic::error(codes::DERIVED_INPUT, format!("`{n}` in the formula of `{name}` is not one of its inputs"))
                                .at(id.span)
                                .with_suggestion(n, map.keys().map(String::as_str)),
                        );
                        return None;
                    }
                }
                Some(MetricExpr::Formula(parsed, map))
            }
            MetricKind::Cumulative { .. } | MetricKind::Conversion { .. } => {
                self.err(
                    Diagnostic::error(codes::UNSUPPORTED, format!("{} metrics such as `{name}` are not supported yet", metric.type_name()))
                        .at(span)
                        .with_help("query simple, ratio and derived metrics"),
                );
                None
            }
        }
    }

    fn expand_input(
        &mut self,
        input: &crate::model::MetricInput,
        filters: &[Filter],
        leaves: &mut Vec<Leaf>,
        depth: usize,
    ) -> Option<MetricExpr> {
        if input.offset_window.is_some() || input.offset_to_grain.is_some() {
            self.err(
                Diagnostic::error(codes::UNSUPPORTED, format!("offsets on input `{}` are not supported yet", input.name))
                    .at(input.span),
            );
            return None;
        }
        let mut fs = filters.to_vec();
        fs.extend(input.filters.iter().cloned());
        self.expand_metric(&input.name, input.span, &fs, leaves, depth + 1)
    }

    fn leaf(&mut self, m: &MeasureRef, filters: Vec<Filter>, leaves: &mut Vec<Leaf>) -> String {
        if let Some(l) = leaves
            .iter()
            .find(|l| l.measure.model == m.model && l.measure.measure == m.measure && l.filters == filters)
        {
            return l.column.clone();
        }
        let base = m.name.clone();
        let mut column = base.clone();
        let mut n = 1;
        while leaves.iter().any(|l| l.column == column) {
            n += 1;
            column = format!("{base}_{n}");
        }
        leaves.push(Leaf {
            column: column.clone(),
            measure: m.clone(),
            filters,
        });
        column
    }

    // ----- the whole query -----------------------------------------------------------------------

    fn plan(&mut self, req: &QueryRequest) -> Option<Plan> {
        if req.metrics.is_empty() && req.group_by.is_empty() {
            self.err(
                Diagnostic::error(codes::INVALID_QUERY, "the query names no metrics and no group-by items")
                    .with_help("pass --metrics, --group-by, or --saved-query"),
            );
            return None;
        }
        let mut items = Vec::new();
        for g in &req.group_by {
            if let Some(i) = self.parse_item(g) {
                if items.iter().any(|x: &Item| x.out == i.out) {
                    continue;
                }
                items.push(i);
            }
        }
        let mut leaves = Vec::new();
        let mut metrics = Vec::new();
        for m in &req.metrics {
            if metrics.iter().any(|(n, _): &(String, MetricExpr)| *n == m.value) {
                continue;
            }
            // Query filters apply to every measure the query reads.
            if let Some(e) = self.expand_metric(&m.value, m.span, &req.where_, &mut leaves, 0) {
                metrics.push((m.value.clone(), e));
            }
        }
        if self.diags.iter().any(|d| d.is_error()) {
            return None;
        }
        // The default grain of metric_time: the finest default among the queried metrics.
        let default_grain = self.default_grain(&req.metrics, &leaves);
        for it in items.iter_mut() {
            if let Target::MetricTime { grain: None, date_part: None } = it.target {
                it.out = format!("metric_time__{}", default_grain.name());
            }
        }
        let (lo, hi) = self.time_bounds(req, &items, default_grain)?;
        if leaves.is_empty() {
            return self.plan_dimensions(req, &items, default_grain, lo, hi);
        }
        // Group leaves into aggregations.
        let mut aggs: Vec<Agg> = Vec::new();
        for leaf in leaves {
            let atd = self.model.measure(&leaf.measure).agg_time_dimension.clone();
            match aggs.iter_mut().find(|a| {
                a.model == leaf.measure.model && a.agg_time_dimension == atd && a.filters == leaf.filters
            }) {
                Some(a) => a.leaves.push(leaf),
                None => {
                    let model_name = self.model.semantic_models[leaf.measure.model].name.clone();
                    let mut name = format!("{model_name}_agg");
                    let mut n = 1;
                    while aggs.iter().any(|a| a.name == name) {
                        n += 1;
                        name = format!("{model_name}_agg_{n}");
                    }
                    aggs.push(Agg {
                        name,
                        model: leaf.measure.model,
                        agg_time_dimension: atd,
                        filters: leaf.filters.clone(),
                        leaves: vec![leaf],
                    });
                }
            }
        }
        let mut ctes_aggs = Vec::new();
        for a in &aggs {
            let cte = self.build_aggregation(a, &items, req, default_grain, lo.as_deref(), hi.as_deref())?;
            ctes_aggs.push(cte);
        }
        if self.diags.iter().any(|d| d.is_error()) {
            return None;
        }
        // Final select: combine aggregations on the keys.
        let keys: Vec<String> = items.iter().map(|i| i.out.clone()).collect();
        let mut body = Select::default();
        let alias_of = |i: usize| aggs[i].name.clone();
        body.from = Some(TableRef::Cte {
            name: aggs[0].name.clone(),
            alias: None,
        });
        for i in 1..aggs.len() {
            let on: Vec<Expr> = keys
                .iter()
                .map(|k| {
                    let left = Expr::Coalesce((0..i).map(|j| Expr::col(&alias_of(j), k)).collect());
                    Expr::NullSafeEq(Box::new(left), Box::new(Expr::col(&alias_of(i), k)))
                })
                .collect();
            body.joins.push(Join {
                kind: if keys.is_empty() { JoinKind::Cross } else { JoinKind::FullOuter },
                table: TableRef::Cte {
                    name: aggs[i].name.clone(),
                    alias: None,
                },
                on,
            });
        }
        let single = aggs.len() == 1;
        for k in &keys {
            let e = if single {
                Expr::bare(k)
            } else {
                Expr::Coalesce((0..aggs.len()).map(|j| Expr::col(&alias_of(j), k)).collect())
            };
            body.columns.push(SelectItem {
                expr: e,
                alias: Some(k.clone()),
            });
        }
        let leaf_col = |col: &str| -> Expr {
            if single {
                return Expr::bare(col);
            }
            let i = aggs
                .iter()
                .position(|a| a.leaves.iter().any(|l| l.column == col))
                .expect("every leaf is in an aggregation");
            Expr::col(&aggs[i].name, col)
        };
        for (name, e) in &metrics {
            let x = self.metric_sql(e, &leaf_col);
            body.columns.push(SelectItem {
                expr: Expr::Raw(x),
                alias: Some(name.clone()),
            });
        }
        let mut columns: Vec<String> = keys.clone();
        columns.extend(metrics.iter().map(|(n, _)| n.clone()));
        self.order_and_limit(&mut body, req, &columns, &items);
        let mut ctes = self.scan_ctes();
        ctes.extend(ctes_aggs);
        Some(Plan {
            query: Query { ctes, body },
            columns,
        })
    }

    fn metric_sql(&self, e: &MetricExpr, leaf_col: &dyn Fn(&str) -> Expr) -> String {
        let d = self.dialect;
        match e {
            MetricExpr::Leaf(col, fill) => {
                let c = sql::expr_sql(d, &leaf_col(col));
                match fill {
                    Some(v) => format!("COALESCE({c}, {v})"),
                    None => c,
                }
            }
            MetricExpr::Ratio(n, den) => {
                let n = self.metric_sql(n, leaf_col);
                let den = self.metric_sql(den, leaf_col);
                sql::expr_sql(d, &Expr::SafeDivide(Box::new(Expr::Raw(n)), Box::new(Expr::Raw(den))))
            }
            MetricExpr::Formula(f, inputs) => {
                let mut map = |name: &str| -> Option<String> {
                    let key = name.trim_matches('"');
                    inputs.get(key).map(|e| {
                        let s = self.metric_sql(e, leaf_col);
                        if matches!(e, MetricExpr::Leaf(_, None)) {
                            s
                        } else {
                            format!("({s})")
                        }
                    })
                };
                expr::render_formula(f, &mut map)
            }
        }
    }

    fn default_grain(&self, metrics: &[Spanned<String>], leaves: &[Leaf]) -> Grain {
        let mut g: Option<Grain> = None;
        for m in metrics {
            if let Some(tg) = self.model.metric(&m.value).and_then(|m| m.time_granularity) {
                g = Some(g.map_or(tg, |x| x.min(tg)));
            }
        }
        for l in leaves {
            let sm = &self.model.semantic_models[l.measure.model];
            let atd = &self.model.measure(&l.measure).agg_time_dimension;
            if let Some(dg) = sm.dimension(atd).and_then(|d| d.time_grain) {
                // A metric's own time_granularity wins over its agg time dimension's grain.
                if g.is_none() {
                    g = Some(dg);
                } else if metrics.iter().all(|m| self.model.metric(&m.value).is_some_and(|x| x.time_granularity.is_none())) {
                    g = Some(g.map_or(dg, |x| x.min(dg)));
                }
            }
        }
        g.unwrap_or(Grain::Day)
    }

    /// The time constraint as timestamps: `[lo, hi)` on metric_time.
    fn time_bounds(&mut self, req: &QueryRequest, items: &[Item], default_grain: Grain) -> Option<(Option<String>, Option<String>)> {
        let grain = items
            .iter()
            .find_map(|i| match i.target {
                Target::MetricTime { grain, date_part: None } => Some(grain.unwrap_or(default_grain)),
                _ => None,
            })
            .unwrap_or(Grain::Day);
        let parse = |s: &str, what: &str, planner: &mut Self| -> Option<(Ts, bool)> {
            match Ts::parse(s) {
                Some(t) => Some(t),
                None => {
                    planner.err(
                        Diagnostic::error(codes::INVALID_QUERY, format!("invalid {what} `{s}`"))
                            .with_help("write a date `2024-01-31` or a timestamp `2024-01-31 13:00:00`"),
                    );
                    None
                }
            }
        };
        let lo = match &req.start_time {
            Some(s) => {
                let (t, _) = parse(s, "start time", self)?;
                Some(if grain > Grain::Day { t.trunc(grain) } else { t }.format())
            }
            None => None,
        };
        let hi = match &req.end_time {
            Some(s) => {
                let (t, has_time) = parse(s, "end time", self)?;
                let t = if grain > Grain::Day {
                    t.trunc(grain).add(1, grain)
                } else if has_time {
                    t.add(1, Grain::Second)
                } else {
                    t.add(1, Grain::Day)
                };
                Some(t.format())
            }
            None => None,
        };
        Some((lo, hi))
    }

    fn build_aggregation(
        &mut self,
        a: &Agg,
        items: &[Item],
        _req: &QueryRequest,
        default_grain: Grain,
        lo: Option<&str>,
        hi: Option<&str>,
    ) -> Option<Cte> {
        let mut b = AggBuild {
            model: a.model,
            alias: self.scan_name(a.model),
            agg_time_dimension: a.agg_time_dimension.clone(),
            joins: IndexMap::new(),
        };
        let mut select = Select {
            from: Some(TableRef::Cte {
                name: self.scan_name(a.model),
                alias: None,
            }),
            ..Select::default()
        };
        for it in items {
            let e = self.item_expr(&mut b, it, default_grain)?;
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        for l in &a.leaves {
            let m = self.model.measure(&l.measure);
            let col = format!("{}", m.name);
            self.project(a.model, &col, &m.expr.clone());
            select.columns.push(SelectItem {
                expr: Expr::Agg(m.agg, Box::new(Expr::col(&b.alias, &col))),
                alias: Some(l.column.clone()),
            });
        }
        for f in &a.filters {
            if let Some(e) = self.filter_expr(&mut b, f, default_grain) {
                select.where_.push(e);
            }
        }
        if lo.is_some() || hi.is_some() {
            self.project_element(a.model, &a.agg_time_dimension);
            select.where_.push(Expr::Range {
                expr: Box::new(Expr::col(&b.alias, &a.agg_time_dimension)),
                lo: lo.map(str::to_string),
                hi: hi.map(str::to_string),
            });
        }
        select.joins = b.joins.into_values().map(|(_, j)| j).collect();
        let measures: Vec<&str> = a.leaves.iter().map(|l| l.column.as_str()).collect();
        let by: Vec<&str> = items.iter().map(|i| i.out.as_str()).collect();
        let comment = if by.is_empty() {
            format!("Aggregate {} over all rows", measures.join(", "))
        } else {
            format!("Aggregate {} by {}", measures.join(", "), by.join(", "))
        };
        Some(Cte {
            name: a.name.clone(),
            comment,
            select,
        })
    }

    fn scan_ctes(&mut self) -> Vec<Cte> {
        let mut out = Vec::new();
        let mut rendered_errors = Vec::new();
        for (model, cols) in &self.scans {
            let sm = &self.model.semantic_models[*model];
            let (from, what) = match &sm.relation {
                Relation::Table(t) => (
                    TableRef::Table {
                        name: t.clone(),
                        alias: None,
                    },
                    t.clone(),
                ),
                Relation::Query(q, span) => (
                    TableRef::Subquery {
                        sql: match crate::jinja::render_sql(q, *span, &self.model.macros, self.dialect.name(), &self.model.vars) {
                            Ok(s) => s,
                            Err(d) => {
                                rendered_errors.push(d);
                                String::new()
                            }
                        },
                        alias: format!("{}_sql", sm.name),
                    },
                    "its SQL query".to_string(),
                ),
            };
            let columns = cols
                .iter()
                .map(|(name, e)| SelectItem {
                    expr: if is_simple_ident(e) { Expr::bare(e) } else { Expr::Raw(e.clone()) },
                    alias: Some(name.clone()),
                })
                .collect();
            out.push(Cte {
                name: sm.name.clone(),
                comment: format!("Read semantic model {} from {what}", sm.name),
                select: Select {
                    columns,
                    from: Some(from),
                    ..Select::default()
                },
            });
        }
        self.diags.extend(rendered_errors);
        out
    }

    fn order_and_limit(&mut self, body: &mut Select, req: &QueryRequest, columns: &[String], items: &[Item]) {
        for o in &req.order_by {
            let (r, desc) = match expr::parse_order_item(&o.value, o.span) {
                Ok(x) => x,
                Err(d) => {
                    self.err(d);
                    continue;
                }
            };
            // An order item names a metric or a group-by item.
            let name = if r.entity_path.is_empty() && columns.contains(&r.name) {
                Some(r.name.clone())
            } else {
                match self.reference_to_item(&r) {
                    Some(it) => {
                        if columns.contains(&it.out) {
                            Some(it.out)
                        } else {
                            // `metric_time` without grain matches metric_time at any grain in the query.
                            items
                                .iter()
                                .find(|x| matches!((&x.target, &it.target), (Target::MetricTime { .. }, Target::MetricTime { grain: None, date_part: None })))
                                .map(|x| x.out.clone())
                        }
                    }
                    None => None,
                }
            };
            match name {
                Some(n) => body.order_by.push((Expr::bare(&n), desc)),
                None => {
                    let mut d = Diagnostic::error(codes::INVALID_QUERY, format!("cannot order by `{}`: it is not a queried metric or group-by item", o.value))
                        .at(o.span);
                    if let Some(s) = did_you_mean(&r.name, columns.iter().map(String::as_str)) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.err(d.with_help(format!("the query's columns: {}", columns.join(", "))));
                }
            }
        }
        body.limit = req.limit;
    }

    /// A query without metrics: distinct values of dimensions (or their min and max).
    fn plan_dimensions(&mut self, req: &QueryRequest, items: &[Item], default_grain: Grain, lo: Option<String>, hi: Option<String>) -> Option<Plan> {
        let only_time = items.iter().all(|i| matches!(i.target, Target::MetricTime { .. }));
        let mut select = Select::default();
        let mut ctes = Vec::new();
        if only_time {
            let Some(spine) = self.model.spine_for(default_grain).or(self.model.time_spines.first()) else {
                self.err(
                    Diagnostic::error(codes::TIME_SPINE, "querying metric_time alone needs a time spine")
                        .with_help("configure `time_spines` in a project_configuration"),
                );
                return None;
            };
            select.from = Some(TableRef::Table {
                name: spine.relation.clone(),
                alias: Some("time_spine".into()),
            });
            let col = Expr::col("time_spine", &spine.column);
            for it in items {
                let Target::MetricTime { grain, date_part } = it.target else { continue };
                let e = time_expr(col.clone(), grain.unwrap_or(default_grain), date_part);
                select.columns.push(SelectItem {
                    expr: e.clone(),
                    alias: Some(it.out.clone()),
                });
                select.group_by.push(e);
            }
            if lo.is_some() || hi.is_some() {
                select.where_.push(Expr::Range {
                    expr: Box::new(col),
                    lo,
                    hi,
                });
            }
        } else {
            // Root: the semantic model from which every item is reachable with the fewest joins.
            let mut best: Option<(usize, usize)> = None;
            for mi in 0..self.model.semantic_models.len() {
                let mut total = 0;
                let mut ok = true;
                for it in items {
                    match &it.target {
                        Target::Element { links, element, .. } => match self.resolve_path(mi, links, element) {
                            Ok((h, _)) => total += h.len(),
                            Err(_) => ok = false,
                        },
                        Target::MetricTime { .. } => ok = false,
                    }
                }
                if ok && best.is_none_or(|(_, t)| total < t) {
                    best = Some((mi, total));
                }
            }
            let Some((root, _)) = best else {
                let first = &items[0];
                self.err(
                    Diagnostic::error(codes::UNKNOWN_GROUP_BY, "no semantic model reaches all of these group-by items")
                        .at(first.span)
                        .with_help("check the entity paths, or add a metric to the query"),
                );
                return None;
            };
            let mut b = AggBuild {
                model: root,
                alias: self.scan_name(root),
                agg_time_dimension: self.model.semantic_models[root].default_agg_time_dimension.clone().unwrap_or_default(),
                joins: IndexMap::new(),
            };
            select.from = Some(TableRef::Cte {
                name: self.scan_name(root),
                alias: None,
            });
            for it in items {
                let e = self.item_expr(&mut b, it, default_grain)?;
                select.columns.push(SelectItem {
                    expr: e.clone(),
                    alias: Some(it.out.clone()),
                });
                select.group_by.push(e);
            }
            for f in &req.where_ {
                if let Some(e) = self.filter_expr(&mut b, f, default_grain) {
                    select.where_.push(e);
                }
            }
            select.joins = b.joins.into_values().map(|(_, j)| j).collect();
            ctes = self.scan_ctes();
        }
        if req.no_group_by {
            select.group_by.clear();
        }
        let columns: Vec<String>;
        if req.min_max_only {
            let inner_name = "dimension_values".to_string();
            let mut outer = Select::default();
            let mut cols = Vec::new();
            for it in items {
                for (f, suffix) in [("MIN", "min"), ("MAX", "max")] {
                    let alias = format!("{}__{suffix}", it.out);
                    outer.columns.push(SelectItem {
                        expr: Expr::Raw(format!("{f}({})", self.dialect.ident(&it.out))),
                        alias: Some(alias.clone()),
                    });
                    cols.push(alias);
                }
            }
            outer.from = Some(TableRef::Cte {
                name: inner_name.clone(),
                alias: None,
            });
            ctes.push(Cte {
                name: inner_name,
                comment: "Values of the queried dimensions".into(),
                select,
            });
            columns = cols;
            return Some(Plan {
                query: Query { ctes, body: outer },
                columns,
            });
        }
        columns = items.iter().map(|i| i.out.clone()).collect();
        self.order_and_limit(&mut select, req, &columns, items);
        Some(Plan {
            query: Query { ctes, body: select },
            columns,
        })
    }
}

/// An aggregation's FROM clause under construction.
struct AggBuild {
    model: usize,
    alias: String,
    agg_time_dimension: String,
    /// alias -> (path, join)
    joins: IndexMap<String, (Vec<Hop>, Join)>,
}

/// How a metric is computed from leaf columns.
#[derive(Clone, Debug)]
enum MetricExpr {
    Leaf(String, Option<i64>),
    Ratio(Box<MetricExpr>, Box<MetricExpr>),
    Formula(expr::Formula, IndexMap<String, MetricExpr>),
}

fn time_expr(col: Expr, grain: Grain, date_part: Option<DatePart>) -> Expr {
    match date_part {
        Some(p) => Expr::Extract(p, Box::new(col)),
        None => Expr::Trunc(grain, Box::new(col)),
    }
}

fn is_simple_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
