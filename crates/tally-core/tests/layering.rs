//! The architecture invariants of ARCHITECTURE.md that a grep can check.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn core_does_not_print_link_duckdb_or_read_files_outside_load() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        !manifest.contains("duckdb"),
        "tally-core must not depend on DuckDB"
    );
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        // Test modules may print; only library code is checked.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let name = f.strip_prefix(&root).expect("prefix").display().to_string();
        for needle in [
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "std::process::exit",
        ] {
            if code.contains(needle) {
                problems.push(format!("{name} uses {needle}"));
            }
        }
        // `files.rs` is load's reading policy (regular files, size limit, confinement).
        let reader = name.ends_with("load.rs") || name.ends_with("files.rs");
        if !reader && (code.contains("std::fs::") || code.contains("fs::read")) {
            problems.push(format!(
                "{name} touches the file system (only load.rs and files.rs may)"
            ));
        }
        if code.contains("SystemTime::now") || code.contains("Instant::now") {
            problems.push(format!("{name} reads the clock"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn stage_code_never_names_a_dialect() {
    // Stage code asks the `Dialect` how to write a construct; only `dialect/` (and the CLI, tests
    // and tools that pick one) may name a dialect, in any spelling or case.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root.join("query.rs"), root.join("pipeline.rs")];
    sources(&root.join("sql"), &mut files);
    sources(&root.join("plan"), &mut files);
    files.sort();
    assert!(files.len() > 3, "{files:?}");
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read").to_lowercase();
        for name in tally_core::dialect::Dialect::names().chain(["postgresql"]) {
            if text.contains(name) {
                problems.push(format!(
                    "{} names dialect `{name}`: ask the Dialect instead",
                    f.display()
                ));
            }
        }
    }
    // The plan knows no dialect: nothing in plan/ takes one.
    let mut plan_files = Vec::new();
    sources(&root.join("plan"), &mut plan_files);
    for f in &plan_files {
        let text = std::fs::read_to_string(f).expect("read");
        if text.contains("dyn Dialect") || text.contains(": Dialect") || text.contains(": &Dialect")
        {
            problems.push(format!(
                "{} takes a dialect: plans are dialect-neutral",
                f.display()
            ));
        }
    }
    // Resolution and validation may mention the `duckdb:` database setting, never a dialect by
    // its quoted name.
    let mut front = Vec::new();
    sources(&root.join("model"), &mut front);
    sources(&root.join("validate"), &mut front);
    front.sort();
    assert!(front.len() > 3, "{front:?}");
    for f in front {
        let text = std::fs::read_to_string(&f).expect("read").to_lowercase();
        for name in tally_core::dialect::Dialect::names() {
            if text.contains(&format!("\"{name}\"")) {
                problems.push(format!("{} names dialect `{name}`", f.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
