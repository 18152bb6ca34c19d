//! Macro libraries compiled once.
//!
//! A snippet used to be rendered as one template: the whole library (tally's base macros, the
//! dialect's overrides, the project's macro files) followed by the snippet, so every snippet
//! compiled some 25 KB of macros again (validation renders each `sql:` model for every dialect, and
//! a query renders each expression that calls a macro). Now the library is compiled once per
//! dialect, macro files and variables into an environment of its own, and a snippet starts with
//! `{% from "<library>" import <every name it defines> %}`: minijinja runs the library's top level
//! (which only defines macros) and binds its names, so a snippet calls the same macros as before,
//! defined in the same order (a later definition still replaces an earlier one).
//!
//! The compiled libraries hang off the [`Templates`](super::Templates) they were made from (shared
//! by its clones, so by every model loaded with `tally_templates::builtin()` in a process). An
//! entry is used only for exactly the same project macro files and variables; a process that loads
//! many different projects keeps at most [`MAX_ENTRIES`].

use super::MacroLibrary;
use std::sync::{Arc, Mutex};

/// The name of a snippet's template (errors in it carry it, so their lines are the snippet's).
pub(super) const SNIPPET: &str = "sql";
/// The name of the library's template.
const LIBRARY: &str = "__tally_macros";
/// Compiled libraries kept per [`Templates`](super::Templates).
const MAX_ENTRIES: usize = 32;

/// Compiled libraries (shared by clones of a `Templates`).
#[derive(Clone, Debug, Default)]
pub(super) struct Cache(Arc<Mutex<Vec<Arc<Compiled>>>>);

/// One library compiled for one dialect, macro files and variables.
#[derive(Debug)]
pub(super) struct Compiled {
    dialect: String,
    project_macros: Vec<(String, String)>,
    vars: indexmap::IndexMap<String, serde_json::Value>,
    env: minijinja::Environment<'static>,
    /// `{% from "__tally_macros" import a, b, ... %}`.
    import: String,
}

impl Compiled {
    /// Render a snippet with the library's names bound.
    pub(super) fn render(&self, snippet: &str) -> Result<String, minijinja::Error> {
        let source = format!("{}{snippet}", self.import);
        self.env
            .render_named_str(SNIPPET, &source, minijinja::context! {})
    }
}

/// The environment every snippet renders in: strict about undefined names, bounded work, and the
/// project's variables as `var(name, default)`.
pub(super) fn environment(
    vars: indexmap::IndexMap<String, serde_json::Value>,
) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // Bounded work: a template may loop, but not for half an hour.
    env.set_fuel(Some(super::FUEL));
    env.add_function(
        "var",
        move |name: String,
              default: Option<minijinja::Value>|
              -> Result<minijinja::Value, minijinja::Error> {
            match vars.get(&name) {
                Some(v) => Ok(minijinja::Value::from(minijinja::value::Serde(v.clone()))),
                None => default.ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        format!("project variable `{name}` is not set in tally.yml `vars`"),
                    )
                }),
            }
        },
    );
    env
}

/// The library of `lib` for `dialect` and `vars`, compiled (from the cache, or now). `None` when
/// it does not compile or its top level fails: the caller renders the old way, with its errors.
pub(super) fn get(
    lib: &MacroLibrary,
    dialect: &str,
    vars: &indexmap::IndexMap<String, serde_json::Value>,
) -> Option<Arc<Compiled>> {
    let cache = &lib.builtin.compiled;
    let found = cache.0.lock().ok().and_then(|entries| {
        entries
            .iter()
            .find(|c| {
                c.dialect == dialect && c.project_macros == lib.project_macros && c.vars == *vars
            })
            .cloned()
    });
    if found.is_some() {
        return found;
    }
    let compiled = Arc::new(compile(lib, dialect, vars)?);
    if let Ok(mut entries) = cache.0.lock() {
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.push(compiled.clone());
    }
    Some(compiled)
}

fn compile(
    lib: &MacroLibrary,
    dialect: &str,
    vars: &indexmap::IndexMap<String, serde_json::Value>,
) -> Option<Compiled> {
    let mut env = environment(vars.clone());
    env.add_template_owned(LIBRARY, lib.source(dialect)).ok()?;
    // The names the library defines: what its top level binds, less the environment's globals.
    let mut names: Vec<String> = {
        let known = |t: minijinja::Template<'_, '_>| -> Option<Vec<String>> {
            let captured = t.render_captured(minijinja::context! {}).ok()?;
            let names = captured.state().known_variables();
            Some(names.into_iter().map(|n| n.into_owned()).collect())
        };
        let globals = known(env.template_from_str("").ok()?)?;
        let mut names = known(env.get_template(LIBRARY).ok()?)?;
        names.retain(|n| !globals.contains(n));
        names
    };
    names.sort();
    let import = if names.is_empty() {
        String::new()
    } else {
        format!("{{% from \"{LIBRARY}\" import {} %}}", names.join(", "))
    };
    Some(Compiled {
        dialect: dialect.to_string(),
        project_macros: lib.project_macros.clone(),
        vars: vars.clone(),
        env,
        import,
    })
}
