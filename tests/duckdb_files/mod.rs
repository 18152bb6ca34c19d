//! DuckDB files for the CLI tests that need data: a separate module from `common`, so that the
//! test files that only run the `tally` binary do not link DuckDB (each link of it is about 100 MB
//! and 20 s of CPU). A test file that uses it declares `mod common; mod duckdb_files;`.
#![allow(dead_code)] // Each test file uses its own subset.

use crate::common::metricflow_dir;
use std::path::Path;

/// A new DuckDB database at `path` made by the statements of `sql`.
pub(crate) fn duckdb_file(path: &Path, sql: &str) {
    let conn = tally_duckdb::engine::open(Some(path)).expect("create DuckDB");
    conn.execute_batch(sql).expect("DuckDB statements");
    conn.close().map_err(|(_, e)| e).expect("close DuckDB");
}

/// A new DuckDB database at `path` with MetricFlow's fixture tables in schema `mf_src`.
pub(crate) fn metricflow_db(path: &Path) {
    let conn = tally_duckdb::engine::open(Some(path)).expect("create DuckDB");
    tally_conformance::load_fixtures(&conn, &metricflow_dir(), tally_conformance::SOURCE_SCHEMA)
        .expect("MetricFlow's fixtures load");
    conn.close().map_err(|(_, e)| e).expect("close DuckDB");
}
