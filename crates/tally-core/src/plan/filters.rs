//! Where filters: each `{{ ... }}` reference becomes an expression of the context the filter is
//! evaluated in (a FROM clause over a fact, a time spine, a relation's columns). A metric reference
//! (`{{ Metric('bookings', group_by=['listing']) }}`) is a relation of the metric by its group-by
//! entities, joined to the filtered rows on those entities.

use super::items::{apply_default_grain, Item, Target};
use super::joins::{FromBuilder, JoinKey};
use super::{Bounds, MetricFilterKey, MetricFilterRel, Planner, QueryState};
use crate::diag::{codes, Diagnostic};
use crate::expr::{Segment, Template};
use crate::model::{BoundFilter, ElementPath, Filter, FilterRef, MetricRef};
use crate::sql::{Expr, Join, SqlPart, TableRef};
use std::sync::Arc;

/// A reference of a filter, resolved to what it names.
#[derive(Clone, Debug)]
pub(crate) enum FRef {
    Item(Item),
    Metric(MetricRef),
}

/// How a filter relates to a set of time items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterClass {
    /// References no time item.
    NoTime,
    /// References only time items.
    TimeOnly,
    /// References time items and other items.
    Mixed,
}

impl<'m> Planner<'m> {
    /// The filter's references as resolution bound them (a query's own filters are bound when
    /// the query is planned): the first problem of the filter is reported.
    fn parse_filter_refs(&mut self, f: &Filter) -> Option<(Arc<BoundFilter>, Vec<FRef>)> {
        let bound = match (f.template(), &f.bound) {
            (Err(d), _) => {
                self.err(d.clone());
                return None;
            }
            (Ok(_), Some(b)) => Arc::clone(b),
            (Ok(_), None) => {
                self.err(
                    Diagnostic::bug(format!(
                        "the filter `{}` was not bound to the model",
                        f.text
                    ))
                    .at(f.span),
                );
                return None;
            }
        };
        let mut refs = Vec::new();
        for r in &bound.refs {
            match r {
                FilterRef::Metric(m) => refs.push(FRef::Metric(m.clone())),
                FilterRef::Item(Ok(i)) => refs.push(FRef::Item(i.clone())),
                FilterRef::Item(Err(d)) => {
                    self.err(d.clone());
                    return None;
                }
            }
        }
        Some((bound, refs))
    }

    /// The items a filter references (metric references left out), without reporting problems:
    /// they are reported when the filter is rendered.
    pub(crate) fn filter_items(&mut self, f: &Filter) -> Vec<Item> {
        let before = self.diags.len();
        let refs = self
            .parse_filter_refs(f)
            .map(|(_, r)| r)
            .unwrap_or_default();
        self.diags.truncate(before);
        refs.into_iter()
            .filter_map(|r| match r {
                FRef::Item(i) => Some(i),
                FRef::Metric(_) => None,
            })
            .collect()
    }

    /// Classify a filter by whether its references are time items.
    pub(crate) fn classify_filter(
        &mut self,
        f: &Filter,
        is_time: &dyn Fn(&Self, &Item) -> bool,
    ) -> FilterClass {
        let items = self.filter_items(f);
        let time = items.iter().filter(|i| is_time(self, i)).count();
        if time == 0 {
            FilterClass::NoTime
        } else if time == items.len() {
            FilterClass::TimeOnly
        } else {
            FilterClass::Mixed
        }
    }

    /// Whether every item a filter references is a group-by item of the query.
    pub(crate) fn filter_within_items(&mut self, f: &Filter) -> bool {
        let refs = {
            let before = self.diags.len();
            let r = self.parse_filter_refs(f).map(|(_, r)| r);
            self.diags.truncate(before);
            r
        };
        let Some(refs) = refs else { return false };
        refs.iter().all(|r| match r {
            FRef::Item(i) => self.q.items.iter().any(|x| x.out == i.out),
            FRef::Metric(_) => false,
        })
    }

    /// Render a filter, resolving each reference with `resolve`.
    pub(crate) fn render_filter(
        &mut self,
        f: &Filter,
        resolve: &mut dyn FnMut(&mut Self, &FRef) -> Option<Expr>,
    ) -> Option<Expr> {
        let (bound, refs) = self.parse_filter_refs(f)?;
        let mut resolved = Vec::new();
        for r in &refs {
            resolved.push(resolve(self, r)?);
        }
        Some(splice_filter(&bound.template, resolved))
    }

    /// Render a filter over a FROM clause: references become columns of its joins.
    pub(crate) fn fact_filter(&mut self, fb: &mut FromBuilder, f: &Filter) -> Option<Expr> {
        self.render_filter(f, &mut |p, r| match r {
            FRef::Item(i) => p.fact_item_expr(fb, i),
            FRef::Metric(m) => p.metric_filter_expr(fb, m),
        })
    }

