//! The request log: one entry per App Runner request (operation, redacted
//! parameters, answer, fault), read by tests and benchmarks to count calls,
//! duplicates and orphans.
//!
//! Invariant: parameters are redacted before they are stored: environment
//! variables and secrets (names and values) and build/start commands never
//! reach the log, its JSON or the optional log file.

use std::fs::File;
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The members whose whole value is sensitive in the App Runner model.
const SENSITIVE_MEMBERS: &[&str] = &[
    "RuntimeEnvironmentVariables",
    "RuntimeEnvironmentSecrets",
    "BuildCommand",
    "StartCommand",
];

/// What replaces a sensitive value.
pub const REDACTED: &str = "***REDACTED***";

/// One App Runner request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// The emulator clock when the request arrived (epoch milliseconds).
    pub at_ms: u64,
    /// The operation (`CreateService`), or the raw target if unknown.
    pub operation: String,
    /// The request body with sensitive members redacted.
    pub parameters: Value,
    /// The HTTP status answered; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The error `__type` answered, if any.
    pub error: Option<String>,
    /// The fault that fired (`throttle`, `server_error`, `drop_connection`, `commit_then_drop`), if any.
    pub fault: Option<String>,
    /// Whether the request reached the handler and succeeded (state may have changed).
    pub committed: bool,
    /// The operation id the request started, if any.
    pub operation_id: Option<String>,
    /// The ARN of the resource the request created or targeted, when known.
    pub resource_arn: Option<String>,
}

/// The log, with an optional JSON-lines file mirror.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Vec<RequestLogEntry>,
    next_seq: u64,
    file: Option<File>,
}

impl RequestLog {
    pub(crate) fn new(file: Option<File>) -> Self {
        RequestLog {
            entries: Vec::new(),
            next_seq: 1,
            file,
        }
    }

    pub(crate) fn push(&mut self, mut entry: RequestLogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if let Some(file) = &mut self.file
            && let Ok(line) = serde_json::to_string(&entry)
        {
            // A full disk must not fail the request; the in-memory log stays.
            let _ = writeln!(file, "{line}");
        }
        self.entries.push(entry);
    }

    pub(crate) fn entries(&self) -> Vec<RequestLogEntry> {
        self.entries.clone()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// A copy of `value` with every sensitive member redacted.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if SENSITIVE_MEMBERS.contains(&k.as_str()) {
                        match v {
                            Value::Object(m) => {
                                Value::String(format!("{REDACTED} ({} entries)", m.len()))
                            }
                            _ => Value::String(REDACTED.to_owned()),
                        }
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_env_secrets_and_commands_everywhere() {
        let body = serde_json::json!({
            "ServiceName": "api",
            "SourceConfiguration": {"ImageRepository": {"ImageConfiguration": {
                "RuntimeEnvironmentVariables": {"TOKEN_NAME": "canary-1"},
                "RuntimeEnvironmentSecrets": {"DB": "canary-2"},
                "StartCommand": "canary-3"
            }}}
        });
        let text = redact(&body).to_string();
        for canary in ["canary-1", "canary-2", "canary-3", "TOKEN_NAME"] {
            assert!(!text.contains(canary), "{canary} leaked: {text}");
        }
        assert!(text.contains("\"api\""));
    }
}
