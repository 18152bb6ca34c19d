//! A derived metric's formula as arithmetic, for attribution: numbers, inputs, `+ - * /`, unary
//! minus, parentheses, `NULLIF(x, y)`, `COALESCE(x, ...)` and `CAST(x AS type)`. Anything else
//! (CASE, comparisons, other functions) is not arithmetic this module understands: the tree then
//! reports the formula as not decomposable instead of guessing.
//!
//! Besides evaluation, a formula is classified: linear in its inputs (sum/difference with
//! coefficients), a monomial (constant × product of powers: ratios and products), or other.

use crate::expr::{Formula, Token, TokenKind};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Arith {
    Num(f64),
    /// An input, by its position in the formula's input list.
    Var(usize),
    Neg(Box<Arith>),
    Add(Box<Arith>, Box<Arith>),
    Sub(Box<Arith>, Box<Arith>),
    Mul(Box<Arith>, Box<Arith>),
    Div(Box<Arith>, Box<Arith>),
    NullIf(Box<Arith>, Box<Arith>),
    Coalesce(Vec<Arith>),
}

/// The formula's structure as far as attribution cares.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// constant + Σ coefficientᵢ · inputᵢ (one coefficient per input).
    Linear(Vec<f64>),
    /// constant · Π inputᵢ ^ exponentᵢ.
    Monomial {
        constant: f64,
        exponents: Vec<f64>,
    },
    Other,
}

/// Parse `formula` over the named inputs (`names[i]` is the name input i has in the formula).
/// `None` when the formula is not plain arithmetic over them.
pub fn parse(formula: &Formula, names: &[String]) -> Option<Arith> {
    let tokens: Vec<&Token> = formula
        .tokens
        .iter()
        .filter(|t| t.kind != TokenKind::Whitespace)
        .collect();
    let mut p = Parser {
        tokens,
        pos: 0,
        names,
    };
    let e = p.expr()?;
    (p.pos == p.tokens.len()).then_some(e)
}

