//! Queries without metrics: the distinct values of dimensions (or their min and max).
//!
//! metric_time alone reads the time spine. Otherwise the root is the semantic model that reaches
//! every item (and every filter reference) with the fewest joins, preferring the model with the
//! fewest elements; other models are joined with FULL OUTER JOINs so every value of each dimension
//! appears, and metric_time comes from the time spine, cross joined.

use super::filters::FRef;
use super::items::Item;
use super::joins::{FromBuilder, JoinKey};
use super::spine_day;
use super::{Plan, PlanCtx, Planner, QueryRequest};
use crate::diag::{codes, Diagnostic};
use crate::model::AggKind;
use crate::sql::{Expr, Join, JoinKind, Query, Select, SelectItem, TableRef};

impl<'m> Planner<'m> {
    pub(crate) fn plan_dimensions(&mut self, req: &QueryRequest) -> Option<Plan> {
        let mut items = self.q.items.clone();
        let time_items: Vec<Item> = items
            .iter()
            .filter(|i| i.is_metric_time())
            .cloned()
            .collect();
        // Elements the root must reach: the group-by items and the filters' references.
        let mut needed: Vec<Item> = items
            .iter()
            .filter(|i| !i.is_metric_time())
            .cloned()
            .collect();
        // metric_time in a filter needs the time spine as much as in the group-by.
        let mut time_refs: Vec<Item> = time_items.clone();
        for f in &req.where_ {
            for i in self.filter_items(f) {
                if i.is_metric_time() {
                    time_refs.push(i);
                } else {
                    needed.push(i);
                }
            }
            if let Some(b) = &f.bound {
                for r in b.metrics() {
                    needed.extend(r.items.iter().filter_map(|i| i.as_ref().ok()).cloned());
                }
            }
        }
        let mut select = Select::default();
        let time_grain = self.cx.time_items_grain(&time_refs);
        let bounds = self.q.bounds.clone();
        if needed.is_empty() {
            // metric_time alone: the time spine.
            self.cx.order_items_as_metricflow(&mut items, 0, false);
            let spine = self.spine_for(time_grain)?;
            let mut fb = FromBuilder::new(0, "time_spine", JoinKind::Left);
            let alias = "time_spine".to_string();
            let day = spine_day(&alias, &spine);
            let row = (alias.clone(), spine.clone());
            select.from = Some(TableRef::Table {
                name: spine.relation.clone(),
                alias: Some(alias.clone()),
            });
            for it in &items {
                let e = self.time_item_over(&mut fb, it, day.clone(), spine.grain, Some(&row))?;
                let e = if e == day {
                    Expr::Trunc(spine.grain, Box::new(e))
                } else {
                    e
                };
                select.columns.push(SelectItem {
                    expr: e.clone(),
                    alias: Some(it.out.clone()),
                });
                select.group_by.push(e);
            }
            if let Some(e) = bounds.on(day.clone()) {
                select.where_.push(e);
            }
            for f in &req.where_ {
                let e = self.render_filter(f, &mut |p, r| match r {
                    FRef::Item(i) => p.time_item_over(&mut fb, i, day.clone(), spine.grain, Some(&row)),
                    FRef::Metric(m) => {
                        p.err(Diagnostic::error(codes::UNSUPPORTED, format!("a metric filter on `{}` needs a group-by item it is computed by", m.name)).at(m.span));
                        None
                    }
                })?;
                select.where_.push(e);
            }
            select.joins = std::mem::take(&mut fb.joins);
        } else {
            let Some(root) = self.cx.dimension_root(&needed) else {
                let first = &needed[0];
                self.err(
                    Diagnostic::error(
                        codes::UNKNOWN_GROUP_BY,
                        "no semantic model reaches all of these group-by items",
                    )
                    .at(first.span)
                    .with_help("check the entity paths, or add a metric to the query"),
                );
                return None;
            };
            self.cx.order_items_as_metricflow(&mut items, root, false);
            let alias = self.scan_name(root);
            let mut fb = FromBuilder::new(root, &alias, JoinKind::FullOuter);
            select.from = Some(fb.root(self));
            if !time_refs.is_empty() {
                let spine = self.spine_for(time_grain)?;
                let s = fb.fresh_alias("time_spine");
                fb.add_keyed(
                    JoinKey::TimeSpine,
                    &s,
                    Join {
                        kind: JoinKind::Cross,
                        table: TableRef::Table {
                            name: spine.relation.clone(),
                            alias: Some(s.clone()),
                        },
                        on: vec![],
                    },
                );
                let day = spine_day(&s, &spine);
                fb.time = Some((day.clone(), spine.grain));
                if let Some(e) = bounds.on(day) {
                    select.where_.push(e);
                }
            }
            for it in &items {
                let e = self.fact_item_expr(&mut fb, it)?;
                select.columns.push(SelectItem {
                    expr: e.clone(),
                    alias: Some(it.out.clone()),
                });
                select.group_by.push(e);
            }
            for f in &req.where_ {
                let e = self.fact_filter(&mut fb, f)?;
                select.where_.push(e);
            }
            select.joins = std::mem::take(&mut fb.joins);
        }
        if req.no_group_by {
            select.group_by.clear();
        }
        let ctes = self.finish_ctes();
        if req.min_max_only {
            let inner_name = self.ctes.fresh_name("dimension_values");
            return Some(min_max_plan(ctes, inner_name, select, &items));
        }
        let columns: Vec<String> = items.iter().map(|i| i.out.clone()).collect();
        self.order_and_limit(&mut select, req, &columns, &items);
        Some(Plan {
            query: Query { ctes, body: select },
            columns,
            measures: Vec::new(),
        })
    }
}

impl<'m> PlanCtx<'m> {
    /// The semantic model a query without metrics reads from: one that reaches every item, by the
    /// fewest joins, then the fewest group-by items.
    fn dimension_root(&self, needed: &[Item]) -> Option<usize> {
        let mut best: Option<(usize, usize, usize)> = None;
        for mi in 0..self.model.semantic_models.len() {
            let mut total = 0;
            let mut ok = true;
            for it in needed {
                if let Some(path) = it.path() {
                    match self.reaches(mi, path) {
                        Some(h) => total += h,
                        None => ok = false,
                    }
                }
            }
            let count = self.element_count(mi);
            if ok && best.is_none_or(|(_, t, c)| (total, count) < (t, c)) {
                best = Some((mi, total, count));
            }
        }
        best.map(|(root, _, _)| root)
    }
}

/// `min_max_only`: the min and max of each item over the dimension values (`select`, made the
/// CTE `inner_name`).
fn min_max_plan(
    mut ctes: Vec<crate::sql::Cte>,
    inner_name: String,
    select: Select,
    items: &[Item],
) -> Plan {
    let mut outer = Select::default();
    let mut cols = Vec::new();
    for it in items {
        for (f, suffix) in [(AggKind::Min, "min"), (AggKind::Max, "max")] {
            let alias = format!("{}__{suffix}", it.out);
            outer.columns.push(SelectItem {
                expr: Expr::Agg(f, Box::new(Expr::bare(&it.out))),
                alias: Some(alias.clone()),
            });
            cols.push(alias);
        }
    }
    outer.from = Some(TableRef::Cte {
        name: inner_name.clone(),
        alias: None,
    });
    ctes.push(crate::sql::Cte {
        name: inner_name,
        comment: "Values of the queried dimensions".into(),
        select,
    });
    Plan {
        query: Query { ctes, body: outer },
        columns: cols,
        measures: Vec::new(),
    }
}
