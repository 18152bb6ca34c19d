//! Saved queries plan (E0209).

use super::Validator;
use crate::diag::{codes, Diagnostic};
use crate::expr;
use crate::plan::{plan_query, QueryRequest};
use crate::source::Span;
use crate::yaml::Spanned;
use std::collections::BTreeSet;

impl<'m> Validator<'m> {
    pub(super) fn saved_queries(&mut self) {
        let model = self.model;
        for sq in model.saved_queries.values() {
            if let Some(l) = sq.limit.filter(|l| *l < 0) {
                self.push(
                    Diagnostic::error(
                        codes::SAVED_QUERY,
                        format!("saved query `{}` has a negative limit {l}", sq.name),
                    )
                    .at(super::at_or(sq.limit_span, sq.span))
                    .with_label("negative")
                    .with_help("a limit is a number of rows: 0 or more, or leave it out"),
                );
            }
            if sq.metrics.is_empty() {
                self.dimension_only_saved_query(sq);
                continue;
            }
            // Unknown metrics were reported by resolution; plan the rest.
            let metrics: Vec<Spanned<String>> = sq
                .metrics
                .iter()
                .filter(|m| model.metrics.contains_key(&m.value))
                .cloned()
                .collect();
            if metrics.len() != sq.metrics.len() || (metrics.is_empty() && sq.group_by.is_empty()) {
                continue;
            }
            let req = QueryRequest {
                metrics,
                group_by: sq.group_by.clone(),
                where_: sq.where_.clone(),
                order_by: sq.order_by.clone(),
                limit: sq.limit.map(|l| l.max(0) as u64),
                ..QueryRequest::default()
            };
            let in_items = |s: Span| {
                sq.group_by.iter().chain(&sq.order_by).any(|g| {
                    g.span.file == s.file && g.span.start <= s.start && s.end <= g.span.end
                })
            };
            let mut complete = true;
            let planned = plan_query(model, &req).and_then(|plan| {
                crate::sql::user::render_user_sql(model, self.dialect, &plan.query).map(|_| plan)
            });
            if let Err(ds) = planned {
                for mut d in ds {
                    if d.code == codes::UNSUPPORTED {
                        complete = false;
                        continue;
                    }
                    if matches!(d.code, codes::UNKNOWN_GROUP_BY | codes::INVALID_QUERY)
                        && in_items(d.span)
                    {
                        d.code = codes::SAVED_QUERY;
                    } else if d.code == codes::UNKNOWN_GROUP_BY {
                        d.code = codes::FILTER_REFERENCE;
                    }
                    if d.help.is_empty() {
                        d = d.with_help(format!(
                            "saved query `{}` must plan like `tally query --saved-query {}`",
                            sq.name, sq.name
                        ));
                    }
                    self.push(d.at_if_unset(sq.span));
                }
            }
            if complete {
                continue;
            }
            // The planner cannot plan one of the metrics yet: check the items here.
            let models: BTreeSet<usize> = sq
                .metric_ids
                .iter()
                .flat_map(|&id| self.filter_models(id))
                .collect();
            let mut outputs: Vec<String> = sq.metrics.iter().map(|m| m.value.clone()).collect();
            for (g, item) in sq.group_by_parsed.iter().zip(&sq.group_by_items) {
                match (g, item) {
                    (Ok(r), Ok(i)) => {
                        if models.is_empty() {
                            continue;
                        }
                        self.check_item(i, &models, codes::SAVED_QUERY);
                        let mut parts = r.entity_path.clone();
                        parts.extend(expr::split_dunder(&r.name));
                        outputs.push(parts.join("__"));
                    }
                    (Err(d), _) | (_, Err(d)) => self.push(d.clone()),
                }
            }
            for f in &sq.where_ {
                self.check_filter(f, &models);
            }
            for (o, parsed) in sq.order_by.iter().zip(&sq.order_by_parsed) {
                match parsed {
                    Ok((r, _)) => {
                        let mut parts = r.entity_path.clone();
                        parts.extend(expr::split_dunder(&r.name));
                        let name = parts.join("__");
                        let ok = outputs.iter().any(|x| {
                            *x == name
                                || x.starts_with(&format!("{name}__"))
                                || name.starts_with(&format!("{x}__"))
                        });
                        if !ok {
                            self.push(
                                Diagnostic::error(codes::SAVED_QUERY, format!("cannot order by `{}`: it is not a queried metric or group-by item", o.value))
                                    .at(o.span)
                                    .with_suggestion(&name, outputs.iter().map(String::as_str))
                                    .with_help(format!("the saved query's columns: {}", outputs.join(", "))),
                            );
                        }
                    }
                    Err(d) => self.push(d.clone()),
                }
            }
        }
    }

    /// A saved query without metrics: each group-by item must be reachable from some semantic
    /// model. (The planner picks one root model for all items; this is the per-item part of it.)
    pub(super) fn dimension_only_saved_query(&mut self, sq: &crate::model::SavedQuery) {
        let all: BTreeSet<usize> = (0..self.model.semantic_models.len()).collect();
        for (g, item) in sq.group_by.iter().zip(&sq.group_by_items) {
            let i = match item {
                Ok(i) => i,
                Err(d) => {
                    self.push(d.clone());
                    continue;
                }
            };
            let (Some((links, element)), Some(path)) = (i.element(), i.path()) else {
                continue;
            };
            if all.iter().any(|&mi| self.resolve_path(mi, path).is_ok()) {
                continue;
            }
            let name = crate::model::join_path(links, element);
            let names = self.reachable_names(&all);
            self.push(
                Diagnostic::error(
                    codes::SAVED_QUERY,
                    format!(
                        "`{name}` in saved query `{}` is not reachable from any semantic model",
                        sq.name
                    ),
                )
                .at(g.span)
                .with_label("unknown group-by item")
                .with_suggestion(&name, names.iter().map(String::as_str))
                .with_help("group by `<entity>__<dimension>`, an entity, or `metric_time`"),
            );
        }
        for f in &sq.where_ {
            if let Err(d) = f.template() {
                self.push(d.clone());
            }
        }
    }

    // ----- time spines -------------------------------------------------------------------------
}
