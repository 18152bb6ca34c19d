//! The offset map of a scalar: for each byte of a string value, the byte of the file text it was
//! written as. A value and its text differ when the scalar is quoted (`''` and backslash escapes),
//! spans several lines (line folding) or is a block scalar (indentation, `>` folding); the map
//! lets a span inside the value (a reference in a filter, a name in a formula) point at the exact
//! characters of the file.
//!
//! The map is computed by decoding the scalar's text again, style by style, as YAML 1.2 does, and
//! is returned only when the decoded string is the value the parser produced, so a map is never
//! a guess.

use crate::source::{Located, Span};

/// A decoded string and, for each of its bytes and its end, an offset into the scalar's text.
struct Decoded {
    text: String,
    map: Vec<usize>,
    /// Whether each byte came from an escape (kept when trailing white space is trimmed).
    escaped: Vec<bool>,
}

impl Decoded {
    fn new() -> Decoded {
        Decoded {
            text: String::new(),
            map: Vec::new(),
            escaped: Vec::new(),
        }
    }

    /// A character written literally at `at`.
    fn literal(&mut self, c: char, at: usize) {
        for k in 0..c.len_utf8() {
            self.map.push(at + k);
            self.escaped.push(false);
        }
        self.text.push(c);
    }

    /// A character written as an escape (or a folded line break) starting at `at`.
    fn escape(&mut self, c: char, at: usize) {
        for _ in 0..c.len_utf8() {
            self.map.push(at);
            self.escaped.push(true);
        }
        self.text.push(c);
    }

    /// Drop trailing spaces and tabs written literally (white space before a line break).
    fn trim_end(&mut self) {
        while self.text.ends_with([' ', '\t']) && self.escaped.last() == Some(&false) {
            self.text.pop();
            self.map.pop();
            self.escaped.pop();
        }
    }
}

/// Where the bytes of `value`, parsed from the scalar at `span`, were written: the locator the
/// expression parsers compute spans with. A value written as it reads is plain; a quoted value
/// written as it reads between its quotes is placed one byte in, without a map; an escaped,
/// folded or block scalar gets its offset map; a text that does not decode to the value (a value
/// tally made itself) points at the whole scalar.
pub fn locate(sources: &crate::source::SourceMap, span: Span, value: &str) -> Located {
    if span.is_dummy() {
        return Located::plain(span);
    }
    match sources.get(span.file) {
        Some(file) => locate_in(&file.text, span, value),
        None => Located::plain(span),
    }
}

/// [`locate`] in the text of the span's file.
fn locate_in(text: &str, span: Span, value: &str) -> Located {
    let (start, end) = (span.start as usize, span.end as usize);
    let Some(src) = text.get(start..end) else {
        return Located::whole(span);
    };
    if src == value {
        return Located::plain(span);
    }
    if quoted_as_written(src, value) {
        return Located::quoted(span, value.len());
    }
    match value_offsets(text, start, end, value) {
        Some(map) => Located::mapped(span, map),
        None => Located::whole(span),
    }
}

/// Whether `src` is `value` between a pair of quotes with nothing to decode: no escape (`''` in
/// single quotes, a backslash or a quote in double quotes) and no line break (folding). Such a
/// value's offset map is `[1, 2, .., len + 1]`, which [`Located::quoted`] stands for. An empty
/// value keeps the full map (its end maps to the opening quote).
fn quoted_as_written(src: &str, value: &str) -> bool {
    let bytes = src.as_bytes();
    let quote = match bytes.first() {
        Some(&q @ (b'\'' | b'"')) => q,
        _ => return false,
    };
    !value.is_empty()
        && bytes.len() == value.len() + 2
        && bytes[bytes.len() - 1] == quote
        && &src[1..src.len() - 1] == value
        && !value
            .bytes()
            .any(|b| b == quote || b == b'\n' || b == b'\r' || (quote == b'"' && b == b'\\'))
}

/// The characters of a string value in its file: inside the quotes of a quoted scalar, the
/// text of a block scalar without its header; [`Span::DUMMY`] for a value without a span.
pub fn value_span(sources: &crate::source::SourceMap, value: &super::Spanned<String>) -> Span {
    locate(sources, value.span, &value.value).sub(0, value.value.len())
}

