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
use tokio::sync::Mutex;

use super::failpoints;
use super::journal::JournalClient;
use super::schedule::Step;
use crate::desired::DesiredResource;
use crate::kinds::rules;
use crate::provider::{Applied, Created, Progress, Provider, ProviderError, ResourceRequest};
use crate::record::recorded;
use crate::values::seal_with;

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
    /// The operation was completed already (a create's resource was
    /// recorded as incomplete when it came to exist): record this resource
    /// as a fresh, immediately completed operation.
    Record(Resource),
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
    ///
    /// The provider reports the resource the moment its primary call
    /// succeeded ([`crate::provider::Created`]): it is then recorded as
    /// incomplete, so a follow-up call that fails leaves it in state (the
    /// next apply finishes it) and never in the provider alone. A create
    /// that meets "already exists" on a resource this stack made for this
    /// address (by its ownership tags) adopts it and finishes it.
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
        let recorder = Recorder {
            journal: self.journal.clone(),
            address: desired.address.clone(),
            op: op.id.clone(),
            replaces: replaces.cloned(),
            record: self.incomplete_record_maker(desired),
            reported: Arc::new(Mutex::new(Reported::default())),
        };
        let created = recorder.hook();
        let call = async {
            let request = ResourceRequest {
                created,
                ..self.request(desired)
            };
            match self.provider.create(&request).await {
                // The call may have taken effect: look before anything else.
                Err(ProviderError::Ambiguous { operation, message }) => Ok(self
                    .provider
                    .find_owned(&self.stack, &desired.address, &desired.name)
                    .await?
                    .ok_or(ProviderError::Ambiguous { operation, message })),
                // Ours from an earlier run (its tags say so): adopt it.
                Err(ProviderError::AlreadyExists { what }) => {
                    match self
                        .provider
                        .find_owned(&self.stack, &desired.address, &desired.name)
                        .await?
                    {
                        Some(found) => Ok(self.adopt(&request, found).await),
                        None => Ok(Err(ProviderError::AlreadyExists { what })),
                    }
                }
                answer => Ok(answer),
            }
        };
        let reported = recorder.reported.clone();
        let settle = |answer: &Answer<Applied>| {
            let reported = reported
                .try_lock()
                .map(|r| r.applied.clone())
                .ok()
                .flatten();
            match (answer, reported) {
                // The hook completed the create's operation already: record
                // the finished resource, or why it is still incomplete.
                (Ok(applied), Some(_)) => Ok(Settle::Record(self.record_of(desired, applied))),
                (Err(error), Some(last)) => {
                    let mut record = self.record_of(desired, &last);
                    record.incomplete = Some(format!("creating it did not finish: {error}"));
                    Ok(Settle::Record(record))
                }
                (Ok(applied), None) => {
                    let outcome = Outcome::Applied(self.record_of(desired, applied));
                    Ok(match replaces {
                        Some(old) => {
                            Settle::Depose(Deposed::delete_op(&desired.address, old)?, outcome)
                        }
                        None => Settle::Complete(outcome),
                    })
                }
                (Err(ProviderError::Ambiguous { .. }), None) => Ok(Settle::LeavePending),
                (Err(_), None) => Ok(Settle::Complete(Outcome::Failed)),
            }
        };
        let result = self.journaled(op, call, settle).await;
        if let Some(error) = recorder.state_failure().await {
            return Err(TaskError::State(error));
        }
        result.map(|_| ())
    }

    /// Adopts `found`, a resource this stack made for this address in an
    /// earlier run whose create did not finish: records it as incomplete,
    /// then reads it and updates what differs from the stack.
    async fn adopt(&self, request: &ResourceRequest<'_>, found: Applied) -> Answer<Applied> {
        (self.progress)(
            &self.address,
            "exists already, made by this stack for this address: adopting it",
        );
        request.created.report(&found).await?;
        self.finish(request, &found).await
    }

    /// Brings an existing resource to what the stack declares: reads it,
    /// compares, and updates what differs (an update with nothing to
    /// change still returns its outputs).
    async fn finish(&self, request: &ResourceRequest<'_>, found: &Applied) -> Answer<Applied> {
        let kind = self.address.kind;
        let expected = request.attributes;
        let Some(observed) = self
            .provider
            .read(kind, &found.physical_id, expected)
            .await?
        else {
            return Err(ProviderError::NotFound {
                what: self.address.to_string(),
            });
        };
        // Both sides are in clear, in memory: only the paths leave here.
        let changed: Vec<String> = crate::diff::diff(&observed.attributes, expected)
            .into_iter()
            .map(|attribute| attribute.path)
            .collect();
        self.provider
            .update(&found.physical_id, request, &changed)
            .await
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
                self.journal
                    .depose_then_complete(deposed, id, outcome)
                    .await?;
            }
            Settle::LeavePending => {}
            Settle::Record(resource) => self.journal.record(resource).await?,
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
            created: Created::ignore(),
        }
    }

    fn sealed(&self, desired: &DesiredResource) -> Value {
        seal_with(
            &rules(desired.address.kind),
            &self.resolved,
            &self.key,
            &desired.sensitive,
        )
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

    /// Makes the incomplete record of `desired` once the provider reports
    /// it exists (owned, for the [`Created`] hook).
    fn incomplete_record_maker(&self, desired: &DesiredResource) -> RecordMaker {
        let (desired, resolved, key) = (desired.clone(), self.resolved.clone(), self.key.clone());
        Arc::new(move |applied: &Applied| {
            let mut record = recorded(
                &desired,
                &resolved,
                &applied.physical_id,
                applied.outputs.clone(),
                &key,
            );
            record.incomplete =
                Some("it was created, then the run stopped before its create finished".to_string());
            record
        })
    }

    fn need_desired(&self) -> Result<&DesiredResource, TaskError> {
        self.desired.as_ref().ok_or_else(|| missing(&self.address))
    }

    fn need_record(&self) -> Result<&Resource, TaskError> {
        self.record.as_ref().ok_or_else(|| missing(&self.address))
    }
}

