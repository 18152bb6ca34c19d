//! Errors of server requests: a stable diagnostic code, a message, help lines and the HTTP status
//! the JSON API answers with. MCP tools return the same text as their error result.

use tally_core::diag::{self, codes, Diagnostic};
use tally_core::source::SourceMap;

#[derive(Clone, Debug, PartialEq)]
pub struct ServeError {
    pub code: &'static str,
    pub message: String,
    pub help: Vec<String>,
    /// The HTTP status of the JSON API's answer.
    pub status: u16,
}

impl ServeError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> ServeError {
        ServeError {
            code,
            message: message.into(),
            help: Vec::new(),
            status,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> ServeError {
        self.help.push(help.into());
        self
    }

    /// A malformed request (E0604, 400).
    pub fn params(message: impl Into<String>) -> ServeError {
        ServeError::new(codes::SERVE_PARAMS, 400, message)
    }

    /// The compiler's diagnostics for a query: the first one's code, every one's plain text.
    pub fn from_diagnostics(sources: &SourceMap, diags: &[Diagnostic]) -> ServeError {
        let code = diags
            .first()
            .map(|d| d.code)
            .unwrap_or(codes::INVALID_QUERY);
        let message = diags
            .iter()
            .map(|d| diag::plain_text(sources, d))
            .collect::<Vec<_>>()
            .join("\n");
        ServeError {
            code,
            message,
            help: Vec::new(),
            // The message already holds the help lines of each diagnostic.
            status: 422,
        }
    }

    /// `error[E0401]: message` plus `help:` lines, as the CLI prints a diagnostic without a file.
    pub fn text(&self) -> String {
        let mut s = if self.message.starts_with("error[") {
            self.message.clone()
        } else {
            format!("error[{}]: {}", self.code, self.message)
        };
        for h in &self.help {
            s.push_str("\n  help: ");
            s.push_str(h);
        }
        s
    }

    /// The error as a diagnostic without a file (the CLI reports it like its own errors, so that
    /// `--format json` sees it).
    pub fn to_diagnostic(&self) -> Diagnostic {
        self.help.iter().fold(
            Diagnostic::error(self.code, self.message.clone()),
            |d, h| d.with_help(h.clone()),
        )
    }

    /// The JSON API's error body.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"error": self.text(), "code": self.code})
    }
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl std::error::Error for ServeError {}
