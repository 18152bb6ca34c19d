//! The relation `dbt run` builds for each model, and the relation of each source table.
//!
//! A model's `schema`, `database` and `alias` configs come, most important first, from
//! `{{ config(...) }}` in its SQL file, from `config:` in its YAML entry, then from `models:` in
//! the root project's `dbt_project.yml` and the model's own package's (folder by folder, the most
//! specific level last). dbt's default macros then name the relation: `generate_schema_name` is
//! the target's schema, or `<target schema>_<custom schema>`; `generate_database_name` the custom
//! database or the target's; `generate_alias_name` the custom alias or the model's name. The
//! relation name is quoted as the adapter quotes it (dbt's quote policy), as in dbt's manifest.

use super::profiles::Target;
use super::project::{configs_for, Package, Quoting};
use super::{scalar_text, Files};
use crate::diag::Diagnostic;
use crate::yaml::{Node, NodeKind};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// A relation as dbt names it (the `node_relation` of dbt's semantic manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtRelation {
    pub database: Option<String>,
    pub schema: String,
    pub alias: String,
    /// The quoted, dotted name (`"db"."schema"."alias"` on DuckDB and PostgreSQL).
    pub relation_name: String,
}

/// A model (or seed) found under a package's model (or seed) paths.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// Index of the package in the loader's package list.
    pub package: usize,
    /// `model` or `seed`.
    pub resource_type: &'static str,
    pub name: String,
    /// `[project, folder..., name]`, as `models:` configs are keyed.
    pub fqn: Vec<String>,
    /// Literal `config(...)` arguments of the SQL file.
    pub sql_config: IndexMap<String, ConfigValue>,
    pub path: PathBuf,
}

/// A literal argument of `config(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Str(String),
    Bool(bool),
    None,
    /// Anything that is not a literal (an expression only dbt can evaluate).
    Other(String),
}

/// The models (SQL and Python files) under a package's model paths and the seeds (CSV files)
/// under its seed paths, sorted by path.
pub fn discover_models(
    files: &dyn Files,
    pkg: &Package,
    package: usize,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ModelFile> {
    let mut out = Vec::new();
    let kinds = [("model", &pkg.model_paths), ("seed", &pkg.seed_paths)];
    for (resource_type, paths) in kinds {
        for mp in paths {
            let base = pkg.dir.join(mp);
            let mut found = Vec::new();
            walk(files, &base, &mut found);
            for p in found {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                let wanted = match resource_type {
                    "seed" => ext == "csv",
                    _ => ext == "sql" || ext == "py",
                };
                if !wanted {
                    continue;
                }
                let Some(name) = p.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                    continue;
                };
                let mut fqn = vec![pkg.name.clone()];
                if let Some(parent) = p.parent().and_then(|d| d.strip_prefix(&base).ok()) {
                    fqn.extend(
                        parent
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
                    );
                }
                fqn.push(name.clone());
                let sql_config = if ext == "sql" {
                    super::loader::read_or_warn(files, &p, "model SQL", diags)
                        .map(|t| sql_config(&t))
                        .unwrap_or_default()
                } else {
                    IndexMap::new()
                };
                out.push(ModelFile {
                    package,
                    resource_type,
                    name,
                    fqn,
                    sql_config,
                    path: p,
                });
            }
        }
    }
    out
}

/// Every file under `dir`, depth first in path order, skipping hidden entries.
pub fn walk(files: &dyn Files, dir: &Path, out: &mut Vec<PathBuf>) {
    for p in files.list(dir) {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if files.is_dir(&p) {
            walk(files, &p, out);
        } else {
            out.push(p);
        }
    }
}

/// The keyword arguments of every `config(...)` call inside `{{ ... }}` in a model's SQL.
pub fn sql_config(text: &str) -> IndexMap<String, ConfigValue> {
    let mut out = IndexMap::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        let inner = after[..close].trim();
        if let Some(args) = inner
            .strip_prefix("config")
            .map(str::trim_start)
            .and_then(|s| s.strip_prefix('('))
        {
            for (k, v) in kwargs(args) {
                out.insert(k, v);
            }
        }
        rest = &after[close + 2..];
    }
    out
}

