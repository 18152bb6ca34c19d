//! The Jinja that dbt renders in YAML: `var()`, `env_var()`, `doc()` and `target`, where dbt
//! renders it.
//!
//! dbt renders every string of a schema YAML entry when it parses the file, except a few key paths
//! (dbt-core's `SchemaYamlRenderer`): data tests, pre- and post-hooks, `loaded_at_query`, metric
//! filters (`filter:`) and saved-query `where:` (MetricFlow renders those later with
//! `Dimension()`/`Entity()`/`TimeDimension()`/`Metric()`, so they stay as written), and
//! descriptions, which dbt renders later with `doc()` available. A macro call tally cannot render is
//! an error that names the call; a call of one of tally's own SQL macros (`dateadd(...)` in an
//! `expr:`) is left for tally's SQL rendering.

use super::profiles::Target;
use super::DbtOptions;
use crate::diag::{codes, Diagnostic};
use crate::source::{SourceMap, Span};
use crate::yaml::{Node, NodeKind};
use indexmap::IndexMap;
use std::sync::{Arc, Mutex};

/// What a template may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Left as written (tests, hooks, metric filters, saved-query `where`).
    Skip,
    /// Rendered at parse time: `var()`, `env_var()`, `target`.
    Render,
    /// A description: rendered with `doc()` too.
    Docs,
}

/// One step of a key path inside a YAML entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    fn is(&self, names: &[&str]) -> bool {
        matches!(self, Seg::Key(k) if names.contains(&k.as_str()))
    }
}

/// The values templates see.
#[derive(Clone, Debug, Default)]
pub struct RenderContext {
    /// `var()`: the variables visible here, already merged in dbt's order of precedence.
    pub vars: IndexMap<String, serde_json::Value>,
    /// Whether project variables are visible (false while rendering `profiles.yml`, where dbt
    /// only knows `--vars`).
    pub project_vars: bool,
    /// `doc()`: doc blocks by name (and by `package.name`).
    pub docs: IndexMap<String, String>,
    /// `target`.
    pub target: Option<Target>,
    /// `env_var()`.
    pub env: DbtOptions,
}

/// Whether dbt renders the string at `path` inside an entry of top-level key `top` at parse time
/// (dbt-core's `SchemaYamlRenderer.should_render_keypath`).
pub fn dbt_renders(top: &str, path: &[Seg]) -> bool {
    let Some(last) = path.last() else {
        return true;
    };
    match top {
        "sources" => {
            if path[0].is(&["description", "loaded_at_query"]) {
                return false;
            }
            if path.len() >= 2 && path[0].is(&["config"]) && path[1].is(&["loaded_at_query"]) {
                return false;
            }
            if path[0].is(&["tables"]) && path.len() > 2 && no_render_key(&path[2..]) {
                return false;
            }
            true
        }
        "metrics" | "metric" => {
            let second_last = path.len() > 1 && path[path.len() - 2].is(&["filter"]);
            !(last.is(&["filter"]) || second_last || no_render_key(path))
        }
        "saved_queries" | "saved_query" => {
            let is_where =
                path[0].is(&["query_params"]) && path.len() > 1 && path[1].is(&["where"]);
            !(is_where || no_render_key(path))
        }
        _ => {
            // dbt checks the last key only; a list of filters (`filter: [...]`) is skipped too,
            // since dbt could not render its `Dimension()` calls either.
            let second_last = path.len() > 1 && path[path.len() - 2].is(&["filter"]);
            if (last.is(&["filter"]) || second_last) && path.iter().any(|s| s.is(&["metrics"])) {
                return false;
            }
            !no_render_key(path)
        }
    }
}

fn no_render_key(p: &[Seg]) -> bool {
    const LATE: &[&str] = &["tests", "data_tests", "description", "loaded_at_query"];
    if !p.is_empty() && p[0].is(LATE) {
        return true;
    }
    if p.len() == 2 && p[1].is(LATE) {
        return true;
    }
    if p.len() >= 2
        && p[0].is(&["config"])
        && p[1].is(&["pre_hook", "post_hook", "loaded_at_query"])
    {
        return true;
    }
    if p.len() == 5 && p[4].is(&["description"]) {
        return true;
    }
    p.len() >= 3
        && p[0].is(&["columns", "dimensions", "measures", "entities", "metrics"])
        && p[2].is(&["tests", "data_tests", "description"])
}

