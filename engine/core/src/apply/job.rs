//! One step against the provider. Every mutating call is one journaled step
//! ([`Job::journaled`]): its intent is journaled before the call and its
//! result after it, with a fail point at each journal point.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apprun_schema::Address;
use apprun_state::{DigestKey, OpId, Outcome, PendingAction, PendingOp, Resource, StateError};
use serde_json::{Value, json};

use super::failpoints;
use super::journal::JournalClient;
use super::schedule::Step;
use crate::desired::DesiredResource;
use crate::kinds::rules;
use crate::provider::{Applied, Progress, Provider, ProviderError, ResourceRequest};
use crate::record::recorded;
use crate::values::seal;

/// What a provider call answered.
pub(super) type Answer<T> = Result<T, ProviderError>;

/// Why a task ended without doing its step.
pub(super) enum TaskError {
    /// The provider failed: the change failed.
    Provider(ProviderError),
    /// The state could not be written: the apply ends.
    State(StateError),
}

impl From<StateError> for TaskError {
    fn from(error: StateError) -> Self {
        TaskError::State(error)
    }
}

impl From<ProviderError> for TaskError {
    fn from(error: ProviderError) -> Self {
        TaskError::Provider(error)
    }
}

/// What becomes of a journaled operation once its call answered.
enum Settle {
    /// Complete it with this outcome.
    Complete(Outcome),
    /// First journal the pending delete of the resource a replacement
    /// deposed, then complete it with this outcome.
    Depose(PendingOp, Outcome),
    /// Leave it pending: whether the call took effect is unknown, and the
    /// next run reconciles it.
    LeavePending,
}

impl Settle {
    /// Complete with what `done` makes of a success, or as failed.
    fn done_or_failed<T>(answer: &Answer<T>, done: impl FnOnce(&T) -> Outcome) -> Self {
        Settle::Complete(match answer {
            Ok(value) => done(value),
            Err(_) => Outcome::Failed,
        })
    }
}

/// The resource a create-before-destroy replacement deposed, and the
/// pending delete that tracks it until it is gone.
pub(super) struct Deposed {
    physical_id: String,
    attributes: Value,
    op: OpId,
}

impl Deposed {
    /// The pending delete of `old`, deposed by its replacement: journaled
    /// after the new one exists and before its record replaces `old`'s.
    fn delete_op(address: &Address, old: &Resource) -> Result<PendingOp, StateError> {
        let detail = json!({ "replaced": true, "physical_id": old.physical_id, "attributes": old.attributes });
        new_op(address, PendingAction::Delete, detail)
    }

    /// Reads a pending delete made by [`Deposed::delete_op`]; `None` for
    /// any other operation.
    pub(super) fn from_op(op: &PendingOp) -> Option<Self> {
        if op.detail.get("replaced").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        Some(Deposed {
            physical_id: detail_text(op, "physical_id"),
            attributes: op.detail.get("attributes").cloned().unwrap_or(Value::Null),
            op: op.id.clone(),
        })
    }

    /// The deposed resource's physical id.
    pub(super) fn physical_id(&self) -> &str {
        &self.physical_id
    }

    /// Deletes the deposed resource (gone already counts as deleted).
    pub(super) async fn delete<P: Provider>(
        &self,
        provider: &P,
        address: &Address,
        progress: Progress,
    ) -> Answer<()> {
        let answer = provider
            .delete(address.kind, &self.physical_id, &self.attributes, progress)
            .await;
        gone_is_deleted(answer)
    }
}

/// Everything one task needs, owned.
pub(super) struct Job<P> {
    /// Where the step's calls go.
    pub(super) provider: Arc<P>,
    /// Where its journal entries go.
    pub(super) journal: JournalClient,
    /// The state's key for sealing secrets.
    pub(super) key: DigestKey,
    /// The stack's name.
    pub(super) stack: String,
    /// The resource it changes.
    pub(super) address: Address,
    /// What it does.
    pub(super) step: Step,
    /// What the stack wants (none for a deletion).
    pub(super) desired: Option<DesiredResource>,
    /// The desired attributes, references resolved, secrets in clear.
    pub(super) resolved: Value,
    /// The outputs of what it depends on.
    pub(super) dependencies: BTreeMap<Address, BTreeMap<String, Value>>,
    /// Its record in the state, if any.
    pub(super) record: Option<Resource>,
    /// The attribute paths an update changes.
    pub(super) changed: Vec<String>,
    /// Where progress messages go.
    pub(super) progress: Progress,
    /// For [`Step::DeleteOld`]: the replaced resource.
    pub(super) deposed: Option<Deposed>,
}

