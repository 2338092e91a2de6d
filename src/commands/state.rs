//! `apprun state list|show|rm|unlock` (`ops::state`).

use std::io::Write;

use apprun_engine::ops;
use apprun_state::StateStore;

use crate::cli::{Format, StateArgs, StateCommand};
use crate::error::{CliError, exit};
use crate::hooks::Terminal;
use crate::output::Output;
use crate::session::Session;

fn open(args: &StateArgs, out: &Output) -> Result<Session, CliError> {
    Session::open(&args.stack_args(), args.target, out)
}

/// Runs a `state` subcommand.
pub fn run(command: &StateCommand, out: &Output) -> Result<u8, CliError> {
    let mut stdout = std::io::stdout().lock();
    match command {
        StateCommand::List(args) => {
            let addresses = ops::state::list(&open(args, out)?.workspace())?;
            if out.format == Format::Json {
                writeln!(stdout, "{}", pretty(&addresses))?;
            } else {
                for address in addresses {
                    writeln!(stdout, "{address}")?;
                }
            }
        }
        StateCommand::Show { address, state } => {
            let record = ops::state::show(&open(state, out)?.workspace(), address)?;
            writeln!(stdout, "{}", pretty(&record))?;
        }
        StateCommand::Rm { address, state } => {
            let hooks = Terminal::new(*out, "state rm", false);
            ops::state::remove(&open(state, out)?.workspace(), address, &hooks)?;
            writeln!(
                stdout,
                "Removed {address} from state. The resource itself still exists; `apprun import` adopts it again."
            )?;
        }
        StateCommand::Migrate {
            to_local, state, ..
        } => {
            let session = open(state, out)?;
            let (local, hooks) = (
                session.local_store()?,
                Terminal::new(*out, "state migrate", false),
            );
            let ws = session.workspace();
            let (from, to): (&dyn StateStore, &dyn StateStore) = match to_local {
                true => (ws.store, &local),
                false => (&local, ws.store),
            };
            let migrated = ops::state::migrate(from, to, ws.version, &hooks)?;
            writeln!(stdout, "{migrated}")?;
        }
        StateCommand::Unlock {
            force,
            lock_id,
            state,
        } => {
            if !force {
                return Err(CliError::Unsupported {
                    what: "unlock without --force".to_string(),
                    help: format!(
                        "make sure the holder is gone, then run `apprun state unlock --force {lock_id}`"
                    ),
                });
            }
            ops::state::unlock(&open(state, out)?.workspace(), lock_id)?;
            writeln!(stdout, "Lock {lock_id} removed.")?;
        }
    }
    Ok(exit::OK)
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
