//! Saved plans (`apprun plan --out FILE`) and the check that refuses to
//! apply one whose state or stack moved on.

use apprun_state::Snapshot;
use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::plan::Plan;
use crate::target::Target;

/// A plan written to a file. It holds no secret values (sealed digests
/// only); apply re-reads the stack for values and checks its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `"apprun-plan"`.
    pub kind: String,
    /// The apprun version that made it.
    pub apprun_version: String,
    /// The stack file it was made from (as given on the command line).
    pub stack_file: String,
    /// The plan.
    pub plan: Plan,
}

impl SavedPlan {
    /// Wraps a plan for saving.
    pub fn new(plan: Plan, stack_file: &str, version: &str) -> Self {
        Self {
            kind: "apprun-plan".to_string(),
            apprun_version: version.to_string(),
            stack_file: stack_file.to_string(),
            plan,
        }
    }

    /// Reads a saved plan from JSON text.
    pub fn from_json(text: &str) -> Result<Self, PlanFileError> {
        let saved: SavedPlan =
            serde_json::from_str(text).map_err(|e| PlanFileError::Unreadable {
                reason: e.to_string(),
            })?;
        if saved.kind != "apprun-plan"
            || saved.plan.format_version != crate::plan::PLAN_FORMAT_VERSION
        {
            return Err(PlanFileError::Unreadable {
                reason: format!(
                    "not an apprun plan of format {} (kind `{}`, format {})",
                    crate::plan::PLAN_FORMAT_VERSION,
                    saved.kind,
                    saved.plan.format_version
                ),
            });
        }
        Ok(saved)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Why a saved plan cannot be used.
#[derive(Debug, Error, Diagnostic, PartialEq)]
pub enum PlanFileError {
    /// Not a plan file, or from another format version.
    #[error("cannot read the plan file: {reason}")]
    #[diagnostic(
        code(plan::unreadable),
        help("make a new plan with `apprun plan --out FILE`")
    )]
    Unreadable {
        /// What is wrong.
        reason: String,
    },
    /// The state changed since the plan was made.
    #[error(
        "the saved plan is stale: it was made against {planned}, but the state is now {current}"
    )]
    #[diagnostic(
        code(plan::stale),
        help(
            "someone applied since this plan was made; run `apprun plan` again and review the new plan"
        )
    )]
    StaleState {
        /// Lineage and serial in the plan.
        planned: String,
        /// Lineage and serial now.
        current: String,
    },
    /// The stack file or variables changed since the plan was made.
    #[error("the saved plan is stale: the stack file or its variables changed since it was made")]
    #[diagnostic(
        code(plan::stack_changed),
        help("apply the plan with the same stack file and variables, or run `apprun plan` again")
    )]
    StackChanged,
    /// The plan was made for another target.
    #[error("the saved plan is for target `{planned}`, not `{requested}`")]
    #[diagnostic(
        code(plan::wrong_target),
        help("pass `--target {planned}`, or make a plan for `{requested}`")
    )]
    WrongTarget {
        /// The plan's target.
        planned: String,
        /// The requested target.
        requested: String,
    },
}

fn describe(lineage: Option<&str>, serial: u64) -> String {
    match lineage {
        Some(lineage) => format!("lineage {lineage} serial {serial}"),
        None => "no state".to_string(),
    }
}

/// Refuses a saved plan whose state lineage or serial, stack digest or
/// target no longer match.
pub fn check_fresh(
    saved: &Plan,
    state: Option<&Snapshot>,
    stack_digest: &str,
    target: Target,
) -> Result<(), PlanFileError> {
    if saved.target != target {
        return Err(PlanFileError::WrongTarget {
            planned: saved.target.to_string(),
            requested: target.to_string(),
        });
    }
    let current_lineage = state.map(|s| s.lineage.to_string());
    let current_serial = state.map_or(0, |s| s.serial);
    if saved.lineage != current_lineage || saved.serial != current_serial {
        return Err(PlanFileError::StaleState {
            planned: describe(saved.lineage.as_deref(), saved.serial),
            current: describe(current_lineage.as_deref(), current_serial),
        });
    }
    if saved.stack_digest != stack_digest {
        return Err(PlanFileError::StackChanged);
    }
    Ok(())
}
