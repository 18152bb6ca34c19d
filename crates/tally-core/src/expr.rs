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

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_until, take_while};
use nom::character::complete::{char, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::{IResult, Parser};

use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::source::Span;

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
    /// The group-by items of a `Metric(...)` reference; empty for other kinds.
    pub group_by: Vec<String>,
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
    span: Span,
}

impl Src<'_> {
    fn sub(&self, start: usize, end: usize) -> Span {
        self.span.sub(start, end)
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

// ----- where-filters ---------------------------------------------------------------------------

/// A parsed where-filter: SQL text with references in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
    pub span: Span,
}

impl Template {
    /// The references in the order they appear.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(r) => Some(r),
            Segment::Sql { .. } => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// SQL text outside `{{ }}`, verbatim.
    Sql { text: String, span: Span },
    /// One `{{ ... }}`.
    Ref(Reference),
}

/// Parse a where-filter written in MetricFlow's Jinja syntax, such as
/// `{{ Dimension('booking__is_instant') }} AND {{ TimeDimension('metric_time', 'day') }} >= '2024-01-01'`.
pub fn parse_filter(text: &str, span: Span) -> Result<Template, Diagnostic> {
    let src = Src { text, span };
    let mut segments = Vec::new();
    // Start of the SQL text not yet pushed, and whether a `-}}` asked to trim its leading space.
    let mut sql_start = 0;
    let mut trim_next = false;
    let mut pos = 0;
    while let Some(rel) = text[pos..].find('{') {
        let open = pos + rel;
        let kind = text[open + 1..].chars().next();
        if !matches!(kind, Some('{' | '%' | '#')) {
            pos = open + 1;
            continue;
        }
        let trim_left = text[open + 2..].starts_with('-');
        push_sql(&mut segments, &src, sql_start, open, trim_next, trim_left);
        match kind {
            Some('#') => {
                let Some(rel_close) = text[open + 2..].find("#}") else {
                    return Err(src.err(
                        open,
                        open + 2,
                        "unterminated Jinja comment",
                        "this `{#` is never closed",
                        "close the comment with `#}`",
                    ));
                };
                let close = open + 2 + rel_close;
                trim_next = close > open + 2 && text[..close].ends_with('-');
                pos = close + 2;
            }
            Some('%') => {
                let end = text[open + 2..]
                    .find("%}")
                    .map_or(open + 2, |r| open + 2 + r + 2);
                return Err(src.err(
                    open,
                    end,
                    "Jinja statements (`{% ... %}`) are not supported in filters",
                    "not supported",
                    "write the condition in SQL (AND, OR, CASE WHEN) around `{{ ... }}` references; \
                     a list of filters is combined with AND",
                ));
            }
            _ => {
                let inner = open + 2 + usize::from(trim_left);
                let lexed = lex_jinja(&src, inner)?;
                if !lexed.closed {
                    return Err(src.err(
                        open,
                        open + 2,
                        "unterminated `{{`",
                        "this `{{` is never closed",
                        "close the reference with `}}`, as in {{ Dimension('booking__is_instant') }}",
                    ));
                }
                let close = lexed
                    .toks
                    .last()
                    .map_or((inner, inner), |t| (t.start, t.end));
                if lexed.toks.len() == 1 {
                    return Err(src.err(
                        open,
                        close.1,
                        "empty `{{ }}`",
                        "nothing to refer to",
                        "put one reference inside, as in {{ Dimension('booking__is_instant') }}",
                    ));
                }
                let mut p = JParser::new(&src, &lexed.toks, Ctx::Filter);
                let obj = p.parse_object()?;
                if let Some(t) = p.peek() {
                    if t.kind != JKind::Close {
                        return Err(src.err(
                            t.start,
                            t.end,
                            format!("unexpected {} in `{{{{ }}}}`", p.describe(t)),
                            "expected `}}`",
                            "a `{{ ... }}` holds one reference; write comparisons in SQL outside it, \
                             as in {{ Dimension('listing__country') }} = 'US'",
                        ));
                    }
                }
                segments.push(Segment::Ref(obj.reference));
                trim_next = src.text[close.0..close.1].starts_with('-');
                pos = close.1;
            }
        }
        sql_start = pos;
    }
    push_sql(&mut segments, &src, sql_start, text.len(), trim_next, false);
    Ok(Template { segments, span })
}

fn push_sql(
    segments: &mut Vec<Segment>,
    src: &Src<'_>,
    mut start: usize,
    mut end: usize,
    trim_start: bool,
    trim_end: bool,
) {
    if trim_start {
        let s = &src.text[start..end];
        start += s.len() - s.trim_start().len();
    }
    if trim_end {
        let s = &src.text[start..end];
        end -= s.len() - s.trim_end().len();
    }
    if start < end {
        segments.push(Segment::Sql {
            text: src.text[start..end].to_string(),
            span: src.sub(start, end),
        });
    }
}

/// Substitute each reference with the SQL `resolve` returns for it. The first error stops.
pub fn render_filter(
    t: &Template,
    resolve: &mut dyn FnMut(&Reference) -> Result<String, Diagnostic>,
) -> Result<String, Diagnostic> {
    let mut out = String::new();
    for s in &t.segments {
        match s {
            Segment::Sql { text, .. } => out.push_str(text),
            Segment::Ref(r) => out.push_str(&resolve(r)?),
        }
    }
    Ok(out)
}

// ----- group-by and order items ----------------------------------------------------------------

/// Parse a group-by item as written on the command line or in a saved query: a dunder name
/// (`metric_time__month`, `listing__country_latest`, `metric_time__extract_year`), an object
/// (`TimeDimension('metric_time', 'month')`) or an object in `{{ }}`.
pub fn parse_group_by(text: &str, span: Span) -> Result<Reference, Diagnostic> {
    let src = Src { text, span };
    let (start, end) = trim_range(text, 0, text.len());
    if start == end {
        return Err(src.err(
            0,
            text.len(),
            "empty group-by item",
            "expected a name",
            "write a name such as `metric_time__month` or an object such as TimeDimension('metric_time', 'month')",
        ));
    }
    parse_item(&src, start, end, Ctx::GroupBy).map(|o| o.reference)
}

/// Parse an order item: a group-by item or metric name, descending with a leading `-`
/// (`-metric_time__day`, `-bookings`) or with `.descending(True)` on an object. Returns the reference
/// and whether the order is descending.
pub fn parse_order_item(text: &str, span: Span) -> Result<(Reference, bool), Diagnostic> {
    let src = Src { text, span };
    let (mut start, end) = trim_range(text, 0, text.len());
    if start == end {
        return Err(src.err(
            0,
            text.len(),
            "empty order item",
            "expected a name",
            "write a metric or group-by item, with a leading `-` to sort descending: `-bookings`",
        ));
    }
    let minus = text[start..end].starts_with('-');
    if minus {
        let minus_at = start;
        (start, _) = trim_range(text, start + 1, end);
        if start == end {
            return Err(src.err(
                minus_at,
                end,
                "`-` without a name",
                "expected a name after `-`",
                "write the item after the `-`, as in `-bookings`",
            ));
        }
    }
    let obj = parse_item(&src, start, end, Ctx::OrderBy)?;
    let descending = match (minus, obj.descending) {
        (true, Some(_)) => {
            return Err(src.err(
                obj.descending_at.0,
                obj.descending_at.1,
                "the order is given both by `-` and by `descending`",
                "remove this or the leading `-`",
                "use either a leading `-` or `.descending(True)`, not both",
            ))
        }
        (true, None) => true,
        (false, d) => d.unwrap_or(false),
    };
    Ok((obj.reference, descending))
}

/// A group-by or order item in `text[start..end]` (already trimmed, not empty).
fn parse_item(src: &Src<'_>, start: usize, end: usize, ctx: Ctx) -> Result<Obj, Diagnostic> {
    let body = &src.text[start..end];
    if let Some(inner) = body.strip_prefix("{{") {
        let trim_left = inner.starts_with('-');
        let lexed = lex_jinja(src, start + 2 + usize::from(trim_left))?;
        if !lexed.closed {
            return Err(src.err(
                start,
                start + 2,
                "unterminated `{{`",
                "this `{{` is never closed",
                "close the reference with `}}`, or write it without braces: TimeDimension('metric_time', 'month')",
            ));
        }
        if lexed.toks.len() == 1 {
            return Err(src.err(
                start,
                lexed.toks[0].end,
                "empty `{{ }}`",
                "nothing to refer to",
                "put one reference inside, as in {{ Dimension('listing__country') }}",
            ));
        }
        let mut p = JParser::new(src, &lexed.toks, ctx);
        let obj = p.parse_object()?;
        let close_end = match p.peek() {
            Some(t) if t.kind == JKind::Close => t.end,
            Some(t) => {
                return Err(src.err(
                    t.start,
                    t.end,
                    format!("unexpected {} after the reference", p.describe(t)),
                    "expected `}}`",
                    "an item holds one reference, as in {{ Dimension('listing__country') }}",
                ))
            }
            None => end,
        };
        if close_end < end {
            let (extra_start, extra_end) = trim_range(src.text, close_end, end);
            return Err(src.err(
                extra_start,
                extra_end,
                "unexpected text after `}}`",
                "not part of the item",
                "an item holds one reference; put other items in separate entries",
            ));
        }
        return Ok(obj);
    }
    if looks_like_call(body) {
        let lexed = lex_jinja(src, start)?;
        let mut p = JParser::new(src, &lexed.toks, ctx);
        let obj = p.parse_object()?;
        if let Some(t) = p.peek() {
            return Err(src.err(
                t.start,
                t.end,
                format!("unexpected {} after the reference", p.describe(t)),
                "not part of the reference",
                "an item holds one reference; put other items in separate entries",
            ));
        }
        return Ok(obj);
    }
    parse_dunder(src, start, end).map(|reference| Obj {
        reference,
        descending: None,
        descending_at: (start, end),
    })
}

/// Whether `s` starts with an identifier followed by `(`: `Dimension(...)`, `Dimesion (...)`.
fn looks_like_call(s: &str) -> bool {
    let ident = s.len() - s.trim_start_matches(is_name_char).len();
    ident > 0 && s[ident..].trim_start().starts_with('(')
}

