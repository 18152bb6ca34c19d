//! `docs/errors.md` lists every diagnostic code; this test keeps it in step with `diag::codes::ALL`.
//! Run with `TALLY_UPDATE_DOCS=1` to rewrite it.

use std::path::PathBuf;

fn render() -> String {
    let mut s = String::from(
        "# Diagnostic codes\n\nGenerated from `crates/tally-core/src/diag/codes.rs` by `crates/tally-core/tests/docs.rs`.\n\
         A code never changes meaning once released. Each has a broken-project example under\n\
         `crates/tally-core/tests/errors/` with its rendered output in `tests/snapshots/`.\n\n\
         | code | meaning |\n|---|---|\n",
    );
    for (code, summary) in tally_core::diag::codes::ALL {
        s.push_str(&format!("| {code} | {summary} |\n"));
    }
    s
}

#[test]
fn errors_doc_lists_every_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let want = render();
    if std::env::var_os("TALLY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/errors.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "docs/errors.md is stale: run the tests with TALLY_UPDATE_DOCS=1"
    );
}
