//! The SQL of one series: the metric compiled by the normal query compiler (grouped by
//! `metric_time` at the grain and the series' dimensions, bounded to its periods), joined to its
//! target series as data: a relation of literals rendered by the dialect (`SELECT … UNION ALL`,
//! portable to every warehouse), never user text pasted into SQL.
//!
//! Result columns: `tally_period`, `tally_s0…` (the dimensions as text), `tally_value`,
//! `tally_target`.

use super::eval::SeriesRequest;
use super::Target;
use crate::diag::Diagnostic;
use crate::dialect::Dialect;
use crate::model::Model;
use crate::plan::QueryRequest;
use crate::yaml::Spanned;

/// The metric query of a series request.
pub fn series_request(req: &SeriesRequest) -> QueryRequest {
    let mut group_by = vec![format!("metric_time__{}", req.key.grain.name())];
    group_by.extend(req.key.dims.iter().cloned());
    QueryRequest {
        metrics: vec![Spanned::synthetic(req.key.metric.clone())],
        group_by: group_by.into_iter().map(Spanned::synthetic).collect(),
        start_time: Some(req.first.start.to_string()),
        end_time: Some(req.last.start.to_string()),
        ..QueryRequest::default()
    }
}

fn number(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        "NULL".into()
    }
}

/// The target rows of a series request, as (period start, slice values or None for the overall
/// target, value).
pub fn target_rows(
    req: &SeriesRequest,
    target: &Target,
) -> Vec<(String, Option<Vec<String>>, f64)> {
    let mut out = Vec::new();
    let sliced = !req.key.dims.is_empty() && req.key.dims == target.slice_dims;
    let mut slices: Vec<Vec<String>> = Vec::new();
    if sliced {
        for e in &target.entries {
            if !e.slice.is_empty() && !slices.contains(&e.slice) {
                slices.push(e.slice.clone());
            }
        }
    }
    let mut p = req.first;
    while p <= req.last {
        let start = format!("{} 00:00:00", p.start);
        if let Some(v) = target.value_at(p, &[]) {
            out.push((start.clone(), None, v));
        }
        for s in &slices {
            let own = target
                .entries
                .iter()
                .any(|e| &e.slice == s && e.from <= p && e.to.is_none_or(|t| p <= t));
            if own {
                if let Some(v) = target.value_at(p, s) {
                    out.push((start.clone(), Some(s.clone()), v));
                }
            }
        }
        p = p.next();
    }
    out
}

/// The SQL of a series request, with its target joined when it has one (self-contained).
pub fn series_sql(
    model: &Model,
    dialect: Dialect,
    req: &SeriesRequest,
) -> Result<String, Vec<Diagnostic>> {
    series_sql_with(
        model,
        dialect,
        crate::calendar::duration::ClockForm::Inline,
        req,
    )
}

/// [`series_sql`] with the business clocks in `clock`'s form (`Relation` on tally's DuckDB).
pub fn series_sql_with(
    model: &Model,
    dialect: Dialect,
    clock: crate::calendar::duration::ClockForm,
    req: &SeriesRequest,
) -> Result<String, Vec<Diagnostic>> {
    let compiled = crate::query::compile_with(model, dialect, clock, &series_request(req))?;
    let inner = compiled.sql.trim().trim_end_matches(';').to_string();
    let time_col = format!("metric_time__{}", req.key.grain.name());
    let target = req.target.as_ref().and_then(|name| {
        model
            .checks
            .metrics
            .get(&req.key.metric)
            .and_then(|mc| mc.targets.iter().find(|t| &t.name == name))
    });
    let rows = target.map(|t| target_rows(req, t)).unwrap_or_default();
    let id = |s: &str| dialect.ident(s);
    let out = |s: &str| format!("v.{}", dialect.output_ident(s));
    let text = |e: String| format!("CAST({e} AS {})", dialect.string_type());
    let n = req.key.dims.len();
    let mut sql = format!("WITH {} AS (\n{inner}\n)", id("tally_values"));
    let sliced = rows.iter().any(|r| r.1.is_some());
    if !rows.is_empty() {
        let selects: Vec<String> = rows
            .iter()
            .map(|(period, slice, value)| {
                let mut cols = vec![format!(
                    "{} AS {}",
                    dialect.timestamp_literal(period),
                    id("tally_period")
                )];
                if sliced {
                    for i in 0..n {
                        let v = match slice {
                            Some(s) => dialect.string_literal(&s[i]),
                            None => "NULL".into(),
                        };
                        cols.push(format!("{} AS {}", text(v), id(&format!("tally_t{i}"))));
                    }
                }
                cols.push(format!("{} AS {}", number(*value), id("tally_target")));
                format!("SELECT {}", cols.join(", "))
            })
            .collect();
        sql.push_str(&format!(
            ",\n{} AS (\n{}\n)",
            id("tally_targets"),
            selects.join("\nUNION ALL\n")
        ));
    }
    let mut cols = vec![format!("{} AS {}", out(&time_col), id("tally_period"))];
    for (i, d) in req.key.dims.iter().enumerate() {
        cols.push(format!(
            "{} AS {}",
            text(out(d)),
            id(&format!("tally_s{i}"))
        ));
    }
    cols.push(format!("{} AS {}", out(&req.key.metric), id("tally_value")));
    let mut joins = String::new();
    if rows.is_empty() {
        cols.push(format!("NULL AS {}", id("tally_target")));
    } else {
        let on_overall = if sliced {
            (0..n)
                .map(|i| format!(" AND t0.{} IS NULL", id(&format!("tally_t{i}"))))
                .collect::<String>()
        } else {
            String::new()
        };
        joins.push_str(&format!(
            "\nLEFT JOIN {} t0 ON t0.{} = {}{on_overall}",
            id("tally_targets"),
            id("tally_period"),
            out(&time_col)
        ));
        if sliced {
            let on: String = (0..n)
                .map(|i| {
                    format!(
                        " AND ts.{} = {}",
                        id(&format!("tally_t{i}")),
                        text(out(&req.key.dims[i]))
                    )
                })
                .collect();
            joins.push_str(&format!(
                "\nLEFT JOIN {} ts ON ts.{} = {}{on}",
                id("tally_targets"),
                id("tally_period"),
                out(&time_col)
            ));
            cols.push(format!(
                "COALESCE(ts.{t}, t0.{t}) AS {t}",
                t = id("tally_target")
            ));
        } else {
            cols.push(format!("t0.{t} AS {t}", t = id("tally_target")));
        }
    }
    sql.push_str(&format!(
        "\nSELECT {}\nFROM {} v{joins}\nORDER BY 1",
        cols.join(", "),
        id("tally_values")
    ));
    Ok(sql)
}
