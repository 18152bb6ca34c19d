//! A dbt project read in the order dbt reads it: `dbt_project.yml` and `--vars`, the profile's
//! active target, installed packages that define semantic models, doc blocks and models; then
//! each schema YAML document is rendered and its model and source entries kept; at the end the
//! relations and time spines are computed.

use super::naming::{Naming, NodeInfo};
use super::profiles::{self, Target};
use super::project::{self, Package};
use super::relations::{self, DbtRelation, ModelFile};
use super::render::{self, RenderContext, Seg};
use super::{rel_path, spine, DbtInfo, DbtOptions, Files};
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceFile, SourceMap};
use crate::spec::ProjectConfiguration;
use crate::yaml::{self, Node, NodeKind};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// A dbt project being loaded.
#[derive(Debug)]
pub struct DbtLoad {
    /// The root project first, then the packages that define semantic models.
    pub packages: Vec<Package>,
    pub target: Option<Target>,
    /// `--vars`.
    pub cli_vars: IndexMap<String, serde_json::Value>,
    /// The rendering context of each package.
    contexts: Vec<RenderContext>,
    models: Vec<ModelFile>,
    /// Model entries of schema YAML: (package, entry).
    entries: Vec<(usize, Node)>,
    /// Source entries of schema YAML: (package, entry).
    source_entries: Vec<(usize, Node)>,
    /// Seed entries of schema YAML: (package, entry).
    seed_entries: Vec<(usize, Node)>,
    /// The root project's naming macros.
    naming: Naming,
}

/// What [`DbtLoad::finish`] reads of a model entry (its name, `config:`, `time_spine:` with the
/// `columns:` it names, whether it has a `semantic_model:`), copied out of the document; the
/// rest (the latest spec's semantic columns, metrics, derived semantics) is tally's, read from
/// the document itself, and was most of the copy.
fn model_part(entry: &Node) -> Node {
    let NodeKind::Map(pairs) = &entry.kind else {
        return entry.clone();
    };
    let spine = entry.get("time_spine").is_some();
    let kept = pairs
        .iter()
        .filter(|(k, _)| match k.as_str() {
            Some("name" | "config" | "time_spine" | "semantic_model") => true,
            Some("columns") => spine,
            _ => false,
        })
        .cloned()
        .collect();
    Node {
        span: entry.span,
        kind: NodeKind::Map(kept),
    }
}

/// Top-level keys of schema YAML that are tally's own, never rendered by dbt's rules.
const TALLY_KEYS: &[&str] = &["metric_tests", "metric_test", "test_tables", "check_tests"];

