//! Source files and spans.
//!
//! Every value that came from user text carries a [`Span`]: the file it came from and a byte range in
//! that file. Line and column numbers are computed on demand from the [`SourceMap`], so spans stay small
//! and cheap to copy.

use sha2::Digest as _;
use std::path::{Path, PathBuf};

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// A span that points at nothing in particular (values synthesised by tally itself).
    pub const DUMMY: Span = Span {
        file: FileId(u32::MAX),
        start: 0,
        end: 0,
    };

    pub fn is_dummy(&self) -> bool {
        self.file.0 == u32::MAX
    }

    /// A sub-span, given byte offsets relative to the start of this span. Used to point inside a
    /// string value (a filter expression) when the string is written plainly in the file.
    pub fn sub(&self, start: usize, end: usize) -> Span {
        if self.is_dummy() {
            return *self;
        }
        let s = (self.start as usize + start).min(self.end as usize);
        let e = (self.start as usize + end).min(self.end as usize);
        Span::new(self.file, s, e.max(s))
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Where the bytes of a string value are in its file: the value's span and, when the value was
/// written differently from its text (quoted, escaped, folded, a block scalar), the file offset of
/// each of its bytes (the scalar's offset map, `crate::yaml::locate`). The expression parsers
/// compute every span through it, so a span inside a filter or formula is the exact characters of
/// the file in every scalar style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The span of the whole value (quotes included for a quoted scalar).
    pub span: Span,
    at: Offsets,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Offsets {
    /// The value is its text: byte `i` of the value is byte `span.start + i` of the file.
    Plain,
    /// Byte `i` of the value was written at `span.start + map[i]` (one more entry for the end).
    Mapped(Vec<usize>),
    /// The value is its text inside one quote: byte `i` of the value (of `len` bytes) is byte
    /// `span.start + 1 + i` of the file, the same offsets as the map `[1, 2, .., len + 1]`.
    Quoted { len: usize },
    /// The value's text does not decode to it: every sub-span is the whole value.
    Whole,
}

impl Located {
    /// A value written plainly (or with no span at all: the sub-spans of [`Span::DUMMY`] are dummy).
    pub fn plain(span: Span) -> Located {
        Located {
            span,
            at: Offsets::Plain,
        }
    }

    /// A value with its offset map: `map[i]` is where byte `i` of the value was written, relative
    /// to `span.start`, with one more entry for the end of the value.
    pub fn mapped(span: Span, map: Vec<usize>) -> Located {
        Located {
            span,
            at: Offsets::Mapped(map),
        }
    }

    /// A non-empty value written as it reads between the quotes of a quoted scalar (no escape,
    /// no line break): placed as [`Located::mapped`] with the map `[1, 2, .., len + 1]` would
    /// place it, without the map.
    pub fn quoted(span: Span, len: usize) -> Located {
        Located {
            span,
            at: Offsets::Quoted { len },
        }
    }

    /// A value whose bytes cannot be placed in the file: sub-spans are the whole value.
    pub fn whole(span: Span) -> Located {
        Located {
            span,
            at: Offsets::Whole,
        }
    }

    /// The bytes `start..end` of the value as a value of their own (a quoted string inside a
    /// filter, say), placed in the file as this value places them.
    pub fn slice(&self, start: usize, end: usize) -> Located {
        if self.span.is_dummy() {
            return Located::plain(self.span);
        }
        match &self.at {
            Offsets::Plain => Located::plain(self.span.sub(start, end)),
            // An identity map's slice is its own text, written plainly.
            Offsets::Quoted { .. } => Located::plain(self.sub(start, end.max(start))),
            Offsets::Whole => Located::whole(self.span),
            Offsets::Mapped(map) => {
                let last = map.len().saturating_sub(1);
                let (vs, ve) = (start.min(last), end.min(last).max(start.min(last)));
                let base = map[vs];
                let span = self.sub(vs, ve);
                Located::mapped(
                    span,
                    map[vs..=ve]
                        .iter()
                        .map(|m| m.saturating_sub(base))
                        .collect(),
                )
            }
        }
    }

    /// The file span of the value's bytes `start..end`.
    pub fn sub(&self, start: usize, end: usize) -> Span {
        if self.span.is_dummy() {
            return self.span;
        }
        match &self.at {
            Offsets::Plain => self.span.sub(start, end),
            Offsets::Quoted { len } => {
                let (vs, ve) = (start.min(*len), end.min(*len));
                let base = self.span.start as usize + 1;
                Span::new(self.span.file, base + vs, base + ve.max(vs))
            }
            Offsets::Whole => self.span,
            Offsets::Mapped(map) => {
                let last = map.len().saturating_sub(1);
                let (vs, ve) = (start.min(last), end.min(last));
                let s = map[vs];
                // The end of the value is the end entry, after the last character's whole
                // written form (an escape); inside the value, after the last byte's first.
                let e = if ve > vs && ve == last {
                    map[last].max(map[ve - 1] + 1)
                } else if ve > vs {
                    map[ve - 1] + 1
                } else {
                    s
                };
                let base = self.span.start as usize;
                Span::new(self.span.file, base + s, base + e.max(s))
            }
        }
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to users (relative to the project root where possible).
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// The text's SHA-256, computed on first use ([`SourceFile::sha256`]).
    sha: std::sync::OnceLock<[u8; 32]>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, path: impl AsRef<Path>, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            path: path.as_ref().to_path_buf(),
            text,
            line_starts,
            sha: std::sync::OnceLock::new(),
        }
    }

    /// The SHA-256 of the text, computed once: the name the validation cache's digest and the
    /// store of parsed YAML ([`crate::yaml::remembered`]) both give the file.
    pub fn sha256(&self) -> [u8; 32] {
        *self
            .sha
            .get_or_init(|| sha2::Sha256::digest(self.text.as_bytes()).into())
    }

    /// 1-based line and column (column counted in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char(offset);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text[start..offset.min(self.text.len())]
            .chars()
            .count();
        (line + 1, col + 1)
    }

    /// The greatest character boundary at or before `offset` (spans computed inside a string
    /// value can land inside a multi-byte character of the file text).
    pub fn floor_char(&self, offset: usize) -> usize {
        let mut i = offset.min(self.text.len());
        while !self.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }
}

/// All source files of a project, addressed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId((self.files.len() - 1) as u32)
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// `file:line:column` of a span's start, for messages.
    pub fn location(&self, span: Span) -> Option<(String, usize, usize)> {
        let f = self.get(span.file)?;
        let (l, c) = f.line_col(span.start as usize);
        Some((f.name.clone(), l, c))
    }

    /// The text a span covers.
    pub fn text(&self, span: Span) -> Option<&str> {
        self.get(span.file)?.text.get(span.range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let f = SourceFile::new("a.yml", "a.yml", "ab\ncd\n".to_string());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(1), (1, 2));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(4), (2, 2));
    }
}
