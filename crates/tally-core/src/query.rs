//! One query through the stages after resolution: plan, the user-side checks, SQL. Below
//! `metric_test` (which compiles a test's query) and `pipeline` (which composes loading, checking
//! and these).

use crate::calendar::duration::ClockForm;
use crate::diag::Diagnostic;
use crate::dialect::Dialect;
use crate::model::Model;
use crate::plan::{plan_query, plan_query_avoiding, Plan, QueryRequest};
use crate::sql::user::render_user_sql_with;
use crate::sql::{parse_back, query_sql, reads, Query};

/// A compiled query: its plan and its SQL in one dialect.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: Plan,
    pub sql: String,
}

/// Plan a query with every check of the user's side ([`compile`] without the SQL text): what
/// validation needs, at a fraction of the cost (parsing back the SQL of a query that reads a large
/// `sql:` model costs several times its planning). The plan is the same for every dialect; the
/// dialect checks what it cannot compute and renders users' SQL. Its CTE names are the plan's:
/// the SQL of a dialect whose `sql:` models read a relation named like one of them names that CTE
/// otherwise ([`compile`]).
pub fn plan(model: &Model, dialect: Dialect, req: &QueryRequest) -> Result<Plan, Vec<Diagnostic>> {
    checked_plan(model, dialect, ClockForm::Inline, req).map(|(plan, _)| plan)
}

/// The plan, and its query with users' SQL rendered for the dialect (its CTE names clear of the
/// relations that dialect's rendering reads: [`clear_of_dialect_relations`]).
fn checked_plan(
    model: &Model,
    dialect: Dialect,
    clock: ClockForm,
    req: &QueryRequest,
) -> Result<(Plan, Query), Vec<Diagnostic>> {
    // The query's own filters are user SQL too: checked before they reach the generated SQL.
    let bad_filters: Vec<Diagnostic> = req
        .where_
        .iter()
        .filter_map(|f| crate::fragments::check_filter(dialect, f))
        .collect();
    if !bad_filters.is_empty() {
        return Err(bad_filters);
    }
    let plan = plan_query(model, req)?;
    let unsupported = crate::sql::unsupported_diagnostics(model, dialect, &plan.measures);
    if !unsupported.is_empty() {
        return Err(unsupported);
    }
    let query = render_user_sql_with(model, dialect, clock, &plan.query)?;
    let query = clear_of_dialect_relations(model, dialect, clock, req, &plan.query, query)?;
    Ok((plan, query))
}

/// `rendered`, the plan's query `q` with users' SQL rendered for the dialect, unless a CTE of it
/// takes the name of a relation that SQL reads beyond those the plan avoided (those of its `sql:`
/// models and users' macros as the dialect renders them: `sql::reads::shadowed`). Then the query
/// is planned again with those names reserved, which reads the same relations (they do not depend
/// on CTE names) and so takes none of them. The usual case is the first: the plan, the same for
/// every dialect, avoids every relation known without a dialect. Should it ever not settle, the
/// last plan reserves every relation the project's `sql:` models read in the dialect.
fn clear_of_dialect_relations(
    model: &Model,
    dialect: Dialect,
    clock: ClockForm,
    req: &QueryRequest,
    q: &Query,
    rendered: Query,
) -> Result<Query, Vec<Diagnostic>> {
    const PASSES: usize = 3;
    let Some(mut avoid) = reads::shadowed(model, dialect, q, &rendered) else {
        return Ok(rendered);
    };
    let mut pass = 0;
    loop {
        if pass == PASSES {
            avoid.extend(reads::every_sql_relation(model, dialect));
        }
        let again = plan_query_avoiding(model, req, &avoid)?;
        let query = render_user_sql_with(model, dialect, clock, &again.query)?;
        match reads::shadowed(model, dialect, &again.query, &query) {
            Some(more) if pass < PASSES => avoid.extend(more),
            _ => return Ok(query),
        }
        pass += 1;
    }
}

