//! One typed attribute document per kind: the exact JSON shape that
//! [`crate::desired`] produces, stores in state and shows in plans, and that
//! providers receive (references resolved) and return (normalized).
//!
//! Defaults live here and only here (each kind's `impl Default` and the
//! constants beside it): a field a document omits reads as its default, so a
//! provider never restates `port: 8080` or `1 vCPU`.
//!
//! A document deserializes whether it is a request (sensitive values in
//! clear) or a record (sensitive values sealed, see [`Sensitive`]). The
//! unknown marker of [`crate::values`] never reaches a provider: a field that
//! holds it is an [`AttributeError`]. A `null` field reads as absent, as a
//! missing document reads as all defaults.

mod autoscaling;
mod connection;
mod domain;
mod observability;
mod repository;
mod role;
mod service;
mod vpc_connector;
mod vpc_ingress;

use std::collections::BTreeMap;
use std::fmt;

use apprun_schema::Kind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::values::{is_sealed, is_unknown};

pub use autoscaling::{
    AutoScalingAttributes, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE,
};
pub use connection::{CONNECTION_AVAILABLE, ConnectionAttributes};
pub use domain::{DOMAIN_ACTIVE, DOMAIN_PENDING_VALIDATION, DnsRecord, DomainAttributes};
pub use observability::{ObservabilityAttributes, TRACING_AWSXRAY};
pub use repository::{LifecycleAttributes, RepositoryAttributes, TagMutability};
pub use role::{EMPTY_POLICY, RoleAttributes, RoleKind};
pub use service::{
    BuildAttributes, CodeAttributes, ConfigurationSource, DEFAULT_BRANCH, DEFAULT_BUILD_CONTEXT,
    DEFAULT_DOCKERFILE, DEFAULT_HEALTH_PATH, DEFAULT_HEALTHY_THRESHOLD, DEFAULT_INTERVAL,
    DEFAULT_PORT, DEFAULT_SOURCE_DIRECTORY, DEFAULT_TIMEOUT, DEFAULT_UNHEALTHY_THRESHOLD,
    HealthCheckAttributes, HealthProtocol, Ingress, IpAddressType, ServiceAttributes, SourceType,
};
pub use vpc_connector::VpcConnectorAttributes;
pub use vpc_ingress::VpcIngressAttributes;

/// Tags of a resource (stack tags merged with its own).
pub type Tags = BTreeMap<String, String>;

/// A document that does not have the shape of its kind. It names the kind,
/// the field (dotted path) and what was expected; never the value, which
/// may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} attribute `{field}` is not valid: {reason}", kind.noun())]
pub struct AttributeError {
    /// The kind whose document it is.
    pub kind: Kind,
    /// The dotted path of the field (`health_check.interval`, `env.API_KEY`);
    /// empty for the document itself.
    pub field: String,
    /// What is wrong, without the value.
    pub reason: String,
}

impl AttributeError {
    /// An error about `field` of a `kind` document.
    pub fn new(kind: Kind, field: impl Into<String>, reason: impl Into<String>) -> Self {
        AttributeError {
            kind,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A text that may be sensitive (`env` values, start and build commands):
/// in clear in desired state and in requests to a provider; in records,
/// sealed (a keyed digest, see [`crate::values::seal_with`]) when the kind
/// or the stack (a `sensitive: true` variable) says so. Its `Debug` never
/// shows either.
#[derive(Clone, PartialEq, Eq)]
pub enum Sensitive {
    /// The value in clear (in memory only).
    Clear(String),
    /// The sealed marker as stored (`{"$sensitive": "<digest>"}`).
    Sealed(Value),
}

impl Sensitive {
    /// The value in clear; `None` when sealed.
    pub fn clear(&self) -> Option<&str> {
        match self {
            Sensitive::Clear(text) => Some(text),
            Sensitive::Sealed(_) => None,
        }
    }

    /// The JSON form: the text in clear, or the sealed marker.
    pub fn to_value(&self) -> Value {
        match self {
            Sensitive::Clear(text) => Value::String(text.clone()),
            Sensitive::Sealed(marker) => marker.clone(),
        }
    }

    /// Whether this is a sealed record of the value.
    pub fn is_sealed(&self) -> bool {
        matches!(self, Sensitive::Sealed(_))
    }

    /// The value in clear, or an error naming `field` of a `kind` document
    /// when it is sealed (a provider got a record where it needs a request).
    pub fn require_clear(&self, kind: Kind, field: &str) -> Result<&str, AttributeError> {
        self.clear().ok_or_else(|| {
            AttributeError::new(
                kind,
                field,
                "is sealed, but the value is needed in clear here",
            )
        })
    }
}

impl From<&str> for Sensitive {
    fn from(text: &str) -> Self {
        Sensitive::Clear(text.to_string())
    }
}

impl From<String> for Sensitive {
    fn from(text: String) -> Self {
        Sensitive::Clear(text)
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sensitive::Clear(_) => f.write_str("<sensitive>"),
            Sensitive::Sealed(_) => f.write_str("<sealed>"),
        }
    }
}

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Sensitive::Clear(text) => serializer.serialize_str(text),
            Sensitive::Sealed(marker) => marker.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Sensitive::Clear(text)),
            marker if is_sealed(&marker) => Ok(Sensitive::Sealed(marker)),
            _ => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other("another value"),
                &"a string or a sealed value",
            )),
        }
    }
}

