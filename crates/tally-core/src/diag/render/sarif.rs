//! SARIF 2.1.0 for code-scanning tools: one run of the `tally` tool, one rule per code used.

use crate::diag::{codes, Diagnostic, Severity};
use crate::source::SourceMap;

/// SARIF 2.1.0: one run of the `tally` tool, one rule per diagnostic code used, one result per
/// diagnostic with its region (1-based lines and columns; the end column is exclusive).
pub fn to_sarif(sources: &SourceMap, diags: &[Diagnostic]) -> serde_json::Value {
    use serde_json::json;
    let mut rule_ids: Vec<&str> = diags.iter().map(|d| d.code).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| {
            let summary = codes::ALL
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, s)| *s)
                .unwrap_or("");
            json!({
                "id": id,
                "shortDescription": {"text": summary},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let level = match d.severity {
                Severity::Bug | Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            let mut text = d.message.clone();
            for h in &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": rule_ids.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level,
                "message": {"text": text},
            });
            if let (Some(f), Some((_, line, col))) =
                (sources.get(d.span.file), sources.location(d.span))
            {
                let (end_line, end_col) = f.line_col(d.span.end as usize);
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.name, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": line,
                            "startColumn": col,
                            "endLine": end_line,
                            "endColumn": end_col,
                        }
                    }
                }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tally",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif() {
        let (sm, diags) = crate::diag::render::sample();
        let mut v = to_sarif(&sm, &diags);
        // The version changes with every release; the snapshot is of the shape.
        v["runs"][0]["tool"]["driver"]["version"] = "[version]".into();
        insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
    }
}
