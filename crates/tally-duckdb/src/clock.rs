//! Business clocks on tally's local DuckDB are read from the relations `tally_bh__<calendar>`
//! (SQL compiled with `ClockForm::Relation`: constant rows of a few thousand days cost DuckDB
//! seconds of planning at every reference). tally creates them itself, as temporary tables of the
//! session filled with the appender (no SQL text is built from the values), so `tally query`,
//! `tally test`, `tally check` and the servers need nothing by hand; only the clocks a statement
//! reads are created ([`install_read`]). A temporary table whose fingerprint matches the
//! calendar's is kept.

use duckdb::types::Value;
use std::collections::HashSet;
use std::sync::Arc;
use tally_core::calendar::clock::{utc_midnight, Clock, LazyClock, DAY};
use tally_core::calendar::duration::{clock_columns, clock_relation};
use tally_core::model::Model;

/// Every clock the model's business durations read, one per calendar, unexpanded.
fn lazy_clocks(model: &Model) -> Vec<&Arc<LazyClock>> {
    let mut seen = HashSet::new();
    model
        .semantic_models
        .iter()
        .filter_map(|sm| sm.business.as_ref())
        .flat_map(|b| b.lazy_clocks().iter())
        .filter(|c| seen.insert(c.calendar()))
        .collect()
}

/// Every clock the model's business durations read, one per calendar (each expanded).
pub fn relation_clocks(model: &Model) -> Vec<&Clock> {
    lazy_clocks(model)
        .into_iter()
        .map(|c| c.get().as_ref())
        .collect()
}

/// Every clock the model's business durations read, one per calendar, unexpanded and shared
/// with the model: a server keeps them, and [`read_lazy`] expands one when a statement first
/// reads it.
pub fn shared_clocks(model: &Model) -> Vec<Arc<LazyClock>> {
    lazy_clocks(model).into_iter().cloned().collect()
}

/// The clocks of the model whose relation `sql` names: [`read_by`] over [`relation_clocks`],
/// expanding only those.
pub fn clocks_read<'a>(model: &'a Model, sql: &str) -> Vec<&'a Clock> {
    lazy_clocks(model)
        .into_iter()
        .filter(|c| names(sql, &clock_relation(c.calendar())))
        .map(|c| c.get().as_ref())
        .collect()
}

/// The clocks among `clocks` whose relation `sql` names, expanding only those.
pub fn read_lazy<'a>(clocks: &'a [Arc<LazyClock>], sql: &str) -> Vec<&'a Clock> {
    clocks
        .iter()
        .filter(|c| names(sql, &clock_relation(c.calendar())))
        .map(|c| c.get().as_ref())
        .collect()
}

/// The clocks among `clocks` whose relation `sql` names (as a whole identifier).
pub fn read_by<'a>(clocks: impl IntoIterator<Item = &'a Clock>, sql: &str) -> Vec<&'a Clock> {
    clocks
        .into_iter()
        .filter(|c| names(sql, &clock_relation(&c.calendar)))
        .collect()
}

/// `sql` holds `name` as a whole identifier.
fn names(sql: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(name).any(|(i, _)| {
        !sql[..i].chars().next_back().is_some_and(ident)
            && !sql[i + name.len()..].chars().next().is_some_and(ident)
    })
}

/// Create (or refresh) the temporary table of every clock of the model that `sql` reads, before
/// it runs. Returns how many clocks it reads.
pub fn install_read(
    conn: &duckdb::Connection,
    model: &Model,
    sql: &str,
) -> Result<usize, duckdb::Error> {
    let read = clocks_read(model, sql);
    for c in &read {
        install_clock(conn, c)?;
    }
    Ok(read.len())
}

/// Create (or refresh) the temporary table of every clock the model's business durations read
/// (commands that run many statements install what each reads with [`install_read`] instead).
pub fn install(conn: &duckdb::Connection, model: &Model) -> Result<(), duckdb::Error> {
    for c in relation_clocks(model) {
        install_clock(conn, c)?;
    }
    Ok(())
}

fn current(conn: &duckdb::Connection, c: &Clock) -> bool {
    let sql = format!(
        "SELECT COUNT(*) FROM temp.main.{} WHERE fingerprint = ?",
        clock_relation(&c.calendar)
    );
    conn.query_row(&sql, [&c.fingerprint], |r| r.get::<_, i64>(0))
        .is_ok_and(|n| n as usize == c.days.len())
}

/// One clock as the temporary table `tally_bh__<calendar>` (the columns of
/// `tally calendars export`, fingerprint last).
pub fn install_clock(conn: &duckdb::Connection, c: &Clock) -> Result<(), duckdb::Error> {
    if current(conn, c) {
        return Ok(());
    }
    let k = c.max_slots().max(1);
    let rel = clock_relation(&c.calendar);
    let cols: Vec<String> = clock_columns(k)
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let t = match i {
                0 => "VARCHAR",
                1 => "DATE",
                3 => "DOUBLE",
                _ => "BIGINT",
            };
            format!("{n} {t}")
        })
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {rel} ({}, fingerprint VARCHAR)",
        cols.join(", ")
    ))?;
    let mut app = conn.appender_to_catalog_and_db(&rel, "temp", "main")?;
    for d in &c.days {
        let mut row = vec![
            Value::Text(c.calendar.clone()),
            Value::Date32((utc_midnight(d.day) / DAY) as i32),
            Value::BigInt(d.cum_s),
            Value::Double(c.day_seconds),
        ];
        for i in 0..k {
            let (s, e) = d.slots.get(i).copied().unwrap_or((0, 0));
            row.push(Value::BigInt(s));
            row.push(Value::BigInt(e));
        }
        row.push(Value::Text(c.fingerprint.clone()));
        app.append_row(duckdb::appender_params_from_iter(row))?;
    }
    app.flush()
}

/// The range warnings (E0809) of a query: for each semantic model whose business durations
/// `query` reads, one aggregate over the model's own relation (no clock join) counting the rows
/// with a timestamp outside their calendar's range (`tally_core::model::business_range`). A query
/// that reads no business duration runs nothing more. Warnings only: the query's rows are
/// unchanged. Each check's one row is kept in `cache` like a query's result (its SQL reads the
/// model's cached table when there is one), so a repeated query does not scan the model again.
pub fn range_warnings(
    conn: &duckdb::Connection,
    cache: &mut crate::cache::Session,
    model: &Model,
    query: &tally_core::sql::Query,
) -> Result<Vec<tally_core::diag::Diagnostic>, String> {
    use tally_core::dialect::Dialect;
    let checks = tally_core::sql::range_check::range_checks(model, query, Dialect::DuckDb)
        .map_err(|d| d.message)?;
    let mut out = Vec::new();
    for c in checks {
        let what = format!("the range check of {}", model.semantic_models[c.model].name);
        let t = cache
            .query(conn, &what, &c.sql)
            .map_err(|e| e.to_string())?;
        if let Some(row) = t.rows.first() {
            out.extend(tally_core::model::business_range::range_warnings(
                &model.semantic_models[c.model],
                &model.calendars,
                &t.columns,
                row,
            ));
        }
    }
    Ok(out)
}
