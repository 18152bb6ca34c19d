//! YAML with spans, and a serde deserializer over it that collects diagnostics.
//!
//! `saphyr` parses the text (multi-document, YAML 1.2) into marked nodes; we convert them into our own
//! [`Node`] tree whose spans are byte ranges in a [`SourceFile`](crate::source::SourceFile). The serde
//! [`serde::Deserializer`] ([`NodeDe`]) over a node records every unknown key (with a "did you mean" among the keys the
//! target struct accepts) instead of stopping at the first, and attaches the span of the innermost
//! node to any type error, so messages point at the offending value.

mod build;
mod offsets;
#[cfg(test)]
mod reference;
pub mod remembered;
pub use offsets::{locate, value_offsets, value_span};

use crate::diag::{codes, did_you_mean, Diagnostic};
use crate::source::{FileId, Span};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::cell::RefCell;
use std::fmt;

/// A YAML value with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar. `raw` is the text exactly as written for plain scalars (so `expr: 1` stays
    /// "1" when a string is wanted).
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Map(e) => e,
            _ => &[],
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// Parse a YAML file into its documents, in one pass over the text (`yaml/build.rs`). A syntax
/// error becomes one diagnostic.
///
/// With a [`remembered::Store`] installed, a text parsed before (in any file, by any earlier run)
/// is looked up by its SHA-256 instead of scanned, and a text that parses is handed to the store.
pub fn parse(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    match remembered::store() {
        None => build::parse(file, text),
        Some(store) => parse_keyed(store, file, text, remembered::key(text)),
    }
}

/// [`parse`] for a file of the [`crate::source::SourceMap`]: a store looks it up by the SHA-256
/// the file computes once (the validation cache's digest names the file by it too).
pub fn parse_file(
    file: FileId,
    source: &crate::source::SourceFile,
) -> Result<Vec<Node>, Diagnostic> {
    match remembered::store() {
        None => build::parse(file, &source.text),
        Some(store) => parse_keyed(store, file, &source.text, source.sha256()),
    }
}

fn parse_keyed(
    store: &dyn remembered::Store,
    file: FileId,
    text: &str,
    key: remembered::Key,
) -> Result<Vec<Node>, Diagnostic> {
    if let Some(docs) = store
        .get(&key)
        .and_then(|b| remembered::decode(&b, file, text.len()))
    {
        return Ok(docs);
    }
    let docs = build::parse(file, text)?;
    store.put(key, remembered::encode(&docs));
    Ok(docs)
}

/// The deepest nesting of lists and mappings tally reads. Real project files nest a dozen levels;
/// the bound keeps every recursive step after parsing (conversion, deserialization, dropping the
/// tree) far from the end of the stack.
pub const MAX_DEPTH: usize = 100;

fn too_deep(file: FileId, text: &str, at: usize) -> Diagnostic {
    let at = at.min(text.len());
    let end = at + text[at..].chars().next().map_or(0, char::len_utf8);
    Diagnostic::error(
        codes::YAML_SYNTAX,
        format!("YAML nested more than {MAX_DEPTH} levels deep"),
    )
    .at(Span::new(file, at, end))
    .with_label("too deep")
    .with_help(format!(
        "tally reads lists and mappings nested at most {MAX_DEPTH} levels; flatten this document"
    ))
}

/// `<<` merge keys (YAML 1.1, common in dbt projects): the entries of the merged mapping (or of
/// each mapping of a merged list, the first one winning) that the mapping does not set itself.
fn merge_keys(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, Diagnostic> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return Ok(entries);
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries {
        if k.as_str() != Some("<<") {
            own.push((k, v));
            continue;
        }
        let sources = match v.kind {
            NodeKind::Map(m) => vec![m],
            NodeKind::Seq(items) => {
                let mut maps = Vec::new();
                for item in items {
                    match item.kind {
                        NodeKind::Map(m) => maps.push(m),
                        _ => return Err(bad_merge(item.span, item.type_name())),
                    }
                }
                maps
            }
            _ => return Err(bad_merge(v.span, v.type_name())),
        };
        for m in sources {
            for (mk, mv) in m {
                if !merged.iter().any(|(k2, _)| k2.kind == mk.kind) {
                    merged.push((mk, mv));
                }
            }
        }
    }
    for (mk, mv) in merged {
        if !own.iter().any(|(k2, _)| k2.kind == mk.kind) {
            own.push((mk, mv));
        }
    }
    Ok(own)
}

