//! `state list|show|rm|unlock`: inspecting and repairing a stack's state.

use apprun_state::{Generation, LockRequest, StateStore};
use serde_json::{Value, json};

use super::{Hooks, OpError, Workspace};
use crate::render::json::scrub;

/// The addresses the state records, sorted.
pub fn list(ws: &Workspace<'_>) -> Result<Vec<String>, OpError> {
    let mut addresses: Vec<String> = ws
        .read_state()?
        .map(|s| s.resources.into_iter().map(|r| r.address).collect())
        .unwrap_or_default();
    addresses.sort_unstable();
    Ok(addresses)
}

/// One resource's record as a JSON document, sensitive values scrubbed.
pub fn show(ws: &Workspace<'_>, address: &str) -> Result<Value, OpError> {
    let snapshot = ws.read_state()?;
    let resource = snapshot
        .as_ref()
        .and_then(|s| s.resource(address))
        .ok_or_else(|| OpError::NotInState {
            address: address.to_string(),
        })?;
    Ok(json!({
        "address": resource.address,
        "kind": resource.kind,
        "physical_id": resource.physical_id,
        "attributes": scrub(&resource.attributes),
        "outputs": resource.outputs,
        "dependencies": resource.dependencies,
    }))
}

/// Forgets `address` (and every dependency on it) without deleting the
/// resource, under the state lock.
pub fn remove(ws: &Workspace<'_>, address: &str, hooks: &dyn Hooks) -> Result<(), OpError> {
    let _lock = ws.lock("state rm", None, hooks)?;
    let mut journal = ws.journal()?;
    if journal.snapshot().resource(address).is_none() {
        return Err(OpError::NotInState {
            address: address.to_string(),
        });
    }
    journal.update(|snapshot| {
        snapshot.remove(address);
        for resource in &mut snapshot.resources {
            resource.dependencies.retain(|d| d != address);
        }
    })?;
    Ok(())
}

/// Breaks the lock `id` (its holder must be gone).
pub fn unlock(ws: &Workspace<'_>, id: &str) -> Result<(), OpError> {
    Ok(ws.store.force_unlock(id)?)
}

/// What `state migrate` copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrated {
    /// The state was copied: its lineage and serial are kept.
    Copied {
        /// How many resources it records.
        resources: usize,
        /// Its lineage and serial.
        generation: String,
    },
    /// The destination already holds this state, as new or newer.
    AlreadyThere {
        /// Its lineage and serial there.
        generation: String,
    },
    /// There was nothing to copy.
    NothingToCopy,
}

impl std::fmt::Display for Migrated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Migrated::Copied {
                resources,
                generation,
            } => write!(
                f,
                "Copied the state: {resources} resource(s), {generation}."
            ),
            Migrated::AlreadyThere { generation } => write!(
                f,
                "The destination already holds this state ({generation}); nothing was copied."
            ),
            Migrated::NothingToCopy => write!(f, "There is no state to copy; nothing was written."),
        }
    }
}

/// Copies the state at `from` to `to`, keeping lineage and serial, both
/// locked for the copy: how a team moves a stack's state to S3 (or back).
/// Refuses, writing nothing, when `to` holds a state of another lineage
/// (another stack's, or one re-created) or a newer one of the same.
pub fn migrate(
    from: &dyn StateStore,
    to: &dyn StateStore,
    version: &str,
    hooks: &dyn Hooks,
) -> Result<Migrated, OpError> {
    let request = LockRequest::new("state migrate").with_version(version);
    let _from_lock = from.lock(&request)?;
    let _to_lock = to.lock(&request)?;
    let Some(snapshot) = from.read()? else {
        return Ok(Migrated::NothingToCopy);
    };
    let generation = |lineage: &apprun_state::Lineage, serial: u64| {
        Generation {
            lineage: lineage.clone(),
            serial,
        }
        .to_string()
    };
    let expected = match to.read()? {
        None => None,
        Some(there) if there.lineage != snapshot.lineage => {
            return Err(OpError::MigrateRefused {
                from: from.location(),
                to: to.location(),
                reason: format!(
                    "it holds another state ({}), not {}",
                    generation(&there.lineage, there.serial),
                    generation(&snapshot.lineage, snapshot.serial)
                ),
            });
        }
        Some(there) if there.serial >= snapshot.serial => {
            return Ok(Migrated::AlreadyThere {
                generation: generation(&there.lineage, there.serial),
            });
        }
        Some(there) => Some(Generation {
            lineage: there.lineage,
            serial: there.serial,
        }),
    };
    to.write(&snapshot, expected.as_ref())?;
    hooks.notice(&format!(
        "Copied the state of {} to {}; {} keeps its copy (remove it once the team uses the new one).",
        from.location(),
        to.location(),
        from.location()
    ));
    Ok(Migrated::Copied {
        resources: snapshot.resources.len(),
        generation: generation(&snapshot.lineage, snapshot.serial),
    })
}
