//! The macro library: built-in templates (as data), a dialect's overrides, the project's macros.

use tally_core::diag::codes;
use tally_core::jinja::{render_sql, MacroLibrary, Templates};
use tally_core::source::Span;

/// The built-in base macros without any dialect's overrides.
fn base_only() -> MacroLibrary {
    MacroLibrary {
        builtin: Templates::new(tally_templates::BASE),
        project_macros: Vec::new(),
    }
}

#[test]
fn macros_and_vars_render() {
    let mut vars = indexmap::IndexMap::new();
    vars.insert("days".to_string(), serde_json::json!(7));
    let out = render_sql(
        "select {{ dateadd('day', var('days'), 'x') }}",
        Span::DUMMY,
        &base_only(),
        "duckdb",
        &vars,
    )
    .unwrap();
    assert_eq!(out, "select (x + INTERVAL (7) day)");
    let err = render_sql(
        "{{ var('nope') }}",
        Span::DUMMY,
        &base_only(),
        "duckdb",
        &vars,
    )
    .unwrap_err();
    assert!(err.message.contains("nope"), "{}", err.message);
}

#[test]
fn nested_loops_run_out_of_fuel() {
    let vars = indexmap::IndexMap::new();
    let text = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}";
    let err = render_sql(text, Span::DUMMY, &base_only(), "duckdb", &vars).unwrap_err();
    assert_eq!(err.code, codes::EXPRESSION);
    assert!(err.message.contains("fuel"), "{}", err.message);
}

#[test]
fn dialect_then_project_macros_override_the_base() {
    let vars = indexmap::IndexMap::new();
    let overrides = "{%- macro dateadd(unit, count, expr) -%}DATEADD({{ unit }}, {{ count }}, {{ expr }}){%- endmacro -%}";
    let builtin = Templates::new(tally_templates::BASE).with_dialect("mine", overrides);
    let lib = MacroLibrary {
        builtin: builtin.clone(),
        project_macros: Vec::new(),
    };
    let out = render_sql(
        "{{ dateadd('day', 7, 'x') }} {{ bool_or('b') }}",
        Span::DUMMY,
        &lib,
        "mine",
        &vars,
    )
    .unwrap();
    assert_eq!(out, "DATEADD(day, 7, x) BOOL_OR(b)");
    // Another dialect's name does not see `mine`'s overrides.
    let out = render_sql(
        "{{ dateadd('day', 7, 'x') }}",
        Span::DUMMY,
        &lib,
        "other",
        &vars,
    )
    .unwrap();
    assert_eq!(out, "(x + INTERVAL (7) day)");
    let lib = MacroLibrary {
        builtin,
        project_macros: vec![(
            "templates/mine.sql".into(),
            "{%- macro bool_or(expr) -%}MY_OR({{ expr }}){%- endmacro -%}\n{%- macro twice(x) -%}2 * {{ x }}{%- endmacro -%}".into(),
        )],
    };
    let out = render_sql(
        "{{ dateadd('day', 7, 'x') }} {{ bool_or('b') }} {{ twice('y') }}",
        Span::DUMMY,
        &lib,
        "mine",
        &vars,
    )
    .unwrap();
    assert_eq!(out, "DATEADD(day, 7, x) MY_OR(b) 2 * y");
}

#[test]
fn a_project_copy_of_the_base_library_does_not_undo_the_overrides() {
    let vars = indexmap::IndexMap::new();
    let lib = MacroLibrary {
        builtin: tally_templates::builtin(),
        project_macros: vec![("templates/macros.sql".into(), tally_templates::BASE.into())],
    };
    let out = render_sql(
        "{{ dateadd('day', 7, 'x') }}",
        Span::DUMMY,
        &lib,
        "snowflake",
        &vars,
    )
    .unwrap();
    let plain = MacroLibrary {
        builtin: tally_templates::builtin(),
        project_macros: Vec::new(),
    };
    let expected = render_sql(
        "{{ dateadd('day', 7, 'x') }}",
        Span::DUMMY,
        &plain,
        "snowflake",
        &vars,
    )
    .unwrap();
    assert_eq!(out, expected);
    assert_ne!(out, "(x + INTERVAL (7) day)");
}
