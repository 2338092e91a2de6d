//! `output`: the stack's outputs, resolved from the recorded outputs of
//! the resources they reference.

use apprun_schema::Stack;
use apprun_state::Snapshot;
use serde_json::Value;

use super::{OpError, Workspace};
use crate::plan::resolve_references;
use crate::values::is_unknown;

/// One stack output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    /// Its name in the stack.
    pub name: String,
    /// Its value; `None` until everything it references has been applied.
    pub value: Option<Value>,
    /// Declared `sensitive`: listings hide it.
    pub sensitive: bool,
}

/// Every output of `stack`, in name order, resolved from `state`.
pub fn resolve(state: &Snapshot, stack: &Stack) -> Vec<OutputValue> {
    let known = crate::plan::recorded_known_outputs(state);
    stack
        .outputs
        .iter()
        .map(|(name, output)| {
            let value =
                resolve_references(&Value::String(output.value.value.value.clone()), &known);
            OutputValue {
                name: name.clone(),
                value: (!is_unknown(&value)).then_some(value),
                sensitive: output.value.sensitive.as_ref().is_some_and(|s| s.value),
            }
        })
        .collect()
}

/// The outputs of `ws`'s stack from its state (unknown when there is none).
pub fn outputs(ws: &Workspace<'_>) -> Result<Vec<OutputValue>, OpError> {
    let state = ws.read_state()?.unwrap_or_else(super::empty_state);
    Ok(resolve(&state, ws.stack))
}

/// The output named `name`, or an error listing those that exist.
pub fn find<'a>(outputs: &'a [OutputValue], name: &str) -> Result<&'a OutputValue, OpError> {
    outputs
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| OpError::UnknownOutput {
            name: name.to_string(),
            defined: outputs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
