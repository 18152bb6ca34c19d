//! MetricFlow's fixture tables (`table_snapshot` YAML) as DuckDB SQL scripts.

use std::fs;
use std::path::{Path, PathBuf};

use saphyr::Yaml;

use crate::yaml::*;

pub(crate) struct Fixture {
    table: String,
    columns: Vec<(String, &'static str)>,
    rows: Vec<Vec<Option<String>>>,
}

pub(crate) fn parse_fixture(path: &Path) -> Result<Fixture, String> {
    let docs = load_yaml_file(path)?;
    let docs: Vec<&Yaml> = docs.iter().filter(|d| !is_null(d)).collect();
    let err = |e: &str| format!("{}: {e}", path.display());
    if docs.len() != 1 {
        return Err(err("expected exactly one document"));
    }
    let top = mapping_entries(docs[0]).ok_or_else(|| err("not a mapping"))?;
    if top.len() != 1 || top[0].0 != "table_snapshot" {
        return Err(err("expected the single key `table_snapshot`"));
    }
    let (mut table, mut columns, mut rows) = (None, Vec::new(), Vec::new());
    for (key, value) in
        mapping_entries(top[0].1).ok_or_else(|| err("table_snapshot is not a mapping"))?
    {
        match key.as_str() {
            "table_name" => table = scalar_string(value),
            "column_definitions" => {
                let Yaml::Sequence(defs) = untag(value) else {
                    return Err(err("column_definitions is not a list"));
                };
                for def in defs {
                    let entries =
                        mapping_entries(def).ok_or_else(|| err("bad column definition"))?;
                    let get = |k: &str| {
                        entries
                            .iter()
                            .find(|(n, _)| n == k)
                            .and_then(|(_, v)| scalar_string(v))
                    };
                    let name = get("name").ok_or_else(|| err("column without name"))?;
                    let ty = get("type").ok_or_else(|| err("column without type"))?;
                    let sql_type = match ty.as_str() {
                        "STRING" => "VARCHAR",
                        "TIME" => "TIMESTAMP",
                        "FLOAT" => "DOUBLE",
                        "INT" => "BIGINT",
                        "BOOLEAN" => "BOOLEAN",
                        other => return Err(err(&format!("unknown column type {other:?}"))),
                    };
                    columns.push((name, sql_type));
                }
            }
            "rows" => {
                let items = match untag(value) {
                    Yaml::Sequence(items) => items.as_slice(),
                    v if is_null(v) => &[],
                    _ => return Err(err("rows is not a list")),
                };
                for row in items {
                    let Yaml::Sequence(cells) = untag(row) else {
                        return Err(err("row is not a list"));
                    };
                    rows.push(cells.iter().map(scalar_string).collect::<Vec<_>>());
                }
            }
            other => return Err(err(&format!("unknown key `{other}`"))),
        }
    }
    let table = table.ok_or_else(|| err("missing table_name"))?;
    if columns.is_empty() {
        return Err(err("no columns"));
    }
    if let Some(bad) = rows.iter().position(|r| r.len() != columns.len()) {
        return Err(err(&format!(
            "row {} has {} values, expected {}",
            bad + 1,
            rows[bad].len(),
            columns.len()
        )));
    }
    Ok(Fixture {
        table,
        columns,
        rows,
    })
}

/// A DuckDB identifier, double-quoted.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A DuckDB string literal, single-quoted.
pub fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn fixture_literal(value: &Option<String>, sql_type: &str) -> Result<String, String> {
    let Some(v) = value else {
        return Ok("NULL".into());
    };
    Ok(match sql_type {
        "VARCHAR" => quote_str(v),
        "BOOLEAN" => match v.to_ascii_lowercase().as_str() {
            "true" => "TRUE".into(),
            "false" => "FALSE".into(),
            _ => return Err(format!("not a boolean: {v:?}")),
        },
        "TIMESTAMP" => format!("CAST({} AS TIMESTAMP)", quote_str(&truncate_fraction(v))),
        other => format!("CAST({} AS {other})", quote_str(v)),
    })
}

/// DuckDB's TIMESTAMP holds microseconds; the nanosecond spine has 9 fractional digits.
pub(crate) fn truncate_fraction(v: &str) -> String {
    match v.find('.') {
        Some(dot) if v.len() > dot + 7 && v[dot + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            v[..dot + 7].to_string()
        }
        _ => v.to_string(),
    }
}

/// `CREATE SCHEMA IF NOT EXISTS <schema>`.
pub fn create_schema_sql(schema: &str) -> String {
    format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema))
}

/// Every fixture table of `<metricflow_dir>/fixtures/*/*.yaml` as `(file, script)`: one DuckDB
/// script per table (a transaction that creates the table in `schema` and inserts its rows), in
/// file order. Run [`create_schema_sql`] first.
pub fn fixture_scripts(
    metricflow_dir: &Path,
    schema: &str,
) -> Result<Vec<(PathBuf, String)>, String> {
    let root = metricflow_dir.join("fixtures");
    let mut groups: Vec<PathBuf> = fs::read_dir(&root)
        .map_err(|e| format!("cannot read {}: {e}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    let mut files = Vec::new();
    for group in groups {
        let mut f = yaml_files(&group)?;
        f.sort();
        files.extend(f);
    }
    if files.is_empty() {
        return Err(format!("no fixtures under {}", root.display()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut scripts = Vec::new();
    for path in files {
        let fixture = parse_fixture(&path)?;
        if !seen.insert(fixture.table.clone()) {
            return Err(format!("duplicate fixture table {}", fixture.table));
        }
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(&fixture.table));
        let cols: Vec<String> = fixture
            .columns
            .iter()
            .map(|(n, t)| format!("{} {t}", quote_ident(n)))
            .collect();
        let mut sql = format!(
            "BEGIN TRANSACTION;\nCREATE OR REPLACE TABLE {qualified} ({});\n",
            cols.join(", ")
        );
        for chunk in fixture.rows.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len());
            for (i, row) in chunk.iter().enumerate() {
                let lits = row
                    .iter()
                    .zip(&fixture.columns)
                    .map(|(v, (_, t))| fixture_literal(v, t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{} row {}: {e}", path.display(), i + 1))?;
                values.push(format!("({})", lits.join(", ")));
            }
            sql.push_str(&format!(
                "INSERT INTO {qualified} VALUES {};\n",
                values.join(",\n")
            ));
        }
        sql.push_str("COMMIT;\n");
        scripts.push((path, sql));
    }
    Ok(scripts)
}
