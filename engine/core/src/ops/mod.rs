//! The engine's operations: one module per workflow a command runs (plan,
//! apply, destroy, drift, refresh, import, output, state), each a function
//! over a [`Workspace`] that returns a typed report.
//!
//! The CLI is a thin shell around these: it parses arguments, builds the
//! workspace and the provider, calls one operation and renders its report.
//! What only a person can do (answer a prompt, press Ctrl-C, read
//! progress) reaches an operation through [`Hooks`] and a stop signal.

pub mod apply;
pub mod attention;
pub mod deploy;
pub mod destroy;
pub mod discover;
pub mod drift;
pub mod import;
pub mod logs;
pub mod output;
pub mod plan;
pub mod read;
pub mod refresh;
pub mod state;
pub mod status;

mod error;
mod offline;

use std::time::Duration;

use apprun_schema::{Address, Stack};
use apprun_state::{Journal, LockGuard, LockRequest, Snapshot, StateStore, Storage};

pub use error::OpError;
pub use offline::Offline;

use crate::plan::Plan;
use crate::provider::Progress;
use crate::target::Target;

/// Everything an operation works on: the validated stack, where it is
/// deployed and its state store. Providers are passed to the operations
/// that reach the target, so an offline plan needs none.
#[derive(Clone, Copy)]
pub struct Workspace<'a> {
    /// The validated stack.
    pub stack: &'a Stack,
    /// The stack file's text (digested into plans).
    pub text: &'a str,
    /// The stack file's name as shown (recorded in saved plans).
    pub file: &'a str,
    /// Where the stack is deployed.
    pub target: Target,
    /// The stack's state on that target.
    pub store: &'a dyn StateStore,
    /// The apprun version (lock records, saved plans).
    pub version: &'a str,
}

impl<'a> Workspace<'a> {
    /// Opens the state journal for writing (the caller holds the lock).
    pub fn journal(&self) -> Result<Journal<'a, dyn Storage + 'a>, OpError> {
        let storage: &'a dyn Storage = self.store;
        let mut journal = Journal::open(storage)?;
        self.check_stack(journal.snapshot())?;
        journal.name_new_state(self.stack_name());
        Ok(journal)
    }

    /// Refuses a state that records another stack's name (a `state.key` or
    /// `state.path` shared by mistake): nothing is read into a plan or
    /// written for this stack.
    fn check_stack(&self, snapshot: &Snapshot) -> Result<(), OpError> {
        match &snapshot.stack {
            Some(recorded) if recorded != self.stack_name() => Err(OpError::ForeignStack {
                location: self.store.location(),
                recorded: recorded.clone(),
                stack: self.stack_name().to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// The stack's name.
    pub fn stack_name(&self) -> &str {
        &self.stack.stack.value
    }

    /// Reads the current state, if there is any yet.
    pub fn read_state(&self) -> Result<Option<Snapshot>, OpError> {
        let state = self.store.read()?;
        if let Some(snapshot) = &state {
            self.check_stack(snapshot)?;
        }
        Ok(state)
    }

    /// Takes the state lock for `operation`, waiting up to `timeout`; a
    /// stale record taken over is told through `hooks`.
    pub fn lock(
        &self,
        operation: &str,
        timeout: Option<Duration>,
        hooks: &dyn Hooks,
    ) -> Result<LockGuard, OpError> {
        let mut request = LockRequest::new(operation).with_version(self.version);
        if let Some(timeout) = timeout {
            request = request.with_timeout(timeout);
        }
        let guard = self.store.lock(&request)?;
        if let Some(stale) = guard.replaced_stale() {
            hooks.notice(&format!("Warning: took over a {stale}."));
        }
        Ok(guard)
    }
}

/// Whether an operation may go ahead with the changes it is about to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Go ahead.
    Approved,
    /// Stop; change nothing.
    Declined,
}

/// What only the person (or program) running an operation can do: read
/// notices and progress, see the plan before it is applied, approve it.
pub trait Hooks: Send + Sync {
    /// A line for the person running the command (stderr in the CLI).
    fn notice(&self, message: &str);

    /// Where per-resource progress goes while changes run.
    fn progress(&self) -> Progress;

    /// Shows the plan about to be applied (before [`Hooks::approve`]).
    fn show_plan(&self, plan: &Plan) -> Result<(), OpError> {
        let _ = plan;
        Ok(())
    }

    /// Asks whether to make the plan's changes; called only when it has
    /// some.
    fn approve(&self, plan: &Plan) -> Result<Approval, OpError> {
        let _ = plan;
        Ok(Approval::Approved)
    }
}

/// Hooks that approve everything and drop every message: for programs and
/// tests that drive operations without a person.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unattended;

impl Hooks for Unattended {
    fn notice(&self, _message: &str) {}

    fn progress(&self) -> Progress {
        std::sync::Arc::new(|_: &Address, _: &str| {})
    }
}

/// The state of a stack never applied: no resources, a placeholder
/// identity (never written).
fn empty_state() -> Snapshot {
    Snapshot::with_identity(
        apprun_state::Lineage::new("none"),
        apprun_state::DigestKey::from_bytes([0; 32]),
    )
}

/// Parses resource addresses given on the command line (`--only`,
/// `--replace`).
pub fn addresses(list: &[String]) -> Result<Vec<Address>, OpError> {
    list.iter()
        .map(|a| Address::parse(a).ok_or_else(|| OpError::InvalidAddress { address: a.clone() }))
        .collect()
}
