//! The loaded project a server answers from, and its reload.
//!
//! A [`Loaded`] is immutable: the checked model, what the model leaves out of the spec (metric
//! metadata, labels and descriptions that only the listing tools show), the read-only DuckDB
//! connection and a cache of which group-by items each metric accepts. [`ProjectHandle`] holds the
//! current one behind an `Arc`; a reload builds a new one and swaps the pointer, so a request in
//! flight finishes on the project it started with.

use crate::error::ServeError;
use crate::exec::Database;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tally_core::diag::{self, codes};
use tally_core::load::LoadOptions;
use tally_core::model::Model;
use tally_core::spec::SampleData;

/// How to load the project.
#[derive(Clone, Debug, Default)]
pub struct ProjectOptions {
    pub root: PathBuf,
    pub load: LoadOptions,
    /// The DuckDB database file (default: `duckdb:` in tally.yml, relative to the project).
    pub duckdb: Option<PathBuf>,
}

/// What the listing tools show that the checked model does not keep.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// A metric's `meta` merged with its `config.meta` (dbt's place for it).
    pub metric_meta: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    pub saved_query_labels: BTreeMap<String, String>,
    /// Descriptions and metadata of dimensions by name (the first semantic model defining one).
    pub dimension_descriptions: BTreeMap<String, String>,
    pub dimension_meta: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

pub struct Loaded {
    pub model: Model,
    pub extras: Extras,
    pub database: Database,
    /// Group-by items each metric accepts (computed on first use).
    pub(crate) accepted: Mutex<HashMap<String, Arc<crate::catalog::Accepted>>>,
    /// The project's warnings (a server starts on a project without errors).
    pub warnings: Vec<diag::Diagnostic>,
    /// The range warnings (E0809) of each semantic model whose business durations a query read,
    /// by its position: checked once per load, as the database is read-only.
    pub(crate) range_warnings: Mutex<HashMap<usize, Vec<diag::Diagnostic>>>,
}

/// A note for the operator (the CLI prints it on stderr), such as sample data being generated.
pub type Notes = Vec<String>;

/// Load and check the project and open its database read-only. A project with errors is refused:
/// a server answers from a valid project or not at all.
pub fn load(opts: &ProjectOptions) -> Result<(Loaded, Notes), ServeError> {
    let mut notes = Notes::new();
    // Read once: the settings taken from the spec before resolution consumes it.
    let (spec, load_diags) = tally_core::load::load_project(&opts.root, &opts.load);
    let extras = extras(&spec);
    let db_setting = spec.config.duckdb.as_ref().map(|s| s.value.clone());
    let sample = spec.config.sample_data.clone();
    let (model, diags) =
        tally_core::pipeline::check_spec(spec, load_diags, &tally_templates::builtin());
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        let text = errors
            .iter()
            .take(5)
            .map(|d| diag::plain_text(&model.sources, d))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ServeError::new(
            codes::SERVE_CONFIG,
            500,
            format!(
                "the project at {} has {} error(s):\n{text}",
                opts.root.display(),
                errors.len()
            ),
        )
        .with_help("run `tally validate` and fix them; the server answers from a valid project"));
    }
    let path = opts
        .duckdb
        .clone()
        .or_else(|| db_setting.map(|p| opts.root.join(p)));
    if let Some(p) = &path {
        if !p.exists() && opts.duckdb.is_none() {
            if let Some(cfg) = &sample {
                notes.push(generate_sample(p, cfg)?);
            }
        }
    }
    let mut database = Database::open(path.as_deref())?;
    database.clocks = tally_duckdb::clock::shared_clocks(&model);
    Ok((
        Loaded {
            model,
            extras,
            database,
            accepted: Mutex::new(HashMap::new()),
            warnings: diags.into_iter().filter(|d| !d.is_error()).collect(),
            range_warnings: Mutex::new(HashMap::new()),
        },
        notes,
    ))
}

