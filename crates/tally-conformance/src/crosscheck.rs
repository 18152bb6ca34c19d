//! What the tests that run tally's SQL on other engines share (`tests/postgres.rs` for PostgreSQL,
//! `tests/warehouses.rs` for the warehouse families): the queries compared, the data they read and
//! the expected rows.
//!
//! [`Suite::load`] loads MetricFlow's fixture tables (schema [`conformance::SOURCE_SCHEMA`]) and a
//! small Intercom sample (schema [`INTERCOM_SCHEMA`]) into one DuckDB connection and lists the
//! queries: every MetricFlow conformance case and every metric of the repository's Intercom
//! project, alone and by `metric_time__month`. [`Suite::compile`] gives a query's SQL in any
//! dialect; DuckDB's rows for the DuckDB SQL are the expectation ([`Suite::expected`]), compared
//! with the conformance runner's rules ([`conformance::compare`]). [`export_schema`] writes a
//! schema's tables as CSV files with their DuckDB column types, for loading into another engine.
//! Nothing here prints.

use std::fs;
use std::path::{Path, PathBuf};

use tally_core::dialect::{self, Dialect};
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::yaml::Spanned;

use crate as conformance;
use crate::tally::TallyCompiler;
use crate::{Case, Table};
use tally_sample::{self as sample, SampleOptions};

pub const INTERCOM_SCHEMA: &str = "intercom";
const INTERCOM_CONVERSATIONS: usize = 2_000;
const INTERCOM_SEED: u64 = 42;

/// How a compared query is stated.
enum Source {
    /// A conformance case, compiled from its manifest (a directory of the suite's copy).
    Case(PathBuf),
    /// A metric query on the repository's Intercom project.
    Intercom(QueryRequest),
}

/// One compared query.
pub struct Query {
    /// `file::case` or `intercom::metric [by metric_time__month]`.
    pub id: String,
    /// The comparison options (order checked or not, ...).
    pub case: Case,
    /// Why the query cannot be compared on any engine (the conformance runner skips it too).
    pub skip: Option<String>,
    source: Source,
}

/// The queries, the data in DuckDB and what compiles them.
pub struct Suite {
    pub queries: Vec<Query>,
    compiler: TallyCompiler,
    intercom: Model,
    _manifests: tempfile::TempDir,
}

/// The package's directory: the one cargo gives the running test or binary (`CARGO_MANIFEST_DIR`
/// in its environment) before the one compiled in. The compiled-in one is that of the checkout
/// that last compiled this crate, and cargo does not compile a crate again when only the
/// checkout's place changed: a second clone sharing the build cache read the first one's files
/// (or failed when it was gone).
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The repository root (the Intercom project).
pub fn repo_root() -> PathBuf {
    manifest_dir().join("../..")
}

/// MetricFlow's conformance data, vendored in `tests/metricflow`.
pub fn metricflow_dir() -> PathBuf {
    repo_root().join("tests/metricflow")
}

