//! JSON: one object per diagnostic (`--format json`), with 1-based lines and columns.

use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;
use serde::Serialize;

#[derive(Serialize)]
struct JsonDiag<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    label: Option<&'a str>,
    help: &'a [String],
}

/// One JSON object per diagnostic, with 1-based line and column.
pub fn to_json(sources: &SourceMap, diags: &[Diagnostic]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let start = sources.location(d.span);
            let end = sources
                .get(d.span.file)
                .map(|f| f.line_col(d.span.end as usize));
            serde_json::to_value(JsonDiag {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                file: start.as_ref().map(|s| s.0.clone()),
                line: start.as_ref().map(|s| s.1),
                column: start.as_ref().map(|s| s.2),
                end_line: end.map(|e| e.0),
                end_column: end.map(|e| e.1),
                label: d.label.as_deref(),
                help: &d.help,
            })
            .expect("diagnostics serialise")
        })
        .collect();
    serde_json::Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json() {
        let (sm, diags) = crate::diag::render::sample();
        insta::assert_snapshot!(serde_json::to_string_pretty(&to_json(&sm, &diags)).unwrap());
    }
}
