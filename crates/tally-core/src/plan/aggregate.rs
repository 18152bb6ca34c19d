//! Plain aggregations: measures of one semantic model aggregated by the query's items in one pass,
//! and semi-additive measures (a balance is not summed over time: only the rows at the first or
//! last value of the non-additive dimension count).

use super::items::Item;
use super::joins::FromBuilder;
use super::metrics::{LeafGroup, SemiAdditive};
use super::Planner;
use crate::model::{ElementId, Filter};
use crate::spec::WindowChoice;
use crate::sql::{Expr, Join, JoinKind, Select, SelectItem, TableRef};
use crate::time::Grain;

impl<'m> Planner<'m> {
    /// A FROM clause over a group's model with its filters and time constraint in `select`.
    pub(crate) fn filtered_fact(
        &mut self,
        model: usize,
        atd: ElementId,
        filters: &[crate::model::Filter],
        bounds: &super::Bounds,
        select: &mut Select,
    ) -> Option<FromBuilder> {
        let mut fb = self.fact_from(model, Some(atd), JoinKind::Left);
        select.from = Some(fb.root(self));
        for f in filters {
            let e = self.fact_filter(&mut fb, f)?;
            select.where_.push(e);
        }
        let atd_name = self.cx.model.element_name(atd);
        if let Some(e) = bounds.on(Expr::col(&fb.alias, atd_name)) {
            select.where_.push(e);
        }
        Some(fb)
    }

