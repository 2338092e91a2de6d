//! `apprun drift STACK...`: compare the live world with the state of one
//! or many stacks (`ops::drift`), one combined report; never writes state.

use std::io::Write;

use apprun_engine::ops;
use apprun_engine::ops::drift::{FleetDrift, StackDrift};
use apprun_engine::render::fleet;

use crate::cli::{DriftArgs, Format, StackArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `drift`: 0 in sync, 2 drifted (with `--detailed-exitcode`), 1 when
/// a stack or a resource could not be checked (every other stack is still
/// checked and reported).
pub fn run(args: &DriftArgs, out: &Output) -> Result<u8, CliError> {
    let runtime = targets::runtime()?;
    let mut report = FleetDrift::default();
    for stack in args.stack_args() {
        let checked = runtime.block_on(check(&stack, args, out));
        report
            .stacks
            .push(checked.unwrap_or_else(|error| StackDrift::NotChecked {
                stack: stack.stack.display().to_string(),
                reason: error.sentence(),
            }));
    }
    let text = fleet::render(&report, out.format.into());
    std::io::stdout().lock().write_all(text.as_bytes())?;
    let github = || fleet::render(&report, apprun_engine::render::Format::Markdown);
    crate::github::Step::drift(github, report.drifted()).finish(Ok(if report.incomplete() {
        exit::ERROR
    } else if args.detailed_exitcode && report.drifted() {
        exit::CHANGES
    } else {
        exit::OK
    }))
}

/// The drift of one stack.
async fn check(stack: &StackArgs, args: &DriftArgs, out: &Output) -> Result<StackDrift, CliError> {
    // Stdout holds the one combined report: a stack's diagnostics go to
    // stderr as text, and its entry in the report says it is invalid.
    let diagnostics = Output {
        format: Format::Text,
        ..*out
    };
    let session = Session::open(stack, args.target, &diagnostics)?;
    let ws = session.workspace();
    let report = targets::dispatch!(args.target, &session.dir, ws.stack, |provider| {
        Ok::<_, CliError>(ops::drift::drift(&ws, provider).await?)
    })?;
    Ok(StackDrift::Checked(report))
}
