//! The JSON rendering: the [`Plan`] itself, with sealed secrets shown as
//! `{"sensitive": true}` and unknowns as `{"unknown": true}` (no digests, so
//! the output is deterministic and reveals nothing).

use serde_json::{Value, json};

use crate::plan::Plan;
use crate::values::{is_sealed, is_unknown};

/// Renders the plan as pretty JSON with a trailing newline.
pub fn render(plan: &Plan) -> String {
    let value = serde_json::to_value(plan)
        .map(|v| scrub(&v))
        .unwrap_or(Value::Null);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Replaces sealed secrets and unknown markers by `{"sensitive": true}` and
/// `{"unknown": true}`.
pub fn scrub(value: &Value) -> Value {
    if is_sealed(value) {
        return json!({ "sensitive": true });
    }
    if is_unknown(value) {
        return json!({ "unknown": true });
    }
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), scrub(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(scrub).collect()),
        other => other.clone(),
    }
}
