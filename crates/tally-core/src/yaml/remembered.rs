//! Parsed YAML remembered by its text: a program may install a [`Store`] (the CLI's cache keeps
//! one file per project), and [`super::parse`] then looks a file's text up by its SHA-256 before
//! scanning it, and hands the documents it parsed to the store. Only texts that parse are
//! remembered, so every diagnostic comes from the scanner as before; what is remembered is the
//! tree [`super::build`] made (spans without their file, which the reader supplies), so a hit
//! gives the same [`Node`]s as parsing. Anything a remembered entry does not decode to (a byte
//! short, a span past the text, nesting past [`MAX_DEPTH`], invalid UTF-8) is a miss.

use super::{Node, NodeKind, MAX_DEPTH};
use crate::source::{FileId, Span};
use std::sync::{Arc, OnceLock};

/// A text's name in the store: the SHA-256 of the encoding's version and the text.
pub type Key = [u8; 32];

/// Where parsed texts are kept between runs. Implementations never fail loudly: a `get` that
/// cannot answer is a miss, a `put` that cannot keep is forgotten.
pub trait Store: Send + Sync {
    /// The encoded documents of the text named `key`, if kept.
    fn get(&self, key: &Key) -> Option<Arc<[u8]>>;
    /// Keep the encoded documents of the text named `key`.
    fn put(&self, key: Key, encoded: Vec<u8>);
}

static STORE: OnceLock<Box<dyn Store>> = OnceLock::new();

/// Install the process's store; `false` when one is installed already (the first one stays). A
/// library caller that installs none parses every text.
pub fn install(store: Box<dyn Store>) -> bool {
    STORE.set(store).is_ok()
}

pub(super) fn store() -> Option<&'static dyn Store> {
    STORE.get().map(|b| &**b)
}

/// The version of [`encode`]'s format and of what the scanner makes of a text: a store keeps it
/// with its entries and gives nothing back to a reader of another version.
pub const FORMAT: &str = "tally parsed yaml 1";

