//! Result and listing output: table, CSV, JSON.

use crate::choices::QueryFormat;
use tally_duckdb::engine::{ResultTable, Value};

pub(crate) fn render(t: &ResultTable, format: QueryFormat) -> String {
    match format {
        QueryFormat::Csv => csv(t),
        QueryFormat::Json => {
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
        QueryFormat::Table => table(t),
    }
}

/// RFC 4180 CSV as Python's `csv` module writes it (`csv.writer`, QUOTE_MINIMAL, as `mf query
/// --csv` does): CRLF line ends; a field is quoted when it holds a comma, a quote, CR or LF; NULL is
/// an empty field, and a row whose only field is empty is written `""` so it stays a row.
fn csv(t: &ResultTable) -> String {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(&t.columns).expect("writing CSV to memory");
    for r in &t.rows {
        w.write_record(r.iter().map(|v| v.to_string()))
            .expect("writing CSV to memory");
    }
    let bytes = w.into_inner().expect("CSV flushed to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 text is UTF-8")
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

/// The default order of `tally query` rows (shared with `tally serve` and `tally mcp`).
pub(crate) use tally_duckdb::engine::compare_rows;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_follows_rfc_4180_as_python_writes_it() {
        let t = ResultTable {
            columns: vec!["a".into()],
            rows: vec![
                vec![Value::Null],
                vec![Value::Text(String::new())],
                vec![Value::Text("x".into())],
            ],
        };
        // A lone empty field is `""`: a row, not an empty line.
        assert_eq!(csv(&t), "a\r\n\"\"\r\n\"\"\r\nx\r\n");
        let t = ResultTable {
            columns: vec!["k".into(), "v, w".into()],
            rows: vec![
                vec![Value::Null, Value::Int(1)],
                vec![
                    Value::Text("say \"hi\"".into()),
                    Value::Text("two\nlines".into()),
                ],
                vec![Value::Text(" pad ".into()), Value::Float(2.5)],
                vec![Value::Text("cr\r".into()), Value::Null],
            ],
        };
        assert_eq!(
            csv(&t),
            "k,\"v, w\"\r\n,1\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n pad ,2.5\r\n\"cr\r\",\r\n"
        );
        // No rows: the header alone.
        let t = ResultTable {
            columns: vec!["a".into(), "b".into()],
            rows: vec![],
        };
        assert_eq!(csv(&t), "a,b\r\n");
    }

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
