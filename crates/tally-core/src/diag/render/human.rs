//! Human text: rustc-style diagnostics with source excerpts (codespan-reporting), optionally coloured.

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap, Span};

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
            Severity::Bug => cd::Severity::Bug,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human() {
        let (sm, diags) = crate::diag::render::sample();
        insta::assert_snapshot!(render_human(&sm, &diags, false));
    }

    #[test]
    fn human_clips_long_lines() {
        use crate::source::SourceFile;
        let mut sm = SourceMap::new();
        let text = format!("description: {}bad{}\n", "x".repeat(500), "y".repeat(500));
        let f = sm.add(SourceFile::new("long.yml", "long.yml", text));
        let d = Diagnostic::error(crate::diag::codes::INVALID_VALUE, "bad value")
            .at(Span::new(f, 513, 516))
            .with_label("here")
            .with_help("shorten it");
        insta::assert_snapshot!(render_human(&sm, &[d], false));
    }
}
