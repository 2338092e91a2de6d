//! The stored document: bytes <-> [`Snapshot`], shared by every backend.
//!
//! ```text
//! {
//!   "format_version": 1,
//!   "checksum": "sha256:<64 hex digits>",
//!   "body": { "lineage": ..., "serial": ..., "digest_key": ..., "resources": [...], "pending": [...] }
//! }
//! ```
//!
//! The body is canonical JSON (keys sorted, two-space indentation, the same
//! bytes for the same snapshot) and the checksum is the SHA-256 of the body's
//! exact bytes as they appear in the file. The document ends with one
//! newline; a document without it is reported as truncated.
//!
//! [`decode`] checks, in order: not empty, valid JSON (an early end is
//! "truncated"), a known `format_version` (checked before anything else, so a
//! newer format is reported as such), the envelope, the checksum, the body,
//! then [`verify_integrity`]. It must never panic on any input and never
//! return a snapshot that fails a check. This module does no I/O.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::error::StateError;
use crate::integrity::verify_integrity;
use crate::snapshot::Snapshot;

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

const CHECKSUM_PREFIX: &str = "sha256:";

/// Encodes a snapshot as a state document. Does not check integrity (the
/// stores do, before writing).
pub fn encode(snapshot: &Snapshot, location: &str) -> Result<Vec<u8>, StateError> {
    let encode_err = |e: serde_json::Error| StateError::Encode {
        location: location.to_owned(),
        detail: e.to_string(),
    };
    let value = canonical(serde_json::to_value(snapshot).map_err(encode_err)?);
    let body = serde_json::to_string_pretty(&value).map_err(encode_err)?;
    // Indent the body to sit inside the envelope. JSON strings cannot hold a
    // raw newline, so every '\n' is between tokens.
    let body = body.replace('\n', "\n  ");
    let checksum = hex::encode(Sha256::digest(body.as_bytes()));
    Ok(format!(
        "{{\n  \"format_version\": {FORMAT_VERSION},\n  \"checksum\": \"{CHECKSUM_PREFIX}{checksum}\",\n  \"body\": {body}\n}}\n"
    )
    .into_bytes())
}

/// Sorts object keys recursively, whatever map type serde_json was built with.
fn canonical(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

/// Decodes and verifies a state document read from `location`. `backup` is
/// where the previous version is kept, if it exists; errors name it.
pub fn decode(bytes: &[u8], location: &str, backup: Option<&str>) -> Result<Snapshot, StateError> {
    let loc = || location.to_owned();
    let bak = || backup.map(str::to_owned);
    let corrupt = |detail: String| StateError::Corrupt {
        location: loc(),
        detail,
        backup: bak(),
    };
    let truncated = |detail: String| StateError::Truncated {
        location: loc(),
        detail,
        backup: bak(),
    };
    let json_err = |what: &str, e: serde_json::Error| {
        if e.is_eof() || (e.is_syntax() && error_at_end(bytes, &e)) {
            truncated(format!("{what} ends early ({e})"))
        } else {
            corrupt(format!("{what}: {e}"))
        }
    };

    if bytes.is_empty() {
        return Err(truncated("the file is empty".to_owned()));
    }

    #[derive(Deserialize)]
    struct Probe {
        format_version: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| json_err("the document", e))?;
    match probe.format_version {
        None => return Err(corrupt("format_version is missing".to_owned())),
        Some(v) => match v.as_u64() {
            Some(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(StateError::UnknownVersion {
                    location: loc(),
                    found,
                    supported: FORMAT_VERSION,
                    backup: bak(),
                });
            }
            None => {
                return Err(corrupt(format!(
                    "format_version {v} is not a version number"
                )));
            }
        },
    }
    if bytes.last() != Some(&b'\n') {
        return Err(truncated("the final newline is missing".to_owned()));
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope<'a> {
        #[allow(dead_code)]
        format_version: u64,
        checksum: String,
        #[serde(borrow)]
        body: &'a RawValue,
    }
    let envelope: Envelope<'_> =
        serde_json::from_slice(bytes).map_err(|e| json_err("the envelope", e))?;
    let recorded = envelope
        .checksum
        .strip_prefix(CHECKSUM_PREFIX)
        .filter(|h| h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| {
            corrupt(format!(
                "checksum {:?} is not sha256:<64 lowercase hex digits>",
                envelope.checksum
            ))
        })?;
    let computed = hex::encode(Sha256::digest(envelope.body.get().as_bytes()));
    if recorded != computed {
        return Err(StateError::ChecksumMismatch {
            location: loc(),
            recorded: format!("{CHECKSUM_PREFIX}{recorded}"),
            computed: format!("{CHECKSUM_PREFIX}{computed}"),
            backup: bak(),
        });
    }
    let snapshot: Snapshot =
        serde_json::from_str(envelope.body.get()).map_err(|e| json_err("the body", e))?;
    verify_integrity(&snapshot).map_err(|v| StateError::from_violation(location, bak(), v))?;
    Ok(snapshot)
}

/// Whether a syntax error points at the last byte of the input or past it,
/// as when a document is cut inside a token (`1.` of `1.5`).
fn error_at_end(bytes: &[u8], e: &serde_json::Error) -> bool {
    let line_start = if e.line() <= 1 {
        0
    } else {
        match bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(e.line() - 2)
        {
            Some((i, _)) => i + 1,
            None => return false,
        }
    };
    line_start + e.column() >= bytes.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::secret_digest::DigestKey;
    use crate::snapshot::{Lineage, Resource};

    #[test]
    fn round_trips_and_is_canonical() {
        let mut s = Snapshot::with_identity(Lineage::new("abc"), DigestKey::from_bytes([1; 32]));
        s.serial = 3;
        let mut r = Resource::new("services.web", "service");
        r.attributes = serde_json::json!({"z": 1.5, "a": [true, null, "x"]});
        s.resources.push(r);
        let a = encode(&s, "mem").unwrap();
        let b = encode(&decode(&a, "mem", None).unwrap(), "mem").unwrap();
        assert_eq!(a, b);
        assert_eq!(decode(&a, "mem", None).unwrap(), s);
        let text = String::from_utf8(a).unwrap();
        assert!(text.starts_with("{\n  \"format_version\": 1,\n  \"checksum\": \"sha256:"));
        assert!(text.ends_with("}\n}\n"));
    }
}
