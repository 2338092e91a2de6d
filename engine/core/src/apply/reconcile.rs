//! Reconcile: settle the operations an earlier, interrupted run left
//! pending, before anything else runs against the state.

use apprun_schema::Address;
use apprun_state::{
    Journal, Outcome, PendingAction, PendingOp, Resource, Snapshot, StateError, Storage,
};
use serde_json::Value;

use super::job::{Deposed, detail_text, gone_is_deleted};
use super::journal::write_blocking;
use crate::provider::{Applied, Progress, Provider};

/// Settles operations an earlier, interrupted run left pending: an
/// interrupted create is looked up by its ownership tags and adopted or
/// forgotten; an interrupted replacement's old resource is deleted; an
/// interrupted delete is checked. Returns one line per settled operation.
pub async fn reconcile<P: Provider, S: Storage + ?Sized>(
    stack: &str,
    provider: &P,
    journal: &mut Journal<'_, S>,
    progress: Progress,
) -> Result<Vec<String>, StateError> {
    let pending: Vec<PendingOp> = journal.pending().to_vec();
    let mut settler = Settler {
        stack,
        provider,
        progress,
        lines: Vec::new(),
    };
    for op in pending {
        if let Some(outcome) = settler.settle(&op, journal.snapshot()).await {
            write_blocking(|| journal.complete(&op.id, outcome))?;
        }
    }
    Ok(settler.lines)
}

/// Settles pending operations one by one, saying what it found.
struct Settler<'a, P> {
    stack: &'a str,
    provider: &'a P,
    progress: Progress,
    /// What became of each operation, for the user.
    lines: Vec<String>,
}

impl<P: Provider> Settler<'_, P> {
    /// The outcome to record for `op`; `None` leaves it pending (it cannot
    /// be settled yet).
    async fn settle(&mut self, op: &PendingOp, snapshot: &Snapshot) -> Option<Outcome> {
        let Some(address) = Address::parse(&op.address) else {
            return Some(Outcome::Failed);
        };
        match op.action {
            PendingAction::Create | PendingAction::Replace => {
                self.settle_create(&address, op, snapshot).await
            }
            PendingAction::Delete => match Deposed::from_op(op) {
                Some(deposed) => self.settle_deposed(&address, &deposed).await,
                None => self.settle_delete(&address, op, snapshot).await,
            },
            PendingAction::Update => {
                self.say(format!(
                    "{address}: an update was interrupted; the plan compares again"
                ));
                Some(Outcome::Failed)
            }
        }
    }

    /// An interrupted create (or replacement): adopts what it made, after
    /// deleting the resource it replaced; forgets it if it made nothing.
    async fn settle_create(
        &mut self,
        address: &Address,
        op: &PendingOp,
        snapshot: &Snapshot,
    ) -> Option<Outcome> {
        let name = detail_text(op, "name");
        let applied = match self.provider.find_owned(self.stack, address, &name).await {
            Ok(Some(applied)) => applied,
            Ok(None) => {
                self.say(format!(
                    "{address}: the interrupted create had not taken effect"
                ));
                return Some(Outcome::Failed);
            }
            Err(error) => {
                self.say(format!(
                    "{address}: could not settle the interrupted create yet: {error}"
                ));
                return None;
            }
        };
        let replaces = op.detail.get("replaces");
        if let Some(old_id) = replaces
            .and_then(|r| r.get("physical_id"))
            .and_then(Value::as_str)
            .filter(|id| *id != applied.physical_id)
        {
            let old_attributes = replaces
                .and_then(|r| r.get("attributes"))
                .cloned()
                .unwrap_or(Value::Null);
            let answer = self
                .provider
                .delete(address.kind, old_id, &old_attributes, self.progress.clone())
                .await;
            match gone_is_deleted(answer) {
                Ok(()) => self.say(format!("{address}: deleted the replaced resource {old_id}")),
                Err(error) => {
                    self.say(format!(
                        "{address}: could not delete the replaced resource {old_id} yet: {error}"
                    ));
                    return None;
                }
            }
        }
        self.say(format!(
            "{address}: the interrupted create had taken effect; adopted {}",
            applied.physical_id
        ));
        Some(Outcome::Applied(adopted(address, op, applied, snapshot)))
    }

    /// The interrupted deletion of a resource a replacement deposed: deletes
    /// it (the record already describes the replacement).
    async fn settle_deposed(&mut self, address: &Address, deposed: &Deposed) -> Option<Outcome> {
        let physical_id = deposed.physical_id();
        match deposed
            .delete(self.provider, address, self.progress.clone())
            .await
        {
            Ok(()) => {
                self.say(format!(
                    "{address}: deleted the replaced resource {physical_id}"
                ));
                Some(Outcome::Failed)
            }
            Err(error) => {
                self.say(format!(
                    "{address}: could not delete the replaced resource yet: {error}"
                ));
                None
            }
        }
    }

    /// An interrupted delete: checks whether the resource is gone.
    async fn settle_delete(
        &mut self,
        address: &Address,
        op: &PendingOp,
        snapshot: &Snapshot,
    ) -> Option<Outcome> {
        let physical_id = detail_text(op, "physical_id");
        let recorded = snapshot
            .resource(&op.address)
            .map(|r| r.attributes.clone())
            .unwrap_or(Value::Null);
        match self
            .provider
            .read(address.kind, &physical_id, &recorded)
            .await
        {
            Ok(None) => {
                self.say(format!(
                    "{address}: the interrupted delete had taken effect"
                ));
                Some(Outcome::Deleted)
            }
            Ok(Some(_)) => {
                self.say(format!(
                    "{address}: the interrupted delete had not taken effect"
                ));
                Some(Outcome::Failed)
            }
            // A delete is idempotent (gone counts as deleted): the record
            // stays and the plan deletes it again, rather than leaving a
            // pending operation the new delete would collide with.
            Err(error) => {
                self.say(format!(
                    "{address}: could not check the interrupted delete ({error}); its record stays and the plan deletes it again"
                ));
                Some(Outcome::Failed)
            }
        }
    }

    fn say(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// The record of a resource an interrupted create made: the attributes it
/// was journaled with, and the dependencies already recorded at its address.
fn adopted(address: &Address, op: &PendingOp, applied: Applied, snapshot: &Snapshot) -> Resource {
    let mut record = Resource::new(address.to_string(), address.kind.section());
    record.physical_id = Some(applied.physical_id);
    record.attributes = op.detail.get("attributes").cloned().unwrap_or(Value::Null);
    record.outputs = applied.outputs;
    record.dependencies = snapshot
        .resource(&op.address)
        .map(|r| r.dependencies.clone())
        .unwrap_or_default();
    // Its follow-up calls (policies, lifecycle, waiting) may not have run.
    record.incomplete = Some(
        "an interrupted create made it; apply reads it and finishes what is missing".to_string(),
    );
    record
}
