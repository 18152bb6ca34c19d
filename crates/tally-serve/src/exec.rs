//! Running compiled queries for servers: a read-only, locked-down DuckDB, a statement timeout that
//! interrupts DuckDB, a row cap and a limit on concurrent queries.

use crate::error::ServeError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tally_core::diag::codes;
use tally_duckdb::duckdb;
use tally_duckdb::engine::ResultTable;
use tokio::sync::Semaphore;

/// The settings that lock DuckDB down, applied when the database is opened: no file or network
/// access beyond the database itself, no extension installed or loaded on demand, and no `SET`
/// that could undo any of it.
pub const LOCKDOWN: &[(&str, &str)] = &[
    ("enable_external_access", "false"),
    ("autoinstall_known_extensions", "false"),
    ("autoload_known_extensions", "false"),
    ("allow_community_extensions", "false"),
    ("lock_configuration", "true"),
];

/// The project's database, opened once; every query runs on its own connection to it.
pub struct Database {
    conn: std::sync::Mutex<duckdb::Connection>,
    pub path: Option<std::path::PathBuf>,
    /// The project's business clocks, shared with its model and expanded when a query first
    /// reads one: those a query reads are created as temporary tables of its connection.
    pub clocks: Vec<Arc<tally_core::calendar::clock::LazyClock>>,
}

impl Database {
    /// Open a database file read-only (an in-memory database without a file), locked down.
    pub fn open(path: Option<&Path>) -> Result<Database, ServeError> {
        let fail = |e: duckdb::Error| {
            ServeError::new(
                codes::SERVE_CONFIG,
                500,
                format!(
                    "cannot open the DuckDB database{}: {e}",
                    path.map(|p| format!(" {}", p.display()))
                        .unwrap_or_default()
                ),
            )
        };
        let mut config = duckdb::Config::default();
        if path.is_some() {
            config = config
                .access_mode(duckdb::AccessMode::ReadOnly)
                .map_err(fail)?;
        }
        for (k, v) in LOCKDOWN {
            config = config.with(k, v).map_err(fail)?;
        }
        let conn = match path {
            Some(p) => duckdb::Connection::open_with_flags(p, config),
            None => duckdb::Connection::open_in_memory_with_flags(config),
        }
        .map_err(fail)?;
        Ok(Database {
            conn: std::sync::Mutex::new(conn),
            path: path.map(Path::to_path_buf),
            clocks: Vec::new(),
        })
    }

    /// A new connection to the same database (same settings), with the business clocks `sql`
    /// reads as temporary tables and the local engine's date functions
    /// (`tally_duckdb::engine::install_date_functions`).
    pub fn connect(&self, sql: &str) -> Result<duckdb::Connection, ServeError> {
        let guard = match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let fail = |e: duckdb::Error| {
            ServeError::new(
                codes::SERVE_EXECUTION,
                500,
                format!("cannot connect to DuckDB: {e}"),
            )
        };
        let conn = guard.try_clone().map_err(fail)?;
        tally_duckdb::engine::install_date_functions(&conn).map_err(fail)?;
        for c in tally_duckdb::clock::read_lazy(&self.clocks, sql) {
            tally_duckdb::clock::install_clock(&conn, c).map_err(fail)?;
        }
        Ok(conn)
    }
}

/// Limits on what one request may cost.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall time of one statement; DuckDB is interrupted after it.
    pub statement_timeout: Duration,
    /// Rows a query returns at most (more are reported as truncated).
    pub max_rows: usize,
    /// Queries running at once; one more is refused (HTTP 503).
    pub max_concurrent: usize,
    /// Bytes of a request body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            statement_timeout: Duration::from_secs(30),
            max_rows: 1000,
            max_concurrent: 4,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Runs queries under the limits.
pub struct Executor {
    pub limits: Limits,
    slots: Arc<Semaphore>,
}

/// Rows of a query and whether the row cap cut them.
pub struct Rows {
    pub table: ResultTable,
    pub truncated: bool,
}

impl Executor {
    pub fn new(limits: Limits) -> Executor {
        let slots = Arc::new(Semaphore::new(limits.max_concurrent.max(1)));
        Executor { limits, slots }
    }

    /// Queries running now (slots taken).
    pub fn running(&self) -> usize {
        self.limits
            .max_concurrent
            .max(1)
            .saturating_sub(self.slots.available_permits())
    }

    /// Take a slot for one query, or refuse at once when all are taken.
    pub fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ServeError> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            ServeError::new(
                codes::SERVE_LIMIT,
                503,
                format!(
                    "the server is busy: {} queries are running, the most it runs at once",
                    self.limits.max_concurrent
                ),
            )
            .with_help("retry in a moment")
        })
    }

    /// Run `sql` with at most `max_rows` rows, interrupting DuckDB after the statement timeout.
    /// The slot is held until DuckDB has really stopped, not only until the caller gave up.
    pub async fn run(
        &self,
        db: &Database,
        sql: String,
        max_rows: usize,
    ) -> Result<Rows, ServeError> {
        let permit = self.slot()?;
        let conn = db.connect(&sql)?;
        let interrupt = conn.interrupt_handle();
        let mut task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            tally_duckdb::engine::run_capped(&conn, &sql, max_rows)
        });
        let timeout = self.limits.statement_timeout;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(Ok((table, truncated)))) => Ok(Rows { table, truncated }),
            Ok(Ok(Err(e))) => Err(ServeError::new(
                codes::SERVE_EXECUTION,
                500,
                format!("DuckDB could not run the query: {e}"),
            )
            .with_help("see the SQL with get_metrics_compiled_sql (or `tally sql`)")),
            Ok(Err(join)) => Err(ServeError::new(
                codes::SERVE_EXECUTION,
                500,
                format!("the query stopped unexpectedly: {join}"),
            )),
            Err(_) => {
                // An interrupt that lands before DuckDB starts executing is lost, so repeat it
                // until the statement has stopped (it stops at its next check, within moments).
                loop {
                    interrupt.interrupt();
                    if tokio::time::timeout(Duration::from_millis(50), &mut task)
                        .await
                        .is_ok()
                    {
                        break;
                    }
                }
                Err(ServeError::new(
                    codes::SERVE_LIMIT,
                    504,
                    format!(
                        "the query ran longer than the statement timeout ({} ms) and was interrupted",
                        timeout.as_millis()
                    ),
                )
                .with_help("simplify the query: fewer metrics or group-by items, a coarser grain, a time range"))
            }
        }
    }
}
