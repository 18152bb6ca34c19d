//! What a where filter sent to a server may contain.
//!
//! A filter is MetricFlow's Jinja-in-SQL: references in `{{ }}` and SQL around them, which tally
//! pastes into the WHERE clause it generates. From a project file that SQL is trusted; from a
//! client it is not. A server filter must parse with tally's filter parser, and its SQL parts,
//! read with tally's expression tokenizer (the one derived-metric formulas go through), must be
//! one expression: no `;`, no `--` comments, balanced parentheses, closed strings, and none of the
//! words that start a statement or a sub-query. The database is also opened read-only and locked
//! down, so this is the first of two walls.

use crate::error::ServeError;
use tally_core::diag::codes;
use tally_core::expr::{self, Segment, TokenKind};
use tally_core::model::Filter;
use tally_core::source::Span;

/// Words a filter expression never needs; each starts a statement, a sub-query or a clause.
const REFUSED_WORDS: &[&str] = &[
    "select",
    "from",
    "union",
    "intersect",
    "except",
    "with",
    "insert",
    "update",
    "delete",
    "merge",
    "drop",
    "create",
    "alter",
    "truncate",
    "attach",
    "detach",
    "copy",
    "export",
    "import",
    "pragma",
    "set",
    "reset",
    "install",
    "load",
    "call",
    "execute",
    "prepare",
    "vacuum",
    "checkpoint",
    "grant",
    "revoke",
    "begin",
    "commit",
    "rollback",
    "use",
    "into",
    "returning",
    "limit",
    "offset",
    "having",
    "window",
    "qualify",
    "group",
    "order",
];

/// Check a client's where filter, parsed once by [`Filter::new`] (the planner uses the same
/// parse); the error names what is refused and why.
pub fn check_filter(filter: &Filter) -> Result<(), ServeError> {
    let template = filter.template().map_err(|d| {
        ServeError::new(d.code, 422, format!("invalid where filter: {}", d.message))
            .with_help(d.help.join("; "))
    })?;
    // The SQL around the references, each reference standing in as a name.
    let mut sql = String::new();
    for seg in &template.segments {
        match seg {
            Segment::Sql { text, .. } => sql.push_str(text),
            Segment::Ref(_) => sql.push_str(" __ref__ "),
        }
    }
    if sql.trim().is_empty() {
        return Ok(());
    }
    let refuse = |what: String| {
        ServeError::new(
            codes::SERVE_FILTER,
            422,
            format!("the where filter is refused: {what}"),
        )
        .with_help(
            "a filter is one condition on dimensions, entities and metrics: \
             {{ Dimension('name') }} = 'value', combined with AND, OR, NOT, IN, LIKE, BETWEEN",
        )
    };
    if sql.contains(';') {
        return Err(refuse("it contains `;` (a second statement)".into()));
    }
    let formula = expr::parse_formula(&sql, Span::DUMMY)
        .map_err(|d| refuse(d.message.replace("formula", "filter")))?;
    for t in &formula.tokens {
        if t.kind == TokenKind::Ident {
            let word = t.text.to_ascii_lowercase();
            if REFUSED_WORDS.contains(&word.as_str()) {
                return Err(refuse(format!("`{}` has no place in a condition", t.text)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tally_core::model::Filter;
    use tally_core::source::Span;

    fn check_filter(text: &str) -> Result<(), crate::error::ServeError> {
        super::check_filter(&Filter::new(text, Span::DUMMY))
    }

    /// A filter that does not parse is refused with the parser's code and words.
    #[test]
    fn an_unparsable_filter_is_refused_with_the_parsers_diagnostic() {
        let text = "{{ Dimension('team__team_name' }} = 'x'";
        let filter = Filter::new(text, Span::DUMMY);
        let parse_error = filter.template().expect_err("does not parse");
        let err = check_filter(text).expect_err("refused");
        assert_eq!(err.code, parse_error.code);
        assert!(
            err.message.contains(&parse_error.message),
            "{}",
            err.message
        );
    }

    #[test]
    fn plain_conditions_pass() {
        for f in [
            "{{ Dimension('conversation__channel') }} = 'email'",
            "{{ TimeDimension('metric_time', 'day') }} >= '2026-01-01' AND NOT {{ Dimension('conversation__is_inbound') }}",
            "{{ Dimension('team__team_name') }} IN ('Billing', 'Sales') OR {{ Entity('team') }} IS NULL",
            "lower({{ Dimension('team__team_name') }}) LIKE '%bill%'",
        ] {
            assert_eq!(check_filter(f), Ok(()), "{f}");
        }
    }

    #[test]
    fn statements_comments_and_subqueries_are_refused() {
        for (f, why) in [
            (
                "{{ Dimension('team__team_name') }} = 'x'; DROP TABLE intercom.team",
                "`;`",
            ),
            (
                "{{ Dimension('team__team_name') }} = 'x' -- rest",
                "comments",
            ),
            (
                "{{ Dimension('team__team_name') }} IN (SELECT name FROM intercom.team)",
                "`SELECT`",
            ),
            (
                "{{ Dimension('team__team_name') }} = 'x') OR (1 = 1",
                "unmatched",
            ),
            ("{{ Dimension('team__team_name') }} = 'x", "string"),
        ] {
            let err = check_filter(f).expect_err(f);
            assert_eq!(err.code, "E0605", "{f}: {err}");
            assert!(err.message.contains(why), "{f}: {}", err.message);
        }
    }
}
