//! The attribute document of a custom domain (`domains.*`).

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, decode, encode};

/// A custom domain's normalized attributes. Custom domains take no tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainAttributes {
    /// The service's ARN.
    pub service: String,
    /// The host name (also the physical name).
    pub domain: String,
    /// Whether `www.<domain>` is served too.
    pub enable_www: bool,
    /// The Route 53 hosted zone apprun writes the records in; `None`: the
    /// records are printed for a person to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route53_zone: Option<String>,
}

impl Default for DomainAttributes {
    fn default() -> Self {
        DomainAttributes {
            service: String::new(),
            domain: String::new(),
            // App Runner's default.
            enable_www: true,
            route53_zone: None,
        }
    }
}

/// One DNS record a custom domain needs (a certificate validation record,
/// or the domain's own CNAME): the `validation_records` output holds a list
/// of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// The record name.
    pub name: String,
    /// The record type (`CNAME`).
    #[serde(rename = "type")]
    pub record_type: String,
    /// The record value.
    pub value: String,
}

/// The status of a domain whose certificate waits for its DNS records.
pub const DOMAIN_PENDING_VALIDATION: &str = "pending_certificate_dns_validation";
/// The status of a domain that serves traffic.
pub const DOMAIN_ACTIVE: &str = "active";

impl DomainAttributes {
    /// Reads a domain's document (a request, a record or an observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Domain, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }
}
