//! The operations both servers expose, over the current project. MCP tools and HTTP routes are
//! thin wrappers around these, so the same request gives the same rows and SQL on both.

use crate::catalog;
use crate::error::ServeError;
use crate::exec::{Executor, Limits};
use crate::params::{
    DimensionValuesParams, ListMetricsParams, ListSavedQueriesParams, MetricsSearchParams,
    QueryParams, TestsParams,
};
use crate::project::{Loaded, ProjectHandle, ProjectOptions};
use serde_json::{json, Value};
use std::sync::Arc;
use tally_core::diag::codes;
use tally_core::dialect::{self, Dialect};
use tally_core::pipeline::ClockForm;
use tally_duckdb::engine::{ResultTable, Value as Cell};

/// Settings of a server.
#[derive(Clone, Debug)]
pub struct Settings {
    pub limits: Limits,
    /// The `list_metrics` size budget in characters.
    pub list_budget: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            list_budget: catalog::MAX_RESPONSE_CHARS,
        }
    }
}

/// A project served: the loaded project, its executor and settings.
pub struct Service {
    pub project: ProjectHandle,
    pub executor: Executor,
    pub settings: Settings,
}

/// A compiled query.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub sql: String,
    pub dialect: &'static str,
    /// Whether the rows come in an asked-for order.
    pub ordered: bool,
    /// The semantic models whose business durations the query reads (their range checks).
    pub business_models: Vec<usize>,
}

/// A query's result.
#[derive(Clone, Debug)]
pub struct QueryResult {
    pub table: ResultTable,
    pub sql: String,
    pub truncated: bool,
    /// The cap that cut the rows (the server's row limit).
    pub row_limit: usize,
    /// Warnings about the rows, as a JSON array of diagnostics (`tally validate --format json`'s
    /// shape): business durations NULL because the data leaves a calendar's `range` (E0809), as
    /// `tally query` warns.
    pub warnings: Value,
}

impl QueryResult {
    /// Rows as JSON records, keys in column order.
    pub fn records(&self) -> Vec<Value> {
        records(&self.table)
    }
}

/// Rows as JSON records: what `tally query --format json` prints.
pub fn records(t: &ResultTable) -> Vec<Value> {
    t.rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (c, v) in t.columns.iter().zip(r) {
                m.insert(c.clone(), v.to_json());
            }
            Value::Object(m)
        })
        .collect()
}

