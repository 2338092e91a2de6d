//! What apply records after a resource is created or updated: its sealed
//! attributes, its outputs and its dependencies, as a state record.

use std::collections::BTreeMap;

use apprun_state::{DigestKey, Resource};
use serde_json::Value;

use crate::desired::DesiredResource;
use crate::kinds::rules;
use crate::values::seal_with;

/// The state record of a resource whose attributes (references resolved)
/// were applied and whose provider returned `physical_id` and `outputs`.
pub fn recorded(
    desired: &DesiredResource,
    resolved_attributes: &Value,
    physical_id: &str,
    outputs: BTreeMap<String, Value>,
    key: &DigestKey,
) -> Resource {
    let mut resource = Resource::new(desired.address.to_string(), desired.address.kind.section());
    resource.physical_id = Some(physical_id.to_string());
    resource.attributes = seal_with(
        &rules(desired.address.kind),
        resolved_attributes,
        key,
        &desired.sensitive,
    );
    resource.outputs = outputs;
    resource.dependencies = desired
        .dependencies
        .iter()
        .map(ToString::to_string)
        .collect();
    resource
}
