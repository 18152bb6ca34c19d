//! Cumulative metrics: running aggregates, first-seen values and windows over the time spine.

use super::{window_text, BaseRel, END_OF_TIME, PERIOD_RANK, VALID_UNTIL};
use crate::diag::{codes, Diagnostic};
use crate::model::{AggKind, Filter, MeasureRef, TimeSpine};
use crate::plan::items::Item;
use crate::plan::joins::FromBuilder;
use crate::plan::metrics::{Cumulative, MetricExpr, Shift};
use crate::plan::spine_day;
use crate::plan::{Bounds, Planner};
use crate::spec::PeriodAgg;
use crate::sql::{CmpOp, Expr, Join, JoinKind, Select, SelectItem, TableRef, Window, WindowFunc};
use crate::time::{Grain, TimeGrain};

impl<'m> Planner<'m> {
    /// A running aggregate of a base relation (sum, minimum or maximum of every row up to each row,
    /// within the period of `period` when given, per key), and the time until which it holds: the
    /// next row's time, or the end of the period (of time, without a period).
    pub(super) fn running_relation(&mut self, base: &BaseRel, period: Option<Grain>) -> String {
        let t = Expr::col(&base.cte, &base.time);
        let mut partition: Vec<Expr> = base.keys.iter().map(|k| Expr::col(&base.cte, k)).collect();
        if let Some(g) = period {
            partition.push(Expr::Trunc(g, Box::new(t.clone())));
        }
        let order = vec![(t.clone(), false)];
        let until = match period {
            Some(g) => Expr::AddInterval(Box::new(Expr::Trunc(g, Box::new(t.clone()))), 1, g),
            None => Expr::TimestampLit(END_OF_TIME),
        };
        let mut select = Select {
            from: Some(TableRef::Cte {
                name: base.cte.clone(),
                alias: None,
            }),
            ..Select::default()
        };
        select.columns.push(SelectItem {
            expr: t.clone(),
            alias: Some(base.time.clone()),
        });
        for k in &base.keys {
            select.columns.push(SelectItem {
                expr: Expr::col(&base.cte, k),
                alias: Some(k.clone()),
            });
        }
        select.columns.push(SelectItem {
            expr: Expr::Window(Box::new(Window {
                func: WindowFunc::Agg(base.agg),
                arg: Some(Expr::col(&base.cte, &base.measure)),
                partition_by: partition.clone(),
                order_by: order.clone(),
                whole_partition: false,
            })),
            alias: Some(base.measure.clone()),
        });
        select.columns.push(SelectItem {
            expr: Expr::Window(Box::new(Window {
                func: WindowFunc::LeadOr(1, Box::new(until)),
                arg: Some(t),
                partition_by: partition,
                order_by: order,
                whole_partition: false,
            })),
            alias: Some(VALID_UNTIL.to_string()),
        });
        let what = match period {
            Some(g) => format!("the {g} to date"),
            None => "all time".to_string(),
        };
        let name = base.measure.clone();
        self.ctes.add(
            &format!("{name}_running"),
            format!(
                "{name} over {what} at each {} with rows, until the next",
                base.grain
            ),
            select,
        )
    }

    /// The values of a COUNT DISTINCT base relation counted on the first base-grain period they
    /// appear in (per key, and per `period` when given): a relation to sum to date.
    pub(super) fn first_seen_relation(&mut self, base: &BaseRel, period: Option<Grain>) -> BaseRel {
        let t = Expr::col(&base.cte, &base.time);
        let v = Expr::col(&base.cte, &base.measure);
        let mut first = Select {
            from: Some(TableRef::Cte {
                name: base.cte.clone(),
                alias: None,
            }),
            ..Select::default()
        };
        for k in &base.keys {
            let e = Expr::col(&base.cte, k);
            first.columns.push(SelectItem {
                expr: e.clone(),
                alias: Some(k.clone()),
            });
            first.group_by.push(e);
        }
        first.columns.push(SelectItem {
            expr: v.clone(),
            alias: Some(base.measure.clone()),
        });
        first.group_by.push(v);
        if let Some(g) = period {
            first.group_by.push(Expr::Trunc(g, Box::new(t.clone())));
        }
        first.columns.push(SelectItem {
            expr: Expr::Agg(AggKind::Min, Box::new(t)),
            alias: Some(base.time.clone()),
        });
        let name = base.measure.clone();
        let per = match period {
            Some(g) => format!(" in each {g}"),
            None => String::new(),
        };
        let first = self.ctes.add(
            &format!("{name}_first_seen"),
            format!("The first {} of each {name} value{per}", base.grain),
            first,
        );
        let t = Expr::col(&first, &base.time);
        let mut new = Select {
            from: Some(TableRef::Cte {
                name: first.clone(),
                alias: None,
            }),
            ..Select::default()
        };
        new.columns.push(SelectItem {
            expr: t.clone(),
            alias: Some(base.time.clone()),
        });
        new.group_by.push(t);
        for k in &base.keys {
            let e = Expr::col(&first, k);
            new.columns.push(SelectItem {
                expr: e.clone(),
                alias: Some(k.clone()),
            });
            new.group_by.push(e);
        }
        new.columns.push(SelectItem {
            expr: Expr::Count(Box::new(Expr::col(&first, &name))),
            alias: Some(name.clone()),
        });
        let cte = self.ctes.add(
            &format!("{name}_new"),
            format!(
                "{name} values seen for the first time{per}, per {}",
                base.grain
            ),
            new,
        );
        BaseRel {
            cte,
            time: base.time.clone(),
            grain: base.grain,
            keys: base.keys.clone(),
            measure: name,
            agg: AggKind::Sum,
            count: None,
        }
    }

