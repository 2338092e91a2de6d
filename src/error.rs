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
    /// A state store failure (rendered as its own diagnostic, with code and
    /// help, by [`CliError::into_report`]).
    #[error(transparent)]
    State(#[from] apprun_state::StateError),
    /// A lock failure (holder identity in the message).
    #[error(transparent)]
    Lock(#[from] apprun_state::LockError),
    /// A saved plan that cannot be used.
    #[error(transparent)]
    PlanFile(#[from] apprun_engine::planfile::PlanFileError),
    /// A provider failure outside apply (drift, import).
    #[error(transparent)]
    Provider(apprun_engine::ProviderError),
    /// Something this build cannot do.
    #[error("{what} is not available")]
    #[diagnostic(code(cli::unsupported), help("{help}"))]
    Unsupported {
        /// What was asked for.
        what: String,
        /// What to do instead.
        help: String,
    },
    /// An address that is not `KIND.NAME`.
    #[error("`{address}` is not a resource address")]
    #[diagnostic(
        code(cli::invalid_address),
        help(
            "write KIND.NAME instead of `{address}`, e.g. services.web; kinds: repositories, roles, vpc_connectors, autoscaling, services"
        )
    )]
    InvalidAddress {
        /// What was given.
        address: String,
    },
    /// An address the state does not hold.
    #[error("`{address}` is not in the state")]
    #[diagnostic(
        code(cli::not_in_state),
        help("`apprun state list` shows what the state holds; `{address}` is not among it")
    )]
    NotInState {
        /// The address.
        address: String,
    },
    /// An output the stack does not define.
    #[error("no output named `{name}`")]
    #[diagnostic(code(cli::unknown_output), help("{help}"))]
    UnknownOutput {
        /// The name.
        name: String,
        /// The outputs that exist.
        help: String,
    },
    /// A stack that fails validation where a valid one is needed; the
    /// diagnostics were printed already.
    #[error("the stack is invalid")]
    #[diagnostic(code(cli::invalid_stack))]
    InvalidStack,
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    #[diagnostic(
        code(cli::write_file),
        help("check that the directory of {path:?} exists and is writable")
    )]
    WriteFile {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
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
            CliError::State(error) => miette::Report::new(error),
            CliError::Lock(error) => miette::Report::new(error),
            CliError::PlanFile(error) => miette::Report::new(error),
            CliError::Provider(error) => miette::Report::new(error),
            other => miette::Report::new(other),
        }
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