/// How tally treats the string at `path`: what dbt renders at parse time is rendered; descriptions
/// are rendered with `doc()` (dbt's docs phase); the rest stays as written.
pub fn mode(top: &str, path: &[Seg]) -> Mode {
    if dbt_renders(top, path) {
        Mode::Render
    } else if path.last().is_some_and(|s| s.is(&["description"])) {
        Mode::Docs
    } else {
        Mode::Skip
    }
}

/// Render every string of a top-level entry list (`models: [...]`, `metrics: [...]`) in place.
pub fn render_entries(
    ctx: &RenderContext,
    sources: &SourceMap,
    top: &str,
    node: &mut Node,
    diags: &mut Vec<Diagnostic>,
) {
    match &mut node.kind {
        NodeKind::Seq(items) => {
            for item in items {
                render_node(ctx, sources, top, item, &mut Vec::new(), diags);
            }
        }
        // MetricFlow's one-object documents (`metric: {...}`).
        NodeKind::Map(_) => render_node(ctx, sources, top, node, &mut Vec::new(), diags),
        _ => {}
    }
}

/// Render every string under `node` (key path `path` inside an entry of `top`) in place.
pub fn render_node(
    ctx: &RenderContext,
    sources: &SourceMap,
    top: &str,
    node: &mut Node,
    path: &mut Vec<Seg>,
    diags: &mut Vec<Diagnostic>,
) {
    match &mut node.kind {
        NodeKind::Str(s) => {
            if !has_jinja(s) {
                return;
            }
            let m = mode(top, path);
            // `model: "{{ ref('orders') }}"` is a relation, resolved later, not text to render.
            let is_relation = path.last().is_some_and(|k| k.is(&["model"]))
                && super::relations::parse_call(s).is_some();
            if m == Mode::Skip || is_relation {
                return;
            }
            match render_str(ctx, sources, s, node.span, m == Mode::Docs) {
                Ok(Some(out)) => *s = out,
                Ok(None) => {}
                Err(d) => diags.push(d),
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                render_node(ctx, sources, top, item, path, diags);
                path.pop();
            }
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let key = super::scalar_text(k).unwrap_or_default();
                path.push(Seg::Key(key));
                render_node(ctx, sources, top, v, path, diags);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether a string holds Jinja (`{{`, `{%` or `{#`): one pass over the text, as every string
/// of a schema YAML file is asked.
pub fn has_jinja(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
}

/// Where the functions of an [`environment`] record why they failed.
pub(crate) type FailureSlot = Arc<Mutex<Option<Failure>>>;

/// Why a template failed, recorded by the functions it called.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// Text to find in the file to point at (`var('x'`).
    pub(crate) needle: String,
    pub(crate) message: String,
    pub(crate) help: String,
}

/// A Jinja environment with what dbt offers YAML: `var()`, `env_var()`, `doc()` (when `docs`),
/// `target`; the functions record why they failed in the returned slot.
pub(crate) fn environment(
    ctx: &RenderContext,
    docs: bool,
) -> (minijinja::Environment<'static>, FailureSlot) {
    let failure: Arc<Mutex<Option<Failure>>> = Arc::new(Mutex::new(None));
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let fail = |f: &Arc<Mutex<Option<Failure>>>, failure: Failure| {
        let message = failure.message.clone();
        if let Ok(mut slot) = f.lock() {
            slot.get_or_insert(failure);
        }
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message)
    };
    {
        let vars = ctx.vars.clone();
        let project_vars = ctx.project_vars;
        let f = failure.clone();
        env.add_function(
            "var",
            move |name: String, default: Option<minijinja::Value>| match vars.get(&name) {
                Some(v) => Ok(minijinja::Value::from(minijinja::value::Serde(v.clone()))),
                None => default.ok_or_else(|| {
                    let close = crate::diag::did_you_mean(&name, vars.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default();
                    fail(
                        &f,
                        Failure {
                            needle: name.clone(),
                            message: format!("variable `{name}` is not set"),
                            help: if project_vars {
                                format!("{close}set it under `vars:` in dbt_project.yml, pass `--vars '{{{name}: ...}}'`, or give a default: `var('{name}', ...)`")
                            } else {
                                format!("{close}here only `--vars` is visible: pass `--vars '{{{name}: ...}}'`")
                            },
                        },
                    )
                }),
            },
        );
    }
    {
        let envs = ctx.env.clone();
        let f = failure.clone();
        env.add_function(
            "env_var",
            move |name: String, default: Option<minijinja::Value>| match envs.env_var(&name) {
                Some(v) => Ok(minijinja::Value::from(v)),
                None => default.ok_or_else(|| {
                    fail(
                        &f,
                        Failure {
                            needle: name.clone(),
                            message: format!("environment variable `{name}` is not set"),
                            help: format!(
                                "set {name} in the environment, or give a default: `env_var('{name}', '...')`"
                            ),
                        },
                    )
                }),
            },
        );
    }
    {
        let blocks = ctx.docs.clone();
        let f = failure.clone();
        env.add_function(
            "doc",
            move |a: String, b: Option<String>| -> Result<minijinja::Value, minijinja::Error> {
                let (key, name) = match &b {
                    Some(n) => (format!("{a}.{n}"), n.clone()),
                    None => (a.clone(), a.clone()),
                };
                if !docs {
                    return Err(fail(
                        &f,
                        Failure {
                            needle: "doc(".into(),
                            message: "`doc()` is only rendered in descriptions".into(),
                            help: "dbt renders `doc()` in `description:` values only".into(),
                        },
                    ));
                }
                match blocks.get(&key) {
                    Some(t) => Ok(minijinja::Value::from(t.clone())),
                    None => {
                        let names: Vec<&str> = blocks.keys().map(String::as_str).collect();
                        let hint = crate::diag::did_you_mean(&name, names.iter().copied())
                            .map(|s| format!("did you mean `{s}`? "))
                            .unwrap_or_default();
                        Err(fail(
                            &f,
                            Failure {
                                needle: name.clone(),
                                message: format!("no doc block named `{name}`"),
                                help: format!("{hint}doc blocks are `{{% docs {name} %}}...{{% enddocs %}}` in .md files under the model paths"),
                            },
                        ))
                    }
                }
            },
        );
    }
    if let Some(t) = &ctx.target {
        env.add_global(
            "target",
            minijinja::Value::from(minijinja::value::Serde(t.context())),
        );
    }
    (env, failure)
}

/// Render one template. `Ok(None)`: left as written (a call of one of tally's SQL macros, which
/// tally's own SQL rendering handles later).
pub fn render_str(
    ctx: &RenderContext,
    sources: &SourceMap,
    text: &str,
    span: Span,
    docs: bool,
) -> Result<Option<String>, Diagnostic> {
    let (env, failure) = environment(ctx, docs);
    match env.render_str(text, minijinja::context! {}) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            if let Some(f) = failure.lock().ok().and_then(|s| s.clone()) {
                return Err(Diagnostic::error(codes::DBT_JINJA, f.message)
                    .at(locate(sources, span, &f.needle))
                    .with_label("cannot be rendered")
                    .with_help(f.help));
            }
            let unknown = unknown_call(text);
            if let Some(name) = &unknown {
                let last = name.rsplit('.').next().unwrap_or(name);
                if crate::jinja::MACROS
                    .iter()
                    .any(|m| m.starts_with(&format!("{last}(")))
                    && !name.contains('.')
                {
                    return Ok(None);
                }
            }
            let detail = e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            let (needle, what) = match &unknown {
                Some(n) => (
                    n.clone(),
                    format!("`{n}(...)` is a dbt macro or function tally cannot render"),
                ),
                None => (String::new(), format!("cannot render this Jinja: {detail}")),
            };
            Err(Diagnostic::error(codes::DBT_JINJA, what)
                .at(locate(sources, span, &needle))
                .with_label("only dbt can render this")
                .with_help("tally renders var(), env_var(), doc() and target in dbt YAML; for anything else run `dbt parse` and pass `--manifest target/semantic_manifest.json`"))
        }
    }
}