struct Parser<'a> {
    tokens: Vec<&'a Token>,
    pos: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).copied()
    }
    fn is_op(&self, op: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == TokenKind::Op && t.text == op)
    }
    fn eat(&mut self, kind: TokenKind) -> Option<()> {
        (self.peek()?.kind == kind).then(|| self.pos += 1)
    }

    fn expr(&mut self) -> Option<Arith> {
        let mut left = self.term()?;
        loop {
            if self.is_op("+") {
                self.pos += 1;
                left = Arith::Add(Box::new(left), Box::new(self.term()?));
            } else if self.is_op("-") {
                self.pos += 1;
                left = Arith::Sub(Box::new(left), Box::new(self.term()?));
            } else {
                return Some(left);
            }
        }
    }

    fn term(&mut self) -> Option<Arith> {
        let mut left = self.unary()?;
        loop {
            if self.is_op("*") {
                self.pos += 1;
                left = Arith::Mul(Box::new(left), Box::new(self.unary()?));
            } else if self.is_op("/") {
                self.pos += 1;
                left = Arith::Div(Box::new(left), Box::new(self.unary()?));
            } else {
                return Some(left);
            }
        }
    }

    fn unary(&mut self) -> Option<Arith> {
        if self.is_op("-") {
            self.pos += 1;
            return Some(Arith::Neg(Box::new(self.unary()?)));
        }
        if self.is_op("+") {
            self.pos += 1;
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Arith> {
        let t = self.peek()?.clone();
        self.pos += 1;
        match t.kind {
            TokenKind::Number => t.text.parse().ok().map(Arith::Num),
            TokenKind::LParen => {
                let e = self.expr()?;
                self.eat(TokenKind::RParen)?;
                Some(e)
            }
            TokenKind::Ident if self.peek().is_some_and(|n| n.kind == TokenKind::LParen) => {
                self.pos += 1;
                self.call(&t.text.to_ascii_uppercase())
            }
            TokenKind::Ident => {
                let name = t.name();
                let exact = self.names.iter().position(|n| *n == name);
                let folded = || {
                    (!t.is_quoted())
                        .then(|| {
                            self.names
                                .iter()
                                .position(|n| n.eq_ignore_ascii_case(&name))
                        })
                        .flatten()
                };
                exact.or_else(folded).map(Arith::Var)
            }
            _ => None,
        }
    }

    /// A function call after its `(`.
    fn call(&mut self, name: &str) -> Option<Arith> {
        let mut args = vec![self.expr()?];
        if name == "CAST" {
            let is_as = self
                .peek()
                .is_some_and(|t| t.kind == TokenKind::Ident && t.text.eq_ignore_ascii_case("AS"));
            if !is_as {
                return None;
            }
            // Skip the type name (words, numbers, commas and parentheses of `DECIMAL(18, 2)`).
            let mut depth = 0;
            while let Some(t) = self.peek() {
                match t.kind {
                    TokenKind::LParen => depth += 1,
                    TokenKind::RParen if depth == 0 => break,
                    TokenKind::RParen => depth -= 1,
                    _ => {}
                }
                self.pos += 1;
            }
            self.eat(TokenKind::RParen)?;
            return args.pop();
        }
        while self.eat(TokenKind::Comma).is_some() {
            args.push(self.expr()?);
        }
        self.eat(TokenKind::RParen)?;
        match (name, args.len()) {
            ("NULLIF", 2) => {
                let b = args.pop()?;
                let a = args.pop()?;
                Some(Arith::NullIf(Box::new(a), Box::new(b)))
            }
            ("COALESCE", n) if n >= 1 => Some(Arith::Coalesce(args)),
            _ => None,
        }
    }
}

impl Arith {
    /// The value at `x` (inputs by position); `None` is SQL's NULL (also division by zero).
    pub fn eval(&self, x: &[f64]) -> Option<f64> {
        match self {
            Arith::Num(v) => Some(*v),
            Arith::Var(i) => x.get(*i).copied(),
            Arith::Neg(a) => a.eval(x).map(|v| -v),
            Arith::Add(a, b) => Some(a.eval(x)? + b.eval(x)?),
            Arith::Sub(a, b) => Some(a.eval(x)? - b.eval(x)?),
            Arith::Mul(a, b) => Some(a.eval(x)? * b.eval(x)?),
            Arith::Div(a, b) => {
                let d = b.eval(x)?;
                (d != 0.0).then_some(a.eval(x)? / d)
            }
            Arith::NullIf(a, b) => {
                let v = a.eval(x)?;
                (b.eval(x) != Some(v)).then_some(v)
            }
            Arith::Coalesce(args) => args.iter().find_map(|a| a.eval(x)),
        }
    }

    /// Linear, monomial or other, over `n` inputs.
    pub fn shape(&self, n: usize) -> Shape {
        if let Some((_, coeffs)) = self.linear() {
            let mut v = vec![0.0; n];
            for (i, c) in coeffs {
                if let Some(slot) = v.get_mut(i) {
                    *slot = c;
                }
            }
            return Shape::Linear(v);
        }
        if let Some((constant, exps)) = self.monomial() {
            let mut v = vec![0.0; n];
            for (i, e) in exps {
                if let Some(slot) = v.get_mut(i) {
                    *slot = e;
                }
            }
            return Shape::Monomial {
                constant,
                exponents: v,
            };
        }
        Shape::Other
    }

    /// `NULLIF(x, 0)` and a one-argument `COALESCE(x)` guard a value without changing it where
    /// it exists: structurally they are `x`.
    fn unguarded(&self) -> &Arith {
        match self {
            Arith::NullIf(a, b) if matches!(**b, Arith::Num(z) if z == 0.0) => a.unguarded(),
            Arith::Coalesce(args) if args.len() == 1 => args[0].unguarded(),
            other => other,
        }
    }

    /// (constant, coefficient per input) when the formula is affine in its inputs.
    fn linear(&self) -> Option<(f64, BTreeMap<usize, f64>)> {
        let scale = |(c, m): (f64, BTreeMap<usize, f64>), k: f64| {
            (c * k, m.into_iter().map(|(i, v)| (i, v * k)).collect())
        };
        let add = |(c1, mut m1): (f64, BTreeMap<usize, f64>),
                   (c2, m2): (f64, BTreeMap<usize, f64>)| {
            for (i, v) in m2 {
                *m1.entry(i).or_insert(0.0) += v;
            }
            (c1 + c2, m1)
        };
        let constant = |e: &Arith| e.linear().filter(|(_, m)| m.values().all(|v| *v == 0.0));
        match self.unguarded() {
            Arith::Num(v) => Some((*v, BTreeMap::new())),
            Arith::Var(i) => Some((0.0, BTreeMap::from([(*i, 1.0)]))),
            Arith::Neg(a) => Some(scale(a.linear()?, -1.0)),
            Arith::Add(a, b) => Some(add(a.linear()?, b.linear()?)),
            Arith::Sub(a, b) => Some(add(a.linear()?, scale(b.linear()?, -1.0))),
            Arith::Mul(a, b) => match (constant(a), constant(b)) {
                (Some((k, _)), _) => Some(scale(b.linear()?, k)),
                (_, Some((k, _))) => Some(scale(a.linear()?, k)),
                _ => None,
            },
            Arith::Div(a, b) => {
                let (k, _) = constant(b)?;
                if k == 0.0 {
                    return None;
                }
                Some(scale(a.linear()?, 1.0 / k))
            }
            _ => None,
        }
    }

    /// (constant, exponent per input) when the formula is a constant times a product of powers.
    fn monomial(&self) -> Option<(f64, BTreeMap<usize, f64>)> {
        let mul = |(c1, mut m1): (f64, BTreeMap<usize, f64>),
                   (c2, m2): (f64, BTreeMap<usize, f64>),
                   sign: f64| {
            for (i, v) in m2 {
                *m1.entry(i).or_insert(0.0) += sign * v;
            }
            (c1 * if sign > 0.0 { c2 } else { 1.0 / c2 }, m1)
        };
        match self.unguarded() {
            Arith::Num(v) => Some((*v, BTreeMap::new())),
            Arith::Var(i) => Some((1.0, BTreeMap::from([(*i, 1.0)]))),
            Arith::Neg(a) => a.monomial().map(|(c, m)| (-c, m)),
            Arith::Mul(a, b) => Some(mul(a.monomial()?, b.monomial()?, 1.0)),
            Arith::Div(a, b) => {
                let (n, d) = (a.monomial()?, b.monomial()?);
                (d.0 != 0.0).then(|| mul(n, d, -1.0))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse_formula;
    use crate::source::Span;

    fn shape(text: &str, names: &[&str]) -> Shape {
        let f = parse_formula(text, Span::DUMMY).unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        parse(&f, &names)
            .map(|a| a.shape(names.len()))
            .unwrap_or(Shape::Other)
    }

    #[test]
    fn differences_are_linear() {
        assert_eq!(
            shape(
                "resolution_rate - automated_resolution_rate",
                &["resolution_rate", "automated_resolution_rate"]
            ),
            Shape::Linear(vec![1.0, -1.0])
        );
        assert_eq!(
            shape("(a + 2 * b) / 4", &["a", "b"]),
            Shape::Linear(vec![0.25, 0.5])
        );
    }

    #[test]
    fn ratios_and_products_are_monomials() {
        assert_eq!(
            shape("a / NULLIF(b, 0)", &["a", "b"]),
            Shape::Monomial {
                constant: 1.0,
                exponents: vec![1.0, -1.0]
            }
        );
        assert_eq!(
            shape("100 * a * b / c", &["a", "b", "c"]),
            Shape::Monomial {
                constant: 100.0,
                exponents: vec![1.0, 1.0, -1.0]
            }
        );
    }

    #[test]
    fn other_formulas_evaluate() {
        let f = parse_formula("(a - b) / NULLIF(a, 0)", Span::DUMMY).unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let a = parse(&f, &names).unwrap();
        assert_eq!(a.shape(2), Shape::Other);
        assert_eq!(a.eval(&[4.0, 1.0]), Some(0.75));
        assert_eq!(a.eval(&[0.0, 1.0]), None);
        assert!(parse(
            &parse_formula("CASE WHEN a > 0 THEN a END", Span::DUMMY).unwrap(),
            &names
        )
        .is_none());
        let c = parse(
            &parse_formula("CAST(a AS DOUBLE) / b", Span::DUMMY).unwrap(),
            &names,
        )
        .unwrap();
        assert_eq!(c.eval(&[1.0, 4.0]), Some(0.25));
    }
}
