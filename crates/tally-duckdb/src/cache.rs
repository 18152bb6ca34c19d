//! The materialisation cache: the relations of `sql:` semantic models (and their relations with
//! business durations, which join the business clock: with every duration of the model, which
//! serves a query of any of them) computed once on the local DuckDB and read back as tables
//! while nothing they depend on has changed.
//!
//! Where: a tally-owned DuckDB file beside the project's database (`<stem>.tally-cache.duckdb`,
//! [`cache_path`]; a DuckDB database there with tables of its own is not tally's and is left
//! alone), ATTACHed as `tally_cache` before the connection is sealed. The user's
//! database is never written (it stays read-only). No file, no cache: an in-memory database runs
//! uncached.
//!
//! Keys: a table per rendered SQL text (`m_<digest of tally's version, DuckDB's version and the
//! SQL rendered for DuckDB>`, so a changed `sql:`, macro or var is another table), valid while the
//! source state recorded with it is the database file's current state ([`source_state`]: device,
//! inode, size, modification and change times of the file and of its WAL). The connection is
//! sealed (no file access), so a model's SQL reads nothing but that database: any write to it,
//! or a new file renamed over it, changes the state and invalidates every entry (coarse but
//! correct). Reads are stable while the connection is open: a read-only open holds a shared lock.
//!
//! Results: the rows of a query run on the local DuckDB (`tally query`, the calendar range
//! check) are kept too, one row of `tally_query_results` per SQL text (keyed like a table, by the
//! text as DuckDB runs it, which names the cached relations and each calendar's fingerprint)
//! holding the rows as tally read them ([`encode_result`]), valid while the source state is the
//! one recorded with it ([`Session::stored_result`], [`Session::run_and_keep`]). A repeated query
//! then reads its rows instead of computing them again. A row, not a table per result: the
//! catalog DuckDB reads on every attach stays the size of the relations, and a kept result is
//! exactly the values the first run printed. Not kept: SQL that calls a function of the clock,
//! chance or session state (`tally_core::sql::volatile`: its result changes while the data does
//! not), results over [`RESULT_ROWS_MAX`] rows or [`RESULT_BYTES_MAX`] bytes, and anything with
//! `--cache off`.
//!
//! The key also holds DuckDB's `TimeZone` setting (where DuckDB has one): casts between
//! timestamps with and without a zone depend on it.
//!
//! Concurrency: DuckDB lets one process open a file for writing. A second `tally` process that
//! finds the cache file locked runs without the cache (same results, the reason in `-v`); a
//! materialisation is one transaction, so a crash leaves the old state.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use duckdb::Connection;
use tally_core::model::{Model, Relation};
use tally_core::plan::Plan;
use tally_core::sql::{Select, TableRef};

/// The catalog name of the attached cache database.
pub const CATALOG: &str = "tally_cache";
const ENTRIES: &str = "tally_cache.main.tally_cache_entries";
const RESULTS: &str = "tally_cache.main.tally_query_results";

/// Query results of more rows than this are returned but not kept: a result that large is a
/// listing, not an answer a dashboard asks for again, and would grow the cache file by its size.
pub const RESULT_ROWS_MAX: u64 = 100_000;
/// Nor are results whose encoding is larger than this (wide rows, long texts).
pub const RESULT_BYTES_MAX: usize = 16_000_000;

/// `--cache`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Reuse fresh entries, build missing or stale ones.
    On,
    /// Never attach or read the cache.
    Off,
    /// Rebuild every entry the command uses.
    Refresh,
}

/// Whether the cache is usable on a connection, and why not.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Attached(PathBuf),
    Off,
    Unavailable(String),
}

/// What happened to one relation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Read from the cache.
    Hit { rows: u64 },
    /// Computed and stored (first use, a changed source or `--cache refresh`).
    Built {
        rows: u64,
        millis: u64,
        replaced: bool,
    },
    /// Not cached; the model's SQL runs in the query.
    Skipped(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub model: String,
    pub business: bool,
    pub outcome: Outcome,
}

/// Why [`Session::run_query`] failed: creating the business clocks the SQL reads, or the query.
#[derive(Debug)]
pub enum RunError {
    Clocks(duckdb::Error),
    Query(duckdb::Error),
}

/// What happened to the result of one query: `what` names it for `-v` (`the query`, `the range
/// check of conversations`).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultEvent {
    pub what: String,
    pub outcome: Outcome,
}

