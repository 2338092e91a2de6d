//! `apprun state list|show|rm|unlock`.

use std::io::Write;

use apprun_state::{LockRequest, StateStore};

use crate::cli::{Format, StateArgs, StateCommand};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::{stack_input, state_access};

fn open(args: &StateArgs, out: &Output) -> Result<Box<dyn StateStore>, CliError> {
    let loaded = stack_input::load_valid(&args.stack_args(), out)?;
    state_access::open(&args.stack, &loaded.stack, args.target)
}

/// Runs a `state` subcommand.
pub fn run(command: &StateCommand, out: &Output) -> Result<u8, CliError> {
    let mut stdout = std::io::stdout().lock();
    match command {
        StateCommand::List(args) => {
            let store = open(args, out)?;
            let state = state_access::read(store.as_ref())?;
            let resources = state.map(|s| s.resources).unwrap_or_default();
            let mut addresses: Vec<&str> = resources.iter().map(|r| r.address.as_str()).collect();
            addresses.sort_unstable();
            if out.format == Format::Json {
                writeln!(
                    stdout,
                    "{}",
                    serde_json::to_string_pretty(&addresses).unwrap_or_default()
                )?;
            } else {
                for address in addresses {
                    writeln!(stdout, "{address}")?;
                }
            }
            Ok(exit::OK)
        }
        StateCommand::Show { address, state } => {
            let store = open(state, out)?;
            let snapshot = state_access::read(store.as_ref())?;
            let resource = snapshot
                .as_ref()
                .and_then(|s| s.resource(address))
                .ok_or_else(|| CliError::NotInState {
                    address: address.clone(),
                })?;
            let scrubbed = serde_json::json!({
                "address": resource.address,
                "kind": resource.kind,
                "physical_id": resource.physical_id,
                "attributes": apprun_engine::render::json::scrub(&resource.attributes),
                "outputs": resource.outputs,
                "dependencies": resource.dependencies,
            });
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&scrubbed).unwrap_or_default()
            )?;
            Ok(exit::OK)
        }
        StateCommand::Rm { address, state } => {
            let store = open(state, out)?;
            let _lock = store
                .lock(&LockRequest::new("state rm").with_version(env!("CARGO_PKG_VERSION")))?;
            let storage: &dyn apprun_state::Storage = store.as_ref();
            let mut journal = apprun_state::Journal::open(storage)?;
            if journal.snapshot().resource(address).is_none() {
                return Err(CliError::NotInState {
                    address: address.clone(),
                });
            }
            journal.update(|snapshot| {
                snapshot.remove(address);
                for resource in &mut snapshot.resources {
                    resource.dependencies.retain(|d| d != address);
                }
            })?;
            writeln!(
                stdout,
                "Removed {address} from state. The resource itself still exists; `apprun import` adopts it again."
            )?;
            Ok(exit::OK)
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
            let store = open(state, out)?;
            store.force_unlock(lock_id)?;
            writeln!(stdout, "Lock {lock_id} removed.")?;
            Ok(exit::OK)
        }
    }
}