fn bad_merge(span: Span, found: &str) -> Diagnostic {
    Diagnostic::error(
        codes::YAML_SYNTAX,
        format!("a `<<` merge key takes a mapping or a list of mappings, found {found}"),
    )
    .at(span)
    .with_label("not a mapping")
    .with_help("write `<<: *anchor` where `anchor` names a mapping (`&anchor`)")
}

// ----- Spanned<T> --------------------------------------------------------------------------------

const SPANNED: &str = "$__tally_spanned";
/// Newtype name that asks the deserializer to accept a single value where a list is expected.
pub const ONE_OR_MANY: &str = "$__tally_one_or_many";
/// Struct-name prefix: a plain string is accepted as shorthand for `{name: <string>}`.
const STR_OR_MAP: &str = "str_or_map:";
/// Struct-name prefix: a plain string is accepted as shorthand for `{type: <string>}` (dbt's
/// `entity: primary`, `dimension: categorical` on columns).
const TYPE_OR_MAP: &str = "type_or_map:";
/// Struct-name prefix: a boolean is accepted as shorthand for `{enabled: <bool>}` (dbt's
/// `semantic_model: true`).
const BOOL_OR_MAP: &str = "bool_or_map:";
const SPANNED_FIELDS: &[&str] = &["$__file", "$__start", "$__end", "$__value"];

/// A value together with the span of the YAML text it came from.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub span: Span,
    pub value: T,
}

