//! JUnit XML for CI test reports: diagnostics grouped into one test case per project file, and the
//! generic case list `tally test` fills with its own outcomes.

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap};

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
    let sev = d.severity.as_str();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Well-formed XML: every tag closed in order, attributes quoted, no bare `<` or `&` in text.
    fn assert_well_formed(xml: &str) {
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    }

    #[test]
    fn junit() {
        let (sm, diags) = crate::diag::render::sample();
        let xml = render_junit(&sm, &diags, "tally validate");
        assert_well_formed(&xml);
        insta::assert_snapshot!(xml);
    }

    #[test]
    fn junit_parses_back_to_the_text_it_escaped() {
        let (sm, diags) = crate::diag::render::sample();
        let xml = render_junit(&sm, &diags, "tally validate");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure");
        assert_eq!(
            failure.attribute("message"),
            Some("E0003: unknown key `exprr` with \"quotes\" & <angles>")
        );
    }

    #[test]
    fn junit_escapes_control_characters_away() {
        assert_eq!(xml_escape("a\u{1}b<\n"), "ab&lt;\n");
        assert_well_formed(&render_junit_cases(
            "s\u{1}<&>",
            &[JunitCase {
                name: "\u{0}x\"'".into(),
                classname: "c".into(),
                file: None,
                line: None,
                problem: None,
                output: Some("]]> \u{FFFF}".into()),
            }],
        ));
    }
}
