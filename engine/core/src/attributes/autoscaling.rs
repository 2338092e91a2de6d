//! The attribute document of an auto scaling configuration (`autoscaling.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode, number};

/// Minimum provisioned instances unless the stack says otherwise.
pub const DEFAULT_MIN_SIZE: i64 = 1;
/// Maximum instances unless the stack says otherwise.
pub const DEFAULT_MAX_SIZE: i64 = 25;
/// Concurrent requests per instance unless the stack says otherwise.
pub const DEFAULT_MAX_CONCURRENCY: i64 = 100;

/// An auto scaling configuration's normalized attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoScalingAttributes {
    /// Minimum provisioned instances.
    #[serde(deserialize_with = "number::int")]
    pub min_size: i64,
    /// Maximum instances.
    #[serde(deserialize_with = "number::int")]
    pub max_size: i64,
    /// Concurrent requests per instance before scaling out.
    #[serde(deserialize_with = "number::int")]
    pub max_concurrency: i64,
    /// Whether it is the account's default configuration while the stack
    /// has it (changes in place; omitted when `false`, so records written
    /// before the flag existed read the same).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl Default for AutoScalingAttributes {
    fn default() -> Self {
        AutoScalingAttributes {
            min_size: DEFAULT_MIN_SIZE,
            max_size: DEFAULT_MAX_SIZE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            default: false,
            tags: Tags::new(),
            name: String::new(),
        }
    }
}

impl AutoScalingAttributes {
    /// Reads a configuration's document (a request, a record, an
    /// observation, or outputs that carry the sizes).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::AutoScaling, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
