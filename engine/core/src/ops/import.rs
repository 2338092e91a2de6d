//! `import ADDRESS ID`: adopt an existing resource into the state under an
//! address the stack declares, recorded as apply would have recorded it.

use std::sync::Arc;

use apprun_schema::Address;
use apprun_state::Snapshot;
use serde_json::Value;

use super::{Hooks, OpError, Workspace};
use crate::desired::desired;
use crate::plan::{recorded_known_outputs, resolve_references};
use crate::provider::{Provider, ProviderError};
use crate::record::recorded;
use crate::values::contains_unknown;

/// What an import recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The address it got.
    pub address: String,
    /// The id the user gave.
    pub id: String,
    /// The physical id recorded (the form `create` records).
    pub physical_id: String,
}

/// What the read of an imported resource is given as its record: what the
/// stack declares, references resolved from the state, so a provider
/// reports a value the API shows in another form (an auto scaling
/// configuration named by `…/name`, one a service got as the account's
/// default) as the stack writes it. `null` while a reference is not known
/// yet (what it refers to is not in the state): the provider then reports
/// what it sees.
fn read_hint(resource: &crate::desired::DesiredResource, state: &Snapshot) -> Value {
    let hint = resolve_references(&resource.attributes, &recorded_known_outputs(state));
    if contains_unknown(&hint) {
        Value::Null
    } else {
        hint
    }
}

/// Imports the resource `id` as `address` under the state lock. Refused
/// when the stack does not declare the address, the state holds it
/// already, or the target has no such resource.
pub async fn import<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    address: &str,
    id: &str,
    hooks: &dyn Hooks,
) -> Result<Imported, OpError> {
    let parsed = Address::parse(address).ok_or_else(|| OpError::InvalidAddress {
        address: address.to_string(),
    })?;
    let declared = desired(ws.stack);
    let resource = declared
        .iter()
        .find(|d| d.address == parsed)
        .ok_or_else(|| OpError::NotDeclared {
            address: address.to_string(),
        })?;
    let _lock = ws.lock("import", None, hooks)?;
    let mut journal = ws.journal()?;
    if journal.snapshot().resource(address).is_some() {
        return Err(OpError::AlreadyInState {
            address: address.to_string(),
        });
    }
    provider.preflight().await?;
    let hint = read_hint(resource, journal.snapshot());
    let observed = provider
        .read(parsed.kind, id, &hint)
        .await?
        .ok_or_else(|| ProviderError::NotFound {
            what: id.to_string(),
        })?;
    let physical_id = provider.canonical_id(parsed.kind, id, &observed);
    journal.update(|snapshot| {
        let record = recorded(
            resource,
            &observed.attributes,
            &physical_id,
            observed.outputs.clone(),
            &snapshot.digest_key,
        );
        snapshot.upsert(record);
        // What the stack says depends on the imported resource records it
        // again (`state rm` took it out of their lists), so destroy deletes
        // them before it.
        for dependent in declared.iter().filter(|d| d.dependencies.contains(&parsed)) {
            let name = dependent.address.to_string();
            if let Some(mut other) = snapshot.resource(&name).cloned()
                && !other.dependencies.contains(&address.to_string())
            {
                other.dependencies.push(address.to_string());
                other.dependencies.sort();
                snapshot.upsert(other);
            }
        }
    })?;
    Ok(Imported {
        address: address.to_string(),
        id: id.to_string(),
        physical_id,
    })
}
