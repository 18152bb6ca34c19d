//! Derived-metric formulas: a SQL expression tokenized with nom ([`parse_formula`]).

use super::jinja_call::digits0;
use super::Src;
use crate::diag::{codes, Diagnostic};
use crate::source::{Located, Span};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_until, take_while};
use nom::character::complete::{char, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A name, plain (`bookings`) or quoted (`"bookings"`, `` `bookings` ``).
    Ident,
    Number,
    /// A string literal in single quotes.
    String,
    Op,
    LParen,
    RParen,
    Comma,
    /// Spaces, newlines and `/* */` comments.
    Whitespace,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// The text exactly as written (quotes included).
    pub text: String,
    pub span: Span,
}

impl Token {
    /// Whether this is a quoted identifier.
    pub fn is_quoted(&self) -> bool {
        self.kind == TokenKind::Ident && (self.text.starts_with('"') || self.text.starts_with('`'))
    }

    /// The name an identifier refers to: the text without quotes (doubled quotes undone).
    pub fn name(&self) -> String {
        if !self.is_quoted() || self.text.len() < 2 {
            return self.text.clone();
        }
        let q = &self.text[..1];
        self.text[1..self.text.len() - 1].replace(&q.repeat(2), q)
    }
}

/// A derived metric's formula as tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    pub tokens: Vec<Token>,
    pub span: Span,
}

/// Words that are SQL syntax, not names, in an expression. Compared case-insensitively.
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "AT",
    "BETWEEN",
    "BIGINT",
    "BOOL",
    "BOOLEAN",
    "BY",
    "CASE",
    "CAST",
    "CHAR",
    "COLLATE",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATE",
    "DECIMAL",
    "DESC",
    "DISTINCT",
    "DOUBLE",
    "ELSE",
    "END",
    "ESCAPE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FILTER",
    "FLOAT",
    "FOLLOWING",
    "FROM",
    "HUGEINT",
    "ILIKE",
    "IN",
    "INT",
    "INTEGER",
    "INTERVAL",
    "IS",
    "ISNULL",
    "LIKE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "NOT",
    "NOTNULL",
    "NULL",
    "NULLS",
    "NUMERIC",
    "OR",
    "ORDER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "PRECISION",
    "RANGE",
    "REAL",
    "ROW",
    "ROWS",
    "SIMILAR",
    "SMALLINT",
    "SOME",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TINYINT",
    "TRUE",
    "UNBOUNDED",
    "UNKNOWN",
    "VARCHAR",
    "WHEN",
    "WITH",
    "WITHIN",
    "WITHOUT",
    "ZONE",
];

/// Whether `word` is SQL syntax rather than a name (case-insensitive).
pub fn is_sql_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Formula {
    /// The identifiers that name inputs, in order: not keywords, functions, types, fields or units.
    pub fn identifiers(&self) -> impl Iterator<Item = &Token> {
        let flags = self.input_flags();
        self.tokens
            .iter()
            .zip(flags)
            .filter_map(|(t, is_input)| is_input.then_some(t))
    }

    /// For each token, whether it is an identifier naming an input.
    pub(crate) fn input_flags(&self) -> Vec<bool> {
        // Indices of the tokens that are not whitespace, to look at neighbours.
        let sig: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| self.tokens[i].kind != TokenKind::Whitespace)
            .collect();
        let mut flags = vec![false; self.tokens.len()];
        for (k, &i) in sig.iter().enumerate() {
            let t = &self.tokens[i];
            if t.kind != TokenKind::Ident {
                continue;
            }
            let at = |d: isize| -> Option<&Token> {
                let j = k.checked_add_signed(d)?;
                sig.get(j).map(|&j| &self.tokens[j])
            };
            let is_word = |t: Option<&Token>, w: &str| {
                t.is_some_and(|t| {
                    t.kind == TokenKind::Ident && !t.is_quoted() && t.text.eq_ignore_ascii_case(w)
                })
            };
            let is_op = |t: Option<&Token>, op: &str| {
                t.is_some_and(|t| t.kind == TokenKind::Op && t.text == op)
            };
            let next = at(1);
            let prev = at(-1);
            if next.is_some_and(|n| n.kind == TokenKind::LParen) {
                continue; // A function call.
            }
            if is_op(prev, ".") || is_op(prev, "::") || is_op(next, ".") {
                continue; // A field, a type or a qualifier.
            }
            if !t.is_quoted() {
                if is_sql_keyword(&t.text) || is_word(prev, "AS") {
                    continue; // Syntax, or a type name in CAST(x AS type).
                }
                let prev_is_lparen = prev.is_some_and(|p| p.kind == TokenKind::LParen);
                if prev_is_lparen && is_word(at(-2), "EXTRACT") {
                    continue; // EXTRACT(unit FROM x).
                }
                let prev_is_literal =
                    prev.is_some_and(|p| matches!(p.kind, TokenKind::Number | TokenKind::String));
                if prev_is_literal && is_word(at(-2), "INTERVAL") {
                    continue; // INTERVAL '1' unit.
                }
            }
            flags[i] = true;
        }
        flags
    }
}

