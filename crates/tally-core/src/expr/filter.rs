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
    /// The bare dunder names in the SQL text (`order__status = 'paid'`), outside quotes, not
    /// qualified (`t.a__b`, `f__g(...)`) and not SQL keywords: MetricFlow reads a filter's SQL
    /// over columns named after group-by items, so binding reads those that name an item as
    /// references ([`crate::model::bind_filter`]).
    pub bare_names: Vec<BareName>,
}

/// A bare dunder name in the SQL text of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BareName {
    /// The index of its `Segment::Sql` in [`Template::segments`].
    pub segment: usize,
    /// Its byte range in the segment's text.
    pub start: usize,
    pub end: usize,
    /// Its characters in the file (exact in every scalar style).
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
    // Where each SQL segment starts in `text`, for the spans of its bare names.
    let mut sql_starts = Vec::new();
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
        push_sql(
            &mut segments,
            &mut sql_starts,
            &src,
            sql_start,
            open,
            trim_next,
            trim_left,
        );
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
    push_sql(
        &mut segments,
        &mut sql_starts,
        &src,
        sql_start,
        text.len(),
        trim_next,
        false,
    );
    let bare_names = bare_names(&segments, &src, &sql_starts);
    Ok(Template {
        segments,
        span,
        bare_names,
    })
}

/// The bare dunder names of the SQL segments (see [`Template::bare_names`]).
fn bare_names(segments: &[Segment], src: &Src<'_>, sql_starts: &[usize]) -> Vec<BareName> {
    let mut out = Vec::new();
    let mut starts = sql_starts.iter();
    for (n, seg) in segments.iter().enumerate() {
        let Segment::Sql { text, .. } = seg else {
            continue;
        };
        // The segment's offset in the whole text, for exact spans.
        let base = starts.next().copied().unwrap_or(0);
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'\'' || c == b'"' {
                // A string literal or quoted identifier (doubled quotes stay inside).
                i += 1;
                while i < b.len() {
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &text[start..i];
                let qualified = text[..start].trim_end().ends_with('.')
                    || text[i..].trim_start().starts_with(['.', '(']);
                if word.contains("__") && !qualified && !super::is_sql_keyword(word) {
                    out.push(BareName {
                        segment: n,
                        start,
                        end: i,
                        span: src.sub(base + start, base + i),
                    });
                }
            } else if c.is_ascii_digit() {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
    }
    out
}

fn push_sql(
    segments: &mut Vec<Segment>,
    sql_starts: &mut Vec<usize>,
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
        sql_starts.push(start);
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
