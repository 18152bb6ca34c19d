//! Time spine relations: offsets, cumulative windows and `join_to_timespine`.
//!
//! A measure that moves in time is first aggregated to its base grain (one row per day and
//! group-by keys; its distinct values for COUNT DISTINCT; a sum and a count for an average of a
//! cumulative metric) and only then joined to the time spine, so the spine join reads a day's rows
//! once instead of every fact row per window day. All-time and grain-to-date sums, minimums and
//! maximums go further: a window function turns the days into running values, each valid until the
//! next day with rows, and every spine day joins exactly one of them. Percentiles (which cannot be
//! re-aggregated) and averages moved by an offset are joined row by row.

use super::filters::FRef;
use super::items::{Item, Target};
use super::joins::FromBuilder;
use super::metrics::{Cumulative, MetricExpr, Shift};
use super::{Bounds, Planner};
use crate::diag::{codes, Diagnostic};
use crate::model::{AggKind, Filter, MeasureRef, TimeSpine};
use crate::source::Span;
use crate::spec::PeriodAgg;
use crate::sql::{CmpOp, Expr, Join, JoinKind, Select, SelectItem, TableRef, Window, WindowFunc};
use crate::time::{Grain, TimeGrain};
use crate::timeval::Ts;

/// The column of a running aggregate's relation holding the time until which a row's value holds.
const VALID_UNTIL: &str = "valid_until";

/// The column numbering the base-grain rows of a period, from the one a cumulative metric keeps.
const PERIOD_RANK: &str = "period_rank";

/// The end of a running aggregate without a period: a time after every time spine.
const END_OF_TIME: &str = "9999-12-31 00:00:00";

/// A measure aggregated to its base grain by the query's other items.
pub(crate) struct BaseRel {
    pub cte: String,
    /// The column of the base-grain time.
    pub time: String,
    pub grain: Grain,
    /// The columns of the key items (named by their output names).
    pub keys: Vec<String>,
    /// The column holding the measure (a partial aggregate or the raw value).
    pub measure: String,
    /// The aggregation that finishes `measure`.
    pub agg: AggKind,
    /// For an average split into a sum (`measure`) and a count: the column of the count.
    pub count: Option<String>,
}

/// Days of the time spine mapped to the days they move to.
struct DayMap {
    from: TableRef,
    joins: Vec<Join>,
    /// The day the shifted relation is joined on.
    in_day: Expr,
    /// The day it moves to.
    out_day: Expr,
    /// The spine row whose day is `out_day`, when there is one (its custom granularity columns
    /// can be read directly).
    out_row: Option<(String, TimeSpine)>,
}

impl<'m> Planner<'m> {
    /// The time spine for a grain: the one with the coarsest grain at most `grain`.
    pub(crate) fn spine_for(&mut self, grain: Grain) -> Option<TimeSpine> {
        match self
            .model
            .spine_for(grain)
            .or(self.model.time_spines.first())
        {
            Some(s) => Some(s.clone()),
            None => {
                self.err(
                    Diagnostic::error(
                        codes::TIME_SPINE,
                        "this query needs a time spine, and the project has none",
                    )
                    .with_help("configure `time_spines` in a project_configuration"),
                );
                None
            }
        }
    }

    /// The expression of a time item over a time expression `t` of grain `t_grain`; `row` is the
    /// time spine row of `t`, if `t` is a spine's own column.
    pub(crate) fn time_item_over(
        &mut self,
        fb: &mut FromBuilder,
        item: &Item,
        t: Expr,
        t_grain: Grain,
        row: Option<&(String, TimeSpine)>,
    ) -> Option<Expr> {
        let (grain, part) = match &item.target {
            Target::MetricTime { grain, date_part }
            | Target::Element {
                grain, date_part, ..
            } => (grain.clone(), *date_part),
        };
        if let (Some(TimeGrain::Custom(c)), None, Some((alias, spine))) = (&grain, part, row) {
            if let Some((cs, col)) = self.model.custom_granularity(c) {
                if cs.relation == spine.relation {
                    return Some(self.spine_column(Expr::col(alias, col)));
                }
            }
        }
        if let (Some(TimeGrain::Standard(g)), None) = (&grain, part) {
            if *g == t_grain && row.is_some() {
                return Some(t);
            }
        }
        self.time_expr(fb, t, t_grain, grain.as_ref(), part)
    }