/// A connection's cache: the state the entries are checked against, and what was done.
#[derive(Debug)]
pub struct Session {
    pub mode: Mode,
    pub status: Status,
    state: String,
    /// DuckDB's version and time zone, read once per session ([`duckdb_version`]).
    version: Option<String>,
    /// Stale tables and results removed by this session's first write ([`Session::prune`]), or
    /// `None` before it.
    pub pruned: Option<(u64, u64)>,
    pub events: Vec<Event>,
    pub results: Vec<ResultEvent>,
}

impl Session {
    /// A session that never caches (in-memory databases, metric tests).
    pub fn off() -> Session {
        Session {
            mode: Mode::Off,
            status: Status::Off,
            state: String::new(),
            version: None,
            pruned: None,
            events: Vec::new(),
            results: Vec::new(),
        }
    }

    pub fn attached(&self) -> bool {
        matches!(self.status, Status::Attached(_))
    }

    /// One line per event, and the status when the cache is not used (`-v`).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.status {
            Status::Off => out.push("cache: off".to_string()),
            Status::Unavailable(why) => out.push(format!("cache: not used: {why}")),
            Status::Attached(_) => {}
        }
        for e in &self.events {
            let what = if e.business {
                format!("{} (with business durations)", e.model)
            } else {
                e.model.clone()
            };
            out.push(match &e.outcome {
                Outcome::Hit { rows } => format!("cache: {what}: hit ({rows} rows)"),
                Outcome::Built {
                    rows,
                    millis,
                    replaced,
                } => format!(
                    "cache: {what}: {} in {millis} ms ({rows} rows)",
                    if *replaced { "rebuilt" } else { "built" }
                ),
                Outcome::Skipped(why) => format!("cache: {what}: not cached: {why}"),
            });
        }
        if let Some((tables, results)) = self.pruned.filter(|&(t, r)| t + r > 0) {
            out.push(format!(
                "cache: removed {tables} stale table(s) and {results} stale result(s), built \
                 against an earlier state of the database"
            ));
        }
        for r in &self.results {
            let what = &r.what;
            out.push(match &r.outcome {
                Outcome::Hit { rows } => {
                    format!("cache: result of {what}: hit ({})", plural_rows(*rows))
                }
                Outcome::Built { rows, millis, .. } => format!(
                    "cache: result of {what}: kept ({}, computed in {millis} ms)",
                    plural_rows(*rows)
                ),
                Outcome::Skipped(why) => format!("cache: result of {what}: not kept: {why}"),
            });
        }
        out
    }
}

fn plural_rows(n: u64) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

/// The cache file of a database file, beside it: `<stem>.tally-cache.duckdb` for `<stem>.duckdb`,
/// `<name>.tally-cache.db` for any other name (`a.db` -> `a.db.tally-cache.db`, `a` ->
/// `a.tally-cache.db`). One name a database: `a.duckdb`, `a.db` and `a` beside each other have
/// caches of their own.
pub fn cache_path(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    match name.strip_suffix(".duckdb").filter(|stem| !stem.is_empty()) {
        Some(stem) => db.with_file_name(format!("{stem}.tally-cache.duckdb")),
        None => db.with_file_name(format!("{name}.tally-cache.db")),
    }
}

/// Whether the DuckDB database attached as `catalog` may be used as tally's cache: it holds
/// tally's entries table, or no table or view at all (a file tally has just created). Any other
/// database at the cache's path is someone else's, never written or deleted.
fn is_ours(conn: &Connection, catalog: &str) -> Result<bool, String> {
    conn.query_row(
        "SELECT count(*) FILTER (WHERE schema_name = 'main' AND table_name = 'tally_cache_entries'), count(*) \
         FROM (SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? \
               UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal)",
        [catalog, catalog],
        |r| Ok(r.get::<_, i64>(0)? > 0 || r.get::<_, i64>(1)? == 0),
    )
    .map_err(|e| first_line(&e))
}

