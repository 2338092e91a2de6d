//! apprun's ownership tags on what discover adopted: at once
//! (`--tag-now`), or by the first apply (records marked `unclaimed`).

use apprun_schema::Address;
use apprun_state::{Journal, Storage};

use crate::discover::Draft;
use crate::ops::{Hooks, OpError, Workspace};
use crate::provider::Provider;

/// Puts apprun's ownership tags on every resource of `draft` now
/// (`--tag-now`).
pub async fn claim_now<P: Provider>(
    provider: &P,
    stack: &str,
    draft: &Draft,
) -> Result<(), OpError> {
    for c in &draft.resources {
        provider
            .claim(c.address.kind, &c.physical_id, stack, &c.address)
            .await?;
    }
    Ok(())
}

/// The addresses `discover` adopted that the next apply still has to tag
/// (what `plan` tells beside its changes).
pub fn unclaimed(ws: &Workspace<'_>) -> Result<Vec<String>, OpError> {
    Ok(ws
        .read_state()?
        .map(|s| {
            s.resources
                .iter()
                .filter(|r| r.unclaimed)
                .map(|r| r.address.clone())
                .collect()
        })
        .unwrap_or_default())
}

/// Tags every resource `discover` adopted without its ownership tags and
/// clears the mark (what the first apply after discover does); returns how
/// many were tagged.
pub async fn claim_adopted<P: Provider, S: Storage + ?Sized>(
    ws: &Workspace<'_>,
    provider: &P,
    journal: &mut Journal<'_, S>,
    hooks: &dyn Hooks,
) -> Result<usize, OpError> {
    let unclaimed: Vec<(Address, String)> = journal
        .snapshot()
        .resources
        .iter()
        .filter(|r| r.unclaimed)
        .filter_map(|r| Some((Address::parse(&r.address)?, r.physical_id.clone()?)))
        .collect();
    if unclaimed.is_empty() {
        return Ok(0);
    }
    provider.preflight().await?;
    for (address, id) in &unclaimed {
        provider
            .claim(address.kind, id, ws.stack_name(), address)
            .await?;
        journal.update(|snapshot| {
            if let Some(mut r) = snapshot.resource(&address.to_string()).cloned() {
                r.unclaimed = false;
                snapshot.upsert(r);
            }
        })?;
    }
    hooks.notice(&format!(
        "Tagged {} adopted resource(s) with apprun's ownership tags.",
        unclaimed.len()
    ));
    Ok(unclaimed.len())
}
