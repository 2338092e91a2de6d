//! Rendering diagnostics for people (miette's graphical report) and for
//! programs (a stable JSON shape, documented in README).

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, Severity};
use serde::Serialize;

use crate::span::LineIndex;

/// Version of the JSON diagnostics format. Bumped only on incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// A source file and the diagnostics found in it.
pub struct Report<'a, D> {
    /// The file's name as shown to the user.
    pub file: &'a str,
    /// The file's text.
    pub text: &'a str,
    /// The diagnostics.
    pub diagnostics: &'a [D],
}

/// Whether the text rendering may use colour and Unicode art.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ANSI colours and Unicode box drawing.
    Color,
    /// No colour, Unicode box drawing (what snapshots use).
    Plain,
}

impl<D: Diagnostic + Clone + Send + Sync + 'static> Report<'_, D> {
    /// Renders every diagnostic in miette's graphical form, separated by
    /// blank lines, followed by a count.
    pub fn render_text(&self, style: Style, width: usize) -> String {
        let theme = match style {
            Style::Color => GraphicalTheme::unicode(),
            Style::Plain => GraphicalTheme::unicode_nocolor(),
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let mut out = String::new();
        for diagnostic in self.diagnostics {
            let report = miette::Report::new(diagnostic.clone())
                .with_source_code(NamedSource::new(self.file, self.text.to_string()));
            if handler.render_report(&mut out, report.as_ref()).is_err() {
                out.push_str(&format!("error: {diagnostic}\n"));
            }
            out.push('\n');
        }
        let warnings = self
            .diagnostics
            .iter()
            .filter(|d| d.severity() == Some(Severity::Warning))
            .count();
        let count = self.diagnostics.len() - warnings;
        if count == 0 && warnings > 0 {
            out.push_str(&format!(
                "{}: {warnings} warning{}\n",
                self.file,
                if warnings == 1 { "" } else { "s" }
            ));
        } else {
            out.push_str(&format!(
                "{}: {count} error{}\n",
                self.file,
                if count == 1 { "" } else { "s" }
            ));
        }
        out
    }

    /// The JSON form (see [`JsonReport`]).
    pub fn to_json(&self) -> JsonReport {
        let index = LineIndex::new(self.text);
        let diagnostics = self
            .diagnostics
            .iter()
            .map(|diagnostic| JsonDiagnostic {
                code: diagnostic.code().map(|c| c.to_string()).unwrap_or_default(),
                severity: match diagnostic.severity() {
                    Some(Severity::Warning) => "warning",
                    Some(Severity::Advice) => "advice",
                    _ => "error",
                },
                message: diagnostic.to_string(),
                help: diagnostic.help().map(|h| h.to_string()),
                file: self.file.to_string(),
                labels: diagnostic
                    .labels()
                    .into_iter()
                    .flatten()
                    .map(|label| {
                        let at = index.locate(self.text, label.offset());
                        JsonLabel {
                            label: label.label().map(str::to_string),
                            line: at.line,
                            column: at.column,
                            offset: label.offset(),
                            length: label.len(),
                        }
                    })
                    .collect(),
            })
            .collect();
        JsonReport {
            version: JSON_FORMAT_VERSION,
            valid: self
                .diagnostics
                .iter()
                .all(|d| matches!(d.severity(), Some(Severity::Warning | Severity::Advice))),
            file: self.file.to_string(),
            diagnostics,
        }
    }
}

/// The JSON document `apprun validate --format json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JsonReport {
    /// Format version ([`JSON_FORMAT_VERSION`]).
    pub version: u32,
    /// Whether the stack is valid.
    pub valid: bool,
    /// The stack file.
    pub file: String,
    /// The problems, in file order.
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// One diagnostic in the JSON form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JsonDiagnostic {
    /// Stable code, e.g. `schema::unknown_key`.
    pub code: String,
    /// `error`, or `warning` for advice on a valid stack (exit 0).
    pub severity: &'static str,
    /// One-line message.
    pub message: String,
    /// What to do, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The file.
    pub file: String,
    /// The marked places, first one primary.
    pub labels: Vec<JsonLabel>,
}

/// A marked place in the file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JsonLabel {
    /// The label text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset.
    pub offset: usize,
    /// Byte length.
    pub length: usize,
}
