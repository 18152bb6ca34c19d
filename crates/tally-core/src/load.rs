//! Stage 1, `load`: project files -> [`ProjectSpec`] (spec types with spans).
//!
//! The only module of the core that touches the file system. It finds the YAML files of a project,
//! parses every document and sorts the semantic-layer parts into a [`ProjectSpec`]; everything else in
//! a dbt YAML file is ignored without complaint.

use crate::diag::{codes, Diagnostic};
use crate::files::{FileReader, ReadError};
use crate::source::Span;
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
    /// tally's check tests (`check_tests:`), with their CSV files read into `sources`.
    pub check_tests: Vec<crate::spec::CheckTest>,
    /// tally's business calendars (`business_calendars:`) and holiday sets (`holiday_sets:`).
    pub business_calendars: Vec<crate::spec::calendar::BusinessCalendar>,
    pub holiday_sets: Vec<crate::spec::calendar::HolidaySet>,
    /// A dbt project's target and relations (when the project has a `dbt_project.yml`).
    pub dbt: Option<crate::dbt::DbtInfo>,
}

/// Settings from the command line that override tally.yml.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// What `$source_schema` stands for.
    pub source_schema: Option<String>,
    /// dbt's flags (`--profiles-dir`, `--profile`, `--target`, `--vars`) and environment.
    pub dbt: crate::dbt::DbtOptions,
    /// Read the semantic layer from dbt's semantic manifest (`target/semantic_manifest.json`)
    /// instead of the project's YAML files (`--manifest FILE`).
    pub manifest: Option<PathBuf>,
    /// Read files outside the project directory (`paths:`, `csv:`, symbolic links); off by default
    /// so that checking a stranger's project reads nothing else (README, "Trust model and limits").
    pub allow_outside_project: bool,
}

/// The disk, as the dbt loader reads it: the project's files through the project's
/// [`FileReader`] (confined, bounded), and a `profiles.yml` from outside the project as a bounded
/// regular file (`--profiles-dir`, `$DBT_PROFILES_DIR` and `~/.dbt` are the user's own choice).
struct DiskFiles<'a> {
    root: &'a Path,
    reader: &'a FileReader,
    /// Whether each entry of a listed directory is a directory, from the listing's file types
    /// (no symbolic links: those are asked about when needed), so that a walk does not ask the
    /// disk about each entry again.
    kinds: std::cell::RefCell<std::collections::HashMap<PathBuf, bool>>,
}

impl<'a> DiskFiles<'a> {
    fn new(root: &'a Path, reader: &'a FileReader) -> DiskFiles<'a> {
        DiskFiles {
            root,
            reader,
            kinds: Default::default(),
        }
    }
}

impl crate::dbt::Files for DiskFiles<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        let outside = path.strip_prefix(self.root).is_err();
        let profiles = path.file_name().is_some_and(|n| n == "profiles.yml");
        let text = if outside && profiles {
            crate::files::read_limited(path)
        } else {
            self.reader.read(path)
        };
        text.map_err(|e| e.message())
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn is_dir(&self, path: &Path) -> bool {
        if let Some(&yes) = self.kinds.borrow().get(path) {
            return yes;
        }
        path.is_dir()
    }
    fn list(&self, dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut kinds = self.kinds.borrow_mut();
        let mut out: Vec<PathBuf> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                let path = e.path();
                match e.file_type() {
                    Ok(t) if !t.is_symlink() => {
                        kinds.insert(path.clone(), t.is_dir());
                    }
                    _ => {}
                }
                Some(path)
            })
            .collect();
        out.sort();
        out
    }
}

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
    "check_tests",
    "business_calendars",
    "holiday_sets",
];

/// Directories never read when a project is scanned recursively (the CLI's `tally diff` skips the
/// same ones in git's listing).
pub const SKIP_DIRS: &[&str] = &[
    "target",
    "dbt_packages",
    "node_modules",
    "logs",
    "dbt_modules",
];

