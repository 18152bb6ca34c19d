//! Constant rows as a relation of the query (the business clock reaches the warehouse this way):
//! [`Dialect::values_table`] writes typed [`Literal`] rows as a `FROM` item, and
//! [`Dialect::integer_type`] / [`Dialect::double_type`] / [`Dialect::string_type`] name the
//! column types of a table that holds them (`tally calendars export --format sql`).

use super::Dialect;

/// The type of a column of constant rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralType {
    Text,
    Date,
    Integer,
    Double,
}

/// One value of a constant row. Text is written with [`Dialect::string_literal`], never spliced.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Date(jiff::civil::Date),
    Integer(i64),
    Double(f64),
}

impl Literal {
    pub fn ty(&self) -> LiteralType {
        match self {
            Literal::Text(_) => LiteralType::Text,
            Literal::Date(_) => LiteralType::Date,
            Literal::Integer(_) => LiteralType::Integer,
            Literal::Double(_) => LiteralType::Double,
        }
    }
}

/// A literal as SQL: `'text'`, `DATE '2026-01-31'`, `42`, `28800.0` (a double always has a
/// fraction or an exponent, so that it is never read as an integer).
pub fn literal(d: &(impl Dialect + ?Sized), v: &Literal) -> String {
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
pub fn type_name(d: &(impl Dialect + ?Sized), t: LiteralType) -> &'static str {
    match t {
        LiteralType::Text => d.string_type(),
        LiteralType::Date => "DATE",
        LiteralType::Integer => d.integer_type(),
        LiteralType::Double => d.double_type(),
    }
}

/// A literal cast to its column type (the first row of a `VALUES` list fixes the column types for
/// engines that infer them from the rows: a decimal literal would otherwise make a DECIMAL column).
pub fn typed_literal(d: &(impl Dialect + ?Sized), v: &Literal) -> String {
    match v {
        Literal::Text(_) | Literal::Date(_) => literal(d, v),
        Literal::Integer(_) | Literal::Double(_) => {
            format!("CAST({} AS {})", literal(d, v), type_name(d, v.ty()))
        }
    }
}

/// The rows as `(a, b), (c, d)`, the first one typed.
pub fn row_list(d: &(impl Dialect + ?Sized), rows: &[Vec<Literal>]) -> String {
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
pub fn standard(
    d: &(impl Dialect + ?Sized),
    alias: &str,
    columns: &[&str],
    rows: &[Vec<Literal>],
) -> String {
    format!(
        "(VALUES\n{}\n) AS {alias}({})",
        row_list(d, rows),
        columns.join(", ")
    )
}

/// BigQuery: `UNNEST(ARRAY<STRUCT<c1 T1, c2 T2>>[(...), (...)]) AS alias` (BigQuery has no
/// `VALUES` table; the array's type names and types the fields, each row is a tuple).
pub fn unnest_structs(
    d: &(impl Dialect + ?Sized),
    alias: &str,
    columns: &[&str],
    rows: &[Vec<Literal>],
) -> String {
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
pub fn inline_table(
    d: &(impl Dialect + ?Sized),
    alias: &str,
    columns: &[&str],
    rows: &[Vec<Literal>],
) -> String {
    format!(
        "VALUES\n{}\nAS {alias}({})",
        row_list(d, rows),
        columns.join(", ")
    )
}

/// `(SELECT a AS c1, ... UNION ALL SELECT ...) AS alias`, the `UNION ALL` nested as a balanced
/// tree (a left-deep chain of thousands of branches is slow to parse): for BigQuery, which has no
/// `VALUES` table and whose `ARRAY<STRUCT<...>>[...]` literal sqlparser does not read back.
pub fn union_selects(
    d: &(impl Dialect + ?Sized),
    alias: &str,
    columns: &[&str],
    rows: &[Vec<Literal>],
) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::by_name;

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
        let duck = by_name("duckdb").unwrap().values_table("t", &cols, &rows());
        assert_eq!(
            duck,
            "(VALUES\n('it''s', DATE '2026-01-02', CAST(3 AS BIGINT), CAST(28800.0 AS DOUBLE)),\n('b', DATE '2026-01-03', 4, 0.5)\n) AS t(a, b, c, d)"
        );
        let bq = by_name("bigquery")
            .unwrap()
            .values_table("t", &cols, &rows());
        assert_eq!(
            bq,
            "((SELECT 'it\\'s' AS a, DATE '2026-01-02' AS b, CAST(3 AS INT64) AS c, CAST(28800.0 AS FLOAT64) AS d)\nUNION ALL (SELECT 'b', DATE '2026-01-03', 4, 0.5)) AS t"
        );
        let spark = by_name("databricks")
            .unwrap()
            .values_table("t", &cols, &rows());
        assert!(spark.starts_with("VALUES\n('it\\'s'"), "{spark}");
        assert!(spark.ends_with("\nAS t(a, b, c, d)"), "{spark}");
    }
}