/// Rows as CSV (RFC 4180), with a header.
pub fn csv_text(t: &ResultTable) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(&t.columns);
    for r in &t.rows {
        let _ = w.write_record(r.iter().map(|v| v.to_string()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

impl Service {
    pub fn open(
        opts: ProjectOptions,
        settings: Settings,
    ) -> Result<(Service, crate::project::Notes), ServeError> {
        let (project, notes) = ProjectHandle::open(opts)?;
        Ok((
            Service {
                project,
                executor: Executor::new(settings.limits.clone()),
                settings,
            },
            notes,
        ))
    }

    pub fn loaded(&self) -> Arc<Loaded> {
        self.project.current()
    }

    /// `list_metrics`. Listing plans group-by candidates (see `catalog`), so it runs off the async
    /// threads, like every other planner-heavy call.
    pub async fn list_metrics(&self, p: &ListMetricsParams) -> Result<String, ServeError> {
        let loaded = self.loaded();
        let (p, budget) = (p.clone(), self.settings.list_budget);
        blocking(move || Ok(catalog::list_metrics(&loaded, &p, budget))).await
    }

    pub fn list_saved_queries(&self, p: &ListSavedQueriesParams) -> Value {
        catalog::saved_queries(&self.loaded(), p)
    }

    fn metrics_of(loaded: &Loaded, p: &MetricsSearchParams) -> Result<Vec<String>, ServeError> {
        let metrics: Vec<String> = p.metrics.0.iter().map(|m| m.trim().to_string()).collect();
        if metrics.is_empty() {
            return Err(ServeError::params(
                "`metrics` is empty; name at least one metric",
            ));
        }
        if let Some(e) = catalog::unknown_metrics(&loaded.model, &metrics) {
            return Err(e);
        }
        Ok(metrics)
    }

    pub async fn get_dimensions(&self, p: &MetricsSearchParams) -> Result<Value, ServeError> {
        let loaded = self.loaded();
        let p = p.clone();
        blocking(move || {
            let metrics = Self::metrics_of(&loaded, &p)?;
            Ok(catalog::dimensions(&loaded, &metrics, p.search.as_deref()))
        })
        .await
    }

    pub async fn get_entities(&self, p: &MetricsSearchParams) -> Result<Value, ServeError> {
        let loaded = self.loaded();
        let p = p.clone();
        blocking(move || {
            let metrics = Self::metrics_of(&loaded, &p)?;
            Ok(catalog::entities(&loaded, &metrics, p.search.as_deref()))
        })
        .await
    }

    /// Compile a query for a dialect (default: the project's, else duckdb).
    pub fn compile(&self, p: &QueryParams) -> Result<Compiled, ServeError> {
        let loaded = self.loaded();
        let d = pick_dialect(&loaded, p.dialect.as_deref())?;
        compile_with(&loaded, p, d, ClockForm::Inline)
    }

    /// Compile for DuckDB and run under the limits.
    pub async fn query(&self, p: &QueryParams) -> Result<QueryResult, ServeError> {
        if p.dialect.as_deref().is_some_and(|d| d != "duckdb") {
            return Err(ServeError::params(
                "queries run on DuckDB; `dialect` applies to compiling SQL only",
            ));
        }
        let loaded = self.loaded();
        let compiled = compile_with(&loaded, p, dialect::Dialect::DuckDb, ClockForm::Relation)?;
        let cap = self.executor.limits.max_rows;
        let rows = self
            .executor
            .run(&loaded.database, compiled.sql.clone(), cap)
            .await?;
        let mut table = rows.table;
        if !compiled.ordered {
            table
                .rows
                .sort_by(|a, b| tally_duckdb::engine::compare_rows(a, b));
        }
        let warnings = self
            .range_warnings(&loaded, &compiled.business_models)
            .await;
        let warnings = tally_core::diag::to_json(&loaded.model.sources, &warnings);
        Ok(QueryResult {
            table,
            sql: compiled.sql,
            truncated: rows.truncated,
            row_limit: cap,
            warnings,
        })
    }

    /// The range warnings (E0809) of the semantic models a query read: each model's check runs
    /// once per loaded project, under the executor's limits. A check that cannot run (busy,
    /// timed out) warns nothing and is tried again by the next query.
    async fn range_warnings(
        &self,
        loaded: &Loaded,
        models: &[usize],
    ) -> Vec<tally_core::diag::Diagnostic> {
        let model = &loaded.model;
        let mut out = Vec::new();
        for &m in models {
            let known = loaded
                .range_warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&m)
                .cloned();
            let warnings = match known {
                Some(w) => w,
                None => {
                    let Ok(Some(check)) =
                        tally_core::sql::range_check::range_check(model, m, Dialect::DuckDb)
                    else {
                        continue;
                    };
                    let Ok(rows) = self.executor.run(&loaded.database, check.sql, 1).await else {
                        continue;
                    };
                    let w = rows.table.rows.first().map_or_else(Vec::new, |row| {
                        tally_core::model::business_range::range_warnings(
                            &model.semantic_models[m],
                            &model.calendars,
                            &rows.table.columns,
                            row,
                        )
                    });
                    loaded
                        .range_warnings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(m, w.clone());
                    w
                }
            };
            out.extend(warnings);
        }
        out
    }

    /// `get_dimension_values`: distinct values of one dimension, as strings, nulls dropped.
    pub async fn dimension_values(&self, p: &DimensionValuesParams) -> Result<Value, ServeError> {
        if p.limit == 0 {
            return Err(ServeError::params("`limit` must be at least 1"));
        }
        let loaded = self.loaded();
        let metrics: Vec<String> = p
            .metrics
            .iter()
            .flat_map(|m| m.0.iter())
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if let Some(e) = catalog::unknown_metrics(&loaded.model, &metrics) {
            return Err(e);
        }
        let params = QueryParams {
            metrics: crate::params::Names(metrics),
            group_by: Some(vec![crate::params::GroupByParam::Name(p.dimension.clone())]),
            ..QueryParams::default()
        };
        let compiled = compile_with(
            &loaded,
            &params,
            dialect::Dialect::DuckDb,
            ClockForm::Relation,
        )?;
        // Values beyond the server's row cap are not read either.
        let cap = (p.limit as usize).min(self.executor.limits.max_rows.max(1));
        // Nulls are dropped after reading, so read one more row per possible null group.
        let rows = self
            .executor
            .run(&loaded.database, compiled.sql, cap + 1)
            .await?;
        let mut table = rows.table;
        table
            .rows
            .sort_by(|a, b| tally_duckdb::engine::compare_rows(a, b));
        let mut values: Vec<String> = Vec::new();
        for r in &table.rows {
            match r.first() {
                Some(Cell::Null) | None => {}
                Some(v) => {
                    let s = v.to_string();
                    if !values.contains(&s) {
                        values.push(s);
                    }
                }
            }
        }
        let truncated = values.len() > cap || rows.truncated;
        values.truncate(cap);
        Ok(json!({"values": values, "truncated": truncated}))
    }

    /// `tally_metric_lineage`: a metric's inputs down to source columns, dependents and owners.
    pub fn lineage(&self, metric: &str) -> Result<Value, ServeError> {
        let loaded = self.loaded();
        tally_core::graph::lineage(&loaded.model, metric)
            .map(|l| tally_core::graph::lineage_to_json(&l))
            .map_err(|d| {
                let mut e = ServeError::from_diagnostics(&loaded.model.sources, &[d]);
                e.status = 404;
                e
            })
    }

    /// The metric tree (metrics, drivers, owners) as the graph's JSON.
    pub fn graph(&self, full: bool) -> Value {
        let loaded = self.loaded();
        let g = tally_core::graph::build_graph(&loaded.model);
        let opts = if full {
            tally_core::graph::GraphOptions::full()
        } else {
            tally_core::graph::GraphOptions::metric_tree()
        };
        tally_core::graph::to_json(&g, &opts)
    }

    /// `tally_validate`: every diagnostic of the project on disk now (not only the loaded one).
    pub fn validate(&self) -> Value {
        let root = self.project.options().root.clone();
        let (model, diags) = tally_core::pipeline::load_model(
            &root,
            &self.project.options().load,
            &tally_templates::builtin(),
        );
        let errors = diags.iter().filter(|d| d.is_error()).count();
        json!({
            "errors": errors,
            "warnings": diags.len() - errors,
            "diagnostics": tally_core::diag::to_json(&model.sources, &diags),
        })
    }

    /// `tally_run_metric_tests`: the project's metric tests, each on its own in-memory DuckDB.
    pub async fn run_tests(&self, p: &TestsParams) -> Result<Value, ServeError> {
        let loaded = self.loaded();
        let permit = self.executor.slot()?;
        let filter = p.filter.clone();
        let reports = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let reports = tally_duckdb::testing::run_tests(&loaded.model, filter.as_deref());
            reports
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "passed": r.passed(),
                        "diagnostics": tally_core::diag::to_json(&loaded.model.sources, &r.to_diagnostics()),
                    })
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| {
            ServeError::new(
                codes::SERVE_EXECUTION,
                500,
                format!("the metric tests stopped unexpectedly: {e}"),
            )
        })?;
        let passed = reports
            .iter()
            .filter(|r| r["passed"] == json!(true))
            .count();
        Ok(json!({"passed": passed, "failed": reports.len() - passed, "tests": reports}))
    }
}

