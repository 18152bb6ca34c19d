//! `dbt_project.yml`: the settings of the root project and of each installed package that defines
//! semantic models.

use super::{keys, scalar_text, Files};
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::yaml::{Node, NodeKind, Spanned};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// One dbt project: the root project or an installed package.
#[derive(Debug, Clone)]
pub struct Package {
    /// `name:`.
    pub name: String,
    /// The project's directory.
    pub dir: PathBuf,
    pub is_root: bool,
    /// `profile:` (root project only).
    pub profile: Option<Spanned<String>>,
    /// `model-paths` (default `models`).
    pub model_paths: Vec<String>,
    /// `macro-paths` (default `macros`).
    pub macro_paths: Vec<String>,
    /// `seed-paths` (default `seeds`): seeds are relations `ref()` reads too.
    pub seed_paths: Vec<String>,
    /// `docs-paths` (default: every resource path dbt reads; here the model and macro paths).
    pub docs_paths: Vec<String>,
    /// `packages-install-path` (default `dbt_packages`).
    pub packages_install_path: String,
    /// `vars:` as written.
    pub vars: IndexMap<String, serde_json::Value>,
    /// `models:`: configs by project, folder and model, rendered.
    pub models_config: Option<Node>,
    /// `seeds:`: the same for seeds.
    pub seeds_config: Option<Node>,
    /// `quoting:`.
    pub quoting: Quoting,
    /// The file, for spans.
    pub file: FileId,
    /// Where to point when the project as a whole is at fault (its `name:`).
    pub anchor: Span,
    /// The whole document, kept for rendering once the target is known.
    pub doc: Node,
}

/// dbt's `quoting:` settings (`None`: the adapter's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quoting {
    pub database: Option<bool>,
    pub schema: Option<bool>,
    pub identifier: Option<bool>,
}

const DBT_PROJECT_KEYS: &[&str] = &[
    "name",
    "version",
    "config-version",
    "profile",
    "model-paths",
    "seed-paths",
    "test-paths",
    "analysis-paths",
    "macro-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "function-paths",
    "target-path",
    "log-path",
    "packages-install-path",
    "clean-targets",
    "query-comment",
    "require-dbt-version",
    "dbt-cloud",
    "flags",
    "quoting",
    "restrict-access",
    "dispatch",
    "on-run-start",
    "on-run-end",
    "vars",
    "models",
    "seeds",
    "snapshots",
    "sources",
    "data_tests",
    "tests",
    "metrics",
    "semantic-models",
    "saved-queries",
    "exposures",
    "unit_tests",
    "analyses",
    "functions",
    "source-paths",
    "data-paths",
    "modules-path",
];

