//! `destroy`: apply a plan that deletes every resource the state records,
//! dependents first. The same workflow as [`super::apply`], so it locks,
//! settles, shows, asks and reports the same way.

use std::sync::Arc;

use super::apply::{ApplyOutcome, ApplyRequest, apply};
use super::{Hooks, OpError, Workspace};
use crate::provider::Provider;

/// Destroys what `ws`'s state records; `request.options.destroy` is set
/// whatever the caller passed.
pub async fn destroy<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    mut request: ApplyRequest,
    hooks: &dyn Hooks,
) -> Result<ApplyOutcome, OpError> {
    request.options.destroy = true;
    apply(ws, provider, request, hooks).await
}
