//! The journal channel: an apply's tasks ask the apply loop, the only writer
//! of state, to journal for them; the loop writes every request waiting in
//! the channel in one atomic write and answers each once it is durable.

use apprun_state::{
    Entry, Journal, OpId, Outcome, PendingAction, PendingOp, Resource, StateError, Storage,
};
use tokio::sync::{mpsc, oneshot};

/// How many requests may wait in the channel.
const CAPACITY: usize = 64;

/// Where the answer to one request goes: whether its entry is durable.
type Reply = oneshot::Sender<Result<(), StateError>>;

/// A request from a task to the journal owner.
pub(super) enum JournalRequest {
    /// Record that an operation is about to run.
    Begin(PendingOp, Reply),
    /// Record the outcome of a pending operation and remove it.
    Complete(OpId, Outcome, Reply),
}

impl JournalRequest {
    /// The journal entry it asks for, and where its answer goes.
    fn into_entry(self) -> (Entry, Reply) {
        match self {
            JournalRequest::Begin(op, reply) => (Entry::Begin(op), reply),
            JournalRequest::Complete(id, outcome, reply) => (Entry::Complete(id, outcome), reply),
        }
    }
}

/// A task's end of the channel.
#[derive(Clone)]
pub(super) struct JournalClient(mpsc::Sender<JournalRequest>);

/// The apply loop's end of the channel.
pub(super) type JournalRequests = mpsc::Receiver<JournalRequest>;

/// A new channel: the tasks' end and the apply loop's end.
pub(super) fn channel() -> (JournalClient, JournalRequests) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    (JournalClient(tx), rx)
}

impl JournalClient {
    /// Durably records that `op` is about to run.
    pub(super) async fn begin(&self, op: PendingOp) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        self.send(JournalRequest::Begin(op, tx), rx).await
    }

    /// Durably records the outcome of pending operation `id`.
    pub(super) async fn complete(&self, id: OpId, outcome: Outcome) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        self.send(JournalRequest::Complete(id, outcome, tx), rx)
            .await
    }

    /// Durably records `resource` as is, as an operation completed at once
    /// (a create's resource once it exists, then once it is finished).
    pub(super) async fn record(&self, resource: Resource) -> Result<(), StateError> {
        let mut op = PendingOp::new(resource.address.clone(), PendingAction::Update)?;
        op.detail = serde_json::json!({ "record": true });
        let id = op.id.clone();
        self.begin(op).await?;
        self.complete(id, Outcome::Applied(resource)).await
    }

    async fn send(
        &self,
        request: JournalRequest,
        rx: oneshot::Receiver<Result<(), StateError>>,
    ) -> Result<(), StateError> {
        let closed = || StateError::Backend {
            location: "apply".to_string(),
            detail: "the state journal stopped".to_string(),
            source: None,
        };
        self.0.send(request).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

/// Records `first` and every request waiting behind it in one atomic write,
/// then answers each with its own result.
pub(super) fn write_batch<S: Storage + ?Sized>(
    journal: &mut Journal<'_, S>,
    first: JournalRequest,
    requests: &mut JournalRequests,
) {
    let mut batch = vec![first];
    while let Ok(more) = requests.try_recv() {
        batch.push(more);
    }
    let (entries, replies): (Vec<Entry>, Vec<Reply>) =
        batch.into_iter().map(JournalRequest::into_entry).unzip();
    let results = write_blocking(|| journal.record(entries));
    for (reply, result) in replies.into_iter().zip(results) {
        // A task that is gone no longer waits for its answer.
        let _ = reply.send(result);
    }
}

/// Runs a blocking state write; on a multi-threaded runtime, without
/// stalling the other tasks of its worker thread.
pub(super) fn write_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
