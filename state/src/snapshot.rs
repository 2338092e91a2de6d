//! The in-memory state: a [`Snapshot`] of one stack and target, its resource
//! records and its journal of pending operations.
//!
//! Owns the data model and small helpers on it. Must never interpret a
//! resource kind or attribute (records are opaque to this crate), never do
//! I/O, and never hold a secret value (see [`crate::secret_digest`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::secret_digest::{DigestKey, SecretDigest};

crate::random::random_id_type! {
    /// The random id of a state, fixed when it is created. Two states with
    /// different lineages are unrelated: one never replaces the other.
    pub struct Lineage;
    random: "A new random lineage (128 bits, hex).",
    new: "A lineage from a known string (tests, imports).",
    as_str: "The lineage as stored.",
}

/// Which stored version a write is based on: its lineage and serial. A write
/// is a compare-and-swap against it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Generation {
    /// The lineage of the state.
    pub lineage: Lineage,
    /// The serial of the stored version (1 for the first write).
    pub serial: u64,
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lineage {} serial {}", self.lineage, self.serial)
    }
}

/// One stack's state for one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The random id fixed at creation.
    pub lineage: Lineage,
    /// Incremented on every write; 0 for a snapshot never written.
    pub serial: u64,
    /// The key for [`SecretDigest`]s of this lineage.
    pub digest_key: DigestKey,
    /// One record per resource, in the order they were first recorded.
    pub resources: Vec<Resource>,
    /// Operations begun and not yet completed: after a crash, what was interrupted.
    pub pending: Vec<PendingOp>,
    /// The name of the stack this state belongs to (states made before
    /// this field have none): a command of another stack is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

impl Snapshot {
    /// A new, empty snapshot with a random lineage and digest key, serial 0.
    pub fn fresh() -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            location: "the operating system's random source".to_owned(),
            action: "read",
            source,
        };
        Ok(Snapshot::with_identity(
            Lineage::random().map_err(io)?,
            DigestKey::random().map_err(io)?,
        ))
    }

    /// A new, empty snapshot with a given lineage and key, serial 0.
    pub fn with_identity(lineage: Lineage, digest_key: DigestKey) -> Self {
        Snapshot {
            lineage,
            serial: 0,
            digest_key,
            resources: Vec::new(),
            pending: Vec::new(),
            stack: None,
        }
    }

    /// The lineage and serial of this snapshot.
    pub fn generation(&self) -> Generation {
        Generation {
            lineage: self.lineage.clone(),
            serial: self.serial,
        }
    }

    /// The record at `address`, if any.
    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address == address)
    }

    /// Replaces the record with the same address, or appends a new one.
    pub fn upsert(&mut self, resource: Resource) {
        match self
            .resources
            .iter_mut()
            .find(|r| r.address == resource.address)
        {
            Some(slot) => *slot = resource,
            None => self.resources.push(resource),
        }
    }

    /// Removes and returns the record at `address`.
    pub fn remove(&mut self, address: &str) -> Option<Resource> {
        let i = self.resources.iter().position(|r| r.address == address)?;
        Some(self.resources.remove(i))
    }

    /// The pending operation with id `id`, if any.
    pub fn pending_op(&self, id: &OpId) -> Option<&PendingOp> {
        self.pending.iter().find(|p| &p.id == id)
    }

    /// The digest of a secret value under this lineage's key.
    pub fn secret_digest(&self, value: &[u8]) -> SecretDigest {
        self.digest_key.digest(value)
    }
}

/// The record of one resource: what apprun last applied and what it got back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The stack address, e.g. `services.web`.
    pub address: String,
    /// The resource kind as the engine names it, e.g. `service`. Opaque here.
    pub kind: String,
    /// The provider's id or ARN, once known.
    pub physical_id: Option<String>,
    /// The attributes last applied, opaque to this crate. Secret values appear
    /// only as [`SecretDigest`]s.
    pub attributes: serde_json::Value,
    /// Values the provider returned, e.g. `arn`, `url`, `uri`.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Addresses this resource depends on; each must have a record.
    pub dependencies: Vec<String>,
    /// Set when the resource exists but its create did not finish (a
    /// follow-up call failed, or the run stopped after the resource was
    /// made): why, in a sentence. The next apply finishes it; destroy
    /// deletes it. Terraform calls such a resource "tainted".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// Set when `apprun discover` adopted the resource without putting
    /// apprun's ownership tags on it: the next apply tags it (tag updates
    /// only) and clears this.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unclaimed: bool,
}

impl Resource {
    /// A record with no id, attributes, outputs or dependencies yet.
    pub fn new(address: impl Into<String>, kind: impl Into<String>) -> Self {
        Resource {
            address: address.into(),
            kind: kind.into(),
            physical_id: None,
            attributes: serde_json::Value::Null,
            outputs: BTreeMap::new(),
            dependencies: Vec::new(),
            incomplete: None,
            unclaimed: false,
        }
    }
}

crate::random::random_id_type! {
    /// The id of a pending operation.
    pub struct OpId;
    random: "A new random id.",
    new: "An id from a known string.",
    as_str: "The id as stored.",
}

/// What a pending operation was doing to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingAction {
    /// Creating a resource.
    Create,
    /// Updating a recorded resource in place.
    Update,
    /// Deleting a recorded resource.
    Delete,
    /// Replacing a recorded resource.
    Replace,
}

impl PendingAction {
    /// The verb in the "-ing" form, for "interrupted while creating ...".
    pub fn gerund(self) -> &'static str {
        match self {
            PendingAction::Create => "creating",
            PendingAction::Update => "updating",
            PendingAction::Delete => "deleting",
            PendingAction::Replace => "replacing",
        }
    }

    /// Whether the action needs an existing record at its address.
    pub fn needs_record(self) -> bool {
        !matches!(self, PendingAction::Create)
    }
}

/// An operation journaled before its mutating call and removed by the
/// atomic write that records its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingOp {
    /// Unique among pending operations.
    pub id: OpId,
    /// The resource address.
    pub address: String,
    /// What the call does.
    pub action: PendingAction,
    /// When the operation began (RFC 3339 UTC).
    pub started_at: String,
    /// Anything the engine needs to reconcile after a crash (e.g. the name
    /// used, an operation id, an idempotency token). Opaque; never a secret.
    pub detail: serde_json::Value,
}

impl PendingOp {
    /// A pending operation with a random id, started now, with no detail.
    pub fn new(address: impl Into<String>, action: PendingAction) -> Result<Self, StateError> {
        let id = OpId::random().map_err(|source| StateError::Io {
            location: "the operating system's random source".to_owned(),
            action: "read",
            source,
        })?;
        Ok(PendingOp {
            id,
            address: address.into(),
            action,
            started_at: crate::clock::now_rfc3339(),
            detail: serde_json::Value::Null,
        })
    }

    /// Sets the detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// "interrupted while creating services.web (started ..., operation ...)".
    pub fn interrupted_message(&self) -> String {
        format!(
            "interrupted while {} {} (started {}, operation {})",
            self.action.gerund(),
            self.address,
            self.started_at,
            self.id
        )
    }
}
