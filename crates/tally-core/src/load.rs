//! Stage 1, `load`: project files -> [`ProjectSpec`] (spec types with spans).
//!
//! The only module of the core that touches the file system. It finds the YAML files of a project,
//! parses every document and sorts the semantic-layer parts into a [`ProjectSpec`]; everything else in
//! a dbt YAML file is ignored without complaint.

use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, SourceFile, SourceMap};
use crate::spec::{Metric, ProjectConfiguration, ProjectFile, SavedQuery, SemanticModel};
use crate::yaml::{self, Node, NodeKind};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// Everything read from a project's files.
#[derive(Debug, Default)]
pub struct ProjectSpec {
    pub root: PathBuf,
    pub sources: SourceMap,
    pub config: ProjectFile,
    pub semantic_models: Vec<SemanticModel>,
    pub metrics: Vec<Metric>,
    pub saved_queries: Vec<SavedQuery>,
    pub project_configurations: Vec<ProjectConfiguration>,
    /// The project's own macro files: `templates/*.sql`, as (file name, text).
    pub templates: Vec<(String, String)>,
}

/// Settings from the command line that override tally.yml.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// What `$source_schema` stands for.
    pub source_schema: Option<String>,
}

/// Top-level keys of dbt YAML files that tally does not read.
const DBT_KEYS: &[&str] = &[
    "version",
    "models",
    "sources",
    "seeds",
    "snapshots",
    "analyses",
    "macros",
    "exposures",
    "groups",
    "unit_tests",
    "data_tests",
    "tests",
    "functions",
];
const OUR_KEYS: &[&str] = &[
    "semantic_model",
    "semantic_models",
    "metric",
    "metrics",
    "saved_query",
    "saved_queries",
    "project_configuration",
];

/// Directories never read when a project is scanned recursively.
const SKIP_DIRS: &[&str] = &["target", "dbt_packages", "node_modules", "logs", "dbt_modules"];

/// Load a project directory.
pub fn load_project(root: &Path, opts: &LoadOptions) -> (ProjectSpec, Vec<Diagnostic>) {
    let mut spec = ProjectSpec {
        root: root.to_path_buf(),
        ..ProjectSpec::default()
    };
    let mut diags = Vec::new();
    if !root.is_dir() {
        diags.push(
            Diagnostic::error(
                codes::IO,
                format!("project directory `{}` does not exist", root.display()),
            )
            .with_help("pass --project DIR, or run tally inside a project"),
        );
        return (spec, diags);
    }
    let config_path = ["tally.yml", "tally.yaml"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file());
    if let Some(p) = &config_path {
        if let Some((file, docs)) = read_yaml(&mut spec.sources, root, p, &mut diags) {
            let _ = file;
            if let Some(doc) = docs.first() {
                let cell = RefCell::new(Vec::new());
                if let Some(cfg) = yaml::decode::<ProjectFile>(doc, &cell) {
                    spec.config = cfg;
                }
                diags.extend(cell.into_inner());
            }
        }
    }
    if let Some(s) = &opts.source_schema {
        spec.config.relations.source_schema = Some(yaml::Spanned::synthetic(s.clone()));
    }
    let tdir = root.join("templates");
    if tdir.is_dir() {
        if let Ok(entries) = std::fs::read_dir(&tdir) {
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|e| e == "sql") {
                    match std::fs::read_to_string(&p) {
                        Ok(t) => spec.templates.push((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), t)),
                        Err(e) => diags.push(Diagnostic::error(codes::IO, format!("cannot read `{}`: {e}", p.display()))),
                    }
                }
            }
        }
    }
    let files = project_files(root, &spec.config, &mut diags);
    for path in files {
        if let Some((_, docs)) = read_yaml(&mut spec.sources, root, &path, &mut diags) {
            for doc in &docs {
                read_document(doc, &mut spec, &mut diags);
            }
        }
    }
    (spec, diags)
}

/// Load a project from in-memory files (for tests and tools): `(name, text)` pairs.
pub fn load_files(files: &[(&str, &str)], config: Option<&str>, opts: &LoadOptions) -> (ProjectSpec, Vec<Diagnostic>) {
    let mut spec = ProjectSpec::default();
    let mut diags = Vec::new();
    if let Some(text) = config {
        let id = spec
            .sources
            .add(SourceFile::new("tally.yml", "tally.yml", text.to_string()));
        match yaml::parse(id, text) {
            Ok(docs) => {
                if let Some(doc) = docs.first() {
                    let cell = RefCell::new(Vec::new());
                    if let Some(cfg) = yaml::decode::<ProjectFile>(doc, &cell) {
                        spec.config = cfg;
                    }
                    diags.extend(cell.into_inner());
                }
            }
            Err(d) => diags.push(d),
        }
    }
    if let Some(s) = &opts.source_schema {
        spec.config.relations.source_schema = Some(yaml::Spanned::synthetic(s.clone()));
    }
    for (name, text) in files {
        let id = spec
            .sources
            .add(SourceFile::new(*name, *name, text.to_string()));
        match yaml::parse(id, text) {
            Ok(docs) => {
                for doc in &docs {
                    read_document(doc, &mut spec, &mut diags);
                }
            }
            Err(d) => diags.push(d),
        }
    }
    (spec, diags)
}

