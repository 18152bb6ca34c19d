//! Conversion metrics: of the base events (opportunities), how many convert, attributed to the
//! closest preceding base event of the same entity within the window (and with the same constant
//! properties).

use super::metrics::MetricExpr;
use super::{Bounds, Planner};
use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, MetricKind};
use crate::source::Span;
use crate::spec::ConversionCalculation;
use crate::sql::{CmpOp, Expr, Join, JoinKind, Select, SelectItem, TableRef, Window, WindowFunc};
use crate::time::TimeGrain;

impl<'m> Planner<'m> {
    /// A conversion metric. `filters` (the metric's and the query's) select base events only.
    pub(crate) fn conversion(
        &mut self,
        name: &str,
        span: Span,
        filters: &[Filter],
        bounds: &Bounds,
    ) -> Option<MetricExpr> {
        let model = self.cx.model;
        let metric = model.metric(name)?;
        let MetricKind::Conversion {
            base,
            conversion,
            entity,
            calculation,
            window,
            constant_properties,
        } = &metric.kind
        else {
            return None;
        };
        let mut base_filters = filters.to_vec();
        base_filters.extend(base.filters.iter().cloned());
        let opportunities = self.plain_leaf(base, base_filters.clone(), bounds.clone());
        // Both events at the metric's finest queryable grain.
        let grain = self
            .cx
            .measure_time_grain(base)
            .max(self.cx.measure_time_grain(conversion));
        let items = self.q.items.clone();

        // Base events: filtered and constrained like the opportunities, with the query's items.
        let base_m = self.use_measure(base);
        let mut events = Select::default();
        let mut fb = self.filtered_fact(
            base.model,
            &base_m.agg_time_dimension,
            &base_filters,
            bounds,
            &mut events,
        )?;
        for it in &items {
            let e = self.fact_item_expr(&mut fb, it)?;
            events.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        self.project_element(base.model, entity);
        events.columns.push(SelectItem {
            expr: Expr::col(&fb.alias, entity),
            alias: Some("entity_key".into()),
        });
        events.columns.push(SelectItem {
            expr: Expr::Trunc(
                grain,
                Box::new(Expr::col(&fb.alias, &base_m.agg_time_dimension)),
            ),
            alias: Some("event_time".into()),
        });
        for (i, p) in constant_properties.iter().enumerate() {
            if !self.local_element(base.model, &p.base_property, span) {
                return None;
            }
            events.columns.push(SelectItem {
                expr: Expr::col(&fb.alias, &p.base_property),
                alias: Some(format!("property_{}", i + 1)),
            });
        }
        events.joins = std::mem::take(&mut fb.joins);
        let base_events = self.ctes.add(
            &format!("{}_events", base.name),
            format!("Base events of {name}"),
            events,
        );

        // Conversion events, each with an id.
        let conv_m = self.use_measure(conversion);
        let mut conv = Select::default();
        let mut cfb = self.filtered_fact(
            conversion.model,
            &conv_m.agg_time_dimension,
            &conversion.filters,
            &Bounds::default(),
            &mut conv,
        )?;
        self.project_element(conversion.model, entity);
        conv.columns.push(SelectItem {
            expr: Expr::col(&cfb.alias, entity),
            alias: Some("entity_key".into()),
        });
        conv.columns.push(SelectItem {
            expr: Expr::Trunc(
                grain,
                Box::new(Expr::col(&cfb.alias, &conv_m.agg_time_dimension)),
            ),
            alias: Some("event_time".into()),
        });
        for (i, p) in constant_properties.iter().enumerate() {
            if !self.local_element(conversion.model, &p.conversion_property, span) {
                return None;
            }
            conv.columns.push(SelectItem {
                expr: Expr::col(&cfb.alias, &p.conversion_property),
                alias: Some(format!("property_{}", i + 1)),
            });
        }
        self.ctes
            .project(conversion.model, &conv_m.name, &conv_m.expr);
        conv.columns.push(SelectItem {
            expr: Expr::col(&cfb.alias, &conv_m.name),
            alias: Some(conv_m.name.clone()),
        });
        // A ranking window must be ordered (several warehouses reject `OVER ()`):
        // the event's time, then every column that tells events apart. Events equal in all of
        // them are interchangeable, so whichever number each gets, the result is the same.
        let mut key_columns: Vec<&SelectItem> = conv.columns.iter().collect();
        key_columns.sort_by_key(|c| c.alias.as_deref() != Some("event_time"));
        let event_key = key_columns
            .iter()
            .map(|c| (c.expr.clone(), false))
            .collect();
        conv.columns.push(SelectItem {
            expr: Expr::Window(Box::new(Window {
                func: WindowFunc::RowNumber,
                arg: None,
                partition_by: vec![],
                order_by: event_key,
                whole_partition: false,
            })),
            alias: Some("event_id".into()),
        });
        conv.joins = std::mem::take(&mut cfb.joins);
        let conversion_events = self.ctes.add(
            &format!("{}_events", conversion.name),
            format!("Conversion events of {name}"),
            conv,
        );

        // Each conversion event with the base events before it; the closest ranks first.
        let b = base_events.clone();
        let c = conversion_events.clone();
        let mut on = vec![
            Expr::eq(Expr::col(&b, "entity_key"), Expr::col(&c, "entity_key")),
            Expr::cmp(
                Expr::col(&b, "event_time"),
                CmpOp::Le,
                Expr::col(&c, "event_time"),
            ),
        ];
        if let Some(w) = window {
            match &w.grain {
                TimeGrain::Standard(g) => on.push(Expr::cmp(
                    Expr::col(&b, "event_time"),
                    CmpOp::Gt,
                    Expr::AddInterval(Box::new(Expr::col(&c, "event_time")), -w.count, *g),
                )),
                TimeGrain::Custom(g) => {
                    self.err(
                        Diagnostic::error(codes::UNSUPPORTED, format!("conversion windows of a custom granularity (`{w}`) are not supported"))
                            .at(span)
                            .with_help(format!("use a standard granularity instead of `{g}`")),
                    );
                    return None;
                }
            }
        }
        for i in 0..constant_properties.len() {
            let p = format!("property_{}", i + 1);
            on.push(Expr::eq(Expr::col(&b, &p), Expr::col(&c, &p)));
        }
        let mut matched = Select {
            from: Some(TableRef::Cte {
                name: c.clone(),
                alias: None,
            }),
            joins: vec![Join {
                kind: JoinKind::Inner,
                table: TableRef::Cte {
                    name: b.clone(),
                    alias: None,
                },
                on,
            }],
            ..Select::default()
        };
        for it in &items {
            matched.columns.push(SelectItem {
                expr: Expr::col(&b, &it.out),
                alias: Some(it.out.clone()),
            });
        }
        matched.columns.push(SelectItem {
            expr: Expr::col(&c, &conv_m.name),
            alias: Some(conv_m.name.clone()),
        });
        matched.columns.push(SelectItem {
            expr: Expr::Window(Box::new(Window {
                func: WindowFunc::RowNumber,
                arg: None,
                partition_by: vec![Expr::col(&c, "event_id")],
                order_by: vec![(Expr::col(&b, "event_time"), true)],
                whole_partition: false,
            })),
            alias: Some("base_rank".into()),
        });
        let matched = self.ctes.add(
            &format!("{name}_matches"),
            format!(
                "Conversion events of {name} with their preceding base events, the closest first"
            ),
            matched,
        );

        // Conversions by the items of their closest base event.
        let mut agg = Select {
            from: Some(TableRef::Cte {
                name: matched.clone(),
                alias: None,
            }),
            where_: vec![Expr::eq(Expr::col(&matched, "base_rank"), Expr::Int(1))],
            ..Select::default()
        };
        for it in &items {
            agg.columns.push(SelectItem {
                expr: Expr::col(&matched, &it.out),
                alias: Some(it.out.clone()),
            });
            agg.group_by.push(Expr::col(&matched, &it.out));
        }
        agg.columns.push(SelectItem {
            expr: Expr::Agg(conv_m.agg, Box::new(Expr::col(&matched, &conv_m.name))),
            alias: Some(conv_m.name.clone()),
        });
        let conversions = self.ctes.add(
            &format!("{name}_conversions"),
            format!("Conversions of {name}"),
            agg,
        );
        let converted = MetricExpr::Col {
            cte: conversions,
            col: conv_m.name.clone(),
            fill: conversion.fill_nulls_with,
        };
        Some(match calculation {
            ConversionCalculation::Conversions => converted,
            ConversionCalculation::ConversionRate => MetricExpr::Ratio(
                Box::new(converted),
                Box::new(MetricExpr::Leaf(opportunities, base.fill_nulls_with)),
            ),
        })
    }

    /// Project a dimension or entity of a model, or report that it is not one.
    fn local_element(&mut self, model: usize, element: &str, span: Span) -> bool {
        let sm = &self.cx.model.semantic_models[model];
        if sm.dimension(element).is_some() || sm.entity(element).is_some() {
            self.project_element(model, element);
            return true;
        }
        let names: Vec<String> = sm
            .dimensions
            .iter()
            .map(|d| d.name.clone())
            .chain(sm.entities.iter().map(|e| e.name.clone()))
            .collect();
        let model_name = sm.name.clone();
        self.err(
            Diagnostic::error(
                codes::CONVERSION_PARAMS,
                format!(
                    "constant property `{element}` is not a dimension or entity of `{model_name}`"
                ),
            )
            .at(span)
            .with_suggestion(element, names.iter().map(String::as_str)),
        );
        false
    }
}
