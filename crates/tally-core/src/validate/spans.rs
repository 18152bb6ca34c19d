//! Spans recovered from the source text for values the model keeps without one.

use super::Validator;
use crate::diag::Diagnostic;
use crate::dialect;
use crate::model::{Filter, MetricKind, Model};
use crate::source::Span;

/// Move spans that point inside quoted or block-scalar strings of the model (filters, formulas,
/// saved-query items) to the file text they stand for: for diagnostics made after validation, by
/// the planner at query time.
pub fn relocate_spans(model: &Model, diags: &mut [Diagnostic]) {
    let v = Validator {
        model,
        dialect: &dialect::DuckDb,
        diags: Vec::new(),
        boundaries: Vec::new(),
    };
    let texts = v.spanned_texts();
    for d in diags {
        d.span = in_source(&texts, model, d.span);
        for l in &mut d.labels {
            l.span = in_source(&texts, model, l.span);
        }
    }
}

/// Spans inside a string value (a reference in a filter) are byte offsets into the value, added to
/// the start of the value's span. When the value is quoted or a block scalar in the file, the
/// value and the file text differ (quotes, escapes, indentation); move such a span to the file
/// text it stands for, by aligning the value with the text of its scalar.
pub(super) fn in_source(texts: &[(Span, &str)], model: &Model, span: Span) -> Span {
    if span.is_dummy() {
        return span;
    }
    let holder = texts
        .iter()
        .filter(|(s, _)| s.file == span.file && s.start <= span.start && span.end <= s.end)
        .min_by_key(|(s, _)| s.end - s.start);
    let Some(&(outer, value)) = holder else {
        return span;
    };
    let Some(src) = model.sources.text(outer) else {
        return span;
    };
    if src == value {
        return span;
    }
    let map = align(src, value);
    let vs = (span.start - outer.start) as usize;
    let ve = (span.end - outer.start) as usize;
    if vs > value.len() || ve > value.len() {
        return span;
    }
    let start = map[vs];
    let end = if ve > vs { map[ve - 1] + 1 } else { start };
    Span::new(
        span.file,
        outer.start as usize + start,
        outer.start as usize + end.max(start),
    )
}

/// For each byte of `value` (and its end), the byte of `src` it was written as: each character
/// of the value is matched with its next occurrence in the source; a character written as an
/// escape (which has no literal occurrence) stays at the current position.
fn align(src: &str, value: &str) -> Vec<usize> {
    let mut map = vec![0; value.len() + 1];
    let mut j = 0;
    for (b, c) in value.char_indices() {
        let found = src[j..].find(c).map(|k| j + k);
        let at = found.unwrap_or(j);
        for k in 0..c.len_utf8() {
            map[b + k] = at + k;
        }
        if found.is_some() {
            j = at + c.len_utf8();
        }
    }
    map[value.len()] = j;
    map
}

pub(super) fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The first whole-word occurrence of `word` in `text[start..end]`, as a byte range.
pub(super) fn find_word_in(
    text: &str,
    start: usize,
    end: usize,
    word: &str,
) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let hay = text.get(start..end)?;
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let s = start + from + i;
        let e = s + word.len();
        let before = s == 0 || !is_word_char(bytes[s - 1]);
        let after = e >= bytes.len() || !is_word_char(bytes[e]);
        if before && after {
            return Some((s, e));
        }
        from += i + word.len().max(1);
    }
    None
}

impl<'m> Validator<'m> {
    /// Every string value that is parsed as an expression, with its span: filters, formulas and
    /// saved-query items.
    pub(super) fn spanned_texts(&self) -> Vec<(Span, &'m str)> {
        let model = self.model;
        let mut out: Vec<(Span, &'m str)> = Vec::new();
        let filters = |fs: &'m [Filter], out: &mut Vec<(Span, &'m str)>| {
            out.extend(fs.iter().map(|f| (f.span, f.text.as_str())));
        };
        for m in model.metrics.values() {
            filters(&m.filters, &mut out);
            match &m.kind {
                MetricKind::Simple(r) | MetricKind::Cumulative { measure: r, .. } => {
                    filters(&r.filters, &mut out)
                }
                MetricKind::Conversion {
                    base, conversion, ..
                } => {
                    filters(&base.filters, &mut out);
                    filters(&conversion.filters, &mut out);
                }
                MetricKind::Derived { expr, inputs } => {
                    out.push((expr.span, expr.text.as_str()));
                    for i in inputs {
                        filters(&i.filters, &mut out);
                    }
                }
                MetricKind::Ratio {
                    numerator,
                    denominator,
                } => {
                    filters(&numerator.filters, &mut out);
                    filters(&denominator.filters, &mut out);
                }
            }
        }
        for sq in model.saved_queries.values() {
            filters(&sq.where_, &mut out);
            out.extend(
                sq.group_by
                    .iter()
                    .chain(&sq.order_by)
                    .map(|g| (g.span, g.value.as_str())),
            );
        }
        out.retain(|(s, _)| !s.is_dummy());
        out
    }

    // ----- finding text the model kept no span for ---------------------------------------------

    /// The text after `span` up to the next object in the same file, as a byte range.
    pub(super) fn region(&self, span: Span) -> Option<(usize, usize, &'m str)> {
        if span.is_dummy() {
            return None;
        }
        let text = self.model.sources.get(span.file)?.text.as_str();
        let end = self
            .boundaries
            .iter()
            .filter(|b| b.file == span.file && b.start > span.start)
            .map(|b| b.start as usize)
            .min()
            .unwrap_or(text.len());
        let start = (span.end as usize).min(text.len());
        Some((start, end.max(start), text))
    }

    /// The first whole-word occurrence of `word` after `span`, within its object.
    pub(super) fn find_word(&self, span: Span, word: &str) -> Option<Span> {
        let (start, end, text) = self.region(span)?;
        find_word_in(text, start, end, word).map(|(s, e)| Span::new(span.file, s, e))
    }

    /// The values of `key:` after `span` within its object, in order, without quotes.
    pub(super) fn find_values(&self, span: Span, key: &str) -> Vec<(Span, &'m str)> {
        let mut out = Vec::new();
        let Some((start, end, text)) = self.region(span) else {
            return out;
        };
        let bytes = text.as_bytes();
        let mut pos = start;
        while let Some((_, ke)) = find_word_in(text, pos, end, key) {
            pos = ke;
            let mut i = ke;
            while i < end && bytes[i] == b' ' {
                i += 1;
            }
            if i >= end || bytes[i] != b':' {
                continue;
            }
            i += 1;
            while i < end && bytes[i] == b' ' {
                i += 1;
            }
            let (vs, ve) = match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) if i < end => {
                    let close = text[i + 1..end]
                        .find(q as char)
                        .map(|c| i + 1 + c)
                        .unwrap_or(end);
                    (i + 1, close)
                }
                _ => {
                    let mut e = i;
                    while e < end && !matches!(bytes[e], b'\n' | b'\r' | b',' | b'}' | b']' | b'#')
                    {
                        e += 1;
                    }
                    let v = text[i..e].trim_end();
                    (i, i + v.len())
                }
            };
            out.push((Span::new(span.file, vs, ve), &text[vs..ve]));
        }
        out
    }

    /// The span of `key: value` 's value after `span`, or of the first value of `key`.
    pub(super) fn find_value(&self, span: Span, key: &str, value: Option<&str>) -> Option<Span> {
        self.find_values(span, key)
            .into_iter()
            .find(|(_, v)| value.is_none_or(|x| *v == x))
            .map(|(s, _)| s)
    }

    // ----- labels ------------------------------------------------------------------------------
}
