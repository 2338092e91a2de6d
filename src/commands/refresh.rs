//! `apprun refresh`: record what is there now in the state
//! (`ops::refresh`).

use std::io::Write;

use apprun_engine::{ops, render};

use crate::cli::StateArgs;
use crate::error::{CliError, exit};
use crate::hooks::Terminal;
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `refresh`.
pub fn run(args: &StateArgs, out: &Output) -> Result<u8, CliError> {
    let session = Session::open(&args.stack_args(), args.target, out)?;
    let ws = session.workspace();
    let hooks = Terminal::new(*out, "refresh", false);
    let report = targets::runtime()?.block_on(async {
        targets::dispatch!(args.target, &session, |provider| {
            Ok::<_, CliError>(ops::refresh::refresh(&ws, provider, &hooks).await?)
        })
    })?;
    std::io::stdout()
        .lock()
        .write_all(render::refresh::text(&report).as_bytes())?;
    Ok(exit::OK)
}