impl<P: Provider + 'static> Job<P> {
    /// Runs the step, reporting when it starts and, when it succeeds, how
    /// long it took.
    pub(super) async fn run_reported(self) -> Result<(), TaskError> {
        let (starting, done) = self.step.words();
        (self.progress)(&self.address, starting);
        let started = Instant::now();
        let result = self.run().await;
        if result.is_ok() {
            let line = format!("{done} after {}", took(started.elapsed()));
            (self.progress)(&self.address, &line);
        }
        result
    }

    async fn run(&self) -> Result<(), TaskError> {
        match self.step {
            Step::Create => self.create(self.need_desired()?, None).await,
            Step::Update => self.update(self.need_desired()?, self.need_record()?).await,
            Step::DeleteThenCreate => {
                let desired = self.need_desired()?;
                if let Some(record) = &self.record {
                    self.delete(record).await?;
                }
                self.create(desired, None).await
            }
            Step::CreateReplacement => {
                self.create(self.need_desired()?, Some(self.need_record()?))
                    .await
            }
            Step::DeleteOld => self.delete_deposed().await,
            Step::Delete => self.delete(self.need_record()?).await,
        }
    }

    /// Creates the resource. For a create-before-destroy replacement,
    /// `replaces` is the old resource: its deletion is journaled after the new
    /// one exists and before the new record replaces the old one, so a crash
    /// at any point leaves a trace of both.
    async fn create(
        &self,
        desired: &DesiredResource,
        replaces: Option<&Resource>,
    ) -> Result<(), TaskError> {
        let (action, old) = match replaces {
            Some(record) => (
                PendingAction::Replace,
                json!({ "physical_id": record.physical_id, "attributes": record.attributes }),
            ),
            None => (PendingAction::Create, Value::Null),
        };
        let detail =
            json!({ "name": desired.name, "attributes": self.sealed(desired), "replaces": old });
        let op = self.op(action, detail)?;
        let call = async {
            match self.provider.create(&self.request(desired)).await {
                // The call may have taken effect: look before anything else.
                Err(ProviderError::Ambiguous { operation, message }) => Ok(self
                    .provider
                    .find_owned(&self.stack, &desired.address, &desired.name)
                    .await?
                    .ok_or(ProviderError::Ambiguous { operation, message })),
                answer => Ok(answer),
            }
        };
        let settle = |answer: &Answer<Applied>| match answer {
            Ok(applied) => {
                let outcome = Outcome::Applied(self.record_of(desired, applied));
                Ok(match replaces {
                    Some(old) => {
                        Settle::Depose(Deposed::delete_op(&desired.address, old)?, outcome)
                    }
                    None => Settle::Complete(outcome),
                })
            }
            Err(ProviderError::Ambiguous { .. }) => Ok(Settle::LeavePending),
            Err(_) => Ok(Settle::Complete(Outcome::Failed)),
        };
        self.journaled(op, call, settle).await?;
        Ok(())
    }

    /// Changes the resource in place.
    async fn update(&self, desired: &DesiredResource, record: &Resource) -> Result<(), TaskError> {
        let op = self.op(PendingAction::Update, json!({ "name": desired.name }))?;
        let physical_id = record.physical_id.as_deref().unwrap_or_default();
        let call = async {
            let request = self.request(desired);
            Ok(self
                .provider
                .update(physical_id, &request, &self.changed)
                .await)
        };
        let settle = |answer: &Answer<Applied>| {
            Ok(Settle::done_or_failed(answer, |applied| {
                Outcome::Applied(self.record_of(desired, applied))
            }))
        };
        self.journaled(op, call, settle).await?;
        Ok(())
    }

    /// Deletes the recorded resource (gone already counts as deleted).
    async fn delete(&self, record: &Resource) -> Result<(), TaskError> {
        let op = self.op(
            PendingAction::Delete,
            json!({ "physical_id": record.physical_id }),
        )?;
        let physical_id = record.physical_id.as_deref().unwrap_or_default();
        let call = async {
            let answer = self
                .provider
                .delete(
                    self.address.kind,
                    physical_id,
                    &record.attributes,
                    self.progress.clone(),
                )
                .await;
            Ok(gone_is_deleted(answer))
        };
        let settle =
            |answer: &Answer<()>| Ok(Settle::done_or_failed(answer, |()| Outcome::Deleted));
        self.journaled(op, call, settle).await
    }

    /// Deletes the resource a replacement deposed; its pending delete was
    /// journaled by the replacement's create.
    async fn delete_deposed(&self) -> Result<(), TaskError> {
        let deposed = self
            .deposed
            .as_ref()
            .ok_or_else(|| missing(&self.address))?;
        // On failure the pending delete stays: the next apply retries it.
        deposed
            .delete(&*self.provider, &self.address, self.progress.clone())
            .await?;
        // The record now describes the replacement: keep it.
        self.journal
            .complete(deposed.op.clone(), Outcome::Failed)
            .await?;
        Ok(())
    }

    /// One journaled step: journals `op`, makes the provider `call`, then
    /// journals what `settle` makes of its answer, with a fail point before
    /// the intent, after it, and after the call. `call` fails outright only
    /// when it cannot tell whether it took effect (an ambiguous create whose
    /// lookup failed): the step then ends with that error and leaves `op`
    /// pending, for the next run to reconcile.
    async fn journaled<T>(
        &self,
        op: PendingOp,
        call: impl Future<Output = Result<Answer<T>, ProviderError>>,
        settle: impl FnOnce(&Answer<T>) -> Result<Settle, StateError>,
    ) -> Result<T, TaskError> {
        let id = op.id.clone();
        failpoints::hit(failpoints::BEFORE_BEGIN);
        self.journal.begin(op).await?;
        failpoints::hit(failpoints::AFTER_BEGIN);
        let answer = call.await?;
        failpoints::hit(failpoints::AFTER_CALL);
        match settle(&answer)? {
            Settle::Complete(outcome) => self.journal.complete(id, outcome).await?,
            Settle::Depose(deposed, outcome) => {
                self.journal.begin(deposed).await?;
                self.journal.complete(id, outcome).await?;
            }
            Settle::LeavePending => {}
        }
        Ok(answer?)
    }

    /// A new pending operation on this job's resource.
    fn op(&self, action: PendingAction, detail: Value) -> Result<PendingOp, StateError> {
        new_op(&self.address, action, detail)
    }

    fn request<'a>(&'a self, desired: &'a DesiredResource) -> ResourceRequest<'a> {
        ResourceRequest {
            stack: &self.stack,
            address: &desired.address,
            name: &desired.name,
            attributes: &self.resolved,
            dependencies: &self.dependencies,
            progress: self.progress.clone(),
        }
    }

    fn sealed(&self, desired: &DesiredResource) -> Value {
        seal(&rules(desired.address.kind), &self.resolved, &self.key)
    }

    /// The record of `desired` as the provider `applied` it.
    fn record_of(&self, desired: &DesiredResource, applied: &Applied) -> Resource {
        let outputs = applied.outputs.clone();
        recorded(
            desired,
            &self.resolved,
            &applied.physical_id,
            outputs,
            &self.key,
        )
    }

    fn need_desired(&self) -> Result<&DesiredResource, TaskError> {
        self.desired.as_ref().ok_or_else(|| missing(&self.address))
    }

    fn need_record(&self) -> Result<&Resource, TaskError> {
        self.record.as_ref().ok_or_else(|| missing(&self.address))
    }
}