type Res<'a, T> = IResult<&'a str, T>;

/// A quoted run with doubled-quote escapes: `'it''s'`, `"a""b"`.
fn quoted(q: char) -> impl Fn(&str) -> Res<'_, &str> {
    move |input: &str| {
        let (mut rest, _) = char(q).parse_complete(input)?;
        loop {
            let (r, _) = take_till(|c: char| c == q).parse_complete(rest)?;
            let (r, _) = char(q).parse_complete(r)?;
            if let Some(r2) = r.strip_prefix(q) {
                rest = r2;
                continue;
            }
            let consumed = input.len() - r.len();
            return Ok((r, &input[..consumed]));
        }
    }
}

fn f_number(i: &str) -> Res<'_, &str> {
    recognize((
        alt((
            recognize((digit1, opt((char('.'), digits0)))),
            recognize((char('.'), digit1)),
        )),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse_complete(i)
}

fn f_ident(i: &str) -> Res<'_, &str> {
    recognize((
        satisfy(|c| c.is_alphabetic() || c == '_'),
        take_while(|c: char| c.is_alphanumeric() || c == '_' || c == '$'),
    ))
    .parse_complete(i)
}

fn f_ws(i: &str) -> Res<'_, &str> {
    multispace1(i)
}

fn f_block_comment(i: &str) -> Res<'_, &str> {
    recognize((tag("/*"), take_until("*/"), tag("*/"))).parse_complete(i)
}

fn f_op(i: &str) -> Res<'_, &str> {
    alt((
        alt((
            tag("<>"),
            tag("<="),
            tag(">="),
            tag("!="),
            tag("=="),
            tag("||"),
            tag("::"),
        )),
        recognize(one_of("+-*/%<>=.|&^~!:[]")),
    ))
    .parse_complete(i)
}

fn f_token(i: &str) -> Res<'_, (TokenKind, &str)> {
    alt((
        f_ws.map(|s| (TokenKind::Whitespace, s)),
        f_block_comment.map(|s| (TokenKind::Whitespace, s)),
        f_number.map(|s| (TokenKind::Number, s)),
        f_ident.map(|s| (TokenKind::Ident, s)),
        quoted('"').map(|s| (TokenKind::Ident, s)),
        quoted('`').map(|s| (TokenKind::Ident, s)),
        quoted('\'').map(|s| (TokenKind::String, s)),
        tag("(").map(|s| (TokenKind::LParen, s)),
        tag(")").map(|s| (TokenKind::RParen, s)),
        tag(",").map(|s| (TokenKind::Comma, s)),
        f_op.map(|s| (TokenKind::Op, s)),
    ))
    .parse_complete(i)
}

/// Tokenize a derived metric's formula, such as `(a + b) / NULLIF(c, 0)`.
pub fn parse_formula(text: &str, span: Span) -> Result<Formula, Diagnostic> {
    parse_formula_at(text, &Located::plain(span))
}

