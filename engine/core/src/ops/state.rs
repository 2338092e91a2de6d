//! `state list|show|rm|unlock`: inspecting and repairing a stack's state.

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
