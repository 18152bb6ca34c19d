//! The small expression languages inside metric definitions and queries.
//!
//! Four kinds of user text are parsed here. Every node keeps a [`Span`] computed with [`Span::sub`]
//! on the span of the whole string (byte offsets relative to the string start), and every error is a
//! [`Diagnostic`] with code [`codes::EXPRESSION`] (E0203), a span inside the string, a label and a
//! help line. No input makes these functions panic.
//!
//! # Where-filters (MetricFlow's Jinja syntax): [`parse_filter`]
//!
//! ```text
//! template  := ( sql | "{{" "-"? object "-"? "}}" | "{#" ... "#}" )*
//! sql       := any text not starting "{{", "{%" or "{#"; kept verbatim
//! object    := call ( "." method )*
//! call      := FUNC "(" args? ")"          FUNC: Dimension | TimeDimension | Entity | Metric
//! method    := METHOD "(" args? ")"        METHOD: grain | date_part | descending
//! args      := arg ( "," arg )* ","?
//! arg       := ( IDENT "=" )? value
//! value     := STRING | "[" strings? "]" | "(" strings? ")" | True | False | None | NUMBER
//! strings   := STRING ( "," STRING )* ","?
//! STRING    := '...' | "..."               (backslash escapes as in Jinja)
//! ```
//!
//! Whitespace is insignificant inside `{{ }}`. The parameters are MetricFlow's, positional or by
//! keyword:
//!
//! | function        | parameters                                                                          |
//! |-----------------|-------------------------------------------------------------------------------------|
//! | `Dimension`     | `name`, `entity_path`                                                               |
//! | `TimeDimension` | `time_dimension_name`, `time_granularity_name`, `entity_path`, `descending`, `date_part_name` |
//! | `Entity`        | `entity_name`, `entity_path`                                                        |
//! | `Metric`        | `metric_name`, `group_by`                                                           |
//!
//! `.grain(g)` and `.date_part(p)` apply to `Dimension` and `TimeDimension`; `.descending(b)` sorts
//! order items. Outside order items MetricFlow accepts `.descending(...)` on a `Dimension` and a
//! `descending=` argument of `TimeDimension` and ignores them, so tally does too. `{% ... %}`
//! statements are rejected; `{# ... #}` comments are dropped; `{{-` and `-}}` trim whitespace as in
//! Jinja. Names are kept as written (dunder paths are not split); grains and date parts are
//! lower-cased, as MetricFlow does.
//!
//! # Derived-metric formulas: [`parse_formula`]
//!
//! A SQL expression, tokenized (not parsed) into identifiers, numbers, strings, operators,
//! parentheses, commas and whitespace (`/* */` comments count as whitespace). Parentheses must
//! balance and strings and quoted identifiers must be closed; `--` comments are rejected because the
//! formula is pasted inside a larger statement. [`Formula::identifiers`] yields the names that
//! refer to inputs: identifiers that are not SQL keywords, not function names (followed by `(`),
//! not type names (after `AS` or `::`), not field names (after `.`) and not date-part units (in
//! `EXTRACT(unit FROM ...)` or `INTERVAL '1' unit`). A quoted identifier (`"x"`) always refers to an
//! input unless it is called, so an input named like a keyword can still be used.
//!
//! # Group-by items: [`parse_group_by`]
//!
//! ```text
//! item      := dunder | object | "{{" object "}}"
//! dunder    := NAME ( "__" NAME )* ( "__extract_" DATE_PART )?      NAME: [A-Za-z0-9_]+
//! ```
//!
//! A dunder name is returned as a `Dimension` whose `name` is the whole string: whether it is a
//! dimension, a time dimension with a grain suffix (`metric_time__month`) or an entity is for the
//! resolver to decide, with [`split_dunder`] and [`DunderName`]. Only the `__extract_<part>` suffix is
//! interpreted here (it becomes `date_part`).
//!
//! # Order items: [`parse_order_item`]
//!
//! ```text
//! order     := "-"? item        a leading "-" sorts descending; so does object.descending(True)
//! ```

// Every parser here returns the project's `Diagnostic` by value, as the other stages do; boxing it
// in this module alone would only make callers unwrap it.
#![allow(
    clippy::result_large_err,
    reason = "errors are the shared `Diagnostic` type, returned by value across the crate"
)]

use std::fmt;

use crate::diag::{codes, Diagnostic};
use crate::source::{Located, Span};

mod filter;
mod formula;
mod items;
mod jinja_call;

pub use filter::{parse_filter, parse_filter_at, render_filter, BareName, Segment, Template};
pub use formula::{
    is_sql_keyword, parse_formula, parse_formula_at, render_formula, Formula, Token, TokenKind,
};
pub use items::{parse_group_by, parse_group_by_at, parse_order_item, parse_order_item_at};

// ----- shared types ----------------------------------------------------------------------------

/// What a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    Dimension,
    TimeDimension,
    Entity,
    Metric,
}