    /// A measure aggregated to its base grain by `keys` (computed over its model), for joining to
    /// the time spine.
    fn base_relation(
        &mut self,
        m: &MeasureRef,
        row_filters: &[Filter],
        keys: &[Item],
        bounds: &Bounds,
        split_average: bool,
    ) -> Option<BaseRel> {
        let measure = self.model.measure(m);
        let (name, agg, expr, atd) = (
            measure.name.clone(),
            measure.agg,
            measure.expr.clone(),
            measure.agg_time_dimension.clone(),
        );
        let grain = self.measure_time_grain(m);
        let mut select = Select::default();
        let mut fb = self.filtered_fact(m.model, &atd, row_filters, bounds, &mut select)?;
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
        let t = Expr::Trunc(grain, Box::new(Expr::col(&fb.alias, &atd)));
        select.columns.push(SelectItem {
            expr: t.clone(),
            alias: Some(time.clone()),
        });
        select.group_by.push(t);
        self.project(m.model, &name, &expr);
        let value = Expr::col(&fb.alias, &name);
        let mut count = None;
        let (measure_expr, final_agg, grouped, what) = match agg {
            AggKind::Sum | AggKind::Min | AggKind::Max => {
                (Expr::Agg(agg, Box::new(value)), agg, true, "per")
            }
            AggKind::Average if split_average => {
                let n = Expr::Raw(format!(
                    "COUNT({})",
                    crate::sql::expr_sql(self.dialect, &value)
                ));
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
        let cte = self.add_cte(
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
    fn key_items(
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
                let is_time =
                    self.is_agg_time_item(&i, m) || time_items.iter().any(|t| t.target == i.target);
                if !is_time && !keys.iter().any(|k| k.out == i.out) {
                    keys.push(i);
                }
            }
        }
        keys
    }

    /// Render a filter evaluated after a shift: time items over the output day, other items from the
    /// columns of `alias`.
    fn shifted_filter(
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

    /// The days of the time spine with the days an offset moves them to.
    fn day_map(&mut self, fb: &mut FromBuilder, shift: &Shift, grain: Grain) -> Option<DayMap> {
        match shift {
            Shift::Window { .. } | Shift::ToGrain(_) => {
                let spine = self.spine_for(grain)?;
                let alias = fb.fresh_alias("time_spine");
                let day = self.spine_day(&alias, &spine);
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

    /// The CTE that moves days by `count` periods of a custom granularity (`from_day`, `to_day`):
    /// the k-th day of a period moves to the k-th day of the period `count` later, or to its last
    /// day when that period is shorter (MetricFlow's custom offset windows).
    fn custom_day_map(&mut self, name: &str, count: i64) -> Option<String> {
        let Some((spine, col)) = self.model.custom_granularity(name) else {
            self.err(
                Diagnostic::error(codes::GRANULARITY, format!("unknown time granularity `{name}`"))
                    .with_help("custom granularities are columns of a time spine: list them under `custom_granularities`"),
            );
            return None;
        };
        let (relation, day_col, col) = (
            spine.relation.clone(),
            spine.column.clone(),
            col.to_string(),
        );
        let key = format!("{name}|{count}");
        if let Some(x) = self.custom_offsets.get(&key) {
            return Some(x.clone());
        }
        let from = || TableRef::Table {
            name: relation.clone(),
            alias: None,
        };
        // The spine's columns read as time values of one type (`Dialect::spine_time`).
        let day_e = self.spine_column(Expr::bare(&day_col));
        let col_e = self.spine_column(Expr::bare(&col));
        // Each day with its period and its position in it.
        let days = Select {
            columns: vec![
                SelectItem {
                    expr: day_e.clone(),
                    alias: Some("date_day".into()),
                },
                SelectItem {
                    expr: col_e.clone(),
                    alias: Some("period".into()),
                },
                SelectItem {
                    expr: Expr::Window(Box::new(Window {
                        func: WindowFunc::RowNumber,
                        arg: None,
                        partition_by: vec![col_e.clone()],
                        order_by: vec![(day_e.clone(), false)],
                        whole_partition: false,
                    })),
                    alias: Some("day_number".into()),
                },
            ],
            from: Some(from()),
            ..Select::default()
        };
        let days = self.add_cte(
            &format!("{name}_days"),
            format!("Days of the time spine with their position in their {name}"),
            days,
        );
        // Each period with the first and last day of the period `count` later.
        let lead = |agg: AggKind| {
            Expr::Window(Box::new(Window {
                func: WindowFunc::Lead(count),
                arg: Some(Expr::Agg(agg, Box::new(day_e.clone()))),
                partition_by: vec![],
                order_by: vec![(col_e.clone(), false)],
                whole_partition: false,
            }))
        };
        let periods = Select {
            columns: vec![
                SelectItem {
                    expr: col_e.clone(),
                    alias: Some("period".into()),
                },
                SelectItem {
                    expr: lead(AggKind::Min),
                    alias: Some("offset_start".into()),
                },
                SelectItem {
                    expr: lead(AggKind::Max),
                    alias: Some("offset_end".into()),
                },
            ],
            from: Some(from()),
            group_by: vec![col_e.clone()],
            ..Select::default()
        };
        let periods = self.add_cte(
            &format!("{name}_periods_{count}_later"),
            format!(
                "Each {name} with the first and last day of the {} later",
                amount(count, name)
            ),
            periods,
        );
        // Each day moved to the same position in the later period, capped at its last day.
        let start = Expr::col(&periods, "offset_start");
        let end = Expr::col(&periods, "offset_end");
        let candidate = Expr::AddIntervals(
            Box::new(start),
            Box::new(Expr::Raw(format!(
                "{} - 1",
                crate::sql::expr_sql(self.dialect, &Expr::col(&days, "day_number"))
            ))),
            Grain::Day,
        );
        let map = Select {
            columns: vec![
                SelectItem {
                    expr: Expr::col(&days, "date_day"),
                    alias: Some("from_day".into()),
                },
                SelectItem {
                    expr: Expr::Case(
                        Box::new(Expr::cmp(candidate.clone(), CmpOp::Le, end.clone())),
                        Box::new(candidate),
                        Box::new(end),
                    ),
                    alias: Some("to_day".into()),
                },
            ],
            from: Some(TableRef::Cte {
                name: days.clone(),
                alias: None,
            }),
            joins: vec![Join {
                kind: JoinKind::Inner,
                table: TableRef::Cte {
                    name: periods.clone(),
                    alias: None,
                },
                on: vec![Expr::eq(
                    Expr::col(&days, "period"),
                    Expr::col(&periods, "period"),
                )],
            }],
            ..Select::default()
        };
        let map = self.add_cte(
            &format!("{name}_offset_{count}"),
            format!("Each day moved by {}", amount(count, name)),
            map,
        );
        self.custom_offsets.insert(key, map.clone());
        Some(map)
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
                &|p, i| p.is_agg_time_item(i, m),
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
        let cte = self.add_cte(
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

    /// A running aggregate of a base relation (sum, minimum or maximum of every row up to each row,
    /// within the period of `period` when given, per key), and the time until which it holds: the
    /// next row's time, or the end of the period (of time, without a period).
    fn running_relation(&mut self, base: &BaseRel, period: Option<Grain>) -> String {
        let t = Expr::col(&base.cte, &base.time);
        let mut partition: Vec<Expr> = base.keys.iter().map(|k| Expr::col(&base.cte, k)).collect();
        if let Some(g) = period {
            partition.push(Expr::Trunc(g, Box::new(t.clone())));
        }
        let order = vec![(t.clone(), false)];
        let until = match period {
            Some(g) => Expr::AddInterval(Box::new(Expr::Trunc(g, Box::new(t.clone()))), 1, g),
            None => Expr::TimestampLit(END_OF_TIME.to_string()),
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
        self.add_cte(
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
    fn first_seen_relation(&mut self, base: &BaseRel, period: Option<Grain>) -> BaseRel {
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
        let first = self.add_cte(
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
            expr: Expr::Raw(format!(
                "COUNT({})",
                crate::sql::expr_sql(self.dialect, &Expr::col(&first, &name))
            )),
            alias: Some(name.clone()),
        });
        let cte = self.add_cte(
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
        let base_grain = self.measure_time_grain(m);
        // The rows a window needs start before the constraint.
        let widened = Bounds {
            lo: match &bounds.lo {
                Some(lo) => {
                    let (t, _) = Ts::parse(lo)?;
                    match (&cum.window, &cum.grain_to_date) {
                        (Some(w), _) => match &w.grain {
                            TimeGrain::Standard(g) => {
                                Some(t.add(-w.count, *g).trunc(base_grain).format())
                            }
                            TimeGrain::Custom(c) => {
                                self.err(
                                    Diagnostic::error(codes::UNSUPPORTED, format!("cumulative windows of a custom granularity (`{} {c}`) are not supported", w.count))
                                        .at(cum.span)
                                        .with_help("use a window of a standard granularity (days, weeks, months, ...)"),
                                );
                                return None;
                            }
                        },
                        (None, Some(TimeGrain::Standard(g))) => Some(t.trunc(*g).format()),
                        (None, Some(TimeGrain::Custom(c))) => {
                            self.err(
                                Diagnostic::error(codes::UNSUPPORTED, format!("`grain_to_date: {c}`: custom granularities are not supported here"))
                                    .at(cum.span)
                                    .with_help("use a standard granularity (week, month, quarter, year)"),
                            );
                            return None;
                        }
                        (None, None) => None,
                    }
                }
                None => None,
            },
            hi: bounds.hi.clone(),
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
        let day = self.spine_day(&s, &spine);
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
                &|p, i| p.is_agg_time_item(i, m),
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
            let cte = self.add_cte(
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
        let mut cur = self.add_cte(
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
                    &|p, i| p.is_agg_time_item(i, m),
                    &dm.out_day,
                    base.grain,
                    dm.out_row.as_ref(),
                    &cur,
                    &other_cols,
                )?;
                sel.where_.push(e);
            }
            sel.joins.append(&mut fb2.joins);
            cur = self.add_cte(
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
                self.add_cte(&format!("{name}_cumulative"), comment, sel)
            }
            (true, PeriodAgg::Average) => {
                sel.group_by = partition;
                sel.columns.push(SelectItem {
                    expr: Expr::Agg(AggKind::Average, Box::new(v)),
                    alias: Some(name.clone()),
                });
                self.add_cte(&format!("{name}_cumulative"), comment, sel)
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
                let ranked = self.add_cte(
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
                self.add_cte(&format!("{name}_cumulative"), comment, keep)
            }
        };
        Some(MetricExpr::Col {
            cte,
            col: name,
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
                    self.model.custom_granularity(c).map(|(s, _)| s.grain)
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
                if let Some((s, _)) = self.model.custom_granularity(c) {
                    spine_grain = spine_grain.min(s.grain);
                }
            }
        }
        let spine = self.spine_for(spine_grain)?;
        let mut fb = FromBuilder::new(0, "time_spine", JoinKind::Left);
        let s = "time_spine".to_string();
        let day = self.spine_day(&s, &spine);
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
            let ts_cte = self.add_cte(
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
        Some(self.add_cte(&base, comment, select))
    }
}

fn window_text(cum: &Cumulative) -> String {
    match (&cum.window, &cum.grain_to_date) {
        (Some(w), _) => format!("a window of {}", amount(w.count, &w.grain.to_string())),
        (None, Some(g)) => format!("the {g} to date"),
        (None, None) => "all time".to_string(),
    }
}

/// `1 day`, `5 days`.
fn amount(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("{count} {unit}")
    } else {
        format!("{count} {unit}s")
    }
}
