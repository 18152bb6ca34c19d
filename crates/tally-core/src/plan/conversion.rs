//! Conversion metrics: of the base events (opportunities), how many convert, attributed to the
//! closest preceding base event of the same entity within the window (and with the same constant
//! properties).

use super::items::Item;
use super::metrics::MetricExpr;
use super::{Bounds, Planner};
use crate::diag::{codes, Diagnostic};
use crate::model::{ConstantProperty, ElementId, Filter, MeasureRef, Metric, MetricKind};
use crate::source::Span;
use crate::spec::ConversionCalculation;
use crate::sql::{CmpOp, Expr, Join, JoinKind, Select, SelectItem, TableRef, Window, WindowFunc};
use crate::time::{Grain, TimeGrain};

impl<'m> Planner<'m> {
    /// A conversion metric. `filters` (the metric's and the query's) select base events only.
    pub(crate) fn conversion(
        &mut self,
        metric: &Metric,
        span: Span,
        filters: &[Filter],
        bounds: &Bounds,
    ) -> Option<MetricExpr> {
        let model = self.cx.model;
        let name = metric.name.as_str();
        let MetricKind::Conversion {
            base,
            conversion,
            entity,
            entity_id,
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
        let events = Events {
            metric: name,
            span,
            entity,
            entity_id: *entity_id,
            properties: constant_properties,
            grain,
        };
        let base_events = self.base_events(&events, base, &base_filters, bounds, &items)?;
        let conversion_events = self.conversion_events(&events, conversion)?;
        let conv_m = model.measure(conversion);
        let matched = self.conversion_matches(
            &events,
            &base_events,
            &conversion_events,
            window.as_ref(),
            &items,
            &conv_m.name,
        )?;

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

    /// The base events: filtered and constrained like the opportunities, with the query's items,
    /// the entity, the time and the constant properties.
    fn base_events(
        &mut self,
        ev: &Events,
        base: &MeasureRef,
        base_filters: &[Filter],
        bounds: &Bounds,
        items: &[Item],
    ) -> Option<String> {
        let model = self.cx.model;
        self.use_measure(base);
        let atd = model.agg_time_id(base.model, base.measure);
        let mut events = Select::default();
        let mut fb = self.filtered_fact(base.model, atd, base_filters, bounds, &mut events)?;
        for it in items {
            let e = self.fact_item_expr(&mut fb, it)?;
            events.columns.push(SelectItem {
                expr: e,
                alias: Some(it.out.clone()),
            });
        }
        self.project_element(base.model, ev.entity_id);
        events.columns.push(SelectItem {
            expr: Expr::col(&fb.alias, ev.entity),
            alias: Some("entity_key".into()),
        });
        events.columns.push(SelectItem {
            expr: Expr::Trunc(
                ev.grain,
                Box::new(Expr::col(&fb.alias, model.element_name(atd))),
            ),
            alias: Some("event_time".into()),
        });
        for (i, p) in ev.properties.iter().enumerate() {
            if !self.local_element(base.model, p.base_id, &p.base_property, ev.span) {
                return None;
            }
            events.columns.push(SelectItem {
                expr: Expr::col(&fb.alias, &p.base_property),
                alias: Some(format!("property_{}", i + 1)),
            });
        }
        events.joins = std::mem::take(&mut fb.joins);
        Some(self.ctes.add(
            &format!("{}_events", base.name),
            format!("Base events of {}", ev.metric),
            events,
        ))
    }

    /// The conversion events, each with an id.
    fn conversion_events(&mut self, ev: &Events, conversion: &MeasureRef) -> Option<String> {
        let model = self.cx.model;
        let conv_m = self.use_measure(conversion);
        let atd = model.agg_time_id(conversion.model, conversion.measure);
        let mut conv = Select::default();
        let mut cfb = self.filtered_fact(
            conversion.model,
            atd,
            &conversion.filters,
            &Bounds::default(),
            &mut conv,
        )?;
        self.project_element(conversion.model, ev.entity_id);
        conv.columns.push(SelectItem {
            expr: Expr::col(&cfb.alias, ev.entity),
            alias: Some("entity_key".into()),
        });
        conv.columns.push(SelectItem {
            expr: Expr::Trunc(
                ev.grain,
                Box::new(Expr::col(&cfb.alias, model.element_name(atd))),
            ),
            alias: Some("event_time".into()),
        });
        for (i, p) in ev.properties.iter().enumerate() {
            if !self.local_element(
                conversion.model,
                p.conversion_id,
                &p.conversion_property,
                ev.span,
            ) {
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
        Some(self.ctes.add(
            &format!("{}_events", conversion.name),
            format!("Conversion events of {}", ev.metric),
            conv,
        ))
    }

    /// Each conversion event with the base events before it (within the window, with equal
    /// constant properties); the closest ranks first.
    fn conversion_matches(
        &mut self,
        ev: &Events,
        b: &str,
        c: &str,
        window: Option<&crate::time::Window>,
        items: &[Item],
        measure: &str,
    ) -> Option<String> {
        let name = ev.metric;
        let mut on = vec![
            Expr::eq(Expr::col(b, "entity_key"), Expr::col(c, "entity_key")),
            Expr::cmp(
                Expr::col(b, "event_time"),
                CmpOp::Le,
                Expr::col(c, "event_time"),
            ),
        ];
        if let Some(w) = window {
            match &w.grain {
                TimeGrain::Standard(g) => on.push(Expr::cmp(
                    Expr::col(b, "event_time"),
                    CmpOp::Gt,
                    Expr::AddInterval(Box::new(Expr::col(c, "event_time")), -w.count, *g),
                )),
                TimeGrain::Custom(g) => {
                    self.err(
                        Diagnostic::error(codes::UNSUPPORTED, format!("conversion windows of a custom granularity (`{w}`) are not supported"))
                            .at(ev.span)
                            .with_help(format!("use a standard granularity instead of `{g}`")),
                    );
                    return None;
                }
            }
        }
        for i in 0..ev.properties.len() {
            let p = format!("property_{}", i + 1);
            on.push(Expr::eq(Expr::col(b, &p), Expr::col(c, &p)));
        }
        let mut matched = Select {
            from: Some(TableRef::Cte {
                name: c.to_string(),
                alias: None,
            }),
            joins: vec![Join {
                kind: JoinKind::Inner,
                table: TableRef::Cte {
                    name: b.to_string(),
                    alias: None,
                },
                on,
            }],
            ..Select::default()
        };
        for it in items {
            matched.columns.push(SelectItem {
                expr: Expr::col(b, &it.out),
                alias: Some(it.out.clone()),
            });
        }
        matched.columns.push(SelectItem {
            expr: Expr::col(c, measure),
            alias: Some(measure.to_string()),
        });
        matched.columns.push(SelectItem {
            expr: Expr::Window(Box::new(Window {
                func: WindowFunc::RowNumber,
                arg: None,
                partition_by: vec![Expr::col(c, "event_id")],
                order_by: vec![(Expr::col(b, "event_time"), true)],
                whole_partition: false,
            })),
            alias: Some("base_rank".into()),
        });
        Some(self.ctes.add(
            &format!("{name}_matches"),
            format!(
                "Conversion events of {name} with their preceding base events, the closest first"
            ),
            matched,
        ))
    }

    /// Project a dimension or entity of a model (by id; `element` is its name as written), or
    /// report that it is not one.
    fn local_element(&mut self, model: usize, id: ElementId, element: &str, span: Span) -> bool {
        let sm = &self.cx.model.semantic_models[model];
        if self.cx.model.has_element(model, id) {
            self.project_element(model, id);
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

/// What the base and the conversion events of a conversion metric share.
struct Events<'a> {
    metric: &'a str,
    span: Span,
    /// The entity as written (its column) and bound.
    entity: &'a str,
    entity_id: ElementId,
    properties: &'a [ConstantProperty],
    grain: Grain,
}
