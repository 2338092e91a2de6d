//! Errors the CLI itself reports, and the exit codes they map to.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// A failure outside the stack's content: a file that cannot be read, a
/// malformed flag.
#[derive(Debug, Error, Diagnostic)]
pub enum CliError {
    /// The stack or a var file could not be read.
    #[error("cannot read {what} `{path}`: {source}")]
    #[diagnostic(code(cli::read_file), help("{help}"))]
    Read {
        /// "stack file" or "var file".
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
        /// What to do.
        help: String,
    },
    /// A `--var` flag without `=`.
    #[error("invalid --var: {message}")]
    #[diagnostic(code(cli::invalid_var), help("write --var NAME=VALUE"))]
    InvalidVar {
        /// What is wrong.
        message: String,
    },
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    #[diagnostic(code(cli::write))]
    Write(#[from] std::io::Error),
}

/// Exit codes: a stable API (README lists them).
pub mod exit {
    /// Success (for `plan --detailed-exitcode`: no changes).
    pub const OK: u8 = 0;
    /// An error, or an invalid stack.
    pub const ERROR: u8 = 1;
}