/// What the E0901 self-check parses back: `out`, the query, with the `sql:` of each semantic model it
/// reads in full (not a relation with business durations, whose SQL is tally's around the
/// user's) written as a stub, `None` when there is none. The check is of tally's own SQL: a
/// model's query is the user's, checked on its own, where the user wrote it (E0203): by
/// validation in the project's dialect (then not again, [`Model::sql_checked_in`]), here in any
/// other. Parsing a large `sql:` again on every query was most of a small project's `tally sql`.
fn users_sql_apart(
    model: &Model,
    dialect: Dialect,
    mut out: Query,
) -> Result<Option<Query>, Vec<Diagnostic>> {
    use crate::sql::{Select, TableRef};
    fn tables(s: &mut Select, f: &mut dyn FnMut(&mut TableRef)) {
        if let Some(t) = &mut s.from {
            f(t);
        }
        for j in &mut s.joins {
            f(&mut j.table);
        }
        for u in &mut s.union {
            tables(u, f);
        }
    }
    const STUB: &str = "SELECT 1 AS tally_user_sql";
    let mut seen: Vec<usize> = Vec::new();
    let mut errors = Vec::new();
    let mut stub = |t: &mut TableRef| {
        if let TableRef::Subquery {
            sql,
            model: index,
            business: false,
            ..
        } = t
        {
            if !seen.contains(index) {
                seen.push(*index);
                if !model.sql_checked_in(dialect.name()) {
                    errors.extend(crate::fragments::check_relation_sql(
                        model, *index, dialect, sql,
                    ));
                }
            }
            *sql = std::sync::Arc::from(STUB);
        }
    };
    for c in &mut out.ctes {
        tables(&mut c.select, &mut stub);
    }
    tables(&mut out.body, &mut stub);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((!seen.is_empty()).then_some(out))
}

/// Plan a query and render its SQL, self-contained ([`ClockForm::Inline`]: what `tally sql`
/// prints and warehouses run); the SQL is parsed back with sqlparser in the dialect, and a
/// statement that does not parse is reported as a bug (E0901).
pub fn compile(
    model: &Model,
    dialect: Dialect,
    req: &QueryRequest,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(model, dialect, ClockForm::Inline, req)
}

/// What a caller remembers of generated SQL that parsed back before ([`compile_remembering`]).
/// Whether a text parses in a dialect depends on the text and the build of tally alone, so a
/// memory of texts that parsed, kept by one build (the CLI's validation cache is salted with the
/// binary), spares the self-check (sqlparser: about 90 us for 1 KB of SQL once warm, 0.3 ms in a
/// fresh process, the largest single cost of a repeated `tally sql`) without changing an answer.
pub trait ParsedBefore {
    /// `sql` parsed back as `dialect` before, in this build of tally.
    fn parsed_before(&self, dialect: Dialect, sql: &str) -> bool;
    /// `sql` parsed back as `dialect` just now.
    fn parsed_now(&self, dialect: Dialect, sql: &str);
}

/// No memory: every text is parsed back.
pub struct NothingParsed;

impl ParsedBefore for NothingParsed {
    fn parsed_before(&self, _: Dialect, _: &str) -> bool {
        false
    }
    fn parsed_now(&self, _: Dialect, _: &str) {}
}

/// [`compile`] with the business clocks in `clock`'s form: [`ClockForm::Relation`] for SQL that
/// tally runs on its own local engine, where the clocks are temporary tables of the session
/// (created by the engine crate's `clock::install_read`).
pub fn compile_with(
    model: &Model,
    dialect: Dialect,
    clock: ClockForm,
    req: &QueryRequest,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_remembering(model, dialect, clock, req, &NothingParsed)
}

/// [`compile_with`], the self-check skipped for a text `memo` saw parse before (and told of a
/// text that parses now).
pub fn compile_remembering(
    model: &Model,
    dialect: Dialect,
    clock: ClockForm,
    req: &QueryRequest,
    memo: &dyn ParsedBefore,
) -> Result<Compiled, Vec<Diagnostic>> {
    let (plan, query) = checked_plan(model, dialect, clock, req)?;
    let sql = query_sql(dialect, &query);
    // The query is not needed past its text: the check's stubs are written into it, not a copy.
    let check = users_sql_apart(model, dialect, query)?;
    let checked = check.as_ref().map(|q| query_sql(dialect, q));
    let text = checked.as_deref().unwrap_or(&sql);
    if !memo.parsed_before(dialect, text) {
        if let Err(e) = parse_back(dialect, text) {
            return Err(vec![Diagnostic::bug(format!(
                "tally generated SQL that does not parse as {}: {e}",
                dialect.name()
            ))
            .with_help(format!("the SQL was:\n{sql}"))]);
        }
        memo.parsed_now(dialect, text);
    }
    Ok(Compiled { plan, sql })
}
