//! Reading the engine's normalized attribute documents (typed, through
//! `apprun_engine::attributes`, which owns every default; what App Runner,
//! ECR and IAM answer is read here too), and the outputs a create or an
//! update reports.

use std::collections::BTreeMap;

use apprun_engine::attributes::AttributeError;
use apprun_engine::provider::{Applied, ProviderError};
use serde_json::{Value, json};

/// A document of the wrong shape (`apprun_engine::attributes`), as the
/// engine's `Invalid` for `what`. The error names the field, never its value.
pub(crate) fn invalid(what: &str, error: &AttributeError) -> ProviderError {
    ProviderError::Invalid {
        operation: format!("apply {what}"),
        message: error.to_string(),
    }
}

/// What a create or an update of a resource identified by its ARN reports:
/// the ARN as physical id and as the `arn` output, plus `others` outputs.
pub(crate) fn applied_by_arn<const N: usize>(arn: &str, others: [(&str, Value); N]) -> Applied {
    let mut outputs: BTreeMap<String, Value> =
        others.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    outputs.insert("arn".to_owned(), json!(arn));
    Applied {
        physical_id: arn.to_owned(),
        outputs,
    }
}

/// A string member of a JSON document (an API answer).
pub(crate) fn str_at<'a>(attrs: &'a Value, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// A string-to-string map member (absent: empty): `tags`, which every
/// kind's document has.
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
