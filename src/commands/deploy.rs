//! `apprun deploy ADDRESS... [STACK]`: deploy services again as declared
//! (`ops::deploy`), one line per service.

use std::io::Write;

use apprun_engine::ops;

use crate::cli::DeployArgs;
use crate::error::{CliError, exit};
use crate::hooks::Terminal;
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `deploy`: 0 when every deployment succeeded, 1 otherwise.
pub fn run(args: &DeployArgs, out: &Output) -> Result<u8, CliError> {
    let state = args.state();
    let session = Session::open(&state.stack_args(), state.target, out)?;
    let ws = session.workspace();
    let hooks = Terminal::new(*out, "deploy", true);
    let results = targets::runtime()?.block_on(async {
        targets::dispatch!(state.target, &session, |provider| {
            Ok::<_, CliError>(ops::deploy::deploy(&ws, provider, &args.addresses, &hooks).await?)
        })
    })?;
    let mut failed = false;
    let mut stderr = std::io::stderr().lock();
    for deployed in results {
        match deployed.result {
            Ok(deployment) => {
                let id = deployment
                    .operation_id
                    .map(|id| format!(" (operation {id})"))
                    .unwrap_or_default();
                let digest = deployment
                    .image_digest
                    .map(|d| format!(", image {d}"))
                    .unwrap_or_default();
                writeln!(stderr, "{}: deployed{id}{digest}", deployed.address)?;
            }
            Err(error) => {
                failed = true;
                let report = miette::Report::new(error);
                writeln!(
                    stderr,
                    "{}: deployment failed\n{report:?}",
                    deployed.address
                )?;
            }
        }
    }
    Ok(if failed { exit::ERROR } else { exit::OK })
}
