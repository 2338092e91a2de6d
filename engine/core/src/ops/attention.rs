//! What a person must still do after an apply that succeeded: the steps
//! App Runner leaves to a human (a connection's handshake in the console,
//! the DNS records of a custom domain that apprun does not write). Read
//! from the recorded outputs, so `apply` says it at the end and any later
//! command can say it again.

use apprun_state::{Resource, Snapshot};
use serde_json::Value;

use crate::attributes::{
    CONNECTION_AVAILABLE, ConnectionAttributes, DOMAIN_ACTIVE, DnsRecord, DomainAttributes,
};

/// One step left to a person, about one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionNeeded {
    /// The resource (`domains.shop`).
    pub address: String,
    /// What stands and what to do, in a sentence.
    pub message: String,
    /// DNS records to create (`CNAME name -> value`), if any.
    pub records: Vec<String>,
}

/// Every step a person must take for the resources in `state`.
pub fn actions_needed(state: &Snapshot) -> Vec<ActionNeeded> {
    state
        .resources
        .iter()
        .filter_map(|resource| match resource.kind.as_str() {
            "connections" => connection(resource),
            "domains" => domain(resource),
            _ => None,
        })
        .collect()
}

fn status(resource: &Resource) -> Option<&str> {
    resource.outputs.get("status").and_then(Value::as_str)
}

fn connection(resource: &Resource) -> Option<ActionNeeded> {
    let status = status(resource)?;
    if status == CONNECTION_AVAILABLE {
        return None;
    }
    let attributes = ConnectionAttributes::from_value(&resource.attributes).ok()?;
    let provider = match attributes.provider.as_str() {
        "BITBUCKET" => "Bitbucket",
        _ => "GitHub",
    };
    Some(ActionNeeded {
        address: resource.address.clone(),
        message: format!(
            "connection `{}` is {status}: complete the handshake in the App Runner console \
             ({provider} connections > {} > Complete handshake), then run `apprun apply` again; \
             services that build from it wait for it",
            attributes.name, attributes.name
        ),
        records: Vec::new(),
    })
}

fn domain(resource: &Resource) -> Option<ActionNeeded> {
    let status = status(resource)?;
    if status == DOMAIN_ACTIVE {
        return None;
    }
    let attributes = DomainAttributes::from_value(&resource.attributes).ok()?;
    let mut records: Vec<String> = resource
        .outputs
        .get("validation_records")
        .cloned()
        .and_then(|v| serde_json::from_value::<Vec<DnsRecord>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| format!("{} {} -> {}", r.record_type, r.name, r.value))
        .collect();
    let target = resource.outputs.get("dns_target").and_then(Value::as_str);
    if let Some(target) = target.filter(|t| !t.is_empty()) {
        records.push(format!("CNAME {} -> {target}", attributes.domain));
        if attributes.enable_www {
            records.push(format!("CNAME www.{} -> {target}", attributes.domain));
        }
    }
    let message = match &attributes.route53_zone {
        Some(zone) => format!(
            "custom domain {} is {status}: apprun wrote its records in the hosted zone {zone}; \
             the certificate validates once they resolve (run `apprun refresh` to see it)",
            attributes.domain
        ),
        None => format!(
            "custom domain {} is {status}: create these DNS records at your DNS provider, \
             then run `apprun refresh` to see it become active",
            attributes.domain
        ),
    };
    Some(ActionNeeded {
        address: resource.address.clone(),
        message,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(resources: Vec<Resource>) -> Snapshot {
        let mut snapshot = crate::ops::empty_state();
        snapshot.resources = resources;
        snapshot
    }

    fn resource(address: &str, attributes: Value, outputs: Value) -> Resource {
        let kind = address.split('.').next().unwrap_or_default();
        let mut resource = Resource::new(address, kind);
        resource.attributes = attributes;
        resource.outputs = serde_json::from_value(outputs).unwrap_or_default();
        resource
    }

    #[test]
    fn a_pending_domain_lists_its_records_and_an_active_one_nothing() {
        let pending = resource(
            "domains.shop",
            json!({"service": "arn", "domain": "shop.example.com", "enable_www": true}),
            json!({
                "status": "pending_certificate_dns_validation",
                "dns_target": "abc.us-east-1.awsapprunner.com",
                "validation_records": [
                    {"name": "_1.shop.example.com.", "type": "CNAME", "value": "_2.acm-validations.aws."}
                ]
            }),
        );
        let mut active = pending.clone();
        active.address = "domains.other".into();
        active.outputs.insert("status".into(), json!("active"));
        let actions = actions_needed(&snapshot(vec![pending, active]));
        assert_eq!(actions.len(), 1, "{actions:#?}");
        assert_eq!(actions[0].address, "domains.shop");
        assert_eq!(
            actions[0].records,
            [
                "CNAME _1.shop.example.com. -> _2.acm-validations.aws.",
                "CNAME shop.example.com -> abc.us-east-1.awsapprunner.com",
                "CNAME www.shop.example.com -> abc.us-east-1.awsapprunner.com",
            ]
        );
        assert!(actions[0].message.contains("DNS provider"));
    }

    #[test]
    fn a_connection_waiting_for_its_handshake_says_where_to_complete_it() {
        let waiting = resource(
            "connections.gh",
            json!({"provider": "GITHUB", "name": "shop-gh"}),
            json!({"status": "PENDING_HANDSHAKE", "arn": "arn"}),
        );
        let mut ready = waiting.clone();
        ready.address = "connections.ready".into();
        ready.outputs.insert("status".into(), json!("AVAILABLE"));
        let actions = actions_needed(&snapshot(vec![waiting, ready]));
        assert_eq!(actions.len(), 1, "{actions:#?}");
        assert!(actions[0].message.contains("GitHub connections > shop-gh"));
        assert!(actions[0].records.is_empty());
    }
}
