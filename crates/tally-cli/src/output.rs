//! Result and listing output: table, CSV, JSON.

use tally_duckdb::engine::{ResultTable, Value};

pub fn render(t: &ResultTable, format: &str) -> String {
    match format {
        "csv" => csv(t),
        "json" => {
            let rows: Vec<serde_json::Value> = t
                .rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    for (c, v) in t.columns.iter().zip(r) {
                        m.insert(c.clone(), v.to_json());
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&rows).expect("json"))
        }
        _ => table(t),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(t: &ResultTable) -> String {
    let mut out = t
        .columns
        .iter()
        .map(|c| csv_field(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in &t.rows {
        out.push_str(
            &r.iter()
                .map(|v| csv_field(&v.to_string()))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn cell(v: &Value) -> comfy_table::Cell {
    let text = match v {
        Value::Null => "NULL".to_string(),
        Value::Float(x) => {
            if x.is_finite() {
                let s = format!("{x:.4}");
                let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
                if s.is_empty() {
                    "0".into()
                } else {
                    s
                }
            } else {
                x.to_string()
            }
        }
        other => other.to_string(),
    };
    let c = comfy_table::Cell::new(text);
    match v {
        Value::Int(_) | Value::Float(_) => c.set_alignment(comfy_table::CellAlignment::Right),
        _ => c,
    }
}

fn table(t: &ResultTable) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(t.columns.clone());
    // A time column whose values are all at midnight (days, weeks, months...) shows dates.
    let dates: Vec<bool> = (0..t.columns.len())
        .map(|i| {
            t.rows.iter().all(|r| match r.get(i) {
                Some(Value::Time(s)) => s.len() == 10 || s.ends_with(" 00:00:00"),
                _ => true,
            })
        })
        .collect();
    for r in &t.rows {
        table.add_row(
            r.iter()
                .zip(&dates)
                .map(|(v, &date)| match v {
                    Value::Time(s) if date => comfy_table::Cell::new(&s[..s.len().min(10)]),
                    v => cell(v),
                })
                .collect::<Vec<_>>(),
        );
    }
    format!(
        "{table}\n({} row{})\n",
        t.rows.len(),
        if t.rows.len() == 1 { "" } else { "s" }
    )
}

pub fn simple_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    for r in rows {
        table.add_row(r.clone());
    }
    format!("{table}\n")
}

/// The default order of `tally query` rows (shared with `tally serve` and `tally mcp`).
pub use tally_duckdb::engine::compare_rows;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_dates_for_midnight_time_columns() {
        let t = ResultTable {
            columns: vec!["metric_time__month".into(), "metric_time__hour".into()],
            rows: vec![
                vec![
                    Value::Time("2026-01-01 00:00:00".into()),
                    Value::Time("2026-01-01 00:00:00".into()),
                ],
                vec![Value::Null, Value::Time("2026-01-01 13:00:00".into())],
            ],
        };
        let out = table(&t);
        assert!(out.contains("│ 2026-01-01         ┆"), "{out}");
        assert!(out.contains("2026-01-01 13:00:00"), "{out}");
        assert!(out.contains("┆ 2026-01-01 00:00:00"), "{out}");
    }

    #[test]
    fn default_row_order_is_by_leading_columns_nulls_last() {
        let mut rows = [
            vec![Value::Time("2026-02-01".into()), Value::Null, Value::Int(1)],
            vec![
                Value::Time("2026-01-01".into()),
                Value::Text("Sales".into()),
                Value::Int(2),
            ],
            vec![Value::Time("2026-01-01".into()), Value::Null, Value::Int(3)],
            vec![
                Value::Time("2026-01-01".into()),
                Value::Text("Billing".into()),
                Value::Int(4),
            ],
        ];
        rows.sort_by(|a, b| compare_rows(a, b));
        let last: Vec<&Value> = rows.iter().map(|r| &r[2]).collect();
        assert_eq!(
            last,
            [
                &Value::Int(4),
                &Value::Int(2),
                &Value::Int(3),
                &Value::Int(1)
            ]
        );
        let mut nums = vec![
            vec![Value::Float(2.5)],
            vec![Value::Int(10)],
            vec![Value::Int(-1)],
        ];
        nums.sort_by(|a, b| compare_rows(a, b));
        assert_eq!(
            nums,
            [
                vec![Value::Int(-1)],
                vec![Value::Float(2.5)],
                vec![Value::Int(10)]
            ]
        );
    }
}
