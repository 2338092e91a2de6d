//! Every rendering the commands print: plans (terminal text, JSON for
//! programs, Markdown for pull requests), drift reports, the end of an
//! apply, outputs. All deterministic: no timestamps, stable order, no
//! secrets.

pub mod discover;
pub mod drift;
pub mod fleet;
pub mod json;
pub mod markdown;
pub mod outputs;
pub mod refresh;
pub mod report;
pub mod status;
pub mod text;

use serde_json::Value;

use crate::drift::DriftReport;
use crate::plan::Plan;
use crate::values::{is_sealed, is_unknown};

/// The formats a result can be printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people, on a terminal.
    Text,
    /// For programs: a stable, versioned JSON document.
    Json,
    /// For pull-request comments and issues.
    Markdown,
}

/// A plan in `format` (`color` applies to text).
pub fn plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(plan, color),
        Format::Json => json::render(plan),
        Format::Markdown => markdown::render(plan, markdown::GITHUB_COMMENT_LIMIT),
    }
}

/// A drift report in `format`.
pub fn drift_report(report: &DriftReport, format: Format) -> String {
    match format {
        Format::Text => drift::text(report),
        Format::Json => drift::json(report),
        Format::Markdown => drift::markdown(report),
    }
}

/// Shows a value the way plans print it: strings quoted, sealed secrets as
/// `(sensitive value)`, unknowns as `(known after apply)`.
pub fn show(value: &Value) -> String {
    if is_sealed(value) {
        return "(sensitive value)".to_string();
    }
    if is_unknown(value) {
        return "(known after apply)".to_string();
    }
    match value {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        other => other.to_string(),
    }
}

/// As [`show`] for the attribute at `path`: `cpu` and `memory` as a stack
/// writes them (`1 vCPU`, `2 GB`), not as the API's numbers.
pub fn show_at(path: &str, value: &Value) -> String {
    let number = value.as_u64().and_then(|v| u32::try_from(v).ok());
    match (path, number) {
        ("cpu", Some(units)) => apprun_schema::units::Cpu(units).to_string(),
        ("memory", Some(mb)) => apprun_schema::units::Memory(mb).to_string(),
        _ => show(value),
    }
}

/// Flattens an attribute document into `(path, leaf)` pairs, in path order;
/// sealed and unknown markers count as leaves, empty maps are skipped.
pub fn flatten(value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    flatten_at("", value, &mut out);
    out
}

fn flatten_at(path: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !is_sealed(value) && !is_unknown(value) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten_at(&child_path, child, out);
            }
        }
        other => out.push((path.to_string(), other.clone())),
    }
}

/// Whether a value is long text better shown as a line diff (policies).
pub fn is_multiline(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::String(s)) if s.contains('\n'))
}