/// [`parse_formula`] of a value whose bytes `loc` places in its file.
pub fn parse_formula_at(text: &str, loc: &Located) -> Result<Formula, Diagnostic> {
    let span = loc.span;
    let src = Src { text, loc };
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("/*") && f_block_comment(rest).is_err() {
            return Err(formula_lex_error(&src, pos));
        }
        if rest.starts_with("--") {
            let end = pos + rest.find('\n').unwrap_or(rest.len());
            return Err(src.err(
                pos,
                end,
                "`--` comments are not allowed in a formula",
                "comment",
                "the formula is pasted inside a larger query, where the comment would hide the rest of \
                 the line; use /* ... */ or the metric's description",
            ));
        }
        match f_token(rest) {
            Ok((r, (kind, s))) => {
                let end = pos + s.len();
                tokens.push(Token {
                    kind,
                    text: s.to_string(),
                    span: src.sub(pos, end),
                });
                debug_assert_eq!(end, text.len() - r.len());
                pos = end;
            }
            Err(_) => return Err(formula_lex_error(&src, pos)),
        }
    }
    if tokens.iter().all(|t| t.kind == TokenKind::Whitespace) {
        return Err(src.err(
            0,
            text.len(),
            "empty formula",
            "expected an expression",
            "write an expression over the inputs, as in `bookings - bookings_2_weeks_ago`",
        ));
    }
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen => open.push(i),
            TokenKind::RParen if open.pop().is_none() => {
                return Err(Diagnostic::error(codes::EXPRESSION, "unmatched `)`")
                    .at(t.span)
                    .with_label("no `(` before this")
                    .with_help("remove it or add the missing `(`"));
            }
            _ => {}
        }
    }
    if let Some(&i) = open.last() {
        return Err(Diagnostic::error(codes::EXPRESSION, "unclosed `(`")
            .at(tokens[i].span)
            .with_label("this `(` is never closed")
            .with_help("add the missing `)`"));
    }
    Ok(Formula { tokens, span })
}

fn formula_lex_error(src: &Src<'_>, pos: usize) -> Diagnostic {
    let rest = &src.text[pos..];
    let end = src.text.len();
    if rest.starts_with("/*") {
        return src.err(
            pos,
            pos + 2,
            "unterminated comment",
            "this comment is never closed",
            "close it with */",
        );
    }
    match rest.chars().next() {
        Some('\'') => src.err(
            pos,
            end,
            "unterminated string",
            "this string is never closed",
            "close it with ' (write '' for a quote inside the string)",
        ),
        Some(q @ ('"' | '`')) => src.err(
            pos,
            end,
            "unterminated quoted identifier",
            "this name is never closed",
            format!("close it with {q}"),
        ),
        Some('{') => {
            let len = if rest.starts_with("{{") { 2 } else { 1 };
            src.err(
                pos,
                pos + len,
                "Jinja is not allowed in a formula",
                "unexpected `{`",
                "refer to the inputs by name (or alias), as in `bookings / NULLIF(visits, 0)`",
            )
        }
        Some(';') => src.err(
            pos,
            pos + 1,
            "unexpected `;` in a formula",
            "not allowed",
            "a formula is one SQL expression; remove the `;`",
        ),
        Some(c) => src.err(
            pos,
            pos + c.len_utf8(),
            format!("unexpected character `{c}` in a formula"),
            "not allowed",
            "a formula is a SQL expression over input names, numbers, strings and operators",
        ),
        None => src.err(
            pos,
            pos,
            "unexpected end of formula",
            "here",
            "complete the expression",
        ),
    }
}

/// The formula with each input identifier replaced by what `map` returns for its name (the name
/// without quotes); identifiers for which `map` returns None, and everything else, stay as written.
pub fn render_formula(f: &Formula, map: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let flags = f.input_flags();
    let mut out = String::new();
    for (t, is_input) in f.tokens.iter().zip(flags) {
        match is_input.then(|| map(&t.name())).flatten() {
            Some(s) => out.push_str(&s),
            None => out.push_str(&t.text),
        }
    }
    out
}
