//! App Runner ARNs: building them the way the service spells them, and
//! taking them apart. Shape checks against the model's pattern live in
//! `validate`; here a well-formed ARN that names another account, region or
//! resource type simply resolves to nothing (a `ResourceNotFoundException`).

/// The account and region every ARN of this emulator carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub region: String,
    pub account_id: String,
}

impl Scope {
    fn prefix(&self) -> String {
        format!("arn:aws:apprunner:{}:{}", self.region, self.account_id)
    }

    /// `arn:aws:apprunner:<region>:<account>:service/<name>/<id>`.
    pub(crate) fn service_arn(&self, name: &str, id: &str) -> String {
        format!("{}:service/{name}/{id}", self.prefix())
    }

    /// `…:autoscalingconfiguration/<name>/<revision>/<id>`.
    pub(crate) fn auto_scaling_arn(&self, name: &str, revision: u32, id: &str) -> String {
        format!(
            "{}:autoscalingconfiguration/{name}/{revision}/{id}",
            self.prefix()
        )
    }

    /// `…:vpcconnector/<name>/<revision>/<id>`.
    pub(crate) fn vpc_connector_arn(&self, name: &str, revision: u32, id: &str) -> String {
        format!("{}:vpcconnector/{name}/{revision}/{id}", self.prefix())
    }

    /// `…:observabilityconfiguration/<name>/<revision>/<id>`.
    pub(crate) fn observability_arn(&self, name: &str, revision: u32, id: &str) -> String {
        format!(
            "{}:observabilityconfiguration/{name}/{revision}/{id}",
            self.prefix()
        )
    }

    /// `…:vpcingressconnection/<name>/<id>`.
    pub(crate) fn vpc_ingress_arn(&self, name: &str, id: &str) -> String {
        format!("{}:vpcingressconnection/{name}/{id}", self.prefix())
    }

    /// `…:connection/<name>/<id>`.
    pub(crate) fn connection_arn(&self, name: &str, id: &str) -> String {
        format!("{}:connection/{name}/{id}", self.prefix())
    }

    /// Splits an ARN of this account and region into its resource type and path.
    pub(crate) fn parse<'a>(&self, arn: &'a str) -> Option<Resource<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (_arn, _partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if service != "apprunner" || region != self.region || account != self.account_id {
            return None;
        }
        let mut path = resource.split('/');
        let kind = path.next()?;
        let segments: Vec<&str> = path.collect();
        // Service, VPC ingress connection and connection ARNs are always
        // `<kind>/<name>/<id>`.
        match (kind, segments.as_slice()) {
            ("service", [name, id]) => return Some(Resource::Service { name, id }),
            ("vpcingressconnection", [name, id]) => {
                return Some(Resource::VpcIngressConnection { name, id });
            }
            ("connection", [name, id]) => return Some(Resource::Connection { name, id }),
            ("service" | "vpcingressconnection" | "connection", _) => return None,
            _ => {}
        }
        let (name, revision, id) = match segments.as_slice() {
            [name] => (*name, None, None),
            [name, rev] => (*name, Some(rev.parse().ok()?), None),
            [name, rev, id] => (*name, Some(rev.parse().ok()?), Some(*id)),
            _ => return None,
        };
        Some(match kind {
            "autoscalingconfiguration" => Resource::AutoScaling(Revisioned { name, revision, id }),
            "vpcconnector" => Resource::VpcConnector(Revisioned { name, revision, id }),
            "observabilityconfiguration" => {
                Resource::Observability(Revisioned { name, revision, id })
            }
            _ => return None,
        })
    }
}

/// A parsed ARN of this account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource<'a> {
    Service { name: &'a str, id: &'a str },
    AutoScaling(Revisioned<'a>),
    VpcConnector(Revisioned<'a>),
    Observability(Revisioned<'a>),
    VpcIngressConnection { name: &'a str, id: &'a str },
    Connection { name: &'a str, id: &'a str },
}

/// `<name>[/<revision>[/<id>]]` of a revisioned resource's ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Revisioned<'a> {
    pub name: &'a str,
    pub revision: Option<u32>,
    pub id: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }

    #[test]
    fn round_trips_service_arns() {
        let arn = scope().service_arn("api", "0123456789abcdef0123456789abcdef");
        assert_eq!(
            scope().parse(&arn),
            Some(Resource::Service {
                name: "api",
                id: "0123456789abcdef0123456789abcdef"
            })
        );
    }

    #[test]
    fn accepts_partial_revisioned_arns() {
        let s = scope();
        let arn = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/hi";
        assert_eq!(
            s.parse(arn),
            Some(Resource::AutoScaling(Revisioned {
                name: "hi",
                revision: None,
                id: None
            }))
        );
        let arn = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/hi/3";
        assert!(matches!(
            s.parse(arn),
            Some(Resource::AutoScaling(Revisioned {
                revision: Some(3),
                ..
            }))
        ));
    }

    #[test]
    fn other_accounts_resolve_to_nothing() {
        let arn = "arn:aws:apprunner:us-east-1:999999999999:service/api/0123";
        assert_eq!(scope().parse(arn), None);
        let arn = "arn:aws:apprunner:eu-west-1:123456789012:service/api/0123";
        assert_eq!(scope().parse(arn), None);
    }
}
