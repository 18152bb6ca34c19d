//! Jinja rendering of user SQL (`sql:` on semantic models) through the dialect macro library.
//!
//! The library is tally's built-in base macros, then the target dialect's overrides (both given to
//! core as data, a [`Templates`] value: the `tally-templates` crate embeds tally's own), then the
//! project's own `templates/*.sql`; a later definition of a macro replaces an earlier one, so a
//! project can add macros or override any of tally's. Macros are callable by name in any SQL snippet:
//! `{{ dateadd('day', 7, 'first_close_at') }}`. Project variables are available as `{{ var('name') }}`.

mod comments;
mod compiled;

use crate::diag::{codes, Diagnostic};
use crate::source::Span;
use std::sync::Arc;

/// The built-in macro library as data: the base macros and each dialect's overrides (by dialect
/// name, `Dialect::name`). Core embeds none: the caller passes it where a project is resolved
/// (`tally_templates::builtin()` for tally's own). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    base: Arc<str>,
    dialects: Arc<[(String, String)]>,
    /// The libraries made of these templates, compiled once ([`compiled`]); shared by clones.
    compiled: compiled::Cache,
}

impl Templates {
    /// A library of the base macros `base` and no dialect overrides yet.
    pub fn new(base: &str) -> Self {
        Templates {
            base: base.into(),
            dialects: Arc::new([]),
            compiled: compiled::Cache::default(),
        }
    }

    /// These templates with `overrides` as dialect `name`'s macro file (replacing an earlier one).
    pub fn with_dialect(self, name: &str, overrides: &str) -> Self {
        let mut dialects: Vec<(String, String)> = self
            .dialects
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        dialects.push((name.to_string(), overrides.to_string()));
        Templates {
            base: self.base,
            dialects: dialects.into(),
            compiled: compiled::Cache::default(),
        }
    }

    /// The base macros.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The overrides of the dialect named `name`; empty when it has none.
    pub fn dialect(&self, name: &str) -> &str {
        self.dialects
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, t)| t.as_str())
    }
}

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

/// A macro library: the built-in templates and the project's macro files, in override order.
#[derive(Clone, Debug, Default)]
pub struct MacroLibrary {
    pub builtin: Templates,
    pub project_macros: Vec<(String, String)>,
}

impl MacroLibrary {
    fn source(&self, dialect: &str) -> String {
        let base = self.builtin.base();
        let mut s = String::from(base);
        s.push('\n');
        s.push_str(self.builtin.dialect(dialect));
        // A project file identical to the built-in library (a copy of tally's `macros.sql` in a
        // project's `templates/`) would undo the dialect's overrides.
        for (_, text) in self.project_macros.iter().filter(|(_, t)| t != base) {
            s.push('\n');
            s.push_str(text);
        }
        s
    }
}

/// Render a SQL snippet for the dialect named `dialect` (`Dialect::name`: its overrides of the
/// built-in templates apply); `vars` are the project's variables.
///
/// The library is compiled once per dialect, macro files and variables ([`compiled`]) and each
/// snippet imports its macros; a library that does not compile is rendered with the snippet as
/// one text, which reports its errors as before.
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
    // A `-- comment` keeps the newline that ends it, whatever the whitespace control around it.
    let snippet = comments::keep_line_comments(text);
    if let Some(c) = compiled::get(lib, dialect, vars) {
        return c
            .render(&snippet)
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                // Lines of the snippet are its own (the import shares its first line).
                let line = (e.name() == Some(compiled::SNIPPET))
                    .then(|| e.line())
                    .flatten();
                template_error(&e, line, span)
            });
    }
    let library = lib.source(dialect);
    let prefix_lines = library.matches('\n').count();
    let env = compiled::environment(vars.clone());
    let full = format!("{library}\n{snippet}");
    let result = env
        .render_str(&full, minijinja::context! {})
        .map(|s| s.trim().to_string());
    result.map_err(|e| {
        let line = e.line().map(|l| l.saturating_sub(prefix_lines + 1));
        template_error(&e, line, span)
    })
}

/// A rendering error at `line` of the snippet, if known.
fn template_error(e: &minijinja::Error, line: Option<usize>, span: Span) -> Diagnostic {
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
}
