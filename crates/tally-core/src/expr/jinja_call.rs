//! The Jinja object syntax shared by filters and items: `Dimension(...)`, `TimeDimension(...)`,
//! `Entity(...)`, `Metric(...)` and their methods; a nom lexer and a hand-written parser.

use super::{is_name_char, DunderName, RefKind, Reference, Src};
use crate::diag::{did_you_mean, Diagnostic};
use crate::source::Span;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while};
use nom::character::complete::{char, digit1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::{IResult, Parser};

/// Where an object is written: the methods and arguments allowed differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    Filter,
    GroupBy,
    OrderBy,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum JKind {
    Ident,
    Str(String),
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    /// `}}` or `-}}`.
    Close,
    /// Any other character; the parser reports it where it is unexpected.
    Other,
}

#[derive(Clone, Debug)]
pub(super) struct JTok {
    pub(super) kind: JKind,
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) struct Lexed {
    /// The tokens, ending with the `Close` token when `closed`.
    pub(super) toks: Vec<JTok>,
    pub(super) closed: bool,
}

fn j_ident(i: &str) -> IResult<&str, &str> {
    recognize((
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(is_name_char),
    ))
    .parse_complete(i)
}

/// Zero or more ASCII digits. Not nom's `digit0`: in nom 8.0.0 it returns a remainder that does not
/// point into the input when the digits run to the end, which breaks `recognize`.
pub(super) fn digits0(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| c.is_ascii_digit()).parse_complete(i)
}

fn j_number(i: &str) -> IResult<&str, &str> {
    recognize((digit1, opt((char('.'), digits0)))).parse_complete(i)
}

/// A Jinja string literal in single or double quotes, with backslash escapes.
fn j_string(input: &str) -> IResult<&str, String> {
    let (mut rest, q) = one_of("'\"").parse_complete(input)?;
    let mut out = String::new();
    loop {
        let (r, chunk) = take_till(|c: char| c == q || c == '\\').parse_complete(rest)?;
        out.push_str(chunk);
        let (r, c) = one_of("'\"\\").parse_complete(r)?;
        if c == q {
            return Ok((r, out));
        }
        if c != '\\' {
            out.push(c);
            rest = r;
            continue;
        }
        let (r, e) = satisfy(|_: char| true).parse_complete(r)?;
        out.push(match e {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            other => other,
        });
        rest = r;
    }
}

fn j_token(i: &str) -> IResult<&str, JKind> {
    alt((
        value(JKind::Close, alt((tag("-}}"), tag("}}")))),
        j_string.map(JKind::Str),
        value(JKind::Ident, j_ident),
        value(JKind::Number, j_number),
        value(JKind::LParen, char('(')),
        value(JKind::RParen, char(')')),
        value(JKind::LBracket, char('[')),
        value(JKind::RBracket, char(']')),
        value(JKind::Comma, char(',')),
        value(JKind::Dot, char('.')),
        value(JKind::Eq, char('=')),
    ))
    .parse_complete(i)
}

