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
    /// BigQuery: the rows as one string literal, split into rows and fields and cast to the
    /// columns' types (see [`split_text`]).
    SplitText,
}

impl Dialect {
    /// Constant rows as a `FROM` item named `alias` with these columns (the first row's types are
    /// the columns'), in the warehouse's [`ValuesForm`].
    pub fn values_table(self, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
        match self.caps().values_form() {
            ValuesForm::Standard => standard(self, alias, columns, rows),
            ValuesForm::InlineTable => inline_table(self, alias, columns, rows),
            ValuesForm::SplitText => split_text(self, alias, columns, rows),
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
        // Debug writes the shortest text that reads back as the same double, always with a
        // fraction or an exponent: 28800.0, 0.5, 1e-7.
        Literal::Double(f) => format!("{f:?}"),
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

/// Separates the rows of [`split_text`]'s string.
pub const ROW_SEPARATOR: char = ';';
/// Separates the fields of a row of [`split_text`]'s string.
pub const FIELD_SEPARATOR: char = ',';

/// A literal as the text of a field of [`split_text`]'s string: `None` when it holds a separator.
fn field_text(v: &Literal) -> Option<String> {
    let t = match v {
        Literal::Text(s) => s.clone(),
        Literal::Date(x) => x.to_string(),
        Literal::Integer(i) => i.to_string(),
        Literal::Double(f) => f.to_string(),
    };
    (!t.contains([ROW_SEPARATOR, FIELD_SEPARATOR])).then_some(t)
}

/// BigQuery, which has no `VALUES` table: the rows as one string literal, `'a,1;b,2'`, split into
/// rows and fields, each field cast to its column's type:
///
/// ```sql
/// (SELECT f[OFFSET(0)] AS c1, CAST(f[OFFSET(1)] AS INT64) AS c2
///  FROM (SELECT SPLIT(r, ',') AS f FROM UNNEST(SPLIT('a,1;b,2', ';')) AS r) AS tally_split) AS alias
/// ```
///
/// One token whatever the number of rows: the business clock's thousands of rows cost nothing to
/// parse (sqlparser, sqlglot, BigQuery), and the text is the smallest of the forms BigQuery takes
/// (a `UNION ALL` of thousands of SELECTs is slow to plan; `UNNEST(ARRAY<STRUCT<...>>[...])` is
/// not read back by sqlparser; a named `STRUCT` per row doubles the text). Rows whose text holds
/// a separator are written as a `UNION ALL` of SELECTs ([`union_selects`]).
pub fn split_text(d: Dialect, alias: &str, columns: &[&str], rows: &[Vec<Literal>]) -> String {
    let Some(first) = rows.first() else {
        return standard(d, alias, columns, rows);
    };
    let mut body = String::with_capacity(rows.len() * 48);
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            body.push(ROW_SEPARATOR);
        }
        for (j, v) in r.iter().enumerate() {
            if j > 0 {
                body.push(FIELD_SEPARATOR);
            }
            match field_text(v) {
                Some(t) => body.push_str(&t),
                None => return union_selects(d, alias, columns, rows),
            }
        }
    }
    let fields: Vec<String> = columns
        .iter()
        .zip(first)
        .enumerate()
        .map(|(i, (c, v))| {
            let field = format!("f[OFFSET({i})]");
            match v.ty() {
                LiteralType::Text => format!("{field} AS {c}"),
                ty => format!("CAST({field} AS {}) AS {c}", type_name(d, ty)),
            }
        })
        .collect();
    format!(
        "(SELECT {}\nFROM (SELECT SPLIT(r, {}) AS f FROM UNNEST(SPLIT({}, {})) AS r) AS tally_split) AS {alias}",
        fields.join(", "),
        d.string_literal(&FIELD_SEPARATOR.to_string()),
        d.string_literal(&body),
        d.string_literal(&ROW_SEPARATOR.to_string()),
    )
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
/// tree (a left-deep chain of thousands of branches is slow to parse): BigQuery's rows whose text
/// holds a separator of [`split_text`].
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

/// Rows per `INSERT` statement of [`create_clock_table`].
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
            "(SELECT f[OFFSET(0)] AS a, CAST(f[OFFSET(1)] AS DATE) AS b, CAST(f[OFFSET(2)] AS INT64) AS c, CAST(f[OFFSET(3)] AS FLOAT64) AS d\nFROM (SELECT SPLIT(r, ',') AS f FROM UNNEST(SPLIT('it\\'s,2026-01-02,3,28800;b,2026-01-03,4,0.5', ';')) AS r) AS tally_split) AS t"
        );
        let spark = Dialect::Databricks.values_table("t", &cols, &rows());
        assert!(spark.starts_with("VALUES\n('it\\'s'"), "{spark}");
        assert!(spark.ends_with("\nAS t(a, b, c, d)"), "{spark}");
    }

    #[test]
    fn bigquery_text_with_a_separator_is_a_union() {
        let mut r = rows();
        r[1][0] = Literal::Text("a;b".into());
        let bq = Dialect::BigQuery.values_table("t", &["a", "b", "c", "d"], &r);
        assert!(bq.starts_with("((SELECT 'it\\'s' AS a"), "{bq}");
        assert!(
            bq.contains("UNION ALL (SELECT 'a;b', DATE '2026-01-03', 4, 0.5)"),
            "{bq}"
        );
    }

    #[test]
    fn every_form_parses_back_in_its_dialect() {
        let cols = ["a", "b", "c", "d"];
        let mut odd = rows();
        odd[1][0] = Literal::Text("x,y".into());
        for d in Dialect::ALL {
            for r in [rows(), odd.clone()] {
                let sql = format!("SELECT a, b, c, d FROM {}", d.values_table("t", &cols, &r));
                crate::sql::parse_back(d, &sql)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", d.name()));
            }
        }
    }
}
