//! Starting a ready step: its job, prepared from the state as it stands
//! when the step starts (its record, the outputs recorded so far, the
//! pending delete of a deposed resource), spawned as a task.

use std::collections::BTreeMap;
use std::sync::Arc;

use apprun_schema::{Address, Stack};
use apprun_state::Snapshot;
use serde_json::Value;
use tokio::task::JoinSet;

use super::job::{Deposed, Job, TaskError};
use super::journal::JournalClient;
use super::schedule::{Node, Step};
use crate::desired::{DesiredResource, desired};
use crate::plan::{
    KnownOutputs, Plan, dependency_outputs, recorded_known_outputs, resolve_references,
};
use crate::provider::{Progress, Provider, ProviderError};
use crate::values::contains_unknown;

/// How a task ended: its node's index and its result.
pub(super) type Finished = (usize, Result<(), TaskError>);

/// What every job of one apply shares.
pub(super) struct Jobs<P> {
    provider: Arc<P>,
    journal: JournalClient,
    stack: String,
    desired: BTreeMap<Address, DesiredResource>,
    /// Per change, the attribute paths that differ.
    changed: BTreeMap<Address, Vec<String>>,
    progress: Progress,
}

impl<P: Provider + 'static> Jobs<P> {
    /// The jobs of `plan`, made against `stack`'s desired state.
    pub(super) fn new(
        plan: &Plan,
        stack: &Stack,
        provider: Arc<P>,
        journal: JournalClient,
        progress: Progress,
    ) -> Self {
        let desired = desired(stack)
            .into_iter()
            .map(|d| (d.address.clone(), d))
            .collect();
        let changed = plan
            .changes
            .iter()
            .map(|c| {
                let paths = c.attributes.iter().map(|a| a.path.clone()).collect();
                (c.address.clone(), paths)
            })
            .collect();
        Jobs {
            provider,
            journal,
            stack: stack.stack.value.clone(),
            desired,
            changed,
            progress,
        }
    }

    /// A round of starts against the state as it stands now (it changes
    /// only between rounds).
    pub(super) fn round<'a>(&'a self, snapshot: &'a Snapshot) -> Round<'a, P> {
        Round {
            jobs: self,
            snapshot,
            known: None,
        }
    }
}

/// The starts made against one snapshot of the state.
pub(super) struct Round<'a, P> {
    jobs: &'a Jobs<P>,
    snapshot: &'a Snapshot,
    /// The outputs recorded so far, gathered at the first start (one map
    /// serves every start of a round).
    known: Option<KnownOutputs>,
}

impl<P: Provider + 'static> Round<'_, P> {
    /// Spawns node `index`'s job on `tasks`. Fails when a value it
    /// references is still unknown.
    pub(super) fn start(
        &mut self,
        index: usize,
        node: &Node,
        tasks: &mut JoinSet<Finished>,
    ) -> Result<(), ProviderError> {
        let job = self.job(node)?;
        tasks.spawn(async move { (index, job.run_reported().await) });
        Ok(())
    }

    fn job(&mut self, node: &Node) -> Result<Job<P>, ProviderError> {
        let snapshot = self.snapshot;
        // A step journals a new operation on its address: never beside one
        // an earlier run left that reconcile could not settle yet (a
        // replacement's deposed delete is this apply's own, and its
        // `DeleteOld` step journals nothing new).
        let address = node.address.to_string();
        if node.step != Step::DeleteOld && snapshot.pending.iter().any(|op| op.address == address) {
            return Err(ProviderError::Fatal {
                message: format!(
                    "{address}: an operation an earlier run left on it could not be settled yet (see above)"
                ),
                help: "apply again once the target answers: apprun settles it first".to_string(),
            });
        }
        let known = self
            .known
            .get_or_insert_with(|| recorded_known_outputs(snapshot));
        let desired = self.jobs.desired.get(&node.address).cloned();
        let resolved = desired
            .as_ref()
            .map(|d| resolve_references(&d.attributes, known))
            .unwrap_or(Value::Null);
        if contains_unknown(&resolved) {
            return Err(ProviderError::Fatal {
                message: format!("{}: a referenced value is still unknown", node.address),
                help: "a dependency produced no such output; run `apprun plan` and check the references".to_string(),
            });
        }
        let dependencies = desired
            .as_ref()
            .map(|d| dependency_outputs(d, known))
            .unwrap_or_default();
        let deposed = (node.step == Step::DeleteOld)
            .then(|| deposed(snapshot, &node.address))
            .flatten();
        Ok(Job {
            provider: self.jobs.provider.clone(),
            journal: self.jobs.journal.clone(),
            key: snapshot.digest_key.clone(),
            stack: self.jobs.stack.clone(),
            address: node.address.clone(),
            step: node.step,
            desired,
            resolved,
            dependencies,
            record: snapshot.resource(&node.address.to_string()).cloned(),
            changed: self
                .jobs
                .changed
                .get(&node.address)
                .cloned()
                .unwrap_or_default(),
            progress: self.jobs.progress.clone(),
            deposed,
        })
    }
}

/// The pending delete of the resource `address`'s replacement deposed,
/// begun by the replacement's create.
fn deposed(snapshot: &Snapshot, address: &Address) -> Option<Deposed> {
    let address = address.to_string();
    snapshot
        .pending
        .iter()
        .filter(|p| p.address == address)
        .find_map(Deposed::from_op)
}
