//! Users' SQL in a plan, rendered for a dialect.
//!
//! The plan keeps users' SQL as written ([`Expr::UserSql`], [`TableRef::Subquery`]); its Jinja
//! calls the macro library, whose definitions differ by dialect, so it is rendered here, in the SQL
//! stage, once the dialect is known. A semantic model's `sql:` is rendered once per model and
//! dialect (kept on the model: validation plans every metric). A relation with business durations
//! gets its business clock in the form the target asks for ([`ClockForm`]).

use super::{Expr, Query, Select, TableRef};
use crate::calendar::duration::ClockForm;
use crate::diag::Diagnostic;
use crate::dialect::Dialect;
use crate::model::Model;
use std::collections::HashMap;

/// The query with every piece of users' SQL rendered for the dialect; every rendering error is
/// reported. Self-contained SQL ([`ClockForm::Inline`]).
pub fn render_user_sql(model: &Model, d: Dialect, q: &Query) -> Result<Query, Vec<Diagnostic>> {
    render_user_sql_in(model, d, q.clone())
}

/// [`render_user_sql`] with the business clocks in `clock`'s form.
pub fn render_user_sql_with(
    model: &Model,
    d: Dialect,
    clock: ClockForm,
    q: &Query,
) -> Result<Query, Vec<Diagnostic>> {
    render(model, d, clock, q.clone())
}

/// [`render_user_sql`] on a query the caller gives up (validation, which only wants the errors,
/// saves a copy of every plan).
pub fn render_user_sql_in(model: &Model, d: Dialect, q: Query) -> Result<Query, Vec<Diagnostic>> {
    render(model, d, ClockForm::Inline, q)
}

fn render(
    model: &Model,
    d: Dialect,
    clock: ClockForm,
    mut q: Query,
) -> Result<Query, Vec<Diagnostic>> {
    let mut r = Renderer {
        model,
        d,
        clock,
        done: HashMap::new(),
        errors: Vec::new(),
    };
    for c in &mut q.ctes {
        r.select(&mut c.select);
    }
    r.select(&mut q.body);
    if r.errors.is_empty() {
        Ok(q)
    } else {
        Err(r.errors)
    }
}

struct Renderer<'a> {
    model: &'a Model,
    d: Dialect,
    clock: ClockForm,
    /// Texts rendered so far in this query (a scan's `expr` is often read by several CTEs).
    done: HashMap<String, String>,
    errors: Vec<Diagnostic>,
}

impl Renderer<'_> {
    fn select(&mut self, s: &mut Select) {
        for c in &mut s.columns {
            self.expr(&mut c.expr);
        }
        if let Some(t) = &mut s.from {
            self.table(t);
        }
        for j in &mut s.joins {
            self.table(&mut j.table);
            j.on.iter_mut().for_each(|e| self.expr(e));
        }
        s.where_.iter_mut().for_each(|e| self.expr(e));
        s.group_by.iter_mut().for_each(|e| self.expr(e));
        s.order_by.iter_mut().for_each(|(e, _)| self.expr(e));
        s.union.iter_mut().for_each(|b| self.select(b));
    }

    fn table(&mut self, t: &mut TableRef) {
        if let TableRef::Subquery {
            sql,
            model,
            business,
            durations,
            ..
        } = t
        {
            let durations = business.then_some(durations.as_slice());
            match render_relation(self.model, *model, durations, self.d, self.clock) {
                Some(Ok(s)) => *sql = s,
                Some(Err(e)) => {
                    self.errors.push(e);
                    *sql = std::sync::Arc::from("");
                }
                None => {}
            }
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        match e {
            Expr::UserSql { text, span } => {
                if !(text.contains("{{") || text.contains("{%")) {
                    return;
                }
                if let Some(s) = self.done.get(text.as_str()) {
                    *text = s.clone();
                    return;
                }
                let m = self.model;
                match crate::jinja::render_sql(text, *span, &m.macros, self.d.name(), &m.vars) {
                    Ok(s) => {
                        self.done.insert(text.clone(), s.clone());
                        *text = s;
                    }
                    Err(d) => {
                        self.errors.push(d);
                        text.clear();
                    }
                }
            }
            _ => e.for_each_child_mut(|x| self.expr(x)),
        }
    }
}

/// A semantic model's relation (`sql:` rendered, with the business durations `business` when
/// given: positions in `Wrapped::columns`) as SQL for the dialect: the business clock is read
/// from its relations or written in the dialect's form of constant rows
/// (`Dialect::values_table`), as `clock` says. `None` for a table relation.
pub fn render_relation(
    model: &crate::model::Model,
    index: usize,
    business: Option<&[usize]>,
    d: crate::dialect::Dialect,
    clock: ClockForm,
) -> Option<Result<std::sync::Arc<str>, crate::diag::Diagnostic>> {
    let r = model.render_relation_sql(index, business, d.name())?;
    let wrapped = model.semantic_models.get(index)?.business.as_ref();
    Some(r.map(|sql| match (wrapped, business) {
        // The clock (constant rows: a row per calendar day) written once per dialect, form and
        // set of durations, not per query: only the calendars of those durations.
        (Some(b), Some(ds)) => model.with_clock_cached(index, ds, d.name(), clock, &sql, || {
            b.with_clock(&sql, ds, clock, |a, c, rows| d.values_table(a, c, rows))
        }),
        _ => sql,
    }))
}
