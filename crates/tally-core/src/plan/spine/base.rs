//! The measure aggregated to its base grain, and the keys and filters of relations joined to the
//! time spine.

use super::BaseRel;
use crate::diag::{codes, Diagnostic};
use crate::model::{AggKind, Filter, MeasureRef, TimeSpine};
use crate::plan::filters::FRef;
use crate::plan::items::Item;
use crate::plan::joins::FromBuilder;
use crate::plan::{Bounds, Planner};
use crate::sql::{Expr, Select, SelectItem};
use crate::time::Grain;

impl<'m> Planner<'m> {
    /// A measure aggregated to its base grain by `keys` (computed over its model), for joining to
    /// the time spine.
    pub(super) fn base_relation(
        &mut self,
        m: &MeasureRef,
        row_filters: &[Filter],
        keys: &[Item],
        bounds: &Bounds,
        split_average: bool,
    ) -> Option<BaseRel> {
        let measure = self.use_measure(m);
        let (name, agg, expr) = (measure.name.clone(), measure.agg, measure.expr.clone());
        let atd = self.cx.model.agg_time_id(m.model, m.measure);
        let grain = self.cx.measure_time_grain(m);
        let mut select = Select::default();
        let mut fb = self.filtered_fact(m.model, atd, row_filters, bounds, &mut select)?;
        let mut key_cols = Vec::new();
        for it in keys {
            if key_cols.contains(&it.out) {
                continue;
            }
            let e = self.fact_item_expr(&mut fb, it)?;
            select.columns.push(SelectItem {
                expr: e.clone(),
                alias: Some(it.out.clone()),
            });
            select.group_by.push(e);
            key_cols.push(it.out.clone());
        }
        let time = format!("metric_time__{grain}");
        let atd_name = self.cx.model.element_name(atd);
        let t = Expr::Trunc(grain, Box::new(Expr::col(&fb.alias, atd_name)));
        select.columns.push(SelectItem {
            expr: t.clone(),
            alias: Some(time.clone()),
        });
        select.group_by.push(t);
        self.ctes.project(m.model, &name, &expr);
        let value = Expr::col(&fb.alias, &name);
        let mut count = None;
        let (measure_expr, final_agg, grouped, what) = match agg {
            AggKind::Sum | AggKind::Min | AggKind::Max => {
                (Expr::Agg(agg, Box::new(value)), agg, true, "per")
            }
            AggKind::Average if split_average => {
                let n = Expr::Count(Box::new(value.clone()));
                count = Some((format!("{name}_count"), n));
                (
                    Expr::Agg(AggKind::Sum, Box::new(value)),
                    agg,
                    true,
                    "sum and count per",
                )
            }
            AggKind::CountDistinct => {
                select.group_by.push(value.clone());
                (value, agg, true, "distinct values per")
            }
            AggKind::Average | AggKind::Percentile { .. } => (value, agg, false, "rows with"),
        };
        if !grouped {
            select.group_by.clear();
        }
        select.columns.push(SelectItem {
            expr: measure_expr,
            alias: Some(name.clone()),
        });
        if let Some((c, n)) = &count {
            select.columns.push(SelectItem {
                expr: n.clone(),
                alias: Some(c.clone()),
            });
        }
        select.joins = std::mem::take(&mut fb.joins);
        let mut by = vec![time.clone()];
        by.extend(key_cols.iter().cloned());
        let model_name = self.scan_name(m.model);
        let cte = self.ctes.add(
            &format!("{model_name}_{name}_{grain}"),
            format!("{name} {what} {}", by.join(", ")),
            select,
        );
        Some(BaseRel {
            cte,
            time,
            grain,
            keys: key_cols,
            measure: name,
            agg: final_agg,
            count: count.map(|(c, _)| c),
        })
    }

    /// The items of the query that are not time items, plus those other filters need.
    pub(super) fn key_items(
        &mut self,
        m: &MeasureRef,
        time_items: &[Item],
        post_filters: &[Filter],
    ) -> Vec<Item> {
        let mut keys: Vec<Item> = self
            .q
            .items
            .iter()
            .filter(|i| !time_items.iter().any(|t| t.out == i.out))
            .cloned()
            .collect();
        for f in post_filters {
            for i in self.filter_items(f) {
                let is_time = self.cx.is_agg_time_item(&i, m)
                    || time_items.iter().any(|t| t.target == i.target);
                if !is_time && !keys.iter().any(|k| k.out == i.out) {
                    keys.push(i);
                }
            }
        }
        keys
    }

    /// Render a filter evaluated after a shift: time items over the output day, other items from the
    /// columns of `alias`.
    pub(super) fn shifted_filter(
        &mut self,
        fb: &mut FromBuilder,
        f: &Filter,
        time_is: &dyn Fn(&Self, &Item) -> bool,
        out_day: &Expr,
        grain: Grain,
        row: Option<&(String, TimeSpine)>,
        alias: &str,
        columns: &[String],
    ) -> Option<Expr> {
        self.render_filter(f, &mut |p, r| match r {
            FRef::Item(i) if time_is(p, i) => p.time_item_over(fb, i, out_day.clone(), grain, row),
            FRef::Item(i) if columns.contains(&i.out) => Some(Expr::col(alias, &i.out)),
            FRef::Item(i) => {
                p.err(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        format!(
                            "the filter on `{}` cannot be applied after a time offset",
                            i.out
                        ),
                    )
                    .at(f.span)
                    .with_help("group by the items this filter uses"),
                );
                None
            }
            FRef::Metric(m) => {
                p.err(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        format!(
                            "the metric filter on `{}` cannot be applied after a time offset",
                            m.name
                        ),
                    )
                    .at(m.span)
                    .with_help("put the metric filter on the inputs of the offset metric"),
                );
                None
            }
        })
    }
}