/// `key=value` pairs up to the closing parenthesis of a call.
fn kwargs(args: &str) -> Vec<(String, ConfigValue)> {
    let mut out = Vec::new();
    for p in crate::text::split_list(args) {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.push((k.to_string(), literal(v)));
    }
    out
}

fn literal(v: &str) -> ConfigValue {
    let quoted = v.len() >= 2
        && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')));
    if quoted && !v[1..v.len() - 1].contains(['\'', '"']) {
        return ConfigValue::Str(v[1..v.len() - 1].to_string());
    }
    match v {
        "none" | "None" => ConfigValue::None,
        "true" | "True" => ConfigValue::Bool(true),
        "false" | "False" => ConfigValue::Bool(false),
        _ => ConfigValue::Other(v.to_string()),
    }
}

/// A config's value as dbt's macros see it: a string, or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Custom {
    pub schema: Option<String>,
    pub database: Option<String>,
    pub alias: Option<String>,
    pub enabled: bool,
}

/// The configs of one model, in dbt's precedence: SQL `config()`, YAML `config:`, the root
/// project's `models:`, the model's own package's `models:`.
pub fn model_configs(
    model: &ModelFile,
    yaml_config: Option<&Node>,
    own: &Package,
    root: &Package,
) -> Custom {
    let mut layers: Vec<IndexMap<String, Option<String>>> = Vec::new();
    let of_nodes = |m: IndexMap<String, Node>| -> IndexMap<String, Option<String>> {
        m.into_iter()
            .map(|(k, v)| {
                let s = match v.kind {
                    NodeKind::Null => None,
                    _ => scalar_text(&v),
                };
                (k, s)
            })
            .collect()
    };
    layers.push(
        model
            .sql_config
            .iter()
            .filter_map(|(k, v)| match v {
                ConfigValue::Str(s) => Some((k.clone(), Some(s.clone()))),
                ConfigValue::Bool(b) => Some((k.clone(), Some(b.to_string()))),
                ConfigValue::None => Some((k.clone(), None)),
                ConfigValue::Other(_) => None,
            })
            .collect(),
    );
    if let Some(cfg) = yaml_config {
        layers.push(of_nodes(
            cfg.entries()
                .iter()
                .filter_map(|(k, v)| {
                    Some((k.as_str()?.trim_start_matches('+').to_string(), v.clone()))
                })
                .collect(),
        ));
    }
    let block = |p: &Package| match model.resource_type {
        "seed" => p.seeds_config.clone(),
        _ => p.models_config.clone(),
    };
    if let Some(m) = block(root) {
        layers.push(of_nodes(configs_for(&m, &model.fqn)));
    }
    if !own.is_root {
        if let Some(m) = block(own) {
            layers.push(of_nodes(configs_for(&m, &model.fqn)));
        }
    }
    let get =
        |key: &str| -> Option<String> { layers.iter().find_map(|l| l.get(key).cloned()).flatten() };
    Custom {
        schema: get("schema"),
        database: get("database"),
        alias: get("alias"),
        enabled: get("enabled").is_none_or(|e| e != "false" && e != "False"),
    }
}

/// dbt's default `generate_schema_name`.
pub fn generate_schema_name(custom: Option<&str>, target: &Target) -> String {
    match custom {
        None => target.schema.clone(),
        Some(c) => format!("{}_{}", target.schema, c.trim()),
    }
}

/// dbt's default `generate_database_name`.
pub fn generate_database_name(custom: Option<&str>, target: &Target) -> Option<String> {
    match custom {
        None => target.database.clone(),
        Some(c) => Some(c.trim().to_string()),
    }
}

/// dbt's default `generate_alias_name`.
pub fn generate_alias_name(custom: Option<&str>, name: &str) -> String {
    match custom {
        None => name.to_string(),
        Some(c) => c.trim().to_string(),
    }
}

/// The relation dbt builds for a model with these configs.
pub fn model_relation(
    name: &str,
    custom: &Custom,
    target: &Target,
    quoting: &Quoting,
) -> DbtRelation {
    let database = generate_database_name(custom.database.as_deref(), target);
    let schema = generate_schema_name(custom.schema.as_deref(), target);
    let alias = generate_alias_name(custom.alias.as_deref(), name);
    relation(database, schema, alias, &target.adapter_type, quoting)
}

