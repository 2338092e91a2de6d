//! The attribute document of an IAM role (`roles.*`).

use std::collections::{BTreeMap, BTreeSet};

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode};

/// The trust policy of a document that has none (an empty policy
/// document; `desired` always writes the one of the role's kind).
pub const EMPTY_POLICY: &str = "{}";

/// A role's normalized attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleAttributes {
    /// What the role is for (`desired` always writes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RoleKind>,
    /// The trust policy, as pretty JSON text (plans show a line diff).
    pub trust_policy: String,
    /// Managed policy ARNs, sorted.
    pub managed_policies: BTreeSet<String>,
    /// Inline policies: name to pretty JSON policy document.
    pub inline_policies: BTreeMap<String, String>,
    /// A description for the IAM console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl Default for RoleAttributes {
    fn default() -> Self {
        RoleAttributes {
            kind: None,
            trust_policy: EMPTY_POLICY.to_string(),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            description: None,
            tags: Tags::new(),
            name: String::new(),
        }
    }
}

impl RoleAttributes {
    /// Reads a role's document (a request, a record or an observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Role, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}

/// What an App Runner role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    /// ECR pull, trusted by `build.apprunner.amazonaws.com`.
    Access,
    /// The running code's identity, trusted by `tasks.apprunner.amazonaws.com`.
    Instance,
}

impl RoleKind {
    /// The service principal that may assume a role of this kind.
    pub const fn principal(self) -> &'static str {
        match self {
            RoleKind::Access => "build.apprunner.amazonaws.com",
            RoleKind::Instance => "tasks.apprunner.amazonaws.com",
        }
    }
}
