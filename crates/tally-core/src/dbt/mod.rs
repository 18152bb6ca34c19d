//! dbt project conventions: what `dbt parse` and `dbt run` would make of a dbt project, so that a
//! dbt Semantic Layer project loads unchanged.
//!
//! - `project`: `dbt_project.yml` (name, profile, model-paths, vars, `models:` configs, quoting) of
//!   the root project and of installed packages that define semantic models;
//! - `profiles`: `profiles.yml` found as dbt finds it, and the active target;
//! - `render`: the Jinja dbt renders in YAML values (`var()`, `env_var()`, `doc()`, `target`), at
//!   the key paths where dbt renders it;
//! - `relations`: the relation dbt builds for each model (`ref()`) and source (`source()`);
//! - `naming`: dbt's `generate_schema_name`/`generate_database_name`/`generate_alias_name`, the
//!   defaults or the root project's overrides;
//! - `spine`: time spines from the `time_spine:` model property and the legacy
//!   `metricflow_time_spine` model.
//!
//! This module never touches the file system itself: the loader hands it a [`Files`] (the disk, or
//! an in-memory map in tests), and the environment comes from [`DbtOptions::env`] or the process.

pub mod loader;
pub mod naming;
pub mod profiles;
pub mod project;
pub mod relations;
pub mod render;
pub mod spine;

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceFile, SourceMap};
use crate::yaml::{self, Node, NodeKind};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use relations::DbtRelation;

/// The dbt settings of the command line (dbt's own flags) and the environment.
#[derive(Debug, Default, Clone)]
pub struct DbtOptions {
    /// `--profiles-dir`: where `profiles.yml` is.
    pub profiles_dir: Option<PathBuf>,
    /// `--profile`: the profile to use instead of `dbt_project.yml`'s `profile:`.
    pub profile: Option<String>,
    /// `--target`: the output of the profile to use instead of its `target:`.
    pub target: Option<String>,
    /// `--vars`: a YAML or JSON mapping, as dbt takes it.
    pub vars: Option<String>,
    /// The environment (`env_var()`, `DBT_PROFILES_DIR`, `HOME`); `None` reads the process's.
    pub env: Option<BTreeMap<String, String>>,
    /// Where the variables [`DbtOptions::env_var`] answered are written down (shared by the
    /// clones the loader makes; `load_project` gives each load a log of its own).
    pub consulted: Consulted,
}

impl DbtOptions {
    /// An environment variable, from [`DbtOptions::env`] when set, else from the process; the
    /// question and its answer are written down in [`DbtOptions::consulted`].
    pub fn env_var(&self, name: &str) -> Option<String> {
        let value = match &self.env {
            Some(m) => m.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        self.consulted.note("env", name, value.as_deref());
        value
    }
}

/// One question a dbt load asked outside the YAML files it keeps as sources, with its answer:
/// an environment variable (`env`), a file read (`read`, its text or its error), whether a path
/// is a file or a directory (`is_file`, `is_dir`), a directory's entries (`list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consult {
    pub kind: &'static str,
    pub key: String,
    pub answer: Option<String>,
}

/// What a dbt load consulted besides its sources, in the order it asked: with the project's
/// files and the options, everything its spec is a function of (`crate::digest` hashes this
/// instead of the spec). Clones share one log. Its `Debug` form does not print the log (the
/// options' `Debug` form is part of the digest, which hashes the log itself).
#[derive(Default, Clone)]
pub struct Consulted(std::sync::Arc<std::sync::Mutex<Log>>);

/// The log of a [`Consulted`], and the directory questions answered so far: the loader walks the
/// same directories several times (models, docs, schema YAML), and [`Recorded`] answers a
/// repeated question from here, without the disk and without writing it down again.
#[derive(Default)]
struct Log {
    asked: Vec<Consult>,
    // Keyed by the path's bytes: comparing `Path`s component by component costs more than
    // the disk's answer.
    lists: BTreeMap<OsString, Vec<PathBuf>>,
    dirs: BTreeMap<OsString, bool>,
}

impl Consulted {
    /// Write down one question and its answer.
    pub fn note(&self, kind: &'static str, key: &str, answer: Option<&str>) {
        if let Ok(mut log) = self.0.lock() {
            log.asked.push(Consult {
                kind,
                key: key.to_string(),
                answer: answer.map(str::to_string),
            });
        }
    }

    /// The questions asked so far, the log left empty (and the remembered answers forgotten).
    pub fn take(&self) -> Vec<Consult> {
        self.0
            .lock()
            .map(|mut log| std::mem::take(&mut *log).asked)
            .unwrap_or_default()
    }

    /// A directory's entries or whether a path is a directory, as answered before in this log.
    fn listed(&self, dir: &Path) -> Option<Vec<PathBuf>> {
        self.0.lock().ok()?.lists.get(dir.as_os_str()).cloned()
    }

    fn is_dir(&self, path: &Path) -> Option<bool> {
        self.0.lock().ok()?.dirs.get(path.as_os_str()).copied()
    }

    fn remember_list(&self, dir: &Path, entries: &[PathBuf]) {
        if let Ok(mut log) = self.0.lock() {
            log.lists
                .insert(dir.as_os_str().to_owned(), entries.to_vec());
        }
    }

    fn remember_dir(&self, path: &Path, yes: bool) {
        if let Ok(mut log) = self.0.lock() {
            log.dirs.insert(path.as_os_str().to_owned(), yes);
        }
    }
}

impl std::fmt::Debug for Consulted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Consulted")
    }
}