/// Decodes a `kind` document into `T`. `null` members read as absent and a
/// `null` document as an empty one, so defaults apply to both.
fn decode<T: DeserializeOwned>(kind: Kind, value: &Value) -> Result<T, AttributeError> {
    let document = match without_nulls(value) {
        Value::Null => Value::Object(Map::new()),
        Value::Object(map) => Value::Object(map),
        _ => {
            return Err(AttributeError::new(
                kind,
                "",
                "the document is not a JSON object",
            ));
        }
    };
    T::deserialize(&document).map_err(|error| explain::<T>(kind, &document, &error))
}

/// The JSON document of a typed one. Serializing these types cannot fail
/// (string keys only, no fallible `Serialize`), so `Null` is never seen.
fn encode<T: Serialize>(document: &T) -> Value {
    serde_json::to_value(document).unwrap_or(Value::Null)
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Turns a serde error into an [`AttributeError`]: finds the field that
/// fails (serde's message does not name it) and keeps only what was
/// expected (serde's message may quote the value).
fn explain<T: DeserializeOwned>(
    kind: Kind,
    document: &Value,
    error: &serde_json::Error,
) -> AttributeError {
    let path = locate::<T>(document);
    let message = error.to_string();
    let field = path.join(".");
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        let field = if field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        };
        return AttributeError::new(kind, field, "is missing");
    }
    let reason = match node_at(document, &path) {
        Some(v) if is_unknown(v) => "is not known until apply".to_string(),
        Some(v) if is_sealed(v) => "is sealed, but the value is needed in clear here".to_string(),
        _ => match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("expected {expected}"),
            None => "has the wrong type or value".to_string(),
        },
    };
    AttributeError::new(kind, field, reason)
}

/// The path of the member that makes `document` fail to decode as `T`:
/// descend while a document that keeps only one member of the current node
/// still fails (every member has a default, so the others are not needed).
fn locate<T: DeserializeOwned>(document: &Value) -> Vec<String> {
    let fails = |candidate: &Value| T::deserialize(candidate).is_err();
    let mut path: Vec<String> = Vec::new();
    while let Some(node) = node_at(document, &path) {
        let children: Vec<(String, Value, Value)> = match node {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    let mut only = Map::new();
                    only.insert(k.clone(), v.clone());
                    (k.clone(), v.clone(), Value::Object(only))
                })
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone(), Value::Array(vec![v.clone()])))
                .collect(),
            _ => break,
        };
        // Without any member the node still fails: a required member is
        // missing here, not one that is present.
        let empty = match node {
            Value::Array(_) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        if fails(&replace_at(document, &path, empty)) {
            break;
        }
        let culprit = children
            .into_iter()
            .find(|(_, _, only)| fails(&replace_at(document, &path, only.clone())));
        match culprit {
            // A marker is a leaf for the reader, whatever its JSON shape.
            Some((step, child, _)) => {
                path.push(step);
                if is_sealed(&child) || is_unknown(&child) {
                    break;
                }
            }
            None => break,
        }
    }
    path
}

