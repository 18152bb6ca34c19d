//! Constant rows as a relation of the query (the business clock reaches the warehouse this way):
//! [`Dialect::values_table`] writes typed [`Literal`] rows as a `FROM` item, and
//! [`Dialect::integer_type`] / [`Dialect::double_type`] / [`Dialect::string_type`] name the
//! column types of a table that holds them (`tally calendars export --format sql`).

use super::Dialect;
use crate::calendar::clock::Clock;
use crate::calendar::duration::{clock_columns, clock_relation, clock_row};
use crate::literal::{Literal, LiteralType};

/// How a warehouse takes constant rows as a `FROM` item
/// ([`Capabilities::values_form`](super::Capabilities::values_form)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValuesForm {
    /// `(VALUES (...), (...)) AS alias(c1, c2)`: DuckDB, PostgreSQL, Trino, Redshift, Snowflake.
    Standard,
    /// Spark SQL's inline table, `VALUES (...), (...) AS alias(c1, c2)`.
    InlineTable,
    /// A balanced `UNION ALL` of SELECTs (BigQuery).
    UnionSelects,
}

impl Dialect {
    /// Constant rows as a `FROM` item named `alias` with these columns (the first row's types are
    /// the columns'), in the warehouse's [`ValuesForm`].
    pub fn values_table(self, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
        match self.caps().values_form() {
            ValuesForm::Standard => standard(self, alias, columns, rows),
            ValuesForm::InlineTable => inline_table(self, alias, columns, rows),
            ValuesForm::UnionSelects => union_selects(self, alias, columns, rows),
        }
    }

    /// The name of the 64-bit integer type in casts and tables.
    pub fn integer_type(self) -> &'static str {
        self.caps().integer_type()
    }
}

/// A literal as SQL: `'text'`, `DATE '2026-01-31'`, `42`, `28800.0` (a double always has a
/// fraction or an exponent, so that it is never read as an integer).
pub fn literal(d: Dialect, v: &Literal) -> String {
    match v {
        Literal::Text(s) => d.string_literal(s),
        Literal::Date(x) => format!("DATE '{x}'"),
        Literal::Integer(i) => i.to_string(),
        Literal::Double(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
            format!("{f:.1}")
        }
        Literal::Double(f) => format!("{f:e}"),
    }
}

/// A column type's name in the dialect.
pub fn type_name(d: Dialect, t: LiteralType) -> &'static str {
    match t {
        LiteralType::Text => d.string_type(),
        LiteralType::Date => "DATE",
        LiteralType::Integer => d.integer_type(),
        LiteralType::Double => d.double_type(),
    }
}

/// A literal cast to its column type (the first row of a `VALUES` list fixes the column types for
/// engines that infer them from the rows: a decimal literal would otherwise make a DECIMAL column).
pub fn typed_literal(d: Dialect, v: &Literal) -> String {
    match v {
        Literal::Text(_) | Literal::Date(_) => literal(d, v),
        Literal::Integer(_) | Literal::Double(_) => {
            format!("CAST({} AS {})", literal(d, v), type_name(d, v.ty()))
        }
    }
}

/// The rows as `(a, b), (c, d)`, the first one typed.
pub fn row_list(d: Dialect, rows: &[Vec<Literal>]) -> String {
    let mut out = String::with_capacity(rows.len() * 64);
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push('(');
        for (j, v) in r.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            if i == 0 {
                out.push_str(&typed_literal(d, v));
            } else {
                out.push_str(&literal(d, v));
            }
        }
        out.push(')');
    }
    out
}

/// `(VALUES (...), (...)) AS alias(c1, c2)`: the standard form (DuckDB, PostgreSQL, Trino,
/// Redshift, Snowflake).
pub fn standard(d: Dialect, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
    format!(
        "(VALUES\n{}\n) AS {alias}({})",
        row_list(d, rows),
        columns.join(", ")
    )
}

/// BigQuery: `UNNEST(ARRAY<STRUCT<c1 T1, c2 T2>>[(...), (...)]) AS alias` (BigQuery has no
/// `VALUES` table; the array's type names and types the fields, each row is a tuple).
pub fn unnest_structs(d: Dialect, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
    let Some(first) = rows.first() else {
        return standard(d, alias, columns, rows);
    };
    let fields: Vec<String> = columns
        .iter()
        .zip(first)
        .map(|(c, v)| format!("{c} {}", type_name(d, v.ty())))
        .collect();
    let mut out = format!("UNNEST(ARRAY<STRUCT<{}>>[\n", fields.join(", "));
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let vals: Vec<String> = r.iter().map(|v| literal(d, v)).collect();
        out.push('(');
        out.push_str(&vals.join(", "));
        out.push(')');
    }
    out.push_str(&format!("]) AS {alias}"));
    out
}

