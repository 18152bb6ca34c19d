//! Diagnostics as plain data; [`render`] turns them into text.
//!
//! A [`Diagnostic`] has a stable code (see [`codes`]), a severity, a message, a primary span, secondary
//! labels, and help lines. Stages return them; only the renderers of [`render`] (one file per
//! format: human, with source excerpts; JSON; GitHub annotations; JUnit XML and SARIF 2.1.0 for CI)
//! turn them into text. Stages never print.
//!
//! A bug in tally itself (generated SQL that does not parse, a broken internal invariant, a panic
//! caught by the CLI) is a diagnostic too: [`Diagnostic::bug`], severity [`Severity::Bug`], code
//! E0901, with a help line asking for a report. Every renderer shows it as an error-level problem.

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A bug in tally, not in the user's project or query (always code E0901).
    Bug,
    Error,
    Warning,
    Note,
}

impl Severity {
    /// The lowercase name used by the text and JSON formats.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Bug => "bug",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// The help line every bug diagnostic carries.
pub const BUG_HELP: &str =
    "this is a bug in tally, not in your project; please report it with the command and the project files that triggered it";

/// A secondary location with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a project, a query or a generated statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is. `Span::DUMMY` when it has no place in a file (a bad command-line query).
    pub span: Span,
    /// What to say under the primary underline.
    pub label: Option<String>,
    pub labels: Vec<Label>,
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: Span::DUMMY,
            label: None,
            labels: Vec::new(),
            help: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// A note: not a problem, something the user should know (what a command did, E0011).
    pub fn note(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message)
        }
    }

    /// A bug in tally itself (E0901): an internal invariant broken, a panic, generated SQL that
    /// does not parse. It counts as an error and asks the user to report it.
    pub fn bug(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Bug,
            ..Diagnostic::error(codes::BUG, message)
        }
        .with_help(BUG_HELP)
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = span;
        self
    }

    /// Attach a span only if the diagnostic has none yet (helpers return span-less errors; callers
    /// attach the span they know).
    pub fn at_if_unset(mut self, span: Span) -> Diagnostic {
        if self.span.is_dummy() {
            self.span = span;
        }
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        if !span.is_dummy() {
            self.labels.push(Label {
                span,
                message: message.into(),
            });
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// Add a "did you mean" help line if one of `candidates` is close to `name`.
    pub fn with_suggestion<'a>(
        mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        if let Some(s) = did_you_mean(name, candidates) {
            self.help.push(format!("did you mean `{s}`?"));
        }
        self
    }

    /// Errors and bugs: what makes a command fail.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error | Severity::Bug)
    }
}

/// The closest candidate to `name`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = strsim::jaro_winkler(&lower, &c.to_ascii_lowercase());
        let better = match best {
            None => true,
            // Ties go to the alphabetically first candidate so output is deterministic.
            Some((b, bc)) => score > b || (score == b && c < bc),
        };
        if better {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.8).map(|(_, c)| c.to_string())
}

/// Sort diagnostics by file, position and code so output is deterministic.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.span.file, a.span.start, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.code,
            &b.message,
        ))
    });
}

pub mod codes;
pub mod render;

pub use render::github::render_github;
pub use render::human::render_human;
pub use render::json::to_json;
pub use render::junit::{
    plain_text, render_junit, render_junit_cases, xml_escape, JunitCase, JunitProblem,
    JunitProblemKind,
};
pub use render::sarif::to_sarif;
