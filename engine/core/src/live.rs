//! What the day-2 commands (`status`, `deploy`, `logs`) exchange with a
//! provider: a live status, a deployment's result, log events. Plain data,
//! no SDK types; rendered by `render::status` and the CLI.

use std::collections::BTreeMap;

use serde::Serialize;

/// What `apprun status` shows of one live resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LiveStatus {
    /// The status the target reports (`RUNNING`, `PAUSED`, `ACTIVE`,
    /// `AVAILABLE`, `PENDING_HANDSHAKE`, `active`, ...).
    pub status: String,
    /// Whether it is in its working state (a service: `RUNNING`).
    pub healthy: bool,
    /// Named facts, e.g. `url`, `image`, `image_digest`, `cpu`, `memory`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// The last operations, newest first (services).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<OperationInfo>,
}

impl LiveStatus {
    /// What a read tells of a resource's status: present (healthy unless
    /// it can only be deleted), or `None` when it is gone. What
    /// [`crate::provider::Provider::status`] answers by default, and what a
    /// target answers for kinds it has no more to say about.
    pub fn from_read(observed: Option<crate::provider::Observed>) -> Option<LiveStatus> {
        observed.map(|observed| LiveStatus {
            status: match &observed.failed {
                Some(_) => "FAILED".to_owned(),
                None => "PRESENT".to_owned(),
            },
            healthy: observed.failed.is_none(),
            ..LiveStatus::default()
        })
    }
}

/// One operation of a service (App Runner `ListOperations`, or a local
/// deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationInfo {
    /// The operation id.
    pub id: String,
    /// `CREATE_SERVICE`, `START_DEPLOYMENT`, `UPDATE_SERVICE`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// `SUCCEEDED`, `FAILED`, `ROLLBACK_SUCCEEDED`, `IN_PROGRESS`, ...
    pub status: String,
    /// When it started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended (RFC 3339), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

/// What a deployment did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Deployment {
    /// The target's operation id (App Runner), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The digest of the image now running, where the target tells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
}

/// Which log events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogQuery {
    /// Only events at or after this time (epoch milliseconds).
    pub since_ms: Option<i64>,
    /// The service's system log (App Runner's `.../service` group) instead
    /// of the application's.
    pub system: bool,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    /// When it was written (epoch milliseconds).
    pub at_ms: i64,
    /// Where it came from: a log stream, or a replica.
    pub source: String,
    /// The line, without its trailing newline.
    pub message: String,
}