/// Makes a resource's incomplete record from what its create reported.
type RecordMaker = Arc<dyn Fn(&Applied) -> Resource + Send + Sync>;

/// What the [`Created`] hook of one create has recorded so far.
#[derive(Default)]
struct Reported {
    /// The last resource the provider reported (recorded as incomplete).
    applied: Option<Applied>,
    /// A state write the hook could not make: the apply ends with it.
    failure: Option<StateError>,
}

/// Journals a create's resource as incomplete each time the provider
/// reports it: the first report completes the create's operation (after
/// journaling the deposed resource's delete, for a replacement), later ones
/// record the newer report.
#[derive(Clone)]
struct Recorder {
    journal: JournalClient,
    address: Address,
    op: OpId,
    replaces: Option<Resource>,
    record: RecordMaker,
    reported: Arc<Mutex<Reported>>,
}

impl Recorder {
    /// The hook to hand the provider.
    fn hook(&self) -> Created {
        let recorder = self.clone();
        Created::new(move |applied| {
            let recorder = recorder.clone();
            async move { recorder.report(applied).await }
        })
    }

    async fn report(&self, applied: Applied) -> Answer<()> {
        let mut reported = self.reported.lock().await;
        let record = (self.record)(&applied);
        let (journal, op) = (&self.journal, self.op.clone());
        let written = match (&reported.applied, &self.replaces) {
            (Some(_), _) => journal.record(record).await,
            (None, Some(old)) => match Deposed::delete_op(&self.address, old) {
                Ok(deposed) => {
                    let outcome = Outcome::Applied(record);
                    journal.depose_then_complete(deposed, op, outcome).await
                }
                Err(error) => Err(error),
            },
            (None, None) => journal.complete(op, Outcome::Applied(record)).await,
        };
        match written {
            Ok(()) => {
                reported.applied = Some(applied);
                Ok(())
            }
            Err(error) => {
                let message = format!("the state could not be written: {error}");
                reported.failure = Some(error);
                Err(ProviderError::Fatal {
                    message,
                    help: "the resource exists but is not recorded; fix the state backend and apply again (apprun finds it by its ownership tags)".to_string(),
                })
            }
        }
    }

    /// The state write that failed, if one did.
    async fn state_failure(&self) -> Option<StateError> {
        self.reported.lock().await.failure.take()
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
