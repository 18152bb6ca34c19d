//! Rows go straight into DuckDB appenders, one per table, without per-value heap allocation:
//! ids are formatted into stack buffers and text comes from static tables.

use std::sync::mpsc::{Receiver, SyncSender};

use duckdb::types::{TimeUnit, ToSql, ToSqlOutput, ValueRef};
use duckdb::{appender_params_from_iter, Appender, Connection};

/// The thirteen tables, in `SampleSummary` order.
pub(crate) const TABLES: [&str; 13] = [
    "conversation_history",
    "conversation_part_history",
    "conversation_contact_history",
    "contact_history",
    "admin",
    "team",
    "article_history",
    "article_view",
    "content_receipt",
    "help_center_event",
    "team_admin",
    "tag",
    "conversation_tag_history",
];
pub(crate) const T_CONV: usize = 0;
pub(crate) const T_PART: usize = 1;
pub(crate) const T_CONV_CONTACT: usize = 2;
pub(crate) const T_CONTACT: usize = 3;
pub(crate) const T_ADMIN: usize = 4;
pub(crate) const T_TEAM: usize = 5;
pub(crate) const T_ARTICLE: usize = 6;
pub(crate) const T_VIEW: usize = 7;
pub(crate) const T_RECEIPT: usize = 8;
pub(crate) const T_EVENT: usize = 9;
pub(crate) const T_TEAM_ADMIN: usize = 10;
pub(crate) const T_TAG: usize = 11;
pub(crate) const T_CONV_TAG: usize = 12;

/// Tables appended by the second writer thread (on its own connection); the other tables
/// are appended by the generating thread. The split balances the two cores.
pub(crate) const REMOTE: [usize; 4] = [T_PART, T_VIEW, T_RECEIPT, T_EVENT];

/// One appended value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum V<'a> {
    Null,
    /// A short string (at most [`Id::CAP`] bytes when the table is appended remotely).
    S(&'a str),
    /// A static string.
    St(&'static str),
    /// Timestamp, whole seconds.
    T(i64),
    /// Timestamp, microseconds.
    Tu(i64),
    B(bool),
    I(i32),
    L(i64),
    D(f64),
}

impl ToSql for V<'_> {
    #[inline]
    fn to_sql(&self) -> duckdb::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            V::Null => ValueRef::Null,
            V::S(s) => ValueRef::Text(s.as_bytes()),
            V::St(s) => ValueRef::Text(s.as_bytes()),
            V::T(t) => ValueRef::Timestamp(TimeUnit::Second, t),
            V::Tu(t) => ValueRef::Timestamp(TimeUnit::Microsecond, t),
            V::B(b) => ValueRef::Boolean(b),
            V::I(i) => ValueRef::Int(i),
            V::L(l) => ValueRef::BigInt(l),
            V::D(d) => ValueRef::Double(d),
        }))
    }
}

pub(crate) fn ts(t: Option<i64>) -> V<'static> {
    t.map_or(V::Null, V::T)
}

pub(crate) fn st(s: Option<&str>) -> V<'_> {
    s.map_or(V::Null, V::S)
}

pub(crate) fn sst(s: Option<&'static str>) -> V<'static> {
    s.map_or(V::Null, V::St)
}

/// An owned value, for rows handed to the other writer thread.
#[derive(Clone, Copy, Debug)]
enum Owned {
    Null,
    Id(Id),
    St(&'static str),
    T(i64),
    Tu(i64),
    B(bool),
    I(i32),
    L(i64),
    D(f64),
}

impl Owned {
    fn from_v(v: &V<'_>) -> duckdb::Result<Owned> {
        Ok(match *v {
            V::Null => Owned::Null,
            V::S(s) => Owned::Id(Id::copy(s).ok_or_else(|| {
                duckdb::Error::ToSqlConversionFailure(
                    format!("sample: value too long for a remote row: {s}").into(),
                )
            })?),
            V::St(s) => Owned::St(s),
            V::T(t) => Owned::T(t),
            V::Tu(t) => Owned::Tu(t),
            V::B(b) => Owned::B(b),
            V::I(i) => Owned::I(i),
            V::L(l) => Owned::L(l),
            V::D(d) => Owned::D(d),
        })
    }

    fn v(&self) -> V<'_> {
        match self {
            Owned::Null => V::Null,
            Owned::Id(id) => V::S(id.as_str()),
            Owned::St(s) => V::St(s),
            Owned::T(t) => V::T(*t),
            Owned::Tu(t) => V::Tu(*t),
            Owned::B(b) => V::B(*b),
            Owned::I(i) => V::I(*i),
            Owned::L(l) => V::L(*l),
            Owned::D(d) => V::D(*d),
        }
    }
}

/// Rows of one table, `width` values each.
pub(crate) struct Batch {
    table: usize,
    width: usize,
    values: Vec<Owned>,
}

const BATCH_ROWS: usize = 2048;

/// A short id formatted on the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Id {
    b: [u8; Id::CAP],
    n: u8,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Id {
    pub(crate) const CAP: usize = 28;

    pub(crate) fn copy(s: &str) -> Option<Id> {
        let n = s.len();
        if n > Id::CAP {
            return None;
        }
        let mut b = [0u8; Id::CAP];
        b[..n].copy_from_slice(s.as_bytes());
        Some(Id { b, n: n as u8 })
    }

    pub(crate) fn dec(mut x: u64) -> Id {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (x % 10) as u8;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        let mut b = [0u8; Id::CAP];
        let n = tmp.len() - i;
        b[..n].copy_from_slice(&tmp[i..]);
        Id { b, n: n as u8 }
    }

    /// `prefix` followed by the 16 hex digits of `x` (prefix at most 12 bytes).
    pub(crate) fn hex(prefix: &str, x: u64) -> Id {
        let p = prefix.as_bytes();
        let mut b = [0u8; Id::CAP];
        b[..p.len()].copy_from_slice(p);
        for k in 0..16 {
            b[p.len() + k] = HEX[((x >> (60 - 4 * k)) & 0xf) as usize];
        }
        Id {
            b,
            n: (p.len() + 16) as u8,
        }
    }

    /// A Mongo-ObjectId-like id, as Intercom uses for contacts: 8 hex digits of the creation
    /// time, then 16 unique hex digits.
    pub(crate) fn object_id(created: i64, unique: u64) -> Id {
        let mut b = [0u8; Id::CAP];
        let hi = created.clamp(0, u32::MAX as i64) as u64;
        for k in 0..8 {
            b[k] = HEX[((hi >> (28 - 4 * k)) & 0xf) as usize];
        }
        for k in 0..16 {
            b[8 + k] = HEX[((unique >> (60 - 4 * k)) & 0xf) as usize];
        }
        Id { b, n: 24 }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.b[..self.n as usize]).unwrap_or_default()
    }
}

