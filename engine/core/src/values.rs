//! Attribute values that are not plain JSON: sealed secrets and values only
//! known after apply, both encoded as one-key objects so they survive JSON
//! round trips (state, saved plans) and never collide with user values.

use apprun_state::DigestKey;
use serde_json::{Map, Value};

use crate::kinds::KindRules;

const SENSITIVE: &str = "$sensitive";
const UNKNOWN: &str = "$unknown";

/// A value that will be known only after apply (e.g. the ARN of a resource
/// that is being created).
pub fn unknown() -> Value {
    let mut map = Map::new();
    map.insert(UNKNOWN.to_string(), Value::Bool(true));
    Value::Object(map)
}

/// Whether `value` is the unknown marker.
pub fn is_unknown(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.len() == 1 && map.contains_key(UNKNOWN))
}

/// Whether `value` is a sealed secret.
pub fn is_sealed(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.len() == 1 && map.contains_key(SENSITIVE))
}

/// Replaces every sensitive leaf of `attributes` by a keyed digest of its
/// value. What remains may be stored, rendered and logged.
pub fn seal(rules: &KindRules, attributes: &Value, key: &DigestKey) -> Value {
    seal_at(rules, attributes, key, "")
}

fn seal_at(rules: &KindRules, value: &Value, key: &DigestKey, path: &str) -> Value {
    match value {
        Value::Object(map) if !is_unknown(value) && !is_sealed(value) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    (k.clone(), seal_at(rules, v, key, &child))
                })
                .collect(),
        ),
        Value::String(text) if rules.is_sensitive(path) => {
            let mut map = Map::new();
            map.insert(
                SENSITIVE.to_string(),
                Value::String(key.digest(text.as_bytes()).as_str().to_string()),
            );
            Value::Object(map)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::rules;
    use apprun_schema::Kind;
    use serde_json::json;

    #[test]
    fn seals_only_sensitive_leaves() {
        let key = DigestKey::from_bytes([7; 32]);
        let attrs =
            json!({ "env": { "A": "secret-a" }, "port": 8080, "start_command": "run --token x" });
        let sealed = seal(&rules(Kind::Service), &attrs, &key);
        let text = sealed.to_string();
        assert!(!text.contains("secret-a") && !text.contains("--token"));
        assert_eq!(sealed["port"], 8080);
        assert!(is_sealed(&sealed["env"]["A"]));
        assert_eq!(
            sealed,
            seal(&rules(Kind::Service), &attrs, &key),
            "digest is stable"
        );
    }
}
