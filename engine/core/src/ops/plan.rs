//! `plan`: what apply would change, optionally against a refresh of the
//! live world; and saving a plan for a later `apply PLANFILE`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{OpError, Workspace, read};
use crate::plan::{Plan, PlanInput, PlanOptions, plan as make_plan, stack_digest};
use crate::planfile::SavedPlan;
use crate::provider::Provider;

/// Plans the stack against its state; with `refresh`, against what that
/// provider reads of every recorded resource. `--only`/`--replace`
/// addresses must be declared or recorded.
pub async fn plan<P: Provider + 'static>(
    ws: &Workspace<'_>,
    options: &PlanOptions,
    refresh: Option<Arc<P>>,
) -> Result<Plan, OpError> {
    let state = ws.read_state()?;
    let declared = ws.stack.addresses();
    for address in options.targets.iter().chain(&options.replace) {
        let recorded = state
            .as_ref()
            .and_then(|s| s.resource(&address.to_string()))
            .is_some();
        if !declared.contains(address) && !recorded {
            return Err(OpError::NotInState {
                address: address.to_string(),
            });
        }
    }
    let observed = match (&state, refresh) {
        (Some(snapshot), Some(provider)) => Some(read::observe(provider, snapshot).await?),
        _ => None,
    };
    let digest = stack_digest(ws.text, ws.stack);
    Ok(make_plan(PlanInput {
        stack: ws.stack,
        target: ws.target,
        state: state.as_ref(),
        observed: observed.as_ref(),
        options,
        stack_digest: &digest,
    }))
}

/// Saves `plan` to `path` for `apprun apply PATH`; apply refuses it once
/// the state or the stack moved on.
pub fn save(plan: &Plan, ws: &Workspace<'_>, path: &Path) -> Result<(), OpError> {
    let saved = SavedPlan::new(plan.clone(), ws.file, ws.version);
    std::fs::write(path, saved.to_json()).map_err(|source| OpError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a plan saved with `plan --out`.
pub fn load_saved(path: &Path) -> Result<SavedPlan, OpError> {
    let text = std::fs::read_to_string(path).map_err(|source| OpError::ReadFile {
        what: "plan file",
        path: PathBuf::from(path),
        source,
        help: "pass a file written by `apprun plan --out FILE`".to_string(),
    })?;
    Ok(SavedPlan::from_json(&text)?)
}

/// `Some` when `path` is a saved plan rather than a stack file (apply
/// takes either): a readable file whose text is a JSON object.
pub fn saved_plan_at(path: &Path) -> Result<Option<SavedPlan>, OpError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    Ok(Some(SavedPlan::from_json(&text)?))
}
