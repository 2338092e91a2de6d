//! `apprun output [NAME] [--json]`: the stack's outputs, resolved from
//! state (`ops::output`).

use std::io::Write;

use apprun_engine::{ops, render};

use crate::cli::OutputArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;

/// Runs `output`.
pub fn run(args: &OutputArgs, out: &Output) -> Result<u8, CliError> {
    let session = Session::open(&args.state.stack_args(), args.state.target, out)?;
    let outputs = ops::output::outputs(&session.workspace())?;
    let text = match &args.name {
        // Asking for one output by name prints it even if sensitive, like Terraform.
        Some(name) => render::outputs::single(ops::output::find(&outputs, name)?, args.json),
        None if args.json => render::outputs::json(&outputs),
        None => render::outputs::lines(&outputs, ""),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}