/// The state of a database file that the cached relations depend on: identity, size and times of
/// the file and of its write-ahead log. Anything that writes the database changes it.
pub fn source_state(db: &Path) -> Result<String, String> {
    let part = |p: &Path| -> Result<String, String> {
        match std::fs::metadata(p) {
            Ok(m) => Ok(meta_state(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("-".into()),
            Err(e) => Err(format!("cannot inspect {}: {e}", p.display())),
        }
    };
    let mut wal = db.as_os_str().to_os_string();
    wal.push(".wal");
    Ok(format!("{} wal {}", part(db)?, part(Path::new(&wal))?))
}

#[cfg(unix)]
fn meta_state(m: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "dev {} ino {} size {} mtime {}.{} ctime {}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    )
}

#[cfg(not(unix))]
fn meta_state(m: &std::fs::Metadata) -> String {
    let t = |r: std::io::Result<std::time::SystemTime>| {
        r.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    };
    format!("size {} mtime {}", m.len(), t(m.modified()))
}

/// DuckDB's file header: an 8-byte checksum, then the magic bytes `DUCK`.
fn is_duckdb_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 12];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head[8..12] == b"DUCK"
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Attach the cache of `db` to a connection on it (before it is sealed). Never fails: a cache
/// that cannot be used (locked by another process, a read-only directory, a file that is not
/// tally's) leaves the connection as it was, with the reason in the session.
pub fn attach(conn: &Connection, db: &Path, mode: Mode) -> Session {
    let mut session = Session::off();
    session.mode = mode;
    if mode == Mode::Off {
        return session;
    }
    let path = cache_path(db);
    session.status = match try_attach(conn, db, &path) {
        Ok(state) => {
            session.state = state;
            Status::Attached(path)
        }
        Err(why) => Status::Unavailable(why),
    };
    session
}

fn try_attach(conn: &Connection, db: &Path, path: &Path) -> Result<String, String> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        if m.len() > 0 && !is_duckdb_file(path) {
            return Err(format!(
                "{} exists and is not a DuckDB database",
                path.display()
            ));
        }
    }
    let state = source_state(db)?;
    let sql = format!(
        "ATTACH {} AS {CATALOG} (READ_WRITE)",
        quote_literal(&path.to_string_lossy())
    );
    conn.execute_batch(&sql)
        .map_err(|e| format!("cannot open {}: {}", path.display(), first_line(&e)))?;
    if !is_ours(conn, CATALOG).unwrap_or(false) {
        let _ = conn.execute_batch(&format!("DETACH {CATALOG}"));
        return Err(not_ours(path));
    }
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {ENTRIES} (name VARCHAR PRIMARY KEY, model VARCHAR, \
         business BOOLEAN, source_state VARCHAR, row_count BIGINT, build_ms BIGINT, sql VARCHAR);\n\
         CREATE TABLE IF NOT EXISTS {RESULTS} (key VARCHAR PRIMARY KEY, source_state VARCHAR, \
         row_count BIGINT, run_ms BIGINT, sql VARCHAR, result VARCHAR);"
    );
    if let Err(e) = conn.execute_batch(&create) {
        let _ = conn.execute_batch(&format!("DETACH {CATALOG}"));
        return Err(format!(
            "cannot write {}: {}",
            path.display(),
            first_line(&e)
        ));
    }
    Ok(state)
}

