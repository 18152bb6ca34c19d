//! The range checks a query needs: for every semantic model whose business durations the query
//! reads (its scan reads the model's relation with business durations, or the table the
//! materialisation cache put in its place), the model's range check
//! ([`crate::model::business_range`]) rendered for the dialect. A query that reads no business
//! duration needs none, and pays nothing.

use super::{Query, Select, TableRef};
use crate::diag::Diagnostic;
use crate::dialect::Dialect;
use crate::model::Model;

/// One model's range check: run `sql` (one row) and read it with
/// [`crate::model::business_range::range_warnings`].
#[derive(Debug, Clone, PartialEq)]
pub struct RangeCheck {
    /// The semantic model (its position in the model).
    pub model: usize,
    pub sql: String,
}

/// The semantic models whose business durations `query` reads, in model order.
pub fn business_models_read(model: &Model, query: &Query) -> Vec<usize> {
    fn select(model: &Model, s: &Select, out: &mut Vec<usize>) {
        for t in s.from.iter().chain(s.joins.iter().map(|j| &j.table)) {
            let read = match t {
                TableRef::Subquery {
                    model: m,
                    business: true,
                    ..
                } => Some(*m),
                // A business relation the materialisation cache replaced by a table.
                TableRef::Table { name, .. } => model.semantic_models.iter().position(|sm| {
                    sm.business
                        .as_ref()
                        .is_some_and(|b| b.table() == Some(name))
                }),
                _ => None,
            };
            if let Some(m) = read.filter(|m| !out.contains(m)) {
                out.push(m);
            }
        }
        s.union.iter().for_each(|u| select(model, u, out));
    }
    let mut out = Vec::new();
    for c in &query.ctes {
        select(model, &c.select, &mut out);
    }
    select(model, &query.body, &mut out);
    out.sort_unstable();
    out
}

/// The range checks of the business durations `query` reads, rendered for `d`.
pub fn range_checks(
    model: &Model,
    query: &Query,
    d: Dialect,
) -> Result<Vec<RangeCheck>, Diagnostic> {
    let mut out = Vec::new();
    for m in business_models_read(model, query) {
        out.extend(range_check(model, m, d)?);
    }
    Ok(out)
}

/// The range check of semantic model `m` (its position in the model), rendered for `d`; `None`
/// when the model has no business durations to check.
pub fn range_check(model: &Model, m: usize, d: Dialect) -> Result<Option<RangeCheck>, Diagnostic> {
    let sm = &model.semantic_models[m];
    let Some(text) = crate::model::business_range::range_check_sql(sm, &model.calendars) else {
        return Ok(None);
    };
    let sql = crate::jinja::render_sql(&text, sm.span, &model.macros, d.name(), &model.vars)?;
    Ok(Some(RangeCheck { model: m, sql }))
}
