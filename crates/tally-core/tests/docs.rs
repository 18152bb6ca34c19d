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

/// `schemas/*.schema.json` are what `tally schema --write schemas` prints, committed so that a
/// `yaml-language-server: $schema=` line can point at them; this test keeps them current.
#[test]
fn committed_json_schemas_are_current() {
    use tally_core::schema::{schema_text, SchemaKind};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    for kind in SchemaKind::ALL {
        let path = dir.join(kind.file_name());
        let want = schema_text(kind);
        if std::env::var_os("TALLY_UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(&dir).expect("create schemas/");
            std::fs::write(&path, &want).expect("write schema");
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run the tests with TALLY_UPDATE_DOCS=1",
            path.display()
        );
    }
}
