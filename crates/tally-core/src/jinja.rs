//! Jinja rendering of user SQL (`sql:` on semantic models) through the dialect macro library.
//!
//! The library is the repository's `templates/macros.sql` (compiled into tally), then the target
//! dialect's overrides `templates/dialects/<dialect>.sql` (`Dialect::macros`, also compiled in), then
//! the project's own `templates/*.sql`; a later definition of a macro replaces an earlier one, so a
//! project can add macros or override any of tally's. Macros are callable by name in any SQL snippet:
//! `{{ dateadd('day', 7, 'first_close_at') }}`. Project variables are available as `{{ var('name') }}`.

mod comments;

use crate::diag::{codes, Diagnostic};
use crate::source::Span;

const BASE: &str = include_str!("../../../templates/macros.sql");

/// The macros of the library, for help text.
pub const MACROS: &[&str] = &[
    "dateadd(unit, count, expr)",
    "datediff(unit, start, end)",
    "epoch_seconds(expr)",
    "seconds_between(start, end)",
    "date_trunc(unit, expr)",
    "cast_timestamp(expr)",
    "cast_date(expr)",
    "cast_string(expr)",
    "cast_double(expr)",
    "cast_integer(expr)",
    "safe_divide(numerator, denominator)",
    "bool_or(expr)",
    "bool_and(expr)",
    "current_row(partition_by, order_by)",
    "fivetran_current(relation, key, order_by)",
    "string_literal(value)",
    "timestamp_literal(value)",
    "greatest_not_null(a, b)",
    "least_not_null(a, b)",
    "as_boolean(condition)",
    "time_spine(start_date, end_date)",
];

/// Instructions one SQL snippet may execute when rendered (loops included); far above what any
/// real macro needs, far below what takes more than a fraction of a second.
pub const FUEL: u64 = 2_000_000;

/// A macro library: the text of all macro files, in override order.
#[derive(Clone, Debug, Default)]
pub struct MacroLibrary {
    pub project_macros: Vec<(String, String)>,
}

impl MacroLibrary {
    fn source(&self, overrides: &str) -> String {
        let mut s = String::from(BASE);
        s.push('\n');
        s.push_str(overrides);
        // A project file identical to the built-in library (the repository's own project reads
        // `templates/macros.sql` as a project file) would undo the dialect's overrides.
        for (_, text) in self.project_macros.iter().filter(|(_, t)| t != BASE) {
            s.push('\n');
            s.push_str(text);
        }
        s
    }
}

/// Render a SQL snippet. `overrides` is the target dialect's macro file (`Dialect::macros`); `vars`
/// are the project's variables.
pub fn render_sql(
    text: &str,
    span: Span,
    lib: &MacroLibrary,
    overrides: &str,
    vars: &indexmap::IndexMap<String, serde_json::Value>,
) -> Result<String, Diagnostic> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let library = lib.source(overrides);
    let prefix_lines = library.matches('\n').count();
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // Bounded work: a template may loop, but not for half an hour.
    env.set_fuel(Some(FUEL));
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
    // A `-- comment` keeps the newline that ends it, whatever the whitespace control around it.
    let full = format!("{library}\n{}", comments::keep_line_comments(text));
    let result = env
        .render_str(&full, minijinja::context! {})
        .map(|s| s.trim().to_string());
    result.map_err(|e| {
        let line = e.line().map(|l| l.saturating_sub(prefix_lines + 1));
        let mut d = Diagnostic::error(
            codes::EXPRESSION,
            format!(
                "SQL template error: {}",
                e.detail().unwrap_or(&e.to_string())
            ),
        )
        .at(span)
        .with_label("in this SQL");
        if let Some(l) = line {
            d = d.with_help(format!("at line {l} of the SQL"));
        }
        d.with_help(format!(
            "macros: {}; variables: var('name')",
            MACROS.join(", ")
        ))
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
            "",
            &vars,
        )
        .unwrap();
        assert_eq!(out, "select (x + INTERVAL (7) day)");
        let err = render_sql(
            "{{ var('nope') }}",
            Span::DUMMY,
            &MacroLibrary::default(),
            "",
            &vars,
        )
        .unwrap_err();
        assert!(err.message.contains("nope"), "{}", err.message);
    }

    #[test]
    fn nested_loops_run_out_of_fuel() {
        let vars = indexmap::IndexMap::new();
        let text = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}";
        let err = render_sql(text, Span::DUMMY, &MacroLibrary::default(), "", &vars).unwrap_err();
        assert_eq!(err.code, codes::EXPRESSION);
        assert!(err.message.contains("fuel"), "{}", err.message);
    }

    #[test]
    fn dialect_then_project_macros_override_the_base() {
        let vars = indexmap::IndexMap::new();
        let overrides = "{%- macro dateadd(unit, count, expr) -%}DATEADD({{ unit }}, {{ count }}, {{ expr }}){%- endmacro -%}";
        let out = render_sql(
            "{{ dateadd('day', 7, 'x') }} {{ bool_or('b') }}",
            Span::DUMMY,
            &MacroLibrary::default(),
            overrides,
            &vars,
        )
        .unwrap();
        assert_eq!(out, "DATEADD(day, 7, x) BOOL_OR(b)");
        let lib = MacroLibrary {
            project_macros: vec![(
                "templates/mine.sql".into(),
                "{%- macro bool_or(expr) -%}MY_OR({{ expr }}){%- endmacro -%}\n{%- macro twice(x) -%}2 * {{ x }}{%- endmacro -%}".into(),
            )],
        };
        let out = render_sql(
            "{{ dateadd('day', 7, 'x') }} {{ bool_or('b') }} {{ twice('y') }}",
            Span::DUMMY,
            &lib,
            overrides,
            &vars,
        )
        .unwrap();
        assert_eq!(out, "DATEADD(day, 7, x) MY_OR(b) 2 * y");
    }
}
