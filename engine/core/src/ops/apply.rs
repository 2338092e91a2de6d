//! `apply` (and, with `destroy` set, `destroy`): lock, settle operations an
//! earlier run left pending, refresh, plan (or check a saved plan), show
//! it, get approval, apply concurrently, and report.

use std::sync::Arc;
use std::time::Duration;

use apprun_state::{Journal, Snapshot, Storage};
use tokio::sync::watch;

use super::output::{OutputValue, resolve};
use super::{Approval, Hooks, OpError, Workspace, read};
use crate::apply::{ApplyOptions, ApplyReport, apply as walk, reconcile};
use crate::plan::{Plan, PlanInput, PlanOptions, plan as make_plan, stack_digest};
use crate::planfile::{SavedPlan, check_fresh};
use crate::provider::Provider;
use crate::render::report::Operation;

/// What to apply and how.
pub struct ApplyRequest {
    /// `--only`, `--replace`, and whether to destroy everything.
    pub options: PlanOptions,
    /// A plan saved by `plan --out` to apply instead of planning anew.
    pub saved: Option<SavedPlan>,
    /// Read the live resources before planning (ignored with a saved plan).
    pub refresh: bool,
    /// How many changes may run at once.
    pub parallelism: usize,
    /// Wait this long for the state lock instead of failing at once.
    pub lock_timeout: Option<Duration>,
    /// Called once, right before the first change starts: the signal that
    /// asks the apply to stop (Ctrl-C). Nothing is installed before then,
    /// so an interrupt while planning or asking ends the process as usual.
    pub stop: Box<dyn FnOnce() -> watch::Receiver<bool> + Send>,
}

impl ApplyRequest {
    /// Apply or destroy, by the options.
    pub fn operation(&self) -> Operation {
        if self.options.destroy {
            Operation::Destroy
        } else {
            Operation::Apply
        }
    }
}

/// How an apply ended (when it could run at all).
#[derive(Debug)]
pub enum ApplyOutcome {
    /// The plan had no changes; nothing was asked or done.
    NoChanges,
    /// The person declined; nothing was changed.
    Declined,
    /// The changes ran; the report says how each went.
    Applied {
        /// Per change, and whether a stop cut it short.
        report: ApplyReport,
        /// The stack's outputs after a successful apply (empty after a
        /// destroy or a failure).
        outputs: Vec<OutputValue>,
    },
}

/// Runs apply or destroy on `ws` through `provider`; see the module doc.
/// The lock is released on every path.
pub async fn apply<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    request: ApplyRequest,
    hooks: &dyn Hooks,
) -> Result<ApplyOutcome, OpError> {
    let lock = ws.lock(request.operation().name(), request.lock_timeout, hooks)?;
    let result = apply_locked(ws, provider, request, hooks).await;
    let unlocked = lock.unlock();
    let outcome = result?;
    unlocked?;
    Ok(outcome)
}

async fn apply_locked<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    request: ApplyRequest,
    hooks: &dyn Hooks,
) -> Result<ApplyOutcome, OpError> {
    let mut journal = ws.journal()?;
    settle(ws, provider.as_ref(), &mut journal, hooks).await?;
    let state = journal.generation().is_some().then(|| journal.snapshot());
    let plan = decide(ws, &provider, &request, state).await?;
    // Before showing changes that could not be made: the target's
    // prerequisites (AWS credentials), checked once.
    if plan.has_changes() {
        provider.preflight().await?;
    }
    hooks.show_plan(&plan)?;
    let operation = request.operation();
    if !plan.has_changes() {
        match operation {
            Operation::Apply => {
                super::discover::claim_adopted(ws, provider.as_ref(), &mut journal, hooks).await?;
            }
            Operation::Destroy => sweep(ws, provider.as_ref(), &journal, hooks).await?,
        }
        return Ok(ApplyOutcome::NoChanges);
    }
    if hooks.approve(&plan)? == Approval::Declined {
        return Ok(ApplyOutcome::Declined);
    }
    if operation == Operation::Apply {
        // Before the changes: their records replace the adopted ones.
        super::discover::claim_adopted(ws, provider.as_ref(), &mut journal, hooks).await?;
    }
    let options = ApplyOptions {
        parallelism: request.parallelism,
        stop: (request.stop)(),
        progress: hooks.progress(),
    };
    let report = walk(&plan, ws.stack, provider.clone(), &mut journal, options).await?;
    if operation == Operation::Destroy && report.succeeded() {
        sweep(ws, provider.as_ref(), &journal, hooks).await?;
    }
    let outputs = if operation == Operation::Apply && report.succeeded() {
        resolve(journal.snapshot(), ws.stack)
    } else {
        Vec::new()
    };
    if operation == Operation::Apply {
        tell_actions_needed(journal.snapshot(), hooks);
    }
    Ok(ApplyOutcome::Applied { report, outputs })
}