/// Where generated rows go: a local appender, or a batch for the other writer thread.
pub(crate) struct Sink<'c> {
    local: Vec<Option<Appender<'c>>>,
    remote: Vec<Vec<Owned>>,
    tx: Option<SyncSender<Batch>>,
    pub counts: [u64; TABLES.len()],
}

fn stopped() -> duckdb::Error {
    duckdb::Error::ToSqlConversionFailure("sample: the second writer thread stopped".into())
}

impl<'c> Sink<'c> {
    /// Appenders on `conn` for all tables but those in [`REMOTE`], which go to `tx` when given.
    pub(crate) fn new(
        conn: &'c Connection,
        schema: &str,
        tx: Option<SyncSender<Batch>>,
    ) -> duckdb::Result<Sink<'c>> {
        let local = (0..TABLES.len())
            .map(|t| {
                if tx.is_some() && REMOTE.contains(&t) {
                    Ok(None)
                } else {
                    conn.appender_to_db(TABLES[t], schema).map(Some)
                }
            })
            .collect::<duckdb::Result<Vec<_>>>()?;
        Ok(Sink {
            local,
            remote: vec![Vec::new(); TABLES.len()],
            tx,
            counts: [0; TABLES.len()],
        })
    }

    #[inline]
    pub(crate) fn row(&mut self, table: usize, values: &[V<'_>]) -> duckdb::Result<()> {
        self.counts[table] += 1;
        if let Some(app) = &mut self.local[table] {
            return app.append_row(appender_params_from_iter(values.iter()));
        }
        let buf = &mut self.remote[table];
        for v in values {
            buf.push(Owned::from_v(v)?);
        }
        if buf.len() >= BATCH_ROWS * values.len() {
            self.send(table, values.len())?;
        }
        Ok(())
    }

    fn send(&mut self, table: usize, width: usize) -> duckdb::Result<()> {
        let values = std::mem::replace(
            &mut self.remote[table],
            Vec::with_capacity(BATCH_ROWS * width),
        );
        if values.is_empty() {
            return Ok(());
        }
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(Batch {
            table,
            width,
            values,
        })
        .map_err(|_| stopped())
    }

    /// Flush the local appenders and hand over the last remote batches.
    pub(crate) fn finish(mut self) -> duckdb::Result<[u64; TABLES.len()]> {
        for a in self.local.iter_mut().flatten() {
            a.flush()?;
        }
        for t in REMOTE {
            let width = COLUMNS[t];
            self.send(t, width)?;
        }
        Ok(self.counts)
    }
}

/// Number of columns of each table.
pub(crate) const COLUMNS: [usize; TABLES.len()] = [40, 16, 7, 15, 6, 4, 16, 9, 20, 10, 4, 4, 7];

/// The second writer: appends the batches it receives, on its own connection.
pub(crate) fn remote_writer(
    conn: Connection,
    schema: &str,
    rx: Receiver<Batch>,
) -> duckdb::Result<()> {
    let mut apps = REMOTE
        .iter()
        .map(|&t| conn.appender_to_db(TABLES[t], schema).map(|a| (t, a)))
        .collect::<duckdb::Result<Vec<_>>>()?;
    for batch in rx {
        let Some((_, app)) = apps.iter_mut().find(|(t, _)| *t == batch.table) else {
            continue;
        };
        for row in batch.values.chunks_exact(batch.width) {
            app.append_row(appender_params_from_iter(row.iter().map(Owned::v)))?;
        }
    }
    for (_, app) in &mut apps {
        app.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_ids_format() {
        assert_eq!(Id::dec(0).as_str(), "0");
        assert_eq!(
            Id::dec(18_446_744_073_709_551_615).as_str(),
            "18446744073709551615"
        );
        assert_eq!(Id::hex("s_", 0xab).as_str(), "s_00000000000000ab");
        assert_eq!(
            Id::object_id(0x6543_21ff, 1).as_str(),
            "654321ff0000000000000001"
        );
        assert_eq!(Id::copy("abc").unwrap().as_str(), "abc");
        assert!(Id::copy(&"x".repeat(Id::CAP + 1)).is_none());
    }
}
