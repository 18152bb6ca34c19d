//! GitHub Actions workflow commands: annotations on the pull request's files.

use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;

/// GitHub Actions workflow commands (`::error file=..,line=..::message`).
pub fn render_github(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Bug | Severity::Error => "error",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github() {
        let (sm, diags) = crate::diag::render::sample();
        insta::assert_snapshot!(render_github(&sm, &diags));
    }
}
