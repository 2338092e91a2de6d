//! Reading the engine's normalized attribute documents.

use std::collections::BTreeMap;

use serde_json::Value;

/// A string attribute.
pub(crate) fn str_at<'a>(attrs: &'a Value, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// An integer attribute.
pub(crate) fn int_at(attrs: &Value, key: &str) -> Option<i64> {
    attrs.get(key).and_then(Value::as_i64)
}

/// A boolean attribute (absent: false).
pub(crate) fn bool_at(attrs: &Value, key: &str) -> bool {
    attrs.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A string-to-string map attribute (absent: empty).
pub(crate) fn map_at(attrs: &Value, key: &str) -> BTreeMap<String, String> {
    attrs
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A list of strings attribute, sorted (absent: empty).
pub(crate) fn list_at(attrs: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = attrs
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// The top-level members named by changed paths (`env.A` -> `env`).
pub(crate) fn top_level(changed: &[String]) -> std::collections::BTreeSet<&str> {
    changed
        .iter()
        .map(|p| p.split('.').next().unwrap_or(p.as_str()))
        .collect()
}

/// The last `/`-separated part of an ARN (`arn:...:role/path/name` -> `name`).
pub(crate) fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The name in an App Runner ARN after `marker`
/// (`…:autoscalingconfiguration/small/2/id`, marker `autoscalingconfiguration` -> `small`).
pub(crate) fn arn_name<'a>(arn: &'a str, marker: &str) -> &'a str {
    arn.split_once(&format!(":{marker}/"))
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}