/// A relation with its name quoted by the adapter's quote policy (and the project's `quoting:`).
pub fn relation(
    database: Option<String>,
    schema: String,
    alias: String,
    adapter: &str,
    quoting: &Quoting,
) -> DbtRelation {
    let (quote, default_quoted, with_database) = match adapter {
        "snowflake" => ('"', false, true),
        "spark" => ('`', false, false),
        "bigquery" | "databricks" => ('`', true, true),
        _ => ('"', true, true),
    };
    let q = |s: &str, on: Option<bool>| -> String {
        if on.unwrap_or(default_quoted) {
            format!("{quote}{s}{quote}")
        } else {
            s.to_string()
        }
    };
    let mut parts = Vec::new();
    if with_database {
        if let Some(db) = &database {
            parts.push(q(db, quoting.database));
        }
    }
    parts.push(q(&schema, quoting.schema));
    parts.push(q(&alias, quoting.identifier));
    DbtRelation {
        database: if with_database { database } else { None },
        schema,
        alias,
        relation_name: parts.join("."),
    }
}

/// The tables of one `sources:` entry: ((source, table), relation).
pub fn source_relations(
    entry: &Node,
    target: &Target,
    project_quoting: &Quoting,
) -> Vec<((String, String), DbtRelation)> {
    let mut out = Vec::new();
    let Some(source) = entry.get("name").and_then(scalar_text) else {
        return out;
    };
    let text = |n: &Node, k: &str| -> Option<String> {
        n.get(k)
            .and_then(scalar_text)
            .or_else(|| n.get("config").and_then(|c| c.get(k)).and_then(scalar_text))
    };
    let database = text(entry, "database").or_else(|| target.database.clone());
    let schema = text(entry, "schema").unwrap_or_else(|| source.clone());
    let quoting = |n: &Node, base: &Quoting| -> Quoting {
        let b = |k: &str, d: Option<bool>| match n.get("quoting").and_then(|q| q.get(k)) {
            Some(Node {
                kind: NodeKind::Bool(v),
                ..
            }) => Some(*v),
            _ => d,
        };
        Quoting {
            database: b("database", base.database),
            schema: b("schema", base.schema),
            identifier: b("identifier", base.identifier),
        }
    };
    let source_quoting = quoting(entry, project_quoting);
    if let Some(Node {
        kind: NodeKind::Seq(tables),
        ..
    }) = entry.get("tables")
    {
        for t in tables {
            let Some(name) = t.get("name").and_then(scalar_text) else {
                continue;
            };
            let identifier = text(t, "identifier").unwrap_or_else(|| name.clone());
            out.push((
                (source.clone(), name),
                relation(
                    database.clone(),
                    schema.clone(),
                    identifier,
                    &target.adapter_type,
                    &quoting(t, &source_quoting),
                ),
            ));
        }
    }
    out
}

