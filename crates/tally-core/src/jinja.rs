//! Jinja rendering of user SQL (`sql:` on semantic models) through the dialect macro library.
//!
//! The library is the repository's `templates/macros.sql` (compiled into tally), then
//! `templates/dialects/<dialect>.sql` overrides, then the project's own `templates/*.sql`. Macros are
//! callable by name in any SQL snippet: `{{ dateadd('day', 7, 'first_close_at') }}`. Project variables
//! are available as `{{ var('name') }}`.

use crate::diag::{codes, Diagnostic};
use crate::source::Span;

const BASE: &str = include_str!("../../../templates/macros.sql");

fn dialect_overrides(dialect: &str) -> &'static str {
    match dialect {
        "duckdb" => include_str!("../../../templates/dialects/duckdb.sql"),
        _ => "",
    }
}

/// A macro library: the text of all macro files, in override order.
#[derive(Clone, Debug, Default)]
pub struct MacroLibrary {
    pub project_macros: Vec<(String, String)>,
}

impl MacroLibrary {
    fn source(&self, dialect: &str) -> String {
        let mut s = String::from(BASE);
        s.push('\n');
        s.push_str(dialect_overrides(dialect));
        for (_, text) in &self.project_macros {
            s.push('\n');
            s.push_str(text);
        }
        s
    }
}

/// Render a SQL snippet. `vars` are the project's variables.
pub fn render_sql(
    text: &str,
    span: Span,
    lib: &MacroLibrary,
    dialect: &str,
    vars: &indexmap::IndexMap<String, serde_json::Value>,
) -> Result<String, Diagnostic> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let library = lib.source(dialect);
    let prefix_lines = library.matches('\n').count();
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let vars_owned = vars.clone();
    env.add_function(
        "var",
        move |name: String,
              default: Option<minijinja::Value>|
              -> Result<minijinja::Value, minijinja::Error> {
            match vars_owned.get(&name) {
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
    let full = format!("{library}\n{text}");
    let result = env
        .render_str(&full, minijinja::context! {})
        .map(|s| s.trim().to_string());
    result.map_err(|e| {
        let line = e.line().map(|l| l.saturating_sub(prefix_lines + 1));
        let mut d = Diagnostic::error(codes::EXPRESSION, format!("SQL template error: {}", e.detail().unwrap_or(&e.to_string())))
            .at(span)
            .with_label("in this SQL");
        if let Some(l) = line {
            d = d.with_help(format!("at line {l} of the SQL"));
        }
        d.with_help("macros: dateadd, datediff, seconds_between, date_trunc, cast_timestamp, cast_string, cast_double, safe_divide, bool_or, bool_and, current_row, string_literal; variables: var('name')")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_and_vars_render() {
        let mut vars = indexmap::IndexMap::new();
        vars.insert("days".to_string(), serde_json::json!(7));
        let out = render_sql(
            "select {{ dateadd('day', var('days'), 'x') }}",
            Span::DUMMY,
            &MacroLibrary::default(),
            "duckdb",
            &vars,
        )
        .unwrap();
        assert_eq!(out, "select (x + INTERVAL (7) day)");
        let err = render_sql(
            "{{ var('nope') }}",
            Span::DUMMY,
            &MacroLibrary::default(),
            "duckdb",
            &vars,
        )
        .unwrap_err();
        assert!(err.message.contains("nope"), "{}", err.message);
    }
}
