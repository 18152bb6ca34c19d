//! Rows go straight into DuckDB appenders, one per table, without per-value heap allocation:
//! ids are formatted into stack buffers and text comes from static tables.

use duckdb::types::{TimeUnit, ToSql, ToSqlOutput, ValueRef};
use duckdb::{appender_params_from_iter, Appender, Connection};

/// The nine tables, in `SampleSummary` order.
pub(crate) const TABLES: [&str; 9] = [
    "conversation_history",
    "conversation_part_history",
    "conversation_contact_history",
    "contact_history",
    "admin",
    "team",
    "article_history",
    "article_view",
    "content_receipt",
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

/// One appended value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum V<'a> {
    Null,
    S(&'a str),
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

/// A short id formatted on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Id {
    b: [u8; 28],
    n: u8,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Id {
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
        let mut b = [0u8; 28];
        let n = tmp.len() - i;
        b[..n].copy_from_slice(&tmp[i..]);
        Id { b, n: n as u8 }
    }

    /// `prefix` followed by the 16 hex digits of `x` (prefix at most 12 bytes).
    pub(crate) fn hex(prefix: &str, x: u64) -> Id {
        let p = prefix.as_bytes();
        let mut b = [0u8; 28];
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
        let mut b = [0u8; 28];
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

pub(crate) struct Sink<'c> {
    apps: Vec<Appender<'c>>,
    pub counts: [u64; 9],
}

impl<'c> Sink<'c> {
    pub(crate) fn new(conn: &'c Connection, schema: &str) -> duckdb::Result<Sink<'c>> {
        let apps = TABLES
            .iter()
            .map(|t| conn.appender_to_db(t, schema))
            .collect::<duckdb::Result<Vec<_>>>()?;
        Ok(Sink { apps, counts: [0; 9] })
    }

    #[inline]
    pub(crate) fn row(&mut self, table: usize, values: &[V<'_>]) -> duckdb::Result<()> {
        self.apps[table].append_row(appender_params_from_iter(values.iter()))?;
        self.counts[table] += 1;
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> duckdb::Result<()> {
        for a in &mut self.apps {
            a.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_ids_format() {
        assert_eq!(Id::dec(0).as_str(), "0");
        assert_eq!(Id::dec(18_446_744_073_709_551_615).as_str(), "18446744073709551615");
        assert_eq!(Id::hex("s_", 0xab).as_str(), "s_00000000000000ab");
        assert_eq!(Id::object_id(0x6543_21ff, 1).as_str(), "654321ff0000000000000001");
    }
}
