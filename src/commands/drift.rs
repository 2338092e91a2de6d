//! `apprun drift STACK...`: compare the live world with the state of one
//! or many stacks (`ops::drift`, run by `crate::fleet`), one combined
//! report; never writes state.

use std::io::Write;

use apprun_engine::render::fleet;

use crate::cli::DriftArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::targets;

/// Runs `drift`: 0 in sync, 2 drifted (with `--detailed-exitcode`), 1 when
/// a stack or a resource could not be checked (every other stack is still
/// checked and reported).
pub fn run(args: &DriftArgs, out: &Output) -> Result<u8, CliError> {
    let report = targets::runtime()?.block_on(crate::fleet::drift(args, out));
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
