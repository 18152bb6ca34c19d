//! The materialisation cache: the relations of `sql:` semantic models (and their relations with
//! business durations, which join the business clock: with every duration of the model, which
//! serves a query of any of them) computed once on the local DuckDB and read back as tables
//! while nothing they depend on has changed.
//!
//! Where: a tally-owned DuckDB file beside the project's database (`<stem>.tally-cache.duckdb`,
//! [`cache_path`]), ATTACHed as `tally_cache` before the connection is sealed. The user's
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

/// A connection's cache: the state the entries are checked against, and what was done.
#[derive(Debug)]
pub struct Session {
    pub mode: Mode,
    pub status: Status,
    state: String,
    pub events: Vec<Event>,
}

impl Session {
    /// A session that never caches (in-memory databases, metric tests).
    pub fn off() -> Session {
        Session {
            mode: Mode::Off,
            status: Status::Off,
            state: String::new(),
            events: Vec::new(),
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
        out
    }
}

/// The cache file of a database file: beside it, `<stem>.tally-cache.duckdb`.
pub fn cache_path(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    db.with_file_name(format!("{stem}.tally-cache.duckdb"))
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
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {ENTRIES} (name VARCHAR PRIMARY KEY, model VARCHAR, \
         business BOOLEAN, source_state VARCHAR, row_count BIGINT, build_ms BIGINT, sql VARCHAR)"
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

/// The version of the DuckDB library `conn` runs on (the bundled one); entries of another DuckDB
/// are rebuilt. Asked of the connection the command already has: a second, in-memory database
/// instance for it (as before) initialised DuckDB again on every hit, static extensions and all.
fn duckdb_version(conn: &Connection) -> String {
    conn.query_row("SELECT library_version FROM pragma_version()", [], |r| {
        r.get::<_, String>(0)
    })
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
        let version = duckdb_version(conn);
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
            let outcome = self.ensure(conn, &sm.name, business, &name, &rendered, &clocks);
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
        &self,
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

/// The entries of the cache of `db` (read-only; none when there is no cache file).
pub fn entries(db: &Path) -> Result<Vec<Entry>, String> {
    let path = cache_path(db);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let state = source_state(db)?;
    let conn = crate::engine::open_read_only(&path)
        .map_err(|e| format!("cannot open {}: {}", path.display(), first_line(&e)))?;
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
/// that is not a regular DuckDB file.
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
        Ok(_) => {}
    }
    std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    let mut wal = path.as_os_str().to_os_string();
    wal.push(".wal");
    let _ = std::fs::remove_file(PathBuf::from(wal));
    Ok(true)
}