fn meta_of(
    meta: Option<&serde_json::Value>,
    config: Option<&serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    if let Some(serde_json::Value::Object(m)) = config.and_then(|c| c.get("meta")) {
        out.extend(m.clone());
    }
    if let Some(serde_json::Value::Object(m)) = meta {
        out.extend(m.clone());
    }
    out
}

fn extras(spec: &tally_core::load::ProjectSpec) -> Extras {
    let mut x = Extras::default();
    for m in &spec.metrics {
        let meta = meta_of(m.meta.as_ref(), m.config.as_ref());
        if !meta.is_empty() {
            x.metric_meta.insert(m.name.value.clone(), meta);
        }
    }
    for sq in &spec.saved_queries {
        if let Some(l) = &sq.label {
            x.saved_query_labels
                .insert(sq.name.value.clone(), l.value.clone());
        }
    }
    for sm in &spec.semantic_models {
        for d in &sm.dimensions {
            let name = d.name.value.clone();
            if let Some(desc) = &d.description {
                x.dimension_descriptions
                    .entry(name.clone())
                    .or_insert_with(|| desc.trim().to_string());
            }
            let meta = meta_of(d.meta.as_ref(), d.config.as_ref());
            if !meta.is_empty() {
                x.dimension_meta.entry(name).or_insert(meta);
            }
        }
    }
    x
}

/// Generate the project's sample data (`sample_data:` in tally.yml) into a missing database, as
/// `tally query` does.
fn generate_sample(path: &Path, cfg: &SampleData) -> Result<String, ServeError> {
    let generator = cfg.generator.name();
    let conversations = cfg.conversations.min(usize::MAX as u64) as usize;
    let seed = cfg.seed;
    let fail = |msg: String| ServeError::new(codes::SERVE_CONFIG, 500, msg);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let conn = tally_duckdb::engine::open(Some(path))
        .map_err(|e| fail(format!("cannot create {}: {e}", path.display())))?;
    let opts = tally_sample::SampleOptions {
        conversations,
        seed,
        schema: "intercom".into(),
        progress: false,
    };
    tally_sample::generate_intercom(&conn, &opts)
        .map_err(|e| fail(format!("sample data generation failed: {e}")))?;
    Ok(format!(
        "{} did not exist; generated {generator} sample data ({conversations} conversations, seed {seed})",
        path.display()
    ))
}

/// The current project, swapped whole on reload.
pub struct ProjectHandle {
    opts: ProjectOptions,
    current: RwLock<Arc<Loaded>>,
    generation: std::sync::atomic::AtomicU64,
}

impl ProjectHandle {
    pub fn open(opts: ProjectOptions) -> Result<(ProjectHandle, Notes), ServeError> {
        let (loaded, notes) = load(&opts)?;
        Ok((
            ProjectHandle {
                opts,
                current: RwLock::new(Arc::new(loaded)),
                generation: std::sync::atomic::AtomicU64::new(1),
            },
            notes,
        ))
    }

    pub fn options(&self) -> &ProjectOptions {
        &self.opts
    }

    /// The project as of now; requests keep their `Arc` until they finish.
    pub fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many times the project was loaded (1 after start).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Load the project again and swap it in; on errors the current project stays.
    pub fn reload(&self) -> Result<u64, ServeError> {
        let (loaded, _) = load(&self.opts)?;
        let fresh = Arc::new(loaded);
        match self.current.write() {
            Ok(mut g) => *g = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1)
    }

    /// A fingerprint of the project's YAML and SQL files (paths, sizes, modification times), to
    /// reload when it changes.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.opts.root)
    }
}

fn fingerprint(root: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    collect(root, 0, &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (p, len, mtime) in files {
        p.hash(&mut h);
        len.hash(&mut h);
        mtime.hash(&mut h);
    }
    h.finish()
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, u64, u128)>) {
    if depth > 12 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            collect(&path, depth + 1, out);
        } else if matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("yml" | "yaml" | "sql" | "csv")
        ) {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            out.push((path, meta.len(), mtime));
        }
    }
}
