//! Apply: walk the plan's changes as a DAG, concurrently, journaling before
//! and after every provider call.
//!
//! One task per change runs as soon as every change it depends on is done,
//! up to a parallelism bound; when more are ready than may run, the ones
//! with the longest chain of dependents start first (`schedule`). Only this
//! loop writes state: tasks ask it to journal through a channel (`journal`),
//! so state writes are serialized and each is one compare-and-swap. A failed
//! change skips everything that depends on it; independent branches keep
//! going. A stop request (Ctrl-C) starts nothing new and lets running calls
//! finish and be recorded.
//!
//! Parts: `schedule` (the DAG of steps and where each stands), `start` (a
//! ready step's job, prepared from the state and spawned), `job` (one step
//! against the provider, every mutating call journaled), `journal` (the
//! channel to this loop) and `reconcile` (an interrupted run's pending
//! operations, settled before the next one).

mod job;
mod journal;
mod reconcile;
mod schedule;
mod start;

use std::sync::Arc;

use apprun_schema::{Address, Stack};
use apprun_state::{Journal, StateError, Storage};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::plan::{Action, Plan};
use crate::provider::{Progress, Provider, ProviderError};
use schedule::Schedule;
use start::{Finished, Jobs};

pub use reconcile::reconcile;

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

/// Applies a plan. The caller holds the state lock and has reconciled
/// pending operations; `plan` was made against `journal`'s snapshot.
pub async fn apply<P: Provider + 'static, S: Storage + ?Sized>(
    plan: &Plan,
    stack: &Stack,
    provider: Arc<P>,
    journal: &mut Journal<'_, S>,
    mut options: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let mut schedule = Schedule::new(plan, journal.snapshot(), options.parallelism);
    let (client, mut requests) = journal::channel();
    let jobs = Jobs::new(plan, stack, provider, client, options.progress.clone());
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut stopped = *options.stop.borrow();
    let mut fatal: Option<StateError> = None;
    loop {
        schedule.skip_dependents_of_failures();
        if !stopped && fatal.is_none() {
            let mut round = jobs.round(journal.snapshot());
            schedule.start_ready(|index, node| round.start(index, node, &mut tasks));
        }
        if schedule.idle() {
            break;
        }
        tokio::select! {
            Some(request) = requests.recv() => journal::write_batch(journal, request, &mut requests),
            Some(joined) = tasks.join_next() => {
                if let Some(error) = schedule.finished(joined) {
                    fatal = Some(error);
                }
            }
            Ok(()) = options.stop.changed(), if !stopped => {
                stopped = *options.stop.borrow();
            }
        }
    }
    match fatal {
        Some(error) => Err(error),
        None => Ok(ApplyReport {
            results: schedule.results(),
            stopped,
            reconciled: Vec::new(),
        }),
    }
}
