//! Offsets: days of the spine mapped to the days they move to, offsets applied before aggregation
//! and relations shifted (or joined) to the time spine.

use super::{amount, DayMap};
use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, MeasureRef};
use crate::plan::filters::FRef;
use crate::plan::items::Item;
use crate::plan::joins::FromBuilder;
use crate::plan::metrics::{MetricExpr, Shift};
use crate::plan::spine_day;
use crate::plan::{Bounds, Planner};
use crate::source::Span;
use crate::sql::{Expr, Join, JoinKind, Select, SelectItem, TableRef};
use crate::time::{Grain, TimeGrain};

impl<'m> Planner<'m> {
    /// The days of the time spine with the days an offset moves them to.
    pub(super) fn day_map(
        &mut self,
        fb: &mut FromBuilder,
        shift: &Shift,
        grain: Grain,
    ) -> Option<DayMap> {
        match shift {
            Shift::Window { .. } | Shift::ToGrain(_) => {
                let spine = self.spine_for(grain)?;
                let alias = fb.fresh_alias("time_spine");
                let day = spine_day(&alias, &spine);
                let in_day = match shift {
                    Shift::Window { count, grain } => {
                        Expr::AddInterval(Box::new(day.clone()), -count, *grain)
                    }
                    Shift::ToGrain(g) => Expr::Trunc(*g, Box::new(day.clone())),
                    Shift::Custom { .. } => return None,
                };
                Some(DayMap {
                    from: TableRef::Table {
                        name: spine.relation.clone(),
                        alias: Some(alias.clone()),
                    },
                    joins: Vec::new(),
                    in_day,
                    out_day: day,
                    out_row: Some((alias, spine)),
                })
            }
            Shift::Custom { name, count } => {
                let map = self.custom_day_map(name, *count)?;
                let alias = fb.fresh_alias("day_map");
                Some(DayMap {
                    from: TableRef::Cte {
                        name: map,
                        alias: Some(alias.clone()),
                    },
                    joins: Vec::new(),
                    in_day: Expr::col(&alias, "from_day"),
                    out_day: Expr::col(&alias, "to_day"),
                    out_row: None,
                })
            }
        }
    }

