//! Stage 1, `load`: project files -> [`ProjectSpec`] (spec types with spans).
//!
//! The only module of the core that touches the file system. It finds the YAML files of a project,
//! parses every document and sorts the semantic-layer parts into a [`ProjectSpec`]; everything else in
//! a dbt YAML file is ignored without complaint.

use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, SourceFile, SourceMap};
use crate::spec::{
    Metric, MetricTest, ProjectConfiguration, ProjectFile, SavedQuery, SemanticModel, TestTable,
};
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
    /// tally's metric tests (`metric_tests:`), with their CSV files read into `sources`.
    pub metric_tests: Vec<MetricTest>,
    /// tally's declared source tables for metric tests (`test_tables:`).
    pub test_tables: Vec<TestTable>,
}

/// Settings from the command line that override tally.yml.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// What `$source_schema` stands for.
    pub source_schema: Option<String>,
    /// Read the semantic layer from dbt's semantic manifest (`target/semantic_manifest.json`)
    /// instead of the project's YAML files (`--manifest FILE`).
    pub manifest: Option<PathBuf>,
}

/// Top-level keys of dbt YAML files that tally does not read.
pub(crate) const DBT_KEYS: &[&str] = &[
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
    "metric_tests",
    "metric_test",
    "test_tables",
];

/// Directories never read when a project is scanned recursively.
const SKIP_DIRS: &[&str] = &[
    "target",
    "dbt_packages",
    "node_modules",
    "logs",
    "dbt_modules",
];

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
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|e| e == "sql") {
                    match std::fs::read_to_string(&p) {
                        Ok(t) => spec.templates.push((
                            p.file_name()
                                .unwrap_or_default()
                                .to_string_lossy()
                                .into_owned(),
                            t,
                        )),
                        Err(e) => diags.push(Diagnostic::error(
                            codes::IO,
                            format!("cannot read `{}`: {e}", p.display()),
                        )),
                    }
                }
            }
        }
    }
    if let Some(path) = &opts.manifest {
        read_manifest_file(&mut spec, root, path, &mut diags);
    }
    let files = project_files(root, &spec.config, &mut diags);
    for path in files {
        // With a manifest the semantic layer comes from it; tally's metric tests still live in
        // the YAML, and only files that have some are read (every file read is a source, and
        // later stages look at the sources).
        if opts.manifest.is_some() && !has_tests(&path) {
            continue;
        }
        if let Some((_, docs)) = read_yaml(&mut spec.sources, root, &path, &mut diags) {
            for doc in &docs {
                if opts.manifest.is_some() {
                    read_tests(doc, &mut spec, &mut diags);
                } else {
                    read_document(doc, &mut spec, &mut diags);
                }
            }
        }
    }
    attach_csv_files(&mut spec, &mut diags, &|yaml: &SourceFile, rel: &str| {
        let path = yaml.path.parent().unwrap_or(Path::new("")).join(rel);
        let name = match path.strip_prefix(root) {
            Ok(p) => normalize_path(&p.to_string_lossy()),
            Err(_) => normalize_path(&path.to_string_lossy()),
        };
        std::fs::read_to_string(&path)
            .map(|text| (name, path.clone(), text))
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    });
    (spec, diags)
}

/// Load a project from in-memory files (for tests and tools): `(name, text)` pairs.
pub fn load_files(
    files: &[(&str, &str)],
    config: Option<&str>,
    opts: &LoadOptions,
) -> (ProjectSpec, Vec<Diagnostic>) {
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
        // CSV files are fixtures of metric tests, found by their path below.
        if name.ends_with(".csv") {
            continue;
        }
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
    attach_csv_files(&mut spec, &mut diags, &|yaml: &SourceFile, rel: &str| {
        let dir = yaml.name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let name = normalize_path(&if dir.is_empty() {
            rel.to_string()
        } else {
            format!("{dir}/{rel}")
        });
        files
            .iter()
            .find(|(n, _)| normalize_path(n) == name)
            .map(|(_, t)| (name.clone(), PathBuf::from(&name), t.to_string()))
            .ok_or_else(|| format!("cannot read `{name}`: no such file"))
    });
    (spec, diags)
}

/// Read dbt's semantic manifest into the spec in place of the project's YAML files.
fn read_manifest_file(
    spec: &mut ProjectSpec,
    root: &Path,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    codes::IO,
                    format!(
                        "cannot read the semantic manifest `{}`: {e}",
                        path.display()
                    ),
                )
                .with_help("`dbt parse` writes target/semantic_manifest.json in the dbt project"),
            );
            return;
        }
    };
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let id = spec.sources.add(SourceFile::new(name, path, text));
    let text = &spec.sources.get(id).expect("just added").text;
    let (m, more) = crate::manifest::read_manifest(id, text);
    diags.extend(more);
    add_manifest(spec, m);
}

fn add_manifest(spec: &mut ProjectSpec, m: crate::manifest::Manifest) {
    spec.semantic_models.extend(m.semantic_models);
    spec.metrics.extend(m.metrics);
    spec.saved_queries.extend(m.saved_queries);
    spec.project_configurations.extend(m.project_configurations);
}

/// Load a semantic manifest from its text (for tests and tools), with an optional tally.yml.
pub fn load_manifest_text(
    name: &str,
    text: &str,
    config: Option<&str>,
    opts: &LoadOptions,
) -> (ProjectSpec, Vec<Diagnostic>) {
    let (mut spec, mut diags) = load_files(&[], config, opts);
    let id = spec
        .sources
        .add(SourceFile::new(name, name, text.to_string()));
    let text = &spec.sources.get(id).expect("just added").text;
    let (m, more) = crate::manifest::read_manifest(id, text);
    diags.extend(more);
    add_manifest(&mut spec, m);
    (spec, diags)
}