/// Tells what App Runner leaves to a person (a connection's handshake, a
/// custom domain's DNS records), so an apply that ends with them says so.
fn tell_actions_needed(state: &Snapshot, hooks: &dyn Hooks) {
    let actions = super::attention::actions_needed(state);
    if actions.is_empty() {
        return;
    }
    hooks.notice("Action needed:");
    for action in actions {
        hooks.notice(&format!("  {}: {}", action.address, action.message));
        for record in action.records {
            hooks.notice(&format!("    {record}"));
        }
    }
}

/// Once a destroy leaves the state empty, removes what the target still
/// holds for the stack that no record named (an interrupted run's last
/// objects), telling how many.
async fn sweep<P: Provider, S: Storage + ?Sized>(
    ws: &Workspace<'_>,
    provider: &P,
    journal: &Journal<'_, S>,
    hooks: &dyn Hooks,
) -> Result<(), OpError> {
    if !journal.snapshot().resources.is_empty() || !journal.pending().is_empty() {
        return Ok(());
    }
    let removed = provider.sweep(ws.stack_name()).await?;
    if removed > 0 {
        hooks.notice(&format!(
            "Removed {removed} object(s) an interrupted run left that no record named."
        ));
    }
    Ok(())
}

/// Settles the operations an interrupted run left pending, telling each.
async fn settle<P: Provider, S: Storage + ?Sized>(
    ws: &Workspace<'_>,
    provider: &P,
    journal: &mut Journal<'_, S>,
    hooks: &dyn Hooks,
) -> Result<(), OpError> {
    if journal.pending().is_empty() {
        return Ok(());
    }
    provider.preflight().await?;
    hooks.notice(&format!(
        "Settling {} operation(s) interrupted by an earlier run:",
        journal.pending().len()
    ));
    for line in reconcile(ws.stack_name(), provider, journal, hooks.progress()).await? {
        hooks.notice(&format!("  {line}"));
    }
    Ok(())
}

/// The plan to apply: the saved one if it still fits the state and the
/// stack, else a new one (against a refresh unless told not to).
async fn decide<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: &Arc<P>,
    request: &ApplyRequest,
    state: Option<&Snapshot>,
) -> Result<Plan, OpError> {
    let digest = stack_digest(ws.text, ws.stack);
    if let Some(saved) = &request.saved {
        check_fresh(&saved.plan, state, &digest, ws.target)?;
        return Ok(saved.plan.clone());
    }
    let observed = match state {
        Some(snapshot) if request.refresh => Some(read::observe(provider.clone(), snapshot).await?),
        // Without a refresh, an incomplete resource is still read: only what
        // it looks like now says what finishing it takes.
        Some(snapshot) if snapshot.resources.iter().any(|r| r.incomplete.is_some()) => {
            let mut incomplete = snapshot.clone();
            incomplete.resources.retain(|r| r.incomplete.is_some());
            Some(read::observe(provider.clone(), &incomplete).await?)
        }
        _ => None,
    };
    Ok(make_plan(PlanInput {
        stack: ws.stack,
        target: ws.target,
        state,
        observed: observed.as_ref(),
        options: &request.options,
        stack_digest: &digest,
    }))
}