/// For each byte of `value` and its end, the offset in `text[start..end]` (the scalar's span in
/// its file) it was written at; `None` when the text does not decode to `value`.
pub fn value_offsets(text: &str, start: usize, end: usize, value: &str) -> Option<Vec<usize>> {
    let src = text.get(start..end)?;
    if src == value {
        return Some((0..=value.len()).collect());
    }
    let mut decoded = match src.as_bytes().first().copied()? {
        b'\'' => flow(src, 1, Quote::Single)?,
        b'"' => flow(src, 1, Quote::Double)?,
        b'|' | b'>' => return finish(block(text, start, end)?, text, start, value),
        _ => match block_header_before(text, start) {
            Some(header) => return finish(block(text, header, end)?, text, start, value),
            None => flow(src, 0, Quote::Plain)?,
        },
    };
    // Flow scalars are decoded from their own text: make the offsets absolute.
    decoded.map.iter_mut().for_each(|m| *m += start);
    finish(decoded, text, start, value)
}

/// Compare a decoded string with the value: trailing line breaks (block chomping) map to the end.
/// The end entry is where the last character's written form ends (after a whole escape such as
/// `\x27` or `''`), so a span of the whole value covers all of it.
fn finish(mut d: Decoded, text: &str, start: usize, value: &str) -> Option<Vec<usize>> {
    let body = value.trim_end_matches('\n');
    while d.text.ends_with('\n') {
        d.text.pop();
        d.map.pop();
    }
    if d.text != body {
        return None;
    }
    let end = match (d.map.last(), d.escaped.last()) {
        (Some(&m), Some(true)) => m + written_len(text, m),
        (Some(&m), _) => m + 1,
        (None, _) => start,
    };
    let mut map: Vec<usize> = d.map.iter().map(|m| m.saturating_sub(start)).collect();
    map.resize(value.len() + 1, end.saturating_sub(start));
    Some(map)
}

