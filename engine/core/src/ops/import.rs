//! `import ADDRESS ID`: adopt an existing resource into the state under an
//! address the stack declares, recorded as apply would have recorded it.

use std::sync::Arc;

use apprun_schema::Address;

use super::{Hooks, OpError, Workspace};
use crate::desired::desired;
use crate::provider::{Provider, ProviderError};
use crate::record::recorded;

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
    let resource = desired(ws.stack)
        .into_iter()
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
    let observed = provider
        .read(parsed.kind, id, &serde_json::Value::Null)
        .await?
        .ok_or_else(|| ProviderError::NotFound {
            what: id.to_string(),
        })?;
    let physical_id = provider.canonical_id(parsed.kind, id, &observed);
    journal.update(|snapshot| {
        let record = recorded(
            &resource,
            &observed.attributes,
            &physical_id,
            observed.outputs.clone(),
            &snapshot.digest_key,
        );
        snapshot.upsert(record);
    })?;
    Ok(Imported {
        address: address.to_string(),
        id: id.to_string(),
        physical_id,
    })
}