/// The directories a project's YAML is read from when its configuration names none.
const DEFAULT_DIRS: [&str; 3] = ["models", "metrics", "semantic_models"];

/// How many directory entries [`sources_reach`] looks at before it takes a project for large.
const SCAN_ENTRIES: usize = 20_000;

/// Whether the files a load of `root` reads hold `bytes` or more, judged from directory listings
/// and file sizes alone (no file is opened): the YAML, CSV and SQL files below the directories a
/// project is read from by default (`models`, `metrics`, `semantic_models` and `templates`; the
/// whole directory when it has none of them or no configuration), leaving out hidden directories
/// and [`SKIP_DIRS`], as the loader does. Stops as soon as the sizes add up to `bytes`, and
/// answers `true` after `SCAN_ENTRIES` (20,000) entries. Only a hint for where to load
/// ([`crate::pipeline::load_model`]): a project whose `paths:` name other directories is judged by
/// the default ones; what a load reads and reports does not depend on it.
pub fn sources_reach(root: &Path, bytes: u64) -> bool {
    let mut scan = SizeScan {
        left: bytes,
        entries: SCAN_ENTRIES,
    };
    let dirs: Vec<PathBuf> = DEFAULT_DIRS
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    let is_project = ["tally.yml", "tally.yaml", "dbt_project.yml"]
        .iter()
        .any(|f| root.join(f).is_file());
    if dirs.is_empty() || !is_project {
        return scan.reaches(root);
    }
    dirs.iter()
        .chain(std::iter::once(&root.join("templates")))
        .any(|d| scan.reaches(d))
}

/// The state of [`sources_reach`]: the bytes still to find, the entries still to look at.
struct SizeScan {
    left: u64,
    entries: usize,
}