/// A delete's answer, where a resource already gone counts as deleted.
pub(super) fn gone_is_deleted(answer: Answer<()>) -> Answer<()> {
    match answer {
        Err(ProviderError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// The text at `key` in a pending operation's detail (empty when absent).
pub(super) fn detail_text(op: &PendingOp, key: &str) -> String {
    op.detail
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn new_op(
    address: &Address,
    action: PendingAction,
    detail: Value,
) -> Result<PendingOp, StateError> {
    let id = OpId::random().map_err(|source| StateError::Io {
        location: "the operating system's random source".to_string(),
        action: "read",
        source,
    })?;
    Ok(PendingOp {
        id,
        address: address.to_string(),
        action,
        started_at: apprun_state::now_rfc3339(),
        detail,
    })
}

fn missing(address: &Address) -> TaskError {
    TaskError::Provider(ProviderError::Fatal {
        message: format!("internal: no desired or recorded data for {address}"),
        help: "this is a bug in apprun; please report it with the plan".to_string(),
    })
}

/// "2.3s", "1m05s": how long a step took, for progress lines.
fn took(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = elapsed.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_terraforms() {
        assert_eq!(took(Duration::from_millis(2340)), "2.3s");
        assert_eq!(took(Duration::from_millis(40)), "0.0s");
        assert_eq!(took(Duration::from_secs(65)), "1m05s");
        assert_eq!(took(Duration::from_secs(3600 + 7)), "60m07s");
    }
}
