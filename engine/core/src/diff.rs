//! Attribute-level differences between two attribute documents.

use serde::Serialize;
use serde_json::Value;

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AttributeChange {
    /// Dotted path, e.g. `health_check.interval` or `env.APP_ENV`.
    pub path: String,
    /// The value before (`None`: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after (`None`: removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Whether this attribute forces the resource to be replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// Every difference between `before` and `after`, in path order. Objects are
/// compared key by key (so one env var changing shows as one line); lists
/// and scalars as whole values; the markers of `values` as opaque values.
pub fn diff(before: &Value, after: &Value) -> Vec<AttributeChange> {
    let mut out = Vec::new();
    diff_at("", Some(before), Some(after), &mut out);
    out
}

fn is_plain_object(value: &Value) -> bool {
    matches!(value, Value::Object(_))
        && !crate::values::is_sealed(value)
        && !crate::values::is_unknown(value)
}

fn diff_at(
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<AttributeChange>,
) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a)))
            if is_plain_object(before.unwrap_or(&Value::Null))
                && is_plain_object(after.unwrap_or(&Value::Null)) =>
        {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_at(&child, b.get(key), a.get(key), out);
            }
        }
        (b, a) if b == a => {}
        (None | Some(Value::Null), None | Some(Value::Null)) => {}
        (b, a) => out.push(AttributeChange {
            path: path.to_string(),
            before: b.filter(|v| !v.is_null()).cloned(),
            after: a.filter(|v| !v.is_null()).cloned(),
            forces_replacement: false,
        }),
    }
}

/// The top-level attribute of a dotted path.
pub fn top_level(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_documents_have_no_diff() {
        let a = json!({ "env": { "A": "1" }, "port": 80, "subnets": ["a", "b"] });
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn nested_keys_diff_one_by_one() {
        let before = json!({ "env": { "A": "1", "B": "2" }, "port": 80 });
        let after = json!({ "env": { "A": "1", "C": "3" }, "port": 81 });
        let paths: Vec<String> = diff(&before, &after).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["env.B", "env.C", "port"]);
    }

    #[test]
    fn lists_compare_whole() {
        let changes = diff(&json!({ "s": ["a"] }), &json!({ "s": ["a", "b"] }));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "s");
    }
}