impl RefKind {
    /// Every kind, in the order they are listed in help messages.
    pub const ALL: [RefKind; 4] = [
        RefKind::Dimension,
        RefKind::TimeDimension,
        RefKind::Entity,
        RefKind::Metric,
    ];

    /// The function that creates a reference of this kind in Jinja syntax.
    pub fn function_name(self) -> &'static str {
        match self {
            RefKind::Dimension => "Dimension",
            RefKind::TimeDimension => "TimeDimension",
            RefKind::Entity => "Entity",
            RefKind::Metric => "Metric",
        }
    }

    fn from_function_name(name: &str) -> Option<RefKind> {
        RefKind::ALL.into_iter().find(|k| k.function_name() == name)
    }

    /// A call that shows how the function is used, for help lines.
    fn example(self) -> &'static str {
        match self {
            RefKind::Dimension => "Dimension('booking__is_instant')",
            RefKind::TimeDimension => "TimeDimension('metric_time', 'month')",
            RefKind::Entity => "Entity('listing')",
            RefKind::Metric => "Metric('bookings', group_by=['listing'])",
        }
    }
}

/// A reference to a semantic object, from `{{ Dimension('...') }}` in a filter, a group-by item or
/// an order item. Names are as written: `name` may be a dunder path (`listing__country_latest`) and
/// `entity_path` holds the links given with `entity_path=[...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub kind: RefKind,
    pub name: String,
    pub entity_path: Vec<String>,
    /// A time granularity, lower-cased (`.grain('month')`, `TimeDimension('x', 'month')`).
    pub grain: Option<String>,
    /// A date part, lower-cased (`.date_part('year')`, `date_part_name='year'`, `x__extract_year`).
    pub date_part: Option<String>,
    /// The group-by items of a `Metric(...)` reference, as written; empty for other kinds.
    pub group_by: Vec<String>,
    /// The same items parsed as group-by items ([`parse_group_by`]) when the reference is
    /// parsed, one per item, their spans exact in the file.
    pub group_by_items: Vec<Reference>,
    /// The whole reference: `Dimension('x').grain('day')` without the surrounding `{{ }}`.
    pub span: Span,
}

impl Reference {
    /// A reference with only a kind and a name.
    pub fn new(kind: RefKind, name: impl Into<String>, span: Span) -> Reference {
        Reference {
            kind,
            name: name.into(),
            entity_path: Vec::new(),
            grain: None,
            date_part: None,
            group_by: Vec::new(),
            group_by_items: Vec::new(),
            span,
        }
    }
}

/// Writes the reference in canonical Jinja object syntax, for messages.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(items: &[String]) -> String {
            let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
            format!("[{}]", quoted.join(", "))
        }
        write!(f, "{}('{}'", self.kind.function_name(), self.name)?;
        if !self.entity_path.is_empty() {
            write!(f, ", entity_path={}", list(&self.entity_path))?;
        }
        if !self.group_by.is_empty() {
            write!(f, ", group_by={}", list(&self.group_by))?;
        }
        f.write_str(")")?;
        if let Some(g) = &self.grain {
            write!(f, ".grain('{g}')")?;
        }
        if let Some(p) = &self.date_part {
            write!(f, ".date_part('{p}')")?;
        }
        Ok(())
    }
}

/// The time granularities every engine knows. A dunder name ending in one of these may mean "this
/// time dimension at this grain"; [`DunderName::trailing_grain`] finds it, the resolver decides.
pub const STANDARD_GRAINS: [&str; 11] = [
    "nanosecond",
    "microsecond",
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
];

/// A dunder name (`listing__user__home_state_latest`) split on `__`, not yet interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DunderName {
    pub parts: Vec<String>,
}

impl DunderName {
    pub fn parse(name: &str) -> DunderName {
        DunderName {
            parts: split_dunder(name),
        }
    }

    /// The last part if it is a standard time granularity and something precedes it
    /// (`metric_time__month` -> `month`; `month` alone -> None).
    pub fn trailing_grain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [_, .., last] if STANDARD_GRAINS.contains(&last.as_str()) => Some(last),
            _ => None,
        }
    }
}

/// Split a dunder name on `__`: `listing__country_latest` -> `["listing", "country_latest"]`.
pub fn split_dunder(name: &str) -> Vec<String> {
    name.split("__").map(str::to_string).collect()
}

/// The string being parsed and the span of all of it.
struct Src<'a> {
    text: &'a str,
    loc: &'a Located,
}

impl Src<'_> {
    fn sub(&self, start: usize, end: usize) -> Span {
        self.loc.sub(start, end)
    }

    fn err(
        &self,
        start: usize,
        end: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(codes::EXPRESSION, message)
            .at(self.sub(start, end))
            .with_label(label)
            .with_help(help)
    }
}

/// The byte range of `text[start..end]` without surrounding whitespace.
fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead == s.len() {
        (start, start)
    } else {
        (start + lead, end - trail)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests;
