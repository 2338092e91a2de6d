//! The attribute document of an observability configuration
//! (`observability.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode};

/// The only tracing vendor App Runner offers, as the stack writes it.
pub const TRACING_AWSXRAY: &str = "awsxray";

/// An observability configuration's normalized attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ObservabilityAttributes {
    /// The tracing vendor (`awsxray`); `None`: no tracing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl ObservabilityAttributes {
    /// Reads a configuration's document (a request, a record or an
    /// observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Observability, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