fn first_line(e: &duckdb::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// The `sql:` relations a plan reads: (semantic model, with business durations). A scan of some
/// of a model's business durations counts as its relation with every duration, which is what
/// the cache stores ([`Session::prepare`]).
pub fn relations_read(plan: &Plan) -> BTreeSet<(usize, bool)> {
    fn select(s: &Select, out: &mut BTreeSet<(usize, bool)>) {
        let tables = s.from.iter().chain(s.joins.iter().map(|j| &j.table));
        for t in tables {
            if let TableRef::Subquery {
                model, business, ..
            } = t
            {
                out.insert((*model, *business));
            }
        }
        s.union.iter().for_each(|u| select(u, out));
    }
    let mut out = BTreeSet::new();
    for c in &plan.query.ctes {
        select(&c.select, &mut out);
    }
    select(&plan.query.body, &mut out);
    out
}

/// The version of the DuckDB library `conn` runs on (the bundled one) and its time zone setting
/// (none without ICU); entries of another DuckDB or zone are rebuilt. Asked of the connection the
/// command already has: a second, in-memory database instance for it (as before) initialised
/// DuckDB again on every hit, static extensions and all.
fn duckdb_version(conn: &Connection) -> String {
    conn.query_row(
        "SELECT library_version, (SELECT string_agg(value, ',') FROM duckdb_settings() \
         WHERE name = 'TimeZone') FROM pragma_version()",
        [],
        |r| {
            let version = r.get::<_, String>(0)?;
            Ok(match r.get::<_, Option<String>>(1)? {
                Some(zone) => format!("{version} tz {zone}"),
                None => version,
            })
        },
    )
    .unwrap_or_default()
}

impl Session {
    /// Make the relations in `used` cached tables and point the model at them, so that queries
    /// compiled from `model` afterwards read the tables. Returns whether the model changed (the
    /// caller compiles again). Relations that cannot be cached stay as they were.
    ///
    /// A relation with business durations is stored with every duration of its model, whichever
    /// of them the plan read: one table per model serves a scan of any of its durations (it
    /// holds each row of the model's relation once and each duration's column as a relation
    /// with only that duration computes it), and building it costs about what a relation with
    /// fewer durations does, since the model's own relation (the `sql:` of `conversations`:
    /// most of the time) is computed either way. Tables per set of durations would compute the
    /// model's relation again for each set a query reads.
    pub fn prepare(
        &mut self,
        conn: &Connection,
        model: &mut Model,
        used: &BTreeSet<(usize, bool)>,
    ) -> bool {
        if !self.attached() {
            return false;
        }
        let version = self.version(conn);
        let mut changed = false;
        for &(index, business) in used {
            let Some(sm) = model.semantic_models.get(index) else {
                continue;
            };
            let d = tally_core::dialect::Dialect::DuckDb;
            // The clock read from its temporary tables: the text names each calendar's
            // fingerprint, so a changed calendar is another table.
            let form = tally_core::calendar::duration::ClockForm::Relation;
            let all = sm.business.as_ref().map(|b| b.all());
            let durations = all.as_deref().filter(|_| business);
            let rendered =
                match tally_core::sql::user::render_relation(model, index, durations, d, form) {
                    Some(Ok(s)) => s,
                    Some(Err(_)) | None => continue,
                };
            let name = table_name_with(&version, &rendered);
            let clocks = crate::clock::clocks_read(model, &rendered);
            let outcome = match tally_core::sql::volatile::volatile_word(&rendered) {
                Some(word) => Outcome::Skipped(format!(
                    "its SQL reads `{word}`, whose value changes while the data does not"
                )),
                None => self.ensure(conn, &sm.name, business, &name, &rendered, &clocks),
            };
            let cached = !matches!(outcome, Outcome::Skipped(_));
            self.events.push(Event {
                model: sm.name.clone(),
                business,
                outcome,
            });
            if cached {
                let table = Relation::Table(format!("{CATALOG}.main.{name}"));
                let sm = &mut model.semantic_models[index];
                match (business, sm.business.as_mut()) {
                    (true, Some(b)) => b.set_relation(table),
                    (true, None) => continue,
                    (false, _) => sm.relation = table,
                }
                changed = true;
            }
        }
        changed
    }

    fn ensure(
        &mut self,
        conn: &Connection,
        model: &str,
        business: bool,
        name: &str,
        sql: &str,
        clocks: &[&tally_core::calendar::clock::Clock],
    ) -> Outcome {
        let existing: Option<(String, i64, String)> = conn
            .query_row(
                &format!("SELECT source_state, row_count, sql FROM {ENTRIES} WHERE name = ?"),
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        if let Some((state, rows, text)) = &existing {
            if *state == self.state && text == sql && self.mode == Mode::On {
                return Outcome::Hit {
                    rows: u64::try_from(*rows).unwrap_or(0),
                };
            }
        }
        let started = Instant::now();
        // The clocks the relation reads, as temporary tables, only when it is built.
        if let Some(e) = clocks
            .iter()
            .find_map(|c| crate::clock::install_clock(conn, c).err())
        {
            return Outcome::Skipped(first_line(&e));
        }
        self.prune(conn);
        match self.build(conn, model, business, name, sql) {
            Ok(rows) => Outcome::Built {
                rows,
                millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                replaced: existing.is_some(),
            },
            Err(e) => Outcome::Skipped(e),
        }
    }

    fn build(
        &self,
        conn: &Connection,
        model: &str,
        business: bool,
        name: &str,
        sql: &str,
    ) -> Result<u64, String> {
        let body = sql.trim().trim_end_matches(';');
        let table = format!("{CATALOG}.main.{name}");
        let script = format!(
            "BEGIN TRANSACTION;\nDROP TABLE IF EXISTS {table};\nCREATE TABLE {table} AS\n{body}\n;\n\
             DELETE FROM {ENTRIES} WHERE name = {n};\n",
            n = quote_literal(name)
        );
        let started = Instant::now();
        let run = || -> Result<u64, duckdb::Error> {
            conn.execute_batch(&script)?;
            let rows: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
            conn.execute(
                &format!(
                    "INSERT INTO {ENTRIES} (name, model, business, source_state, row_count, build_ms, sql) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                duckdb::params![name, model, business, self.state, rows, started.elapsed().as_millis() as i64, sql],
            )?;
            conn.execute_batch("COMMIT")?;
            Ok(u64::try_from(rows).unwrap_or(0))
        };
        run().map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            first_line(&e)
        })
    }
}

impl Session {
    fn version(&mut self, conn: &Connection) -> String {
        self.version
            .get_or_insert_with(|| duckdb_version(conn))
            .clone()
    }

    /// Why the result of `sql` is not kept, if it is not: the cache is off or unavailable (an
    /// empty reason: nothing to say), or the SQL's result changes while the data does not.
    fn result_not_kept(&self, sql: &str) -> Option<String> {
        if !self.attached() {
            return Some(String::new());
        }
        tally_core::sql::volatile::volatile_word(sql)
            .map(|w| format!("the SQL reads `{w}`, whose value changes while the data does not"))
    }

    /// The kept result of `sql` when it is fresh (same text, same source state, `--cache on`):
    /// the rows, in their order, and columns the query gave when it was kept. `None` when there
    /// is none or it cannot be read (then the caller runs the query, usually through
    /// [`Session::run_and_keep`]).
    pub fn stored_result(
        &mut self,
        conn: &Connection,
        what: &str,
        sql: &str,
    ) -> Option<crate::engine::ResultTable> {
        let not_kept = self.result_not_kept(sql).is_some();
        self.stored_result_unless(conn, what, sql, not_kept)
    }

    /// [`Session::stored_result`] with whether [`Session::result_not_kept`] says anything of
    /// `sql` already known (the volatile-word scan tokenises the whole SQL: once per query, not
    /// once per step).
    fn stored_result_unless(
        &mut self,
        conn: &Connection,
        what: &str,
        sql: &str,
        not_kept: bool,
    ) -> Option<crate::engine::ResultTable> {
        if self.mode != Mode::On || not_kept {
            return None;
        }
        let key = result_key_with(&self.version(conn), sql);
        let (state, text, encoded): (String, String, String) = conn
            .query_row(
                &format!("SELECT source_state, sql, result FROM {RESULTS} WHERE key = ?"),
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok()?;
        if state != self.state || text != sql {
            return None;
        }
        let table = decode_result(&encoded)?;
        self.results.push(ResultEvent {
            what: what.to_string(),
            outcome: Outcome::Hit {
                rows: table.rows.len() as u64,
            },
        });
        Some(table)
    }

    /// Run `sql` and keep its result for the next run (one row of the cache, replacing a stale
    /// one), unless it is not to be kept ([`RESULT_ROWS_MAX`], [`RESULT_BYTES_MAX`], volatile
    /// SQL, the cache off). The rows and the error are the query's either way: keeping is
    /// attempted only after the query ran, and a failure to keep is said with `-v`.
    pub fn run_and_keep(
        &mut self,
        conn: &Connection,
        what: &str,
        sql: &str,
    ) -> Result<crate::engine::ResultTable, duckdb::Error> {
        let skipped = self.result_not_kept(sql);
        self.run_and_keep_unless(conn, what, sql, skipped)
    }

    /// [`Session::run_and_keep`] with [`Session::result_not_kept`] of `sql` already known.
    fn run_and_keep_unless(
        &mut self,
        conn: &Connection,
        what: &str,
        sql: &str,
        skipped: Option<String>,
    ) -> Result<crate::engine::ResultTable, duckdb::Error> {
        let started = Instant::now();
        let table = crate::engine::run(conn, sql)?;
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = match skipped {
            Some(why) if why.is_empty() => return Ok(table),
            Some(why) => Outcome::Skipped(why),
            None => self.keep(conn, sql, &table, millis),
        };
        self.results.push(ResultEvent {
            what: what.to_string(),
            outcome,
        });
        Ok(table)
    }

    fn keep(
        &mut self,
        conn: &Connection,
        sql: &str,
        table: &crate::engine::ResultTable,
        millis: u64,
    ) -> Outcome {
        let rows = table.rows.len() as u64;
        if rows > RESULT_ROWS_MAX {
            return Outcome::Skipped(format!(
                "{rows} rows, more than the {RESULT_ROWS_MAX} a kept result holds"
            ));
        }
        let encoded = encode_result(table);
        if encoded.len() > RESULT_BYTES_MAX {
            return Outcome::Skipped(format!(
                "{} MB, more than the {} MB a kept result holds",
                encoded.len() / 1_000_000,
                RESULT_BYTES_MAX / 1_000_000
            ));
        }
        self.prune(conn);
        let key = result_key_with(&self.version(conn), sql);
        let replaced = conn
            .query_row(
                &format!("SELECT count(*) FROM {RESULTS} WHERE key = ?"),
                [&key],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            > 0;
        let write = || -> Result<(), duckdb::Error> {
            conn.execute_batch("BEGIN TRANSACTION")?;
            conn.execute(&format!("DELETE FROM {RESULTS} WHERE key = ?"), [&key])?;
            conn.execute(
                &format!(
                    "INSERT INTO {RESULTS} (key, source_state, row_count, run_ms, sql, result) \
                     VALUES (?, ?, ?, ?, ?, ?)"
                ),
                duckdb::params![key, self.state, rows as i64, millis as i64, sql, encoded],
            )?;
            conn.execute_batch("COMMIT")
        };
        match write() {
            Ok(()) => Outcome::Built {
                rows,
                millis,
                replaced,
            },
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Outcome::Skipped(first_line(&e))
            }
        }
    }

    /// Before this session's first write: drop the tables and results built against another
    /// state of the database. They can never be fresh again (the state holds the file's inode and
    /// change time, which no write or restore brings back), so they only hold space. In its own
    /// transaction; a failure leaves them for the next write.
    fn prune(&mut self, conn: &Connection) {
        if self.pruned.is_some() {
            return;
        }
        let run = || -> Result<(u64, u64), duckdb::Error> {
            let mut stmt = conn.prepare(&format!(
                "SELECT name FROM {ENTRIES} WHERE source_state <> ? ORDER BY name"
            ))?;
            let stale = stmt
                .query_map([&self.state], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            conn.execute_batch("BEGIN TRANSACTION")?;
            for name in &stale {
                // Only names tally gives its tables reach SQL (the file could be anyone's).
                if is_table_name(name) {
                    conn.execute_batch(&format!("DROP TABLE IF EXISTS {CATALOG}.main.{name}"))?;
                }
                conn.execute(&format!("DELETE FROM {ENTRIES} WHERE name = ?"), [name])?;
            }
            let results = conn.execute(
                &format!("DELETE FROM {RESULTS} WHERE source_state <> ?"),
                [&self.state],
            )?;
            conn.execute_batch("COMMIT")?;
            Ok((stale.len() as u64, results as u64))
        };
        self.pruned = Some(run().unwrap_or_else(|_| {
            let _ = conn.execute_batch("ROLLBACK");
            (0, 0)
        }));
    }

    /// What every command that runs a query of `model` on the local DuckDB does: the kept result
    /// of `sql`, else the business clocks it reads created ([`crate::clock::install_read`], only
    /// then: a kept result needs none) and the query run, its result kept.
    pub fn run_query(
        &mut self,
        conn: &Connection,
        model: &Model,
        what: &str,
        sql: &str,
    ) -> Result<crate::engine::ResultTable, RunError> {
        let not_kept = self.result_not_kept(sql);
        if let Some(t) = self.stored_result_unless(conn, what, sql, not_kept.is_some()) {
            return Ok(t);
        }
        crate::clock::install_read(conn, model, sql).map_err(RunError::Clocks)?;
        self.run_and_keep_unless(conn, what, sql, not_kept)
            .map_err(RunError::Query)
    }

    /// [`Session::stored_result`], else [`Session::run_and_keep`].
    pub fn query(
        &mut self,
        conn: &Connection,
        what: &str,
        sql: &str,
    ) -> Result<crate::engine::ResultTable, duckdb::Error> {
        let not_kept = self.result_not_kept(sql);
        match self.stored_result_unless(conn, what, sql, not_kept.is_some()) {
            Some(t) => Ok(t),
            None => self.run_and_keep_unless(conn, what, sql, not_kept),
        }
    }
}

/// The key of a query's result: [`table_name_with`] of the text marked as a result.
fn result_key_with(version: &str, sql: &str) -> String {
    let name = table_name_with(&format!("{version} result"), sql);
    format!("q_{}", &name[2..])
}

/// A result as one JSON text: `{"columns": [..], "rows": [[cell, ..], ..]}`, a cell being `null`,
/// `true`/`false`, an integer (`Value::Int`), a string (`Value::Text`), `["f", "<f64>"]` (the
/// shortest text that reads back as the same float, NaN and infinities included) or
/// `["t", "<date or timestamp>"]`.
fn encode_result(t: &crate::engine::ResultTable) -> String {
    use crate::engine::Value;
    use serde_json::json;
    let cell = |v: &Value| match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(x) => json!(["f", x.to_string()]),
        Value::Text(s) => json!(s),
        Value::Time(s) => json!(["t", s]),
    };
    let rows: Vec<serde_json::Value> = t
        .rows
        .iter()
        .map(|r| serde_json::Value::Array(r.iter().map(cell).collect()))
        .collect();
    json!({ "columns": t.columns, "rows": rows }).to_string()
}

/// [`encode_result`] read back; `None` for anything it did not write.
fn decode_result(text: &str) -> Option<crate::engine::ResultTable> {
    use crate::engine::Value;
    use serde_json::Value as J;
    let cell = |c: &J| -> Option<Value> {
        Some(match c {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Int(n.as_i64()?),
            J::String(s) => Value::Text(s.clone()),
            J::Array(a) => match (a.first()?.as_str()?, a.get(1)?.as_str()?) {
                ("f", x) => Value::Float(x.parse().ok()?),
                ("t", s) => Value::Time(s.to_string()),
                _ => return None,
            },
            J::Object(_) => return None,
        })
    };
    let doc: J = serde_json::from_str(text).ok()?;
    let columns = doc
        .get("columns")?
        .as_array()?
        .iter()
        .map(|c| c.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let rows = doc
        .get("rows")?
        .as_array()?
        .iter()
        .map(|r| {
            let r = r.as_array()?;
            (r.len() == columns.len()).then_some(())?;
            r.iter().map(cell).collect::<Option<Vec<_>>>()
        })
        .collect::<Option<Vec<_>>>()?;
    Some(crate::engine::ResultTable { columns, rows })
}

/// Whether `name` is one [`table_name_with`] gives: `m_` and 32 lower-case hex digits.
fn is_table_name(name: &str) -> bool {
    name.strip_prefix("m_").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The table of a rendered SQL text: a 128-bit digest of tally's and DuckDB's versions and the
/// text (two SipHash passes with different prefixes). The entry keeps the text, which a hit must
/// match, so a collision or another hash function after a Rust upgrade costs a rebuild, never a
/// wrong table.
fn table_name_with(version: &str, sql: &str) -> String {
    use std::hash::{Hash, Hasher};
    let digest = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, env!("CARGO_PKG_VERSION"), version, sql).hash(&mut h);
        h.finish()
    };
    format!("m_{:016x}{:016x}", digest(1), digest(2))
}

/// One entry of a cache file (`tally cache status`).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub table: String,
    pub model: String,
    pub business: bool,
    pub rows: u64,
    /// Built against the database's current state.
    pub fresh: bool,
}

/// The cache file of `db` opened read-only, with the database's current state to judge entries
/// by; `None` when there is no cache file.
fn open_for_status(db: &Path) -> Result<Option<(Connection, String)>, String> {
    let path = cache_path(db);
    if !path.is_file() {
        return Ok(None);
    }
    let state = source_state(db)?;
    let conn = open_ours(&path)?;
    Ok(Some((conn, state)))
}

/// Why the file at `path` is refused as the cache: a DuckDB database that is someone else's.
fn not_ours(path: &Path) -> String {
    format!(
        "{} is a DuckDB database with tables that are not tally's cache; left alone",
        path.display()
    )
}

/// The cache file at `path` opened read-only, when it is tally's ([`is_ours`]).
fn open_ours(path: &Path) -> Result<Connection, String> {
    let conn = crate::engine::open_read_only(path)
        .map_err(|e| format!("cannot open {}: {}", path.display(), first_line(&e)))?;
    let catalog: String = conn
        .query_row("SELECT current_database()", [], |r| r.get(0))
        .map_err(|e| first_line(&e))?;
    if !is_ours(&conn, &catalog)? {
        return Err(not_ours(path));
    }
    Ok(conn)
}

/// The kept query results of a cache file (`tally cache status`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub count: u64,
    pub rows: u64,
    /// Kept against the database's current state.
    pub fresh: u64,
}

