//! `profiles.yml`, found as dbt finds it, and the active target: where `dbt run` builds relations.
//!
//! The file is looked up in `--profiles-dir`, then `$DBT_PROFILES_DIR`, then the project directory,
//! then `~/.dbt`. The profile is `--profile` or `dbt_project.yml`'s `profile:`; the target is
//! `--target` or the profile's `target:` (dbt's default name `default` without one). Strings are
//! rendered with `env_var()` and `--vars`, as dbt renders profiles.

use super::render::{self, RenderContext};
use super::{keys, scalar_text, DbtOptions, Files};
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceMap, Span};
use crate::yaml::{Node, Spanned};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The active target of the profile: what `{{ target }}` is in dbt and where relations are built.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    pub profile_name: String,
    /// The target's name (`dev`).
    pub name: String,
    /// The adapter (`duckdb`, `postgres`, `snowflake`, ...).
    #[serde(rename = "type")]
    pub adapter_type: String,
    /// The database (catalog, BigQuery project) relations are built in by default.
    pub database: Option<String>,
    /// The schema (BigQuery dataset) relations are built in by default.
    pub schema: String,
    /// A DuckDB target's database file, as written (relative to where dbt runs: the project).
    pub path: Option<String>,
}

impl Target {
    /// `target` as templates see it.
    pub fn context(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "profile_name": self.profile_name,
            "type": self.adapter_type,
            "database": self.database,
            "schema": self.schema,
            "path": self.path,
        })
    }
}

/// Where `profiles.yml` is, in dbt's order; `None` when there is none.
pub fn find_profiles(files: &dyn Files, project_dir: &Path, opts: &DbtOptions) -> Option<PathBuf> {
    if let Some(d) = &opts.profiles_dir {
        return Some(d.join("profiles.yml"));
    }
    if let Some(d) = opts.env_var("DBT_PROFILES_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("profiles.yml"));
    }
    let here = project_dir.join("profiles.yml");
    if files.is_file(&here) {
        return Some(here);
    }
    let home = opts
        .env_var("HOME")
        .or_else(|| opts.env_var("USERPROFILE"))
        .filter(|h| !h.is_empty())?;
    let p = PathBuf::from(home).join(".dbt").join("profiles.yml");
    files.is_file(&p).then_some(p)
}

/// The active target, or the diagnostics that say why there is none. `profile` is
/// `dbt_project.yml`'s `profile:`; `anchor` is where to report problems that have no better place.
pub fn load_target(
    files: &dyn Files,
    sources: &mut SourceMap,
    project_dir: &Path,
    profile: Option<&Spanned<String>>,
    anchor: Span,
    opts: &DbtOptions,
    cli_vars: &indexmap::IndexMap<String, serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Target> {
    let profile_span = profile.map(|p| p.span).unwrap_or(anchor);
    let profile_name = match (&opts.profile, profile) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p.value.clone(),
        (None, None) => {
            diags.push(
                Diagnostic::error(codes::DBT_PROFILE, "dbt_project.yml names no profile")
                    .at(anchor)
                    .with_label("this project has no `profile:`")
                    .with_help("add `profile: <name>` to dbt_project.yml, or pass --profile NAME"),
            );
            return None;
        }
    };
    let Some(path) = find_profiles(files, project_dir, opts) else {
        diags.push(
            Diagnostic::warning(codes::DBT_PROFILE, format!("no profiles.yml found for profile `{profile_name}`"))
                .at(profile_span)
                .with_label("ref() relations are read as bare names")
                .with_help("tally looks where dbt does: --profiles-dir, $DBT_PROFILES_DIR, the project directory, ~/.dbt"),
        );
        return None;
    };
    let text = match files.read(&path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    codes::DBT_PROFILE,
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .at(profile_span)
                .with_help("--profiles-dir and $DBT_PROFILES_DIR name the directory that holds profiles.yml"),
            );
            return None;
        }
    };
    let name = super::rel_path(project_dir, &path);
    let (_, docs) = super::parse_yaml(sources, name, &path, text, diags)?;
    let doc = docs.into_iter().next()?;
    let names: Vec<&str> = keys(&doc).into_iter().filter(|k| *k != "config").collect();
    let Some(prof) = doc.get(&profile_name) else {
        diags.push(
            Diagnostic::error(
                codes::DBT_PROFILE,
                format!(
                    "profile `{profile_name}` is not in {}",
                    super::rel_path(project_dir, &path)
                ),
            )
            .at(profile_span)
            .with_label("no such profile")
            .with_suggestion(&profile_name, names.iter().copied())
            .with_help(format!("profiles there: {}", names.join(", "))),
        );
        return None;
    };
    let ctx = RenderContext {
        vars: cli_vars.clone(),
        project_vars: false,
        env: opts.clone(),
        ..RenderContext::default()
    };
    let mut prof = prof.clone();
    render::render_node(&ctx, sources, "profiles", &mut prof, &mut Vec::new(), diags);
    let target_node = prof.get("target");
    let target_name = opts
        .target
        .clone()
        .or_else(|| target_node.and_then(scalar_text))
        .unwrap_or_else(|| "default".to_string());
    let outputs = prof.get("outputs");
    let output_names: Vec<&str> = outputs.map(keys).unwrap_or_default();
    let Some(out) = outputs.and_then(|o| o.get(&target_name)) else {
        let span = match (&opts.target, target_node) {
            (None, Some(t)) => t.span,
            _ => key_span(&doc, &profile_name).unwrap_or(profile_span),
        };
        diags.push(
            Diagnostic::error(
                codes::DBT_PROFILE,
                format!("profile `{profile_name}` has no target `{target_name}`"),
            )
            .at(span)
            .with_label("not an output of this profile")
            .with_suggestion(&target_name, output_names.iter().copied())
            .with_help(format!(
                "outputs: {}; pass --target NAME to pick one",
                output_names.join(", ")
            )),
        );
        return None;
    };
    target_of(out, &profile_name, &target_name, diags)
}