impl Suite {
    /// Loads both data sets into `duck` and lists the queries.
    pub fn load(duck: &duckdb::Connection) -> Result<Suite, String> {
        let dir = metricflow_dir();
        if !dir.is_dir() {
            return Err(format!(
                "MetricFlow data not found at {} (vendored in tests/metricflow)",
                dir.display()
            ));
        }
        let cases = conformance::load_cases(&dir)?;
        conformance::load_fixtures(duck, &dir, conformance::SOURCE_SCHEMA)?;
        let manifests = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        conformance::prepare_manifests(&dir, conformance::SOURCE_SCHEMA, manifests.path())?;
        let mut queries: Vec<Query> = cases
            .into_iter()
            .map(|case| Query {
                id: case.id(),
                skip: case.skip_reason(),
                source: Source::Case(manifests.path().join(&case.model)),
                case,
            })
            .collect();

        let (intercom, diags) = tally_core::pipeline::load_model(
            &repo_root(),
            &Default::default(),
            &tally_templates::builtin(),
        );
        let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            return Err(tally_core::diag::render_human(
                &intercom.sources,
                &errors,
                false,
            ));
        }
        let opts = SampleOptions {
            conversations: INTERCOM_CONVERSATIONS,
            seed: INTERCOM_SEED,
            schema: INTERCOM_SCHEMA.to_string(),
            progress: false,
        };
        sample::generate_intercom(duck, &opts).map_err(|e| format!("sample data: {e}"))?;
        for name in intercom.metrics.keys() {
            for group_by in [None, Some("metric_time__month")] {
                let req = QueryRequest {
                    metrics: vec![Spanned::synthetic(name.clone())],
                    group_by: group_by
                        .map(|g| Spanned::synthetic(g.to_string()))
                        .into_iter()
                        .collect(),
                    ..QueryRequest::default()
                };
                let id = match group_by {
                    None => format!("intercom::{name}"),
                    Some(g) => format!("intercom::{name} by {g}"),
                };
                queries.push(Query {
                    id,
                    case: Case::default(),
                    skip: None,
                    source: Source::Intercom(req),
                });
            }
        }
        Ok(Suite {
            queries,
            compiler: TallyCompiler::default(),
            intercom,
            _manifests: manifests,
        })
    }

    /// tally's SQL for `query` in `dialect`, or the rendered diagnostics.
    pub fn compile(&self, query: &Query, dialect: Dialect) -> Result<String, String> {
        match &query.source {
            Source::Case(manifest) => self.compiler.compile_with(&query.case, manifest, dialect),
            Source::Intercom(req) => tally_core::pipeline::compile(&self.intercom, dialect, req)
                .map(|c| c.sql)
                .map_err(|ds| tally_core::diag::render_human(&self.intercom.sources, &ds, false)),
        }
    }

    /// DuckDB's rows for tally's DuckDB SQL of `query`: the expectation for every other engine.
    /// `Err` says why there is nothing to compare with (tally cannot compile or DuckDB cannot run
    /// the query).
    pub fn expected(&self, duck: &duckdb::Connection, query: &Query) -> Result<Table, String> {
        let first = |s: &str| s.lines().next().unwrap_or("").to_string();
        let sql = self
            .compile(query, dialect::Dialect::DuckDb)
            .map_err(|e| format!("no DuckDB SQL: {}", first(&e)))?;
        conformance::query_table(duck, &sql).map_err(|e| format!("DuckDB fails: {}", first(&e)))
    }
}

/// A table written by [`export_schema`].
#[derive(Debug, Clone)]
pub struct ExportedTable {
    pub schema: String,
    pub table: String,
    /// Column names and their DuckDB types (`information_schema.columns.data_type`).
    pub columns: Vec<(String, String)>,
    /// RFC 4180 CSV without a header; NULL is written as the `null_mark` passed to the export.
    pub csv: PathBuf,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Writes every table of `schema` to `<dir>/<schema>.<table>.csv` (timestamps as
/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, every value quoted so that an empty string is not read as NULL,
/// NULL unquoted as `null_mark`) and returns the tables with their column
/// types, in name order.
pub fn export_schema(
    duck: &duckdb::Connection,
    schema: &str,
    dir: &Path,
    null_mark: &str,
) -> Result<Vec<ExportedTable>, String> {
    let mut stmt = duck
        .prepare(
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = ? ORDER BY table_name, ordinal_position",
        )
        .map_err(|e| e.to_string())?;
    let cols: Vec<(String, String, String)> = stmt
        .query_map([schema], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut tables: Vec<ExportedTable> = Vec::new();
    for (table, column, ty) in cols {
        match tables.last_mut() {
            Some(t) if t.table == table => t.columns.push((column, ty)),
            _ => tables.push(ExportedTable {
                schema: schema.to_string(),
                csv: dir.join(format!("{schema}.{table}.csv")),
                table,
                columns: vec![(column, ty)],
            }),
        }
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for t in &tables {
        let csv_text = t.csv.to_string_lossy().into_owned();
        if csv_text.contains('\'') {
            return Err(format!("unusable scratch path {csv_text}"));
        }
        duck.execute_batch(&format!(
            "COPY {}.{} TO {} (FORMAT csv, HEADER false, NULL {}, FORCE_QUOTE *)",
            quote_ident(schema),
            quote_ident(&t.table),
            quote_str(&csv_text),
            quote_str(null_mark)
        ))
        .map_err(|e| format!("exporting {schema}.{} from DuckDB: {e}", t.table))?;
    }
    Ok(tables)
}
