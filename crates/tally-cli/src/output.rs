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
    for r in &t.rows {
        table.add_row(r.iter().map(cell).collect::<Vec<_>>());
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
