//! Plain text tables of strings (`tally list`), without DuckDB's value types (`output` renders
//! query results).

pub(crate) fn simple_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    for r in rows {
        table.add_row(
            r.iter()
                .map(|c| clip(c, MAX_CELL_CHARS))
                .collect::<Vec<_>>(),
        );
    }
    format!("{table}\n")
}

/// The widest cell `tally list` prints: a description of megabytes would take the table layout
/// minutes and fill no screen.
const MAX_CELL_CHARS: usize = 200;

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}
