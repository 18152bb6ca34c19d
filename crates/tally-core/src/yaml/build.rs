//! One pass from YAML text to [`Node`]s: saphyr's event parser (over the `&str`, not a char
//! iterator) drives a builder that makes our tree directly, with byte spans, the nesting bound,
//! anchors and aliases, duplicate keys and `<<` merge keys. The text is scanned once and no
//! intermediate tree is built (before, a depth pass over the events, saphyr's `MarkedYaml` tree
//! with a hash map per mapping, and a conversion of that tree each cost about as much as the
//! scan itself).
//!
//! Which error wins when a file has several is the order saphyr's loader had: a syntax error
//! anywhere, or nesting deeper than [`MAX_DEPTH`] found before it; then the first duplicate key
//! or alias expansion over budget; then the first value tally cannot read (a bad merge key, a
//! core-schema tag whose text does not fit it).

use super::{merge_keys, too_deep, Node, NodeKind, MAX_DEPTH};
use crate::diag::{codes, Diagnostic};
use crate::source::{FileId, Span};
use saphyr_parser::{Event, Parser, ScanError, Tag};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// Nodes that alias expansion may produce in one file (saphyr's loader's budget against
/// "billion laughs" documents).
const ALIAS_BUDGET: usize = 100_000;

/// Mappings with more entries than this find duplicate keys through a set of key hashes.
const LINEAR_KEYS: usize = 16;

/// Parse `text` into its documents.
pub(super) fn parse(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let mut b = Builder::new(file, text);
    for ev in Parser::new_from_str(text) {
        match ev {
            Err(e) => return Err(b.syntax(&e)),
            Ok((ev, span)) => b.event(ev, span.start.index(), span.end.index())?,
        }
    }
    match (b.loader_error, b.value_error) {
        (Some(d), _) | (None, Some(d)) => Err(d),
        (None, None) => Ok(b.docs),
    }
}

/// saphyr reports positions in characters; the byte offset of each (for non-ASCII text).
struct Offsets {
    chars: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let chars = (!text.is_ascii()).then(|| {
            let mut v: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            v.push(text.len());
            v
        });
        Offsets {
            chars,
            len: text.len(),
        }
    }

    fn byte(&self, ci: usize) -> usize {
        match &self.chars {
            None => ci.min(self.len),
            Some(v) => v.get(ci).copied().unwrap_or(self.len),
        }
    }
}

/// A collection being read: its items (or entries) so far are the tail of the builder's shared
/// stack from `from` on, so that each collection is allocated once, at its exact size, when it
/// ends (instead of growing a vector of its own entry by entry).
enum Open {
    Seq {
        from: usize,
    },
    Map {
        from: usize,
        /// The key read, waiting for its value, and the character where its event began.
        key: Option<(Node, usize)>,
        /// Hashes of the string keys, once the mapping is large.
        hashes: Option<HashSet<u64>>,
    },
}

struct Frame {
    open: Open,
    /// Character index of the start event.
    start: usize,
    anchor: usize,
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    at: Offsets,
    stack: Vec<Frame>,
    /// The items of the open sequences, innermost last.
    items: Vec<Node>,
    /// The entries of the open mappings, innermost last.
    entries: Vec<(Node, Node)>,
    docs: Vec<Node>,
    /// Documents finished before the current one began.
    docs_before: usize,
    /// Anchored nodes by saphyr's anchor id (cleared per document, as anchors are).
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    hasher: RandomState,
    /// The first duplicate key or alias over budget; later events only look for syntax errors.
    loader_error: Option<Diagnostic>,
    /// The first value tally cannot read.
    value_error: Option<Diagnostic>,
}

impl<'t> Builder<'t> {
    fn new(file: FileId, text: &'t str) -> Builder<'t> {
        Builder {
            file,
            text,
            at: Offsets::new(text),
            stack: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            docs: Vec::new(),
            docs_before: 0,
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
            hasher: RandomState::new(),
            loader_error: None,
            value_error: None,
        }
    }

    fn syntax(&self, e: &ScanError) -> Diagnostic {
        let at = self.at.byte(e.marker().index());
        Diagnostic::error(codes::YAML_SYNTAX, format!("invalid YAML: {}", e.info()))
            .at(Span::new(
                self.file,
                at,
                (at + 1).min(self.text.len()).max(at),
            ))
            .with_label("here")
            .with_help("check the indentation, quotes and brackets just before this point")
    }

    /// The span of a node from saphyr's character positions: trailing whitespace that some
    /// scalar styles include is dropped, and a flow collection's closing bracket (before which
    /// saphyr's span ends) is included.
    fn span(&self, start: usize, end: usize) -> Span {
        let bytes = self.text.as_bytes();
        let start = self.at.byte(start);
        let mut end = self.at.byte(end).max(start);
        while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
            end -= 1;
        }
        if matches!(
            (bytes.get(start), bytes.get(end)),
            (Some(b'['), Some(b']')) | (Some(b'{'), Some(b'}'))
        ) {
            end += 1;
        }
        Span::new(self.file, start, end)
    }

