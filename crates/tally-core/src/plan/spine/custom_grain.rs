//! Offsets by periods of a custom granularity.

use super::amount;
use crate::diag::{codes, Diagnostic};
use crate::model::AggKind;
use crate::plan::spine_column;
use crate::plan::{CustomOffsetKey, Planner};
use crate::sql::{CmpOp, Expr, Join, JoinKind, Select, SelectItem, TableRef, Window, WindowFunc};
use crate::time::Grain;

impl<'m> Planner<'m> {
    /// The CTE that moves days by `count` periods of a custom granularity (`from_day`, `to_day`):
    /// the k-th day of a period moves to the k-th day of the period `count` later, or to its last
    /// day when that period is shorter (MetricFlow's custom offset windows).
    pub(super) fn custom_day_map(&mut self, name: &str, count: i64) -> Option<String> {
        let Some((spine, col)) = self.cx.model.custom_granularity(name) else {
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
        let key = CustomOffsetKey {
            granularity: name.to_string(),
            count,
        };
        if let Some(x) = self.custom_offsets.get(&key) {
            return Some(x.clone());
        }
        let from = || TableRef::Table {
            name: relation.clone(),
            alias: None,
        };
        // The spine's columns read as time values of one type (`Dialect::spine_time`).
        let day_e = spine_column(Expr::bare(&day_col));
        let col_e = spine_column(Expr::bare(&col));
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
        let days = self.ctes.add(
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
        let periods = self.ctes.add(
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
            Box::new(Expr::Sub(
                Box::new(Expr::col(&days, "day_number")),
                Box::new(Expr::Int(1)),
            )),
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
        let map = self.ctes.add(
            &format!("{name}_offset_{count}"),
            format!("Each day moved by {}", amount(count, name)),
            map,
        );
        self.custom_offsets.insert(key, map.clone());
        Some(map)
    }
}
