//! `status`: every resource in state, as the target sees it now. Services
//! carry their status, URL, image, size and last operations; other kinds
//! what their provider tells (a connection's handshake, a domain's
//! validation). Reads run a few at a time, under the provider's own rate
//! limits. Read-only: no lock, nothing written.

use std::sync::Arc;

use apprun_schema::{Address, Kind};
use serde::Serialize;

use super::read::each_recorded;
use super::{OpError, Workspace};
use crate::live::LiveStatus;
use crate::provider::Provider;

/// The status of one recorded resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceStatus {
    /// Its address (`services.web`).
    pub address: String,
    /// Its physical id.
    pub physical_id: String,
    /// What the target reports.
    #[serde(flatten)]
    pub seen: Seen,
}

/// What reading one resource's status gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Seen {
    /// It exists; its status.
    Live(LiveStatus),
    /// It no longer exists (deleted outside apprun).
    Gone,
    /// The read failed; why.
    Unread {
        /// The provider's error.
        error: String,
    },
}

/// The status of a whole stack, in address order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The stack's name.
    pub stack: String,
    /// The target.
    pub target: String,
    /// One entry per recorded resource.
    pub resources: Vec<ResourceStatus>,
}

impl StatusReport {
    /// Whether every service is running (`RUNNING` on App Runner) and every
    /// read succeeded: `status --detailed-exitcode` exits 0 only then.
    pub fn all_services_running(&self) -> bool {
        self.resources.iter().all(|r| match &r.seen {
            Seen::Live(live) => !is_service(&r.address) || live.healthy,
            Seen::Gone | Seen::Unread { .. } => false,
        })
    }
}

fn is_service(address: &str) -> bool {
    Address::parse(address).is_some_and(|a| a.kind == Kind::Service)
}

/// Reads the status of every resource in `ws`'s state.
pub async fn status<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
) -> Result<StatusReport, OpError> {
    let state = ws.read_state()?.unwrap_or_else(super::empty_state);
    let mut resources = each_recorded(
        provider,
        &state,
        |provider, address, id, attributes| async move {
            let seen = match provider.status(address.kind, &id, &attributes).await {
                Ok(Some(live)) => Seen::Live(live),
                Ok(None) => Seen::Gone,
                Err(error) => Seen::Unread {
                    error: error.to_string(),
                },
            };
            ResourceStatus {
                address: address.to_string(),
                physical_id: id,
                seen,
            }
        },
    )
    .await?;
    resources.sort_by(|a, b| {
        let key = |s: &ResourceStatus| Address::parse(&s.address);
        key(a).cmp(&key(b))
    });
    Ok(StatusReport {
        stack: ws.stack_name().to_owned(),
        target: ws.target.name().to_owned(),
        resources,
    })
}
