//! The `apprun` command line.
//!
//! Each command parses its arguments, calls one engine operation
//! (`apprun_engine::ops`), prints its rendering and maps the result to an
//! exit code (README lists them). Decisions live in the library crates.

#![recursion_limit = "256"]

mod cli;
mod commands;
mod error;
mod fleet;
mod github;
mod hooks;
mod output;
mod session;
mod stack_input;
mod targets;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use error::exit;
use output::Output;

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    cli.command.normalize();
    let out = Output::new(cli.color, cli.format);
    init_logging(cli.verbose, out.color_stderr);
    let _ = targets::SECRETS_FILE.set(cli.secrets_file.clone());
    let _ = targets::MAX_RPS.set(cli.max_rps);
    let result = match &cli.command {
        Command::Validate(args) => commands::validate::run(args, &out),
        Command::Plan(args) => commands::plan::run(args, &out),
        Command::Apply(args) => commands::apply::run(args, false, &out),
        Command::Destroy(args) => commands::apply::run(args, true, &out),
        Command::Drift(args) => commands::drift::run(args, &out),
        Command::Refresh(args) => commands::refresh::run(args, &out),
        Command::Import { address, id, state } => commands::import::run(address, id, state, &out),
        Command::Show { planfile } => commands::show::run(planfile, &out),
        Command::Graph(args) => commands::graph::run(args, &out),
        Command::State(command) => commands::state::run(command, &out),
        Command::Output(args) => commands::output::run(args, &out),
        Command::Deploy(args) => commands::deploy::run(args, &out),
        Command::Status(args) => commands::status::run(args, &out),
        Command::Discover(args) => commands::discover::run(args, &out),
        Command::Logs(args) => commands::logs::run(args, &out),
        Command::Schema => commands::schema::run(),
        Command::Completions { shell } => commands::completions::run(*shell),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // Its diagnostics are printed already.
        Err(error::CliError::InvalidStack) => ExitCode::from(exit::ERROR),
        Err(error) => {
            let report = error.into_report();
            if out.color_stderr {
                eprintln!("{report:?}");
            } else {
                let mut text = String::new();
                let handler = miette::GraphicalReportHandler::new_themed(
                    miette::GraphicalTheme::unicode_nocolor(),
                );
                if handler.render_report(&mut text, report.as_ref()).is_err() {
                    text = format!("error: {report}");
                }
                eprintln!("{text}");
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Prints a usage error (or the help or version asked for) as clap does;
/// exits 1 for a usage error, never 2: exit 2 means "changes" or "drift"
/// to a CI job that runs `--detailed-exitcode`.
fn usage_error(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    match error.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            ExitCode::from(exit::OK)
        }
        _ => ExitCode::from(exit::ERROR),
    }
}

/// Crates that log the bytes they send and receive at debug and trace:
/// bollard logs every Docker Engine request body and answer (a container's
/// create body and inspect answer hold its env: env values and secrets),
/// and the HTTP crates below it log what they carry. Their logs stop at
/// info whatever `-v` or `RUST_LOG` say (issue 16).
const WIRE_CRATES: &[&str] = &["bollard", "hyper", "hyper_util", "h2"];

/// Logs go to stderr, coloured only where diagnostics are; `-v` raises the
/// level, `RUST_LOG` overrides it, except for [`WIRE_CRATES`], which never
/// log below info. At the default level aws-config's own warnings (each
/// credential source it tried) stay quiet: when no source has credentials,
/// apprun says so itself, with what to do.
fn init_logging(verbose: u8, color: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = match verbose {
        0 => "warn,aws_config=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let wire_cap = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(WIRE_CRATES.iter().map(|c| (*c, LevelFilter::INFO)));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .with_filter(filter.and(wire_cap));
    tracing_subscriber::registry().with(layer).init();
}