impl DbtLoad {
    /// Read the dbt project at `root` (which has a `dbt_project.yml`).
    pub fn open(
        files: &dyn Files,
        sources: &mut SourceMap,
        root: &Path,
        opts: &DbtOptions,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<DbtLoad> {
        let cli_vars = cli_vars(sources, opts, diags);
        let mut root_pkg = read_package(files, sources, root, root, true, diags)?;
        let target = profiles::load_target(
            files,
            sources,
            root,
            root_pkg.profile.as_ref(),
            root_pkg.anchor,
            opts,
            &cli_vars,
            diags,
        );
        let mut packages = Vec::new();
        for dir in project::package_dirs(files, &root_pkg) {
            if !defines_semantic_models(files, &dir) {
                continue;
            }
            if let Some(p) = read_package(files, sources, root, &dir, false, diags) {
                packages.push(p);
            }
        }
        let names: Vec<String> = std::iter::once(root_pkg.name.clone())
            .chain(packages.iter().map(|p| p.name.clone()))
            .collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // Doc blocks of every package, by name; the root project's win.
        let mut docs = IndexMap::new();
        for p in std::iter::once(&root_pkg).chain(&packages) {
            for (name, text) in doc_blocks(files, p, diags) {
                docs.entry(format!("{}.{name}", p.name))
                    .or_insert_with(|| text.clone());
                docs.entry(name).or_insert(text);
            }
        }
        let context_for = |p: &Package, root_pkg: &Package| RenderContext {
            vars: project::vars_for(p, root_pkg, &name_refs, &cli_vars),
            project_vars: true,
            docs: docs.clone(),
            target: target.clone(),
            env: opts.clone(),
        };
        // `models:` configs of dbt_project.yml are rendered like any config value.
        let root_ctx = context_for(&root_pkg, &root_pkg);
        root_pkg.models_config = rendered_config(&root_pkg, "models", &root_ctx, sources, diags);
        root_pkg.seeds_config = rendered_config(&root_pkg, "seeds", &root_ctx, sources, diags);
        let mut contexts = vec![root_ctx];
        for p in &mut packages {
            let ctx = context_for(p, &root_pkg);
            p.models_config = rendered_config(p, "models", &ctx, sources, diags);
            p.seeds_config = rendered_config(p, "seeds", &ctx, sources, diags);
            contexts.push(ctx);
        }
        packages.insert(0, root_pkg);
        let naming = naming_macros(files, sources, root, &packages[0], diags);
        let mut models = Vec::new();
        for (i, p) in packages.iter().enumerate() {
            models.extend(relations::discover_models(files, p, i, diags));
        }
        Some(DbtLoad {
            packages,
            target,
            cli_vars,
            contexts,
            models,
            entries: Vec::new(),
            source_entries: Vec::new(),
            seed_entries: Vec::new(),
            naming,
        })
    }

    /// The schema YAML files dbt reads: `.yml`/`.yaml` under each package's model paths (read
    /// whole) and seed paths (read for seed properties only), as (package, path, whole), in path
    /// order.
    pub fn yaml_files(&self, files: &dyn Files) -> Vec<(usize, PathBuf, bool)> {
        let mut out = Vec::new();
        for (i, p) in self.packages.iter().enumerate() {
            let dirs = p
                .model_paths
                .iter()
                .map(|d| (d, true))
                .chain(p.seed_paths.iter().map(|d| (d, false)));
            for (dir, whole) in dirs {
                let mut found = Vec::new();
                relations::walk(files, &p.dir.join(dir), &mut found);
                for f in found {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.ends_with(".yml") || name.ends_with(".yaml") {
                        out.push((i, f, whole));
                    }
                }
            }
        }
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        out
    }

    /// Render a schema YAML document of package `pkg` in place (as dbt renders it) and keep its
    /// model and source entries.
    /// With `whole` false (a file under the seed paths) only its `seeds:` entries are read.
    pub fn take_document(
        &mut self,
        pkg: usize,
        doc: &mut Node,
        whole: bool,
        sources: &SourceMap,
        diags: &mut Vec<Diagnostic>,
    ) {
        let ctx = &self.contexts[pkg];
        if let NodeKind::Map(entries) = &mut doc.kind {
            for (k, v) in entries.iter_mut() {
                let Some(key) = k.as_str().map(str::to_string) else {
                    continue;
                };
                if TALLY_KEYS.contains(&key.as_str()) || key == "version" {
                    continue;
                }
                if !whole && key != "seeds" {
                    continue;
                }
                render::render_entries(ctx, sources, &key, v, diags);
                let keep = match key.as_str() {
                    "models" => &mut self.entries,
                    "seeds" => &mut self.seed_entries,
                    "sources" => &mut self.source_entries,
                    _ => continue,
                };
                if let NodeKind::Seq(items) = &v.kind {
                    let models = key == "models";
                    keep.extend(items.iter().map(|i| {
                        let kept = if models { model_part(i) } else { i.clone() };
                        (pkg, kept)
                    }));
                }
            }
        }
    }

    /// Relations and time spines, once every document is read. `has_semantic_models`: whether
    /// the project defines any (dbt adds the legacy spine only then).
    pub fn finish(
        self,
        has_semantic_models: bool,
        sources: &SourceMap,
        diags: &mut Vec<Diagnostic>,
    ) -> (DbtInfo, Option<ProjectConfiguration>) {
        let root = &self.packages[0];
        let mut info = DbtInfo {
            project_name: root.name.clone(),
            target: self.target.clone(),
            duckdb_path: self.target.as_ref().and_then(|t| t.path.clone()),
            ..DbtInfo::default()
        };
        let has_semantic_models = has_semantic_models
            || self
                .entries
                .iter()
                .any(|(_, e)| e.get("semantic_model").is_some());
        // YAML entries by (package, model name): the last one of a name wins, as in dbt patches.
        let mut entry_of: IndexMap<(usize, String), &Node> = IndexMap::new();
        for (p, e) in &self.entries {
            if let Some(n) = e.get("name").and_then(super::scalar_text) {
                entry_of.insert((*p, n), e);
            }
        }
        let mut seed_entry_of: IndexMap<(usize, String), &Node> = IndexMap::new();
        for (p, e) in &self.seed_entries {
            if let Some(n) = e.get("name").and_then(super::scalar_text) {
                seed_entry_of.insert((*p, n), e);
            }
        }
        if let Some(target) = &self.target {
            for m in &self.models {
                let own = &self.packages[m.package];
                let entries = match m.resource_type {
                    "seed" => &seed_entry_of,
                    _ => &entry_of,
                };
                let yaml_config = entries
                    .get(&(m.package, m.name.clone()))
                    .and_then(|e| e.get("config"));
                let custom = relations::model_configs(m, yaml_config, own, root);
                if !custom.enabled {
                    continue;
                }
                let node = NodeInfo {
                    name: m.name.clone(),
                    fqn: m.fqn.clone(),
                    package_name: own.name.clone(),
                    resource_type: m.resource_type,
                    unique_id: format!("{}.{}.{}", m.resource_type, own.name, m.name),
                    config: serde_json::json!({
                        "schema": custom.schema,
                        "database": custom.database,
                        "alias": custom.alias,
                        "enabled": custom.enabled,
                    }),
                };
                let (schema, database, alias) =
                    match self
                        .naming
                        .names(&self.contexts[0], sources, &custom, &node)
                    {
                        Ok(n) => n,
                        Err(d) => {
                            // One report per macro problem, not one per model.
                            if !diags.iter().any(|x| x.span == d.span && x.code == d.code) {
                                diags.push(d);
                            }
                            continue;
                        }
                    };
                let rel = relations::relation(
                    database,
                    schema,
                    alias,
                    &target.adapter_type,
                    &root.quoting,
                );
                info.models
                    .entry((own.name.clone(), m.name.clone()))
                    .or_insert(rel);
            }
            for (_, e) in &self.source_entries {
                for (key, rel) in relations::source_relations(e, target, &root.quoting) {
                    info.sources.entry(key).or_insert(rel);
                }
            }
        }
        let relation_of = |pkg: usize, name: &str| -> Option<DbtRelation> {
            let known = self
                .models
                .iter()
                .any(|m| m.package == pkg && m.name == name && m.resource_type == "model");
            if !known {
                return None;
            }
            match &self.target {
                Some(_) => info
                    .models
                    .get(&(self.packages[pkg].name.clone(), name.to_string()))
                    .cloned(),
                // Without a target, the bare name (what tally read before it knew dbt's naming).
                None => Some(DbtRelation {
                    database: None,
                    schema: String::new(),
                    alias: name.to_string(),
                    relation_name: name.to_string(),
                }),
            }
        };
        let mut spines = Vec::new();
        let mut legacy_configured = false;
        for ((pkg, name), e) in &entry_of {
            let rel = relation_of(*pkg, name);
            if let Some(ts) = spine::spine_of_entry(e, rel.as_ref(), diags) {
                if name == spine::LEGACY_MODEL {
                    legacy_configured = true;
                }
                spines.push(ts);
            }
        }
        let legacy = (0..self.packages.len()).find_map(|p| relation_of(p, spine::LEGACY_MODEL));
        // The legacy spine is a SQL file, outside the source map: point at the project's name.
        let pc = spine::project_configuration(
            spines,
            legacy.as_ref().map(|r| (r, root.anchor)),
            legacy_configured,
            has_semantic_models,
        );
        (info, pc)
    }

    /// The variables tally's SQL rendering sees (`{{ var() }}` in `expr:` and `sql:`): the root
    /// project's, in dbt's precedence.
    pub fn root_vars(&self) -> &IndexMap<String, serde_json::Value> {
        &self.contexts[0].vars
    }
}

/// The naming macros (`generate_schema_name`, ...) the root project overrides in its macro paths,
/// with their files added to the source map for diagnostics.
fn naming_macros(
    files: &dyn Files,
    sources: &mut SourceMap,
    root: &Path,
    pkg: &Package,
    diags: &mut Vec<Diagnostic>,
) -> Naming {
    let mut found = Vec::new();
    for mp in &pkg.macro_paths {
        let mut paths = Vec::new();
        relations::walk(files, &pkg.dir.join(mp), &mut paths);
        for p in paths {
            if p.extension().is_none_or(|e| e != "sql") {
                continue;
            }
            let Some(text) = read_or_warn(files, &p, "macro", diags) else {
                continue;
            };
            if !(text.contains("generate_schema_name")
                || text.contains("generate_database_name")
                || text.contains("generate_alias_name"))
            {
                continue;
            }
            let id = sources.add(SourceFile::new(rel_path(root, &p), &p, text.clone()));
            found.push((text.clone(), crate::source::Span::new(id, 0, text.len())));
        }
    }
    Naming::from_macro_files(&found)
}

/// `--vars`, a YAML (or JSON) mapping.
fn cli_vars(
    sources: &mut SourceMap,
    opts: &DbtOptions,
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, serde_json::Value> {
    let mut out = IndexMap::new();
    let Some(text) = opts.vars.as_deref().filter(|t| !t.trim().is_empty()) else {
        return out;
    };
    let id = sources.add(SourceFile::new("--vars", "--vars", text.to_string()));
    match yaml::parse(id, text) {
        Ok(docs) => match docs.first().map(|d| &d.kind) {
            Some(NodeKind::Map(entries)) => {
                for (k, v) in entries {
                    out.insert(
                        super::scalar_text(k).unwrap_or_default(),
                        super::node_to_json(v),
                    );
                }
            }
            _ => diags.push(
                Diagnostic::error(codes::DBT_JINJA, "--vars must be a mapping")
                    .at(docs
                        .first()
                        .map(|d| d.span)
                        .unwrap_or(crate::source::Span::new(id, 0, text.len())))
                    .with_label("expected `{name: value, ...}`")
                    .with_help(
                        "pass --vars '{start_date: 2024-01-01}' (YAML or JSON), as with dbt",
                    ),
            ),
        },
        Err(d) => diags.push(d.with_help("--vars takes a YAML or JSON mapping, as with dbt")),
    }
    out
}

fn read_package(
    files: &dyn Files,
    sources: &mut SourceMap,
    root: &Path,
    dir: &Path,
    is_root: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<Package> {
    let path = dir.join("dbt_project.yml");
    let text = match files.read(&path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::IO, format!("cannot read `{}`: {e}", path.display()))
                    .with_help("a dbt project has a readable dbt_project.yml"),
            );
            return None;
        }
    };
    let (id, doc) =
        project::parse_project_file(sources, rel_path(root, &path), &path, text, diags)?;
    project::read_project(doc, id, dir, is_root, diags)
}

