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
    #[diagnostic(code(cli::invalid_var), help("write --var NAME=VALUE ({message})"))]
    InvalidVar {
        /// What is wrong.
        message: String,
    },
    /// An engine operation could not run (rendered as its own
    /// diagnostic, with code and help, by [`CliError::into_report`]).
    #[error(transparent)]
    Op(#[from] apprun_engine::ops::OpError),
    /// Something this build cannot do.
    #[error("{what} is not available")]
    #[diagnostic(code(cli::unsupported), help("{help}"))]
    Unsupported {
        /// What was asked for.
        what: String,
        /// What to do instead.
        help: String,
    },
    /// A stack that fails validation where a valid one is needed; the
    /// diagnostics were printed already.
    #[error("the stack is invalid")]
    #[diagnostic(code(cli::invalid_stack))]
    InvalidStack,
    /// GitHub Actions' step summary or outputs could not be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Github(#[from] crate::github::GithubError),
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    #[diagnostic(code(cli::write))]
    Write(#[from] std::io::Error),
}

impl CliError {
    /// The diagnostic to show: wrapped library errors show their own code
    /// and help.
    pub fn into_report(self) -> miette::Report {
        match self {
            CliError::Op(error) => error.into_report(),
            other => miette::Report::new(other),
        }
    }
}

impl CliError {
    /// The error as one sentence, its help after it (for a report that
    /// lists several failures, such as a drift over many stacks).
    pub fn sentence(self) -> String {
        let report = self.into_report();
        match report.help() {
            Some(help) => format!("{report} ({help})"),
            None => report.to_string(),
        }
    }
}

impl From<apprun_state::StateError> for CliError {
    fn from(error: apprun_state::StateError) -> Self {
        CliError::Op(error.into())
    }
}

impl From<apprun_engine::ProviderError> for CliError {
    fn from(error: apprun_engine::ProviderError) -> Self {
        CliError::Op(error.into())
    }
}

/// Exit codes: a stable API (README lists them).
pub mod exit {
    /// Success (for `plan --detailed-exitcode`: no changes).
    pub const OK: u8 = 0;
    /// An error, or an invalid stack.
    pub const ERROR: u8 = 1;
    /// `--detailed-exitcode`: changes present (plan) or drift found (drift).
    pub const CHANGES: u8 = 2;
}
