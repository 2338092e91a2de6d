//! `refresh`: record in the state what is there now. A resource found gone
//! leaves the state (and every dependency list); one that differs gets the
//! live attributes and outputs; one that could not be read is kept as it
//! was and reported.

use std::sync::Arc;

use apprun_schema::Address;
use apprun_state::Snapshot;

use super::{Hooks, OpError, Workspace, read};
use crate::drift::{ReadResult, seal_observed};
use crate::provider::Provider;

/// What a refresh did to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// Gone from the target; removed from state.
    Removed(String),
    /// Recorded anew from the live resource.
    Updated(String),
    /// Could not be read; its record is unchanged.
    NotRead {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
}

/// The changes a refresh recorded, in no particular order.
#[derive(Debug, Clone, Default)]
pub struct RefreshReport {
    /// One entry per resource that changed or could not be read.
    pub changes: Vec<Refreshed>,
}

impl RefreshReport {
    /// How many changes were recorded (reads that failed do not count).
    pub fn recorded(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| !matches!(c, Refreshed::NotRead { .. }))
            .count()
    }
}

/// Refreshes `ws`'s state under its lock.
pub async fn refresh<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    hooks: &dyn Hooks,
) -> Result<RefreshReport, OpError> {
    let _lock = ws.lock("refresh", None, hooks)?;
    let mut journal = ws.journal()?;
    let state = journal.snapshot().clone();
    let reads = read::read_all(provider, &state).await?;
    let changes = journal.update(|snapshot| {
        reads
            .into_iter()
            .filter_map(|(address, read)| record(snapshot, address, read))
            .collect()
    })?;
    Ok(RefreshReport { changes })
}

/// Records one read in `snapshot`; `None` when nothing changed.
fn record(snapshot: &mut Snapshot, address: String, read: ReadResult) -> Option<Refreshed> {
    let kind = Address::parse(&address)?.kind;
    match read {
        ReadResult::Absent => {
            snapshot.remove(&address);
            for r in &mut snapshot.resources {
                r.dependencies.retain(|d| d != &address);
            }
            Some(Refreshed::Removed(address))
        }
        ReadResult::Present(observed) => {
            let sealed = seal_observed(&address, kind, &observed, snapshot);
            let record = snapshot
                .resources
                .iter_mut()
                .find(|r| r.address == address)?;
            if record.attributes == sealed && record.outputs == observed.outputs {
                return None;
            }
            record.attributes = sealed;
            record.outputs = observed.outputs;
            Some(Refreshed::Updated(address))
        }
        ReadResult::Error(reason) => Some(Refreshed::NotRead { address, reason }),
    }
}
