//! Diagnostics as plain data, and their renderers.
//!
//! A [`Diagnostic`] has a stable code (see [`codes`]), a severity, a message, a primary span, secondary
//! labels, and help lines. Stages return them; only the renderers here turn them into text (human,
//! with source excerpts; JSON; GitHub annotations; JUnit XML and SARIF 2.1.0 for CI). Stages never
//! print.

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
        // A span on a very long line (a minified file, a megabyte of description) is shown as a
        // location and a clipped excerpt, not as the whole line.
        let long = std::iter::once(d.span)
            .chain(d.labels.iter().map(|l| l.span))
            .any(|s| on_long_line(sources, s));
        if long {
            let mut notes: Vec<String> = std::iter::once((d.span, d.label.as_deref()))
                .chain(d.labels.iter().map(|l| (l.span, Some(l.message.as_str()))))
                .filter_map(|(s, l)| excerpt(sources, s, l.unwrap_or("")))
                .collect();
            notes.extend(d.help.iter().map(|h| format!("help: {h}")));
            let cdiag = cdiag.with_notes(notes);
            let _ = term::emit_to_string(&mut out, &config, &files, &cdiag);
            continue;
        }
        // Label ranges on character boundaries: codespan slices the text with them.
        let range = |s: Span| {
            let f = sources.get(s.file);
            let fix = |i: usize| f.map_or(i, |f| f.floor_char(i));
            let start = fix(s.start as usize);
            start..fix(s.end as usize).max(start)
        };
        if !d.span.is_dummy() && sources.get(d.span.file).is_some() {
            labels.push(
                cd::Label::primary(d.span.file, range(d.span))
                    .with_message(d.label.clone().unwrap_or_default()),
            );
        }
        for l in &d.labels {
            if sources.get(l.span.file).is_some() {
                labels.push(
                    cd::Label::secondary(l.span.file, range(l.span)).with_message(&l.message),
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

/// Lines longer than this are not echoed whole in human output.
const MAX_SNIPPET_LINE: usize = 400;

/// The byte range of the line holding `offset`.
fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let end = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    (start, end)
}

fn on_long_line(sources: &SourceMap, span: Span) -> bool {
    if span.is_dummy() {
        return false;
    }
    let Some(f) = sources.get(span.file) else {
        return false;
    };
    let (s, e) = line_bounds(&f.text, span.start as usize);
    e - s > MAX_SNIPPET_LINE
}

/// `at file:line:col: …text around the span…` for a span on a long line.
fn excerpt(sources: &SourceMap, span: Span, label: &str) -> Option<String> {
    if span.is_dummy() {
        return None;
    }
    let f = sources.get(span.file)?;
    let at = f.floor_char(span.start as usize);
    let (ls, le) = line_bounds(&f.text, at);
    let floor = |mut i: usize| {
        while !f.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(at.saturating_sub(60).max(ls));
    let to = floor((at + 120).min(le));
    let (line, col) = f.line_col(at);
    Some(format!(
        "at {}:{line}:{col}: {}{}{}{}",
        f.name,
        if from > ls { "…" } else { "" },
        &f.text[from..to],
        if to < le { "…" } else { "" },
        if label.is_empty() {
            String::new()
        } else {
            format!(" ({label})")
        }
    ))
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

// ----- CI formats: JUnit XML and SARIF ----------------------------------------------------------

/// Escape text for XML content and attribute values; characters XML 1.0 cannot carry are dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A failure or error of a JUnit test case.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitProblem {
    /// `failure` (the thing tested is wrong) or `error` (it could not be tested).
    pub kind: JunitProblemKind,
    /// The `type` attribute: a diagnostic code.
    pub type_: String,
    pub message: String,
    /// The element's text: details, a diff.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JunitProblemKind {
    Failure,
    Error,
}

/// One JUnit test case.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitCase {
    pub name: String,
    pub classname: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub problem: Option<JunitProblem>,
    /// Shown as `<system-out>` (warnings of a passing case).
    pub output: Option<String>,
}

/// A JUnit XML report with one `<testsuite>` (no timestamps or durations: output is deterministic).
pub fn render_junit_cases(suite: &str, cases: &[JunitCase]) -> String {
    let failures = cases
        .iter()
        .filter(|c| matches!(&c.problem, Some(p) if p.kind == JunitProblemKind::Failure))
        .count();
    let errors = cases
        .iter()
        .filter(|c| matches!(&c.problem, Some(p) if p.kind == JunitProblemKind::Error))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        xml_escape(suite),
        cases.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n",
        xml_escape(suite),
        cases.len()
    ));
    for c in cases {
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\"",
            xml_escape(&c.name),
            xml_escape(&c.classname)
        ));
        if let Some(f) = &c.file {
            out.push_str(&format!(" file=\"{}\"", xml_escape(f)));
        }
        if let Some(l) = c.line {
            out.push_str(&format!(" line=\"{l}\""));
        }
        if c.problem.is_none() && c.output.is_none() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Some(p) = &c.problem {
            let tag = match p.kind {
                JunitProblemKind::Failure => "failure",
                JunitProblemKind::Error => "error",
            };
            out.push_str(&format!(
                "      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>\n",
                xml_escape(&p.type_),
                xml_escape(&p.message),
                xml_escape(&p.text)
            ));
        }
        if let Some(o) = &c.output {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(o)
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `file:line:column: severity[code]: message` plus help lines: the plain text of a diagnostic.
pub fn plain_text(sources: &SourceMap, d: &Diagnostic) -> String {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let mut s = match sources.location(d.span) {
        Some((f, l, c)) => format!("{f}:{l}:{c}: {sev}[{}]: {}", d.code, d.message),
        None => format!("{sev}[{}]: {}", d.code, d.message),
    };
    for h in &d.help {
        s.push_str("\n  help: ");
        s.push_str(h);
    }
    s
}

/// Diagnostics as JUnit XML: one test case per project file (it fails when the file has errors;
/// warnings go to `<system-out>`), plus one case for problems that have no file.
pub fn render_junit(sources: &SourceMap, diags: &[Diagnostic], suite: &str) -> String {
    let mut cases = Vec::new();
    let mut groups: Vec<(Option<FileId>, String)> = sources
        .files()
        .map(|(id, f)| (Some(id), f.name.clone()))
        .collect();
    if diags.iter().any(|d| sources.get(d.span.file).is_none()) {
        groups.push((None, "(project)".to_string()));
    }
    for (id, name) in groups {
        let mine: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| match id {
                Some(id) => d.span.file == id,
                None => sources.get(d.span.file).is_none(),
            })
            .collect();
        let errors: Vec<&&Diagnostic> = mine.iter().filter(|d| d.is_error()).collect();
        let others: Vec<&&Diagnostic> = mine.iter().filter(|d| !d.is_error()).collect();
        let problem = (!errors.is_empty()).then(|| JunitProblem {
            kind: JunitProblemKind::Failure,
            type_: errors[0].code.to_string(),
            message: if errors.len() == 1 {
                format!("{}: {}", errors[0].code, errors[0].message)
            } else {
                format!(
                    "{} errors; first {}: {}",
                    errors.len(),
                    errors[0].code,
                    errors[0].message
                )
            },
            text: errors
                .iter()
                .map(|d| plain_text(sources, d))
                .collect::<Vec<_>>()
                .join("\n"),
        });
        let output = (!others.is_empty()).then(|| {
            others
                .iter()
                .map(|d| plain_text(sources, d))
                .collect::<Vec<_>>()
                .join("\n")
        });
        cases.push(JunitCase {
            name: name.clone(),
            classname: "tally.validate".into(),
            file: id.map(|_| name.clone()),
            line: errors
                .first()
                .and_then(|d| sources.location(d.span))
                .map(|l| l.1),
            problem,
            output,
        });
    }
    render_junit_cases(suite, &cases)
}