/// A [`Files`] that writes down every question asked of `files` in `log` (the CLI's dbt loads).
pub struct Recorded<'a> {
    pub files: &'a dyn Files,
    pub log: &'a Consulted,
}

impl Files for Recorded<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        let text = self.files.read(path);
        let key = path.to_string_lossy();
        match &text {
            Ok(t) => self.log.note("read", &key, Some(t)),
            Err(e) => self.log.note("read error", &key, Some(e)),
        }
        text
    }
    fn is_file(&self, path: &Path) -> bool {
        let yes = self.files.is_file(path);
        self.log
            .note("is_file", &path.to_string_lossy(), yes.then_some(""));
        yes
    }
    fn is_dir(&self, path: &Path) -> bool {
        if let Some(yes) = self.log.is_dir(path) {
            return yes;
        }
        let yes = self.files.is_dir(path);
        self.log
            .note("is_dir", &path.to_string_lossy(), yes.then_some(""));
        self.log.remember_dir(path, yes);
        yes
    }
    fn list(&self, dir: &Path) -> Vec<PathBuf> {
        if let Some(entries) = self.log.listed(dir) {
            return entries;
        }
        let entries = self.files.list(dir);
        self.log.remember_list(dir, &entries);
        let mut names = String::new();
        for e in &entries {
            names.push_str(&e.to_string_lossy());
            names.push('\0');
        }
        self.log.note("list", &dir.to_string_lossy(), Some(&names));
        entries
    }
}

/// Read access to a project's files: the disk for the CLI, a map in tests.
pub trait Files {
    fn read(&self, path: &Path) -> Result<String, String>;
    fn is_file(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    /// The entries of a directory, sorted by path.
    fn list(&self, dir: &Path) -> Vec<PathBuf>;
}

/// In-memory files, for tests: paths to texts; directories are implied by the paths.
#[derive(Debug, Default, Clone)]
pub struct MemFiles(pub BTreeMap<PathBuf, String>);

impl MemFiles {
    pub fn new(files: &[(&str, &str)]) -> MemFiles {
        MemFiles(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        )
    }
}

impl Files for MemFiles {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| format!("`{}`: no such file", path.display()))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.0.contains_key(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.0.keys().any(|p| p != path && p.starts_with(path))
    }
    fn list(&self, dir: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .0
            .keys()
            .filter_map(|p| {
                let rest = p.strip_prefix(dir).ok()?;
                let first = rest.components().next()?;
                Some(dir.join(first))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// What tally keeps of a dbt project once it is loaded: the active target and the relation of
/// every model and source, for `ref()`/`source()` and for `tally query`'s default database.
#[derive(Debug, Clone, Default)]
pub struct DbtInfo {
    /// The root project's `name:`.
    pub project_name: String,
    /// The active target, when a profile was found.
    pub target: Option<profiles::Target>,
    /// The DuckDB file of a DuckDB target (`path:`, relative to the project directory).
    pub duckdb_path: Option<String>,
    /// Model relations: (package, model name) -> relation, root project first.
    pub models: IndexMap<(String, String), DbtRelation>,
    /// Source relations: (source name, table name) -> relation.
    pub sources: IndexMap<(String, String), DbtRelation>,
    /// What the load consulted besides the sources (environment variables, files read and not
    /// kept, directory listings), in order: the part of the project's state that is not in its
    /// sources (`crate::digest`).
    pub consulted: Vec<Consult>,
}

impl DbtInfo {
    /// The relation of `ref('name')` or `ref('package', 'name')`: the root project's model first,
    /// then any package's, as dbt looks a ref up.
    pub fn model_relation(&self, package: Option<&str>, name: &str) -> Option<&DbtRelation> {
        match package {
            Some(p) => self.models.get(&(p.to_string(), name.to_string())),
            None => self
                .models
                .get(&(self.project_name.clone(), name.to_string()))
                .or_else(|| {
                    self.models
                        .iter()
                        .find(|((_, n), _)| n == name)
                        .map(|(_, r)| r)
                }),
        }
    }

    /// The relation of `source('source', 'table')`.
    pub fn source_relation(&self, source: &str, table: &str) -> Option<&DbtRelation> {
        self.sources.get(&(source.to_string(), table.to_string()))
    }
}

/// A YAML file's documents, or the diagnostic that it does not parse.
pub(crate) fn parse_yaml(
    sources: &mut SourceMap,
    name: String,
    path: &Path,
    text: String,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Vec<Node>)> {
    let id = sources.add(SourceFile::new(name, path, text));
    match yaml::parse_file(id, sources.get(id).expect("just added")) {
        Ok(docs) => Some((id, docs)),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// A YAML node as JSON (for variables): mappings keep their order, keys become strings.
pub fn node_to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &n.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::from(*i),
        NodeKind::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        NodeKind::Str(s) => Value::String(s.clone()),
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_to_json).collect()),
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (scalar_text(k).unwrap_or_default(), node_to_json(v)))
                .collect(),
        ),
    }
}

/// The text of a scalar node (numbers and booleans as written in YAML 1.2).
pub fn scalar_text(n: &Node) -> Option<String> {
    match &n.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(i) => Some(i.to_string()),
        NodeKind::Float(f) => Some(f.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The names of a mapping's keys.
pub(crate) fn keys(n: &Node) -> Vec<&str> {
    n.entries().iter().filter_map(|(k, _)| k.as_str()).collect()
}

/// A `/`-separated relative path of `p` under `base`.
pub(crate) fn rel_path(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}