    /// The CTE of a group of plain aggregations; returns its name.
    pub(crate) fn build_group(&mut self, g: &LeafGroup) -> Option<String> {
        if let Some(na) = &g.non_additive {
            return self.build_semi_additive(g, na);
        }
        let mut select = Select::default();
        let mut fb = self.filtered_fact(g.model, g.atd, &g.filters, &g.bounds, &mut select)?;
        let items = self.q.items.clone();
        for it in &items {
            let e = self.fact_item_expr(&mut fb, it)?;
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        let mut names = Vec::new();
        for (_, m) in &g.leaves {
            let measure = self.use_measure(m);
            let (name, agg, expr) = (measure.name.clone(), measure.agg, measure.expr.clone());
            self.ctes.project(g.model, &name, &expr);
            select.columns.push(SelectItem {
                expr: Expr::Agg(agg, Box::new(Expr::col(&fb.alias, &name))),
                alias: Some(name.clone()),
            });
            names.push(name);
        }
        select.joins = std::mem::take(&mut fb.joins);
        let by: Vec<&str> = items.iter().map(|i| i.out.as_str()).collect();
        let comment = if by.is_empty() {
            format!("Aggregate {} over all rows", names.join(", "))
        } else {
            format!("Aggregate {} by {}", names.join(", "), by.join(", "))
        };
        let model_name = self.scan_name(g.model);
        Some(self.ctes.add(&format!("{model_name}_agg"), comment, select))
    }

    /// Several groups of plain aggregations of one model, time dimension and time constraint that
    /// differ in their filters, aggregated in one pass: the filters all groups share select the
    /// rows, and each measure aggregates only the rows its own other filters select
    /// (`SUM(CASE WHEN <filters> THEN x ELSE NULL END)`). Returns the CTE and each leaf's column.
    pub(crate) fn build_merged(&mut self, groups: &[LeafGroup]) -> Option<(String, Vec<String>)> {
        let first = groups.first()?;
        let shared: Vec<Filter> = first
            .filters
            .iter()
            .filter(|f| {
                groups
                    .iter()
                    .all(|g| g.filters.iter().any(|x| x.text == f.text))
            })
            .cloned()
            .collect();
        let mut select = Select::default();
        let mut fb =
            self.filtered_fact(first.model, first.atd, &shared, &first.bounds, &mut select)?;
        let items = self.q.items.clone();
        for it in &items {
            let e = self.fact_item_expr(&mut fb, it)?;
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        let mut conds: Vec<Option<Expr>> = Vec::new();
        for g in groups {
            let mut own = Vec::new();
            for f in g
                .filters
                .iter()
                .filter(|f| !shared.iter().any(|x| x.text == f.text))
            {
                own.push(self.fact_filter(&mut fb, f)?);
            }
            conds.push((!own.is_empty()).then(|| Expr::and(own)));
        }
        // The rows no measure reads are left out, unless a group reads every row.
        if conds.iter().all(Option::is_some) {
            select
                .where_
                .push(Expr::Or(conds.iter().flatten().cloned().collect()));
        }
        let mut cols: Vec<String> = Vec::new();
        let mut names = Vec::new();
        for (g, cond) in groups.iter().zip(&conds) {
            for (_, m) in &g.leaves {
                let measure = self.use_measure(m);
                let (name, agg, expr) = (measure.name.clone(), measure.agg, measure.expr.clone());
                self.ctes.project(g.model, &name, &expr);
                let mut col = name.clone();
                let mut n = 1;
                while cols.contains(&col) {
                    n += 1;
                    col = format!("{name}_{n}");
                }
                let value = Expr::col(&fb.alias, &name);
                let value = match cond {
                    Some(c) => {
                        Expr::Case(Box::new(c.clone()), Box::new(value), Box::new(Expr::Null))
                    }
                    None => value,
                };
                select.columns.push(SelectItem {
                    expr: Expr::Agg(agg, Box::new(value)),
                    alias: Some(col.clone()),
                });
                names.push(col.clone());
                cols.push(col);
            }
        }
        select.joins = std::mem::take(&mut fb.joins);
        let by: Vec<&str> = items.iter().map(|i| i.out.as_str()).collect();
        let each = "each over the rows of its filters";
        let comment = if by.is_empty() {
            format!("Aggregate {} over all rows, {each}", names.join(", "))
        } else {
            format!(
                "Aggregate {} by {}, {each}",
                names.join(", "),
                by.join(", ")
            )
        };
        let model_name = self.scan_name(first.model);
        let cte = self.ctes.add(&format!("{model_name}_agg"), comment, select);
        Some((cte, cols))
    }

    /// A semi-additive aggregation: the rows (filtered, with the query's items), the first or last
    /// value of the non-additive dimension per window grouping (and per the queried period of that
    /// dimension), and the aggregation of the rows at that value.
    fn build_semi_additive(&mut self, g: &LeafGroup, semi: &SemiAdditive) -> Option<String> {
        let model_name = self.scan_name(g.model);
        let (na, ids) = (&semi.written, &semi.ids);
        let na_grain = self
            .cx
            .model
            .time_grain_on(g.model, ids.dimension)
            .unwrap_or(Grain::Day);
        let na_col = format!("{}__{}", na.dimension, na_grain);
        let mut rows = Select::default();
        let mut fb = self.filtered_fact(g.model, g.atd, &g.filters, &g.bounds, &mut rows)?;
        let items = self.q.items.clone();
        let mut row_cols: Vec<String> = Vec::new();
        for it in &items {
            let e = self.fact_item_expr(&mut fb, it)?;
            rows.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
            row_cols.push(it.out.clone());
        }
        self.project_element(g.model, ids.dimension);
        rows.columns.push(SelectItem {
            expr: Expr::Trunc(na_grain, Box::new(Expr::col(&fb.alias, &na.dimension))),
            alias: Some(na_col.clone()),
        });
        // Column names: a SELECT's aliases are unique, so a grouping already among the items'
        // columns is not selected again.
        for (grouping, &id) in na.window_groupings.iter().zip(&ids.window_groupings) {
            if row_cols.contains(grouping) {
                continue;
            }
            self.project_element(g.model, id);
            rows.columns.push(SelectItem {
                expr: Expr::col(&fb.alias, grouping),
                alias: Some(grouping.clone()),
            });
            row_cols.push(grouping.clone());
        }
        let mut names = Vec::new();
        for (_, m) in &g.leaves {
            let measure = self.cx.model.measure(m);
            let (name, expr) = (measure.name.clone(), measure.expr.clone());
            self.ctes.project(g.model, &name, &expr);
            rows.columns.push(SelectItem {
                expr: Expr::col(&fb.alias, &name),
                alias: Some(name.clone()),
            });
            names.push(name);
        }
        rows.joins = std::mem::take(&mut fb.joins);
        let rows_cte = self.ctes.add(
            &format!("{model_name}_rows"),
            format!("Rows of {} with the query's items", names.join(", ")),
            rows,
        );
        // The first or last value of the non-additive dimension per grouping.
        let (snap_cte, choice) =
            self.semi_additive_snapshot(g, semi, &model_name, &rows_cte, &na_col, &items);
        // Aggregate the rows at that value.
        let mut select = Select {
            from: Some(TableRef::Cte {
                name: rows_cte.clone(),
                alias: None,
            }),
            ..Select::default()
        };
        let mut on = vec![Expr::eq(
            Expr::col(&rows_cte, &na_col),
            Expr::col(&snap_cte, &na_col),
        )];
        for grouping in &na.window_groupings {
            on.push(Expr::eq(
                Expr::col(&rows_cte, grouping),
                Expr::col(&snap_cte, grouping),
            ));
        }
        select.joins.push(Join {
            kind: JoinKind::Inner,
            table: TableRef::Cte {
                name: snap_cte,
                alias: None,
            },
            on,
        });
        for it in &items {
            let e = Expr::col(&rows_cte, &it.out);
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        for (_, m) in &g.leaves {
            let measure = self.use_measure(m);
            select.columns.push(SelectItem {
                expr: Expr::Agg(measure.agg, Box::new(Expr::col(&rows_cte, &measure.name))),
                alias: Some(measure.name.clone()),
            });
        }
        let by: Vec<&str> = items.iter().map(|i| i.out.as_str()).collect();
        let comment = if by.is_empty() {
            format!(
                "Aggregate {} at the {choice} {}",
                names.join(", "),
                na.dimension
            )
        } else {
            format!(
                "Aggregate {} at the {choice} {} by {}",
                names.join(", "),
                na.dimension,
                by.join(", ")
            )
        };
        Some(self.ctes.add(&format!("{model_name}_agg"), comment, select))
    }

    /// The first or last value of the non-additive dimension (column `na_col` of `rows_cte`) per
    /// window grouping and queried period of that dimension; its CTE and "first" or "last".
    fn semi_additive_snapshot(
        &mut self,
        g: &LeafGroup,
        semi: &SemiAdditive,
        model_name: &str,
        rows_cte: &str,
        na_col: &str,
        items: &[Item],
    ) -> (String, &'static str) {
        let na = &semi.written;
        let dimension = semi.ids.dimension;
        // metric_time is the non-additive dimension when that is the aggregation time dimension.
        let queried_time = items.iter().find(|i| {
            dimension != ElementId::UNKNOWN
                && match &i.target {
                    super::items::Target::MetricTime { .. } => dimension == g.atd,
                    super::items::Target::Element { path, .. } => path.element == dimension,
                }
        });
        let mut snap = Select {
            from: Some(TableRef::Cte {
                name: rows_cte.to_string(),
                alias: None,
            }),
            ..Select::default()
        };
        let mut partition: Vec<String> = na.window_groupings.clone();
        if let Some(t) = queried_time {
            partition.push(t.out.clone());
        }
        for c in &partition {
            snap.columns.push(SelectItem {
                expr: Expr::col(rows_cte, c),
                alias: Some(c.clone()),
            });
            snap.group_by.push(Expr::col(rows_cte, c));
        }
        let agg = match na.window_choice {
            WindowChoice::Min => crate::model::AggKind::Min,
            WindowChoice::Max => crate::model::AggKind::Max,
        };
        snap.columns.push(SelectItem {
            expr: Expr::Agg(agg, Box::new(Expr::col(rows_cte, na_col))),
            alias: Some(na_col.to_string()),
        });
        let choice = match na.window_choice {
            WindowChoice::Min => "first",
            WindowChoice::Max => "last",
        };
        let per = if partition.is_empty() {
            String::new()
        } else {
            format!(" per {}", partition.join(", "))
        };
        let snap_cte = self.ctes.add(
            &format!("{model_name}_{}_{choice}", na.dimension),
            format!("The {choice} {}{per}", na.dimension),
            snap,
        );
        (snap_cte, choice)
    }
}