/// Read a `dbt_project.yml` already parsed into `doc` (file `file`).
pub fn read_project(
    doc: Node,
    file: FileId,
    dir: &Path,
    is_root: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<Package> {
    let file_span = Span::new(file, 0, 0);
    if !matches!(doc.kind, NodeKind::Map(_)) {
        diags.push(
            Diagnostic::error(codes::DBT_PROJECT, "dbt_project.yml is not a mapping")
                .at(if doc.span.is_dummy() {
                    file_span
                } else {
                    doc.span
                })
                .with_label("expected `name: ...`, `profile: ...` and the project's settings")
                .with_help("see https://docs.getdbt.com/reference/dbt_project.yml"),
        );
        return None;
    }
    warn_unknown_keys(&doc, diags);
    let name = project_name(&doc, file_span, diags)?;
    let anchor = doc
        .entries()
        .iter()
        .find(|(k, _)| k.as_str() == Some("name"))
        .map(|(_, v)| v.span)
        .unwrap_or(file_span);
    let model_paths = path_list(&doc, "model-paths", &["models"], diags);
    let macro_paths = path_list(&doc, "macro-paths", &["macros"], diags);
    let seed_paths = path_list(&doc, "seed-paths", &["seeds"], diags);
    let docs_paths = if doc.get("docs-paths").is_some() {
        path_list(&doc, "docs-paths", &[], diags)
    } else {
        model_paths.iter().chain(&macro_paths).cloned().collect()
    };
    let packages_install_path = doc
        .get("packages-install-path")
        .and_then(|n| n.as_str())
        .unwrap_or("dbt_packages")
        .trim_end_matches('/')
        .to_string();
    let vars = project_vars(&doc, diags);
    let profile = doc.get("profile").and_then(|p| {
        p.as_str().map(|s| Spanned {
            span: p.span,
            value: s.to_string(),
        })
    });
    let quoting = doc
        .get("quoting")
        .map(|q| Quoting {
            database: bool_of(q.get("database")),
            schema: bool_of(q.get("schema")),
            identifier: bool_of(q.get("identifier")),
        })
        .unwrap_or_default();
    Some(Package {
        name,
        dir: dir.to_path_buf(),
        is_root,
        profile,
        model_paths,
        macro_paths,
        seed_paths,
        docs_paths,
        packages_install_path,
        vars,
        models_config: None,
        seeds_config: None,
        quoting,
        file,
        anchor,
        doc,
    })
}

/// A warning for each top-level key dbt does not know.
fn warn_unknown_keys(doc: &Node, diags: &mut Vec<Diagnostic>) {
    for (k, _) in doc.entries() {
        if let Some(key) = k.as_str() {
            if !DBT_PROJECT_KEYS.contains(&key) {
                diags.push(
                    Diagnostic::warning(
                        codes::DBT_PROJECT,
                        format!("dbt does not know the dbt_project.yml key `{key}`"),
                    )
                    .at(k.span)
                    .with_label("ignored")
                    .with_suggestion(key, DBT_PROJECT_KEYS.iter().copied())
                    .with_help("dbt_project.yml keys are spelled with dashes: model-paths, macro-paths, packages-install-path"),
                );
            }
        }
    }
}

/// The project's `name:`, an identifier (an error when missing or not one).
fn project_name(doc: &Node, file_span: Span, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let Some(n) = doc.get("name") else {
        diags.push(
            Diagnostic::error(codes::DBT_PROJECT, "dbt_project.yml has no `name`")
                .at(doc
                    .entries()
                    .first()
                    .map(|(k, _)| k.span)
                    .unwrap_or(file_span))
                .with_label("the project needs a name")
                .with_help("add `name: <project_name>` (the name `models:` configs are keyed by)"),
        );
        return None;
    };
    if let Some(s) = n.as_str().filter(|s| is_identifier(s)) {
        return Some(s.to_string());
    }
    diags.push(
        Diagnostic::error(
            codes::DBT_PROJECT,
            format!(
                "`{}` is not a valid dbt project name",
                scalar_text(n).unwrap_or_default()
            ),
        )
        .at(n.span)
        .with_label("expected a name of letters, digits and underscores")
        .with_help("dbt project names are identifiers: `jaffle_shop`"),
    );
    None
}

/// A list of directories under `key` (`default` when absent, null or not a list).
fn path_list(doc: &Node, key: &str, default: &[&str], diags: &mut Vec<Diagnostic>) -> Vec<String> {
    match doc.get(key) {
        None
        | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => default.iter().map(|s| s.to_string()).collect(),
        Some(Node {
            kind: NodeKind::Seq(items),
            ..
        }) => items
            .iter()
            .filter_map(|i| match i.as_str() {
                Some(s) => Some(s.trim_end_matches('/').to_string()),
                None => {
                    diags.push(
                        Diagnostic::error(
                            codes::DBT_PROJECT,
                            format!("`{key}` lists {}", i.type_name()),
                        )
                        .at(i.span)
                        .with_label("expected a directory")
                        .with_help(format!("write `{key}: [\"dir\", ...]`")),
                    );
                    None
                }
            })
            .collect(),
        Some(n) => {
            diags.push(
                Diagnostic::error(
                    codes::DBT_PROJECT,
                    format!(
                        "`{key}` must be a list of directories, found {}",
                        n.type_name()
                    ),
                )
                .at(n.span)
                .with_label("expected a list")
                .with_help(format!(
                    "write `{key}: [\"{}\"]`",
                    default.first().unwrap_or(&"dir")
                )),
            );
            default.iter().map(|s| s.to_string()).collect()
        }
    }
}

/// The project's `vars:`, as JSON values by name.
fn project_vars(doc: &Node, diags: &mut Vec<Diagnostic>) -> IndexMap<String, serde_json::Value> {
    let mut vars = IndexMap::new();
    match doc.get("vars") {
        None
        | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => {}
        Some(Node {
            kind: NodeKind::Map(entries),
            ..
        }) => {
            for (k, v) in entries {
                vars.insert(scalar_text(k).unwrap_or_default(), super::node_to_json(v));
            }
        }
        Some(v) => diags.push(
            Diagnostic::error(
                codes::DBT_PROJECT,
                format!("`vars` must be a mapping, found {}", v.type_name()),
            )
            .at(v.span)
            .with_label("expected `name: value` pairs")
            .with_help("write `vars: {start_date: '2024-01-01'}`"),
        ),
    }
    vars
}

fn bool_of(n: Option<&Node>) -> Option<bool> {
    match n?.kind {
        NodeKind::Bool(b) => Some(b),
        _ => None,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The directories of installed packages (`<packages-install-path>/*` with a dbt_project.yml),
/// sorted.
pub fn package_dirs(files: &dyn Files, root: &Package) -> Vec<PathBuf> {
    let dir = root.dir.join(&root.packages_install_path);
    if !files.is_dir(&dir) {
        return Vec::new();
    }
    files
        .list(&dir)
        .into_iter()
        .filter(|d| files.is_file(&d.join("dbt_project.yml")))
        .collect()
}

/// The variables visible to the nodes of package `pkg`, in dbt's order of precedence: `--vars`,
/// the root project's vars scoped to `pkg`, the root project's global vars, then the package's own
/// (scoped, then global). A var keyed by a project's name is that project's scope, not a value.
pub fn vars_for(
    pkg: &Package,
    root: &Package,
    project_names: &[&str],
    cli: &IndexMap<String, serde_json::Value>,
) -> IndexMap<String, serde_json::Value> {
    let mut out: IndexMap<String, serde_json::Value> = IndexMap::new();
    let mut layer = |vars: &IndexMap<String, serde_json::Value>, scoped_to: Option<&str>| {
        let entries: Vec<(String, serde_json::Value)> = match scoped_to {
            Some(p) => match vars.get(p) {
                Some(serde_json::Value::Object(m)) => {
                    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                }
                _ => Vec::new(),
            },
            None => vars
                .iter()
                .filter(|(k, v)| !(project_names.contains(&k.as_str()) && v.is_object()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        for (k, v) in entries {
            out.entry(k).or_insert(v);
        }
    };
    layer(cli, None);
    layer(&root.vars, Some(&pkg.name));
    layer(&root.vars, None);
    if !pkg.is_root {
        layer(&pkg.vars, Some(&pkg.name));
        layer(&pkg.vars, None);
    }
    out
}

/// The configs that apply to a node with fully qualified name `fqn` (`[project, folder..., name]`)
/// from a `models:` block: the top level's, then the project's, then each folder's, most specific
/// last. Keys are written without the `+`.
pub fn configs_for(models: &Node, fqn: &[String]) -> IndexMap<String, Node> {
    let mut out = IndexMap::new();
    collect_level(models, &mut out);
    let mut at = models;
    for part in fqn {
        match at.get(part) {
            Some(n) if matches!(n.kind, NodeKind::Map(_)) => {
                collect_level(n, &mut out);
                at = n;
            }
            _ => break,
        }
    }
    out
}

/// The configs of one level: `+key: value`, or `key: value` when the value is not a mapping (a
/// mapping is a folder, a model or a package).
fn collect_level(level: &Node, out: &mut IndexMap<String, Node>) {
    for (k, v) in level.entries() {
        let Some(key) = k.as_str() else { continue };
        if let Some(cfg) = key.strip_prefix('+') {
            out.insert(cfg.to_string(), v.clone());
        } else if !matches!(v.kind, NodeKind::Map(_)) {
            out.insert(key.to_string(), v.clone());
        }
    }
}

/// Names of a mapping's keys, for suggestions.
pub fn names(n: &Node) -> Vec<&str> {
    keys(n)
}

/// Register a parsed YAML text under `name` and return it (helper for callers holding a
/// [`SourceMap`]).
pub fn parse_project_file(
    sources: &mut SourceMap,
    name: String,
    path: &Path,
    text: String,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Node)> {
    let (id, docs) = super::parse_yaml(sources, name, path, text, diags)?;
    let doc = docs.into_iter().next().unwrap_or(Node {
        span: Span::new(id, 0, 0),
        kind: NodeKind::Null,
    });
    Some((id, doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn project(text: &str) -> (Option<Package>, Vec<Diagnostic>) {
        let mut sm = SourceMap::new();
        let mut diags = Vec::new();
        let id = sm.add(SourceFile::new(
            "dbt_project.yml",
            "dbt_project.yml",
            text.to_string(),
        ));
        let doc = crate::yaml::parse(id, text).unwrap().remove(0);
        (
            read_project(doc, id, Path::new("/p"), true, &mut diags),
            diags,
        )
    }

    #[test]
    fn settings_and_defaults() {
        let (p, d) = project("name: shop\nprofile: shop\nvars: {a: 1}\n");
        assert!(d.is_empty(), "{d:?}");
        let p = p.unwrap();
        assert_eq!(p.model_paths, vec!["models"]);
        assert_eq!(p.packages_install_path, "dbt_packages");
        assert_eq!(p.vars["a"], serde_json::json!(1));
        let (p, _) = project(
            "name: shop\nmodel-paths: [\"transform/\", marts]\npackages-install-path: pkgs\n",
        );
        let p = p.unwrap();
        assert_eq!(p.model_paths, vec!["transform", "marts"]);
        assert_eq!(p.packages_install_path, "pkgs");
    }

    #[test]
    fn bad_projects_are_reported_at_the_value() {
        let (p, d) = project("profile: shop\n");
        assert!(p.is_none());
        assert_eq!(d[0].code, codes::DBT_PROJECT);
        let (_, d) = project("name: shop\nmodel-paths: models\n");
        assert!(d[0].message.contains("model-paths"), "{d:?}");
        let (_, d) = project("name: shop\nmodel_paths: [models]\n");
        assert!(d[0].help.iter().any(|h| h.contains("model-paths")), "{d:?}");
        let (p, d) = project("name: my-shop\n");
        assert!(p.is_none() && d[0].message.contains("my-shop"), "{d:?}");
    }

    #[test]
    fn configs_are_hierarchical_most_specific_last() {
        let text = "models:\n  +materialized: view\n  shop:\n    +schema: marts\n    staging:\n      schema: staging\n      +alias: ignored_here\n      stg_orders:\n        +alias: orders_v2\n    finance:\n      +database: fin\n";
        let doc = crate::yaml::parse(FileId(0), text).unwrap().remove(0);
        let models = doc.get("models").unwrap();
        let fqn = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let c = configs_for(models, &fqn(&["shop", "staging", "stg_orders"]));
        let text_of = |k: &str| c.get(k).and_then(|n| n.as_str()).map(str::to_string);
        assert_eq!(text_of("schema").as_deref(), Some("staging"));
        assert_eq!(text_of("alias").as_deref(), Some("orders_v2"));
        assert_eq!(text_of("materialized").as_deref(), Some("view"));
        let c = configs_for(models, &fqn(&["shop", "finance", "revenue"]));
        assert_eq!(c.get("schema").and_then(|n| n.as_str()), Some("marts"));
        assert_eq!(c.get("database").and_then(|n| n.as_str()), Some("fin"));
        assert!(configs_for(models, &fqn(&["other", "x"]))
            .get("schema")
            .is_none());
    }

    #[test]
    fn vars_follow_dbts_precedence() {
        let (root, _) = project(
            "name: shop\nvars:\n  a: root\n  b: root\n  shop: {b: scoped}\n  pkg: {a: for_pkg}\n",
        );
        let root = root.unwrap();
        let mut cli = IndexMap::new();
        cli.insert("c".to_string(), serde_json::json!("cli"));
        let v = vars_for(&root, &root, &["shop", "pkg"], &cli);
        assert_eq!(v["a"], "root");
        assert_eq!(v["b"], "scoped");
        assert_eq!(v["c"], "cli");
        assert!(!v.contains_key("pkg"));
        let (pkg, _) = project("name: pkg\nvars: {a: own, d: own}\n");
        let mut pkg = pkg.unwrap();
        pkg.is_root = false;
        let v = vars_for(&pkg, &root, &["shop", "pkg"], &cli);
        assert_eq!(v["a"], "for_pkg");
        assert_eq!(v["d"], "own");
    }
}
