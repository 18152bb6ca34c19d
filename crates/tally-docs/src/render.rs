//! The embedded templates and static assets, and rendering one page.

use crate::SiteFile;
use minijinja::Environment;
use serde::Serialize;
use serde_json::{json, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("metric.html", include_str!("../templates/metric.html")),
    ("metrics.html", include_str!("../templates/metrics.html")),
    ("model.html", include_str!("../templates/model.html")),
    ("models.html", include_str!("../templates/models.html")),
    ("owner.html", include_str!("../templates/owner.html")),
    ("owners.html", include_str!("../templates/owners.html")),
    (
        "saved_query.html",
        include_str!("../templates/saved_query.html"),
    ),
    (
        "saved_queries.html",
        include_str!("../templates/saved_queries.html"),
    ),
    (
        "diagnostics.html",
        include_str!("../templates/diagnostics.html"),
    ),
];

/// The environment with every template; `.html` templates auto-escape.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("syntax config"),
    );
    // HTML escaping of every value that is not marked safe, as minijinja's, except that `/` stays
    // as it is: it is harmless in text and attributes, and links read `../metrics/x.html`.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if *state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() => out
            .write_str(&crate::picture::escape(s))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())),
        _ => minijinja::escape_formatter(out, state, value),
    });
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("embedded template {name} is invalid: {e:#}"));
    }
    env
}

/// What every page shows: the project, the search index size, the diagnostics count.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Common {
    pub project: String,
    pub search_chunks: usize,
    pub diagnostics: usize,
    pub errors: usize,
}

/// Render `template` into the page at `path` with `ctx` plus the common values.
pub(crate) fn page(
    env: &Environment,
    template: &str,
    path: &str,
    common: &Common,
    ctx: Value,
) -> SiteFile {
    let mut ctx = ctx;
    let obj = ctx.as_object_mut().expect("page context is an object");
    obj.insert("root".into(), json!(crate::paths::root_of(path)));
    obj.insert("common".into(), json!(common));
    obj.insert("page_path".into(), json!(path));
    let tmpl = env.get_template(template).expect("template is embedded");
    // Templates are embedded and their contexts built here: a failure is a bug in tally.
    let html = tmpl
        .render(minijinja::Value::from(minijinja::value::Serde(&ctx)))
        .unwrap_or_else(|e| panic!("rendering {template} for {path} failed: {e:#}"));
    SiteFile {
        path: path.to_string(),
        bytes: html.into_bytes(),
    }
}

/// The static assets: style sheet, script, the search library and its licence.
pub(crate) fn assets() -> Vec<SiteFile> {
    let f = |path: &str, text: &str| SiteFile {
        path: path.to_string(),
        bytes: text.as_bytes().to_vec(),
    };
    vec![
        f("assets/style.css", include_str!("../assets/style.css")),
        f("assets/site.js", include_str!("../assets/site.js")),
        f(
            "assets/minisearch.min.js",
            include_str!("../assets/minisearch/minisearch.min.js"),
        ),
        f(
            "assets/minisearch.LICENSE.txt",
            include_str!("../assets/minisearch/LICENSE.txt"),
        ),
    ]
}