/// The first call in a template of a name that is not one tally renders.
fn unknown_call(text: &str) -> Option<String> {
    const KNOWN: &[&str] = &[
        "var",
        "env_var",
        "doc",
        "range",
        "dict",
        "namespace",
        "lipsum",
        "cycler",
        "joiner",
        "if",
        "in",
        "and",
        "or",
        "not",
    ];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            let word = &text[start..i];
            let prev = start.checked_sub(1).map(|p| bytes[p]);
            let in_string = text[..start].matches(['\'', '"']).count() % 2 == 1;
            if bytes.get(i) == Some(&b'(')
                && !in_string
                && prev != Some(b'|')
                && !KNOWN.contains(&word)
                && inside_tag(text, start)
            {
                return Some(word.to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Whether byte `at` is inside a `{{ }}` or `{% %}` tag.
fn inside_tag(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let open = before
        .rfind("{{")
        .into_iter()
        .chain(before.rfind("{%"))
        .max();
    let close = before
        .rfind("}}")
        .into_iter()
        .chain(before.rfind("%}"))
        .max();
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The span of `needle` inside the value's text in its file, or the whole value.
fn locate(sources: &SourceMap, span: Span, needle: &str) -> Span {
    if needle.is_empty() {
        return span;
    }
    match sources.text(span).and_then(|t| t.find(needle)) {
        Some(at) => span.sub(at, at + needle.len()),
        None => span,
    }
}

/// The doc blocks of a Markdown file: `{% docs name %}text{% enddocs %}`, trimmed as dbt trims
/// them.
pub fn doc_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = find_tag(rest, "docs") {
        let (tag_end, name) = open;
        let body = &rest[tag_end..];
        let Some((end_start, end_end)) = find_end(body) else {
            break;
        };
        out.push((name, body[..end_start].trim().to_string()));
        rest = &body[end_end..];
    }
    out
}

/// The end of the next `{% docs name %}` (or `{%- docs name -%}`) tag and its name.
fn find_tag(text: &str, word: &str) -> Option<(usize, String)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{%") {
        let start = from + i;
        let close = text[start..].find("%}")? + start;
        let inner = text[start + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if let Some(name) = inner.strip_prefix(word) {
            if name.starts_with(char::is_whitespace) {
                return Some((close + 2, name.trim().to_string()));
            }
        }
        from = close + 2;
    }
    None
}

/// The start and end of the next `{% enddocs %}` tag.
fn find_end(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{%") {
        let start = from + i;
        let close = text[start..].find("%}")? + start;
        let inner = text[start + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if inner == "enddocs" {
            return Some((start, close + 2));
        }
        from = close + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn ctx() -> RenderContext {
        let mut vars = IndexMap::new();
        vars.insert("days".to_string(), serde_json::json!(7));
        vars.insert("region".to_string(), serde_json::json!("emea"));
        let mut docs = IndexMap::new();
        docs.insert("orders".to_string(), "One row per order.".to_string());
        let mut env = std::collections::BTreeMap::new();
        env.insert("DBT_SCHEMA".to_string(), "analytics".to_string());
        RenderContext {
            vars,
            project_vars: true,
            docs,
            target: None,
            env: DbtOptions {
                env: Some(env),
                ..DbtOptions::default()
            },
        }
    }

    fn render(text: &str, docs: bool) -> Result<Option<String>, Diagnostic> {
        let mut sm = SourceMap::new();
        let id = sm.add(SourceFile::new("a.yml", "a.yml", format!("x: \"{text}\"")));
        render_str(
            &ctx(),
            &sm,
            text,
            Span::new(id, 3, 3 + text.len() + 2),
            docs,
        )
    }

    #[test]
    fn var_env_var_and_doc_render_as_dbt_renders_them() {
        assert_eq!(
            render("{{ var('days') }} days", false).unwrap().unwrap(),
            "7 days"
        );
        assert_eq!(render("{{ var('nope', 3) }}", false).unwrap().unwrap(), "3");
        assert_eq!(
            render("{{ env_var('DBT_SCHEMA') }}", false)
                .unwrap()
                .unwrap(),
            "analytics"
        );
        assert_eq!(
            render("{{ env_var('MISSING', 'dflt') }}", false)
                .unwrap()
                .unwrap(),
            "dflt"
        );
        assert_eq!(
            render("{{ doc('orders') }}", true).unwrap().unwrap(),
            "One row per order."
        );
    }

    #[test]
    fn what_cannot_be_rendered_is_an_error_at_the_call() {
        let d = render("{{ var('nope') }}", false).unwrap_err();
        assert_eq!(d.code, codes::DBT_JINJA);
        assert!(d.message.contains("`nope`"), "{}", d.message);
        // The span is the variable's name inside the string.
        assert_eq!(d.span.end - d.span.start, 4);
        let d = render("{{ env_var('NOPE') }}", false).unwrap_err();
        assert!(d.message.contains("NOPE"), "{}", d.message);
        let d = render("{{ doc('order') }}", true).unwrap_err();
        assert!(
            d.help.iter().any(|h| h.contains("did you mean `orders`")),
            "{d:?}"
        );
        let d = render("{{ doc('orders') }}", false).unwrap_err();
        assert!(d.message.contains("descriptions"), "{}", d.message);
        let d = render("{{ my_macro('x') }}", false).unwrap_err();
        assert!(d.message.contains("my_macro"), "{}", d.message);
        assert!(d.help[0].contains("--manifest"), "{:?}", d.help);
        let d = render("{{ dbt.dateadd('day', 1, 'x') }}", false).unwrap_err();
        assert!(d.message.contains("dbt.dateadd"), "{}", d.message);
        // tally's own SQL macros are left for tally's SQL rendering.
        assert_eq!(render("{{ dateadd('day', 1, 'x') }}", false).unwrap(), None);
    }

    #[test]
    fn filters_and_tests_stay_as_written_descriptions_get_docs() {
        let k = |s: &str| Seg::Key(s.to_string());
        assert_eq!(mode("metrics", &[k("filter")]), Mode::Skip);
        assert_eq!(
            mode("metrics", &[k("type_params"), k("numerator"), k("filter")]),
            Mode::Skip
        );
        assert_eq!(mode("metrics", &[k("filter"), Seg::Index(0)]), Mode::Skip);
        assert_eq!(mode("metrics", &[k("label")]), Mode::Render);
        assert_eq!(mode("metrics", &[k("description")]), Mode::Docs);
        assert_eq!(
            mode(
                "saved_queries",
                &[k("query_params"), k("where"), Seg::Index(0)]
            ),
            Mode::Skip
        );
        assert_eq!(
            mode("saved_queries", &[k("query_params"), k("group_by")]),
            Mode::Render
        );
        assert_eq!(
            mode(
                "semantic_models",
                &[k("dimensions"), Seg::Index(0), k("expr")]
            ),
            Mode::Render
        );
        assert_eq!(
            mode(
                "semantic_models",
                &[k("measures"), Seg::Index(1), k("description")]
            ),
            Mode::Docs
        );
        assert_eq!(
            mode(
                "models",
                &[k("columns"), Seg::Index(0), k("data_tests"), Seg::Index(0)]
            ),
            Mode::Skip
        );
        assert_eq!(mode("models", &[k("config"), k("schema")]), Mode::Render);
        assert_eq!(
            mode("models", &[k("metrics"), Seg::Index(0), k("filter")]),
            Mode::Skip
        );
    }

    #[test]
    fn doc_blocks_are_read_from_markdown() {
        let md = "# x\n{% docs orders %}\nOne row per order.\n{% enddocs %}\n\n{%- docs status -%}The status.{%- enddocs -%}";
        assert_eq!(
            doc_blocks(md),
            vec![
                ("orders".to_string(), "One row per order.".to_string()),
                ("status".to_string(), "The status.".to_string())
            ]
        );
    }
}