    /// An offset applied before aggregation: the measure by its base grain, moved day by day, then
    /// aggregated by the query's items.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn offset_before(
        &mut self,
        m: &MeasureRef,
        row_filters: &[Filter],
        post_filters: &[Filter],
        shift: &Shift,
        time_items: &[Item],
        bounds: &Bounds,
        fill: Option<i64>,
    ) -> Option<MetricExpr> {
        let keys = self.key_items(m, time_items, post_filters);
        let base = self.base_relation(m, row_filters, &keys, &Bounds::default(), false)?;
        let mut fb = FromBuilder::new(m.model, &base.cte, JoinKind::Left);
        let dm = self.day_map(&mut fb, shift, base.grain)?;
        let mut select = Select {
            from: Some(dm.from.clone()),
            joins: dm.joins.clone(),
            ..Select::default()
        };
        select.joins.push(Join {
            kind: JoinKind::Inner,
            table: TableRef::Cte {
                name: base.cte.clone(),
                alias: None,
            },
            on: vec![Expr::eq(
                dm.in_day.clone(),
                Expr::col(&base.cte, &base.time),
            )],
        });
        for it in time_items {
            let e = self.time_item_over(
                &mut fb,
                it,
                dm.out_day.clone(),
                base.grain,
                dm.out_row.as_ref(),
            )?;
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        for it in self
            .q
            .items
            .clone()
            .iter()
            .filter(|i| !time_items.iter().any(|t| t.out == i.out))
        {
            let e = Expr::col(&base.cte, &it.out);
            select.group_by.push(e.clone());
            select.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        select.columns.push(SelectItem {
            expr: Expr::Agg(base.agg, Box::new(Expr::col(&base.cte, &base.measure))),
            alias: Some(base.measure.clone()),
        });
        if let Some(e) = bounds.on(dm.out_day.clone()) {
            select.where_.push(e);
        }
        for f in post_filters {
            let e = self.shifted_filter(
                &mut fb,
                f,
                &|p, i| p.cx.is_agg_time_item(i, m),
                &dm.out_day,
                base.grain,
                dm.out_row.as_ref(),
                &base.cte,
                &base.keys,
            )?;
            select.where_.push(e);
        }
        // Offset to a grain by a coarser grain: MetricFlow keeps the days that start a queried period.
        if matches!(shift, Shift::ToGrain(_))
            && !time_items
                .iter()
                .any(|i| i.standard_grain() == Some(base.grain))
        {
            let starts: Vec<Expr> = time_items
                .iter()
                .filter_map(Item::standard_grain)
                .map(|g| {
                    Expr::eq(
                        Expr::Trunc(g, Box::new(dm.out_day.clone())),
                        dm.out_day.clone(),
                    )
                })
                .collect();
            if !starts.is_empty() {
                select.where_.push(if starts.len() == 1 {
                    starts.into_iter().next().expect("one")
                } else {
                    Expr::Or(starts)
                });
            }
        }
        select.joins.append(&mut fb.joins);
        let what = match shift {
            Shift::Window { count, grain } => amount(*count, grain.name()),
            Shift::ToGrain(g) => format!("the start of the {g}"),
            Shift::Custom { name, count } => amount(*count, name),
        };
        let cte = self.ctes.add(
            &format!("{}_offset", base.measure),
            format!("{} offset by {what}", base.measure),
            select,
        );
        Some(MetricExpr::Col {
            cte,
            col: base.measure,
            fill,
        })
    }

    /// Join a relation keyed by the query's items to the time spine at the query's time items,
    /// shifted by an offset (or not, for `join_to_timespine`): filters in `spine_filters` (on time
    /// only) select spine rows; `post_filters` apply after the join.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn shift_relation(
        &mut self,
        rel: &str,
        values: &[String],
        time_items: &[Item],
        shift: Option<&Shift>,
        kind: JoinKind,
        spine_filters: &[Filter],
        post_filters: &[Filter],
        bounds: &Bounds,
        what: &str,
    ) -> Option<String> {
        // Join on the finest standard grain; without an offset any time item will do.
        let finest = time_items
            .iter()
            .filter_map(|i| i.standard_grain().map(|g| (i.clone(), g)))
            .min_by_key(|(_, g)| *g);
        let any = || {
            let i = time_items.first()?;
            let g = match i.grain() {
                Some(TimeGrain::Custom(c)) => {
                    self.cx.model.custom_granularity(c).map(|(s, _)| s.grain)
                }
                _ => i.grain().and_then(TimeGrain::standard),
            };
            Some((i.clone(), g.unwrap_or(Grain::Day)))
        };
        let Some((join_item, join_grain)) =
            finest.or_else(|| if shift.is_none() { any() } else { None })
        else {
            self.err(
                Diagnostic::error(codes::UNSUPPORTED, format!("`{what}` needs metric_time at a standard granularity in the group-by to be joined to the time spine"))
                    .at(time_items.first().map(|i| i.span).unwrap_or(Span::DUMMY))
                    .with_help("add metric_time__day (or another standard granularity) to the group-by"),
            );
            return None;
        };
        // The spine that has every grain asked for (custom granularities live on one spine).
        let mut spine_grain = join_grain;
        for it in time_items {
            if let Some(TimeGrain::Custom(c)) = it.grain() {
                if let Some((s, _)) = self.cx.model.custom_granularity(c) {
                    spine_grain = spine_grain.min(s.grain);
                }
            }
        }
        let spine = self.spine_for(spine_grain)?;
        let mut fb = FromBuilder::new(0, "time_spine", JoinKind::Left);
        let s = "time_spine".to_string();
        let day = spine_day(&s, &spine);
        let row = (s.clone(), spine.clone());
        let mut ts = Select {
            from: Some(TableRef::Table {
                name: spine.relation.clone(),
                alias: Some(s.clone()),
            }),
            ..Select::default()
        };
        let mut plain = true;
        for it in time_items {
            let e = self.time_item_over(&mut fb, it, day.clone(), spine.grain, Some(&row))?;
            if e != day {
                plain = false;
            }
            ts.columns.push(SelectItem {
                expr: e.clone(),
                alias: Some(it.out.clone()),
            });
            ts.group_by.push(e);
        }
        if plain && time_items.len() == 1 {
            ts.group_by.clear();
        }
        if let Some(e) = bounds.on(day.clone()) {
            ts.where_.push(e);
        }
        for f in spine_filters {
            let e = self.render_filter(f, &mut |p, r| match r {
                FRef::Item(i) => p.time_item_over(&mut fb, i, day.clone(), spine.grain, Some(&row)),
                FRef::Metric(m) => {
                    p.err(
                        Diagnostic::error(
                            codes::UNSUPPORTED,
                            format!(
                                "the metric filter on `{}` cannot be applied to the time spine",
                                m.name
                            ),
                        )
                        .at(m.span),
                    );
                    None
                }
            })?;
            ts.where_.push(e);
        }
        ts.joins = std::mem::take(&mut fb.joins);
        let by: Vec<&str> = time_items.iter().map(|i| i.out.as_str()).collect();
        // The spine's rows as they are (one per day, columns renamed): read the spine itself rather
        // than a CTE that only renames; periods (grouped) or joined rows get a CTE.
        let inline = ts.group_by.is_empty() && ts.joins.is_empty();
        let (ts_from, ts_cols, ts_where) = if inline {
            let cols: Vec<(String, Expr)> = ts
                .columns
                .iter()
                .map(|c| (c.alias.clone().unwrap_or_default(), c.expr.clone()))
                .collect();
            (ts.from.clone(), cols, std::mem::take(&mut ts.where_))
        } else {
            let ts_cte = self.ctes.add(
                &format!("{what}_time_spine"),
                format!("The periods of the time spine by {}", by.join(", ")),
                ts,
            );
            let cols = time_items
                .iter()
                .map(|i| (i.out.clone(), Expr::col(&ts_cte, &i.out)))
                .collect();
            let from = TableRef::Cte {
                name: ts_cte,
                alias: None,
            };
            (Some(from), cols, Vec::new())
        };
        let ts_col = |out: &str| -> Expr {
            ts_cols
                .iter()
                .find(|(o, _)| o == out)
                .map(|(_, e)| e.clone())
                .unwrap_or_else(|| Expr::bare(out))
        };
        // The relation joined to the spine on the finest time item.
        let t = ts_col(&join_item.out);
        let on_left = match shift {
            Some(Shift::Window { count, grain }) => Expr::AddInterval(Box::new(t), -count, *grain),
            Some(Shift::ToGrain(g)) => Expr::Trunc(*g, Box::new(t)),
            Some(Shift::Custom { .. }) => {
                self.err(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        "custom granularity offsets are applied before aggregation",
                    )
                    .with_help("this is a bug in tally's planner; please report the query"),
                );
                return None;
            }
            None => t,
        };
        let mut select = Select {
            from: ts_from,
            where_: ts_where,
            ..Select::default()
        };
        select.joins.push(Join {
            kind,
            table: TableRef::Cte {
                name: rel.to_string(),
                alias: None,
            },
            on: vec![Expr::eq(on_left, Expr::col(rel, &join_item.out))],
        });
        let time_outs: Vec<String> = time_items.iter().map(|i| i.out.clone()).collect();
        let mut columns = Vec::new();
        for it in self.q.items.clone() {
            let expr = if time_outs.contains(&it.out) {
                ts_col(&it.out)
            } else {
                Expr::col(rel, &it.out)
            };
            select.columns.push(SelectItem {
                expr,
                alias: Some(it.out.clone()),
            });
            columns.push(it.out.clone());
        }
        for v in values {
            select.columns.push(SelectItem {
                expr: Expr::col(rel, v),
                alias: Some(v.clone()),
            });
        }
        for f in post_filters {
            let outs = time_outs.clone();
            let e = self.column_filter(f, rel, &columns, &mut |_, i| {
                outs.contains(&i.out).then(|| Some(ts_col(&i.out)))
            })?;
            select.where_.push(e);
        }
        let comment = match shift {
            Some(Shift::Window { count, grain }) => {
                format!(
                    "{what} {} earlier, by {}",
                    amount(*count, grain.name()),
                    by.join(", ")
                )
            }
            Some(Shift::ToGrain(g)) => {
                format!("{what} at the start of the {g}, by {}", by.join(", "))
            }
            _ => format!("{what} for every period of the time spine"),
        };
        let base = match shift {
            Some(_) => format!("{what}_offset"),
            None => format!("{what}_spined"),
        };
        Some(self.ctes.add(&base, comment, select))
    }
}
