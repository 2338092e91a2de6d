//! The attribute document of a source code connection (`connections.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode};

/// A connection's normalized attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionAttributes {
    /// The source code provider: `GITHUB` or `BITBUCKET`.
    pub provider: String,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

/// A connection services can use.
pub const CONNECTION_AVAILABLE: &str = "AVAILABLE";

impl ConnectionAttributes {
    /// Reads a connection's document (a request, a record or an
    /// observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Connection, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
