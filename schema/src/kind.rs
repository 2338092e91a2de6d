//! Resource kinds, their attributes, and resource addresses.

use std::fmt;

/// A kind of resource a stack can declare.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ECR repository (`repositories`).
    Repository,
    /// An IAM role (`roles`).
    Role,
    /// An App Runner VPC connector (`vpc_connectors`).
    VpcConnector,
    /// An App Runner auto scaling configuration (`autoscaling`).
    AutoScaling,
    /// An App Runner observability configuration (`observability`).
    Observability,
    /// An App Runner connection to a source code provider (`connections`).
    Connection,
    /// An App Runner service (`services`).
    Service,
    /// A custom domain associated with a service (`domains`).
    Domain,
    /// A VPC ingress connection of a private service (`vpc_ingress`).
    VpcIngress,
}

impl Kind {
    /// Every kind, in the order they appear in a stack.
    pub const ALL: [Kind; 9] = [
        Kind::Repository,
        Kind::Role,
        Kind::VpcConnector,
        Kind::AutoScaling,
        Kind::Observability,
        Kind::Connection,
        Kind::Service,
        Kind::Domain,
        Kind::VpcIngress,
    ];

    /// The stack section that declares this kind (also the first part of an
    /// address and of a reference).
    pub const fn section(self) -> &'static str {
        match self {
            Kind::Repository => "repositories",
            Kind::Role => "roles",
            Kind::VpcConnector => "vpc_connectors",
            Kind::AutoScaling => "autoscaling",
            Kind::Observability => "observability",
            Kind::Connection => "connections",
            Kind::Service => "services",
            Kind::Domain => "domains",
            Kind::VpcIngress => "vpc_ingress",
        }
    }

    /// The kind for a section name.
    pub fn from_section(section: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.section() == section)
    }

    /// A singular noun for messages ("service").
    pub const fn noun(self) -> &'static str {
        match self {
            Kind::Repository => "repository",
            Kind::Role => "role",
            Kind::VpcConnector => "VPC connector",
            Kind::AutoScaling => "auto scaling configuration",
            Kind::Observability => "observability configuration",
            Kind::Connection => "connection",
            Kind::Service => "service",
            Kind::Domain => "custom domain",
            Kind::VpcIngress => "VPC ingress connection",
        }
    }

    /// The resource type name plans print (`vpc_connector`).
    pub const fn type_name(self) -> &'static str {
        match self {
            Kind::Repository => "repository",
            Kind::Role => "role",
            Kind::VpcConnector => "vpc_connector",
            Kind::AutoScaling => "autoscaling_configuration",
            Kind::Observability => "observability_configuration",
            Kind::Connection => "connection",
            Kind::Service => "service",
            Kind::Domain => "custom_domain",
            Kind::VpcIngress => "vpc_ingress_connection",
        }
    }

    /// The attributes a reference may name, e.g. `${services.web.url}`.
    pub const fn attributes(self) -> &'static [&'static str] {
        match self {
            Kind::Repository => &["arn", "name", "uri"],
            Kind::Role => &["arn", "name"],
            Kind::VpcConnector => &["arn", "name", "revision"],
            Kind::AutoScaling => &["arn", "name", "revision"],
            Kind::Observability => &["arn", "name", "revision"],
            Kind::Connection => &["arn", "name", "status"],
            Kind::Service => &["arn", "id", "name", "url"],
            Kind::Domain => &["domain", "dns_target", "status", "validation_records"],
            Kind::VpcIngress => &["arn", "name", "domain_name"],
        }
    }

    /// The physical name used when a resource sets no `name`.
    pub fn default_physical_name(self, stack: &str, key: &str) -> String {
        let name = format!("{stack}-{key}");
        match self {
            // ECR repository names are lower case.
            Kind::Repository => name.to_ascii_lowercase(),
            _ => name,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.section())
    }
}

/// The address of a resource in a stack: `services.web`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// The kind.
    pub kind: Kind,
    /// The logical name (the key in its section).
    pub name: String,
}

impl Address {
    /// An address from a kind and a logical name.
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// Parses `section.name`.
    pub fn parse(text: &str) -> Option<Address> {
        let (section, name) = text.split_once('.')?;
        let kind = Kind::from_section(section)?;
        (!name.is_empty() && !name.contains('.')).then(|| Address::new(kind, name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.section(), self.name)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Address::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid resource address `{text}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        let address = Address::new(Kind::VpcConnector, "db");
        assert_eq!(address.to_string(), "vpc_connectors.db");
        assert_eq!(Address::parse("vpc_connectors.db"), Some(address));
        assert_eq!(Address::parse("nope.db"), None);
        assert_eq!(Address::parse("services."), None);
        assert_eq!(Address::parse("services.a.b"), None);
    }
}
