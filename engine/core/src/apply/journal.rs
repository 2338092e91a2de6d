//! The journal channel: an apply's tasks ask the apply loop, the only writer
//! of state, to journal for them; the loop writes every request waiting in
//! the channel in one atomic write and answers each once it is durable.

use apprun_state::{
    Entry, Journal, OpId, Outcome, PendingAction, PendingOp, Resource, StateError, Storage,
};
use tokio::sync::{mpsc, oneshot};

/// How many requests may wait in the channel.
const CAPACITY: usize = 64;

/// Where the answer to one request goes: whether its entries are durable.
type Reply = oneshot::Sender<Result<(), StateError>>;

/// A request from a task to the journal owner: entries written in the same
/// batch, answered with the first failure among them.
pub(super) struct JournalRequest {
    entries: Vec<Entry>,
    reply: Reply,
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
        self.send(vec![Entry::Begin(op)]).await
    }

    /// Durably records the outcome of pending operation `id`.
    pub(super) async fn complete(&self, id: OpId, outcome: Outcome) -> Result<(), StateError> {
        self.send(vec![Entry::Complete(id, outcome)]).await
    }

    /// Durably records the pending delete of a resource a replacement
    /// deposed, then the outcome of operation `id`, in one write.
    pub(super) async fn depose_then_complete(
        &self,
        deposed: PendingOp,
        id: OpId,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        self.send(vec![Entry::Begin(deposed), Entry::Complete(id, outcome)])
            .await
    }

    /// Durably records `resource` as is, as an operation completed at once
    /// (a create's resource once it exists, then once it is finished), in
    /// one write.
    pub(super) async fn record(&self, resource: Resource) -> Result<(), StateError> {
        let mut op = PendingOp::new(resource.address.clone(), PendingAction::Update)?;
        op.detail = serde_json::json!({ "record": true });
        let id = op.id.clone();
        self.send(vec![
            Entry::Begin(op),
            Entry::Complete(id, Outcome::Applied(resource)),
        ])
        .await
    }

    async fn send(&self, entries: Vec<Entry>) -> Result<(), StateError> {
        let closed = || StateError::Backend {
            location: "apply".to_string(),
            detail: "the state journal stopped".to_string(),
            source: None,
        };
        let (reply, answer) = oneshot::channel();
        self.0
            .send(JournalRequest { entries, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// Records `first` and every request waiting behind it in one durable
/// step, then answers each with its own result.
pub(super) fn write_batch<S: Storage + ?Sized>(
    journal: &mut Journal<'_, S>,
    first: JournalRequest,
    requests: &mut JournalRequests,
) {
    let mut batch = vec![first];
    while let Ok(more) = requests.try_recv() {
        batch.push(more);
    }
    let sizes: Vec<usize> = batch.iter().map(|r| r.entries.len()).collect();
    let (entries, replies): (Vec<Vec<Entry>>, Vec<Reply>) =
        batch.into_iter().map(|r| (r.entries, r.reply)).unzip();
    let mut results = write_blocking(|| journal.record(entries.concat())).into_iter();
    for (reply, size) in replies.into_iter().zip(sizes) {
        let own: Vec<Result<(), StateError>> = results.by_ref().take(size).collect();
        let answer = own.into_iter().find(Result::is_err).unwrap_or(Ok(()));
        // A task that is gone no longer waits for its answer.
        let _ = reply.send(answer);
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
