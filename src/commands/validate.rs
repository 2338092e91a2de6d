//! `apprun validate`: report every problem in a stack.

use std::io::Write;

use crate::cli::{Format, StackArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::stack_input::{self, Loaded};

/// Runs `validate`. Exit 0 when valid, 1 when not.
pub fn run(args: &StackArgs, out: &Output) -> Result<u8, CliError> {
    match stack_input::load(args)? {
        Loaded::Valid { stack, file, .. } => {
            let mut stdout = std::io::stdout().lock();
            match out.format {
                Format::Text | Format::Markdown => {
                    let count = stack.addresses().len();
                    writeln!(
                        stdout,
                        "{file}: valid stack `{}` ({count} resource{})",
                        stack.stack.value,
                        if count == 1 { "" } else { "s" }
                    )?;
                }
                Format::Json => {
                    let report = apprun_schema::diagnostics::Report::<apprun_schema::SchemaError> {
                        file: &file,
                        text: "",
                        diagnostics: &[],
                    };
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
