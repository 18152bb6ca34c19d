//! Group-by and order items: dunder names and objects ([`parse_group_by`], [`parse_order_item`]).

use super::jinja_call::{lex_jinja, Ctx, JKind, JParser, Obj};
use super::{is_name_char, trim_range, RefKind, Reference, Src};
use crate::diag::Diagnostic;
use crate::source::{Located, Span};

/// Parse a group-by item as written on the command line or in a saved query: a dunder name
/// (`metric_time__month`, `listing__country_latest`, `metric_time__extract_year`), an object
/// (`TimeDimension('metric_time', 'month')`) or an object in `{{ }}`.
pub fn parse_group_by(text: &str, span: Span) -> Result<Reference, Diagnostic> {
    parse_group_by_at(text, &Located::plain(span))
}

/// [`parse_group_by`] of a value whose bytes `loc` places in its file.
pub fn parse_group_by_at(text: &str, loc: &Located) -> Result<Reference, Diagnostic> {
    let src = Src { text, loc };
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
    parse_order_item_at(text, &Located::plain(span))
}

/// [`parse_order_item`] of a value whose bytes `loc` places in its file.
pub fn parse_order_item_at(text: &str, loc: &Located) -> Result<(Reference, bool), Diagnostic> {
    let src = Src { text, loc };
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
