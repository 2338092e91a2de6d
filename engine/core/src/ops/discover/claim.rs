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

/// How many resources `discover` adopted that the next apply still has
/// to tag (what `plan` tells beside its changes).
pub fn unclaimed(ws: &Workspace<'_>) -> Result<usize, OpError> {
    Ok(ws
        .read_state()?
        .map_or(0, |s| s.resources.iter().filter(|r| r.unclaimed).count()))
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
    // Tag every one, then clear the marks of those tagged in one state
    // write (a failure still records the ones done before it).
    let mut claimed = Vec::new();
    let mut failure = None;
    for (address, id) in &unclaimed {
        match provider
            .claim(address.kind, id, ws.stack_name(), address)
            .await
        {
            Ok(()) => claimed.push(address.to_string()),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    journal.update(|snapshot| {
        for r in snapshot.resources.iter_mut() {
            if claimed.contains(&r.address) {
                r.unclaimed = false;
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    hooks.notice(&format!(
        "Tagged {} adopted resource(s) with apprun's ownership tags.",
        unclaimed.len()
    ));
    Ok(unclaimed.len())
}