/// Spark SQL's inline table: `VALUES (...), (...) AS alias(c1, c2)` without parentheses around
/// the list.
pub fn inline_table(d: Dialect, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
    format!(
        "VALUES\n{}\nAS {alias}({})",
        row_list(d, rows),
        columns.join(", ")
    )
}

/// `(SELECT a AS c1, ... UNION ALL SELECT ...) AS alias`, the `UNION ALL` nested as a balanced
/// tree (a left-deep chain of thousands of branches is slow to parse): for BigQuery, which has no
/// `VALUES` table and whose `ARRAY<STRUCT<...>>[...]` literal sqlparser does not read back.
pub fn union_selects(d: Dialect, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
    let selects: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let vals: Vec<String> = r
                .iter()
                .zip(columns)
                .map(|(v, c)| {
                    if i == 0 {
                        format!("{} AS {c}", typed_literal(d, v))
                    } else {
                        literal(d, v)
                    }
                })
                .collect();
            format!("SELECT {}", vals.join(", "))
        })
        .collect();
    format!("({}) AS {alias}", balanced_union(&selects))
}

fn balanced_union(rows: &[String]) -> String {
    match rows.len() {
        0 => String::new(),
        1 => rows[0].clone(),
        n => {
            let (a, b) = rows.split_at(n / 2);
            format!("({})\nUNION ALL ({})", balanced_union(a), balanced_union(b))
        }
    }
}

/// Rows per `INSERT` statement of [`create_table`].
pub const INSERT_BATCH: usize = 1000;

/// The business clock as a warehouse table (`tally calendars export --format sql`):
/// `CREATE TABLE tally_bh__<calendar> (...)` with the dialect's column types, then `INSERT INTO
/// ... VALUES` in batches of [`INSERT_BATCH`] rows, the fingerprint in every row.
pub fn create_clock_table(clock: &Clock, d: Dialect) -> String {
    let k = clock.max_slots().max(1);
    let rel = clock_relation(&clock.calendar);
    let cols: Vec<String> = clock_columns(k)
        .into_iter()
        .chain(["fingerprint".to_string()])
        .collect();
    let rows: Vec<Vec<Literal>> = clock
        .days
        .iter()
        .map(|day| {
            let mut r = clock_row(clock, day, k);
            r.push(Literal::Text(clock.fingerprint.clone()));
            r
        })
        .collect();
    let types: Vec<String> = match rows.first() {
        Some(r) => cols
            .iter()
            .zip(r)
            .map(|(c, v)| format!("{c} {}", type_name(d, v.ty())))
            .collect(),
        None => return String::new(),
    };
    let mut out = format!("CREATE TABLE {rel} ({});\n", types.join(", "));
    for batch in rows.chunks(INSERT_BATCH) {
        let list: Vec<String> = batch
            .iter()
            .map(|r| {
                let v: Vec<String> = r.iter().map(|x| literal(d, x)).collect();
                format!("({})", v.join(", "))
            })
            .collect();
        out.push_str(&format!(
            "INSERT INTO {rel} ({}) VALUES\n{};\n",
            cols.join(", "),
            list.join(",\n")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;

    fn rows() -> Vec<Vec<Literal>> {
        vec![
            vec![
                Literal::Text("it's".into()),
                Literal::Date(jiff::civil::date(2026, 1, 2)),
                Literal::Integer(3),
                Literal::Double(28800.0),
            ],
            vec![
                Literal::Text("b".into()),
                Literal::Date(jiff::civil::date(2026, 1, 3)),
                Literal::Integer(4),
                Literal::Double(0.5),
            ],
        ]
    }

    #[test]
    fn each_dialect_writes_its_form() {
        let cols = ["a", "b", "c", "d"];
        let duck = Dialect::DuckDb.values_table("t", &cols, &rows());
        assert_eq!(
            duck,
            "(VALUES\n('it''s', DATE '2026-01-02', CAST(3 AS BIGINT), CAST(28800.0 AS DOUBLE)),\n('b', DATE '2026-01-03', 4, 0.5)\n) AS t(a, b, c, d)"
        );
        let bq = Dialect::BigQuery.values_table("t", &cols, &rows());
        assert_eq!(
            bq,
            "((SELECT 'it\\'s' AS a, DATE '2026-01-02' AS b, CAST(3 AS INT64) AS c, CAST(28800.0 AS FLOAT64) AS d)\nUNION ALL (SELECT 'b', DATE '2026-01-03', 4, 0.5)) AS t"
        );
        let spark = Dialect::Databricks.values_table("t", &cols, &rows());
        assert!(spark.starts_with("VALUES\n('it\\'s'"), "{spark}");
        assert!(spark.ends_with("\nAS t(a, b, c, d)"), "{spark}");
    }
}