/// SARIF 2.1.0: one run of the `tally` tool, one rule per diagnostic code used, one result per
/// diagnostic with its region (1-based lines and columns; the end column is exclusive).
pub fn to_sarif(sources: &SourceMap, diags: &[Diagnostic]) -> serde_json::Value {
    use serde_json::json;
    let mut rule_ids: Vec<&str> = diags.iter().map(|d| d.code).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| {
            let summary = codes::ALL
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, s)| *s)
                .unwrap_or("");
            json!({
                "id": id,
                "shortDescription": {"text": summary},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            let mut text = d.message.clone();
            for h in &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": rule_ids.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level,
                "message": {"text": text},
            });
            if let (Some(f), Some((_, line, col))) =
                (sources.get(d.span.file), sources.location(d.span))
            {
                let (end_line, end_col) = f.line_col(d.span.end as usize);
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.name, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": line,
                            "startColumn": col,
                            "endLine": end_line,
                            "endColumn": end_col,
                        }
                    }
                }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tally",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// An XML element parsed back: name, attributes, text and children.
    #[derive(Debug, Default)]
    struct El {
        name: String,
        attrs: Vec<(String, String)>,
        text: String,
        children: Vec<El>,
    }

    impl El {
        fn attr(&self, k: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        }
        fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a El>) {
            if self.name == name {
                out.push(self);
            }
            for c in &self.children {
                c.all(name, out);
            }
        }
    }

    fn unescape(s: &str) -> String {
        assert!(!s.contains('<'), "unescaped < in {s:?}");
        let out = s
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'");
        assert!(
            out.match_indices('&')
                .all(|(i, _)| out[i..].starts_with("&amp;")),
            "bare & in {s:?}"
        );
        out.replace("&amp;", "&")
    }

    /// A strict little XML reader for our own output: balanced tags, quoted attributes, escapes.
    fn parse_xml(text: &str) -> El {
        let body = text
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .expect("declaration");
        let mut stack: Vec<El> = vec![El::default()];
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("</") {
                let end = r.find('>').expect("close");
                let el = stack.pop().expect("open element");
                assert_eq!(el.name, &r[..end]);
                stack.last_mut().expect("parent").children.push(el);
                rest = &r[end + 1..];
            } else if let Some(r) = rest.strip_prefix('<') {
                let end = r.find('>').expect("tag end");
                let mut tag = &r[..end];
                let self_closing = tag.ends_with('/');
                if self_closing {
                    tag = &tag[..tag.len() - 1];
                }
                let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
                let mut el = El {
                    name: name.to_string(),
                    ..El::default()
                };
                while let Some(eq) = attrs_text.find("=\"") {
                    let key = attrs_text[..eq].trim().to_string();
                    let after = &attrs_text[eq + 2..];
                    let close = after.find('"').expect("attribute quote");
                    el.attrs.push((key, unescape(&after[..close])));
                    attrs_text = &after[close + 1..];
                }
                assert!(attrs_text.trim().is_empty(), "junk in tag: {tag}");
                if self_closing {
                    stack.last_mut().expect("parent").children.push(el);
                } else {
                    stack.push(el);
                }
                rest = &r[end + 1..];
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                stack
                    .last_mut()
                    .expect("element")
                    .text
                    .push_str(&unescape(&rest[..end]));
                rest = &rest[end..];
            }
        }
        assert_eq!(stack.len(), 1, "unclosed elements");
        stack
            .pop()
            .expect("root")
            .children
            .pop()
            .expect("document element")
    }

    fn sources() -> (SourceMap, Vec<Diagnostic>) {
        let mut sm = SourceMap::new();
        let a = sm.add(SourceFile::new(
            "models/a & b.yml",
            "a.yml",
            "name: x\n  exprr: <y>\n".into(),
        ));
        let b = sm.add(SourceFile::new(
            "metrics/ok.yml",
            "ok.yml",
            "metrics: []\n".into(),
        ));
        let _ = b;
        let diags = vec![
            Diagnostic::error(
                codes::UNKNOWN_KEY,
                "unknown key `exprr` with \"quotes\" & <angles>",
            )
            .at(Span::new(a, 10, 15))
            .with_help("did you mean `expr`?"),
            Diagnostic::warning(codes::LABEL, "a warning")
                .at(Span::new(a, 0, 4))
                .with_help("fix it"),
            Diagnostic::error(codes::INVALID_QUERY, "no file").with_help("flags"),
        ];
        (sm, diags)
    }

    #[test]
    fn junit_parses_back_with_one_case_per_file() {
        let (sm, diags) = sources();
        let xml = render_junit(&sm, &diags, "tally validate");
        let root = parse_xml(&xml);
        assert_eq!(root.name, "testsuites");
        assert_eq!(root.attr("tests"), Some("3"));
        assert_eq!(root.attr("failures"), Some("2"));
        let mut cases = Vec::new();
        root.all("testcase", &mut cases);
        let names: Vec<&str> = cases.iter().map(|c| c.attr("name").unwrap()).collect();
        assert_eq!(
            names,
            vec!["models/a & b.yml", "metrics/ok.yml", "(project)"]
        );
        assert_eq!(cases[0].attr("line"), Some("2"));
        let failure = &cases[0].children[0];
        assert_eq!(failure.name, "failure");
        assert_eq!(failure.attr("type"), Some("E0003"));
        assert_eq!(
            failure.attr("message"),
            Some("E0003: unknown key `exprr` with \"quotes\" & <angles>")
        );
        assert!(
            failure
                .text
                .starts_with("models/a & b.yml:2:3: error[E0003]"),
            "{}",
            failure.text
        );
        assert_eq!(cases[0].children[1].name, "system-out");
        assert!(cases[1].children.is_empty());
        assert_eq!(cases[2].children[0].attr("type"), Some("E0404"));
    }

    #[test]
    fn junit_escapes_control_characters_away() {
        assert_eq!(xml_escape("a\u{1}b<\n"), "ab&lt;\n");
    }

    #[test]
    fn sarif_has_rules_levels_and_regions() {
        let (sm, diags) = sources();
        let v: serde_json::Value =
            serde_json::from_str(&to_sarif(&sm, &diags).to_string()).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let rules: Vec<&str> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(rules, vec!["E0003", "E0111", "E0404"]);
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "E0003");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "models/a & b.yml");
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(loc["region"]["startColumn"], 3);
        assert_eq!(loc["region"]["endLine"], 2);
        assert_eq!(loc["region"]["endColumn"], 8);
        assert_eq!(run["results"][1]["level"], "warning");
        assert_eq!(run["results"][1]["ruleIndex"], 1);
        assert!(run["results"][2].get("locations").is_none());
    }
}
