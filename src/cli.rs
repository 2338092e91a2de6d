//! The command line: every command, flag and its documentation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Infrastructure as code for AWS App Runner, with a local Docker target.
#[derive(Debug, Parser)]
#[command(name = "apprun", version, about, propagate_version = true)]
pub struct Cli {
    /// When to use colour: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Output format for results and diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack file and report every problem in it (exit 0 valid, 1 invalid).
    Validate(StackArgs),
    /// Print the JSON Schema of the stack language (for editors and CI).
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Arguments of every command that reads a stack.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// The stack file.
    #[arg(default_value = "apprun.yaml")]
    pub stack: PathBuf,

    /// Set a variable: NAME=VALUE (repeatable; wins over --var-file).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Read variables from a YAML file of NAME: VALUE pairs (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs: a stable, versioned JSON document.
    Json,
}
