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
        if !name.ends_with("load.rs") && (code.contains("std::fs::") || code.contains("fs::read")) {
            problems.push(format!("{name} touches the file system (only load.rs may)"));
        }
        if code.contains("SystemTime::now") || code.contains("Instant::now") {
            problems.push(format!("{name} reads the clock"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn stage_code_never_names_a_dialect() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    for stage in ["plan.rs", "sql.rs", "model.rs"] {
        let p = root.join(stage);
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for name in [
            "\"duckdb\"",
            "\"snowflake\"",
            "\"bigquery\"",
            "\"postgres\"",
            "\"redshift\"",
            "\"trino\"",
            "\"databricks\"",
        ] {
            assert!(
                !text.contains(name),
                "{stage} names dialect {name}: ask the Dialect instead"
            );
        }
    }
    let plan_dir = root.join("plan");
    if plan_dir.is_dir() {
        let mut files = Vec::new();
        sources(&plan_dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read");
            assert!(
                !text.to_lowercase().contains("\"duckdb\""),
                "{} names a dialect",
                f.display()
            );
        }
    }
}
