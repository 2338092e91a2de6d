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