    /// A cumulative metric: the measure by its base grain joined to the time spine over the window,
    /// then (when the query's time items are coarser than the base grain) one value per period
    /// (`period_agg`: first, last or average of the base-grain values).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cumulative(
        &mut self,
        m: &MeasureRef,
        non_time: &[Filter],
        time_only: &[Filter],
        mixed: &[Filter],
        cum: &Cumulative,
        shift: Option<&Shift>,
        time_items: &[Item],
        bounds: &Bounds,
        fill: Option<i64>,
    ) -> Option<MetricExpr> {
        let mut row_filters = non_time.to_vec();
        // Filters on time apply to the window's end (the output day); with an offset, to the
        // output of the offset.
        let mut window_filters: Vec<Filter> = Vec::new();
        let mut output_filters: Vec<Filter> = Vec::new();
        if shift.is_some() {
            output_filters.extend(time_only.iter().cloned());
            row_filters.extend(mixed.iter().cloned());
        } else {
            window_filters.extend(time_only.iter().cloned());
            window_filters.extend(mixed.iter().cloned());
        }
        let base_grain = self.cx.measure_time_grain(m);
        // The rows a window needs start before the constraint.
        let widened = Bounds {
            lo: match &bounds.lo {
                Some(t) => match (&cum.window, &cum.grain_to_date) {
                    (Some(w), _) => match &w.grain {
                        TimeGrain::Standard(g) => Some(t.add(-w.count, *g).trunc(base_grain)),
                        TimeGrain::Custom(c) => {
                            self.err(
                                    Diagnostic::error(codes::UNSUPPORTED, format!("cumulative windows of a custom granularity (`{} {c}`) are not supported", w.count))
                                        .at(cum.span)
                                        .with_help("use a window of a standard granularity (days, weeks, months, ...)"),
                                );
                            return None;
                        }
                    },
                    (None, Some(TimeGrain::Standard(g))) => Some(t.trunc(*g)),
                    (None, Some(TimeGrain::Custom(c))) => {
                        self.err(
                                Diagnostic::error(codes::UNSUPPORTED, format!("`grain_to_date: {c}`: custom granularities are not supported here"))
                                    .at(cum.span)
                                    .with_help("use a standard granularity (week, month, quarter, year)"),
                            );
                        return None;
                    }
                    (None, None) => None,
                },
                None => None,
            },
            hi: bounds.hi,
        };
        let keys = self.key_items(m, time_items, &window_filters);
        // An average is joined to the spine as a daily sum and count.
        let base = self.base_relation(m, &row_filters, &keys, &widened, true)?;
        let spine = self.spine_for(base.grain)?;
        // All-time and grain-to-date sums, minimums and maximums: a running aggregate over the
        // base-grain rows, each valid until the next one, so every spine day matches one row
        // (instead of every earlier row).
        // Keys only a filter needs (not group-by items) are summed away after the spine join.
        let filter_keys = base.keys.iter().any(|k| {
            !self
                .q
                .items
                .iter()
                .any(|i| &i.out == k && !time_items.iter().any(|t| t.out == i.out))
        });
        let period = match (&cum.window, &cum.grain_to_date) {
            (None, None) => Some(None),
            (None, Some(TimeGrain::Standard(g))) => Some(Some(*g)),
            _ => None,
        };
        let running = match (period, base.agg) {
            (Some(p), AggKind::Sum | AggKind::Min | AggKind::Max) => {
                Some(self.running_relation(&base, p))
            }
            // A distinct count to date is the running sum of the values seen for the first time.
            (Some(p), AggKind::CountDistinct) if !filter_keys => {
                let new = self.first_seen_relation(&base, p);
                Some(self.running_relation(&new, p))
            }
            _ => None,
        };
        let src = running.clone().unwrap_or_else(|| base.cte.clone());
        let grouped = running.is_none() || filter_keys;
        let mut fb = FromBuilder::new(m.model, &src, JoinKind::Left);
        let s = fb.fresh_alias("time_spine");
        let day = spine_day(&s, &spine);
        let row = (s.clone(), spine.clone());
        let b_time = Expr::col(&src, &base.time);
        let mut on = vec![Expr::cmp(b_time.clone(), CmpOp::Le, day.clone())];
        match (&running, &cum.window, &cum.grain_to_date) {
            (Some(r), _, _) => {
                on.push(Expr::cmp(Expr::col(r, VALID_UNTIL), CmpOp::Gt, day.clone()));
            }
            (None, Some(w), _) => {
                if let TimeGrain::Standard(g) = &w.grain {
                    on.push(Expr::cmp(
                        b_time.clone(),
                        CmpOp::Gt,
                        Expr::AddInterval(Box::new(day.clone()), -w.count, *g),
                    ));
                }
            }
            (None, None, Some(TimeGrain::Standard(g))) => {
                on.push(Expr::cmp(
                    b_time.clone(),
                    CmpOp::Ge,
                    Expr::Trunc(*g, Box::new(day.clone())),
                ));
            }
            _ => {}
        }
        let mut select = Select {
            from: Some(TableRef::Table {
                name: spine.relation.clone(),
                alias: Some(s.clone()),
            }),
            ..Select::default()
        };
        select.joins.push(Join {
            kind: JoinKind::Inner,
            table: TableRef::Cte {
                name: src.clone(),
                alias: None,
            },
            on,
        });
        // MetricFlow constrains the window ends to the query's time range, also when the metric
        // is then offset.
        if let Some(e) = bounds.on(day.clone()) {
            select.where_.push(e);
        }
        for f in &window_filters {
            let e = self.shifted_filter(
                &mut fb,
                f,
                &|p, i| p.cx.is_agg_time_item(i, m),
                &day,
                base.grain,
                Some(&row),
                &src,
                &base.keys,
            )?;
            select.where_.push(e);
        }
        let other_items: Vec<Item> = self
            .q
            .items
            .iter()
            .filter(|i| !time_items.iter().any(|t| t.out == i.out))
            .cloned()
            .collect();
        let value = if let Some(c) = &base.count {
            let sum = |col: &str| Expr::Agg(AggKind::Sum, Box::new(Expr::col(&src, col)));
            Expr::SafeDivide(Box::new(sum(&base.measure)), Box::new(sum(c)))
        } else if grouped {
            Expr::Agg(base.agg, Box::new(Expr::col(&src, &base.measure)))
        } else {
            Expr::col(&src, &base.measure)
        };
        let reaggregate = !time_items
            .iter()
            .any(|i| i.standard_grain() == Some(base.grain));
        let name = base.measure.clone();
        if !reaggregate && shift.is_none() {
            for it in time_items {
                let e = self.time_item_over(&mut fb, it, day.clone(), base.grain, Some(&row))?;
                select.push_key(e, it.out.clone(), grouped);
            }
            for it in &other_items {
                select.push_key(Expr::col(&src, &it.out), it.out.clone(), grouped);
            }
            select.columns.push(SelectItem {
                expr: value,
                alias: Some(name.clone()),
            });
            select.joins.append(&mut fb.joins);
            let cte = self.ctes.add(
                &format!("{name}_cumulative"),
                format!("{name} over {}", window_text(cum)),
                select,
            );
            return Some(MetricExpr::Col {
                cte,
                col: name,
                fill,
            });
        }
        // One row per base-grain period and keys.
        let day_col = base.time.clone();
        select.push_key(day.clone(), day_col.clone(), grouped);
        for it in &other_items {
            select.push_key(Expr::col(&src, &it.out), it.out.clone(), grouped);
        }
        select.columns.push(SelectItem {
            expr: value,
            alias: Some(name.clone()),
        });
        select.joins.append(&mut fb.joins);
        let mut cur = self.ctes.add(
            &format!("{name}_cumulative_{}", base.grain),
            format!("{name} over {} by {}", window_text(cum), base.grain),
            select,
        );
        let other_cols: Vec<String> = other_items.iter().map(|i| i.out.clone()).collect();
        let mut cur_row: Option<(String, TimeSpine)> = None;
        let mut cur_day = Expr::col(&cur, &day_col);
        if let Some(shift) = shift {
            let mut fb2 = FromBuilder::new(m.model, &cur, JoinKind::Left);
            let dm = self.day_map(&mut fb2, shift, base.grain)?;
            let mut sel = Select {
                from: Some(dm.from.clone()),
                joins: dm.joins.clone(),
                ..Select::default()
            };
            sel.joins.push(Join {
                kind: JoinKind::Inner,
                table: TableRef::Cte {
                    name: cur.clone(),
                    alias: None,
                },
                on: vec![Expr::eq(dm.in_day.clone(), Expr::col(&cur, &day_col))],
            });
            sel.columns.push(SelectItem {
                expr: dm.out_day.clone(),
                alias: Some(day_col.clone()),
            });
            for c in &other_cols {
                sel.columns.push(SelectItem {
                    expr: Expr::col(&cur, c),
                    alias: Some(c.clone()),
                });
            }
            sel.columns.push(SelectItem {
                expr: Expr::col(&cur, &name),
                alias: Some(name.clone()),
            });
            if let Some(e) = bounds.on(dm.out_day.clone()) {
                sel.where_.push(e);
            }
            for f in &output_filters {
                let e = self.shifted_filter(
                    &mut fb2,
                    f,
                    &|p, i| p.cx.is_agg_time_item(i, m),
                    &dm.out_day,
                    base.grain,
                    dm.out_row.as_ref(),
                    &cur,
                    &other_cols,
                )?;
                sel.where_.push(e);
            }
            sel.joins.append(&mut fb2.joins);
            cur = self.ctes.add(
                &format!("{name}_cumulative_offset"),
                format!("{name} over {} moved by the offset", window_text(cum)),
                sel,
            );
            cur_day = Expr::col(&cur, &day_col);
            cur_row = None;
        }
        // The query's time items from the base-grain day, one value per period.
        let mut fb3 = FromBuilder::new(m.model, &cur, JoinKind::Left);
        let mut sel = Select {
            from: Some(TableRef::Cte {
                name: cur.clone(),
                alias: None,
            }),
            ..Select::default()
        };
        let mut partition = Vec::new();
        for it in time_items {
            let e =
                self.time_item_over(&mut fb3, it, cur_day.clone(), base.grain, cur_row.as_ref())?;
            partition.push(e.clone());
            sel.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        for c in &other_cols {
            partition.push(Expr::col(&cur, c));
            sel.columns.push(SelectItem {
                expr: Expr::col(&cur, c),
                alias: Some(c.clone()),
            });
        }
        let v = Expr::col(&cur, &name);
        sel.joins.append(&mut fb3.joins);
        let what = match cum.period_agg {
            PeriodAgg::First => "first",
            PeriodAgg::Last => "last",
            PeriodAgg::Average => "average",
        };
        let comment = format!(
            "{name} over {}: the {what} value of each period",
            window_text(cum)
        );
        let cte = match (reaggregate, cum.period_agg) {
            (false, _) => {
                sel.columns.push(SelectItem {
                    expr: v,
                    alias: Some(name.clone()),
                });
                let comment = format!("{name} over {} by the query's items", window_text(cum));
                self.ctes.add(&format!("{name}_cumulative"), comment, sel)
            }
            (true, PeriodAgg::Average) => {
                sel.group_by = partition;
                sel.columns.push(SelectItem {
                    expr: Expr::Agg(AggKind::Average, Box::new(v)),
                    alias: Some(name.clone()),
                });
                self.ctes.add(&format!("{name}_cumulative"), comment, sel)
            }
            (true, PeriodAgg::First | PeriodAgg::Last) => {
                // Number the days of each period from the one kept, then keep it.
                sel.columns.push(SelectItem {
                    expr: v,
                    alias: Some(name.clone()),
                });
                let last = cum.period_agg == PeriodAgg::Last;
                sel.columns.push(SelectItem {
                    expr: Expr::Window(Box::new(Window {
                        func: WindowFunc::RowNumber,
                        arg: None,
                        partition_by: partition,
                        order_by: vec![(cur_day.clone(), last)],
                        whole_partition: false,
                    })),
                    alias: Some(PERIOD_RANK.to_string()),
                });
                let ranked = self.ctes.add(
                    &format!("{name}_cumulative_ranked"),
                    format!(
                        "{name} over {} with each {}'s rank in its period, from the {what}",
                        window_text(cum),
                        base.grain
                    ),
                    sel,
                );
                let mut keep = Select {
                    from: Some(TableRef::Cte {
                        name: ranked.clone(),
                        alias: None,
                    }),
                    ..Select::default()
                };
                for c in time_items
                    .iter()
                    .map(|i| &i.out)
                    .chain(&other_cols)
                    .chain(std::iter::once(&name))
                {
                    keep.columns.push(SelectItem {
                        expr: Expr::col(&ranked, c),
                        alias: Some(c.clone()),
                    });
                }
                keep.where_
                    .push(Expr::eq(Expr::col(&ranked, PERIOD_RANK), Expr::Int(1)));
                self.ctes.add(&format!("{name}_cumulative"), comment, keep)
            }
        };
        Some(MetricExpr::Col {
            cte,
            col: name,
            fill,
        })
    }
}