/// A resource's config block of a dbt_project.yml (`models:`, `seeds:`), rendered (hooks
/// excepted).
fn rendered_config(
    p: &Package,
    key: &str,
    ctx: &RenderContext,
    sources: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<Node> {
    let mut m = p.doc.get(key)?.clone();
    strip_hooks(&mut m);
    let mut path = vec![Seg::Key("config".into())];
    render::render_node(ctx, sources, "dbt_project", &mut m, &mut path, diags);
    Some(m)
}

/// Hooks are rendered when they run, never at parse time: drop them from the configs tally reads.
fn strip_hooks(n: &mut Node) {
    if let NodeKind::Map(entries) = &mut n.kind {
        entries.retain(|(k, _)| {
            !k.as_str().is_some_and(|k| {
                let k = k.trim_start_matches('+');
                k == "pre-hook" || k == "post-hook" || k == "pre_hook" || k == "post_hook"
            })
        });
        for (_, v) in entries.iter_mut() {
            strip_hooks(v);
        }
    }
}

/// Whether an installed package defines semantic models (its YAML under its model paths does).
fn defines_semantic_models(files: &dyn Files, dir: &Path) -> bool {
    let model_paths: Vec<String> = files
        .read(&dir.join("dbt_project.yml"))
        .ok()
        .and_then(|t| yaml::parse(crate::source::FileId(0), &t).ok())
        .and_then(|docs| docs.into_iter().next())
        .and_then(|d| match d.get("model-paths") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| vec!["models".to_string()]);
    model_paths.iter().any(|mp| {
        let mut found = Vec::new();
        relations::walk(files, &dir.join(mp), &mut found);
        found.iter().any(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.ends_with(".yml") || name.ends_with(".yaml"))
                && files.read(f).is_ok_and(|t| {
                    t.lines().any(|l| {
                        let l = l.trim_start();
                        l.starts_with("semantic_models:") || l.starts_with("semantic_model:")
                    })
                })
        })
    })
}

