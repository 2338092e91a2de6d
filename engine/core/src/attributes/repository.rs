//! The attribute document of an ECR repository (`repositories.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode, number};

/// A repository's normalized attributes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RepositoryAttributes {
    /// Scan images on push (default `false`).
    pub scan_on_push: bool,
    /// Tag mutability (default `MUTABLE`).
    pub image_tag_mutability: TagMutability,
    /// Image expiry rules; omitted when the stack sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleAttributes>,
    /// Delete even when it holds images (default `false`).
    pub force_delete: bool,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl RepositoryAttributes {
    /// Reads a repository's document (a request, a record or an observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Repository, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}

/// ECR tag mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TagMutability {
    /// Tags can move (the default).
    #[default]
    Mutable,
    /// A pushed tag always names the same image.
    Immutable,
}

impl TagMutability {
    /// The API's word (`MUTABLE`, `IMMUTABLE`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
        }
    }
}

/// Image expiry rules; each is omitted when not set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleAttributes {
    /// Keep only this many most recent images.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number::opt_int"
    )]
    pub keep_last: Option<i64>,
    /// Expire untagged images after this many days.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number::opt_int"
    )]
    pub expire_untagged_after_days: Option<i64>,
}

impl LifecycleAttributes {
    /// Whether no rule is set (`desired` then omits `lifecycle`).
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none() && self.expire_untagged_after_days.is_none()
    }
}
