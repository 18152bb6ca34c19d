//! The seed corpus: the manifests under `seeds/` and the repository's own project.

use crate::{Input, Query};
use std::path::{Path, PathBuf};

/// `crates/tally-fuzz/seeds`.
pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// The repository's root (its own project: `tally.yml`, `models/`, `metrics/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every seed: one per manifest directory under `seeds/`, and the repository's project.
pub fn all() -> Vec<Input> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(seed_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        let mut files = Vec::new();
        collect(&d, &d, &mut files);
        out.push(Input {
            // MetricFlow's manifests name their tables `$source_schema.x`.
            config: Some("relations:\n  source_schema: src\n".into()),
            files,
            query: Query::default(),
        });
    }
    let root = repo_root();
    let mut files = Vec::new();
    for sub in ["models", "metrics"] {
        collect(&root, &root.join(sub), &mut files);
    }
    if !files.is_empty() {
        out.push(Input {
            config: std::fs::read_to_string(root.join("tally.yml")).ok(),
            files,
            query: Query::default(),
        });
    }
    out
}

/// YAML and CSV files under `dir`, named relative to `base`, sorted.
fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(base, &p, out);
            continue;
        }
        let name = p.to_string_lossy();
        if !(name.ends_with(".yml") || name.ends_with(".yaml") || name.ends_with(".csv")) {
            continue;
        }
        if let (Ok(text), Ok(rel)) = (std::fs::read_to_string(&p), p.strip_prefix(base)) {
            out.push((rel.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

/// Names written in a project (values of `name:` keys), for query flags that reach the planner.
pub fn names(input: &Input) -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in &input.files {
        for line in text.lines() {
            let t = line.trim_start().trim_start_matches("- ");
            if let Some(v) = t.strip_prefix("name:") {
                let v = v.trim().trim_matches(['"', '\'']);
                if !v.is_empty() && !out.iter().any(|o| o == v) {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}