/// A `ref(...)` or `source(...)` call as written in `model:`: the function and its string
/// arguments (`ref('pkg', 'model')`, `ref('model', v=2)` keeps the positional ones).
pub fn parse_call(text: &str) -> Option<(String, Vec<String>)> {
    let t = text.trim();
    let t = t
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
        .unwrap_or(t)
        .trim();
    let open = t.find('(')?;
    let func = t[..open].trim();
    if !matches!(func, "ref" | "source") {
        return None;
    }
    let inner = t[open + 1..].strip_suffix(')')?;
    let mut args = Vec::new();
    for a in crate::text::split_list(inner) {
        let a = a.as_str();
        if a.contains('=') {
            continue;
        }
        let quoted = a.len() >= 2
            && ((a.starts_with('\'') && a.ends_with('\''))
                || (a.starts_with('"') && a.ends_with('"')));
        if !quoted {
            return None;
        }
        args.push(a[1..a.len() - 1].to_string());
    }
    Some((func.to_string(), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(adapter: &str, db: Option<&str>, schema: &str) -> Target {
        Target {
            profile_name: "p".into(),
            name: "dev".into(),
            adapter_type: adapter.into(),
            database: db.map(str::to_string),
            schema: schema.into(),
            path: None,
        }
    }

    #[test]
    fn default_naming_macros() {
        let t = target("duckdb", Some("dev"), "main");
        assert_eq!(generate_schema_name(None, &t), "main");
        assert_eq!(generate_schema_name(Some(" marts "), &t), "main_marts");
        assert_eq!(generate_database_name(None, &t).as_deref(), Some("dev"));
        assert_eq!(
            generate_database_name(Some("raw"), &t).as_deref(),
            Some("raw")
        );
        assert_eq!(generate_alias_name(None, "orders"), "orders");
        assert_eq!(
            generate_alias_name(Some("orders_v2"), "orders"),
            "orders_v2"
        );
        let custom = Custom {
            schema: Some("marts".into()),
            enabled: true,
            ..Custom::default()
        };
        let r = model_relation("orders", &custom, &t, &Quoting::default());
        assert_eq!(r.relation_name, "\"dev\".\"main_marts\".\"orders\"");
        let r = model_relation(
            "orders",
            &custom,
            &target("snowflake", Some("DB"), "dbt"),
            &Quoting::default(),
        );
        assert_eq!(r.relation_name, "DB.dbt_marts.orders");
        let r = model_relation(
            "orders",
            &custom,
            &target("bigquery", Some("proj"), "ds"),
            &Quoting::default(),
        );
        assert_eq!(r.relation_name, "`proj`.`ds_marts`.`orders`");
        let q = Quoting {
            database: Some(false),
            schema: Some(false),
            identifier: Some(false),
        };
        let r = model_relation("orders", &Custom::default(), &t, &q);
        assert_eq!(r.relation_name, "dev.main.orders");
    }

    #[test]
    fn config_calls_in_sql() {
        let sql = "{{\n  config(\n    materialized='table',\n    schema=\"marts\",\n    alias='orders_v2', tags=['a', 'b'], enabled=true, database=var('db')\n  )\n}}\nselect 1";
        let c = sql_config(sql);
        assert_eq!(c["schema"], ConfigValue::Str("marts".into()));
        assert_eq!(c["alias"], ConfigValue::Str("orders_v2".into()));
        assert_eq!(c["enabled"], ConfigValue::Bool(true));
        assert_eq!(c["database"], ConfigValue::Other("var('db')".into()));
        assert!(sql_config("select '{{ x }}'").is_empty());
    }

    #[test]
    fn ref_and_source_calls() {
        assert_eq!(
            parse_call("ref('orders')"),
            Some(("ref".into(), vec!["orders".into()]))
        );
        assert_eq!(
            parse_call(" {{ ref(\"pkg\", 'orders') }} "),
            Some(("ref".into(), vec!["pkg".into(), "orders".into()]))
        );
        assert_eq!(
            parse_call("ref('orders', v=2)"),
            Some(("ref".into(), vec!["orders".into()]))
        );
        assert_eq!(
            parse_call("source('raw', 'orders')"),
            Some(("source".into(), vec!["raw".into(), "orders".into()]))
        );
        assert_eq!(parse_call("orders"), None);
        assert_eq!(parse_call("ref(orders)"), None);
    }

    #[test]
    fn sources_default_schema_to_their_name() {
        let text = "name: raw\ndatabase: lake\ntables:\n  - name: orders\n  - name: items\n    identifier: order_items\n    quoting: {identifier: false}\n";
        let n = crate::yaml::parse(crate::source::FileId(0), text)
            .unwrap()
            .remove(0);
        let t = target("duckdb", Some("dev"), "main");
        let rels = source_relations(&n, &t, &Quoting::default());
        assert_eq!(rels[0].0, ("raw".to_string(), "orders".to_string()));
        assert_eq!(rels[0].1.relation_name, "\"lake\".\"raw\".\"orders\"");
        assert_eq!(rels[1].1.relation_name, "\"lake\".\"raw\".order_items");
        let text = "name: raw\nschema: landing\ntables: [{name: orders}]\n";
        let n = crate::yaml::parse(crate::source::FileId(0), text)
            .unwrap()
            .remove(0);
        assert_eq!(
            source_relations(&n, &t, &Quoting::default())[0]
                .1
                .relation_name,
            "\"dev\".\"landing\".\"orders\""
        );
    }
}