/// The kept results of the cache of `db` (read-only; none without a cache file or in a file of a
/// tally that kept none).
pub fn results(db: &Path) -> Result<Results, String> {
    let Some((conn, state)) = open_for_status(db)? else {
        return Ok(Results::default());
    };
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'tally_query_results'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| first_line(&e))?;
    if exists == 0 {
        return Ok(Results::default());
    }
    conn.query_row(
        "SELECT count(*), coalesce(sum(row_count), 0)::BIGINT, count(*) FILTER (WHERE source_state = ?) \
         FROM tally_query_results",
        [&state],
        |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
            Ok(Results {
                count: n(0)?,
                rows: n(1)?,
                fresh: n(2)?,
            })
        },
    )
    .map_err(|e| first_line(&e))
}

/// The entries of the cache of `db` (read-only; none when there is no cache file).
pub fn entries(db: &Path) -> Result<Vec<Entry>, String> {
    let Some((conn, state)) = open_for_status(db)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn
        .prepare(
            "SELECT name, model, business, row_count, source_state FROM tally_cache_entries \
             ORDER BY model, business, name",
        )
        .map_err(|e| first_line(&e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Entry {
                table: r.get(0)?,
                model: r.get(1)?,
                business: r.get(2)?,
                rows: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                fresh: r.get::<_, String>(4)? == state,
            })
        })
        .map_err(|e| first_line(&e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| first_line(&e))
}

