//! `apprun validate`: report every problem in a stack.

use std::io::Write;

use apprun_schema::diagnostics::{Report, Style};

use crate::cli::{Format, StackArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::stack_input::{self, Loaded};

/// Runs `validate`. Exit 0 when valid, 1 when not.
pub fn run(args: &StackArgs, out: &Output) -> Result<u8, CliError> {
    match stack_input::load(args)? {
        Loaded::Valid { stack, file, text } => {
            let mut stdout = std::io::stdout().lock();
            // Advice on a valid stack (a secret-looking env value shown in
            // plans): printed, exit 0.
            let warnings = apprun_schema::warnings(&stack);
            let report = Report {
                file: &file,
                text: &text,
                diagnostics: &warnings,
            };
            match out.format {
                Format::Text | Format::Markdown => {
                    let count = stack.addresses().len();
                    writeln!(
                        stdout,
                        "{file}: valid stack `{}` ({count} resource{})",
                        stack.stack.value,
                        if count == 1 { "" } else { "s" }
                    )?;
                    if !warnings.is_empty() {
                        let style = if out.color_stderr {
                            Style::Color
                        } else {
                            Style::Plain
                        };
                        let width = std::env::var("COLUMNS")
                            .ok()
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(100);
                        std::io::stderr()
                            .lock()
                            .write_all(report.render_text(style, width).as_bytes())?;
                    }
                }
                Format::Json => {
                    let json = serde_json::to_string_pretty(&report.to_json())
                        .map_err(std::io::Error::other)?;
                    writeln!(stdout, "{json}")?;
                }
            }
            Ok(exit::OK)
        }
        Loaded::Invalid(files) => {
            crate::github::annotate(&files)?;
            out.diagnostics(&files)?;
            Ok(exit::ERROR)
        }
    }
}