fn node_at<'a>(document: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(document, |node, step| match node {
        Value::Object(map) => map.get(step),
        Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn replace_at(document: &Value, path: &[String], replacement: Value) -> Value {
    let Some((step, rest)) = path.split_first() else {
        return replacement;
    };
    match document {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == step {
                        replace_at(v, rest, replacement.clone())
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if i.to_string() == *step {
                        replace_at(v, rest, replacement.clone())
                    } else {
                        v.clone()
                    }
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whole numbers that may also arrive as decimal text (an output copied
/// through a reference is text).
mod number {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Other("a number"), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Other("text"), &self))
        }
    }

    /// A whole number.
    pub(super) fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_any(Whole)
    }

    /// An optional whole number (absent members never reach this).
    pub(super) fn opt_int<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        deserializer.deserialize_any(Whole).map(Some)
    }
}

/// `cpu` and `memory` as the API's numbers (cpu units, megabytes). They
/// also read from decimal text and from the API's words (`1 vCPU`, `2 GB`).
mod units {
    use std::fmt;

    use serde::de::{self, Visitor};

    struct Size<T> {
        what: &'static str,
        of: fn(u32) -> T,
        parse: fn(&str) -> Option<T>,
    }

    impl<T> Visitor<'_> for Size<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.what)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            u32::try_from(v)
                .map(self.of)
                .map_err(|_| E::invalid_value(de::Unexpected::Other("a number"), &self))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            u32::try_from(v)
                .map(self.of)
                .map_err(|_| E::invalid_value(de::Unexpected::Other("a number"), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.parse)(v).ok_or_else(|| E::invalid_value(de::Unexpected::Other("text"), &self))
        }
    }

    /// `cpu`: units (1024 = 1 vCPU).
    pub(super) mod cpu {
        use apprun_schema::units::Cpu;
        use serde::{Deserializer, Serializer};

        /// Writes the units.
        pub(in super::super) fn serialize<S: Serializer>(
            cpu: &Cpu,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_u32(cpu.0)
        }

        /// Reads units, decimal text or `1 vCPU`.
        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Cpu, D::Error> {
            deserializer.deserialize_any(super::Size {
                what: "cpu units (1024) or vCPUs (`1 vCPU`)",
                of: Cpu,
                parse: Cpu::from_api,
            })
        }
    }

    /// `memory`: megabytes.
    pub(super) mod memory {
        use apprun_schema::units::Memory;
        use serde::{Deserializer, Serializer};

        /// Writes the megabytes.
        pub(in super::super) fn serialize<S: Serializer>(
            memory: &Memory,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_u32(memory.0)
        }

        /// Reads megabytes, decimal text or `2 GB`.
        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Memory, D::Error> {
            deserializer.deserialize_any(super::Size {
                what: "megabytes (2048) or gigabytes (`2 GB`)",
                of: Memory,
                parse: Memory::from_api,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::kinds::rules;
    use apprun_state::DigestKey;
    use serde_json::json;

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let doc = json!({ "health_check": { "interval": "soon-secret" }, "port": 80 });
        let err = ServiceAttributes::from_value(&doc).unwrap_err();
        assert_eq!(err.field, "health_check.interval");
        assert_eq!(err.reason, "expected a whole number");
        assert!(!err.to_string().contains("soon-secret"), "{err}");

        let doc = json!({ "env": { "TOKEN": 12345 } });
        let err = ServiceAttributes::from_value(&doc).unwrap_err();
        assert_eq!(err.field, "env.TOKEN");
        assert!(!format!("{err} {err:?}").contains("12345"), "{err}");

        let doc = json!({ "subnets": ["subnet-1", 7] });
        let err = VpcConnectorAttributes::from_value(&doc).unwrap_err();
        assert_eq!(err.field, "subnets.1");
        assert_eq!(
            err.to_string(),
            "VPC connector attribute `subnets.1` is not valid: expected a string"
        );

        let err = RoleAttributes::from_value(&json!({ "kind": "admin-secret" })).unwrap_err();
        assert_eq!(err.field, "kind");
        assert_eq!(err.reason, "expected `access` or `instance`");

        let err = ServiceAttributes::from_value(&json!({ "image": crate::values::unknown() }))
            .unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            ("image", "is not known until apply")
        );

        let err = ServiceAttributes::from_value(&json!(["x"])).unwrap_err();
        assert_eq!(err.field, "");
    }

    #[test]
    fn records_with_sealed_values_decode_and_never_debug_print_values() {
        let key = DigestKey::from_bytes([7; 32]);
        let clear = json!({
            "env": { "A": "secret-a" },
            "start_command": "run --token x",
            "source_type": "image",
            "image": "nginx:1",
        });
        let paths = ["env.A".to_string()].into();
        let sealed = crate::values::seal_with(&rules(Kind::Service), &clear, &key, &paths);
        let request = ServiceAttributes::from_value(&clear).unwrap();
        let record = ServiceAttributes::from_value(&sealed).unwrap();
        assert_eq!(request.env["A"].clear(), Some("secret-a"));
        assert!(record.env["A"].is_sealed());
        assert!(
            record.env["A"]
                .require_clear(Kind::Service, "env.A")
                .is_err()
        );
        let debug = format!("{request:?} {record:?}");
        assert!(
            !debug.contains("secret-a") && !debug.contains("--token"),
            "{debug}"
        );
        // A record re-encodes to exactly what was stored.
        let mut again = record.to_value();
        let (Value::Object(again_map), Value::Object(sealed_map)) = (&mut again, &sealed) else {
            panic!("objects");
        };
        again_map.retain(|k, _| sealed_map.contains_key(k));
        assert_eq!(again, sealed);
    }

    /// Every document `desired` builds for the examples reads back into its
    /// typed document and re-encodes to the same JSON: the types describe
    /// the documents exactly (members, nesting, omissions).
    #[test]
    fn example_documents_round_trip_exactly() {
        let mut count = 0;
        for example in [
            "hello",
            "flask-lab",
            "private-api",
            "preview",
            "custom-domain",
        ] {
            let path = format!(
                "{}/../../examples/{example}/apprun.yaml",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(path).unwrap();
            let mut vars = apprun_schema::VarInputs::new();
            vars.set("pr", "7", apprun_schema::VarOrigin::Flag);
            if example != "preview" {
                vars = apprun_schema::VarInputs::new();
            }
            let stack = apprun_schema::load(&text, &vars).unwrap();
            for d in crate::desired::desired(&stack) {
                let again = match d.address.kind {
                    Kind::Service => {
                        ServiceAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::Role => RoleAttributes::from_value(&d.attributes).map(|a| a.to_value()),
                    Kind::Repository => {
                        RepositoryAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::VpcConnector => {
                        VpcConnectorAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::AutoScaling => {
                        AutoScalingAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::Observability => {
                        ObservabilityAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::Connection => {
                        ConnectionAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::Domain => {
                        DomainAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                    Kind::VpcIngress => {
                        VpcIngressAttributes::from_value(&d.attributes).map(|a| a.to_value())
                    }
                };
                assert_eq!(again.unwrap(), d.attributes, "{}", d.address);
                count += 1;
            }
        }
        assert!(count >= 10, "{count}");
    }

    #[test]
    fn absent_and_null_members_read_as_defaults() {
        let doc = json!({ "port": null, "cpu": "1 vCPU", "memory": "4096" });
        let s = ServiceAttributes::from_value(&doc).unwrap();
        assert_eq!(s.port, DEFAULT_PORT);
        assert_eq!(s.cpu, apprun_schema::units::Cpu(1024));
        assert_eq!(s.memory, apprun_schema::units::Memory(4096));
        assert_eq!(
            ServiceAttributes::from_value(&Value::Null).unwrap(),
            ServiceAttributes::default()
        );
        let a = AutoScalingAttributes::from_value(&json!({ "min_size": "2", "arn": "x" })).unwrap();
        assert_eq!(
            (a.min_size, a.max_size, a.max_concurrency),
            (2, DEFAULT_MAX_SIZE, DEFAULT_MAX_CONCURRENCY)
        );
    }
}