    fn event(&mut self, ev: Event<'_>, start: usize, end: usize) -> Result<(), Diagnostic> {
        if self.loader_error.is_some() {
            return Ok(());
        }
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.docs_before = self.docs.len();
            }
            Event::DocumentEnd => {
                // A document without a node (saphyr's loader made it a bad value).
                if self.docs.len() == self.docs_before {
                    let span = self.span(start, end);
                    self.value_error.get_or_insert(
                        Diagnostic::error(codes::YAML_SYNTAX, "invalid YAML value").at(span),
                    );
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep(self.file, self.text, self.at.byte(start)));
                }
                let open = if matches!(ev, Event::SequenceStart(..)) {
                    Open::Seq {
                        from: self.items.len(),
                    }
                } else {
                    Open::Map {
                        from: self.entries.len(),
                        key: None,
                        hashes: None,
                    }
                };
                self.stack.push(Frame {
                    open,
                    start,
                    anchor,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let f = self.stack.pop().expect("the parser balances collections");
                let span = self.span(f.start, start);
                let kind = match f.open {
                    Open::Seq { from } => NodeKind::Seq(self.items.drain(from..).collect()),
                    Open::Map { from, .. } => {
                        match merge_keys(self.entries.drain(from..).collect()) {
                            Ok(e) => NodeKind::Map(e),
                            Err(d) => {
                                self.value_error.get_or_insert(d);
                                NodeKind::Null
                            }
                        }
                    }
                };
                self.insert(Node { span, kind }, f.anchor, start);
            }
            Event::Scalar(v, style, anchor, tag) => {
                let span = self.span(start, end);
                let kind = scalar(v, style, tag.as_ref()).unwrap_or_else(|| {
                    self.value_error.get_or_insert(
                        Diagnostic::error(codes::YAML_SYNTAX, "invalid YAML value").at(span),
                    );
                    NodeKind::Null
                });
                self.insert(Node { span, kind }, anchor, start);
            }
            Event::Alias(id) => {
                let span = self.span(start, end);
                let Some(node) = self.alias(id, start) else {
                    return Ok(());
                };
                // A copy can nest its anchor deeper than the text does.
                if self.stack.len() + height(&node) > MAX_DEPTH {
                    return Err(too_deep(self.file, self.text, span.start as usize));
                }
                self.insert(Node { span, ..node }, 0, start);
            }
        }
        Ok(())
    }

    /// The anchored node an alias copies, within the file's expansion budget.
    fn alias(&mut self, id: usize, start: usize) -> Option<Node> {
        let Some(node) = self.anchors.get(&id) else {
            let at = self.at.byte(start);
            self.loader_error = Some(
                Diagnostic::error(
                    codes::YAML_SYNTAX,
                    "invalid YAML: while parsing node, found unknown anchor",
                )
                .at(Span::new(self.file, at, (at + 1).min(self.text.len())))
                .with_label("here")
                .with_help(
                    "an alias (`*name`) refers to an anchor (`&name`) earlier in the same document",
                ),
            );
            return None;
        };
        match count_within(node, self.alias_budget) {
            Some(n) => {
                self.alias_budget -= n;
                Some(node.clone())
            }
            None => {
                let at = self.at.byte(start);
                self.loader_error = Some(
                    Diagnostic::error(
                        codes::YAML_SYNTAX,
                        "invalid YAML: alias expansion exceeded the maximum node budget (possible billion-laughs attack)",
                    )
                    .at(Span::new(self.file, at, (at + 1).min(self.text.len())))
                    .with_label("here")
                    .with_help("check the indentation, quotes and brackets just before this point"),
                );
                None
            }
        }
    }

    /// Put a finished node into its parent (or make it a document); `mark` is the character
    /// where the event that finished it began (where a duplicate key is reported).
    fn insert(&mut self, node: Node, anchor: usize, mark: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(parent) = self.stack.last_mut() else {
            self.docs.push(node);
            return;
        };
        match &mut parent.open {
            Open::Seq { .. } => self.items.push(node),
            Open::Map { from, key, hashes } => match key.take() {
                None => *key = Some((node, mark)),
                Some((k, key_mark)) => {
                    if is_duplicate(&self.hasher, &self.entries[*from..], hashes, &k) {
                        self.loader_error =
                            Some(duplicate_key(self.file, self.text, self.at.byte(key_mark)));
                    }
                    self.entries.push((k, node));
                }
            },
        }
    }
}

