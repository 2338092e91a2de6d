//! Where output goes and how it looks: colour detection and diagnostics.

use std::io::{IsTerminal, Write};

use apprun_schema::diagnostics::{Report, Style};

use crate::cli::{ColorChoice, Format};
use crate::stack_input::FileDiagnostics;

/// Output settings resolved from the global flags and the environment.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colour on stdout (plans use it; diagnostics go to stderr).
    #[allow(dead_code)]
    pub color: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    /// The format.
    pub format: Format,
}

impl Output {
    /// Resolves `--color` with NO_COLOR and terminal detection.
    pub fn new(choice: ColorChoice, format: Format) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Self {
            color: decide(std::io::stdout().is_terminal()),
            color_stderr: decide(std::io::stderr().is_terminal()),
            format,
        }
    }

    /// Prints diagnostics: text on stderr, or the JSON document on stdout.
    pub fn diagnostics(&self, files: &[FileDiagnostics]) -> std::io::Result<()> {
        match self.format {
            Format::Text | Format::Markdown => {
                let style = if self.color_stderr {
                    Style::Color
                } else {
                    Style::Plain
                };
                let width = terminal_width();
                let mut stderr = std::io::stderr().lock();
                for file in files {
                    let report = Report {
                        file: &file.file,
                        text: &file.text,
                        diagnostics: &file.errors,
                    };
                    stderr.write_all(report.render_text(style, width).as_bytes())?;
                }
                Ok(())
            }
            Format::Json => {
                let reports: Vec<_> = files
                    .iter()
                    .map(|file| {
                        Report {
                            file: &file.file,
                            text: &file.text,
                            diagnostics: &file.errors,
                        }
                        .to_json()
                    })
                    .collect();
                let json = if let [one] = reports.as_slice() {
                    serde_json::to_string_pretty(one)
                } else {
                    serde_json::to_string_pretty(&reports)
                }
                .map_err(std::io::Error::other)?;
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{json}")
            }
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}