/// Run planner-heavy work on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ServeError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ServeError::new(
            codes::SERVE_EXECUTION,
            500,
            format!("the request stopped unexpectedly: {e}"),
        )
    })?
}

fn pick_dialect(loaded: &Loaded, name: Option<&str>) -> Result<Dialect, ServeError> {
    let name = name
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(loaded.model.default_dialect.as_deref())
        .unwrap_or("duckdb");
    name.parse::<Dialect>().map_err(|unknown| {
        let d = unknown.diagnostic();
        d.help.into_iter().fold(
            ServeError::new(codes::SERVE_PARAMS, 400, unknown.to_string()),
            ServeError::with_help,
        )
    })
}

/// Compile for `d`: self-contained SQL for clients (`ClockForm::Inline`), or the business clocks
/// read from the temporary tables of the connection for a query run here (`Relation`).
fn compile_with(
    loaded: &Loaded,
    p: &QueryParams,
    d: Dialect,
    clock: ClockForm,
) -> Result<Compiled, ServeError> {
    let model = &loaded.model;
    let metrics: Vec<String> = p.metrics.0.iter().map(|m| m.trim().to_string()).collect();
    if let Some(e) = catalog::unknown_metrics(model, &metrics) {
        return Err(e);
    }
    let req = crate::query::request(model, p)?;
    let compiled = tally_core::pipeline::compile_with(model, d, clock, &req)
        .map_err(|diags| ServeError::from_diagnostics(&model.sources, &diags))?;
    only_one_select(d, &compiled.sql)?;
    Ok(Compiled {
        sql: compiled.sql,
        dialect: d.name(),
        ordered: crate::query::has_order(&req),
        business_models: tally_core::sql::range_check::business_models_read(
            model,
            &compiled.plan.query,
        ),
    })
}

/// The second check on what reaches the database: the compiled SQL is one statement, a query.
fn only_one_select(d: Dialect, sql: &str) -> Result<(), ServeError> {
    let parsed = sqlparser::parser::Parser::parse_sql(d.parser().as_ref(), sql);
    match parsed.as_deref() {
        Ok([sqlparser::ast::Statement::Query(_)]) => Ok(()),
        _ => Err(ServeError::new(
            codes::SERVE_FILTER,
            422,
            "the compiled SQL is not exactly one SELECT statement; the request is refused",
        )
        .with_help("check the where filter: it must be one condition")),
    }
}
