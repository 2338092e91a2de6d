//! Local ARNs: stable, made-up identifiers in ARN syntax for what the Docker
//! target creates, so references (`${services.web.arn}`) work as on AWS.
//!
//! Format: `arn:apprun:docker:local:000000000000:<type>/<stack>/<key>` where
//! `<type>` is `repository`, `role`, `vpcconnector`,
//! `autoscalingconfiguration`, `observabilityconfiguration`, `connection`,
//! `service`, `customdomain` or `vpcingressconnection` and `<key>` is the
//! resource's key in its stack section (the last part of its address). Auto scaling
//! configurations add `/<revision>`: the first 12 hex digits of a SHA-256
//! over `min_size/max_size/max_concurrency`, so that new values get a new ARN
//! (App Runner gives each revision its own ARN too).
//!
//! The ARN is also the physical id. It names the address, not the physical
//! name: the address is what the Docker objects are labelled with.

use apprun_schema::Kind;
use sha2::{Digest, Sha256};

/// What every local ARN starts with.
pub const PREFIX: &str = "arn:apprun:docker:local:000000000000:";

/// The ARN resource type of a kind.
pub fn resource_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Repository => "repository",
        Kind::Role => "role",
        Kind::VpcConnector => "vpcconnector",
        Kind::AutoScaling => "autoscalingconfiguration",
        Kind::Observability => "observabilityconfiguration",
        Kind::Connection => "connection",
        Kind::Service => "service",
        Kind::Domain => "customdomain",
        Kind::VpcIngress => "vpcingressconnection",
    }
}

/// The local ARN of `<kind>.<key>` in `stack` (without a revision).
pub fn arn(kind: Kind, stack: &str, key: &str) -> String {
    format!("{PREFIX}{}/{stack}/{key}", resource_type(kind))
}

/// The local ARN of an auto scaling configuration with these values.
pub fn autoscaling_arn(stack: &str, key: &str, min: u64, max: u64, concurrency: u64) -> String {
    let digest = hex::encode(Sha256::digest(
        format!("{min}/{max}/{concurrency}").as_bytes(),
    ));
    format!("{}/{}", arn(Kind::AutoScaling, stack, key), &digest[..12])
}

/// A parsed local ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalArn {
    /// The kind.
    pub kind: Kind,
    /// The stack.
    pub stack: String,
    /// The key in the stack section (`web` of `services.web`).
    pub key: String,
}

/// Parses a local ARN; `None` for anything else (e.g. an AWS ARN).
pub fn parse(text: &str) -> Option<LocalArn> {
    let rest = text.strip_prefix(PREFIX)?;
    let mut parts = rest.split('/');
    let type_ = parts.next()?;
    let stack = parts.next()?;
    let key = parts.next()?;
    let kind = Kind::ALL.into_iter().find(|k| resource_type(*k) == type_)?;
    let revision = parts.next();
    let extra = parts.next();
    let revision_ok = match kind {
        Kind::AutoScaling => revision.is_none_or(|r| !r.is_empty()),
        _ => revision.is_none(),
    };
    (!stack.is_empty() && !key.is_empty() && revision_ok && extra.is_none()).then(|| LocalArn {
        kind,
        stack: stack.to_string(),
        key: key.to_string(),
    })
}

/// A stable 32-hex-digit id for a service (output `id`), derived from its
/// ARN (App Runner service ids are 32 hex digits too).
pub fn service_id(arn: &str) -> String {
    hex::encode(Sha256::digest(arn.as_bytes()))[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip() {
        for kind in Kind::ALL {
            let a = arn(kind, "shop", "web");
            assert_eq!(
                parse(&a),
                Some(LocalArn {
                    kind,
                    stack: "shop".into(),
                    key: "web".into()
                })
            );
        }
        let asc = autoscaling_arn("shop", "busy", 3, 10, 50);
        assert_eq!(parse(&asc).map(|a| a.kind), Some(Kind::AutoScaling));
        assert_ne!(asc, autoscaling_arn("shop", "busy", 2, 10, 50));
        assert_eq!(asc, autoscaling_arn("shop", "busy", 3, 10, 50));
    }

    #[test]
    fn foreign_or_malformed_arns_do_not_parse() {
        assert!(parse("arn:aws:apprunner:us-east-1:1:service/web/abc").is_none());
        assert!(parse(&format!("{PREFIX}service/shop")).is_none());
        assert!(parse(&format!("{PREFIX}service/shop/web/extra")).is_none());
        assert!(parse(&format!("{PREFIX}bucket/shop/web")).is_none());
        assert_eq!(service_id(&arn(Kind::Service, "s", "w")).len(), 32);
    }
}
