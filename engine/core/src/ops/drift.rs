//! `drift`: does the live world still match the state? Reads every
//! recorded resource and compares; never writes state.

use std::sync::Arc;

use super::{OpError, Workspace, read};
use crate::drift::{DriftReport, drift as compare};
use crate::provider::Provider;

/// The drift report of `ws`'s stack (empty when it has no state yet).
pub async fn drift<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
) -> Result<DriftReport, OpError> {
    let state = ws.read_state()?.unwrap_or_else(super::empty_state);
    let reads = read::read_all(provider, &state).await?;
    Ok(compare(&state, ws.stack_name(), ws.target, reads))
}

/// One stack of a drift check over several: its report, or why it could
/// not be checked at all (a stack file that does not load, a state that
/// cannot be read, a target that cannot be reached).
#[derive(Debug, Clone, PartialEq)]
pub enum StackDrift {
    /// Checked: what was found.
    Checked(DriftReport),
    /// Not checked.
    NotChecked {
        /// The stack file as given.
        stack: String,
        /// Why, in a sentence.
        reason: String,
    },
}

/// A drift check over several stacks, in the order they were given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetDrift {
    /// Per stack.
    pub stacks: Vec<StackDrift>,
}

impl FleetDrift {
    /// Whether any checked stack drifted.
    pub fn drifted(&self) -> bool {
        self.stacks
            .iter()
            .any(|s| matches!(s, StackDrift::Checked(r) if r.drifted()))
    }

    /// Whether any stack, or any resource of one, could not be checked.
    pub fn incomplete(&self) -> bool {
        self.stacks.iter().any(|s| match s {
            StackDrift::Checked(report) => report.incomplete(),
            StackDrift::NotChecked { .. } => true,
        })
    }

    /// How many stacks drifted.
    pub fn drifted_count(&self) -> usize {
        self.stacks
            .iter()
            .filter(|s| matches!(s, StackDrift::Checked(r) if r.drifted()))
            .count()
    }
}
