//! Saved queries: their items parsed once, their metrics checked against the model.

use super::Resolver;
use crate::diag::{codes, Diagnostic};
use crate::model::{Filter, Model, SavedQuery};
use crate::spec;

impl Resolver<'_> {
    /// Every saved query (items parsed), then each metric it names checked against the model.
    pub(super) fn resolve_saved_queries(&mut self, model: &mut Model) {
        for sq in &self.spec.saved_queries {
            self.check_name(&sq.name, "saved query");
            model
                .saved_queries
                .insert(sq.name.value.clone(), self.saved_query(sq));
        }
        for sq in model.saved_queries.values() {
            for m in &sq.metrics {
                if !model.metrics.contains_key(&m.value) {
                    let d = Diagnostic::error(
                        codes::SAVED_QUERY,
                        format!(
                            "saved query `{}` names unknown metric `{}`",
                            sq.name, m.value
                        ),
                    )
                    .at(m.span)
                    .with_suggestion(&m.value, model.metrics.keys().map(String::as_str));
                    self.diags.push(d);
                }
            }
        }
    }

    /// One saved query, its filters, group-by and order items parsed at their place in the file.
    fn saved_query(&self, sq: &spec::SavedQuery) -> SavedQuery {
        let sources = &self.spec.sources;
        SavedQuery {
            name: sq.name.value.clone(),
            description: sq.description.clone(),
            metrics: sq.query_params.metrics.clone(),
            // Bound with the filters, once the metrics are final.
            metric_ids: Vec::new(),
            group_by: sq.query_params.group_by.clone(),
            where_: sq
                .query_params
                .where_
                .iter()
                .map(|f| Filter::located(f, sources))
                .collect(),
            order_by: sq.query_params.order_by.clone(),
            limit: sq.query_params.limit.as_ref().map(|l| l.value),
            span: sq.name.span,
            limit_span: sq
                .query_params
                .limit
                .as_ref()
                .map_or(crate::source::Span::DUMMY, |l| l.span),
            group_by_parsed: sq
                .query_params
                .group_by
                .iter()
                .map(|g| {
                    let loc = crate::yaml::locate(sources, g.span, &g.value);
                    crate::expr::parse_group_by_at(&g.value, &loc)
                })
                .collect(),
            // Bound with the filters, once the metrics are final.
            group_by_items: Vec::new(),
            order_by_parsed: sq
                .query_params
                .order_by
                .iter()
                .map(|o| {
                    let loc = crate::yaml::locate(sources, o.span, &o.value);
                    crate::expr::parse_order_item_at(&o.value, &loc)
                })
                .collect(),
        }
    }
}
