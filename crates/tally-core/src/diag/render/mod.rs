//! The renderers of diagnostics, one file per output format (as ruff's `render/`): `human`
//! (rustc-style with source excerpts), `json`, `github` (workflow annotations), `junit` (XML test
//! reports) and `sarif` (code scanning). Each takes a [`SourceMap`](crate::source::SourceMap) and
//! diagnostics and returns text or a JSON value; none prints. Each is snapshot-tested on the same
//! sample, which holds an error, a warning, a diagnostic without a file and a bug (E0901).

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

/// The diagnostics every renderer's snapshot shows: an error with a label, a secondary label and
/// help in a file whose name needs escaping, a warning, a problem without a file, and a bug.
#[cfg(test)]
pub(crate) fn sample() -> (crate::source::SourceMap, Vec<crate::diag::Diagnostic>) {
    use crate::diag::{codes, Diagnostic};
    use crate::source::{SourceFile, SourceMap, Span};
    let mut sm = SourceMap::new();
    let a = sm.add(SourceFile::new(
        "models/a & b.yml",
        "a.yml",
        "name: x\n  exprr: <y>\n".into(),
    ));
    let _ok = sm.add(SourceFile::new(
        "metrics/ok.yml",
        "ok.yml",
        "metrics: []\n".into(),
    ));
    let diags = vec![
        Diagnostic::error(
            codes::UNKNOWN_KEY,
            "unknown key `exprr` with \"quotes\" & <angles>",
        )
        .at(Span::new(a, 10, 15))
        .with_label("not a key of a dimension")
        .with_secondary(Span::new(a, 0, 4), "in this mapping")
        .with_help("did you mean `expr`?"),
        Diagnostic::warning(codes::LABEL, "a warning")
            .at(Span::new(a, 0, 4))
            .with_help("fix it"),
        Diagnostic::error(codes::INVALID_QUERY, "no file").with_help("flags"),
        Diagnostic::bug("the plan lost a column: 50% of `x`\nsecond line"),
    ];
    (sm, diags)
}
