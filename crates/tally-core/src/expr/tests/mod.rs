use super::*;
use crate::source::FileId;

/// A string placed after a prefix in a file, so spans are not relative to the file start.
struct Fx {
    file: String,
    span: Span,
}

const PREFIX: &str = "where: ";

fn fx(text: &str) -> Fx {
    Fx {
        file: format!("{PREFIX}{text}\n"),
        span: Span::new(FileId(3), PREFIX.len(), PREFIX.len() + text.len()),
    }
}

impl Fx {
    fn at(&self, span: Span) -> &str {
        assert_eq!(span.file, FileId(3));
        &self.file[span.range()]
    }
    fn filter(&self) -> Result<Template, Diagnostic> {
        parse_filter(&self.file[self.span.range()], self.span)
    }
    fn group_by(&self) -> Result<Reference, Diagnostic> {
        parse_group_by(&self.file[self.span.range()], self.span)
    }
    fn order(&self) -> Result<(Reference, bool), Diagnostic> {
        parse_order_item(&self.file[self.span.range()], self.span)
    }
    fn formula(&self) -> Result<Formula, Diagnostic> {
        parse_formula(&self.file[self.span.range()], self.span)
    }
}

/// The only reference of a filter.
fn one_ref(text: &str) -> Reference {
    let f = fx(text);
    let t = f.filter().unwrap_or_else(|d| panic!("{text}: {d:?}"));
    let refs: Vec<_> = t.references().cloned().collect();
    assert_eq!(refs.len(), 1, "{text}");
    refs.into_iter().next().expect("one reference")
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Assert an E0203 error whose span covers `covered` and whose help mentions `help`.
fn assert_err(f: &Fx, d: &Diagnostic, covered: &str, message: &str, help: &str) {
    assert_eq!(d.code, codes::EXPRESSION, "{d:?}");
    assert_eq!(f.at(d.span), covered, "{d:?}");
    assert!(
        d.message.contains(message),
        "message {:?} lacks {message:?}",
        d.message
    );
    assert!(d.label.is_some(), "{d:?}");
    assert!(
        d.help.iter().any(|h| h.contains(help)),
        "help {:?} lacks {help:?}",
        d.help
    );
}

fn filter_err(text: &str, covered: &str, message: &str, help: &str) {
    let f = fx(text);
    let d = f.filter().expect_err(text);
    assert_err(&f, &d, covered, message, help);
}

mod filter;
mod formula;
mod items;