/// Tokens from `start` up to and including the first `}}` outside a string, or to the end.
pub(super) fn lex_jinja(src: &Src<'_>, start: usize) -> Result<Lexed, Diagnostic> {
    let text = src.text;
    let mut toks = Vec::new();
    let mut pos = start;
    loop {
        let rest = &text[pos..];
        pos += rest.len() - rest.trim_start().len();
        let rest = &text[pos..];
        let Some(first) = rest.chars().next() else {
            return Ok(Lexed {
                toks,
                closed: false,
            });
        };
        match j_token(rest) {
            Ok((r, kind)) => {
                let end = pos + rest.len() - r.len();
                // A name never contains `}}`: such a string most likely lacks its closing quote
                // and ran on to a later quote.
                if let (JKind::Str(_), Some(i)) = (&kind, text[pos..end].find("}}")) {
                    return Err(src.err(
                        pos,
                        pos + i,
                        "unterminated string",
                        "this string is not closed before `}}`",
                        format!("close the string with a matching {first}"),
                    ));
                }
                let close = kind == JKind::Close;
                toks.push(JTok {
                    kind,
                    start: pos,
                    end,
                });
                pos = end;
                if close {
                    return Ok(Lexed { toks, closed: true });
                }
            }
            Err(_) if first == '\'' || first == '"' => {
                return Err(src.err(
                    pos,
                    text.len(),
                    "unterminated string",
                    "this string is never closed",
                    format!("close the string with a matching {first}"),
                ));
            }
            Err(_) => {
                let end = pos + first.len_utf8();
                toks.push(JTok {
                    kind: JKind::Other,
                    start: pos,
                    end,
                });
                pos = end;
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Val {
    Str(String),
    List(Vec<(String, usize, usize)>),
    Bool(bool),
    None,
    Number,
}

#[derive(Clone, Debug)]
struct Value {
    val: Val,
    start: usize,
    end: usize,
}

#[derive(Clone, Debug)]
struct Arg {
    keyword: Option<(String, usize, usize)>,
    value: Value,
    start: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PTy {
    /// A required, non-empty name.
    Name,
    /// An optional word (a grain or a date part), or None.
    Word,
    /// A list of names, or None.
    List,
    /// True, False or None.
    Bool,
}

/// What each parameter of a function means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Grain,
    EntityPath,
    Descending,
    DatePart,
    GroupBy,
}

struct Param {
    name: &'static str,
    ty: PTy,
    field: Field,
}

const fn param(name: &'static str, ty: PTy, field: Field) -> Param {
    Param { name, ty, field }
}

const DIMENSION_PARAMS: &[Param] = &[
    param("name", PTy::Name, Field::Name),
    param("entity_path", PTy::List, Field::EntityPath),
];
const TIME_DIMENSION_PARAMS: &[Param] = &[
    param("time_dimension_name", PTy::Name, Field::Name),
    param("time_granularity_name", PTy::Word, Field::Grain),
    param("entity_path", PTy::List, Field::EntityPath),
    param("descending", PTy::Bool, Field::Descending),
    param("date_part_name", PTy::Word, Field::DatePart),
];
const ENTITY_PARAMS: &[Param] = &[
    param("entity_name", PTy::Name, Field::Name),
    param("entity_path", PTy::List, Field::EntityPath),
];
const METRIC_PARAMS: &[Param] = &[
    param("metric_name", PTy::Name, Field::Name),
    param("group_by", PTy::List, Field::GroupBy),
];

fn params_of(kind: RefKind) -> &'static [Param] {
    match kind {
        RefKind::Dimension => DIMENSION_PARAMS,
        RefKind::TimeDimension => TIME_DIMENSION_PARAMS,
        RefKind::Entity => ENTITY_PARAMS,
        RefKind::Metric => METRIC_PARAMS,
    }
}

/// The index of a keyword argument among a function's parameters. Older MetricFlow releases
/// called the first parameter of `Dimension` `dimension_name`; both are accepted.
fn keyword_index(kind: RefKind, keyword: &str) -> Option<usize> {
    if kind == RefKind::Dimension && keyword == "dimension_name" {
        return Some(0);
    }
    params_of(kind).iter().position(|p| p.name == keyword)
}

const METHODS: [&str; 3] = ["grain", "date_part", "descending"];

/// A parsed object with what only order items use.
pub(super) struct Obj {
    pub(super) reference: Reference,
    pub(super) descending: Option<bool>,
    /// Where `descending` was given (the whole item when it was not).
    pub(super) descending_at: (usize, usize),
}

pub(super) struct JParser<'s, 'a> {
    src: &'s Src<'a>,
    toks: &'s [JTok],
    pos: usize,
    ctx: Ctx,
}

/// An object being built, with the places where its optional parts were set.
struct Builder {
    reference: Reference,
    grain_at: Option<(usize, usize)>,
    date_part_at: Option<(usize, usize)>,
    group_by_given: bool,
    descending: Option<bool>,
    descending_at: Option<(usize, usize)>,
}

impl<'s, 'a> JParser<'s, 'a> {
    pub(super) fn new(src: &'s Src<'a>, toks: &'s [JTok], ctx: Ctx) -> Self {
        JParser {
            src,
            toks,
            pos: 0,
            ctx,
        }
    }

    pub(super) fn peek(&self) -> Option<&'s JTok> {
        self.toks.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&'s JKind> {
        self.peek().map(|t| &t.kind)
    }

    fn text(&self, t: &JTok) -> &'a str {
        &self.src.text[t.start..t.end]
    }

    pub(super) fn describe(&self, t: &JTok) -> String {
        match t.kind {
            JKind::Close => "`}}`".to_string(),
            JKind::Str(_) => format!("the string {}", self.text(t)),
            _ => format!("`{}`", self.text(t)),
        }
    }

    /// An error at the current token (or just after the last one): `what` was expected.
    fn expected(&self, what: &str, help: impl Into<String>) -> Diagnostic {
        match self.peek() {
            Some(t) => self.src.err(
                t.start,
                t.end,
                format!("expected {what}, found {}", self.describe(t)),
                format!("expected {what}"),
                help,
            ),
            None => {
                let (s, e) = self
                    .toks
                    .last()
                    .map_or((self.src.text.len(), self.src.text.len()), |t| {
                        (t.start, t.end)
                    });
                self.src.err(
                    s,
                    e,
                    format!("expected {what} at the end"),
                    format!("expected {what} after this"),
                    help,
                )
            }
        }
    }

    fn eat(&mut self, kind: &JKind) -> Option<&'s JTok> {
        let t = self.peek()?;
        if &t.kind == kind {
            self.pos += 1;
            Some(t)
        } else {
            None
        }
    }

    pub(super) fn parse_object(&mut self) -> Result<Obj, Diagnostic> {
        const FORMS: &str =
            "refer to Dimension('...'), TimeDimension('...', 'grain'), Entity('...') or \
                             Metric('...', group_by=['...'])";
        let head = match self.peek() {
            Some(t) if t.kind == JKind::Ident => t,
            _ => return Err(self.expected("a reference such as Dimension('...')", FORMS)),
        };
        let fname = self.text(head);
        let called = matches!(self.toks.get(self.pos + 1), Some(t) if t.kind == JKind::LParen);
        let Some(kind) = RefKind::from_function_name(fname) else {
            let names = RefKind::ALL.map(RefKind::function_name);
            let mut d = if called {
                self.src.err(
                    head.start,
                    head.end,
                    format!("unknown function `{fname}`"),
                    "not a known reference function",
                    FORMS,
                )
            } else {
                self.src.err(
                    head.start,
                    head.end,
                    format!("`{fname}` is not a reference"),
                    "expected Dimension(...), TimeDimension(...), Entity(...) or Metric(...)",
                    format!(
                        "write the name as a string inside a reference, as in Dimension('{fname}')"
                    ),
                )
            };
            if called {
                if let Some(s) = did_you_mean(fname, names) {
                    // The likely fix goes before the general advice.
                    d.help.insert(0, format!("did you mean `{s}`?"));
                }
            }
            return Err(d);
        };
        self.pos += 1;
        if self.eat(&JKind::LParen).is_none() {
            return Err(self.expected(
                &format!("`(` after `{fname}`"),
                format!("call it, as in {}", kind.example()),
            ));
        }
        let (args, close_end) = self.parse_args(kind.function_name(), kind.example())?;
        let mut b = Builder {
            reference: Reference::new(kind, String::new(), Span::DUMMY),
            grain_at: None,
            date_part_at: None,
            group_by_given: false,
            descending: None,
            descending_at: None,
        };
        self.bind(kind, head, close_end, &args, &mut b)?;
        let mut end = close_end;
        while self.eat(&JKind::Dot).is_some() {
            end = self.parse_method(&mut b)?;
        }
        self.finish(head.start, end, b)
    }

    /// Arguments after `(` up to and including `)`; returns them and the end of the `)`.
    fn parse_args(&mut self, callee: &str, example: &str) -> Result<(Vec<Arg>, usize), Diagnostic> {
        let mut args = Vec::new();
        loop {
            if let Some(t) = self.eat(&JKind::RParen) {
                return Ok((args, t.end));
            }
            let Some(first) = self.peek() else {
                return Err(self.expected(
                    &format!("`)` to close the call of `{callee}`"),
                    format!("close the call, as in {example}"),
                ));
            };
            let keyword = match (first.kind.clone(), self.toks.get(self.pos + 1)) {
                (JKind::Ident, Some(eq)) if eq.kind == JKind::Eq => {
                    self.pos += 2;
                    Some((self.text(first).to_string(), first.start, first.end))
                }
                _ => None,
            };
            let value = self.parse_value(example)?;
            args.push(Arg {
                keyword,
                value,
                start: first.start,
            });
            if self.eat(&JKind::Comma).is_some() {
                continue;
            }
            if let Some(t) = self.eat(&JKind::RParen) {
                return Ok((args, t.end));
            }
            return Err(self.expected(
                &format!("`,` or `)` in the call of `{callee}`"),
                format!("separate arguments with commas and close the call, as in {example}"),
            ));
        }
    }

    fn parse_value(&mut self, example: &str) -> Result<Value, Diagnostic> {
        let Some(t) = self.peek() else {
            return Err(self.expected("a value", format!("as in {example}")));
        };
        let single = |val| Value {
            val,
            start: t.start,
            end: t.end,
        };
        let v = match &t.kind {
            JKind::Str(s) => single(Val::Str(s.clone())),
            JKind::Number => single(Val::Number),
            JKind::Ident => match self.text(t) {
                "True" | "true" => single(Val::Bool(true)),
                "False" | "false" => single(Val::Bool(false)),
                "None" | "none" => single(Val::None),
                other => {
                    return Err(self.src.err(
                        t.start,
                        t.end,
                        format!("expected a quoted name, found `{other}`"),
                        "not quoted",
                        format!("names are strings: write '{other}'"),
                    ))
                }
            },
            JKind::LBracket | JKind::LParen => {
                let closer = if t.kind == JKind::LBracket {
                    JKind::RBracket
                } else {
                    JKind::RParen
                };
                self.pos += 1;
                return self.parse_list(t.start, &closer);
            }
            _ => {
                return Err(self.expected(
                    "a value",
                    format!("arguments are quoted names, lists of names, True, False or None, as in {example}"),
                ))
            }
        };
        self.pos += 1;
        Ok(v)
    }

    /// The items of a list after its opening bracket, up to and including `closer`.
    fn parse_list(&mut self, start: usize, closer: &JKind) -> Result<Value, Diagnostic> {
        let close_text = if *closer == JKind::RBracket { "]" } else { ")" };
        let mut items = Vec::new();
        loop {
            if let Some(t) = self.eat(closer) {
                return Ok(Value {
                    val: Val::List(items),
                    start,
                    end: t.end,
                });
            }
            match self.peek() {
                Some(JTok {
                    kind: JKind::Str(s),
                    start,
                    end,
                }) => {
                    items.push((s.clone(), *start, *end));
                    self.pos += 1;
                }
                _ => {
                    return Err(self.expected(
                        "a quoted name in the list",
                        "a list holds quoted names, as in ['listing', 'user']",
                    ))
                }
            }
            if self.eat(&JKind::Comma).is_none() && self.peek_kind() != Some(closer) {
                return Err(self.expected(
                    &format!("`,` or `{close_text}` in the list"),
                    "separate names with commas, as in ['listing', 'user']",
                ));
            }
        }
    }

    /// Assign the arguments of a call to the parameters of `kind`.
    fn bind(
        &self,
        kind: RefKind,
        head: &JTok,
        close_end: usize,
        args: &[Arg],
        b: &mut Builder,
    ) -> Result<(), Diagnostic> {
        let params = params_of(kind);
        let fname = kind.function_name();
        let signature = params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        let mut slots: Vec<Option<&Arg>> = vec![None; params.len()];
        let mut positional = 0;
        let mut seen_keyword = false;
        for a in args {
            let idx = match &a.keyword {
                None => {
                    if seen_keyword {
                        return Err(self.src.err(
                            a.value.start,
                            a.value.end,
                            "positional argument after a keyword argument",
                            "positional argument",
                            format!("give it by keyword, or move it before the keyword arguments: {fname}({signature})"),
                        ));
                    }
                    if positional >= params.len() {
                        return Err(self.src.err(
                            a.value.start,
                            a.value.end,
                            format!("too many arguments to `{fname}`"),
                            "unexpected argument",
                            format!("`{fname}` takes {fname}({signature})"),
                        ));
                    }
                    positional += 1;
                    positional - 1
                }
                Some((kw, ks, ke)) => {
                    seen_keyword = true;
                    match keyword_index(kind, kw) {
                        Some(i) => i,
                        None => {
                            let mut d = self.src.err(
                                *ks,
                                *ke,
                                format!("`{fname}` has no parameter `{kw}`"),
                                "unknown parameter",
                                format!("`{fname}` takes {fname}({signature})"),
                            );
                            if let Some(s) = did_you_mean(kw, params.iter().map(|p| p.name)) {
                                // The likely fix goes before the general advice.
                                d.help.insert(0, format!("did you mean `{s}`?"));
                            }
                            return Err(d);
                        }
                    }
                }
            };
            if let Some(prev) = slots[idx] {
                return Err(self
                    .src
                    .err(
                        a.start,
                        a.value.end,
                        format!("`{}` is given twice", params[idx].name),
                        "given again here",
                        "give each argument once",
                    )
                    .with_secondary(self.src.sub(prev.start, prev.value.end), "first given here"));
            }
            slots[idx] = Some(a);
        }
        for (p, slot) in params.iter().zip(slots) {
            let Some(a) = slot else {
                if p.ty == PTy::Name {
                    return Err(self.src.err(
                        head.start,
                        close_end,
                        format!("`{fname}` needs a name"),
                        format!("missing `{}`", p.name),
                        format!("name what it refers to, as in {}", kind.example()),
                    ));
                }
                continue;
            };
            let v = &a.value;
            let at = (v.start, v.end);
            match p.field {
                Field::Name => b.reference.name = self.want_name(v, p.name)?,
                Field::Grain => {
                    b.reference.grain = self.want_word(v, p.name)?;
                    b.grain_at = b.reference.grain.as_ref().map(|_| at);
                }
                Field::DatePart => {
                    b.reference.date_part = self.want_word(v, p.name)?;
                    b.date_part_at = b.reference.date_part.as_ref().map(|_| at);
                }
                Field::EntityPath => b.reference.entity_path = self.want_list(v, p.name)?,
                Field::GroupBy => {
                    b.reference.group_by = self.want_list(v, p.name)?;
                    b.reference.group_by_items = self.group_by_items(v)?;
                    b.group_by_given = !b.reference.group_by.is_empty();
                }
                Field::Descending => {
                    b.descending = self.want_bool(v, p.name)?;
                    b.descending_at = b.descending.map(|_| (a.start, v.end));
                }
            }
        }
        Ok(())
    }

    fn check_name(&self, s: &str, start: usize, end: usize, what: &str) -> Result<(), Diagnostic> {
        if s.is_empty() {
            return Err(self.src.err(
                start,
                end,
                format!("`{what}` is empty"),
                "empty name",
                "write a name such as 'booking__is_instant'",
            ));
        }
        if let Some(c) = s.chars().find(|&c| !is_name_char(c)) {
            return Err(self.src.err(
                start,
                end,
                format!("`{c}` is not allowed in the name '{s}'"),
                "not a valid name",
                "names are letters, digits and underscores, with `__` between entity links, \
                 as in 'listing__country_latest'",
            ));
        }
        Ok(())
    }

    fn want_name(&self, v: &Value, what: &str) -> Result<String, Diagnostic> {
        match &v.val {
            Val::Str(s) => {
                self.check_name(s, v.start, v.end, what)?;
                Ok(s.clone())
            }
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a quoted name"),
                "not a name",
                "write the name in quotes, as in 'booking__is_instant'",
            )),
        }
    }

    fn want_word(&self, v: &Value, what: &str) -> Result<Option<String>, Diagnostic> {
        match &v.val {
            Val::Str(s) => {
                self.check_name(s, v.start, v.end, what)?;
                Ok(Some(s.to_ascii_lowercase()))
            }
            Val::None => Ok(None),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a quoted name or None"),
                "not a name",
                "write it in quotes, as in 'month' or 'year'",
            )),
        }
    }

    fn want_list(&self, v: &Value, what: &str) -> Result<Vec<String>, Diagnostic> {
        match &v.val {
            Val::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (s, start, end) in items {
                    self.check_name(s, *start, *end, what)?;
                    out.push(s.clone());
                }
                Ok(out)
            }
            Val::None => Ok(Vec::new()),
            Val::Str(s) => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a list of names, not a string"),
                "a string, not a list",
                format!("put it in a list: ['{s}']"),
            )),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be a list of names"),
                "not a list",
                "write a list of quoted names, as in ['listing', 'user']",
            )),
        }
    }

    /// The items of a `group_by=[...]` list (already checked by [`Self::want_list`]) parsed as
    /// group-by items, each placed at the characters of its string.
    fn group_by_items(&self, v: &Value) -> Result<Vec<Reference>, Diagnostic> {
        let Val::List(items) = &v.val else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(items.len());
        for (s, start, end) in items {
            // A name is written as itself between its quotes unless it uses escapes.
            let inner = (start + 1, end.saturating_sub(1).max(start + 1));
            let loc = if self.src.text.get(inner.0..inner.1) == Some(s.as_str()) {
                self.src.loc.slice(inner.0, inner.1)
            } else {
                crate::source::Located::whole(self.src.sub(*start, *end))
            };
            out.push(super::items::parse_group_by_at(s, &loc)?);
        }
        Ok(out)
    }

    fn want_bool(&self, v: &Value, what: &str) -> Result<Option<bool>, Diagnostic> {
        match &v.val {
            Val::Bool(b) => Ok(Some(*b)),
            Val::None => Ok(None),
            _ => Err(self.src.err(
                v.start,
                v.end,
                format!("`{what}` must be True or False"),
                "not a boolean",
                "write True or False",
            )),
        }
    }

    /// One `.method(...)` after the `.`; returns the end of its `)`.
    fn parse_method(&mut self, b: &mut Builder) -> Result<usize, Diagnostic> {
        const HELP: &str =
            "the methods are .grain('month'), .date_part('year') and .descending(True)";
        let t = match self.peek() {
            Some(t) if t.kind == JKind::Ident => t,
            _ => return Err(self.expected("a method name after `.`", HELP)),
        };
        let name = self.text(t);
        let kind = b.reference.kind;
        let fname = kind.function_name();
        if !METHODS.contains(&name) {
            let mut d = self.src.err(
                t.start,
                t.end,
                format!("unknown method `{name}`"),
                "not a known method",
                HELP,
            );
            if let Some(s) = did_you_mean(name, METHODS) {
                // The likely fix goes before the general advice.
                d.help.insert(0, format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
        let timely = matches!(kind, RefKind::Dimension | RefKind::TimeDimension);
        if name != "descending" && !timely {
            return Err(self.src.err(
                t.start,
                t.end,
                format!("`.{name}()` can't be used with `{fname}`"),
                "not allowed here",
                format!("only Dimension and TimeDimension have a time granularity and date parts; `{fname}` has neither"),
            ));
        }
        if name == "descending" && self.ctx != Ctx::OrderBy && kind != RefKind::Dimension {
            return Err(self.src.err(
                t.start,
                t.end,
                format!("`.descending()` can't be used with `{fname}` here"),
                "only order items have a direction",
                "sort with the query's order_by, as in `-bookings` or Metric('bookings').descending(True)",
            ));
        }
        self.pos += 1;
        let method_start = t.start;
        if self.eat(&JKind::LParen).is_none() {
            return Err(self.expected(
                &format!("`(` after `{name}`"),
                format!("call it, as in .{name}({})", method_example(name)),
            ));
        }
        let example = format!(".{name}({})", method_example(name));
        let (args, end) = self.parse_args(name, &example)?;
        let keyword = match name {
            "grain" => "time_granularity",
            "date_part" => "date_part_name",
            _ => "_is_descending",
        };
        let arg = match args.as_slice() {
            [a] => a,
            [] => {
                return Err(self.src.err(
                    method_start,
                    end,
                    format!("`.{name}()` needs one argument"),
                    "missing argument",
                    format!("give it, as in {example}"),
                ))
            }
            [_, extra, ..] => {
                return Err(self.src.err(
                    extra.start,
                    extra.value.end,
                    format!("`.{name}()` takes one argument"),
                    "unexpected argument",
                    format!("give one, as in {example}"),
                ))
            }
        };
        if let Some((kw, ks, ke)) = &arg.keyword {
            if kw != keyword {
                return Err(self.src.err(
                    *ks,
                    *ke,
                    format!("`.{name}()` has no parameter `{kw}`"),
                    "unknown parameter",
                    format!("pass the value alone, as in {example}"),
                ));
            }
        }
        let here = (method_start, end);
        match name {
            "grain" => {
                let g = self.want_word(&arg.value, "time_granularity")?;
                if let Some(prev) = b.grain_at {
                    return Err(self.already_set(here, prev, "time granularity"));
                }
                b.grain_at = g.as_ref().map(|_| here);
                b.reference.grain = g;
            }
            "date_part" => {
                let p = self.want_word(&arg.value, "date_part_name")?;
                if let Some(prev) = b.date_part_at {
                    return Err(self.already_set(here, prev, "date part"));
                }
                b.date_part_at = p.as_ref().map(|_| here);
                b.reference.date_part = p;
            }
            _ => {
                let d = self.want_bool(&arg.value, keyword)?;
                if let Some(prev) = b.descending_at {
                    return Err(self.already_set(here, prev, "direction"));
                }
                b.descending_at = d.map(|_| here);
                b.descending = d;
            }
        }
        Ok(end)
    }

    fn already_set(&self, here: (usize, usize), prev: (usize, usize), what: &str) -> Diagnostic {
        self.src
            .err(
                here.0,
                here.1,
                format!("the {what} is already set"),
                "set again here",
                format!("set the {what} once"),
            )
            .with_secondary(self.src.sub(prev.0, prev.1), "first set here")
    }

    fn finish(&self, start: usize, end: usize, mut b: Builder) -> Result<Obj, Diagnostic> {
        let r = &mut b.reference;
        r.span = self.src.sub(start, end);
        if r.kind == RefKind::Metric && self.ctx == Ctx::Filter && !b.group_by_given {
            return Err(self.src.err(
                start,
                end,
                format!("`Metric('{}')` in a filter needs `group_by`", r.name),
                "missing group_by",
                format!(
                    "say what to aggregate the metric by, as in Metric('{}', group_by=['listing'])",
                    r.name
                ),
            ));
        }
        // MetricFlow takes a standard grain suffix of the name as the grain; a different grain given
        // as well is a contradiction, the same grain given twice is harmless.
        if let (Some(g), Some(at)) = (r.grain.clone(), b.grain_at) {
            if r.kind != RefKind::Entity {
                let d = DunderName::parse(&r.name);
                if let Some(suffix) = d.trailing_grain() {
                    if suffix != g {
                        return Err(self
                            .src
                            .err(
                                at.0,
                                at.1,
                                format!(
                                    "`{}` ends in the granularity `{suffix}` but `{g}` is given too",
                                    r.name
                                ),
                                "a different granularity",
                                format!(
                                    "remove the `__{suffix}` suffix from the name and give the granularity once"
                                ),
                            )
                            .with_secondary(r.span, "in this reference"));
                    }
                    let keep = r.name.len() - suffix.len() - 2;
                    r.name.truncate(keep);
                }
            }
        }
        let descending_at = b.descending_at.unwrap_or((start, end));
        Ok(Obj {
            reference: b.reference,
            descending: if self.ctx == Ctx::OrderBy {
                b.descending
            } else {
                None
            },
            descending_at,
        })
    }
}

fn method_example(name: &str) -> &'static str {
    match name {
        "grain" => "'month'",
        "date_part" => "'year'",
        _ => "True",
    }
}