fn parse_dunder(src: &Src<'_>, start: usize, end: usize) -> Result<Reference, Diagnostic> {
    let s = &src.text[start..end];
    const HELP: &str = "write a name such as `metric_time__month` or `listing__country_latest`, \
                        or an object such as TimeDimension('metric_time', 'month')";
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| !is_name_char(c)) {
        let at = start + i;
        return Err(src.err(
            at,
            at + c.len_utf8(),
            format!("`{c}` is not allowed in the name `{s}`"),
            "not allowed in a name",
            HELP,
        ));
    }
    // Every part between `__` separators must be non-empty: `a____b`, `__a` and `a__` are typos.
    let mut offset = 0;
    for part in s.split("__") {
        if part.is_empty() {
            let at = start + offset.min(s.len().saturating_sub(2));
            return Err(src.err(
                at,
                (at + 2).min(end),
                format!("`{s}` has an empty part between `__` separators"),
                "empty part",
                "dunder names join names with exactly two underscores, as in `listing__country_latest`",
            ));
        }
        offset += part.len() + 2;
    }
    let mut reference = Reference::new(RefKind::Dimension, s, src.sub(start, end));
    if let Some(i) = s.rfind("__extract_") {
        let part = &s[i + "__extract_".len()..];
        if !part.contains("__") {
            if part.is_empty() {
                return Err(src.err(
                    start + i,
                    end,
                    format!("`{s}` has no date part after `__extract_`"),
                    "expected a date part",
                    "name the part, as in `metric_time__extract_year`",
                ));
            }
            reference.name = s[..i].to_string();
            reference.date_part = Some(part.to_ascii_lowercase());
        }
    }
    Ok(reference)
}

// ----- Jinja object syntax ---------------------------------------------------------------------

/// Where an object is written: the methods and arguments allowed differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Filter,
    GroupBy,
    OrderBy,
}

#[derive(Clone, Debug, PartialEq)]
enum JKind {
    Ident,
    Str(String),
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    /// `}}` or `-}}`.
    Close,
    /// Any other character; the parser reports it where it is unexpected.
    Other,
}

#[derive(Clone, Debug)]
struct JTok {
    kind: JKind,
    start: usize,
    end: usize,
}

struct Lexed {
    /// The tokens, ending with the `Close` token when `closed`.
    toks: Vec<JTok>,
    closed: bool,
}

fn j_ident(i: &str) -> IResult<&str, &str> {
    recognize((
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(is_name_char),
    ))
    .parse_complete(i)
}

/// Zero or more ASCII digits. Not nom's `digit0`: in nom 8.0.0 it returns a remainder that does not
/// point into the input when the digits run to the end, which breaks `recognize`.
fn digits0(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| c.is_ascii_digit()).parse_complete(i)
}

fn j_number(i: &str) -> IResult<&str, &str> {
    recognize((digit1, opt((char('.'), digits0)))).parse_complete(i)
}

/// A Jinja string literal in single or double quotes, with backslash escapes.
fn j_string(input: &str) -> IResult<&str, String> {
    let (mut rest, q) = one_of("'\"").parse_complete(input)?;
    let mut out = String::new();
    loop {
        let (r, chunk) = take_till(|c: char| c == q || c == '\\').parse_complete(rest)?;
        out.push_str(chunk);
        let (r, c) = one_of("'\"\\").parse_complete(r)?;
        if c == q {
            return Ok((r, out));
        }
        if c != '\\' {
            out.push(c);
            rest = r;
            continue;
        }
        let (r, e) = satisfy(|_: char| true).parse_complete(r)?;
        out.push(match e {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            other => other,
        });
        rest = r;
    }
}

fn j_token(i: &str) -> IResult<&str, JKind> {
    alt((
        value(JKind::Close, alt((tag("-}}"), tag("}}")))),
        j_string.map(JKind::Str),
        value(JKind::Ident, j_ident),
        value(JKind::Number, j_number),
        value(JKind::LParen, char('(')),
        value(JKind::RParen, char(')')),
        value(JKind::LBracket, char('[')),
        value(JKind::RBracket, char(']')),
        value(JKind::Comma, char(',')),
        value(JKind::Dot, char('.')),
        value(JKind::Eq, char('=')),
    ))
    .parse_complete(i)
}