/// Delete the cache file of `db` (and its WAL). Returns whether there was one. Refuses a path
/// that is not a regular DuckDB file, or a DuckDB database with tables that are not tally's.
pub fn clear(db: &Path) -> Result<bool, String> {
    let path = cache_path(db);
    match std::fs::symlink_metadata(&path) {
        Err(_) => return Ok(false),
        Ok(m) if !m.is_file() => {
            return Err(format!(
                "{} is not a regular file; left alone",
                path.display()
            ))
        }
        Ok(m) if m.len() > 0 && !is_duckdb_file(&path) => {
            return Err(format!(
                "{} is not a DuckDB database; left alone",
                path.display()
            ))
        }
        Ok(m) if m.len() > 0 => drop(open_ours(&path)?),
        Ok(_) => {}
    }
    std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    let mut wal = path.as_os_str().to_os_string();
    wal.push(".wal");
    let _ = std::fs::remove_file(PathBuf::from(wal));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{decode_result, encode_result};
    use crate::engine::{ResultTable, Value};

    #[test]
    fn each_database_file_has_a_cache_file_of_its_own() {
        use std::path::Path;
        let names: Vec<_> = [
            "d/a.duckdb",
            "d/a.db",
            "d/a",
            "d/a.tally-cache",
            "d/.duckdb",
        ]
        .iter()
        .map(|n| super::cache_path(Path::new(n)))
        .collect();
        assert_eq!(names[0], Path::new("d/a.tally-cache.duckdb"));
        assert_eq!(names[1], Path::new("d/a.db.tally-cache.db"));
        assert_eq!(names[2], Path::new("d/a.tally-cache.db"));
        for (i, a) in names.iter().enumerate() {
            assert!(names[i + 1..].iter().all(|b| a != b), "{a:?} twice");
        }
    }

    #[test]
    fn only_names_tally_gives_are_table_names() {
        let name = super::table_name_with("v1.2.0", "SELECT 1");
        assert!(super::is_table_name(&name), "{name}");
        for bad in [
            "m_",
            "m_x; DROP TABLE t",
            "q_0123456789abcdef0123456789abcdef",
            &name.to_uppercase(),
        ] {
            assert!(!super::is_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_kept_result_reads_back_as_the_same_values() {
        let t = ResultTable {
            columns: vec!["k".into(), "x".into(), "when".into(), "note".into()],
            rows: vec![
                vec![
                    Value::Int(i64::MIN),
                    Value::Float(0.1 + 0.2),
                    Value::Time("2026-01-01 08:00:00.000001".into()),
                    Value::Text("[\"f\", \"1\"]".into()),
                ],
                vec![
                    Value::Null,
                    Value::Float(f64::NAN),
                    Value::Time("2026-01-01".into()),
                    Value::Bool(true),
                ],
                vec![
                    Value::Int(0),
                    Value::Float(-0.0),
                    Value::Null,
                    Value::Text(String::new()),
                ],
                vec![
                    Value::Int(i64::MAX),
                    Value::Float(f64::NEG_INFINITY),
                    Value::Null,
                    Value::Float(1e300),
                ],
            ],
        };
        let back = decode_result(&encode_result(&t)).expect("reads back");
        assert_eq!(back.columns, t.columns);
        // NaN is not equal to itself: compare the bits of floats.
        let same = |a: &Value, b: &Value| match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        };
        assert_eq!(back.rows.len(), t.rows.len());
        for (a, b) in back.rows.iter().zip(&t.rows) {
            assert!(a.iter().zip(b).all(|(x, y)| same(x, y)), "{a:?} vs {b:?}");
        }
        let empty = ResultTable {
            columns: vec!["n".into()],
            rows: vec![],
        };
        assert_eq!(decode_result(&encode_result(&empty)), Some(empty));
        for bad in [
            "",
            "{}",
            "{\"columns\": [\"a\"], \"rows\": [[1, 2]]}",
            "[1]",
        ] {
            assert_eq!(decode_result(bad), None, "{bad}");
        }
    }
}
