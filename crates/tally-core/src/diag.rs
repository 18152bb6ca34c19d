//! Diagnostics as plain data, and their renderers.
//!
//! A [`Diagnostic`] has a stable code (see [`codes`]), a severity, a message, a primary span, secondary
//! labels, and help lines. Stages return them; only the renderers here turn them into text (human,
//! with source excerpts; JSON; GitHub annotations). Stages never print.

use crate::source::{FileId, SourceMap, Span};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

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

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
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

// ----- rendering -------------------------------------------------------------------------------

struct Files<'a>(&'a SourceMap);

impl<'a> codespan_reporting::files::Files<'a> for Files<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.0
            .get(id)
            .map(|f| f.name.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.0
            .get(id)
            .map(|f| f.text.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn line_index(
        &'a self,
        id: FileId,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let f = self
            .0
            .get(id)
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        Ok(match f.line_starts().binary_search(&byte_index) {
            Ok(i) => i,
            Err(i) => i - 1,
        })
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let f = self
            .0
            .get(id)
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        let starts = f.line_starts();
        let start =
            *starts
                .get(line_index)
                .ok_or(codespan_reporting::files::Error::LineTooLarge {
                    given: line_index,
                    max: starts.len() - 1,
                })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(f.text.len());
        Ok(start..end)
    }
}

/// Render diagnostics as rustc-style text with source excerpts. `color` adds ANSI colours (only
/// when writing to a terminal).
pub fn render_human(sources: &SourceMap, diags: &[Diagnostic], color: bool) -> String {
    use codespan_reporting::diagnostic as cd;
    use codespan_reporting::term;
    let files = Files(sources);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        let sev = match d.severity {
            Severity::Error => cd::Severity::Error,
            Severity::Warning => cd::Severity::Warning,
            Severity::Note => cd::Severity::Note,
        };
        let mut cdiag = cd::Diagnostic::new(sev)
            .with_code(d.code)
            .with_message(&d.message);
        let mut labels = Vec::new();
        if !d.span.is_dummy() && sources.get(d.span.file).is_some() {
            labels.push(
                cd::Label::primary(d.span.file, d.span.range())
                    .with_message(d.label.clone().unwrap_or_default()),
            );
        }
        for l in &d.labels {
            if sources.get(l.span.file).is_some() {
                labels.push(
                    cd::Label::secondary(l.span.file, l.span.range()).with_message(&l.message),
                );
            }
        }
        cdiag = cdiag.with_labels(labels);
        let mut notes: Vec<String> = d.help.iter().map(|h| format!("help: {h}")).collect();
        if d.span.is_dummy() {
            if let Some(l) = &d.label {
                notes.insert(0, l.clone());
            }
        }
        cdiag = cdiag.with_notes(notes);
        if color {
            let mut buf = termcolor::Buffer::ansi();
            let _ = term::emit_to_write_style(&mut buf, &config, &files, &cdiag);
            out.push_str(&String::from_utf8_lossy(buf.as_slice()));
        } else {
            let _ = term::emit_to_string(&mut out, &config, &files, &cdiag);
        }
    }
    out
}

#[derive(Serialize)]
struct JsonDiag<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    label: Option<&'a str>,
    help: &'a [String],
}

/// One JSON object per diagnostic, with 1-based line and column.
pub fn to_json(sources: &SourceMap, diags: &[Diagnostic]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let start = sources.location(d.span);
            let end = sources
                .get(d.span.file)
                .map(|f| f.line_col(d.span.end as usize));
            serde_json::to_value(JsonDiag {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                file: start.as_ref().map(|s| s.0.clone()),
                line: start.as_ref().map(|s| s.1),
                column: start.as_ref().map(|s| s.2),
                end_line: end.map(|e| e.0),
                end_column: end.map(|e| e.1),
                label: d.label.as_deref(),
                help: &d.help,
            })
            .expect("diagnostics serialise")
        })
        .collect();
    serde_json::Value::Array(items)
}

/// GitHub Actions workflow commands (`::error file=..,line=..::message`).
pub fn render_github(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut msg = d.message.clone();
        for h in &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let msg = msg
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        match sources.location(d.span) {
            Some((file, line, col)) => {
                let end = sources
                    .get(d.span.file)
                    .map(|f| f.line_col(d.span.end as usize))
                    .unwrap_or((line, col));
                out.push_str(&format!(
                    "::{kind} file={file},line={line},col={col},endLine={},endColumn={},title={}::{msg}\n",
                    end.0, end.1, d.code
                ));
            }
            None => out.push_str(&format!("::{kind} title={}::{msg}\n", d.code)),
        }
    }
    out
}