/// Tokens from `start` up to and including the first `}}` outside a string, or to the end.
fn lex_jinja(src: &Src<'_>, start: usize) -> Result<Lexed, Diagnostic> {
    let text = src.text;
    let mut toks = Vec::new();
    let mut pos = start;
    loop {
        let rest = &text[pos..];
        pos += rest.len() - rest.trim_start().len();
        let rest = &text[pos..];
        let Some(first) = rest.chars().next() else {
            return Ok(Lexed {
                toks,
                closed: false,
            });
        };
        match j_token(rest) {
            Ok((r, kind)) => {
                let end = pos + rest.len() - r.len();
                // A name never contains `}}`: such a string most likely lacks its closing quote
                // and ran on to a later quote.
                if let (JKind::Str(_), Some(i)) = (&kind, text[pos..end].find("}}")) {
                    return Err(src.err(
                        pos,
                        pos + i,
                        "unterminated string",
                        "this string is not closed before `}}`",
                        format!("close the string with a matching {first}"),
                    ));
                }
                let close = kind == JKind::Close;
                toks.push(JTok {
                    kind,
                    start: pos,
                    end,
                });
                pos = end;
                if close {
                    return Ok(Lexed { toks, closed: true });
                }
            }
            Err(_) if first == '\'' || first == '"' => {
                return Err(src.err(
                    pos,
                    text.len(),
                    "unterminated string",
                    "this string is never closed",
                    format!("close the string with a matching {first}"),
                ));
            }
            Err(_) => {
                let end = pos + first.len_utf8();
                toks.push(JTok {
                    kind: JKind::Other,
                    start: pos,
                    end,
                });
                pos = end;
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Val {
    Str(String),
    List(Vec<(String, usize, usize)>),
    Bool(bool),
    None,
    Number,
}

#[derive(Clone, Debug)]
struct Value {
    val: Val,
    start: usize,
    end: usize,
}

#[derive(Clone, Debug)]
struct Arg {
    keyword: Option<(String, usize, usize)>,
    value: Value,
    start: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PTy {
    /// A required, non-empty name.
    Name,
    /// An optional word (a grain or a date part), or None.
    Word,
    /// A list of names, or None.
    List,
    /// True, False or None.
    Bool,
}

/// What each parameter of a function means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Grain,
    EntityPath,
    Descending,
    DatePart,
    GroupBy,
}

struct Param {
    name: &'static str,
    ty: PTy,
    field: Field,
}

const fn param(name: &'static str, ty: PTy, field: Field) -> Param {
    Param { name, ty, field }
}

const DIMENSION_PARAMS: &[Param] = &[
    param("name", PTy::Name, Field::Name),
    param("entity_path", PTy::List, Field::EntityPath),
];
const TIME_DIMENSION_PARAMS: &[Param] = &[
    param("time_dimension_name", PTy::Name, Field::Name),
    param("time_granularity_name", PTy::Word, Field::Grain),
    param("entity_path", PTy::List, Field::EntityPath),
    param("descending", PTy::Bool, Field::Descending),
    param("date_part_name", PTy::Word, Field::DatePart),
];
const ENTITY_PARAMS: &[Param] = &[
    param("entity_name", PTy::Name, Field::Name),
    param("entity_path", PTy::List, Field::EntityPath),
];
const METRIC_PARAMS: &[Param] = &[
    param("metric_name", PTy::Name, Field::Name),
    param("group_by", PTy::List, Field::GroupBy),
];

fn params_of(kind: RefKind) -> &'static [Param] {
    match kind {
        RefKind::Dimension => DIMENSION_PARAMS,
        RefKind::TimeDimension => TIME_DIMENSION_PARAMS,
        RefKind::Entity => ENTITY_PARAMS,
        RefKind::Metric => METRIC_PARAMS,
    }
}

/// The index of a keyword argument among a function's parameters. Older MetricFlow releases
/// called the first parameter of `Dimension` `dimension_name`; both are accepted.
fn keyword_index(kind: RefKind, keyword: &str) -> Option<usize> {
    if kind == RefKind::Dimension && keyword == "dimension_name" {
        return Some(0);
    }
    params_of(kind).iter().position(|p| p.name == keyword)
}

const METHODS: [&str; 3] = ["grain", "date_part", "descending"];

/// A parsed object with what only order items use.
struct Obj {
    reference: Reference,
    descending: Option<bool>,
    /// Where `descending` was given (the whole item when it was not).
    descending_at: (usize, usize),
}

struct JParser<'s, 'a> {
    src: &'s Src<'a>,
    toks: &'s [JTok],
    pos: usize,
    ctx: Ctx,
}

/// An object being built, with the places where its optional parts were set.
struct Builder {
    reference: Reference,
    grain_at: Option<(usize, usize)>,
    date_part_at: Option<(usize, usize)>,
    group_by_given: bool,
    descending: Option<bool>,
    descending_at: Option<(usize, usize)>,
}

impl<'s, 'a> JParser<'s, 'a> {
    fn new(src: &'s Src<'a>, toks: &'s [JTok], ctx: Ctx) -> Self {
        JParser {
            src,
            toks,
            pos: 0,
            ctx,
        }
    }

    fn peek(&self) -> Option<&'s JTok> {
        self.toks.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&'s JKind> {
        self.peek().map(|t| &t.kind)
    }

    fn text(&self, t: &JTok) -> &'a str {
        &self.src.text[t.start..t.end]
    }

    fn describe(&self, t: &JTok) -> String {
        match t.kind {
            JKind::Close => "`}}`".to_string(),
            JKind::Str(_) => format!("the string {}", self.text(t)),
            _ => format!("`{}`", self.text(t)),
        }
    }

    /// An error at the current token (or just after the last one): `what` was expected.
    fn expected(&self, what: &str, help: impl Into<String>) -> Diagnostic {
        match self.peek() {
            Some(t) => self.src.err(
                t.start,
                t.end,
                format!("expected {what}, found {}", self.describe(t)),
                format!("expected {what}"),
                help,
            ),
            None => {
                let (s, e) = self
                    .toks
                    .last()
                    .map_or((self.src.text.len(), self.src.text.len()), |t| {
                        (t.start, t.end)
                    });
                self.src.err(
                    s,
                    e,
                    format!("expected {what} at the end"),
                    format!("expected {what} after this"),
                    help,
                )
            }
        }
    }

    fn eat(&mut self, kind: &JKind) -> Option<&'s JTok> {
        let t = self.peek()?;
        if &t.kind == kind {
            self.pos += 1;
            Some(t)
        } else {
            None
        }
    }

    fn parse_object(&mut self) -> Result<Obj, Diagnostic> {
        const FORMS: &str =
            "refer to Dimension('...'), TimeDimension('...', 'grain'), Entity('...') or \
                             Metric('...', group_by=['...'])";
        let head = match self.peek() {
            Some(t) if t.kind == JKind::Ident => t,
            _ => return Err(self.expected("a reference such as Dimension('...')", FORMS)),
        };
        let fname = self.text(head);
        let called = matches!(self.toks.get(self.pos + 1), Some(t) if t.kind == JKind::LParen);
        let Some(kind) = RefKind::from_function_name(fname) else {
            let names = RefKind::ALL.map(RefKind::function_name);
            let mut d = if called {
                self.src.err(
                    head.start,
                    head.end,
                    format!("unknown function `{fname}`"),
                    "not a known reference function",
                    FORMS,
                )
            } else {
                self.src.err(
                    head.start,
                    head.end,
                    format!("`{fname}` is not a reference"),
                    "expected Dimension(...), TimeDimension(...), Entity(...) or Metric(...)",
                    format!(
                        "write the name as a string inside a reference, as in Dimension('{fname}')"
                    ),
                )
            };
            if called {
                if let Some(s) = did_you_mean(fname, names) {
                    // The likely fix goes before the general advice.
                    d.help.insert(0, format!("did you mean `{s}`?"));
                }
            }
            return Err(d);
        };
        self.pos += 1;
        if self.eat(&JKind::LParen).is_none() {
            return Err(self.expected(
                &format!("`(` after `{fname}`"),
                format!("call it, as in {}", kind.example()),
            ));
        }
        let (args, close_end) = self.parse_args(kind.function_name(), kind.example())?;
        let mut b = Builder {
            reference: Reference::new(kind, String::new(), Span::DUMMY),
            grain_at: None,
            date_part_at: None,
            group_by_given: false,
            descending: None,
            descending_at: None,
        };
        self.bind(kind, head, close_end, &args, &mut b)?;
        let mut end = close_end;
        while self.eat(&JKind::Dot).is_some() {
            end = self.parse_method(&mut b)?;
        }
        self.finish(head.start, end, b)
    }

    /// Arguments after `(` up to and including `)`; returns them and the end of the `)`.
    fn parse_args(&mut self, callee: &str, example: &str) -> Result<(Vec<Arg>, usize), Diagnostic> {
        let mut args = Vec::new();
        loop {
            if let Some(t) = self.eat(&JKind::RParen) {
                return Ok((args, t.end));
            }
            let Some(first) = self.peek() else {
                return Err(self.expected(
                    &format!("`)` to close the call of `{callee}`"),
                    format!("close the call, as in {example}"),
                ));
            };
            let keyword = match (first.kind.clone(), self.toks.get(self.pos + 1)) {
                (JKind::Ident, Some(eq)) if eq.kind == JKind::Eq => {
                    self.pos += 2;
                    Some((self.text(first).to_string(), first.start, first.end))
                }
                _ => None,
            };
            let value = self.parse_value(example)?;
            args.push(Arg {
                keyword,
                value,
                start: first.start,
            });
            if self.eat(&JKind::Comma).is_some() {
                continue;
            }
            if let Some(t) = self.eat(&JKind::RParen) {
                return Ok((args, t.end));
            }
            return Err(self.expected(
                &format!("`,` or `)` in the call of `{callee}`"),
                format!("separate arguments with commas and close the call, as in {example}"),
            ));
        }
    }

    fn parse_value(&mut self, example: &str) -> Result<Value, Diagnostic> {
        let Some(t) = self.peek() else {
            return Err(self.expected("a value", format!("as in {example}")));
        };
        let single = |val| Value {
            val,
            start: t.start,
            end: t.end,
        };
        let v = match &t.kind {
            JKind::Str(s) => single(Val::Str(s.clone())),
            JKind::Number => single(Val::Number),
            JKind::Ident => match self.text(t) {
                "True" | "true" => single(Val::Bool(true)),
                "False" | "false" => single(Val::Bool(false)),
                "None" | "none" => single(Val::None),
                other => {
                    return Err(self.src.err(
                        t.start,
                        t.end,
                        format!("expected a quoted name, found `{other}`"),
                        "not quoted",
                        format!("names are strings: write '{other}'"),
                    ))
                }
            },
            JKind::LBracket | JKind::LParen => {
                let closer = if t.kind == JKind::LBracket {
                    JKind::RBracket
                } else {
                    JKind::RParen
                };
                self.pos += 1;
                return self.parse_list(t.start, &closer);
            }
            _ => {
                return Err(self.expected(
                    "a value",
                    format!("arguments are quoted names, lists of names, True, False or None, as in {example}"),
                ))
            }
        };
        self.pos += 1;
        Ok(v)
    }

    /// The items of a list after its opening bracket, up to and including `closer`.
    fn parse_list(&mut self, start: usize, closer: &JKind) -> Result<Value, Diagnostic> {
        let close_text = if *closer == JKind::RBracket { "]" } else { ")" };
        let mut items = Vec::new();
        loop {
            if let Some(t) = self.eat(closer) {
                return Ok(Value {
                    val: Val::List(items),
                    start,
                    end: t.end,
                });
            }
            match self.peek() {
                Some(JTok {
                    kind: JKind::Str(s),
                    start,
                    end,
                }) => {
                    items.push((s.clone(), *start, *end));
                    self.pos += 1;
                }
                _ => {
                    return Err(self.expected(
                        "a quoted name in the list",
                        "a list holds quoted names, as in ['listing', 'user']",
                    ))
                }
            }
            if self.eat(&JKind::Comma).is_none() && self.peek_kind() != Some(closer) {
                return Err(self.expected(
                    &format!("`,` or `{close_text}` in the list"),
                    "separate names with commas, as in ['listing', 'user']",
                ));
            }
        }
    }

    /// Assign the arguments of a call to the parameters of `kind`.
    fn bind(
        &self,
        kind: RefKind,
        head: &JTok,
        close_end: usize,
        args: &[Arg],
        b: &mut Builder,
    ) -> Result<(), Diagnostic> {
        let params = params_of(kind);
        let fname = kind.function_name();
        let signature = params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        let mut slots: Vec<Option<&Arg>> = vec![None; params.len()];
        let mut positional = 0;
        let mut seen_keyword = false;
        for a in args {
            let idx = match &a.keyword {
                None => {
                    if seen_keyword {
                        return Err(self.src.err(
                            a.value.start,
                            a.value.end,
                            "positional argument after a keyword argument",
                            "positional argument",
                            format!("give it by keyword, or move it before the keyword arguments: {fname}({signature})"),
                        ));
                    }
                    if positional >= params.len() {
                        return Err(self.src.err(
                            a.value.start,
                            a.value.end,
                            format!("too many arguments to `{fname}`"),
                            "unexpected argument",
                            format!("`{fname}` takes {fname}({signature})"),
                        ));
                    }
                    positional += 1;
                    positional - 1
                }
                Some((kw, ks, ke)) => {
                    seen_keyword = true;
                    match keyword_index(kind, kw) {
                        Some(i) => i,
                        None => {
                            let mut d = self.src.err(
                                *ks,
                                *ke,
                                format!("`{fname}` has no parameter `{kw}`"),
                                "unknown parameter",
                                format!("`{fname}` takes {fname}({signature})"),
                            );
                            if let Some(s) = did_you_mean(kw, params.iter().map(|p| p.name)) {
                                // The likely fix goes before the general advice.
                                d.help.insert(0, format!("did you mean `{s}`?"));
                            }
                            return Err(d);
                        }
                    }
                }
            };
            if let Some(prev) = slots[idx] {
                return Err(self
                    .src
                    .err(
                        a.start,
                        a.value.end,
                        format!("`{}` is given twice", params[idx].name),
                        "given again here",
                        "give each argument once",
                    )
                    .with_secondary(self.src.sub(prev.start, prev.value.end), "first given here"));
            }
            slots[idx] = Some(a);
        }
        for (p, slot) in params.iter().zip(slots) {
            let Some(a) = slot else {
                if p.ty == PTy::Name {
                    return Err(self.src.err(
                        head.start,
                        close_end,
                        format!("`{fname}` needs a name"),
                        format!("missing `{}`", p.name),
                        format!("name what it refers to, as in {}", kind.example()),
                    ));
                }
                continue;
            };
            let v = &a.value;
            let at = (v.start, v.end);
            match p.field {
                Field::Name => b.reference.name = self.want_name(v, p.name)?,
                Field::Grain => {
                    b.reference.grain = self.want_word(v, p.name)?;
                    b.grain_at = b.reference.grain.as_ref().map(|_| at);
                }
                Field::DatePart => {
                    b.reference.date_part = self.want_word(v, p.name)?;
                    b.date_part_at = b.reference.date_part.as_ref().map(|_| at);
                }
                Field::EntityPath => b.reference.entity_path = self.want_list(v, p.name)?,
                Field::GroupBy => {
                    b.reference.group_by = self.want_list(v, p.name)?;
                    b.group_by_given = !b.reference.group_by.is_empty();
                }
                Field::Descending => {
                    b.descending = self.want_bool(v, p.name)?;
                    b.descending_at = b.descending.map(|_| (a.start, v.end));
                }
            }
        }
        Ok(())
    }

    fn check_name(&self, s: &str, start: usize, end: usize, what: &str) -> Result<(), Diagnostic> {
        if s.is_empty() {
            return Err(self.src.err(
                start,
                end,
                format!("`{what}` is empty"),
                "empty name",
                "write a name such as 'booking__is_instant'",
            ));
        }
        if let Some(c) = s.chars().find(|&c| !is_name_char(c)) {
            return Err(self.src.err(
                start,
                end,
                format!("`{c}` is not allowed in the name '{s}'"),
                "not a valid name",
                "names are letters, digits and underscores, with `__` between entity links, \
                 as in 'listing__country_latest'",
            ));
        }
        Ok(())
    }

    fn want_name(&self, v: &Value, what: &str) -> Result<String, Diagnostic> {
        match &v.val {
            Val::Str(s) => {
                self.check_name(s, v.start, v.end, what)?;
                Ok(s.clone())
            }
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a quoted name"),
                "not a name",
                "write the name in quotes, as in 'booking__is_instant'",
            )),
        }
    }

    fn want_word(&self, v: &Value, what: &str) -> Result<Option<String>, Diagnostic> {
        match &v.val {
            Val::Str(s) => {
                self.check_name(s, v.start, v.end, what)?;
                Ok(Some(s.to_ascii_lowercase()))
            }
            Val::None => Ok(None),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a quoted name or None"),
                "not a name",
                "write it in quotes, as in 'month' or 'year'",
            )),
        }
    }

    fn want_list(&self, v: &Value, what: &str) -> Result<Vec<String>, Diagnostic> {
        match &v.val {
            Val::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (s, start, end) in items {
                    self.check_name(s, *start, *end, what)?;
                    out.push(s.clone());
                }
                Ok(out)
            }
            Val::None => Ok(Vec::new()),
            Val::Str(s) => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a list of names, not a string"),
                "a string, not a list",
                format!("put it in a list: ['{s}']"),
            )),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a list of names"),
                "not a list",
                "write a list of quoted names, as in ['listing', 'user']",
            )),
        }
    }

    fn want_bool(&self, v: &Value, what: &str) -> Result<Option<bool>, Diagnostic> {
        match &v.val {
            Val::Bool(b) => Ok(Some(*b)),
            Val::None => Ok(None),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be True or False"),
                "not a boolean",
                "write True or False",
            )),
        }
    }

    /// One `.method(...)` after the `.`; returns the end of its `)`.
    fn parse_method(&mut self, b: &mut Builder) -> Result<usize, Diagnostic> {
        const HELP: &str =
            "the methods are .grain('month'), .date_part('year') and .descending(True)";
        let t = match self.peek() {
            Some(t) if t.kind == JKind::Ident => t,
            _ => return Err(self.expected("a method name after `.`", HELP)),
        };
        let name = self.text(t);
        let kind = b.reference.kind;
        let fname = kind.function_name();
        if !METHODS.contains(&name) {
            let mut d = self.src.err(
                t.start,
                t.end,
                format!("unknown method `{name}`"),
                "not a known method",
                HELP,
            );
            if let Some(s) = did_you_mean(name, METHODS) {
                // The likely fix goes before the general advice.
                d.help.insert(0, format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
        let timely = matches!(kind, RefKind::Dimension | RefKind::TimeDimension);
        if name != "descending" && !timely {
            return Err(self.src.err(
                t.start,
                t.end,
                format!("`.{name}()` can't be used with `{fname}`"),
                "not allowed here",
                format!("only Dimension and TimeDimension have a time granularity and date parts; `{fname}` has neither"),
            ));
        }
        if name == "descending" && self.ctx != Ctx::OrderBy && kind != RefKind::Dimension {
            return Err(self.src.err(
                t.start,
                t.end,
                format!("`.descending()` can't be used with `{fname}` here"),
                "only order items have a direction",
                "sort with the query's order_by, as in `-bookings` or Metric('bookings').descending(True)",
            ));
        }
        self.pos += 1;
        let method_start = t.start;
        if self.eat(&JKind::LParen).is_none() {
            return Err(self.expected(
                &format!("`(` after `{name}`"),
                format!("call it, as in .{name}({})", method_example(name)),
            ));
        }
        let example = format!(".{name}({})", method_example(name));
        let (args, end) = self.parse_args(name, &example)?;
        let keyword = match name {
            "grain" => "time_granularity",
            "date_part" => "date_part_name",
            _ => "_is_descending",
        };
        let arg = match args.as_slice() {
            [a] => a,
            [] => {
                return Err(self.src.err(
                    method_start,
                    end,
                    format!("`.{name}()` needs one argument"),
                    "missing argument",
                    format!("give it, as in {example}"),
                ))
            }
            [_, extra, ..] => {
                return Err(self.src.err(
                    extra.start,
                    extra.value.end,
                    format!("`.{name}()` takes one argument"),
                    "unexpected argument",
                    format!("give one, as in {example}"),
                ))
            }
        };
        if let Some((kw, ks, ke)) = &arg.keyword {
            if kw != keyword {
                return Err(self.src.err(
                    *ks,
                    *ke,
                    format!("`.{name}()` has no parameter `{kw}`"),
                    "unknown parameter",
                    format!("pass the value alone, as in {example}"),
                ));
            }
        }
        let here = (method_start, end);
        match name {
            "grain" => {
                let g = self.want_word(&arg.value, "time_granularity")?;
                if let Some(prev) = b.grain_at {
                    return Err(self.already_set(here, prev, "time granularity"));
                }
                b.grain_at = g.as_ref().map(|_| here);
                b.reference.grain = g;
            }
            "date_part" => {
                let p = self.want_word(&arg.value, "date_part_name")?;
                if let Some(prev) = b.date_part_at {
                    return Err(self.already_set(here, prev, "date part"));
                }
                b.date_part_at = p.as_ref().map(|_| here);
                b.reference.date_part = p;
            }
            _ => {
                let d = self.want_bool(&arg.value, keyword)?;
                if let Some(prev) = b.descending_at {
                    return Err(self.already_set(here, prev, "direction"));
                }
                b.descending_at = d.map(|_| here);
                b.descending = d;
            }
        }
        Ok(end)
    }

    fn already_set(&self, here: (usize, usize), prev: (usize, usize), what: &str) -> Diagnostic {
        self.src
            .err(
                here.0,
                here.1,
                format!("the {what} is already set"),
                "set again here",
                format!("set the {what} once"),
            )
            .with_secondary(self.src.sub(prev.0, prev.1), "first set here")
    }

    fn finish(&self, start: usize, end: usize, mut b: Builder) -> Result<Obj, Diagnostic> {
        let r = &mut b.reference;
        r.span = self.src.sub(start, end);
        if r.kind == RefKind::Metric && self.ctx == Ctx::Filter && !b.group_by_given {
            return Err(self.src.err(
                start,
                end,
                format!("`Metric('{}')` in a filter needs `group_by`", r.name),
                "missing group_by",
                format!(
                    "say what to aggregate the metric by, as in Metric('{}', group_by=['listing'])",
                    r.name
                ),
            ));
        }
        // MetricFlow takes a standard grain suffix of the name as the grain; a different grain given
        // as well is a contradiction, the same grain given twice is harmless.
        if let (Some(g), Some(at)) = (r.grain.clone(), b.grain_at) {
            if r.kind != RefKind::Entity {
                let d = DunderName::parse(&r.name);
                if let Some(suffix) = d.trailing_grain() {
                    if suffix != g {
                        return Err(self
                            .src
                            .err(
                                at.0,
                                at.1,
                                format!(
                                    "`{}` ends in the granularity `{suffix}` but `{g}` is given too",
                                    r.name
                                ),
                                "a different granularity",
                                format!(
                                    "remove the `__{suffix}` suffix from the name and give the granularity once"
                                ),
                            )
                            .with_secondary(r.span, "in this reference"));
                    }
                    let keep = r.name.len() - suffix.len() - 2;
                    r.name.truncate(keep);
                }
            }
        }
        let descending_at = b.descending_at.unwrap_or((start, end));
        Ok(Obj {
            reference: b.reference,
            descending: if self.ctx == Ctx::OrderBy {
                b.descending
            } else {
                None
            },
            descending_at,
        })
    }
}

fn method_example(name: &str) -> &'static str {
    match name {
        "grain" => "'month'",
        "date_part" => "'year'",
        _ => "True",
    }
}

// ----- derived-metric formulas -----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A name, plain (`bookings`) or quoted (`"bookings"`, `` `bookings` ``).
    Ident,
    Number,
    /// A string literal in single quotes.
    String,
    Op,
    LParen,
    RParen,
    Comma,
    /// Spaces, newlines and `/* */` comments.
    Whitespace,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// The text exactly as written (quotes included).
    pub text: String,
    pub span: Span,
}

