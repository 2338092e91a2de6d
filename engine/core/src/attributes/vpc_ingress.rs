//! The attribute document of a VPC ingress connection (`vpc_ingress.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode};

/// A VPC ingress connection's normalized attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VpcIngressAttributes {
    /// The private service's ARN (changing it replaces the connection).
    pub service: String,
    /// The VPC id.
    pub vpc: String,
    /// The VPC interface endpoint id.
    pub endpoint: String,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl VpcIngressAttributes {
    /// Reads a connection's document (a request, a record or an
    /// observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::VpcIngress, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
