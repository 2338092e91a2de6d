//! Reading the live world: every recorded resource through the provider, a
//! few at a time. Shared by plan and apply (refresh), drift and refresh.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use apprun_schema::Address;
use apprun_state::Snapshot;
use serde_json::Value;

use super::OpError;
use crate::drift::{ReadResult, seal_observed};
use crate::plan::Observation;
use crate::provider::Provider;

/// How many reads run at once.
pub const READ_CONCURRENCY: usize = 8;

/// Reads every recorded resource, [`READ_CONCURRENCY`] at a time; the
/// target's prerequisites are checked once first (when there is anything
/// to read). The result is in no particular order.
pub async fn read_all<P: Provider + 'static>(
    provider: Arc<P>,
    state: &Snapshot,
) -> Result<Vec<(String, ReadResult)>, OpError> {
    each_recorded(
        provider,
        state,
        |provider, address, id, attributes| async move {
            let result = match provider.read(address.kind, &id, &attributes).await {
                Ok(Some(observed)) => ReadResult::Present(observed),
                Ok(None) => ReadResult::Absent,
                Err(error) => ReadResult::Error(error.to_string()),
            };
            (address.to_string(), result)
        },
    )
    .await
}

/// Runs `each` (given the provider, the address, the physical id and the
/// recorded attributes) for every recorded resource, [`READ_CONCURRENCY`]
/// at a time, after checking the target's prerequisites once (when there
/// is anything to read). The results are in no particular order.
pub(super) async fn each_recorded<P, T, F, Fut>(
    provider: Arc<P>,
    state: &Snapshot,
    each: F,
) -> Result<Vec<T>, OpError>
where
    P: Provider + 'static,
    T: Send + 'static,
    F: Fn(Arc<P>, Address, String, Value) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    if !state.resources.is_empty() {
        provider.preflight().await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(READ_CONCURRENCY));
    for resource in &state.resources {
        let Some(address) = Address::parse(&resource.address) else {
            continue;
        };
        let limit = limit.clone();
        let work = each(
            provider.clone(),
            address,
            resource.physical_id.clone().unwrap_or_default(),
            resource.attributes.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            work.await
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(result) = joined {
            out.push(result);
        }
    }
    Ok(out)
}

/// Reads every recorded resource and turns what was seen into the
/// planner's observations (secrets sealed). A resource that could not be
/// read fails the whole refresh ([`OpError::NotRead`], naming each): a plan
/// that silently used the record instead would say "no changes" about a
/// world it never saw.
pub async fn observe<P: Provider + 'static>(
    provider: Arc<P>,
    state: &Snapshot,
) -> Result<BTreeMap<Address, Observation>, OpError> {
    let mut observed = BTreeMap::new();
    let mut unread = Vec::new();
    for (address, read) in read_all(provider, state).await? {
        let Some(parsed) = Address::parse(&address) else {
            continue;
        };
        match read {
            ReadResult::Present(seen) => {
                let attributes = seal_observed(&address, parsed.kind, &seen, state);
                observed.insert(
                    parsed,
                    Observation::Present {
                        attributes,
                        failed: seen.failed,
                    },
                );
            }
            ReadResult::Absent => {
                observed.insert(parsed, Observation::Absent);
            }
            ReadResult::Error(error) => unread.push(format!("{address}: {error}")),
        }
    }
    if unread.is_empty() {
        return Ok(observed);
    }
    unread.sort();
    Err(OpError::NotRead {
        count: unread.len(),
        details: unread.join("; "),
    })
}