fn key_span(map: &Node, key: &str) -> Option<Span> {
    map.entries()
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(k, _)| k.span)
}

/// An output of a profile as a target: database and schema under each adapter's names for them.
fn target_of(
    out: &Node,
    profile_name: &str,
    name: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Target> {
    let text = |k: &str| out.get(k).and_then(scalar_text);
    let Some(adapter_type) = text("type") else {
        diags.push(
            Diagnostic::error(codes::DBT_PROFILE, format!("target `{name}` has no `type`"))
                .at(out.span)
                .with_label("no adapter type")
                .with_help(
                    "set `type:` to the adapter: duckdb, postgres, snowflake, bigquery, ...",
                ),
        );
        return None;
    };
    let mut t = Target {
        profile_name: profile_name.to_string(),
        name: name.to_string(),
        adapter_type: adapter_type.clone(),
        database: None,
        schema: String::new(),
        path: None,
    };
    if adapter_type == "duckdb" {
        let path = text("path").unwrap_or_else(|| ":memory:".to_string());
        t.database = text("database").or_else(|| Some(duckdb_database(&path)));
        t.schema = text("schema").unwrap_or_else(|| "main".to_string());
        if path != ":memory:" && !path.contains("://") && !path.starts_with("md:") {
            t.path = Some(path);
        }
        return Some(t);
    }
    t.database = ["database", "dbname", "project", "catalog"]
        .iter()
        .find_map(|k| text(k));
    if adapter_type == "spark" {
        t.database = None;
    }
    match ["schema", "dataset"].iter().find_map(|k| text(k)) {
        Some(s) => t.schema = s,
        None => {
            diags.push(
                Diagnostic::error(
                    codes::DBT_PROFILE,
                    format!("target `{name}` has no `schema`"),
                )
                .at(out.span)
                .with_label("no schema")
                .with_help("dbt builds models in the target's schema: set `schema:`"),
            );
            return None;
        }
    }
    Some(t)
}

/// The catalog DuckDB names a database file by (dbt-duckdb's default `database`): the file's stem,
/// or `memory` for an in-memory database.
pub fn duckdb_database(path: &str) -> String {
    if path == ":memory:" {
        return "memory".to_string();
    }
    let no_query = path.split('?').next().unwrap_or(path);
    let base = no_query.rsplit(['/', '\\']).next().unwrap_or(no_query);
    let base = base.rsplit(':').next().unwrap_or(base);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    if stem.is_empty() && path.starts_with("md:") {
        return "my_db".to_string();
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbt::MemFiles;
    use std::collections::BTreeMap;

    fn opts(env: &[(&str, &str)]) -> DbtOptions {
        DbtOptions {
            env: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..DbtOptions::default()
        }
    }

    #[test]
    fn profiles_are_found_in_dbts_order() {
        let files = MemFiles::new(&[
            ("/flag/profiles.yml", ""),
            ("/envdir/profiles.yml", ""),
            ("/proj/profiles.yml", ""),
            ("/home/u/.dbt/profiles.yml", ""),
        ]);
        let proj = Path::new("/proj");
        let mut o = opts(&[("DBT_PROFILES_DIR", "/envdir"), ("HOME", "/home/u")]);
        o.profiles_dir = Some(PathBuf::from("/flag"));
        assert_eq!(
            find_profiles(&files, proj, &o),
            Some("/flag/profiles.yml".into())
        );
        o.profiles_dir = None;
        assert_eq!(
            find_profiles(&files, proj, &o),
            Some("/envdir/profiles.yml".into())
        );
        let o = opts(&[("HOME", "/home/u")]);
        assert_eq!(
            find_profiles(&files, proj, &o),
            Some("/proj/profiles.yml".into())
        );
        assert_eq!(
            find_profiles(&files, Path::new("/other"), &o),
            Some("/home/u/.dbt/profiles.yml".into())
        );
        assert_eq!(find_profiles(&files, Path::new("/other"), &opts(&[])), None);
    }

    fn target(profiles: &str, o: &DbtOptions) -> (Option<Target>, Vec<Diagnostic>) {
        let files = MemFiles::new(&[("/p/profiles.yml", profiles)]);
        let mut sm = SourceMap::new();
        let mut diags = Vec::new();
        let prof = Spanned::synthetic("shop".to_string());
        let t = load_target(
            &files,
            &mut sm,
            Path::new("/p"),
            Some(&prof),
            Span::DUMMY,
            o,
            &indexmap::IndexMap::new(),
            &mut diags,
        );
        (t, diags)
    }

    #[test]
    fn the_active_target_gives_database_and_schema() {
        let p = "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: 'data/shop.duckdb'}\n    prod: {type: postgres, dbname: warehouse, schema: \"{{ env_var('PG_SCHEMA', 'analytics') }}\"}\n    bq: {type: bigquery, project: proj, dataset: ds}\n";
        let (t, d) = target(p, &opts(&[]));
        assert!(d.is_empty(), "{d:?}");
        let t = t.unwrap();
        assert_eq!(
            (
                t.name.as_str(),
                t.database.as_deref(),
                t.schema.as_str(),
                t.path.as_deref()
            ),
            ("dev", Some("shop"), "main", Some("data/shop.duckdb"))
        );
        let mut o = opts(&[("PG_SCHEMA", "marts")]);
        o.target = Some("prod".into());
        let t = target(p, &o).0.unwrap();
        assert_eq!(
            (t.database.as_deref(), t.schema.as_str()),
            (Some("warehouse"), "marts")
        );
        o.target = Some("bq".into());
        let t = target(p, &o).0.unwrap();
        assert_eq!(
            (t.database.as_deref(), t.schema.as_str()),
            (Some("proj"), "ds")
        );
        o.target = Some("prd".into());
        let (t, d) = target(p, &o);
        assert!(t.is_none());
        assert_eq!(d[0].code, codes::DBT_PROFILE);
        assert!(
            d[0].help.iter().any(|h| h.contains("did you mean `prod`")),
            "{d:?}"
        );
        o.profile = Some("shp".into());
        let (_, d) = target(p, &o);
        assert!(d[0].message.contains("profile `shp`"), "{d:?}");
        assert!(
            d[0].help.iter().any(|h| h.contains("did you mean `shop`")),
            "{d:?}"
        );
    }

    #[test]
    fn duckdb_names_the_catalog_after_the_file_stem() {
        assert_eq!(duckdb_database("dev.duckdb"), "dev");
        assert_eq!(duckdb_database("/tmp/x/jaffle_shop.db"), "jaffle_shop");
        assert_eq!(duckdb_database(":memory:"), "memory");
        assert_eq!(duckdb_database("noext"), "noext");
    }
}
