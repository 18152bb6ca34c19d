//! The import order of ARCHITECTURE.md as a test: its list "Modules of tally-core" is the order of
//! the layers, and a module imports only the modules listed above it (modules named on the same
//! bullet, like `time`, `timeval`, are one layer). Every `crate::x` path in library code (test
//! modules excluded) is an arrow; the test reports every arrow that points down the list, every
//! cycle between modules, and every module of `src/` that the list does not name.
//!
//! Arrows that are known and being removed are in [`ALLOWED`] with the reason; an entry that no
//! longer matches an arrow is reported too, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Known arrows against the order, `(from, to, why it is still there)`. Empty: the last one
/// (`model` -> `targets`) went when the resolved checks moved into `model` (issue #12). Shrink,
/// never grow.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// The layers of ARCHITECTURE.md's module list, in order; each bullet is one layer of one or
/// more module names (the backticked names before the colon).
fn layers(architecture: &str) -> Vec<Vec<String>> {
    let section = architecture
        .split("## Modules of tally-core")
        .nth(1)
        .expect("ARCHITECTURE.md has a section `## Modules of tally-core`");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = Vec::new();
    for line in section.lines() {
        // Top-level bullets only; nested ones describe files inside a module.
        let Some(item) = line.strip_prefix("- ") else {
            continue;
        };
        let head = item.split(':').next().unwrap_or("");
        // `diag` (+ `diag/codes.rs`): the parenthesised part names files, not modules.
        let head = head.split('(').next().unwrap_or(head);
        let names: Vec<String> = head
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        if !names.is_empty() {
            out.push(names);
        }
    }
    out
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`plan/spine.rs` -> `plan`), `None` for lib.rs.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib").then_some(name)
}

/// Library code of a file: test modules (`#[cfg(test)]` and what follows; files named
/// `tests.rs`) are left out, they may use anything.
fn library_code(file: &Path, text: &str) -> String {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    // Comments may name modules (`//! see crate::plan`); they import nothing.
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module a piece of code reaches with `crate::x` or `use crate::{x, y::z}`.
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        // `tally_core::` or `$crate::` are not this crate's paths.
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first path segment of each item at the top level of the group.
            let mut depth = 0;
            let mut at_item = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_item = true,
                    c if at_item && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        at_item = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Every cycle among the modules, as the strongly connected components of more than one module.
fn cycles(arrows: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for n in arrows.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    stack.push(n.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        arrows.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut placed = BTreeSet::new();
    for (m, r) in &reachable {
        if placed.contains(*m) || !r.contains(*m) {
            continue;
        }
        let scc: Vec<String> = r
            .iter()
            .filter(|n| reachable.get(n).is_some_and(|back| back.contains(*m)))
            .cloned()
            .collect();
        placed.extend(scc.iter().cloned());
        out.push(scc);
    }
    out
}

#[test]
fn modules_import_only_modules_listed_above_them() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let architecture =
        std::fs::read_to_string(root.join("../../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = layers(&architecture);
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (n.as_str(), i)))
        .collect();
    let src = root.join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    files.sort();
    // Arrows between top-level modules, and one file that shows each.
    let mut arrows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).expect("read");
        let entry = arrows.entry(module.clone()).or_default();
        for to in imported_modules(&library_code(f, &text)) {
            if to != module {
                let shown = f.strip_prefix(&root).expect("prefix").display().to_string();
                witness.entry((module.clone(), to.clone())).or_insert(shown);
                entry.insert(to);
            }
        }
    }
    for m in arrows.keys() {
        if !rank.contains_key(m.as_str()) {
            problems.push(format!(
                "module `{m}` is not in ARCHITECTURE.md's list of modules"
            ));
        }
    }
    for name in rank.keys() {
        if !arrows.contains_key(*name) {
            problems.push(format!(
                "ARCHITECTURE.md lists `{name}`, which is not a module of src/"
            ));
        }
    }
    let allowed = |from: &str, to: &str| ALLOWED.iter().any(|(f, t, _)| *f == from && *t == to);
    let mut used = BTreeSet::new();
    for (from, tos) in &arrows {
        for to in tos {
            let (Some(rf), Some(rt)) = (rank.get(from.as_str()), rank.get(to.as_str())) else {
                continue;
            };
            if rt > rf {
                if allowed(from, to) {
                    used.insert((from.as_str(), to.as_str()));
                } else {
                    problems.push(format!(
                        "`{from}` imports `{to}`, which is listed after it ({})",
                        witness[&(from.clone(), to.clone())]
                    ));
                }
            }
        }
    }
    for cycle in cycles(&arrows) {
        // A cycle whose every arrow down the list is allowed is already reported there.
        let excused = cycle.iter().all(|a| {
            cycle.iter().all(|b| {
                !arrows[a].contains(b)
                    || rank.get(b.as_str()) <= rank.get(a.as_str())
                    || allowed(a, b)
            })
        });
        if !excused {
            problems.push(format!("modules in a cycle: {}", cycle.join(", ")));
        }
    }
    for (from, to, why) in ALLOWED {
        if !used.contains(&(*from, *to)) {
            problems.push(format!(
                "allow-list entry `{from}` -> `{to}` ({why}) matches no arrow any more: delete it"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the import order of ARCHITECTURE.md is broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_reader_of_imports_sees_grouped_and_nested_uses() {
    let code = "use crate::{diag::{codes, Diagnostic}, source::Span};\nlet x = crate::plan::f();\nuse tally_core::model;\n$crate::yaml";
    let got: Vec<String> = imported_modules(code).into_iter().collect();
    assert_eq!(got, vec!["diag", "plan", "source"]);
}

#[test]
fn the_list_is_read_in_layers() {
    let md = "## Modules of tally-core (x)\n\n- `source`: files.\n- `diag` (+ `diag/codes.rs`): data.\n- `time`, `timeval`: dates.\n  - `plan/mod.rs`: nested.\n\n## Invariants\n- `not`: a module.\n";
    assert_eq!(
        layers(md),
        vec![
            vec!["source".to_string()],
            vec!["diag".to_string()],
            vec!["time".to_string(), "timeval".to_string()],
        ]
    );
}
