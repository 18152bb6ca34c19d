//! JSON with spans: a small parser into the same [`Node`] tree as [`crate::yaml`], so that
//! machine-written files (dbt's `semantic_manifest.json`) decode through the same serde
//! deserializer and their errors point at file, line and column.

use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
use crate::yaml::{Node, NodeKind};

/// Deeper nesting than this is refused rather than risking the stack (a semantic manifest is about
/// eight levels deep).
const MAX_DEPTH: usize = 128;

/// Parse one JSON document. A syntax error becomes one diagnostic with the position of the fault.
pub fn parse(file: FileId, text: &str) -> Result<Node, Diagnostic> {
    let mut p = Parser {
        file,
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error(
            "unexpected text after the JSON value",
            "expected the end of the file",
        ));
    }
    Ok(node)
}

struct Parser<'a> {
    file: FileId,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str, label: &str) -> Diagnostic {
        let start = self.pos.min(self.bytes.len());
        let mut end = (start + 1).min(self.bytes.len());
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        Diagnostic::error(codes::JSON_SYNTAX, format!("invalid JSON: {message}"))
            .at(Span::new(self.file, start, end))
            .with_label(label.to_string())
            .with_help("the file is not valid JSON: regenerate it (`dbt parse` writes target/semantic_manifest.json)")
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, Diagnostic> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply", "too deep"));
        }
        let start = self.pos;
        let kind = match self.bytes.get(self.pos) {
            None => return Err(self.error("unexpected end of file", "a value was expected here")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => NodeKind::Str(self.string()?),
            Some(b't') => self.word("true", NodeKind::Bool(true))?,
            Some(b'f') => self.word("false", NodeKind::Bool(false))?,
            Some(b'n') => self.word("null", NodeKind::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value", "not a JSON value")),
        };
        Ok(Node {
            span: Span::new(self.file, start, self.pos),
            kind,
        })
    }

    fn word(&mut self, w: &str, kind: NodeKind) -> Result<NodeKind, Diagnostic> {
        if self.text[self.pos..].starts_with(w) {
            self.pos += w.len();
            Ok(kind)
        } else {
            Err(self.error("expected a value", "not a JSON value"))
        }
    }

    fn number(&mut self) -> Result<NodeKind, Diagnostic> {
        let start = self.pos;
        let mut float = false;
        while let Some(b) = self.bytes.get(self.pos) {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let s = &self.text[start..self.pos];
        if !float {
            if let Ok(i) = s.parse::<i64>() {
                return Ok(NodeKind::Int(i));
            }
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(NodeKind::Float(f)),
            _ => {
                self.pos = start;
                Err(self.error(&format!("invalid number `{s}`"), "not a number"))
            }
        }
    }

    fn string(&mut self) -> Result<String, Diagnostic> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                self.pos = open;
                return Err(self.error("unterminated string", "this string never ends"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let Some(&e) = self.bytes.get(self.pos + 1) else {
                        self.pos = open;
                        return Err(self.error("unterminated string", "this string never ends"));
                    };
                    self.pos += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => {
                            self.pos -= 2;
                            return Err(self.error("invalid escape", "not a JSON escape"));
                        }
                    }
                }
                0..=0x1f => {
                    return Err(self.error(
                        "control character in a string",
                        "write it as an escape (\\n, \\t, \\u00XX)",
                    ))
                }
                _ => {
                    // Copy a run of plain characters at once (the text is valid UTF-8).
                    let start = self.pos;
                    while self
                        .bytes
                        .get(self.pos)
                        .is_some_and(|c| *c != b'"' && *c != b'\\' && *c >= 0x20)
                    {
                        self.pos += 1;
                    }
                    out.push_str(&self.text[start..self.pos]);
                }
            }
        }
    }

    /// The four hex digits after `\u` (the cursor is on them), with a following low surrogate.
    fn unicode_escape(&mut self) -> Result<char, Diagnostic> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.text[self.pos..].starts_with("\\u") {
                return Err(self.error("unpaired surrogate in \\u escape", "invalid escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.error("unpaired surrogate in \\u escape", "invalid escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape", "invalid escape"))
    }

    fn hex4(&mut self) -> Result<u32, Diagnostic> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        match u32::from_str_radix(digits, 16) {
            Ok(v) if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_hexdigit()) => {
                self.pos += 4;
                Ok(v)
            }
            _ => Err(self.error("invalid \\u escape", "expected four hex digits")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeKind, Diagnostic> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(NodeKind::Seq(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(NodeKind::Seq(items));
                }
                _ => {
                    return Err(self.error("expected `,` or `]`", "the list continues or ends here"))
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<NodeKind, Diagnostic> {
        self.pos += 1;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(NodeKind::Map(entries));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a key in double quotes", "a key was expected"));
            }
            let start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(self.file, start, self.pos);
            if entries
                .iter()
                .any(|(k, _)| k.as_str() == Some(key.as_str()))
            {
                return Err(Diagnostic::error(
                    codes::DUPLICATE_KEY,
                    format!("key `{key}` appears twice in the same object"),
                )
                .at(key_span)
                .with_label("second occurrence")
                .with_help("remove or rename one of them"));
            }
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected `:` after the key", "`:` was expected here"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            entries.push((
                Node {
                    span: key_span,
                    kind: NodeKind::Str(key),
                },
                value,
            ));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(NodeKind::Map(entries));
                }
                _ => {
                    return Err(
                        self.error("expected `,` or `}`", "the object continues or ends here")
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_byte_spans() {
        let text = r#"{"a": [1, 2.5, "x\u00e9\ud83d\ude00"], "b": {"c": null, "d": true}}"#;
        let n = parse(FileId(0), text).unwrap();
        let a = n.get("a").unwrap();
        assert_eq!(&text[a.span.range()], r#"[1, 2.5, "x\u00e9\ud83d\ude00"]"#);
        let NodeKind::Seq(items) = &a.kind else {
            panic!("a list")
        };
        assert_eq!(items[0].kind, NodeKind::Int(1));
        assert_eq!(items[1].kind, NodeKind::Float(2.5));
        assert_eq!(items[2].kind, NodeKind::Str("xé😀".into()));
        assert_eq!(
            n.get("b").unwrap().get("d").unwrap().kind,
            NodeKind::Bool(true)
        );
    }

    #[test]
    fn errors_point_at_the_fault() {
        for (text, at, code) in [
            ("{\"a\": 1,\n \"b\" 2}", 14, codes::JSON_SYNTAX),
            ("[1, 2", 5, codes::JSON_SYNTAX),
            ("{\"a\": tru}", 6, codes::JSON_SYNTAX),
            ("{\"a\": 1, \"a\": 2}", 9, codes::DUPLICATE_KEY),
            ("\"abc", 0, codes::JSON_SYNTAX),
            ("{} x", 3, codes::JSON_SYNTAX),
        ] {
            let d = parse(FileId(0), text).unwrap_err();
            assert_eq!((d.code, d.span.start as usize), (code, at), "{text}");
        }
        let deep = "[".repeat(1000);
        assert_eq!(
            parse(FileId(0), &deep).unwrap_err().code,
            codes::JSON_SYNTAX
        );
    }
}