impl Token {
    /// Whether this is a quoted identifier.
    pub fn is_quoted(&self) -> bool {
        self.kind == TokenKind::Ident && (self.text.starts_with('"') || self.text.starts_with('`'))
    }

    /// The name an identifier refers to: the text without quotes (doubled quotes undone).
    pub fn name(&self) -> String {
        if !self.is_quoted() || self.text.len() < 2 {
            return self.text.clone();
        }
        let q = &self.text[..1];
        self.text[1..self.text.len() - 1].replace(&q.repeat(2), q)
    }
}

/// A derived metric's formula as tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    pub tokens: Vec<Token>,
    pub span: Span,
}

/// Words that are SQL syntax, not names, in an expression. Compared case-insensitively.
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "AT",
    "BETWEEN",
    "BIGINT",
    "BOOL",
    "BOOLEAN",
    "BY",
    "CASE",
    "CAST",
    "CHAR",
    "COLLATE",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATE",
    "DECIMAL",
    "DESC",
    "DISTINCT",
    "DOUBLE",
    "ELSE",
    "END",
    "ESCAPE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FILTER",
    "FLOAT",
    "FOLLOWING",
    "FROM",
    "HUGEINT",
    "ILIKE",
    "IN",
    "INT",
    "INTEGER",
    "INTERVAL",
    "IS",
    "ISNULL",
    "LIKE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "NOT",
    "NOTNULL",
    "NULL",
    "NULLS",
    "NUMERIC",
    "OR",
    "ORDER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "PRECISION",
    "RANGE",
    "REAL",
    "ROW",
    "ROWS",
    "SIMILAR",
    "SMALLINT",
    "SOME",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TINYINT",
    "TRUE",
    "UNBOUNDED",
    "UNKNOWN",
    "VARCHAR",
    "WHEN",
    "WITH",
    "WITHIN",
    "WITHOUT",
    "ZONE",
];

/// Whether `word` is SQL syntax rather than a name (case-insensitive).
pub fn is_sql_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Formula {
    /// The identifiers that name inputs, in order: not keywords, functions, types, fields or units.
    pub fn identifiers(&self) -> impl Iterator<Item = &Token> {
        let flags = self.input_flags();
        self.tokens
            .iter()
            .zip(flags)
            .filter_map(|(t, is_input)| is_input.then_some(t))
    }

    /// For each token, whether it is an identifier naming an input.
    pub(crate) fn input_flags(&self) -> Vec<bool> {
        // Indices of the tokens that are not whitespace, to look at neighbours.
        let sig: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| self.tokens[i].kind != TokenKind::Whitespace)
            .collect();
        let mut flags = vec![false; self.tokens.len()];
        for (k, &i) in sig.iter().enumerate() {
            let t = &self.tokens[i];
            if t.kind != TokenKind::Ident {
                continue;
            }
            let at = |d: isize| -> Option<&Token> {
                let j = k.checked_add_signed(d)?;
                sig.get(j).map(|&j| &self.tokens[j])
            };
            let is_word = |t: Option<&Token>, w: &str| {
                t.is_some_and(|t| {
                    t.kind == TokenKind::Ident && !t.is_quoted() && t.text.eq_ignore_ascii_case(w)
                })
            };
            let is_op = |t: Option<&Token>, op: &str| {
                t.is_some_and(|t| t.kind == TokenKind::Op && t.text == op)
            };
            let next = at(1);
            let prev = at(-1);
            if next.is_some_and(|n| n.kind == TokenKind::LParen) {
                continue; // A function call.
            }
            if is_op(prev, ".") || is_op(prev, "::") || is_op(next, ".") {
                continue; // A field, a type or a qualifier.
            }
            if !t.is_quoted() {
                if is_sql_keyword(&t.text) || is_word(prev, "AS") {
                    continue; // Syntax, or a type name in CAST(x AS type).
                }
                let prev_is_lparen = prev.is_some_and(|p| p.kind == TokenKind::LParen);
                if prev_is_lparen && is_word(at(-2), "EXTRACT") {
                    continue; // EXTRACT(unit FROM x).
                }
                let prev_is_literal =
                    prev.is_some_and(|p| matches!(p.kind, TokenKind::Number | TokenKind::String));
                if prev_is_literal && is_word(at(-2), "INTERVAL") {
                    continue; // INTERVAL '1' unit.
                }
            }
            flags[i] = true;
        }
        flags
    }
}