/// The length of the escape (or folded line break) written at `at`.
fn written_len(text: &str, at: usize) -> usize {
    let rest = &text[at.min(text.len())..];
    match rest.as_bytes().first() {
        Some(b'\\') => double_escape(rest).map_or(1, |(_, len)| len),
        Some(b'\'') if rest.as_bytes().get(1) == Some(&b'\'') => 2,
        _ => 1,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Plain,
    Single,
    Double,
}

/// Decode a flow scalar (plain, single- or double-quoted) starting at `from` in `src`; offsets are
/// relative to `src`.
fn flow(src: &str, from: usize, quote: Quote) -> Option<Decoded> {
    let mut d = Decoded::new();
    let bytes = src.as_bytes();
    let mut i = from;
    while i < src.len() {
        let c = src[i..].chars().next()?;
        match (quote, c) {
            (Quote::Single, '\'') if bytes.get(i + 1) == Some(&b'\'') => {
                d.escape('\'', i);
                i += 2;
            }
            (Quote::Single, '\'') | (Quote::Double, '"') => break,
            (Quote::Double, '\\') => {
                let (decoded, len) = double_escape(&src[i..])?;
                match decoded {
                    // An escaped line break: the line joins the next without a space.
                    None => {
                        i += len;
                        i = skip_indent(src, i);
                        continue;
                    }
                    Some(ch) => d.escape(ch, i),
                }
                i += len;
            }
            (_, '\r' | '\n') => {
                let (breaks, next) = line_breaks(src, i);
                d.trim_end();
                if breaks == 1 {
                    d.escape(' ', i);
                } else {
                    for _ in 1..breaks {
                        d.escape('\n', i);
                    }
                }
                i = next;
            }
            _ => {
                d.literal(c, i);
                i += c.len_utf8();
            }
        }
    }
    if quote == Quote::Plain {
        d.trim_end();
    }
    Some(d)
}

/// The line breaks from `i` (a line break) through the following blank lines, and the offset of
/// the first character of the next non-blank line after its indentation.
fn line_breaks(src: &str, mut i: usize) -> (usize, usize) {
    let bytes = src.as_bytes();
    let mut breaks = 0;
    loop {
        match bytes.get(i) {
            Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => {
                breaks += 1;
                i += 2;
            }
            Some(b'\r' | b'\n') => {
                breaks += 1;
                i += 1;
            }
            Some(b' ' | b'\t') => i += 1,
            _ => return (breaks, i),
        }
    }
}

fn skip_indent(src: &str, mut i: usize) -> usize {
    let bytes = src.as_bytes();
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// One escape of a double-quoted scalar at the start of `s` (which starts with `\`): the
/// character (`None` for an escaped line break) and the escape's length in bytes.
fn double_escape(s: &str) -> Option<(Option<char>, usize)> {
    let c = s[1..].chars().next()?;
    let simple = match c {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((Some(ch), 1 + c.len_utf8()));
    }
    let digits = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        '\n' => return Some((None, 2)),
        '\r' => return Some((None, if s[2..].starts_with('\n') { 3 } else { 2 })),
        _ => return None,
    };
    let hex = s.get(2..2 + digits)?;
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((Some(ch), 2 + digits))
}

/// When a block scalar's span starts at its content, the offset of its `|` or `>` header on an
/// earlier line; `None` for any other scalar.
fn block_header_before(text: &str, start: usize) -> Option<usize> {
    let before = text.get(..start)?;
    // The header line ends before the content's line; only indentation lies between.
    let line_start = before.rfind('\n')?;
    if !before[line_start + 1..].chars().all(|c| c == ' ') {
        return None;
    }
    let header_line = &before[..line_start];
    let header_start = header_line.rfind('\n').map_or(0, |i| i + 1);
    let line = &header_line[header_start..];
    let code = line.split(" #").next().unwrap_or(line).trim_end();
    let indicator = code.rfind(['|', '>'])?;
    let tail = &code[indicator + 1..];
    let head = code[..indicator].trim_end();
    let head_ok = head.is_empty() || head.ends_with(':') || head.ends_with('-');
    (head_ok && tail.chars().all(|c| matches!(c, '+' | '-' | '1'..='9')))
        .then_some(header_start + indicator)
}

/// Decode a block scalar whose `|` or `>` header is at `header` in `text`; offsets are absolute in
/// `text`.
fn block(text: &str, header: usize, end: usize) -> Option<Decoded> {
    let folded = text.as_bytes().get(header)? == &b'>';
    let header_end = header + text[header..].find('\n')?;
    let explicit = text[header + 1..header_end]
        .chars()
        .find(|c| c.is_ascii_digit())
        .and_then(|c| c.to_digit(10));
    // The content runs to the end of the line the span ends on.
    let end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut at = header_end + 1;
    while at <= end {
        let line_end = text[at..end].find('\n').map_or(end, |i| at + i);
        lines.push((at, text[at..line_end].trim_end_matches('\r')));
        at = line_end + 1;
    }
    let indent = match explicit {
        Some(n) => {
            let line_start = text[..header].rfind('\n').map_or(0, |i| i + 1);
            let parent = text[line_start..].len() - text[line_start..].trim_start().len();
            parent + n as usize
        }
        None => lines
            .iter()
            .find(|(_, l)| !l.trim().is_empty())
            .map(|(_, l)| l.len() - l.trim_start_matches(' ').len())?,
    };
    let mut d = Decoded::new();
    let mut empties = 0;
    let mut first = true;
    let mut prev_spaced = false;
    for (at, line) in lines {
        if line.len() <= indent && line.trim().is_empty() {
            empties += 1;
            continue;
        }
        let content = line.get(indent..)?;
        let spaced = content.starts_with([' ', '\t']);
        let break_at = at.saturating_sub(1);
        if !first {
            let breaks = if folded && !spaced && !prev_spaced {
                if empties == 0 {
                    d.escape(' ', break_at);
                }
                empties
            } else {
                empties + 1
            };
            for _ in 0..breaks {
                d.escape('\n', break_at);
            }
        } else {
            for _ in 0..empties {
                d.escape('\n', break_at);
            }
        }
        for (k, c) in content.char_indices() {
            d.literal(c, at + indent + k);
        }
        empties = 0;
        first = false;
        prev_spaced = spaced;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::value_offsets;

    /// The file text each value byte maps to, as a string, for a scalar that is all of `text`.
    fn mapped(text: &str, value: &str) -> String {
        let map = value_offsets(text, 0, text.len(), value).expect("decodes to the value");
        assert_eq!(map.len(), value.len() + 1);
        value
            .char_indices()
            .map(|(b, _)| text[map[b]..].chars().next().expect("in text"))
            .collect()
    }

    #[test]
    fn plain_and_quoted_scalars() {
        assert_eq!(mapped("a = 1", "a = 1"), "a = 1");
        assert_eq!(mapped("'it''s'", "it's"), "it''s".replace("''", "'"));
        let map = value_offsets("'it''s'", 0, 7, "it's").expect("decodes");
        assert_eq!(map, vec![1, 2, 3, 5, 6]);
        let text = r#""caf\u00e9\t\"x\" = y""#;
        let value = "caf\u{e9}\t\"x\" = y";
        let map = value_offsets(text, 0, text.len(), value).expect("decodes");
        assert_eq!(&text[map[value.find('y').expect("y")]..], "y\"");
        assert_eq!(
            &text[map[value.find('x').expect("x")]..map[value.find('x').expect("x")] + 1],
            "x"
        );
    }

    #[test]
    fn line_folding_in_flow_scalars() {
        let text = "\"a  \n    b\n\n  c\"";
        let map = value_offsets(text, 0, text.len(), "a b\nc").expect("decodes");
        assert_eq!(&text[map[2]..map[2] + 1], "b");
        assert_eq!(&text[map[4]..map[4] + 1], "c");
        let text = "\"a\\\n   b\"";
        let map = value_offsets(text, 0, text.len(), "ab").expect("decodes");
        assert_eq!(&text[map[1]..map[1] + 1], "b");
    }

    #[test]
    fn block_scalars() {
        let text = "k: |\n  one\n    two\n\n  three\n";
        let start = text.find("one").expect("one");
        let value = "one\n  two\n\nthree\n";
        let map = value_offsets(text, start, text.len() - 1, value).expect("decodes");
        assert_eq!(
            &text[start + map[value.find("two").expect("two")]..][..3],
            "two"
        );
        assert_eq!(
            &text[start + map[value.find("three").expect("three")]..][..5],
            "three"
        );
        let text = "k: >-\n  one\n  two\n\n  three\n";
        let value = "one two\nthree";
        let header = text.find('>').expect(">");
        let map = value_offsets(text, header, text.len() - 1, value).expect("decodes");
        assert_eq!(&text[header + map[4]..][..3], "two");
        assert_eq!(&text[header + map[8]..][..5], "three");
    }

    /// The quoted fast path places every sub-span and every slice's sub-span exactly as the full
    /// offset map does; texts that need decoding keep the map.
    #[test]
    fn quoted_fast_path_places_every_byte_as_the_full_map() {
        use super::{locate_in, quoted_as_written};
        use crate::source::{FileId, Located, Span};
        let cases: &[(&str, &str, bool)] = &[
            ("'café = ü'", "café = ü", true),
            ("\"a 'b' = \t1\"", "a 'b' = \t1", true),
            ("'a\\b ✓'", "a\\b ✓", true),
            ("'x'", "x", true),
            (
                "\"{{ Dimension('a__b') }} = 'x'\"",
                "{{ Dimension('a__b') }} = 'x'",
                true,
            ),
            ("\"x \\\"y\\\" ü\"", "x \"y\" ü", false),
            ("'it''s ü'", "it's ü", false),
            ("\"caf\\u00e9 \\t✓\"", "café \t✓", false),
            ("'a = 1  \n    and b'", "a = 1 and b", false),
            ("\"a\\\n   b ✓\"", "ab ✓", false),
            ("'a\n\n  ü'", "a\nü", false),
            ("''", "", false),
            ("\"\"", "", false),
            ("plain ü", "plain ü", false),
        ];
        for &(scalar, value, fast) in cases {
            let text = format!("k: {scalar}\nnext: 1\n");
            let (start, end) = (3, 3 + scalar.len());
            let span = Span::new(FileId(0), start, end);
            assert_eq!(quoted_as_written(scalar, value), fast, "{scalar:?}");
            let got = locate_in(&text, span, value);
            let map = value_offsets(&text, start, end, value).expect("decodes to the value");
            let full = Located::mapped(span, map);
            let n = value.len() + 2;
            for a in 0..=n {
                for b in 0..=n {
                    assert_eq!(got.sub(a, b), full.sub(a, b), "{scalar:?} sub({a}, {b})");
                    let (gs, fs) = (got.slice(a, b), full.slice(a, b));
                    assert_eq!(gs.span, fs.span, "{scalar:?} slice({a}, {b})");
                    for c in 0..=n {
                        for d in 0..=n {
                            assert_eq!(gs.sub(c, d), fs.sub(c, d), "{scalar:?} {a} {b} {c} {d}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_text_that_does_not_decode_to_the_value_has_no_map() {
        assert_eq!(value_offsets("'a'", 0, 3, "b"), None);
        assert_eq!(value_offsets("abc", 1, 9, "b"), None);
    }
}