impl<T> Spanned<T> {
    pub fn new(span: Span, value: T) -> Spanned<T> {
        Spanned { span, value }
    }
    /// A value made by tally itself, not read from a file.
    pub fn synthetic(value: T) -> Spanned<T> {
        Spanned {
            span: Span::DUMMY,
            value,
        }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Spanned<T>, A::Error> {
                let mut file = 0u32;
                let mut start = 0u32;
                let mut end = 0u32;
                let mut value = None;
                // The keys are read as borrowed names (no `String` per key and value).
                while let Some(k) = m.next_key::<SpannedKey>()? {
                    match k {
                        SpannedKey::File => file = m.next_value()?,
                        SpannedKey::Start => start = m.next_value()?,
                        SpannedKey::End => end = m.next_value()?,
                        SpannedKey::Value => value = Some(m.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field("$__value"))?;
                Ok(Spanned {
                    span: Span {
                        file: FileId(file),
                        start,
                        end,
                    },
                    value,
                })
            }
        }
        d.deserialize_struct(SPANNED, SPANNED_FIELDS, V(std::marker::PhantomData))
    }
}

/// The keys [`SpannedDe`] gives a [`Spanned`] value, read without allocating.
enum SpannedKey {
    File,
    Start,
    End,
    Value,
}

impl<'de> Deserialize<'de> for SpannedKey {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SpannedKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key of a spanned value")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<SpannedKey, E> {
                Ok(match k {
                    "$__file" => SpannedKey::File,
                    "$__start" => SpannedKey::Start,
                    "$__end" => SpannedKey::End,
                    _ => SpannedKey::Value,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

// ----- the deserializer ---------------------------------------------------------------------------

/// Errors of the deserializer. The span is filled in by the innermost node that saw the error.
#[derive(Debug)]
pub struct Error {
    diag: Diagnostic,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            diag: Diagnostic::error(codes::INVALID_VALUE, msg.to_string()),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Error {
            diag: Diagnostic::error(codes::MISSING_KEY, format!("missing key `{field}`"))
                .with_label(format!("this mapping needs `{field}`"))
                .with_help(format!("add `{field}: ...` to this mapping")),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let d = Diagnostic::error(
            codes::INVALID_VALUE,
            format!("unknown value `{}`", clip(variant)),
        )
        .with_label("not an allowed value")
        .with_suggestion(variant, expected.iter().copied())
        .with_help(format!("allowed values: {}", expected.join(", ")));
        Error { diag: d }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Error {
            diag: Diagnostic::error(
                codes::INVALID_VALUE,
                format!("expected {exp}, found {}", describe(&unexp)),
            )
            .with_label(format!("expected {exp}"))
            .with_help("see the reference of this key in the README, or `tally schema`"),
        }
    }
}

/// A user's value quoted in a message: at most 80 characters of it.
fn clip(s: &str) -> String {
    match s.char_indices().nth(80) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

fn describe(u: &de::Unexpected) -> String {
    match u {
        de::Unexpected::Map => "a mapping".into(),
        de::Unexpected::Seq => "a list".into(),
        de::Unexpected::Str(s) => format!("the string \"{}\"", clip(s)),
        de::Unexpected::Unit => "null".into(),
        other => other.to_string(),
    }
}

impl Error {
    fn at(mut self, span: Span) -> Error {
        self.diag = self.diag.at_if_unset(span);
        self
    }
    pub fn into_diagnostic(self) -> Diagnostic {
        self.diag
    }
}

/// Deserialize a node into `T`. Unknown keys are collected into `warnings_and_errors` and skipped;
/// a type error ends this value and is returned.
pub fn from_node<'de, T: Deserialize<'de>>(
    node: &'de Node,
    diags: &'de RefCell<Vec<Diagnostic>>,
) -> Result<T, Diagnostic> {
    T::deserialize(NodeDe { node, diags }).map_err(|e| e.at(node.span).into_diagnostic())
}

/// Deserialize a node, pushing any error into `diags` and returning `None` on failure.
pub fn decode<'de, T: Deserialize<'de>>(
    node: &'de Node,
    diags: &'de RefCell<Vec<Diagnostic>>,
) -> Option<T> {
    match from_node(node, diags) {
        Ok(v) => Some(v),
        Err(d) => {
            diags.borrow_mut().push(d);
            None
        }
    }
}

#[derive(Clone, Copy)]
struct NodeDe<'a> {
    node: &'a Node,
    diags: &'a RefCell<Vec<Diagnostic>>,
}

impl<'a> NodeDe<'a> {
    /// The text of a scalar as a string, whatever type YAML resolved it to.
    fn scalar_text(&self) -> Option<String> {
        match &self.node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            NodeKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

macro_rules! forward_with_span {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let span = self.node.span;
        let r = match &self.node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Bool(b) => visitor.visit_bool(*b),
            NodeKind::Int(i) => visitor.visit_i64(*i),
            NodeKind::Float(f) => visitor.visit_f64(*f),
            NodeKind::Str(s) => visitor.visit_str(s),
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
                diags: self.diags,
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                diags: self.diags,
                fields: None,
            }),
        };
        r.map_err(|e| e.at(span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // dbt projects write booleans as True/False; YAML 1.2 resolves those, and we also accept the
        // quoted forms because MetricFlow's fixtures use them.
        if let NodeKind::Str(s) = &self.node.kind {
            match s.as_str() {
                "true" | "True" | "TRUE" => return visitor.visit_bool(true),
                "false" | "False" | "FALSE" => return visitor.visit_bool(false),
                _ => {}
            }
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar_text() {
            Some(s) => visitor
                .visit_string(s)
                .map_err(|e: Error| e.at(self.node.span)),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r: Result<V::Value, Error> = match &self.node.kind {
            NodeKind::Int(i) => visitor.visit_f64(*i as f64),
            NodeKind::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => visitor.visit_f64(f),
                Err(_) => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        };
        r.map_err(|e| e.at(self.node.span))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r: Result<V::Value, Error> = match &self.node.kind {
            NodeKind::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        };
        r.map_err(|e| e.at(self.node.span))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.kind {
            NodeKind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let span = self.node.span;
        if name == SPANNED {
            return visitor
                .visit_map(SpannedDe {
                    node: self.node,
                    diags: self.diags,
                    step: 0,
                })
                .map_err(|e| e.at(span));
        }
        let shorthand = match &self.node.kind {
            NodeKind::Str(_) if name.starts_with(STR_OR_MAP) => Some("name"),
            NodeKind::Str(_) if name.starts_with(TYPE_OR_MAP) => Some("type"),
            NodeKind::Bool(_) if name.starts_with(BOOL_OR_MAP) => Some("enabled"),
            _ => None,
        };
        if let Some(key) = shorthand {
            return visitor
                .visit_map(NameOnlyDe {
                    node: self.node,
                    diags: self.diags,
                    step: 0,
                    key,
                })
                .map_err(|e| e.at(span));
        }
        match &self.node.kind {
            NodeKind::Map(entries) => visitor
                .visit_map(MapDe {
                    entries: entries.iter(),
                    value: None,
                    diags: self.diags,
                    fields: Some(fields),
                })
                .map_err(|e| e.at(span)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let span = self.node.span;
        match &self.node.kind {
            NodeKind::Str(s) => visitor
                .visit_enum(s.to_ascii_lowercase().into_deserializer())
                .map_err(|e: Error| e.at(span)),
            NodeKind::Map(entries) if entries.len() == 1 => visitor
                .visit_enum(EnumDe {
                    key: &entries[0].0,
                    value: &entries[0].1,
                    diags: self.diags,
                })
                .map_err(|e| e.at(span)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == ONE_OR_MANY {
            let items: &[Node] = match &self.node.kind {
                NodeKind::Seq(_) => return visitor.visit_newtype_struct(self),
                NodeKind::Null => &[],
                _ => std::slice::from_ref(self.node),
            };
            return visitor
                .visit_seq(SeqDe {
                    items: items.iter(),
                    diags: self.diags,
                })
                .map_err(|e| e.at(self.node.span));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_with_span! {
        deserialize_i8 deserialize_i16 deserialize_u8 deserialize_u16 deserialize_i128 deserialize_u128
        deserialize_char deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map
        deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    diags: &'a RefCell<Vec<Diagnostic>>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(NodeDe {
                    node,
                    diags: self.diags,
                })
                .map(Some)
                .map_err(|e| e.at(node.span)),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
    diags: &'a RefCell<Vec<Diagnostic>>,
    /// For structs: the keys the struct accepts. Other keys are reported and skipped.
    fields: Option<&'static [&'static str]>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        loop {
            let Some((k, v)) = self.entries.next() else {
                return Ok(None);
            };
            if let Some(fields) = self.fields {
                let key = k.as_str().unwrap_or_default();
                if !fields.contains(&key) {
                    let mut d =
                        Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{key}`"))
                            .at(k.span)
                            .with_label("not a key tally knows here")
                            .with_suggestion(key, fields.iter().copied());
                    if did_you_mean(key, fields.iter().copied()).is_none() {
                        let mut known: Vec<&str> = fields.to_vec();
                        known.sort_unstable();
                        d = d.with_help(format!("known keys: {}", known.join(", ")));
                    }
                    self.diags.borrow_mut().push(d);
                    continue;
                }
            }
            self.value = Some(v);
            return seed
                .deserialize(NodeDe {
                    node: k,
                    diags: self.diags,
                })
                .map(Some)
                .map_err(|e| e.at(k.span));
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let node = self.value.take().expect("value after key");
        seed.deserialize(NodeDe {
            node,
            diags: self.diags,
        })
        .map_err(|e| e.at(node.span))
    }
}

struct SpannedDe<'a> {
    node: &'a Node,
    diags: &'a RefCell<Vec<Diagnostic>>,
    step: usize,
}

impl<'de> MapAccess<'de> for SpannedDe<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.step >= SPANNED_FIELDS.len() {
            return Ok(None);
        }
        seed.deserialize(SPANNED_FIELDS[self.step].into_deserializer())
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let step = self.step;
        self.step += 1;
        let s = self.node.span;
        match step {
            0 => seed.deserialize(s.file.0.into_deserializer()),
            1 => seed.deserialize(s.start.into_deserializer()),
            2 => seed.deserialize(s.end.into_deserializer()),
            _ => seed.deserialize(NodeDe {
                node: self.node,
                diags: self.diags,
            }),
        }
    }
}

/// A scalar written where a mapping was allowed: `{<key>: <scalar>}` (`key` is `name` for
/// `str_or_map:` structs).
struct NameOnlyDe<'a> {
    node: &'a Node,
    diags: &'a RefCell<Vec<Diagnostic>>,
    step: usize,
    key: &'static str,
}

impl<'de> MapAccess<'de> for NameOnlyDe<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.step > 0 {
            return Ok(None);
        }
        self.step = 1;
        seed.deserialize(self.key.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(NodeDe {
            node: self.node,
            diags: self.diags,
        })
    }
}

struct EnumDe<'a> {
    key: &'a Node,
    value: &'a Node,
    diags: &'a RefCell<Vec<Diagnostic>>,
}

impl<'de> de::EnumAccess<'de> for EnumDe<'de> {
    type Error = Error;
    type Variant = NodeDe<'de>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'de>), Error> {
        let v = seed
            .deserialize(NodeDe {
                node: self.key,
                diags: self.diags,
            })
            .map_err(|e| e.at(self.key.span))?;
        Ok((
            v,
            NodeDe {
                node: self.value,
                diags: self.diags,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Measure {
        name: Spanned<String>,
        expr: Option<String>,
        #[serde(default)]
        create_metric: bool,
    }

    #[test]
    fn deep_block_nesting_is_an_error_before_any_tree() {
        let list = format!("{}x\n", "- ".repeat(10_000));
        let d = parse(FileId(0), &list).unwrap_err();
        assert_eq!(d.code, codes::YAML_SYNTAX);
        assert!(d.message.contains("nested more than"), "{}", d.message);
        let mut map = String::new();
        for i in 0..6_000 {
            map.push_str(&" ".repeat(i));
            map.push_str("a:\n");
        }
        assert!(parse(FileId(0), &map).is_err());
        // At the limit is fine.
        let ok = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse(FileId(0), &ok).is_ok());
        let over = format!("{}x\n", "- ".repeat(MAX_DEPTH + 1));
        assert!(parse(FileId(0), &over).is_err());
    }

    #[test]
    fn merge_keys_merge_and_own_keys_win() {
        let text =
            "base: &b {name: a, expr: x}\nm:\n  <<: *b\n  expr: y\nn:\n  <<: [*b, {agg: sum}]\n";
        let docs = parse(FileId(0), text).unwrap();
        let m = docs[0].get("m").unwrap();
        assert_eq!(m.get("name").and_then(Node::as_str), Some("a"));
        assert_eq!(m.get("expr").and_then(Node::as_str), Some("y"));
        assert!(m.get("<<").is_none());
        let n = docs[0].get("n").unwrap();
        assert_eq!(n.get("agg").and_then(Node::as_str), Some("sum"));
        assert!(parse(FileId(0), "m:\n  <<: 3\n").is_err());
    }

    #[test]
    fn spans_point_at_values_and_unknown_keys_are_collected() {
        let text = "a: 1\n---\nname: bookings\nexpr: 1\nexprr: x\ncreate_metric: True\nagg: sum\n";
        let docs = parse(FileId(0), text).unwrap();
        assert_eq!(docs.len(), 2);
        let diags = RefCell::new(Vec::new());
        let m: Measure = from_node(&docs[1], &diags).unwrap();
        assert_eq!(m.name.value, "bookings");
        assert_eq!(&text[m.name.span.range()], "bookings");
        assert_eq!(m.expr.as_deref(), Some("1"));
        assert!(m.create_metric);
        let diags = diags.into_inner();
        assert_eq!(diags.len(), 2);
        assert_eq!(&text[diags[0].span.range()], "exprr");
        assert_eq!(diags[0].help, vec!["did you mean `expr`?".to_string()]);
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let text = "name: [a]\n";
        let docs = parse(FileId(0), text).unwrap();
        let diags = RefCell::new(Vec::new());
        let err = from_node::<Measure>(&docs[0], &diags).unwrap_err();
        assert_eq!(&text[err.span.range()], "[a]");
    }
}