/// Whether `key` is already a key of `entries` (keys compare by value, not by place); records
/// it in `hashes` once the mapping is large.
fn is_duplicate(
    hasher: &RandomState,
    entries: &[(Node, Node)],
    hashes: &mut Option<HashSet<u64>>,
    key: &Node,
) -> bool {
    if entries.len() < LINEAR_KEYS {
        return entries.iter().any(|(k, _)| same(&k.kind, &key.kind));
    }
    let set = hashes.get_or_insert_with(|| {
        entries
            .iter()
            .filter_map(|(k, _)| k.as_str().map(|s| hasher.hash_one(s)))
            .collect()
    });
    match key.as_str() {
        Some(s) => {
            // A new hash is a new key; a known one is checked (hashes may collide).
            !set.insert(hasher.hash_one(s)) && entries.iter().any(|(k, _)| k.as_str() == Some(s))
        }
        None => entries.iter().any(|(k, _)| same(&k.kind, &key.kind)),
    }
}

fn duplicate_key(file: FileId, text: &str, at: usize) -> Diagnostic {
    let end = text[at..]
        .find([':', '\n'])
        .map(|i| at + i)
        .unwrap_or(text.len());
    Diagnostic::error(
        codes::DUPLICATE_KEY,
        "this key appears twice in the same mapping",
    )
    .at(Span::new(file, at, end.max(at + 1).min(text.len())))
    .with_label("second occurrence")
    .with_help("YAML keeps only one of the two values; remove or rename one")
}

/// A scalar's value by YAML 1.2's core schema (saphyr's rules): quoted scalars are strings, a
/// core-schema tag (`!!int`) asks for its type (`None` when the text does not fit), other tags
/// are read as untagged.
fn scalar(
    v: Cow<'_, str>,
    style: saphyr_parser::ScalarStyle,
    tag: Option<&Cow<'_, Tag>>,
) -> Option<NodeKind> {
    use saphyr::Scalar;
    let tag = tag.filter(|t| t.is_yaml_core_schema());
    Some(match Scalar::parse_from_cow_and_metadata(v, style, tag)? {
        Scalar::Null => NodeKind::Null,
        Scalar::Boolean(b) => NodeKind::Bool(b),
        Scalar::Integer(i) => NodeKind::Int(i),
        Scalar::FloatingPoint(f) => NodeKind::Float(f.into_inner()),
        Scalar::String(s) => NodeKind::Str(s.into_owned()),
    })
}

/// Keys are equal when their values are (spans aside); NaN equals NaN, as in saphyr's maps.
fn same(a: &NodeKind, b: &NodeKind) -> bool {
    match (a, b) {
        (NodeKind::Null, NodeKind::Null) => true,
        (NodeKind::Bool(x), NodeKind::Bool(y)) => x == y,
        (NodeKind::Int(x), NodeKind::Int(y)) => x == y,
        (NodeKind::Float(x), NodeKind::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (NodeKind::Str(x), NodeKind::Str(y)) => x == y,
        (NodeKind::Seq(x), NodeKind::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(&p.kind, &q.kind))
        }
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k1, v1), (k2, v2))| {
                    same(&k1.kind, &k2.kind) && same(&v1.kind, &v2.kind)
                })
        }
        _ => false,
    }
}

/// Levels below a node (0 for a scalar).
fn height(n: &Node) -> usize {
    match &n.kind {
        NodeKind::Seq(items) => 1 + items.iter().map(height).max().unwrap_or(0),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| height(k).max(height(v)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// The nodes of `n` as saphyr's loader counts them for its alias budget (a mapping's key counts
/// as one), or `None` when they are more than `budget`.
fn count_within(n: &Node, budget: usize) -> Option<usize> {
    fn walk(n: &Node, left: &mut usize) -> bool {
        if *left == 0 {
            return false;
        }
        *left -= 1;
        match &n.kind {
            NodeKind::Seq(items) => items.iter().all(|i| walk(i, left)),
            NodeKind::Map(entries) => entries.iter().all(|(_, v)| {
                if *left == 0 {
                    return false;
                }
                *left -= 1;
                walk(v, left)
            }),
            _ => true,
        }
    }
    let mut left = budget;
    walk(n, &mut left).then_some(budget - left)
}
