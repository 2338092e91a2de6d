//! Attribute values that are not plain JSON: sealed secrets and values only
//! known after apply, both encoded as one-key objects so they survive JSON
//! round trips (state, saved plans) and never collide with user values.

use std::collections::BTreeSet;

use apprun_state::DigestKey;
use serde_json::{Map, Value};

use crate::kinds::KindRules;

pub(crate) const SENSITIVE: &str = "$sensitive";
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

/// Whether `value` is, or holds anywhere inside it, the unknown marker.
pub fn contains_unknown(value: &Value) -> bool {
    is_unknown(value)
        || match value {
            Value::Object(map) => map.values().any(contains_unknown),
            Value::Array(items) => items.iter().any(contains_unknown),
            _ => false,
        }
}

/// Whether `value` is a sealed secret.
pub fn is_sealed(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.len() == 1 && map.contains_key(SENSITIVE))
}

/// Replaces every sensitive leaf of `attributes` (the kind's sensitive
/// paths: start and build commands) by a keyed digest of its value. What
/// remains may be stored, rendered and logged.
pub fn seal(rules: &KindRules, attributes: &Value, key: &DigestKey) -> Value {
    seal_with(rules, attributes, key, &BTreeSet::new())
}

/// As [`seal`], and also seals the leaves at `paths` (dotted, e.g.
/// `env.DB_URL`: the values the stack builds from sensitive variables, see
/// [`crate::desired::DesiredResource::sensitive`]).
pub fn seal_with(
    rules: &KindRules,
    attributes: &Value,
    key: &DigestKey,
    paths: &BTreeSet<String>,
) -> Value {
    let sensitive = |path: &str| rules.is_sensitive(path) || paths.contains(path);
    seal_at(&sensitive, attributes, key, "")
}

/// Seals what was read from a provider the way `reference` (a record, or a
/// sealed desired document) is sealed: the kind's sensitive paths and every
/// path where `reference` holds a sealed value.
pub fn seal_like(
    rules: &KindRules,
    observed: &Value,
    reference: Option<&Value>,
    key: &DigestKey,
) -> Value {
    let paths = reference.map(sealed_paths).unwrap_or_default();
    seal_with(rules, observed, key, &paths)
}

/// The dotted paths of the sealed leaves of `value`.
pub fn sealed_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, path: &str, out: &mut BTreeSet<String>) {
        if is_sealed(value) {
            out.insert(path.to_string());
            return;
        }
        if let Value::Object(map) = value {
            for (k, v) in map {
                walk(v, &child_path(path, k), out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

/// `before` where each sealed leaf whose value `after` now holds in clear
/// (with the same digest) reads as that clear text: a value the stack no
/// longer calls sensitive compares equal to its old sealed record instead
/// of showing as changed. A sealed leaf whose value differs stays sealed.
pub fn unseal_matching(before: &Value, after: &Value, key: &DigestKey) -> Value {
    match (before, after) {
        (Value::Object(sealed), Value::String(text)) if is_sealed(before) => {
            let digest = key.digest(text.as_bytes());
            match sealed.get(SENSITIVE) {
                Some(Value::String(d)) if d == digest.as_str() => after.clone(),
                _ => before.clone(),
            }
        }
        (Value::Object(b), Value::Object(a)) if !is_sealed(before) && !is_unknown(before) => {
            Value::Object(
                b.iter()
                    .map(|(k, v)| {
                        let v = match a.get(k) {
                            Some(other) => unseal_matching(v, other, key),
                            None => v.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        _ => before.clone(),
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn seal_at(sensitive: &dyn Fn(&str) -> bool, value: &Value, key: &DigestKey, path: &str) -> Value {
    match value {
        Value::Object(map) if !is_unknown(value) && !is_sealed(value) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), seal_at(sensitive, v, key, &child_path(path, k))))
                .collect(),
        ),
        Value::String(text) if sensitive(path) => {
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
        let attrs = json!({
            "env": { "A": "secret-a", "LOG_LEVEL": "info" },
            "port": 8080,
            "start_command": "run --token x",
        });
        let paths: BTreeSet<String> = ["env.A".to_string()].into();
        let sealed = seal_with(&rules(Kind::Service), &attrs, &key, &paths);
        let text = sealed.to_string();
        assert!(!text.contains("secret-a") && !text.contains("--token"));
        assert_eq!(sealed["port"], 8080);
        assert_eq!(
            sealed["env"]["LOG_LEVEL"], "info",
            "a plain env value stays"
        );
        assert!(is_sealed(&sealed["env"]["A"]));
        assert_eq!(
            sealed,
            seal_with(&rules(Kind::Service), &attrs, &key, &paths),
            "digest is stable"
        );
        let plain = seal(&rules(Kind::Service), &attrs, &key);
        assert_eq!(plain["env"]["A"], "secret-a");
        assert!(is_sealed(&plain["start_command"]));
        assert_eq!(
            sealed_paths(&sealed),
            ["env.A".to_string(), "start_command".to_string()].into()
        );
        // An observation sealed like the record hides the same leaves.
        let like = seal_like(&rules(Kind::Service), &attrs, Some(&sealed), &key);
        assert_eq!(like, sealed);
    }

    #[test]
    fn a_sealed_value_now_in_clear_with_the_same_digest_reads_as_clear() {
        let key = DigestKey::from_bytes([7; 32]);
        let all: BTreeSet<String> = ["env.A".to_string(), "env.B".to_string()].into();
        let record = seal_with(
            &rules(Kind::Service),
            &json!({ "env": { "A": "info", "B": "old" } }),
            &key,
            &all,
        );
        let after = json!({ "env": { "A": "info", "B": "new" } });
        let before = unseal_matching(&record, &after, &key);
        assert_eq!(before["env"]["A"], "info");
        assert!(
            is_sealed(&before["env"]["B"]),
            "a changed value stays sealed"
        );
    }
}
