//! `apprun status [STACK]`: every recorded resource as the target sees it
//! now (`ops::status`), as text or JSON.

use std::io::Write;

use apprun_engine::{ops, render};

use crate::cli::{Format, StatusArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `status`: 0; with `--detailed-exitcode`, 2 when a service is not
/// running or a resource could not be read.
pub fn run(args: &StatusArgs, out: &Output) -> Result<u8, CliError> {
    let state = &args.state;
    let session = Session::open(&state.stack_args(), state.target, out)?;
    let ws = session.workspace();
    let report = targets::runtime()?.block_on(async {
        targets::dispatch!(state.target, &session, |provider| {
            Ok::<_, CliError>(ops::status::status(&ws, provider).await?)
        })
    })?;
    let text = match out.format {
        Format::Json => render::status::json(&report),
        _ => render::status::text(&report),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(
        if args.detailed_exitcode && !report.all_services_running() {
            exit::CHANGES
        } else {
            exit::OK
        },
    )
}
