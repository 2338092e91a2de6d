//! Reading many resources a few at a time, with every tag they carry.

use std::collections::BTreeMap;
use std::sync::Arc;

use apprun_schema::Kind;
use serde_json::Value;

use crate::ops::Hooks;
use crate::provider::{Observed, Provider, ProviderError};

/// How many reads run at once.
pub(super) const CONCURRENCY: usize = 16;

/// One read resource, every tag it carries, and (for a service, when
/// asked) what is attached to it.
pub(super) struct Read {
    pub kind: Kind,
    pub id: String,
    pub observed: Observed,
    pub tags: BTreeMap<String, String>,
    pub attached: Vec<(Kind, String)>,
}

/// Reads `items` (kind, id, read hint) [`CONCURRENCY`] at a time, with
/// their tags and, with `attached`, what is attached to each service; a
/// resource gone is left out, failures are returned by id.
pub(super) async fn read_many<P: Provider + 'static>(
    provider: &Arc<P>,
    items: Vec<(Kind, String, Value)>,
    attached: bool,
    hooks: &dyn Hooks,
) -> (Vec<Read>, Vec<(Kind, String, ProviderError)>) {
    let total = items.len();
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (kind, id, hint) in items {
        let (provider, limit) = (provider.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let read = async {
                let Some(tagged) = provider.read_tagged(kind, &id, &hint).await? else {
                    return Ok(None);
                };
                let attached = if attached && kind == Kind::Service {
                    provider.attached(&tagged.id).await?
                } else {
                    Vec::new()
                };
                Ok::<_, ProviderError>(Some(Read {
                    kind,
                    id: tagged.id,
                    observed: tagged.observed,
                    tags: tagged.tags,
                    attached,
                }))
            }
            .await;
            (kind, id, read)
        });
    }
    let (mut found, mut failed) = (Vec::new(), Vec::new());
    let step = (total / 10).max(25);
    let mut done: usize = 0;
    while let Some(joined) = tasks.join_next().await {
        let Ok((kind, id, read)) = joined else {
            continue;
        };
        match read {
            Ok(Some(r)) => found.push(r),
            Ok(None) => {}
            Err(e) => failed.push((kind, id, e)),
        }
        done += 1;
        let n = done;
        if n.is_multiple_of(step) && n < total {
            hooks.notice(&format!("  read {n} of {total}"));
        }
    }
    found.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    failed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    (found, failed)
}
