//! The request options of dimension-only queries (MetricFlow's `min_max_only` and
//! `apply_group_by`), checked as MetricFlow's query resolver checks them.

use super::{Planner, QueryRequest};
use crate::diag::{codes, Diagnostic};

impl<'m> Planner<'m> {
    /// `min_max_only` takes exactly one group-by item and no metrics, order or limit; queries
    /// without de-duplication take no metrics. Reports what is wrong; `false` when anything is.
    pub(crate) fn check_request_options(&mut self, req: &QueryRequest) -> bool {
        let mut ok = true;
        if req.min_max_only {
            let mut wrong = Vec::new();
            if !req.metrics.is_empty() {
                wrong.push("metrics".to_string());
            }
            if !req.order_by.is_empty() {
                wrong.push("an order".to_string());
            }
            if req.limit.is_some() {
                wrong.push("a limit".to_string());
            }
            if req.group_by.len() != 1 {
                wrong.push(format!("{} group-by items", req.group_by.len()));
            }
            if !wrong.is_empty() {
                ok = false;
                let span = req
                    .metrics
                    .first()
                    .or(req.group_by.get(1))
                    .map(|s| s.span)
                    .unwrap_or(crate::source::Span::DUMMY);
                self.err(
                    Diagnostic::error(
                        codes::INVALID_QUERY,
                        format!(
                            "min_max_only takes exactly one group-by item and no metrics, order or limit; this query has {}",
                            wrong.join(", ")
                        ),
                    )
                    .at(span)
                    .with_help("query the min and max of one dimension at a time, e.g. `--group-by metric_time__day --min-max-only`"),
                );
            }
        }
        if req.no_group_by && !req.metrics.is_empty() {
            ok = false;
            self.err(
                Diagnostic::error(
                    codes::INVALID_QUERY,
                    "a query without de-duplication (apply_group_by: false, --no-dedupe) cannot have metrics",
                )
                .at(req.metrics[0].span)
                .with_help("metrics aggregate their rows: drop --no-dedupe, or query the dimensions alone"),
            );
        }
        ok
    }
}
