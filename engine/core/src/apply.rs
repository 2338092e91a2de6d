//! Apply: walk the plan's changes as a DAG, concurrently, journaling before
//! and after every provider call.
//!
//! One task per change runs as soon as every change it depends on is done,
//! up to a parallelism bound; when more are ready than may run, the ones
//! with the longest chain of dependents start first (see [`start_order`]). Only this loop writes state: tasks ask it to
//! journal through a channel, so state writes are serialized and each is one
//! compare-and-swap. A failed change skips everything that depends on it;
//! independent branches keep going. A stop request (Ctrl-C) starts nothing
//! new and lets running calls finish and be recorded.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apprun_schema::{Address, Stack};
use apprun_state::{
    DigestKey, Entry, Journal, OpId, Outcome, PendingAction, PendingOp, Resource, StateError,
    Storage,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::desired::{DesiredResource, desired};
use crate::kinds::rules;
use crate::plan::{Action, Plan, ReplaceOrder, resolve_references};
use crate::provider::{Applied, Progress, Provider, ProviderError, ResourceRequest};
use crate::record::recorded;
use crate::values::{is_unknown, seal};

/// How an apply runs.
#[derive(Clone)]
pub struct ApplyOptions {
    /// How many provider calls may run at once.
    pub parallelism: usize,
    /// Becomes `true` when the user asks to stop (Ctrl-C).
    pub stop: watch::Receiver<bool>,
    /// Where progress messages go.
    pub progress: Progress,
}

/// What became of one planned change.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOutcome {
    /// Done and recorded.
    Done,
    /// The provider failed; nothing that depends on it ran.
    Failed(ProviderError),
    /// Not run because something it depends on failed.
    Skipped {
        /// The failed change it waited for.
        because: Address,
    },
    /// Not started because a stop was requested.
    NotStarted,
}

/// The result of an apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyReport {
    /// Per change, in apply order.
    pub results: Vec<(Address, Action, ChangeOutcome)>,
    /// Whether a stop request cut the apply short.
    pub stopped: bool,
    /// Interrupted operations from an earlier run that were reconciled first.
    pub reconciled: Vec<String>,
}

impl ApplyReport {
    /// Whether every change was done.
    pub fn succeeded(&self) -> bool {
        !self.stopped
            && self
                .results
                .iter()
                .all(|(_, _, o)| *o == ChangeOutcome::Done)
    }
}

/// Errors that end an apply: the state could not be written. (Provider
/// failures are per change, in the report.)
pub type ApplyError = StateError;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Create,
    Update,
    /// Delete-first replacement: delete, then create.
    DeleteThenCreate,
    /// Create-before-destroy replacement, first half: create the new one.
    CreateReplacement,
    /// Create-before-destroy replacement, second half: delete the old one.
    DeleteOld,
    Delete,
}

struct Node {
    address: Address,
    action: Action,
    step: Step,
    deps: BTreeSet<usize>,
}

impl Step {
    /// What a progress line says when the step starts and when it is done
    /// (Terraform's "Creating..." / "Creation complete after 2s").
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Step::Create => ("creating...", "created"),
            Step::Update => ("updating in place...", "updated"),
            Step::DeleteThenCreate => ("replacing (delete first)...", "replaced"),
            Step::CreateReplacement => ("creating the replacement...", "replacement created"),
            Step::DeleteOld => ("deleting the replaced one...", "replaced one deleted"),
            Step::Delete => ("destroying...", "destroyed"),
        }
    }
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

/// A request from a task to the journal owner.
enum JournalRequest {
    Begin(PendingOp, oneshot::Sender<Result<(), StateError>>),
    Complete(OpId, Outcome, oneshot::Sender<Result<(), StateError>>),
}

#[derive(Clone)]
struct JournalClient(mpsc::Sender<JournalRequest>);