impl SizeScan {
    /// Whether the limit is reached within `dir` (symbolic links followed; the entry budget
    /// ends any cycle).
    fn reaches(&mut self, dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        for entry in entries.flatten() {
            if self.entries == 0 {
                return true;
            }
            self.entries -= 1;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if !SKIP_DIRS.contains(&name.as_ref()) && self.reaches(&path) {
                    return true;
                }
            } else if [".yml", ".yaml", ".csv", ".sql"]
                .iter()
                .any(|e| name.ends_with(e))
            {
                self.left = self.left.saturating_sub(meta.len());
                if self.left == 0 {
                    return true;
                }
            }
        }
        false
    }
}

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
    let reader = FileReader::new(root, opts.allow_outside_project);
    // A configuration that exists in any form (even a dangling link or a directory) is the one.
    let config_path = ["tally.yml", "tally.yaml"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.symlink_metadata().is_ok());
    let mut config_doc = None;
    if let Some(p) = &config_path {
        // A broken configuration is the first and only error: everything after it would be noise.
        let Some((_, mut docs)) = read_yaml(&mut spec.sources, root, p, &reader, &mut diags) else {
            return (spec, diags);
        };
        if let Some(extra) = docs.get(1) {
            diags.push(extra_document(extra));
            return (spec, diags);
        }
        if let Some(doc) = docs.pop() {
            if !matches!(doc.kind, NodeKind::Map(_) | NodeKind::Null) {
                diags.push(not_a_mapping(&doc));
                return (spec, diags);
            }
            let cell = RefCell::new(Vec::new());
            if let Some(cfg) = yaml::decode::<ProjectFile>(&doc, &cell) {
                spec.config = cfg;
            }
            diags.extend(cell.into_inner());
            config_doc = Some(doc);
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
                    match reader.read(&p) {
                        Ok(t) => spec.templates.push((
                            p.file_name()
                                .unwrap_or_default()
                                .to_string_lossy()
                                .into_owned(),
                            t,
                        )),
                        Err(e) => diags.push(read_error(e, &p)),
                    }
                }
            }
        }
    }
    // A dbt load writes down what it consults besides its sources (files read and not kept,
    // directory listings, environment variables) in a log of its own (`crate::digest`).
    let dbt_opts = crate::dbt::DbtOptions {
        consulted: crate::dbt::Consulted::default(),
        ..opts.dbt.clone()
    };
    let disk = crate::dbt::Recorded {
        files: &DiskFiles::new(root, &reader),
        log: &dbt_opts.consulted,
    };
    let mut dbt = if root.join("dbt_project.yml").is_file() {
        crate::dbt::loader::DbtLoad::open(&disk, &mut spec.sources, root, &dbt_opts, &mut diags)
    } else {
        None
    };
    if let Some(path) = &opts.manifest {
        // The manifest carries the semantic layer with its relations rendered by dbt; the dbt
        // project (when there is one) still says which database its target writes to.
        read_manifest_file(&mut spec, root, path, &mut diags);
    }
    let paths_span = config_doc
        .as_ref()
        .and_then(|d| d.get("paths"))
        .map(|n| n.span);
    // A dbt project's YAML is what dbt reads (its model paths and those of packages with
    // semantic models) unless tally.yml names the directories.
    let files: Vec<(usize, PathBuf, bool)> = match &dbt {
        Some(d) if spec.config.paths.is_empty() => d.yaml_files(&disk),
        _ => project_files(root, &spec.config, &reader, paths_span, &mut diags)
            .into_iter()
            .map(|p| (0, p, true))
            .collect(),
    };
    for (package, path, whole) in files {
        // With a manifest the semantic layer comes from it; tally's metric tests still live in
        // the YAML, and only files that have some are read (every file read is a source, and
        // later stages look at the sources).
        if opts.manifest.is_some() && !has_tests(&path) {
            continue;
        }
        if let Some((_, mut docs)) = read_yaml(&mut spec.sources, root, &path, &reader, &mut diags)
        {
            for doc in &mut docs {
                if opts.manifest.is_some() {
                    read_tests(doc, &mut spec, &mut diags);
                    continue;
                }
                if let Some(d) = &mut dbt {
                    d.take_document(package, doc, whole, &spec.sources, &mut diags);
                }
                // Seed properties files are not semantic-layer YAML.
                if whole {
                    read_document(doc, &mut spec, &mut diags);
                }
            }
        }
    }
    if let Some(d) = dbt {
        // `{{ var() }}` in `expr:` and `sql:` sees dbt's variables too; tally.yml's win.
        for (k, v) in d.root_vars() {
            if !spec.config.vars.contains_key(k) {
                spec.config.vars.insert(k.clone(), v.clone());
            }
        }
        let (mut info, pc) = d.finish(!spec.semantic_models.is_empty(), &spec.sources, &mut diags);
        info.consulted = dbt_opts.consulted.take();
        // With a manifest its own project configuration (time spines) holds; the dbt project
        // still says which database its target writes to.
        if opts.manifest.is_none() {
            spec.project_configurations.extend(pc);
        }
        spec.dbt = Some(info);
    }
    attach_csv_files(&mut spec, &mut diags, &|yaml: &SourceFile, rel: &str| {
        let path = yaml.path.parent().unwrap_or(Path::new("")).join(rel);
        let name = match path.strip_prefix(root) {
            Ok(p) => normalize_path(&p.to_string_lossy()),
            Err(_) => normalize_path(&path.to_string_lossy()),
        };
        match reader.read(&path) {
            Ok(text) => Ok((name, path.clone(), text)),
            Err(ReadError::Utf8 { text, at }) => {
                let (line, col) = SourceFile::new("", "", text).line_col(at);
                Err(ReadError::Io(format!(
                    "`{}` is not valid UTF-8 (line {line}, column {col})",
                    path.display()
                )))
            }
            Err(e) => Err(e),
        }
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
                if let Some(extra) = docs.get(1) {
                    diags.push(extra_document(extra));
                } else if let Some(doc) = docs.first().filter(|d| !d.entries().is_empty()) {
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
            .ok_or_else(|| ReadError::Io(format!("cannot read `{name}`: no such file")))
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
        if let Ok(text) = crate::files::read_limited(&p) {
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
    let reader = FileReader::new(root, false);
    let files = project_files(root, &config, &reader, None, &mut ignored);
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
type ReadBeside<'a> =
    dyn Fn(&SourceFile, &str) -> Result<(String, PathBuf, String), ReadError> + 'a;

/// Read the CSV files metric tests refer to (fixtures and expected rows), relative to the YAML file
/// that names them, into the source map.
fn attach_csv_files(spec: &mut ProjectSpec, diags: &mut Vec<Diagnostic>, read: &ReadBeside<'_>) {
    let sources = &mut spec.sources;
    let mut attach = |csv: &Option<crate::yaml::Spanned<String>>,
                      slot: &mut Option<FileId>,
                      code: &'static str| {
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
            Err(ReadError::Outside(e)) => diags.push(outside(e, csv.span)),
            Err(e) => diags.push(
                Diagnostic::error(code, e.message())
                    .at(csv.span)
                    .with_label("CSV file not readable")
                    .with_help("a `csv:` path is relative to the YAML file that names it"),
            ),
        }
    };
    for t in &mut spec.check_tests {
        for f in &mut t.given {
            attach(&f.csv, &mut f.csv_file, codes::TEST_FIXTURE);
        }
    }
    for t in &mut spec.metric_tests {
        for f in &mut t.given {
            attach(&f.csv, &mut f.csv_file, codes::TEST_FIXTURE);
        }
        attach(&t.expect.csv, &mut t.expect.csv_file, codes::TEST_FIXTURE);
    }
    for m in &mut spec.metrics {
        for t in &mut m.targets {
            attach(&t.file, &mut t.file_id, codes::TARGET_FILE);
        }
    }
}

fn project_files(
    root: &Path,
    config: &ProjectFile,
    reader: &FileReader,
    paths_span: Option<Span>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in &config.paths {
        let dir = root.join(p);
        match reader.check_inside(&dir) {
            Ok(()) => dirs.push(dir),
            Err(e) => diags.push(outside(e.message(), paths_span.unwrap_or(Span::DUMMY))),
        }
    }
    let is_project = ["tally.yml", "tally.yaml", "dbt_project.yml"]
        .iter()
        .any(|f| root.join(f).is_file());
    if dirs.is_empty() && is_project {
        for d in DEFAULT_DIRS {
            if root.join(d).is_dir() {
                dirs.push(root.join(d));
            }
        }
    }
    let mut files = Vec::new();
    let mut seen = Vec::new();
    if dirs.is_empty() && config.paths.is_empty() {
        // A bare directory of YAML (MetricFlow's manifest format): read it all.
        walk(root, &mut files, diags, true, &mut seen);
    } else {
        for d in dirs {
            walk(&d, &mut files, diags, false, &mut seen);
        }
    }
    files.sort();
    files.dedup();
    files
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    diags: &mut Vec<Diagnostic>,
    top_is_root: bool,
    seen: &mut Vec<PathBuf>,
) {
    // A directory reached twice (a symbolic link to a parent) is read once: no endless descent.
    if let Ok(real) = std::fs::canonicalize(dir) {
        if seen.contains(&real) {
            return;
        }
        seen.push(real);
    }
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
            walk(&p, out, diags, false, seen);
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
    reader: &FileReader,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Vec<Node>)> {
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = match reader.read(path) {
        Ok(t) => t,
        Err(ReadError::Utf8 { text, at }) => {
            let width = text[at..].chars().next().map_or(0, char::len_utf8);
            let id = sources.add(SourceFile::new(name, path, text));
            diags.push(
                Diagnostic::error(codes::YAML_SYNTAX, "the file is not valid UTF-8")
                    .at(Span::new(id, at, at + width))
                    .with_label("first invalid byte")
                    .with_help("save the file as UTF-8"),
            );
            return None;
        }
        Err(e) => {
            diags.push(read_error(e, path));
            return None;
        }
    };
    let id = sources.add(SourceFile::new(name, path, text));
    match yaml::parse_file(id, sources.get(id).expect("just added")) {
        Ok(docs) => Some((id, docs)),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

fn read_document(doc: &Node, spec: &mut ProjectSpec, diags: &mut Vec<Diagnostic>) {
    let entries = match &doc.kind {
        NodeKind::Map(entries) => entries,
        // An empty document (`---` alone, comments only) says nothing.
        NodeKind::Null => return,
        _ => {
            diags.push(not_a_mapping(doc));
            return;
        }
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
            "check_tests" => push_list(&mut spec.check_tests, v, &cell),
            "business_calendars" => push_list(&mut spec.business_calendars, v, &cell),
            "holiday_sets" => push_list(&mut spec.holiday_sets, v, &cell),
            _ if crate::spec::DBT_KEYS.contains(&key) => {}
            _ => {
                let all = OUR_KEYS.iter().chain(crate::spec::DBT_KEYS.iter()).copied();
                cell.borrow_mut().push(
                    Diagnostic::error(codes::UNKNOWN_DOCUMENT, format!("unknown top-level key `{key}`"))
                        .at(k.span)
                        .with_label("tally and dbt do not read this key")
                        .with_suggestion(key, all)
                        .with_help("tally reads semantic_model(s), metric(s), saved_query/saved_queries, project_configuration, metric_tests, test_tables, check_tests, business_calendars and holiday_sets"),
                );
            }
        }
    }
    diags.extend(cell.into_inner());
}

/// Whether a YAML file may hold metric tests (a cheap look at its text).
fn has_tests(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| {
        t.contains("metric_test") || t.contains("test_tables") || t.contains("check_tests")
    })
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
            Some("check_tests") => push_list(&mut spec.check_tests, v, &cell),
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

/// A project YAML document whose top level is a list or a scalar: its content would be ignored.
fn not_a_mapping(doc: &Node) -> Diagnostic {
    Diagnostic::error(
        codes::UNKNOWN_DOCUMENT,
        format!(
            "this YAML document is {}, not a mapping of top-level keys",
            doc.type_name()
        ),
    )
    .at(Span::new(
        doc.span.file,
        doc.span.start as usize,
        doc.span.start as usize,
    ))
    .with_label("tally would ignore this document")
    .with_help("start the document with a top-level key such as `metrics:` or `semantic_models:`")
}

/// A second YAML document in tally.yml.
fn extra_document(doc: &Node) -> Diagnostic {
    Diagnostic::error(codes::CONFIG, "tally.yml holds more than one YAML document")
        .at(Span::new(
            doc.span.file,
            doc.span.start as usize,
            doc.span.start as usize,
        ))
        .with_label("this document would be ignored")
        .with_help("remove the `---` separator and merge the settings into one document")
}

fn outside(message: String, span: Span) -> Diagnostic {
    Diagnostic::error(codes::OUTSIDE_PROJECT, message)
        .at(span)
        .with_label("outside the project")
        .with_help("tally reads only files inside the project directory; pass --allow-outside-project to trust this project with more")
}

fn read_error(e: ReadError, path: &Path) -> Diagnostic {
    match e {
        ReadError::Outside(m) => outside(m, Span::DUMMY),
        ReadError::Io(m) => Diagnostic::error(codes::IO, m)
            .with_help("tally reads regular files of at most 32 MiB inside the project"),
        ReadError::Utf8 { .. } => Diagnostic::error(
            codes::IO,
            format!("`{}` is not valid UTF-8", path.display()),
        )
        .with_help("save the file as UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::DiskFiles;
    use crate::dbt::Files;
    use crate::files::FileReader;

    /// The size hint counts the files a load reads: below the default directories of a
    /// configured project (not `target/`, hidden directories or other files), the whole of a
    /// bare directory, and stops at the limit.
    #[test]
    fn sources_reach_counts_what_a_load_reads() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, bytes: usize| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x".repeat(bytes)).unwrap();
        };
        write("models/a.yml", 100);
        write("metrics/deep/b.yaml", 50);
        write("metrics/c.csv", 10);
        write("metrics/notes.md", 1000);
        write("metrics/.hidden/d.yml", 1000);
        write("metrics/target/e.yml", 1000);
        write("docs/f.yml", 1000);
        // A bare directory: everything below it that is no hidden or skipped directory.
        assert!(super::sources_reach(root, 1160));
        assert!(!super::sources_reach(root, 1161));
        // A project: its default directories.
        write("tally.yml", 5);
        assert!(super::sources_reach(root, 160));
        assert!(!super::sources_reach(root, 161));
        assert!(!super::sources_reach(&root.join("missing"), 1));
    }

    /// A dbt project's own files are read confined to the project (a symbolic link out of it is
    /// refused); a `profiles.yml` the user keeps elsewhere (`~/.dbt`, `--profiles-dir`) is read.
    #[cfg(unix)]
    #[test]
    fn dbt_files_stay_in_the_project_but_profiles_may_live_elsewhere() {
        let outside = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.sql");
        std::fs::write(&secret, "select 'secret'").unwrap();
        std::fs::write(outside.path().join("profiles.yml"), "p: {target: dev}\n").unwrap();
        std::fs::create_dir(project.path().join("models")).unwrap();
        std::fs::write(project.path().join("models/own.sql"), "select 1").unwrap();
        std::os::unix::fs::symlink(&secret, project.path().join("models/leak.sql")).unwrap();

        let reader = FileReader::new(project.path(), false);
        let disk = DiskFiles::new(project.path(), &reader);
        assert_eq!(
            disk.read(&project.path().join("models/own.sql")).unwrap(),
            "select 1"
        );
        let err = disk
            .read(&project.path().join("models/leak.sql"))
            .unwrap_err();
        assert!(err.contains("outside the project"), "{err}");
        assert!(
            disk.read(&secret).is_err(),
            "a project file outside the root"
        );
        assert!(disk.read(&outside.path().join("profiles.yml")).is_ok());

        let trusting = FileReader::new(project.path(), true);
        let disk = DiskFiles::new(project.path(), &trusting);
        assert!(disk.read(&project.path().join("models/leak.sql")).is_ok());
    }

    /// A listing answers for its entries whether they are directories (from the directory's
    /// file types) as the disk does, symbolic links included: a link to a directory is one (the
    /// walk goes into it), a link to a file or a dangling link is not; paths never listed are
    /// asked of the disk.
    #[cfg(unix)]
    #[test]
    fn listed_entries_are_directories_as_the_disk_says() {
        use std::os::unix::fs::symlink;
        let project = tempfile::tempdir().unwrap();
        let p = project.path();
        std::fs::create_dir_all(p.join("models/sub")).unwrap();
        std::fs::write(p.join("models/a.sql"), "select 1").unwrap();
        symlink(p.join("models/sub"), p.join("models/to_dir")).unwrap();
        symlink(p.join("models/a.sql"), p.join("models/to_file")).unwrap();
        symlink(p.join("models/missing"), p.join("models/dangling")).unwrap();
        let reader = FileReader::new(p, false);
        let disk = DiskFiles::new(p, &reader);
        let listed = disk.list(&p.join("models"));
        assert_eq!(listed.len(), 5, "{listed:?}");
        for path in &listed {
            assert_eq!(disk.is_dir(path), path.is_dir(), "{}", path.display());
        }
        assert!(disk.is_dir(&p.join("models/to_dir")));
        assert!(!disk.is_dir(&p.join("models/to_file")));
        assert!(
            disk.is_dir(&p.join("models")),
            "never listed: asked of the disk"
        );
        assert!(!disk.is_dir(&p.join("nothing")));
    }
}
