//! The JSON Schema of the stack language, generated from [`crate::model`].

use crate::model::Stack;

/// The JSON Schema (draft 2020-12) of an `apprun.yaml`, pretty-printed with a
/// trailing newline. `apprun schema` prints it; `schema/apprun.schema.json`
/// is a committed copy that a test keeps in sync.
pub fn generate() -> String {
    let schema = schemars::schema_for!(Stack);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