type Res<'a, T> = IResult<&'a str, T>;

/// A quoted run with doubled-quote escapes: `'it''s'`, `"a""b"`.
fn quoted(q: char) -> impl Fn(&str) -> Res<'_, &str> {
    move |input: &str| {
        let (mut rest, _) = char(q).parse_complete(input)?;
        loop {
            let (r, _) = take_till(|c: char| c == q).parse_complete(rest)?;
            let (r, _) = char(q).parse_complete(r)?;
            if let Some(r2) = r.strip_prefix(q) {
                rest = r2;
                continue;
            }
            let consumed = input.len() - r.len();
            return Ok((r, &input[..consumed]));
        }
    }
}

fn f_number(i: &str) -> Res<'_, &str> {
    recognize((
        alt((
            recognize((digit1, opt((char('.'), digits0)))),
            recognize((char('.'), digit1)),
        )),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse_complete(i)
}

fn f_ident(i: &str) -> Res<'_, &str> {
    recognize((
        satisfy(|c| c.is_alphabetic() || c == '_'),
        take_while(|c: char| c.is_alphanumeric() || c == '_' || c == '$'),
    ))
    .parse_complete(i)
}

fn f_ws(i: &str) -> Res<'_, &str> {
    multispace1(i)
}

fn f_block_comment(i: &str) -> Res<'_, &str> {
    recognize((tag("/*"), take_until("*/"), tag("*/"))).parse_complete(i)
}

fn f_op(i: &str) -> Res<'_, &str> {
    alt((
        alt((
            tag("<>"),
            tag("<="),
            tag(">="),
            tag("!="),
            tag("=="),
            tag("||"),
            tag("::"),
        )),
        recognize(one_of("+-*/%<>=.|&^~!:[]")),
    ))
    .parse_complete(i)
}

fn f_token(i: &str) -> Res<'_, (TokenKind, &str)> {
    alt((
        f_ws.map(|s| (TokenKind::Whitespace, s)),
        f_block_comment.map(|s| (TokenKind::Whitespace, s)),
        f_number.map(|s| (TokenKind::Number, s)),
        f_ident.map(|s| (TokenKind::Ident, s)),
        quoted('"').map(|s| (TokenKind::Ident, s)),
        quoted('`').map(|s| (TokenKind::Ident, s)),
        quoted('\'').map(|s| (TokenKind::String, s)),
        tag("(").map(|s| (TokenKind::LParen, s)),
        tag(")").map(|s| (TokenKind::RParen, s)),
        tag(",").map(|s| (TokenKind::Comma, s)),
        f_op.map(|s| (TokenKind::Op, s)),
    ))
    .parse_complete(i)
}

/// Tokenize a derived metric's formula, such as `(a + b) / NULLIF(c, 0)`.
pub fn parse_formula(text: &str, span: Span) -> Result<Formula, Diagnostic> {
    let src = Src { text, span };
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("/*") && f_block_comment(rest).is_err() {
            return Err(formula_lex_error(&src, pos));
        }
        if rest.starts_with("--") {
            let end = pos + rest.find('\n').unwrap_or(rest.len());
            return Err(src.err(
                pos,
                end,
                "`--` comments are not allowed in a formula",
                "comment",
                "the formula is pasted inside a larger query, where the comment would hide the rest of \
                 the line; use /* ... */ or the metric's description",
            ));
        }
        match f_token(rest) {
            Ok((r, (kind, s))) => {
                let end = pos + s.len();
                tokens.push(Token {
                    kind,
                    text: s.to_string(),
                    span: src.sub(pos, end),
                });
                debug_assert_eq!(end, text.len() - r.len());
                pos = end;
            }
            Err(_) => return Err(formula_lex_error(&src, pos)),
        }
    }
    if tokens.iter().all(|t| t.kind == TokenKind::Whitespace) {
        return Err(src.err(
            0,
            text.len(),
            "empty formula",
            "expected an expression",
            "write an expression over the inputs, as in `bookings - bookings_2_weeks_ago`",
        ));
    }
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen => open.push(i),
            TokenKind::RParen if open.pop().is_none() => {
                return Err(Diagnostic::error(codes::EXPRESSION, "unmatched `)`")
                    .at(t.span)
                    .with_label("no `(` before this")
                    .with_help("remove it or add the missing `(`"));
            }
            _ => {}
        }
    }
    if let Some(&i) = open.last() {
        return Err(Diagnostic::error(codes::EXPRESSION, "unclosed `(`")
            .at(tokens[i].span)
            .with_label("this `(` is never closed")
            .with_help("add the missing `)`"));
    }
    Ok(Formula { tokens, span })
}

fn formula_lex_error(src: &Src<'_>, pos: usize) -> Diagnostic {
    let rest = &src.text[pos..];
    let end = src.text.len();
    if rest.starts_with("/*") {
        return src.err(
            pos,
            pos + 2,
            "unterminated comment",
            "this comment is never closed",
            "close it with */",
        );
    }
    match rest.chars().next() {
        Some('\'') => src.err(
            pos,
            end,
            "unterminated string",
            "this string is never closed",
            "close it with ' (write '' for a quote inside the string)",
        ),
        Some(q @ ('"' | '`')) => src.err(
            pos,
            end,
            "unterminated quoted identifier",
            "this name is never closed",
            format!("close it with {q}"),
        ),
        Some('{') => {
            let len = if rest.starts_with("{{") { 2 } else { 1 };
            src.err(
                pos,
                pos + len,
                "Jinja is not allowed in a formula",
                "unexpected `{`",
                "refer to the inputs by name (or alias), as in `bookings / NULLIF(visits, 0)`",
            )
        }
        Some(';') => src.err(
            pos,
            pos + 1,
            "unexpected `;` in a formula",
            "not allowed",
            "a formula is one SQL expression; remove the `;`",
        ),
        Some(c) => src.err(
            pos,
            pos + c.len_utf8(),
            format!("unexpected character `{c}` in a formula"),
            "not allowed",
            "a formula is a SQL expression over input names, numbers, strings and operators",
        ),
        None => src.err(
            pos,
            pos,
            "unexpected end of formula",
            "here",
            "complete the expression",
        ),
    }
}

