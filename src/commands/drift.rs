//! `apprun drift`: compare the live world with the state (`ops::drift`);
//! never writes state.

use std::io::Write;

use apprun_engine::{ops, render};

use crate::cli::DriftArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `drift`: 0 in sync, 2 drifted (with `--detailed-exitcode`), 1 when
/// something could not be checked.
pub fn run(args: &DriftArgs, out: &Output) -> Result<u8, CliError> {
    let session = Session::open(&args.state.stack_args(), args.state.target, out)?;
    let ws = session.workspace();
    let report = targets::runtime()?.block_on(async {
        targets::dispatch!(args.state.target, &session.dir, ws.stack, |provider| {
            Ok::<_, CliError>(ops::drift::drift(&ws, provider).await?)
        })
    })?;
    let text = render::drift_report(&report, out.format.into());
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if report.incomplete() {
        exit::ERROR
    } else if args.detailed_exitcode && report.drifted() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