impl JournalClient {
    async fn begin(&self, op: PendingOp) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        self.send(JournalRequest::Begin(op, tx), rx).await
    }

    async fn complete(&self, id: OpId, outcome: Outcome) -> Result<(), StateError> {
        let (tx, rx) = oneshot::channel();
        self.send(JournalRequest::Complete(id, outcome, tx), rx)
            .await
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

/// Why a node task ended.
enum TaskError {
    Provider(ProviderError),
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

/// Everything one task needs, owned.
struct Job<P> {
    provider: Arc<P>,
    journal: JournalClient,
    key: DigestKey,
    stack: String,
    step: Step,
    desired: Option<DesiredResource>,
    resolved: Value,
    dependencies: BTreeMap<Address, BTreeMap<String, Value>>,
    record: Option<Resource>,
    changed: Vec<String>,
    progress: Progress,
    /// For [`Step::DeleteOld`]: the replaced resource and the pending
    /// operation that tracks its deletion.
    old: Option<(String, Value, OpId)>,
}

/// Fail points at the journal points of every change, for crash tests
/// (RELIABILITY.md T6): `APPRUN_FAILPOINTS="apply.after_begin=abort@2"`
/// aborts the process (like `kill -9`) the second time an operation has been
/// journaled but not yet sent. Names: `apply.before_begin`,
/// `apply.after_begin`, `apply.after_call`. Compiled only with the
/// `failpoints` feature.
pub mod failpoints {
    /// Before the intent is journaled.
    pub const BEFORE_BEGIN: &str = "apply.before_begin";
    /// After the intent is durable, before the provider call.
    pub const AFTER_BEGIN: &str = "apply.after_begin";
    /// After the provider call returned, before its result is journaled.
    pub const AFTER_CALL: &str = "apply.after_call";

    /// Runs the fail point `name`.
    #[cfg(feature = "failpoints")]
    pub fn hit(name: &str) {
        use std::collections::BTreeMap;
        use std::sync::Mutex;
        static HITS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
        let Ok(spec) = std::env::var("APPRUN_FAILPOINTS") else {
            return;
        };
        let count = {
            let mut hits = HITS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = hits.entry(name.to_string()).or_insert(0);
            *count += 1;
            *count
        };
        for entry in spec.split(';') {
            let Some((rule, action)) = entry.trim().split_once('=') else {
                continue;
            };
            if rule != name {
                continue;
            }
            let (action, nth) = match action.split_once('@') {
                Some((action, n)) => (action, n.parse().unwrap_or(1)),
                None => (action, 1),
            };
            if action == "abort" && count == nth {
                std::process::abort();
            }
        }
    }

    /// Runs the fail point `name` (a no-op without the `failpoints` feature).
    #[cfg(not(feature = "failpoints"))]
    pub fn hit(_name: &str) {}
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

impl<P: Provider + 'static> Job<P> {
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

    /// Creates the resource. For a create-before-destroy replacement,
    /// `replaces` is the old resource: its deletion is journaled after the new
    /// one exists and before the new record replaces the old one, so a crash
    /// at any point leaves a trace of both.
    async fn create(
        &self,
        desired: &DesiredResource,
        replaces: Option<&Resource>,
    ) -> Result<Applied, TaskError> {
        let (action, old) = match replaces {
            Some(record) => (
                PendingAction::Replace,
                json!({ "physical_id": record.physical_id, "attributes": record.attributes }),
            ),
            None => (PendingAction::Create, Value::Null),
        };
        let op = new_op(
            &desired.address,
            action,
            json!({ "name": desired.name, "attributes": self.sealed(desired), "replaces": old }),
        )?;
        let id = op.id.clone();
        failpoints::hit(failpoints::BEFORE_BEGIN);
        self.journal.begin(op).await?;
        failpoints::hit(failpoints::AFTER_BEGIN);
        let result = match self.provider.create(&self.request(desired)).await {
            Err(ProviderError::Ambiguous { operation, message }) => {
                // The call may have taken effect: look before anything else.
                match self
                    .provider
                    .find_owned(&self.stack, &desired.address, &desired.name)
                    .await?
                {
                    Some(applied) => Ok(applied),
                    None => Err(ProviderError::Ambiguous { operation, message }),
                }
            }
            other => other,
        };
        failpoints::hit(failpoints::AFTER_CALL);
        match result {
            Ok(applied) => {
                if let Some(old) = replaces {
                    let delete_old = new_op(
                        &desired.address,
                        PendingAction::Delete,
                        json!({ "replaced": true, "physical_id": old.physical_id, "attributes": old.attributes }),
                    )?;
                    self.journal.begin(delete_old).await?;
                }
                let record = recorded(
                    desired,
                    &self.resolved,
                    &applied.physical_id,
                    applied.outputs.clone(),
                    &self.key,
                );
                self.journal.complete(id, Outcome::Applied(record)).await?;
                Ok(applied)
            }
            Err(error @ ProviderError::Ambiguous { .. }) => {
                // Leave the pending op: the next run reconciles it.
                Err(error.into())
            }
            Err(error) => {
                self.journal.complete(id, Outcome::Failed).await?;
                Err(error.into())
            }
        }
    }

    async fn delete_record(&self, address: &Address, record: &Resource) -> Result<(), TaskError> {
        let op = new_op(
            address,
            PendingAction::Delete,
            json!({ "physical_id": record.physical_id }),
        )?;
        let id = op.id.clone();
        failpoints::hit(failpoints::BEFORE_BEGIN);
        self.journal.begin(op).await?;
        failpoints::hit(failpoints::AFTER_BEGIN);
        let physical_id = record.physical_id.clone().unwrap_or_default();
        let result = self
            .provider
            .delete(
                address.kind,
                &physical_id,
                &record.attributes,
                self.progress.clone(),
            )
            .await;
        failpoints::hit(failpoints::AFTER_CALL);
        match result {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {
                self.journal.complete(id, Outcome::Deleted).await?;
                Ok(())
            }
            Err(error) => {
                self.journal.complete(id, Outcome::Failed).await?;
                Err(error.into())
            }
        }
    }

    async fn run(self, address: Address) -> Result<(), TaskError> {
        match self.step {
            Step::Create => {
                let desired = self.desired.as_ref().ok_or_else(|| missing(&address))?;
                self.create(desired, None).await?;
            }
            Step::Update => {
                let desired = self.desired.as_ref().ok_or_else(|| missing(&address))?;
                let record = self.record.as_ref().ok_or_else(|| missing(&address))?;
                let op = new_op(
                    &address,
                    PendingAction::Update,
                    json!({ "name": desired.name }),
                )?;
                let id = op.id.clone();
                failpoints::hit(failpoints::BEFORE_BEGIN);
                self.journal.begin(op).await?;
                failpoints::hit(failpoints::AFTER_BEGIN);
                let physical_id = record.physical_id.clone().unwrap_or_default();
                let result = self
                    .provider
                    .update(&physical_id, &self.request(desired), &self.changed)
                    .await;
                failpoints::hit(failpoints::AFTER_CALL);
                match result {
                    Ok(applied) => {
                        let record = recorded(
                            desired,
                            &self.resolved,
                            &applied.physical_id,
                            applied.outputs,
                            &self.key,
                        );
                        self.journal.complete(id, Outcome::Applied(record)).await?;
                    }
                    Err(error) => {
                        self.journal.complete(id, Outcome::Failed).await?;
                        return Err(error.into());
                    }
                }
            }
            Step::DeleteThenCreate => {
                let desired = self.desired.as_ref().ok_or_else(|| missing(&address))?;
                if let Some(record) = &self.record {
                    self.delete_record(&address, record).await?;
                }
                self.create(desired, None).await?;
            }
            Step::CreateReplacement => {
                let desired = self.desired.as_ref().ok_or_else(|| missing(&address))?;
                let record = self.record.as_ref().ok_or_else(|| missing(&address))?;
                self.create(desired, Some(record)).await?;
            }
            Step::DeleteOld => {
                let (physical_id, attributes, id) =
                    self.old.clone().ok_or_else(|| missing(&address))?;
                let result = self
                    .provider
                    .delete(
                        address.kind,
                        &physical_id,
                        &attributes,
                        self.progress.clone(),
                    )
                    .await;
                match result {
                    Ok(()) | Err(ProviderError::NotFound { .. }) => {
                        // The record now describes the replacement: keep it.
                        self.journal.complete(id, Outcome::Failed).await?;
                    }
                    // Keep the pending delete: the next apply retries it.
                    Err(error) => return Err(error.into()),
                }
            }
            Step::Delete => {
                let record = self.record.as_ref().ok_or_else(|| missing(&address))?;
                self.delete_record(&address, record).await?;
            }
        }
        Ok(())
    }
}

fn missing(address: &Address) -> TaskError {
    TaskError::Provider(ProviderError::Fatal {
        message: format!("internal: no desired or recorded data for {address}"),
        help: "this is a bug in apprun; please report it with the plan".to_string(),
    })
}

/// Builds the DAG of steps from a plan.
fn build_nodes(plan: &Plan, state_deps: &BTreeMap<Address, Vec<Address>>) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut main_node: BTreeMap<Address, usize> = BTreeMap::new();
    let mut old_delete: BTreeMap<Address, usize> = BTreeMap::new();
    let changes: BTreeMap<&Address, &crate::plan::Change> =
        plan.changes.iter().map(|c| (&c.address, c)).collect();
    for address in &plan.apply_order {
        let Some(change) = changes.get(address) else {
            continue;
        };
        let step = match (change.action, change.replace_order) {
            (Action::Create, _) => Step::Create,
            (Action::Update, _) => Step::Update,
            (Action::Delete, _) => Step::Delete,
            (Action::Replace, Some(ReplaceOrder::CreateBeforeDestroy)) => Step::CreateReplacement,
            (Action::Replace, _) => Step::DeleteThenCreate,
            (Action::NoOp, _) => continue,
        };
        main_node.insert(address.clone(), nodes.len());
        nodes.push(Node {
            address: address.clone(),
            action: change.action,
            step,
            deps: BTreeSet::new(),
        });
        if step == Step::CreateReplacement {
            old_delete.insert(address.clone(), nodes.len());
            nodes.push(Node {
                address: address.clone(),
                action: change.action,
                step: Step::DeleteOld,
                deps: BTreeSet::new(),
            });
        }
    }
    // Creates and updates wait for what they depend on.
    for change in &plan.changes {
        let Some(&index) = main_node.get(&change.address) else {
            continue;
        };
        if nodes[index].step == Step::Delete {
            continue;
        }
        for dependency in &change.depends_on {
            if let Some(&dep) = main_node.get(dependency)
                && nodes[dep].step != Step::Delete
            {
                nodes[index].deps.insert(dep);
            }
        }
    }
    // A deletion (of a removed resource or of a replaced one) waits for every
    // change of what depended on it, so nothing is deleted while in use.
    let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for change in &plan.changes {
        for dependency in &change.depends_on {
            dependents
                .entry(dependency)
                .or_default()
                .push(&change.address);
        }
    }
    for (from, deps) in state_deps {
        for dependency in deps {
            dependents.entry(dependency).or_default().push(from);
        }
    }
    let deletions: Vec<(Address, usize)> = main_node
        .iter()
        .filter(|(_, i)| nodes[**i].step == Step::Delete)
        .map(|(a, i)| (a.clone(), *i))
        .chain(old_delete.iter().map(|(a, i)| (a.clone(), *i)))
        .collect();
    for (address, index) in deletions {
        if let Some(&main) = main_node.get(&address)
            && main != index
        {
            nodes[index].deps.insert(main);
        }
        for dependent in dependents.get(&address).into_iter().flatten() {
            if let Some(&dep) = main_node.get(*dependent)
                && dep != index
            {
                nodes[index].deps.insert(dep);
            }
        }
    }
    nodes
}

/// The order in which ready steps start when more are ready than may run:
/// critical-path list scheduling. A step with a longer chain of dependents
/// after it starts first; among equals, the step whose first dependent sink
/// (in plan order) comes earliest, so one group's roots finish together and
/// their service starts while later groups' roots are still running.
fn start_order(nodes: &[Node]) -> Vec<usize> {
    let n = nodes.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting_on: Vec<usize> = vec![0; n];
    for (i, node) in nodes.iter().enumerate() {
        for &d in &node.deps {
            if d < n {
                dependents[d].push(i);
                waiting_on[i] += 1;
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|i| waiting_on[*i] == 0).collect();
    let mut topological = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        topological.push(i);
        for &j in &dependents[i] {
            waiting_on[j] -= 1;
            if waiting_on[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    let mut height = vec![0usize; n];
    let mut first_sink: Vec<usize> = (0..n)
        .map(|i| {
            if dependents[i].is_empty() {
                i
            } else {
                usize::MAX
            }
        })
        .collect();
    for &i in topological.iter().rev() {
        for &j in &dependents[i] {
            height[i] = height[i].max(height[j] + 1);
            first_sink[i] = first_sink[i].min(first_sink[j]);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (Reverse(height[i]), first_sink[i], i));
    order
}

fn write_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

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
    let mut lines = Vec::new();
    for op in pending {
        let Some(address) = Address::parse(&op.address) else {
            write_blocking(|| journal.complete(&op.id, Outcome::Failed))?;
            continue;
        };
        let detail = &op.detail;
        let outcome = match op.action {
            PendingAction::Create | PendingAction::Replace => {
                let name = detail
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                match provider.find_owned(stack, &address, &name).await {
                    Ok(Some(applied)) => {
                        if let Some(old_id) = detail
                            .get("replaces")
                            .and_then(|r| r.get("physical_id"))
                            .and_then(Value::as_str)
                            .filter(|id| *id != applied.physical_id)
                        {
                            let old_attributes = detail
                                .get("replaces")
                                .and_then(|r| r.get("attributes"))
                                .cloned()
                                .unwrap_or(Value::Null);
                            match provider
                                .delete(address.kind, old_id, &old_attributes, progress.clone())
                                .await
                            {
                                Ok(()) | Err(ProviderError::NotFound { .. }) => {
                                    lines.push(format!(
                                        "{address}: deleted the replaced resource {old_id}"
                                    ));
                                }
                                Err(error) => {
                                    lines.push(format!("{address}: could not delete the replaced resource {old_id} yet: {error}"));
                                    continue;
                                }
                            }
                        }
                        let mut record = Resource::new(address.to_string(), address.kind.section());
                        record.physical_id = Some(applied.physical_id.clone());
                        record.attributes =
                            detail.get("attributes").cloned().unwrap_or(Value::Null);
                        record.outputs = applied.outputs;
                        record.dependencies = journal
                            .snapshot()
                            .resource(&op.address)
                            .map(|r| r.dependencies.clone())
                            .unwrap_or_default();
                        lines.push(format!(
                            "{address}: the interrupted create had taken effect; adopted {}",
                            applied.physical_id
                        ));
                        Outcome::Applied(record)
                    }
                    Ok(None) => {
                        lines.push(format!(
                            "{address}: the interrupted create had not taken effect"
                        ));
                        Outcome::Failed
                    }
                    Err(error) => {
                        lines.push(format!(
                            "{address}: could not settle the interrupted create yet: {error}"
                        ));
                        continue;
                    }
                }
            }
            PendingAction::Delete => {
                let physical_id = detail
                    .get("physical_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let attributes = detail.get("attributes").cloned().unwrap_or(Value::Null);
                if detail
                    .get("replaced")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                {
                    match provider
                        .delete(address.kind, &physical_id, &attributes, progress.clone())
                        .await
                    {
                        Ok(()) | Err(ProviderError::NotFound { .. }) => {
                            lines.push(format!(
                                "{address}: deleted the replaced resource {physical_id}"
                            ));
                            Outcome::Failed
                        }
                        Err(error) => {
                            lines.push(format!(
                                "{address}: could not delete the replaced resource yet: {error}"
                            ));
                            continue;
                        }
                    }
                } else {
                    let recorded = journal
                        .snapshot()
                        .resource(&op.address)
                        .map(|r| r.attributes.clone());
                    match provider
                        .read(address.kind, &physical_id, &recorded.unwrap_or(Value::Null))
                        .await
                    {
                        Ok(None) => {
                            lines.push(format!(
                                "{address}: the interrupted delete had taken effect"
                            ));
                            Outcome::Deleted
                        }
                        Ok(Some(_)) => {
                            lines.push(format!(
                                "{address}: the interrupted delete had not taken effect"
                            ));
                            Outcome::Failed
                        }
                        Err(error) => {
                            lines.push(format!(
                                "{address}: could not settle the interrupted delete yet: {error}"
                            ));
                            continue;
                        }
                    }
                }
            }
            PendingAction::Update => {
                lines.push(format!(
                    "{address}: an update was interrupted; the plan compares again"
                ));
                Outcome::Failed
            }
        };
        write_blocking(|| journal.complete(&op.id, outcome))?;
    }
    Ok(lines)
}

/// Applies a plan. The caller holds the state lock and has reconciled
/// pending operations; `plan` was made against `journal`'s snapshot.
pub async fn apply<P: Provider + 'static, S: Storage + ?Sized>(
    plan: &Plan,
    stack: &Stack,
    provider: Arc<P>,
    journal: &mut Journal<'_, S>,
    mut options: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let desired_list = desired(stack);
    let desired_by: BTreeMap<Address, DesiredResource> = desired_list
        .into_iter()
        .map(|d| (d.address.clone(), d))
        .collect();
    let state_deps: BTreeMap<Address, Vec<Address>> = journal
        .snapshot()
        .resources
        .iter()
        .filter_map(|r| {
            Some((
                Address::parse(&r.address)?,
                r.dependencies
                    .iter()
                    .filter_map(|d| Address::parse(d))
                    .collect(),
            ))
        })
        .collect();
    let nodes = build_nodes(plan, &state_deps);
    let order = start_order(&nodes);
    let changed: BTreeMap<&Address, Vec<String>> = plan
        .changes
        .iter()
        .map(|c| {
            (
                &c.address,
                c.attributes.iter().map(|a| a.path.clone()).collect(),
            )
        })
        .collect();
    let (tx, mut rx) = mpsc::channel::<JournalRequest>(64);
    let client = JournalClient(tx);
    let parallelism = options.parallelism.max(1);
    let mut status: Vec<Option<ChangeOutcome>> = vec![None; nodes.len()];
    let mut running: BTreeSet<usize> = BTreeSet::new();
    let mut tasks: JoinSet<(usize, Result<(), TaskError>)> = JoinSet::new();

    let mut stopped = *options.stop.borrow();
    let mut fatal: Option<StateError> = None;

    loop {
        // Skip what depends on a failure.
        loop {
            let mut changed_any = false;
            for i in 0..nodes.len() {
                if status[i].is_some() || running.contains(&i) {
                    continue;
                }
                let failed_dep = nodes[i].deps.iter().find(|d| {
                    matches!(
                        status[**d],
                        Some(ChangeOutcome::Failed(_)) | Some(ChangeOutcome::Skipped { .. })
                    )
                });
                if let Some(dep) = failed_dep {
                    let because = match &status[*dep] {
                        Some(ChangeOutcome::Skipped { because }) => because.clone(),
                        _ => nodes[*dep].address.clone(),
                    };
                    status[i] = Some(ChangeOutcome::Skipped { because });
                    changed_any = true;
                }
            }
            if !changed_any {
                break;
            }
        }
        // Start what is ready.
        if !stopped && fatal.is_none() {
            let mut known = None;
            for &i in &order {
                if running.len() >= parallelism {
                    break;
                }
                if status[i].is_some() || running.contains(&i) {
                    continue;
                }
                if !nodes[i]
                    .deps
                    .iter()
                    .all(|d| status[*d] == Some(ChangeOutcome::Done))
                {
                    continue;
                }
                let node = &nodes[i];
                let snapshot = journal.snapshot();
                let record = snapshot.resource(&node.address.to_string()).cloned();
                // The pending delete of a replaced resource, begun by its
                // replacement's create.
                let old = (node.step == Step::DeleteOld)
                    .then(|| {
                        snapshot.pending.iter().find(|p| {
                            p.address == node.address.to_string()
                                && p.detail.get("replaced").and_then(Value::as_bool) == Some(true)
                        })
                    })
                    .flatten()
                    .map(|p| {
                        (
                            p.detail
                                .get("physical_id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            p.detail.get("attributes").cloned().unwrap_or(Value::Null),
                            p.id.clone(),
                        )
                    });
                // The outputs recorded so far (the state changes only
                // between rounds, so one map serves every start of a round).
                let known: &BTreeMap<Address, Option<BTreeMap<String, Value>>> = known
                    .get_or_insert_with(|| {
                        snapshot
                            .resources
                            .iter()
                            .filter_map(|r| {
                                Some((Address::parse(&r.address)?, Some(r.outputs.clone())))
                            })
                            .collect()
                    });
                let desired = desired_by.get(&node.address).cloned();
                let resolved = desired
                    .as_ref()
                    .map(|d| resolve_references(&d.attributes, known))
                    .unwrap_or(Value::Null);
                let dependencies = desired
                    .as_ref()
                    .map(|d| {
                        d.dependencies
                            .iter()
                            .filter_map(|a| Some((a.clone(), known.get(a)?.clone()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                if contains_unknown(&resolved) {
                    status[i] = Some(ChangeOutcome::Failed(ProviderError::Fatal {
                        message: format!("{}: a referenced value is still unknown", node.address),
                        help: "a dependency produced no such output; run `apprun plan` and check the references".to_string(),
                    }));
                    continue;
                }
                let job = Job {
                    provider: provider.clone(),
                    journal: client.clone(),
                    key: snapshot.digest_key.clone(),
                    stack: stack.stack.value.clone(),
                    step: node.step,
                    desired,
                    resolved,
                    dependencies,
                    record,
                    changed: changed.get(&node.address).cloned().unwrap_or_default(),
                    progress: options.progress.clone(),
                    old,
                };
                let address = node.address.clone();
                let progress = options.progress.clone();
                let (starting, done) = node.step.words();
                running.insert(i);
                tasks.spawn(async move {
                    progress(&address, starting);
                    let started = Instant::now();
                    let result = job.run(address.clone()).await;
                    if result.is_ok() {
                        progress(
                            &address,
                            &format!("{done} after {}", took(started.elapsed())),
                        );
                    }
                    (i, result)
                });
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some(request) = rx.recv() => {
                // Everything that arrived together goes into one write.
                let mut batch = vec![request];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let (entries, replies): (Vec<Entry>, Vec<_>) = batch
                    .into_iter()
                    .map(|request| match request {
                        JournalRequest::Begin(op, reply) => (Entry::Begin(op), reply),
                        JournalRequest::Complete(id, outcome, reply) => (Entry::Complete(id, outcome), reply),
                    })
                    .unzip();
                let results = write_blocking(|| journal.record(entries));
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Some(joined) = tasks.join_next() => {
                let (i, result) = match joined {
                    Ok(pair) => pair,
                    Err(join_error) => {
                        // A panicking task: find which one is gone.
                        let lost: Vec<usize> = running.iter().copied().collect();
                        tracing::error!("an apply task ended abnormally: {join_error}");
                        for i in lost {
                            running.remove(&i);
                            status[i] = Some(ChangeOutcome::Failed(ProviderError::Fatal {
                                message: "internal error while applying".to_string(),
                                help: "run `apprun plan` to see where things stand".to_string(),
                            }));
                        }
                        continue;
                    }
                };
                running.remove(&i);
                status[i] = Some(match result {
                    Ok(()) => ChangeOutcome::Done,
                    Err(TaskError::Provider(error)) => ChangeOutcome::Failed(error),
                    Err(TaskError::State(error)) => {
                        let message = error.to_string();
                        fatal = Some(error);
                        ChangeOutcome::Failed(ProviderError::Fatal {
                            message: format!("the state could not be written: {message}"),
                            help: "see the state error below".to_string(),
                        })
                    }
                });
            }
            Ok(()) = options.stop.changed(), if !stopped => {
                stopped = *options.stop.borrow();
            }
        }
    }
    if let Some(error) = fatal {
        return Err(error);
    }
    let results = nodes
        .iter()
        .zip(status)
        .filter(|(node, _)| node.step != Step::DeleteOld)
        .map(|(node, status)| {
            (
                node.address.clone(),
                node.action,
                status.unwrap_or(ChangeOutcome::NotStarted),
            )
        })
        .collect();
    Ok(ApplyReport {
        results,
        stopped,
        reconciled: Vec::new(),
    })
}

fn contains_unknown(value: &Value) -> bool {
    if is_unknown(value) {
        return true;
    }
    match value {
        Value::Object(map) => map.values().any(contains_unknown),
        Value::Array(items) => items.iter().any(contains_unknown),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apprun_schema::Kind;

    #[test]
    fn durations_read_like_terraforms() {
        assert_eq!(took(Duration::from_millis(2340)), "2.3s");
        assert_eq!(took(Duration::from_millis(40)), "0.0s");
        assert_eq!(took(Duration::from_secs(65)), "1m05s");
        assert_eq!(took(Duration::from_secs(3600 + 7)), "60m07s");
    }

    fn node(kind: Kind, name: &str, deps: &[usize]) -> Node {
        Node {
            address: Address::new(kind, name),
            action: Action::Create,
            step: Step::Create,
            deps: deps.iter().copied().collect(),
        }
    }

    fn names(nodes: &[Node], order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|i| nodes[*i].address.to_string())
            .collect()
    }

    #[test]
    fn roots_start_group_by_group_before_their_services() {
        // Plan order is kind by kind: roles, connectors, then services that
        // each use one role and one connector.
        let nodes = vec![
            node(Kind::Role, "r0", &[]),
            node(Kind::Role, "r1", &[]),
            node(Kind::VpcConnector, "n0", &[]),
            node(Kind::VpcConnector, "n1", &[]),
            node(Kind::Service, "s0", &[0, 2]),
            node(Kind::Service, "s1", &[1, 3]),
        ];
        assert_eq!(
            names(&nodes, &start_order(&nodes)),
            [
                "roles.r0",
                "vpc_connectors.n0",
                "roles.r1",
                "vpc_connectors.n1",
                "services.s0",
                "services.s1"
            ]
        );
    }

    #[test]
    fn the_longest_chain_of_dependents_starts_first() {
        // a -> b -> c is longer than d -> e; f stands alone.
        let nodes = vec![
            node(Kind::Role, "f", &[]),
            node(Kind::Role, "d", &[]),
            node(Kind::Role, "a", &[]),
            node(Kind::Service, "e", &[1]),
            node(Kind::Service, "b", &[2]),
            node(Kind::Service, "c", &[4]),
        ];
        let order = names(&nodes, &start_order(&nodes));
        assert_eq!(order[0], "roles.a");
        let at = |n: &str| order.iter().position(|x| x == n).unwrap_or(usize::MAX);
        assert!(at("services.b") < at("roles.f"), "{order:?}");
        assert!(at("roles.d") < at("roles.f"), "{order:?}");
        assert_eq!(order.len(), 6);
    }
}
