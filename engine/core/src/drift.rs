//! Drift: does the live world still match what apply recorded? Pure
//! comparison of recorded attributes with what a provider read; the
//! reading itself is the caller's.

use apprun_schema::Kind;
use apprun_state::Snapshot;
use serde::Serialize;
use serde_json::Value;

use crate::diff::{AttributeChange, diff};
use crate::kinds::rules;
use crate::provider::Observed;
use crate::target::Target;
use crate::values::seal_like;

/// Version of the drift JSON format.
pub const DRIFT_FORMAT_VERSION: u32 = 2;

/// The verdict for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Matches the record.
    InSync,
    /// Exists but differs (see the properties).
    Modified,
    /// No longer exists.
    Deleted,
    /// Could not be read (see the reason).
    NotChecked,
}

/// One property that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyDrift {
    /// Dotted path.
    pub property: String,
    /// What apply recorded: the value itself (a sealed secret stays sealed
    /// here, and is written `{"sensitive": true}` in JSON).
    #[serde(serialize_with = "typed")]
    pub expected: Option<Value>,
    /// What is there now, likewise.
    #[serde(serialize_with = "typed")]
    pub actual: Option<Value>,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`, as CloudFormation says it.
    pub difference: &'static str,
}

/// Drift of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDrift {
    /// The address.
    pub address: String,
    /// The physical id.
    pub physical_id: Option<String>,
    /// The verdict.
    pub status: Verdict,
    /// The properties that differ (for `MODIFIED`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyDrift>,
    /// Why it was not checked, or why it is failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The drift report of a stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// [`DRIFT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack.
    pub stack: String,
    /// The target.
    pub target: Target,
    /// Per resource, in address order.
    pub resources: Vec<ResourceDrift>,
}

impl DriftReport {
    /// Whether anything drifted.
    pub fn drifted(&self) -> bool {
        self.resources
            .iter()
            .any(|r| matches!(r.status, Verdict::Modified | Verdict::Deleted))
    }

    /// Whether any resource could not be checked.
    pub fn incomplete(&self) -> bool {
        self.resources
            .iter()
            .any(|r| r.status == Verdict::NotChecked)
    }
}

/// What a read of one recorded resource gave.
pub enum ReadResult {
    /// The provider saw it.
    Present(Observed),
    /// It is gone.
    Absent,
    /// The read failed.
    Error(String),
}

/// Seals an observation of the resource at `address` the way its record
/// is sealed (the kind's sensitive paths and every path sealed there).
pub fn seal_observed(address: &str, kind: Kind, observed: &Observed, state: &Snapshot) -> Value {
    let record = state.resource(address).map(|r| &r.attributes);
    seal_like(
        &rules(kind),
        &observed.attributes,
        record,
        &state.digest_key,
    )
}

/// A drift value as JSON: typed as it is (a number stays a number), sealed
/// secrets as `{"sensitive": true}`, never their digest.
fn typed<S: serde::Serializer>(value: &Option<Value>, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize as _;
    value
        .as_ref()
        .map(crate::render::json::scrub)
        .serialize(serializer)
}

fn difference(change: &AttributeChange) -> PropertyDrift {
    PropertyDrift {
        property: change.path.clone(),
        expected: change.before.clone(),
        actual: change.after.clone(),
        difference: match (&change.before, &change.after) {
            (None, Some(_)) => "ADD",
            (Some(_), None) => "REMOVE",
            _ => "NOT_EQUAL",
        },
    }
}

/// Compares every recorded resource with what was read.
pub fn drift(
    state: &Snapshot,
    stack: &str,
    target: Target,
    reads: Vec<(String, ReadResult)>,
) -> DriftReport {
    let mut resources = Vec::new();
    for (address, read) in reads {
        let Some(record) = state.resource(&address) else {
            continue;
        };
        let kind = apprun_schema::Address::parse(&address).map(|a| a.kind);
        let (status, properties, reason) = match (read, kind) {
            (ReadResult::Absent, _) => (Verdict::Deleted, Vec::new(), None),
            (ReadResult::Error(reason), _) => (Verdict::NotChecked, Vec::new(), Some(reason)),
            (ReadResult::Present(_), None) => (
                Verdict::NotChecked,
                Vec::new(),
                Some("unknown resource kind".to_string()),
            ),
            (ReadResult::Present(observed), Some(kind)) => {
                let actual = seal_observed(&address, kind, &observed, state);
                let changes: Vec<PropertyDrift> = diff(&record.attributes, &actual)
                    .iter()
                    .map(difference)
                    .collect();
                match (&observed.failed, changes.is_empty()) {
                    (Some(failed), _) => (Verdict::Modified, changes, Some(failed.clone())),
                    (None, true) => (Verdict::InSync, changes, None),
                    (None, false) => (Verdict::Modified, changes, None),
                }
            }
        };
        resources.push(ResourceDrift {
            address,
            physical_id: record.physical_id.clone(),
            status,
            properties,
            reason,
        });
    }
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    DriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        stack: stack.to_string(),
        target,
        resources,
    }
}