fn project_files(root: &Path, config: &ProjectFile, diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = config.paths.iter().map(|p| root.join(p)).collect();
    let is_project = ["tally.yml", "tally.yaml", "dbt_project.yml"]
        .iter()
        .any(|f| root.join(f).is_file());
    if dirs.is_empty() && is_project {
        for d in ["models", "metrics", "semantic_models"] {
            if root.join(d).is_dir() {
                dirs.push(root.join(d));
            }
        }
    }
    let mut files = Vec::new();
    if dirs.is_empty() {
        // A bare directory of YAML (MetricFlow's manifest format): read it all.
        walk(root, &mut files, diags, true);
    } else {
        for d in dirs {
            walk(&d, &mut files, diags, false);
        }
    }
    files.sort();
    files.dedup();
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>, top_is_root: bool) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(
                codes::IO,
                format!("cannot read directory `{}`: {e}", dir.display()),
            ));
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if SKIP_DIRS.contains(&name) {
                continue;
            }
            walk(&p, out, diags, false);
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            if top_is_root
                && matches!(
                    name,
                    "tally.yml" | "tally.yaml" | "dbt_project.yml" | "profiles.yml" | "packages.yml" | "selectors.yml"
                )
            {
                continue;
            }
            out.push(p);
        }
    }
}

fn read_yaml(
    sources: &mut SourceMap,
    root: &Path,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Vec<Node>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::error(
                codes::IO,
                format!("cannot read `{}`: {e}", path.display()),
            ));
            return None;
        }
    };
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let id = sources.add(SourceFile::new(name, path, text));
    let text = &sources.get(id).expect("just added").text;
    match yaml::parse(id, text) {
        Ok(docs) => Some((id, docs)),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

fn read_document(doc: &Node, spec: &mut ProjectSpec, diags: &mut Vec<Diagnostic>) {
    let NodeKind::Map(entries) = &doc.kind else {
        return;
    };
    let cell = RefCell::new(Vec::new());
    for (k, v) in entries {
        let Some(key) = k.as_str() else { continue };
        match key {
            "semantic_model" => push(&mut spec.semantic_models, v, &cell),
            "metric" => push(&mut spec.metrics, v, &cell),
            "saved_query" => push(&mut spec.saved_queries, v, &cell),
            "project_configuration" => push(&mut spec.project_configurations, v, &cell),
            "semantic_models" => push_list(&mut spec.semantic_models, v, &cell),
            "metrics" => push_list(&mut spec.metrics, v, &cell),
            "saved_queries" => push_list(&mut spec.saved_queries, v, &cell),
            _ if DBT_KEYS.contains(&key) => {}
            _ => {
                let all = OUR_KEYS.iter().chain(DBT_KEYS.iter()).copied();
                cell.borrow_mut().push(
                    Diagnostic::error(codes::UNKNOWN_DOCUMENT, format!("unknown top-level key `{key}`"))
                        .at(k.span)
                        .with_label("tally and dbt do not read this key")
                        .with_suggestion(key, all)
                        .with_help("tally reads semantic_model(s), metric(s), saved_query/saved_queries and project_configuration"),
                );
            }
        }
    }
    diags.extend(cell.into_inner());
}

fn push<'a, T: serde::Deserialize<'a>>(out: &mut Vec<T>, node: &'a Node, cell: &'a RefCell<Vec<Diagnostic>>) {
    if let Some(v) = yaml::decode::<T>(node, cell) {
        out.push(v);
    }
}

fn push_list<'a, T: serde::Deserialize<'a>>(
    out: &mut Vec<T>,
    node: &'a Node,
    cell: &'a RefCell<Vec<Diagnostic>>,
) {
    match &node.kind {
        NodeKind::Seq(items) => {
            for item in items {
                push(out, item, cell);
            }
        }
        NodeKind::Null => {}
        _ => cell.borrow_mut().push(
            Diagnostic::error(
                codes::INVALID_VALUE,
                format!("expected a list, found {}", node.type_name()),
            )
            .at(node.span)
            .with_label("expected a list of objects"),
        ),
    }
}