/// The key of `text`: its SHA-256 (as [`crate::source::SourceFile::sha256`] computes it).
pub fn key(text: &str) -> Key {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const SEQ: u8 = 6;
const MAP: u8 = 7;

/// The documents of a text, in the store's form: a count, then each node as a tag, its span's
/// start and length (LEB128), and its payload.
pub fn encode(docs: &[Node]) -> Vec<u8> {
    let mut out = Vec::new();
    uint(&mut out, docs.len() as u64);
    for d in docs {
        node(&mut out, d);
    }
    out
}

fn uint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn node(out: &mut Vec<u8>, n: &Node) {
    let tag = match &n.kind {
        NodeKind::Null => NULL,
        NodeKind::Bool(false) => FALSE,
        NodeKind::Bool(true) => TRUE,
        NodeKind::Int(_) => INT,
        NodeKind::Float(_) => FLOAT,
        NodeKind::Str(_) => STR,
        NodeKind::Seq(_) => SEQ,
        NodeKind::Map(_) => MAP,
    };
    out.push(tag);
    uint(out, u64::from(n.span.start));
    uint(out, u64::from(n.span.end.saturating_sub(n.span.start)));
    match &n.kind {
        NodeKind::Null | NodeKind::Bool(_) => {}
        NodeKind::Int(i) => uint(out, ((i << 1) ^ (i >> 63)) as u64),
        NodeKind::Float(f) => out.extend_from_slice(&f.to_bits().to_le_bytes()),
        NodeKind::Str(s) => {
            uint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        NodeKind::Seq(items) => {
            uint(out, items.len() as u64);
            for i in items {
                node(out, i);
            }
        }
        NodeKind::Map(pairs) => {
            uint(out, pairs.len() as u64);
            for (k, v) in pairs {
                node(out, k);
                node(out, v);
            }
        }
    }
}

/// The documents `bytes` encode, with spans in `file` (whose text is `len` bytes long); `None`
/// for anything [`encode`] does not make.
pub fn decode(bytes: &[u8], file: FileId, len: usize) -> Option<Vec<Node>> {
    let mut r = Reader {
        bytes,
        at: 0,
        file,
        len,
    };
    let n = r.count()?;
    let mut docs = Vec::with_capacity(n);
    for _ in 0..n {
        docs.push(r.node(0)?);
    }
    (r.at == bytes.len()).then_some(docs)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    file: FileId,
    len: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// A count of items that follow: each takes at least three bytes, so a count the rest cannot
    /// hold is corrupt (and allocates nothing).
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n <= (self.bytes.len() - self.at) / 3).then_some(n)
    }

    fn node(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH + 1 {
            return None;
        }
        let tag = self.byte()?;
        let start = usize::try_from(self.uint()?).ok()?;
        let end = start.checked_add(usize::try_from(self.uint()?).ok()?)?;
        if end > self.len {
            return None;
        }
        let kind = match tag {
            NULL => NodeKind::Null,
            FALSE => NodeKind::Bool(false),
            TRUE => NodeKind::Bool(true),
            INT => {
                let z = self.uint()?;
                NodeKind::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            FLOAT => {
                let b = self.bytes.get(self.at..self.at + 8)?;
                self.at += 8;
                NodeKind::Float(f64::from_bits(u64::from_le_bytes(b.try_into().ok()?)))
            }
            STR => {
                let n = usize::try_from(self.uint()?).ok()?;
                let b = self.bytes.get(self.at..self.at.checked_add(n)?)?;
                self.at += n;
                NodeKind::Str(std::str::from_utf8(b).ok()?.to_string())
            }
            SEQ => {
                let n = self.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.node(depth + 1)?);
                }
                NodeKind::Seq(items)
            }
            MAP => {
                let n = self.count()?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.node(depth + 1)?;
                    pairs.push((k, self.node(depth + 1)?));
                }
                NodeKind::Map(pairs)
            }
            _ => return None,
        };
        Some(Node {
            span: Span::new(self.file, start, end),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let docs = super::super::build::parse(FileId(3), text).expect("parses");
        let bytes = encode(&docs);
        // Debug, not ==: a NaN is not equal to itself.
        let back = decode(&bytes, FileId(3), text.len()).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{docs:?}"), "{text:?}");
    }

    #[test]
    fn every_repository_yaml_file_decodes_to_what_the_scanner_makes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seen = 0;
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().to_string();
                if p.is_dir() {
                    if !name.starts_with('.') && name != "target" && name != "node_modules" {
                        stack.push(p);
                    }
                } else if name.ends_with(".yml") || name.ends_with(".yaml") {
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    if super::super::build::parse(FileId(3), &text).is_ok() {
                        round_trip(&text);
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 100, "{seen} files");
    }

    #[test]
    fn awkward_values_round_trip() {
        round_trip("");
        round_trip("---\na: 1\n---\nb: [x, 'y', \"z\\u00e9\"]\n");
        round_trip("n: -9223372036854775808\nm: 9223372036854775807\nf: -0.0\ng: .nan\nh: .inf\n");
        round_trip("a: &x {k: [1, 2, {q: null}]}\nb: *x\nc: ~\nd: true\ne: false\n");
        round_trip("s: |\n  two\n  lines\nt: >-\n  folded\n  text\nu: héllo wörld\n");
        round_trip("<<: {a: 1}\nb: 2\n");
    }

    #[test]
    fn anything_else_is_a_miss_not_a_panic() {
        let text = "a: [1, {b: c}]\n";
        let docs = super::super::build::parse(FileId(0), text).unwrap();
        let bytes = encode(&docs);
        // Every truncation, and every single byte changed, decodes to nothing or to a tree whose
        // spans stay inside the text.
        for cut in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..cut], FileId(0), text.len()),
                None,
                "cut {cut}"
            );
        }
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Some(docs) = decode(&b, FileId(0), text.len()) {
                    let mut stack: Vec<&Node> = docs.iter().collect();
                    while let Some(n) = stack.pop() {
                        assert!(n.span.end as usize <= text.len());
                        match &n.kind {
                            NodeKind::Seq(s) => stack.extend(s),
                            NodeKind::Map(m) => stack.extend(m.iter().flat_map(|(k, v)| [k, v])),
                            _ => {}
                        }
                    }
                }
            }
        }
        // A span past a shorter text, a huge count, trailing bytes.
        assert_eq!(decode(&bytes, FileId(0), 3), None);
        assert_eq!(decode(&[0xff, 0xff, 0xff, 0xff, 0x0f], FileId(0), 10), None);
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(decode(&extra, FileId(0), text.len()), None);
        // Nesting past the bound.
        let mut deep = Vec::new();
        uint(&mut deep, 1);
        for _ in 0..=MAX_DEPTH + 2 {
            deep.extend([SEQ, 0, 0, 1]);
        }
        deep.extend([NULL, 0, 0]);
        assert_eq!(decode(&deep, FileId(0), 10), None);
    }
}