/// dbt's semantic manifest of a project when it is newer than every YAML file tally would read
/// (the project then likely needs Jinja only dbt renders): `target/semantic_manifest.json`.
pub fn newer_manifest(root: &Path) -> Option<PathBuf> {
    let manifest = root.join("target").join("semantic_manifest.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let at = modified(&manifest)?;
    let mut config = ProjectFile::default();
    let mut ignored = Vec::new();
    for name in ["tally.yml", "tally.yaml"] {
        let p = root.join(name);
        if let Ok(text) = std::fs::read_to_string(&p) {
            if let Ok(docs) = yaml::parse(FileId(0), &text) {
                let cell = RefCell::new(Vec::new());
                if let Some(cfg) = docs
                    .first()
                    .and_then(|d| yaml::decode::<ProjectFile>(d, &cell))
                {
                    config = cfg;
                }
            }
            break;
        }
    }
    let files = project_files(root, &config, &mut ignored);
    if files.is_empty() {
        return None;
    }
    let newest = files.iter().filter_map(|f| modified(f)).max()?;
    (at > newest).then_some(manifest)
}

/// A path with `.` and `..` components resolved lexically, `/`-separated.
fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let p = p.replace('\\', "/");
    let absolute = p.starts_with('/');
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Reads a file next to a YAML file: (name to show, path, text), or an error message.
type ReadBeside<'a> = dyn Fn(&SourceFile, &str) -> Result<(String, PathBuf, String), String> + 'a;

/// Read the CSV files metric tests refer to (fixtures and expected rows), relative to the YAML file
/// that names them, into the source map.
fn attach_csv_files(spec: &mut ProjectSpec, diags: &mut Vec<Diagnostic>, read: &ReadBeside<'_>) {
    let sources = &mut spec.sources;
    let mut attach = |csv: &Option<crate::yaml::Spanned<String>>, slot: &mut Option<FileId>| {
        let Some(csv) = csv else { return };
        let Some(yaml) = sources.get(csv.span.file) else {
            return;
        };
        match read(yaml, &csv.value) {
            Ok((name, path, text)) => {
                let existing = sources
                    .files()
                    .find(|(_, f)| f.name == name)
                    .map(|(id, _)| id);
                *slot = Some(match existing {
                    Some(id) => id,
                    None => sources.add(SourceFile::new(name, path, text)),
                });
            }
            Err(e) => diags.push(
                Diagnostic::error(codes::TEST_FIXTURE, e)
                    .at(csv.span)
                    .with_label("CSV file not found")
                    .with_help("a `csv:` path is relative to the YAML file that names it"),
            ),
        }
    };
    for t in &mut spec.metric_tests {
        for f in &mut t.given {
            attach(&f.csv, &mut f.csv_file);
        }
        attach(&t.expect.csv, &mut t.expect.csv_file);
    }
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
                    "tally.yml"
                        | "tally.yaml"
                        | "dbt_project.yml"
                        | "profiles.yml"
                        | "packages.yml"
                        | "selectors.yml"
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
            // dbt's latest spec: models with `semantic_model:` are semantic models.
            "models" => {
                let t = crate::spec_latest::translate::read_models(v, &mut cell.borrow_mut());
                spec.semantic_models.extend(t.semantic_models);
                spec.metrics.extend(t.metrics);
            }
            "metrics" => push_list(&mut spec.metrics, v, &cell),
            "saved_queries" => push_list(&mut spec.saved_queries, v, &cell),
            "metric_test" => push(&mut spec.metric_tests, v, &cell),
            "metric_tests" => push_list(&mut spec.metric_tests, v, &cell),
            "test_tables" => push_list(&mut spec.test_tables, v, &cell),
            _ if DBT_KEYS.contains(&key) => {}
            _ => {
                let all = OUR_KEYS.iter().chain(DBT_KEYS.iter()).copied();
                cell.borrow_mut().push(
                    Diagnostic::error(codes::UNKNOWN_DOCUMENT, format!("unknown top-level key `{key}`"))
                        .at(k.span)
                        .with_label("tally and dbt do not read this key")
                        .with_suggestion(key, all)
                        .with_help("tally reads semantic_model(s), metric(s), saved_query/saved_queries, project_configuration, metric_tests and test_tables"),
                );
            }
        }
    }
    diags.extend(cell.into_inner());
}

/// Whether a YAML file may hold metric tests (a cheap look at its text).
fn has_tests(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|t| t.contains("metric_test") || t.contains("test_tables"))
}

/// Only tally's metric tests of a document (`metric_test(s)`, `test_tables`), when the semantic
/// layer is read from dbt's manifest.
fn read_tests(doc: &Node, spec: &mut ProjectSpec, diags: &mut Vec<Diagnostic>) {
    let cell = RefCell::new(Vec::new());
    for (k, v) in doc.entries() {
        match k.as_str() {
            Some("metric_test") => push(&mut spec.metric_tests, v, &cell),
            Some("metric_tests") => push_list(&mut spec.metric_tests, v, &cell),
            Some("test_tables") => push_list(&mut spec.test_tables, v, &cell),
            _ => {}
        }
    }
    diags.extend(cell.into_inner());
}

fn push<'a, T: serde::Deserialize<'a>>(
    out: &mut Vec<T>,
    node: &'a Node,
    cell: &'a RefCell<Vec<Diagnostic>>,
) {
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
