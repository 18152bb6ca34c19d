//! dbt's naming macros: `generate_schema_name`, `generate_database_name`, `generate_alias_name`.
//!
//! Without a project override these are dbt's defaults (`<target schema>_<custom schema>`, the
//! custom database or the target's, the custom alias or the model's name). A root project that
//! overrides one (a `{% macro generate_schema_name(custom_schema_name, node) %}` under its macro
//! paths; the most common customisation of a dbt project) has its macro run, with `target`,
//! `var()`, `env_var()`, dbt's built-in `default__generate_*_name` and
//! `generate_schema_name_for_env`, and `node` (name, fqn, package_name, resource_type, config).
//! A macro that needs more of dbt than that is an error at the macro (E0022).

use super::profiles::Target;
use super::render::{self, RenderContext};
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceMap, Span};

/// dbt's built-in naming macros (dbt-core's `get_custom_name` macros), as minijinja runs them.
const BUILTINS: &str = r#"
{%- macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if custom_schema_name is none -%}{{ default_schema }}{%- else -%}{{ default_schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro -%}
{%- macro generate_schema_name_for_env(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if target.name == 'prod' and custom_schema_name is not none -%}{{ custom_schema_name | trim }}{%- else -%}{{ default_schema }}{%- endif -%}
{%- endmacro -%}
{%- macro default__generate_database_name(custom_database_name=none, node=none) -%}
    {%- set default_database = target.database -%}
    {%- if custom_database_name is none -%}{{ default_database }}{%- else -%}{{ custom_database_name | trim }}{%- endif -%}
{%- endmacro -%}
{%- macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}{{ custom_alias_name | trim }}{%- else -%}{{ node.name }}{%- endif -%}
{%- endmacro -%}
{%- macro generate_schema_name(custom_schema_name, node) -%}{{ default__generate_schema_name(custom_schema_name, node) }}{%- endmacro -%}
{%- macro generate_database_name(custom_database_name=none, node=none) -%}{{ default__generate_database_name(custom_database_name, node) }}{%- endmacro -%}
{%- macro generate_alias_name(custom_alias_name=none, node=none) -%}{{ default__generate_alias_name(custom_alias_name, node) }}{%- endmacro -%}
"#;

/// The naming macros a root project overrides: (macro name, its definition, where it is).
#[derive(Debug, Clone, Default)]
pub struct Naming {
    overrides: Vec<(String, String, Span)>,
}

/// The node a naming macro is called for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub fqn: Vec<String>,
    pub package_name: String,
    pub resource_type: &'static str,
    pub unique_id: String,
    pub config: serde_json::Value,
}

const NAMES: [&str; 3] = [
    "generate_schema_name",
    "generate_database_name",
    "generate_alias_name",
];

impl Naming {
    /// The overrides found in macro files `(text, span of the file)`.
    pub fn from_macro_files(files: &[(String, Span)]) -> Naming {
        let mut overrides = Vec::new();
        for (text, span) in files {
            for name in NAMES {
                if let Some((start, end)) = macro_block(text, name) {
                    overrides.push((
                        name.to_string(),
                        text[start..end].to_string(),
                        span.sub(start, start + name.len() + 10),
                    ));
                }
            }
        }
        Naming { overrides }
    }

    /// Whether the project overrides any naming macro.
    pub fn is_default(&self) -> bool {
        self.overrides.is_empty()
    }

    /// Schema, database and alias of a node with these custom configs.
    pub fn names(
        &self,
        ctx: &RenderContext,
        sources: &SourceMap,
        custom: &super::relations::Custom,
        node: &NodeInfo,
    ) -> Result<(String, Option<String>, String), Diagnostic> {
        let target = ctx.target.as_ref().expect("naming needs a target");
        if self.is_default() {
            return Ok((
                super::relations::generate_schema_name(custom.schema.as_deref(), target),
                super::relations::generate_database_name(custom.database.as_deref(), target),
                super::relations::generate_alias_name(custom.alias.as_deref(), &node.name),
            ));
        }
        let schema = self.call(ctx, sources, "generate_schema_name", &custom.schema, node)?;
        let database = self.call(
            ctx,
            sources,
            "generate_database_name",
            &custom.database,
            node,
        )?;
        let alias = self.call(ctx, sources, "generate_alias_name", &custom.alias, node)?;
        let database = Some(database).filter(|d| !d.is_empty() && d != "none");
        Ok((schema, database.or_else(|| target_database(target)), alias))
    }

    fn call(
        &self,
        ctx: &RenderContext,
        sources: &SourceMap,
        name: &str,
        custom: &Option<String>,
        node: &NodeInfo,
    ) -> Result<String, Diagnostic> {
        let mut src = String::from(BUILTINS);
        for (_, text, _) in &self.overrides {
            src.push_str(text);
        }
        src.push_str(&format!("{{{{ {name}(custom, node) }}}}"));
        let (mut env, failure) = render::environment(ctx, false);
        // dbt's `return()` ends a macro with a value; naming macros return their only output.
        env.add_function("return", |v: minijinja::Value| v);
        env.add_function("log", |_: minijinja::Value, _: Option<minijinja::Value>| "");
        let out = env.render_str(
            &src,
            minijinja::context! {
                custom => custom.clone(),
                node => minijinja::Value::from(minijinja::value::Serde(node.clone())),
            },
        );
        out.map(|s| s.trim().to_string()).map_err(|e| {
            let at = self
                .overrides
                .iter()
                .find(|(n, _, _)| n == name)
                .or(self.overrides.first())
                .map(|(_, _, s)| *s)
                .unwrap_or(Span::DUMMY);
            let why = failure
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .map(|f| f.message)
                .unwrap_or_else(|| e.detail().map(str::to_string).unwrap_or_else(|| e.to_string()));
            let _ = sources;
            Diagnostic::error(
                codes::DBT_JINJA,
                format!("cannot run the project's `{name}` for `{}`: {why}", node.name),
            )
            .at(at)
            .with_label("this macro names the relations dbt builds")
            .with_help("tally runs naming macros with target, var(), env_var(), node and dbt's default__ macros; for anything else run `dbt parse` and pass `--manifest target/semantic_manifest.json`")
        })
    }
}

fn target_database(t: &Target) -> Option<String> {
    t.database.clone()
}

/// The byte range of `{% macro <name>(...) %} ... {% endmacro %}` in a file.
fn macro_block(text: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{%") {
        let start = from + i;
        let close = text[start..].find("%}")? + start;
        let inner = text[start + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let is_it = inner
            .strip_prefix("macro")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(name))
            .is_some_and(|r| r.trim_start().starts_with('('));
        if is_it {
            let mut at = close + 2;
            while let Some(j) = text[at..].find("{%") {
                let s2 = at + j;
                let c2 = text[s2..].find("%}")? + s2;
                let inner = text[s2 + 2..c2].trim_matches(|c: char| c == '-' || c.is_whitespace());
                if inner == "endmacro" {
                    return Some((start, c2 + 2));
                }
                at = c2 + 2;
            }
            return None;
        }
        from = close + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbt::relations::Custom;
    use crate::source::{FileId, SourceFile};

    fn ctx(target_name: &str) -> RenderContext {
        RenderContext {
            target: Some(Target {
                profile_name: "p".into(),
                name: target_name.into(),
                adapter_type: "duckdb".into(),
                database: Some("dev".into()),
                schema: "main".into(),
                path: None,
            }),
            ..RenderContext::default()
        }
    }

    fn node() -> NodeInfo {
        NodeInfo {
            name: "orders".into(),
            fqn: vec!["shop".into(), "marts".into(), "orders".into()],
            package_name: "shop".into(),
            resource_type: "model",
            unique_id: "model.shop.orders".into(),
            config: serde_json::json!({"materialized": "table"}),
        }
    }

    fn naming(text: &str) -> (Naming, SourceMap) {
        let mut sm = SourceMap::new();
        let id = sm.add(SourceFile::new(
            "macros/n.sql",
            "macros/n.sql",
            text.to_string(),
        ));
        let n = Naming::from_macro_files(&[(text.to_string(), Span::new(id, 0, text.len()))]);
        (n, sm)
    }

    #[test]
    fn a_project_override_of_generate_schema_name_runs() {
        let text = "{% macro cents(x) %}{{ x }}/100{% endmacro %}\n{% macro generate_schema_name(custom_schema_name, node) -%}\n  {%- if custom_schema_name is none -%}{{ target.schema }}\n  {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n{%- endmacro %}\n";
        let (n, sm) = naming(text);
        assert!(!n.is_default());
        let custom = Custom {
            schema: Some("marts".into()),
            enabled: true,
            ..Custom::default()
        };
        let (s, d, a) = n.names(&ctx("dev"), &sm, &custom, &node()).unwrap();
        assert_eq!(
            (s.as_str(), d.as_deref(), a.as_str()),
            ("marts", Some("dev"), "orders")
        );
        let (s, _, _) = n
            .names(&ctx("dev"), &sm, &Custom::default(), &node())
            .unwrap();
        assert_eq!(s, "main");
    }

    #[test]
    fn generate_schema_name_for_env_is_dbts_builtin() {
        let text = "{% macro generate_schema_name(custom_schema_name, node) %}{{ generate_schema_name_for_env(custom_schema_name, node) }}{% endmacro %}";
        let (n, sm) = naming(text);
        let custom = Custom {
            schema: Some("marts".into()),
            enabled: true,
            ..Custom::default()
        };
        assert_eq!(
            n.names(&ctx("prod"), &sm, &custom, &node()).unwrap().0,
            "marts"
        );
        assert_eq!(
            n.names(&ctx("dev"), &sm, &custom, &node()).unwrap().0,
            "main"
        );
    }

    #[test]
    fn a_macro_tally_cannot_run_is_reported_at_the_macro() {
        let text = "{% macro generate_alias_name(custom_alias_name=none, node=none) %}{{ adapter.dispatch('x')() }}{% endmacro %}";
        let (n, sm) = naming(text);
        let d = n
            .names(&ctx("dev"), &sm, &Custom::default(), &node())
            .unwrap_err();
        assert_eq!(d.code, codes::DBT_JINJA);
        assert_eq!(d.span.file, FileId(0));
        assert!(d.help[0].contains("--manifest"), "{d:?}");
    }
}
