//! Spans recovered from the source text for values the model keeps without one.

use super::Validator;
use crate::source::Span;

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
    // ----- finding text the model kept no span for ---------------------------------------------

    /// The text after `span` up to the next object in the same file, as a byte range.
    pub(super) fn region(&self, span: Span) -> Option<(usize, usize, &'m str)> {
        if span.is_dummy() {
            return None;
        }
        let text = self.model.sources.get(span.file)?.text.as_str();
        // `boundaries` is sorted by (file, start): the first one past `span` in its file, found
        // by binary search (a scan per call made validation quadratic in the number of objects).
        let next = self
            .boundaries
            .partition_point(|b| (b.file, b.start) <= (span.file, span.start));
        let end = self
            .boundaries
            .get(next)
            .filter(|b| b.file == span.file)
            .map(|b| b.start as usize)
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
