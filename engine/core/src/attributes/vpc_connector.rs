//! The attribute document of a VPC connector (`vpc_connectors.*`).

use std::collections::BTreeSet;

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Tags, decode, encode};

/// A VPC connector's normalized attributes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VpcConnectorAttributes {
    /// Subnet ids, sorted.
    pub subnets: BTreeSet<String>,
    /// Security group ids, sorted (empty: the VPC's default group).
    pub security_groups: BTreeSet<String>,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl VpcConnectorAttributes {
    /// Reads a connector's document (a request, a record or an observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::VpcConnector, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
