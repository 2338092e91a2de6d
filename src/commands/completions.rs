//! `apprun completions SHELL`: print a shell completion script.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{CliError, exit};

/// Prints the completion script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "apprun", &mut std::io::stdout());
    Ok(exit::OK)
}