/// The doc blocks of the `.md` files under a package's docs paths.
fn doc_blocks(
    files: &dyn Files,
    p: &Package,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for dp in &p.docs_paths {
        let mut found = Vec::new();
        relations::walk(files, &p.dir.join(dp), &mut found);
        for f in found {
            if f.extension().is_some_and(|e| e == "md") && !seen.contains(&f) {
                if let Some(t) = read_or_warn(files, &f, "doc", diags) {
                    out.extend(render::doc_blocks(&t));
                }
                seen.push(f);
            }
        }
    }
    out
}

/// A file dbt would read (a model's SQL, a macro, a doc file); one that cannot be read is left
/// out with a warning naming it (dbt itself would fail on it).
pub(super) fn read_or_warn(
    files: &dyn Files,
    path: &Path,
    kind: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    match files.read(path) {
        Ok(text) => Some(text),
        Err(e) => {
            diags.push(
                Diagnostic::warning(
                    codes::IO,
                    format!("cannot read the {kind} file `{}`: {e}", path.display()),
                )
                .with_help("tally leaves it out; make it readable (dbt reads it too)"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbt::MemFiles;
    use std::collections::BTreeMap;

    /// Files whose `bad` ones exist (listed) but cannot be read.
    struct Unreadable {
        files: MemFiles,
        bad: Vec<&'static str>,
    }

    impl Files for Unreadable {
        fn read(&self, path: &Path) -> Result<String, String> {
            if self.bad.iter().any(|b| path.ends_with(b)) {
                return Err("permission denied".into());
            }
            self.files.read(path)
        }
        fn is_file(&self, path: &Path) -> bool {
            self.files.is_file(path)
        }
        fn is_dir(&self, path: &Path) -> bool {
            self.files.is_dir(path)
        }
        fn list(&self, dir: &Path) -> Vec<PathBuf> {
            self.files.list(dir)
        }
    }

    #[test]
    fn unreadable_sql_macro_and_doc_files_are_warnings_with_their_paths() {
        let files = Unreadable {
            files: MemFiles::new(&[
                ("/p/dbt_project.yml", "name: shop\nprofile: shop\n"),
                ("/p/models/orders.sql", "select 1 as id"),
                ("/p/models/broken.sql", "select 2"),
                ("/p/models/notes.md", "{% docs x %}x{% enddocs %}"),
                (
                    "/p/macros/naming.sql",
                    "{% macro generate_schema_name() %}{% endmacro %}",
                ),
            ]),
            bad: vec!["broken.sql", "notes.md", "naming.sql"],
        };
        let opts = DbtOptions {
            env: Some(BTreeMap::new()),
            ..DbtOptions::default()
        };
        let mut sources = SourceMap::new();
        let mut diags = Vec::new();
        let load = DbtLoad::open(&files, &mut sources, Path::new("/p"), &opts, &mut diags)
            .expect("the project opens");
        // The readable model is still there, and the unreadable one too (without its config).
        assert_eq!(load.models.len(), 2);
        let warnings: Vec<&str> = diags
            .iter()
            .filter(|d| d.code == codes::IO && !d.is_error())
            .map(|d| d.message.as_str())
            .collect();
        for (kind, path) in [
            ("model SQL", "/p/models/broken.sql"),
            ("doc", "/p/models/notes.md"),
            ("macro", "/p/macros/naming.sql"),
        ] {
            let want = format!("cannot read the {kind} file `{path}`: permission denied");
            assert!(warnings.contains(&want.as_str()), "{want} in {warnings:?}");
        }
    }
}