    /// Render a filter over columns named after items (a relation or CTE under `alias`), with time
    /// items given by `time`.
    pub(crate) fn column_filter(
        &mut self,
        f: &Filter,
        alias: &str,
        columns: &[String],
        time: &mut dyn FnMut(&mut Self, &Item) -> Option<Option<Expr>>,
    ) -> Option<Expr> {
        self.render_filter(f, &mut |p, r| match r {
            FRef::Item(i) => {
                if let Some(e) = time(p, i) {
                    return e;
                }
                if columns.contains(&i.out) {
                    return Some(Expr::col(alias, &i.out));
                }
                p.err(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        format!("the filter on `{}` cannot be applied at this step", i.out),
                    )
                    .at(f.span)
                    .with_help("group by the items this filter uses, or filter on them separately"),
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

    /// A metric reference in a filter over a FROM clause: the metric by its group-by entities,
    /// joined on them.
    pub(crate) fn metric_filter_expr(
        &mut self,
        fb: &mut FromBuilder,
        r: &MetricRef,
    ) -> Option<Expr> {
        let rel = self.metric_filter_rel(r)?;
        let key = JoinKey::MetricFilter(rel.cte.clone());
        let alias = match fb.keyed(&key) {
            Some(a) => a,
            None => {
                let alias = fb.fresh_alias(&rel.cte);
                let mut on = Vec::new();
                for it in &rel.items {
                    // The metric is computed per entity by its own path
                    // (`account_id__customer_id__customer_third_hop_id`); the filtered rows
                    // join it on that entity as they reach it.
                    let outer = match &it.target {
                        Target::Element { element, path, .. }
                            if !path.links.is_empty()
                                && self
                                    .cx
                                    .reaches(
                                        fb.model,
                                        &ElementPath {
                                            links: Vec::new(),
                                            element: path.element,
                                        },
                                    )
                                    .is_some() =>
                        {
                            Item {
                                target: Target::Element {
                                    links: Vec::new(),
                                    element: element.clone(),
                                    path: ElementPath {
                                        links: Vec::new(),
                                        element: path.element,
                                    },
                                    grain: None,
                                    date_part: None,
                                },
                                ..it.clone()
                            }
                        }
                        _ => it.clone(),
                    };
                    let e = self.fact_item_expr(fb, &outer)?;
                    on.push(Expr::eq(e, Expr::col(&alias, &it.out)));
                }
                let join = Join {
                    kind: fb.join_kind,
                    table: TableRef::Cte {
                        name: rel.cte.clone(),
                        alias: (alias != rel.cte).then(|| alias.clone()),
                    },
                    on,
                };
                fb.add_keyed(key, &alias, join);
                alias
            }
        };
        Some(Expr::col(&alias, &rel.column))
    }

    /// The relation of a metric reference: the metric grouped by its `group_by` items, planned as a
    /// query of its own (no filters, no time constraint) into a CTE.
    fn metric_filter_rel(&mut self, r: &MetricRef) -> Option<MetricFilterRel> {
        let metric = match &r.metric {
            Ok(id) => *id,
            Err(d) => {
                self.err(d.clone());
                return None;
            }
        };
        let key = MetricFilterKey {
            metric,
            group_by: r.group_by.clone(),
        };
        if let Some(rel) = self.metric_filters.get(&key) {
            return Some(rel.clone());
        }
        let metric = self.cx.model.metric_by_id(metric)?;
        if r.group_by.is_empty() {
            self.err(
                Diagnostic::error(codes::INVALID_QUERY, format!("the metric `{}` in a filter has no group_by", r.name))
                    .at(r.span)
                    .with_help(format!("say which entity the metric is computed per: Metric('{}', group_by=['listing'])", r.name)),
            );
            return None;
        }
        if self.depth > 8 {
            self.err(
                Diagnostic::error(
                    codes::METRIC_CYCLE,
                    format!("metric filters nest too deeply at `{}`", r.name),
                )
                .at(r.span)
                .with_help("a metric's filter may not refer to the metric itself"),
            );
            return None;
        }
        let mut items = Vec::new();
        for g in &r.items {
            match g {
                Ok(i) => items.push(i.clone()),
                Err(d) => {
                    self.err(d.clone());
                    return None;
                }
            }
        }
        let default_grain = self.cx.query_default_grain(&[metric]);
        apply_default_grain(&mut items, default_grain);
        let saved = std::mem::replace(
            &mut self.q,
            QueryState {
                items: items.clone(),
                bounds: Bounds::default(),
            },
        );
        let saved_pending = std::mem::take(&mut self.leaves.pending);
        self.depth += 1;
        let column = format!(
            "{}__{}",
            items
                .iter()
                .map(|i| i.out.as_str())
                .collect::<Vec<_>>()
                .join("__"),
            r.name
        );
        let expr = self.expand_metric(metric, r.span, &[], None, &Bounds::default(), 0);
        self.flush_leaves();
        let keys: Vec<String> = items.iter().map(|i| i.out.clone()).collect();
        let select = expr.and_then(|e| self.combine_select(&[(column.clone(), e)], &keys));
        self.depth -= 1;
        self.leaves.pending = saved_pending;
        self.q = saved;
        let select = select?;
        let by: Vec<&str> = keys.iter().map(String::as_str).collect();
        let cte = self.ctes.add(
            &format!("{}_by_{}", r.name, by.join("_")),
            format!("Metric {} by {} for a filter", r.name, by.join(", ")),
            select,
        );
        let rel = MetricFilterRel { cte, column, items };
        self.metric_filters.insert(key, rel.clone());
        Some(rel)
    }
}

/// A filter's SQL with its references resolved to `resolved` (in order), trimmed.
fn splice_filter(template: &Template, resolved: Vec<Expr>) -> Expr {
    let mut resolved = resolved.into_iter();
    let mut parts: Vec<SqlPart> = template
        .segments
        .iter()
        .map(|s| match s {
            Segment::Sql { text, .. } => SqlPart::Text(text.clone()),
            Segment::Ref(_) => SqlPart::Expr(resolved.next().unwrap_or(Expr::Null)),
        })
        .collect();
    // Leading and trailing white space of the text goes (as the text alone would be trimmed).
    while let Some(SqlPart::Text(t)) = parts.first_mut() {
        *t = t.trim_start().to_string();
        if !t.is_empty() {
            break;
        }
        parts.remove(0);
    }
    while let Some(SqlPart::Text(t)) = parts.last_mut() {
        *t = t.trim_end().to_string();
        if !t.is_empty() {
            break;
        }
        parts.pop();
    }
    Expr::Splice(parts)
}
