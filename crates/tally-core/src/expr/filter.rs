//! Where-filters: SQL text with `{{ ... }}` references in between ([`parse_filter`]).

use super::jinja_call::{lex_jinja, Ctx, JKind, JParser};
use super::{Reference, Src};
use crate::diag::Diagnostic;
use crate::source::{Located, Span};

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
    parse_filter_at(text, &Located::plain(span))
}

/// [`parse_filter`] of a value whose bytes `loc` places in its file (spans exact in every scalar
/// style).
pub fn parse_filter_at(text: &str, loc: &Located) -> Result<Template, Diagnostic> {
    let span = loc.span;
    let src = Src { text, loc };
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