/// The formula with each input identifier replaced by what `map` returns for its name (the name
/// without quotes); identifiers for which `map` returns None, and everything else, stay as written.
pub fn render_formula(f: &Formula, map: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let flags = f.input_flags();
    let mut out = String::new();
    for (t, is_input) in f.tokens.iter().zip(flags) {
        match is_input.then(|| map(&t.name())).flatten() {
            Some(s) => out.push_str(&s),
            None => out.push_str(&t.text),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// A string placed after a prefix in a file, so spans are not relative to the file start.
    struct Fx {
        file: String,
        span: Span,
    }

    const PREFIX: &str = "where: ";

    fn fx(text: &str) -> Fx {
        Fx {
            file: format!("{PREFIX}{text}\n"),
            span: Span::new(FileId(3), PREFIX.len(), PREFIX.len() + text.len()),
        }
    }

    impl Fx {
        fn at(&self, span: Span) -> &str {
            assert_eq!(span.file, FileId(3));
            &self.file[span.range()]
        }
        fn filter(&self) -> Result<Template, Diagnostic> {
            parse_filter(&self.file[self.span.range()], self.span)
        }
        fn group_by(&self) -> Result<Reference, Diagnostic> {
            parse_group_by(&self.file[self.span.range()], self.span)
        }
        fn order(&self) -> Result<(Reference, bool), Diagnostic> {
            parse_order_item(&self.file[self.span.range()], self.span)
        }
        fn formula(&self) -> Result<Formula, Diagnostic> {
            parse_formula(&self.file[self.span.range()], self.span)
        }
    }

    /// The only reference of a filter.
    fn one_ref(text: &str) -> Reference {
        let f = fx(text);
        let t = f.filter().unwrap_or_else(|d| panic!("{text}: {d:?}"));
        let refs: Vec<_> = t.references().cloned().collect();
        assert_eq!(refs.len(), 1, "{text}");
        refs.into_iter().next().expect("one reference")
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Assert an E0203 error whose span covers `covered` and whose help mentions `help`.
    fn assert_err(f: &Fx, d: &Diagnostic, covered: &str, message: &str, help: &str) {
        assert_eq!(d.code, codes::EXPRESSION, "{d:?}");
        assert_eq!(f.at(d.span), covered, "{d:?}");
        assert!(
            d.message.contains(message),
            "message {:?} lacks {message:?}",
            d.message
        );
        assert!(d.label.is_some(), "{d:?}");
        assert!(
            d.help.iter().any(|h| h.contains(help)),
            "help {:?} lacks {help:?}",
            d.help
        );
    }

    fn filter_err(text: &str, covered: &str, message: &str, help: &str) {
        let f = fx(text);
        let d = f.filter().expect_err(text);
        assert_err(&f, &d, covered, message, help);
    }

    // ----- filters ------------------------------------------------------------------------------

    #[test]
    fn filter_dimension() {
        let f = fx("{{ Dimension('booking__is_instant') }}");
        let t = f.filter().expect("parses");
        assert_eq!(t.span, f.span);
        assert_eq!(t.segments.len(), 1);
        let Segment::Ref(r) = &t.segments[0] else {
            panic!("not a reference")
        };
        assert_eq!(r.kind, RefKind::Dimension);
        assert_eq!(r.name, "booking__is_instant");
        assert!(r.entity_path.is_empty() && r.grain.is_none() && r.date_part.is_none());
        assert_eq!(f.at(r.span), "Dimension('booking__is_instant')");
    }

    #[test]
    fn filter_keeps_sql_with_spans() {
        let text = "{{ Dimension('booking__is_instant') }} = true AND x > 1";
        let f = fx(text);
        let t = f.filter().expect("parses");
        assert_eq!(t.segments.len(), 2);
        let Segment::Sql { text: sql, span } = &t.segments[1] else {
            panic!("not SQL")
        };
        assert_eq!(sql, " = true AND x > 1");
        assert_eq!(f.at(*span), " = true AND x > 1");

        let f = fx("x = 1 AND {{Dimension(\"a__b\")}}<>'{' OR {{ Entity('listing') }} IS NULL");
        let t = f.filter().expect("parses");
        let kinds: Vec<String> = t
            .segments
            .iter()
            .map(|s| match s {
                Segment::Sql { text, span } => {
                    assert_eq!(f.at(*span), text);
                    format!("sql:{text}")
                }
                Segment::Ref(r) => format!("ref:{}", f.at(r.span)),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "sql:x = 1 AND ",
                "ref:Dimension(\"a__b\")",
                "sql:<>'{' OR ",
                "ref:Entity('listing')",
                "sql: IS NULL"
            ]
        );
    }

    #[test]
    fn filter_plain_sql() {
        let f = fx("is_deleted = false");
        let t = f.filter().expect("parses");
        assert_eq!(t.references().count(), 0);
        assert_eq!(
            render_filter(&t, &mut |_| unreachable!()).expect("renders"),
            "is_deleted = false"
        );
        let t = fx("").filter().expect("empty filter parses");
        assert!(t.segments.is_empty());
    }

    #[test]
    fn filter_dimension_entity_path() {
        let r = one_ref("{{ Dimension('listing__country_latest', entity_path=['booking']) }}");
        assert_eq!(r.kind, RefKind::Dimension);
        assert_eq!(r.name, "listing__country_latest");
        assert_eq!(r.entity_path, strs(&["booking"]));
        let r = one_ref("{{Dimension( name = 'x__y' , entity_path = ( 'a' , 'b' , ) , )}}");
        assert_eq!(r.name, "x__y");
        assert_eq!(r.entity_path, strs(&["a", "b"]));
        let r = one_ref("{{ Dimension(dimension_name='x__y', entity_path=[]) }}");
        assert_eq!(r.name, "x__y");
        assert!(r.entity_path.is_empty());
        let r = one_ref("{{ Dimension('x__y', None) }}");
        assert!(r.entity_path.is_empty());
    }

    #[test]
    fn filter_time_dimension_forms() {
        let r = one_ref("{{ TimeDimension('metric_time', 'day') }}");
        assert_eq!(r.kind, RefKind::TimeDimension);
        assert_eq!(r.name, "metric_time");
        assert_eq!(r.grain.as_deref(), Some("day"));

        let r = one_ref("{{ TimeDimension('metric_time', time_granularity_name='MONTH') }}");
        assert_eq!(r.grain.as_deref(), Some("month"));

        let f = fx(
            "{{ TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year') }}",
        );
        let t = f.filter().expect("parses");
        let r = t.references().next().expect("a reference");
        assert_eq!(r.name, "booking__ds");
        assert_eq!(r.grain.as_deref(), Some("month"));
        assert_eq!(r.entity_path, strs(&["x"]));
        assert_eq!(r.date_part.as_deref(), Some("year"));
        assert_eq!(
            f.at(r.span),
            "TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year')"
        );

        let r = one_ref("{{ TimeDimension('metric_time', None, [], None, 'dow') }}");
        assert_eq!(r.grain, None);
        assert_eq!(r.date_part.as_deref(), Some("dow"));

        // MetricFlow accepts `descending=` here and ignores it.
        let r = one_ref("{{ TimeDimension('metric_time', 'day', descending=True) }}");
        assert_eq!(r.grain.as_deref(), Some("day"));
    }

    #[test]
    fn filter_grain_in_name_and_parameter() {
        // The same grain twice is dropped from the name, as MetricFlow does.
        let r = one_ref("{{ TimeDimension('metric_time__day', 'day') }}");
        assert_eq!(r.name, "metric_time");
        assert_eq!(r.grain.as_deref(), Some("day"));
        // Without a grain parameter the name is left for the resolver.
        let r = one_ref("{{ TimeDimension('metric_time__week') }}");
        assert_eq!(r.name, "metric_time__week");
        assert_eq!(r.grain, None);
        filter_err(
            "{{ TimeDimension('metric_time__day', 'month') }}",
            "'month'",
            "ends in the granularity `day` but `month` is given too",
            "remove the `__day` suffix",
        );
    }

    #[test]
    fn filter_methods() {
        let f = fx("{{ Dimension('metric_time').grain('week') }} > '2024-01-01'");
        let t = f.filter().expect("parses");
        let r = t.references().next().expect("a reference");
        assert_eq!(r.kind, RefKind::Dimension);
        assert_eq!(r.grain.as_deref(), Some("week"));
        assert_eq!(f.at(r.span), "Dimension('metric_time').grain('week')");

        let r = one_ref("{{ Dimension('booking__ds').date_part('year') }}");
        assert_eq!(r.date_part.as_deref(), Some("year"));
        assert_eq!(r.grain, None);

        let r = one_ref("{{ Dimension('booking__ds') . grain ( time_granularity = 'Day' ) . date_part('month') }}");
        assert_eq!(r.grain.as_deref(), Some("day"));
        assert_eq!(r.date_part.as_deref(), Some("month"));

        let r = one_ref("{{ TimeDimension('metric_time').grain('month') }}");
        assert_eq!(r.grain.as_deref(), Some("month"));

        // MetricFlow allows `.descending()` on a Dimension in a filter and ignores it.
        let r = one_ref("{{ Dimension('listing__country').descending(True) }}");
        assert_eq!(r.name, "listing__country");
    }

    #[test]
    fn filter_entity_and_metric() {
        let r = one_ref("{{ Entity('listing') }}");
        assert_eq!((r.kind, r.name.as_str()), (RefKind::Entity, "listing"));
        let r = one_ref("{{ Entity('listing', entity_path=['user']) }}");
        assert_eq!(r.entity_path, strs(&["user"]));
        let r = one_ref("{{ Metric('bookings', group_by=['listing']) }}");
        assert_eq!(r.kind, RefKind::Metric);
        assert_eq!(r.name, "bookings");
        assert_eq!(r.group_by, strs(&["listing"]));
        let r = one_ref("{{ Metric('bookings', ['listing', 'user']) }}");
        assert_eq!(r.group_by, strs(&["listing", "user"]));
        let r = one_ref("{{ Metric(metric_name=\"bookings\", group_by=[\"listing\",]) }}");
        assert_eq!(r.group_by, strs(&["listing"]));
    }

    #[test]
    fn filter_whitespace_control_and_comments() {
        let f = fx("a  {{- Dimension('x__y') -}}  = 1 {# note #} AND b");
        let t = f.filter().expect("parses");
        let sql: Vec<&str> = t
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Sql { text, .. } => Some(text.as_str()),
                Segment::Ref(_) => None,
            })
            .collect();
        assert_eq!(sql, ["a", "= 1 ", " AND b"]);
        let out = render_filter(&t, &mut |r| Ok(format!("<{}>", r.name))).expect("renders");
        assert_eq!(out, "a<x__y>= 1  AND b");
    }

    #[test]
    fn filter_strings_with_escapes_and_braces() {
        let r = one_ref(r#"{{ Dimension("x__y" ) }}"#);
        assert_eq!(r.name, "x__y");
        // `}}` inside a SQL string after the reference is just SQL.
        let t = fx("{{ Dimension('a__b') }} = '}}'")
            .filter()
            .expect("parses");
        assert_eq!(t.segments.len(), 2);
    }

    #[test]
    fn render_filter_substitutes_and_stops_at_errors() {
        let t = fx("{{ Dimension('a__b') }} = 1 AND {{ TimeDimension('metric_time', 'day') }} > x")
            .filter()
            .expect("parses");
        let out = render_filter(&t, &mut |r| {
            Ok(match r.kind {
                RefKind::Dimension => "a.b".to_string(),
                _ => format!("DATE_TRUNC('{}', ts)", r.grain.as_deref().unwrap_or("day")),
            })
        })
        .expect("renders");
        assert_eq!(out, "a.b = 1 AND DATE_TRUNC('day', ts) > x");
        let e = render_filter(&t, &mut |r| {
            Err(Diagnostic::error(codes::FILTER_REFERENCE, "nope").at(r.span))
        })
        .expect_err("the callback fails");
        assert_eq!(e.code, codes::FILTER_REFERENCE);
    }

    #[test]
    fn filter_unknown_function_suggests() {
        let d = fx("{{ Dimesion('a__b') }}").filter().expect_err("unknown");
        assert_eq!(d.help[0], "did you mean `Dimension`?");
        filter_err(
            "x AND {{ Dimesion('a__b') }}",
            "Dimesion",
            "unknown function `Dimesion`",
            "did you mean `Dimension`?",
        );
        filter_err(
            "{{ dimension('a__b') }}",
            "dimension",
            "unknown function",
            "did you mean `Dimension`?",
        );
        filter_err(
            "{{ TimeDimention('metric_time') }}",
            "TimeDimention",
            "unknown function",
            "did you mean `TimeDimension`?",
        );
        filter_err(
            "{{ booking__is_instant }}",
            "booking__is_instant",
            "is not a reference",
            "Dimension('booking__is_instant')",
        );
    }

    #[test]
    fn filter_unknown_method_suggests() {
        filter_err(
            "{{ Dimension('metric_time').grian('day') }}",
            "grian",
            "unknown method `grian`",
            "did you mean `grain`?",
        );
        filter_err(
            "{{ Dimension('metric_time').datepart('day') }}",
            "datepart",
            "unknown method",
            "did you mean `date_part`?",
        );
        filter_err(
            "{{ Entity('listing').grain('day') }}",
            "grain",
            "can't be used with `Entity`",
            "only Dimension and TimeDimension",
        );
        filter_err(
            "{{ Metric('bookings', ['listing']).descending(True) }}",
            "descending",
            "can't be used with `Metric` here",
            "order_by",
        );
    }

    #[test]
    fn filter_statements_rejected() {
        filter_err(
            "{% if x %}a = 1{% endif %}",
            "{% if x %}",
            "are not supported",
            "combined with AND",
        );
        filter_err(
            "a {% if x",
            "{%",
            "are not supported",
            "write the condition in SQL",
        );
    }

    #[test]
    fn filter_unterminated() {
        filter_err(
            "x = 1 AND {{ Dimension('a__b')",
            "{{",
            "unterminated `{{`",
            "close the reference with `}}`",
        );
        filter_err(
            "{{ Dimension('a__b) }} = 'c'",
            "'a__b) ",
            "unterminated string",
            "matching '",
        );
        filter_err(
            "{{ Dimension('a__b) ",
            "'a__b) ",
            "unterminated string",
            "matching '",
        );
        filter_err("x {# note", "{#", "unterminated Jinja comment", "#}");
    }

    #[test]
    fn filter_argument_errors() {
        filter_err("{{ }}", "{{ }}", "empty `{{ }}`", "one reference");
        filter_err(
            "{{ Dimension(booking__is_instant) }}",
            "booking__is_instant",
            "expected a quoted name",
            "'booking__is_instant'",
        );
        filter_err(
            "{{ Dimension() }}",
            "Dimension()",
            "needs a name",
            "Dimension('",
        );
        filter_err(
            "{{ Dimension('a__b', entity_pth=['x']) }}",
            "entity_pth",
            "has no parameter `entity_pth`",
            "did you mean `entity_path`?",
        );
        filter_err(
            "{{ Dimension('a__b', ['x'], ['y']) }}",
            "['y']",
            "too many arguments",
            "Dimension(name, entity_path)",
        );
        filter_err(
            "{{ Dimension(name='a__b', 'x') }}",
            "'x'",
            "positional argument after a keyword",
            "keyword",
        );
        filter_err(
            "{{ TimeDimension('a__b', 'day', time_granularity_name='week') }}",
            "time_granularity_name='week'",
            "given twice",
            "once",
        );
        filter_err(
            "{{ Dimension('a__b', entity_path='x') }}",
            "'x'",
            "must be a list of names, not a string",
            "['x']",
        );
        filter_err("{{ Dimension('') }}", "''", "is empty", "write a name");
        filter_err(
            "{{ Dimension('a b') }}",
            "'a b'",
            "not allowed in the name",
            "letters",
        );
        filter_err(
            "{{ Dimension('a__b') = 'x' }}",
            "=",
            "unexpected `=`",
            "write comparisons in SQL",
        );
        filter_err(
            "{{ Dimension('a__b' }}",
            "}}",
            "expected `,` or `)`",
            "close the call",
        );
        filter_err(
            "{{ Dimension('a__b', entity_path=['x' 'y']) }}",
            "'y'",
            "expected `,` or `]`",
            "separate names",
        );
        filter_err(
            "{{ Dimension('a__b', [1]) }}",
            "1",
            "expected a quoted name in the list",
            "list",
        );
        filter_err(
            "{{ Dimension 'x' }}",
            "'x'",
            "expected `(` after `Dimension`",
            "call it",
        );
        filter_err(
            "{{ Dimension('x').grain() }}",
            "grain()",
            "needs one argument",
            ".grain('month')",
        );
        filter_err(
            "{{ Dimension('x').grain('day', 'week') }}",
            "'week'",
            "takes one argument",
            ".grain('month')",
        );
        filter_err(
            "{{ Dimension('x').grain(g='day') }}",
            "g",
            "has no parameter `g`",
            ".grain('month')",
        );
        filter_err(
            "{{ Dimension('x'). }}",
            "}}",
            "expected a method name",
            ".grain('month')",
        );
        filter_err(
            "{{ Dimension('x') | lower }}",
            "|",
            "unexpected `|`",
            "one reference",
        );
        filter_err(
            "{{ 'x' }}",
            "'x'",
            "expected a reference",
            "Dimension('...')",
        );
        filter_err(
            "{{ TimeDimension('x', descending=1) }}",
            "1",
            "must be True or False",
            "True or False",
        );
    }

    #[test]
    fn filter_grain_set_twice() {
        let f = fx("{{ TimeDimension('metric_time', 'day').grain('week') }}");
        let d = f.filter().expect_err("grain twice");
        assert_err(&f, &d, "grain('week')", "already set", "once");
        assert_eq!(d.labels.len(), 1);
        assert_eq!(f.at(d.labels[0].span), "'day'");
    }

    #[test]
    fn filter_metric_needs_group_by() {
        filter_err(
            "{{ Metric('bookings') }} > 10",
            "Metric('bookings')",
            "needs `group_by`",
            "group_by=['listing']",
        );
    }

    #[test]
    fn filter_with_dummy_span_does_not_panic() {
        let d = parse_filter("{{ Dimesion('x') }}", Span::DUMMY).expect_err("unknown");
        assert!(d.span.is_dummy());
        assert_eq!(d.code, codes::EXPRESSION);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "{",
            "{{",
            "}}",
            "{{-",
            "-}}",
            "{{ -}}",
            "{#",
            "{#-#}",
            "{{ Dimension('é') }}",
            "é{{",
            "{{ Dimension('x').grain('day').date_part('year').grain('x') }}",
            "{{(((",
            "{{ [ }}",
            "{{ Dimension(['a'], ) }}",
            "{{ Dimension('a', entity_path=[) }}",
            "{{ Dimension('\\",
            "{{ Dimension('a\\'b') }}",
            "'",
            "\"",
            "`",
            "/*",
            "--",
            "(",
            ")",
            "-",
            "- ",
            "__",
            "a____b",
            "x__extract_",
            "__extract_year",
            "Dimension(",
            "Metric('m').descending(",
            "{{ Dimension('x') }} trailing",
            "ü(",
            "a.b",
            "(1e",
            ".5e+",
            "1.e3",
            "$1",
        ];
        for s in inputs {
            let span = Span::new(FileId(0), 10, 10 + s.len());
            let _ = parse_filter(s, span);
            let _ = parse_group_by(s, span);
            let _ = parse_order_item(s, span);
            let _ = parse_formula(s, span);
            let _ = parse_filter(s, Span::DUMMY);
            let _ = parse_group_by(s, Span::DUMMY);
        }
        // Every prefix and suffix of some well-formed inputs, cut at each character boundary.
        let samples = [
            "a = 'é' AND {{- TimeDimension('booking__ds', 'month', entity_path=['x'], \
             date_part_name=\"year\") -}} {# c #} > {{ Dimension('m').grain('day') }}",
            "-{{ Metric('bookings', group_by=('listing',)).descending(True) }}",
            "CASE WHEN \"a\"\"b\" > 0.5e3 THEN COALESCE(x, 0) ELSE 'it''s' END /* ü */",
        ];
        for s in samples {
            for (i, _) in s.char_indices() {
                for part in [&s[..i], &s[i..]] {
                    let span = Span::new(FileId(0), 0, part.len());
                    let _ = parse_filter(part, span);
                    let _ = parse_group_by(part, span);
                    let _ = parse_order_item(part, span);
                    let _ = parse_formula(part, span);
                }
            }
        }
    }

    #[test]
    fn reference_display_is_object_syntax() {
        let r = one_ref(
            "{{ TimeDimension('booking__ds', 'month', entity_path=['x'], date_part_name='year') }}",
        );
        assert_eq!(
            r.to_string(),
            "TimeDimension('booking__ds', entity_path=['x']).grain('month').date_part('year')"
        );
        let r = one_ref("{{ Metric('bookings', ['listing', 'user']) }}");
        assert_eq!(
            r.to_string(),
            "Metric('bookings', group_by=['listing', 'user'])"
        );
    }

    // ----- group-by items -----------------------------------------------------------------------

    fn gb(text: &str) -> Reference {
        fx(text)
            .group_by()
            .unwrap_or_else(|d| panic!("{text}: {d:?}"))
    }

    fn gb_err(text: &str, covered: &str, message: &str, help: &str) {
        let f = fx(text);
        let d = f.group_by().expect_err(text);
        assert_err(&f, &d, covered, message, help);
    }

    #[test]
    fn group_by_dunder_names() {
        for name in [
            "metric_time",
            "metric_time__month",
            "listing__country_latest",
            "listing__user__home_state_latest",
        ] {
            let f = fx(name);
            let r = f.group_by().expect("parses");
            assert_eq!(r.kind, RefKind::Dimension);
            assert_eq!(r.name, name);
            assert_eq!(r.grain, None);
            assert_eq!(r.date_part, None);
            assert_eq!(f.at(r.span), name);
        }
        let f = fx("  listing__country  ");
        let r = f.group_by().expect("parses");
        assert_eq!(f.at(r.span), "listing__country");
    }

    #[test]
    fn group_by_extract_suffix() {
        let r = gb("metric_time__extract_year");
        assert_eq!(r.name, "metric_time");
        assert_eq!(r.date_part.as_deref(), Some("year"));
        assert_eq!(r.grain, None);
        let r = gb("booking__ds__extract_DOW");
        assert_eq!(r.name, "booking__ds");
        assert_eq!(r.date_part.as_deref(), Some("dow"));
        gb_err(
            "metric_time__extract_",
            "__extract_",
            "no date part",
            "metric_time__extract_year",
        );
    }

    #[test]
    fn group_by_object_syntax() {
        let f = fx("TimeDimension('metric_time', 'month')");
        let r = f.group_by().expect("parses");
        assert_eq!(r.kind, RefKind::TimeDimension);
        assert_eq!(
            (r.name.as_str(), r.grain.as_deref()),
            ("metric_time", Some("month"))
        );
        assert_eq!(f.at(r.span), "TimeDimension('metric_time', 'month')");

        let r = gb("Dimension('listing__country')");
        assert_eq!(
            (r.kind, r.name.as_str()),
            (RefKind::Dimension, "listing__country")
        );
        let r = gb("Entity('listing')");
        assert_eq!((r.kind, r.name.as_str()), (RefKind::Entity, "listing"));
        let r = gb("Dimension('metric_time').grain('week')");
        assert_eq!(r.grain.as_deref(), Some("week"));
        // Saved queries may wrap the object in `{{ }}`.
        let f = fx(" {{ Dimension('listing__country', entity_path=['booking']) }} ");
        let r = f.group_by().expect("parses");
        assert_eq!(r.entity_path, strs(&["booking"]));
        assert_eq!(
            f.at(r.span),
            "Dimension('listing__country', entity_path=['booking'])"
        );
        let r = gb("{{TimeDimension('metric_time','day')}}");
        assert_eq!(r.grain.as_deref(), Some("day"));
        // A metric is not required to have group_by here; the planner decides what to do with it.
        let r = gb("Metric('bookings')");
        assert_eq!(r.kind, RefKind::Metric);
    }

    #[test]
    fn group_by_errors() {
        gb_err("", "", "empty group-by item", "metric_time__month");
        gb_err("   ", "   ", "empty group-by item", "metric_time__month");
        gb_err(
            "listing__country latest",
            " ",
            "is not allowed in the name",
            "listing__country_latest",
        );
        gb_err(
            "listing.country",
            ".",
            "is not allowed",
            "listing__country_latest",
        );
        gb_err("listing____country", "__", "empty part", "two underscores");
        gb_err("listing__", "__", "empty part", "two underscores");
        gb_err(
            "Dimensoin('x')",
            "Dimensoin",
            "unknown function",
            "did you mean `Dimension`?",
        );
        gb_err(
            "Dimension('x') extra",
            "extra",
            "after the reference",
            "separate entries",
        );
        gb_err("{{ Dimension('x')", "{{", "unterminated `{{`", "}}");
        gb_err(
            "{{ Dimension('x') }} y",
            "y",
            "unexpected text after `}}`",
            "separate entries",
        );
        gb_err("{{ }}", "{{ }}", "empty `{{ }}`", "one reference");
        gb_err(
            "Dimension('x') }}",
            "}}",
            "unexpected `}}`",
            "one reference",
        );
        gb_err(
            "Dimension('x'",
            "'x'",
            "expected `,` or `)` in the call of `Dimension` at the end",
            "close the call",
        );
        gb_err(
            "Entity('listing').descending(True)",
            "descending",
            "can't be used with `Entity` here",
            "order_by",
        );
    }

    #[test]
    fn dunder_helpers() {
        assert_eq!(
            split_dunder("listing__user__home_state_latest"),
            strs(&["listing", "user", "home_state_latest"])
        );
        assert_eq!(split_dunder("metric_time"), strs(&["metric_time"]));
        assert_eq!(
            DunderName::parse("metric_time__month").trailing_grain(),
            Some("month")
        );
        assert_eq!(
            DunderName::parse("booking__ds__week").trailing_grain(),
            Some("week")
        );
        assert_eq!(DunderName::parse("month").trailing_grain(), None);
        assert_eq!(DunderName::parse("listing__country").trailing_grain(), None);
    }

    // ----- order items --------------------------------------------------------------------------

    #[test]
    fn order_items() {
        let f = fx("-metric_time__day");
        let (r, desc) = f.order().expect("parses");
        assert!(desc);
        assert_eq!(r.name, "metric_time__day");
        assert_eq!(f.at(r.span), "metric_time__day");

        let (r, desc) = fx("bookings").order().expect("parses");
        assert!(!desc);
        assert_eq!(r.name, "bookings");

        let (r, desc) = fx(" - bookings ").order().expect("parses");
        assert!(desc);
        assert_eq!(r.name, "bookings");

        let f = fx("Metric('bookings').descending(True)");
        let (r, desc) = f.order().expect("parses");
        assert!(desc);
        assert_eq!(r.kind, RefKind::Metric);
        assert_eq!(f.at(r.span), "Metric('bookings').descending(True)");

        let (r, desc) = fx("TimeDimension('metric_time', 'day').descending(False)")
            .order()
            .expect("parses");
        assert!(!desc);
        assert_eq!(r.grain.as_deref(), Some("day"));

        let (_, desc) = fx("TimeDimension('metric_time', 'day', descending=True)")
            .order()
            .expect("parses");
        assert!(desc);
        let (_, desc) = fx("{{ Entity('listing').descending(true) }}")
            .order()
            .expect("parses");
        assert!(desc);
        let (r, desc) = fx("-TimeDimension('metric_time', 'week')")
            .order()
            .expect("parses");
        assert!(desc);
        assert_eq!(r.grain.as_deref(), Some("week"));
        let (r, _) = fx("-metric_time__extract_year").order().expect("parses");
        assert_eq!(r.date_part.as_deref(), Some("year"));
    }

    #[test]
    fn order_item_errors() {
        let f = fx("-Metric('bookings').descending(True)");
        let d = f.order().expect_err("both");
        assert_err(
            &f,
            &d,
            "descending(True)",
            "both by `-` and by `descending`",
            "not both",
        );
        let f = fx("TimeDimension('metric_time', descending=True).descending(False)");
        let d = f.order().expect_err("twice");
        assert_err(&f, &d, "descending(False)", "already set", "once");
        let f = fx(" - ");
        let d = f.order().expect_err("no name");
        assert_err(&f, &d, "-", "without a name", "-bookings");
        let f = fx("");
        let d = f.order().expect_err("empty");
        assert_err(&f, &d, "", "empty order item", "-bookings");
        let f = fx("Metric('bookings').descending('yes')");
        let d = f.order().expect_err("not a bool");
        assert_err(&f, &d, "'yes'", "must be True or False", "True or False");
    }

    // ----- formulas -----------------------------------------------------------------------------

    fn idents(text: &str) -> Vec<String> {
        let f = fx(text);
        let formula = f.formula().unwrap_or_else(|d| panic!("{text}: {d:?}"));
        formula
            .identifiers()
            .map(|t| {
                assert_eq!(f.at(t.span), t.text);
                t.text.clone()
            })
            .collect()
    }

    fn formula_err(text: &str, covered: &str, message: &str, help: &str) {
        let f = fx(text);
        let d = f.formula().expect_err(text);
        assert_err(&f, &d, covered, message, help);
    }

    #[test]
    fn formula_tokens_and_spans() {
        let f = fx("bookings - bookings_2_weeks_ago");
        let formula = f.formula().expect("parses");
        let kinds: Vec<TokenKind> = formula.tokens.iter().map(|t| t.kind).collect();
        use TokenKind::*;
        assert_eq!(kinds, [Ident, Whitespace, Op, Whitespace, Ident]);
        for t in &formula.tokens {
            assert_eq!(f.at(t.span), t.text);
        }
        assert_eq!(formula.span, f.span);

        let formula = fx("(a+b)/NULLIF(c,0.5e3)||'x''y'")
            .formula()
            .expect("parses");
        let got: Vec<(TokenKind, &str)> = formula
            .tokens
            .iter()
            .map(|t| (t.kind, t.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (LParen, "("),
                (Ident, "a"),
                (Op, "+"),
                (Ident, "b"),
                (RParen, ")"),
                (Op, "/"),
                (Ident, "NULLIF"),
                (LParen, "("),
                (Ident, "c"),
                (Comma, ","),
                (Number, "0.5e3"),
                (RParen, ")"),
                (Op, "||"),
                (String, "'x''y'"),
            ]
        );
    }

    #[test]
    fn formula_number_at_end() {
        // nom's streaming mode would stop `1.0` at the end of input after `1.`.
        let f = fx("x * 1.0").formula().expect("parses");
        let last = f.tokens.last().expect("tokens");
        assert_eq!((last.kind, last.text.as_str()), (TokenKind::Number, "1.0"));
        let f = fx("2.5e-3").formula().expect("parses");
        assert_eq!(f.tokens.len(), 1);
        assert_eq!(f.tokens[0].text, "2.5e-3");
    }

    #[test]
    fn formula_identifiers() {
        assert_eq!(
            idents("bookings - bookings_2_weeks_ago"),
            ["bookings", "bookings_2_weeks_ago"]
        );
        assert_eq!(idents("(a + b) / NULLIF(c, 0)"), ["a", "b", "c"]);
        assert_eq!(idents("CASE WHEN x > 0 THEN y ELSE 0 END"), ["x", "y"]);
        assert_eq!(idents("case when x is not null then y end"), ["x", "y"]);
        assert_eq!(idents("COALESCE(x, 0) * 1.0"), ["x"]);
        assert_eq!(idents("CAST(x AS DOUBLE) / y::numeric"), ["x", "y"]);
        assert_eq!(idents("CAST(x AS my_type)"), ["x"]);
        assert_eq!(idents("EXTRACT(year FROM d) + x"), ["d", "x"]);
        assert_eq!(idents("d + INTERVAL '1' day"), ["d"]);
        assert_eq!(
            idents("x BETWEEN 1 AND 2 OR y IN (1, 2) OR z LIKE 'a%'"),
            ["x", "y", "z"]
        );
        assert_eq!(idents("COUNT(DISTINCT x) + TRUE + FALSE"), ["x"]);
        assert_eq!(
            idents("\"order\" + \"Sum Total\" + `b`"),
            ["\"order\"", "\"Sum Total\"", "`b`"]
        );
        assert_eq!(
            idents("s.x + 1 /* a comment */"),
            Vec::<std::string::String>::new()
        );
        assert_eq!(idents("COALESCE (x, 0)"), ["x"]);
    }

    #[test]
    fn quoted_identifier_names() {
        let f = fx("\"a\"\"b\" + c").formula().expect("parses");
        let ids: Vec<std::string::String> = f.identifiers().map(Token::name).collect();
        assert_eq!(ids, ["a\"b", "c"]);
    }

    #[test]
    fn render_formula_replaces_inputs_only() {
        let f = fx("(a + \"b\") / NULLIF(c, 0) + COALESCE(a, 0) + d")
            .formula()
            .expect("parses");
        let mut seen = Vec::new();
        let out = render_formula(&f, &mut |name| {
            seen.push(name.to_string());
            match name {
                "a" => Some("SUM(x)".to_string()),
                "b" => Some("(m1 / m2)".to_string()),
                "c" => Some("c_sql".to_string()),
                _ => None,
            }
        });
        assert_eq!(
            out,
            "(SUM(x) + (m1 / m2)) / NULLIF(c_sql, 0) + COALESCE(SUM(x), 0) + d"
        );
        assert_eq!(seen, ["a", "b", "c", "a", "d"]);
    }

    #[test]
    fn formula_errors() {
        formula_err("(a + b", "(", "unclosed `(`", "missing `)`");
        formula_err("a + b)", ")", "unmatched `)`", "missing `(`");
        formula_err("a + 'x", "'x", "unterminated string", "close it with '");
        formula_err(
            "a + \"x",
            "\"x",
            "unterminated quoted identifier",
            "close it with \"",
        );
        formula_err("a /* x", "/*", "unterminated comment", "*/");
        formula_err(
            "a -- note\n+ b",
            "-- note",
            "comments are not allowed",
            "/* ... */",
        );
        formula_err("a; drop", ";", "unexpected `;`", "remove the `;`");
        formula_err("{{ a }} + b", "{{", "Jinja is not allowed", "by name");
        formula_err("a ? b", "?", "unexpected character `?`", "SQL expression");
        formula_err(
            "   ",
            "   ",
            "empty formula",
            "bookings - bookings_2_weeks_ago",
        );
        formula_err("", "", "empty formula", "bookings");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert!(is_sql_keyword("case") && is_sql_keyword("CASE") && is_sql_keyword("Interval"));
        assert!(!is_sql_keyword("bookings"));
    }
}
