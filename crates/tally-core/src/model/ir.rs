//! The expressions of the checked model: filters and derived formulas parsed once, by resolution,
//! into typed trees ([`crate::expr::Template`], [`crate::expr::Formula`]) whose spans are the exact
//! characters of the file in every YAML scalar style (through the scalar's offset map,
//! [`crate::yaml::locate`]). Later stages (plan, validate, graph, diff, tree, metric tests) read
//! these trees and never parse the text again; a parse error is kept with the expression and
//! reported by validation, in project order.

use crate::diag::Diagnostic;
use crate::expr::{self, Formula, Template, Token};
use crate::source::{Located, SourceMap, Span};
use crate::yaml::Spanned;
use serde::Serialize;

/// A where-filter: MetricFlow's Jinja-in-SQL, as written and as parsed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Filter {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
    /// The parsed template, or the parse error (E0203) at the exact character; shared, so that
    /// the planner's copies of a filter (one per relation it filters) do not copy the template.
    #[serde(skip)]
    pub parsed: std::sync::Arc<Result<Template, Diagnostic>>,
    /// The parsed filter's references bound to the model ([`super::bind`]): by resolution for
    /// a project's filters, when the query is planned for a query's own; `None` until then, and
    /// for a filter that does not parse.
    #[serde(skip)]
    pub bound: Option<std::sync::Arc<super::bind::BoundFilter>>,
}

impl Filter {
    /// A filter from a project file: parsed with the spans of its scalar.
    pub fn located(s: &Spanned<String>, sources: &SourceMap) -> Filter {
        let loc = crate::yaml::locate(sources, s.span, &s.value);
        Filter {
            text: s.value.clone(),
            span: s.span,
            parsed: std::sync::Arc::new(expr::parse_filter_at(&s.value, &loc)),
            bound: None,
        }
    }

    /// A filter given with a query (command line, server, tests): its text is its source, so
    /// spans inside it are offsets from `span` (usually [`Span::DUMMY`]). Its references are
    /// bound to the model when the query is planned ([`Filter::bind`]).
    pub fn new(text: impl Into<String>, span: Span) -> Filter {
        let text = text.into();
        let parsed = std::sync::Arc::new(expr::parse_filter_at(&text, &Located::plain(span)));
        Filter {
            text,
            span,
            parsed,
            bound: None,
        }
    }

    /// The parsed template, or the parse error.
    pub fn template(&self) -> Result<&Template, &Diagnostic> {
        self.parsed.as_ref().as_ref()
    }
}

/// A derived metric's formula (`expr:`), as written and as parsed, its names bound to inputs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DerivedFormula {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
    /// The tokens, or the parse error (E0203) at the exact character.
    #[serde(skip)]
    pub parsed: Result<Formula, Diagnostic>,
    /// Every name the formula refers to ([`Formula::identifiers`]), in order, with the index of
    /// the input it names in the metric's `inputs` (by output name: alias, else metric name), or
    /// `None` when no input has that name.
    #[serde(skip)]
    pub names: Vec<FormulaName>,
}

/// A name in a derived formula, bound to an input of the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaName {
    /// The identifier token (its span exact in the file).
    pub token: Token,
    /// The name it refers to (quotes removed).
    pub name: String,
    /// The input it names, an index into the metric's inputs.
    pub input: Option<usize>,
}

impl DerivedFormula {
    /// Parse a formula from a project file and bind its names to the inputs' output names.
    pub fn located(s: &Spanned<String>, sources: &SourceMap, inputs: &[&str]) -> DerivedFormula {
        let loc = crate::yaml::locate(sources, s.span, &s.value);
        let parsed = expr::parse_formula_at(&s.value, &loc);
        let names = match &parsed {
            Ok(f) => f
                .identifiers()
                .map(|t| {
                    let name = t.name();
                    let input = inputs.iter().position(|i| *i == name);
                    FormulaName {
                        token: t.clone(),
                        name,
                        input,
                    }
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        DerivedFormula {
            text: s.value.clone(),
            span: s.span,
            parsed,
            names,
        }
    }
}
