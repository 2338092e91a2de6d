//! Custom domains (`domains.*`) and the `domain_name` of VPC ingress
//! connections through the provider. A domain is a front door of its own
//! ([`crate::domain`]) that forwards to the front door of the service whose
//! ARN it names and serves only the domain's `Host`.
//!
//! Outputs: `domain`, `dns_target` = `127.0.0.1:<port>`, `status` =
//! `active`, `validation_records` = `[]` (no certificate, no DNS locally)
//! and `url` = `http://127.0.0.1:<port>`.

use std::collections::BTreeMap;

use apprun_engine::attributes::{DOMAIN_ACTIVE, DomainAttributes, VpcIngressAttributes};
use apprun_engine::provider::{Applied, Observed, Progress, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use serde_json::Value;

use super::attrs::invalid;
use super::errors::to_provider_error;
use super::observe::DRIFT_ATTRIBUTE;
use super::{DockerProvider, arn};
use crate::domain::{DomainSpec, domain_hosts, valid_domain};

/// The outputs of custom domain `domain` served on `127.0.0.1:<port>`.
pub(crate) fn domain_outputs(domain: &str, port: u16) -> BTreeMap<String, Value> {
    let target = format!("127.0.0.1:{port}");
    BTreeMap::from([
        ("domain".to_string(), Value::String(domain.to_string())),
        ("dns_target".to_string(), Value::String(target.clone())),
        (
            "status".to_string(),
            Value::String(DOMAIN_ACTIVE.to_string()),
        ),
        ("validation_records".to_string(), Value::Array(Vec::new())),
        ("url".to_string(), Value::String(format!("http://{target}"))),
    ])
}

/// The address of the service of this stack whose local ARN is `service`.
fn local_service(stack: &str, service: &str) -> Option<Address> {
    arn::parse(service)
        .filter(|a| a.kind == Kind::Service && a.stack == stack)
        .map(|a| Address::new(Kind::Service, a.key))
}

/// A domain request's document, checked: its host names and its service.
struct Target {
    attributes: DomainAttributes,
    hosts: Vec<String>,
    service: Address,
}

fn target(address: &Address, stack: &str, document: &Value) -> Result<Target, ProviderError> {
    let attributes =
        DomainAttributes::from_value(document).map_err(|e| invalid(address, e.to_string()))?;
    if !valid_domain(&attributes.domain) {
        return Err(invalid(
            address,
            format!(
                "`domain` {:?} is not a host name a front door can serve (letters, digits, `-` \
                 and dots, no wildcard, no port)",
                attributes.domain
            ),
        ));
    }
    let Some(service) = local_service(stack, &attributes.service) else {
        return Err(invalid(
            address,
            format!(
                "`service` {} is not a service of this stack; on the Docker target use \
                 `${{services.<name>.arn}}`",
                attributes.service
            ),
        ));
    };
    let hosts = domain_hosts(&attributes.domain, attributes.enable_www);
    Ok(Target {
        attributes,
        hosts,
        service,
    })
}

impl DockerProvider {
    /// Creates (or brings back in line) the front door of custom domain
    /// `request` and says through progress how to reach it.
    pub(crate) async fn apply_domain(
        &self,
        request: &ResourceRequest<'_>,
        arn: &str,
    ) -> Result<Applied, ProviderError> {
        let address = request.address;
        let operation = format!("create {address}");
        let target = target(address, request.stack, request.attributes)?;
        let service = self
            .engine
            .find_front_door(request.stack, &target.service.to_string())
            .await
            .map_err(|e| to_provider_error(&operation, e))?
            .map(|(fd, _running)| fd)
            .filter(|fd| fd.port != 0)
            .ok_or_else(|| ProviderError::OperationFailed {
                what: operation.clone(),
                message: format!("{} has no front door on Docker", target.service),
                help: format!(
                    "apply {} first (`apprun apply --target docker`); the domain forwards to its \
                     front door",
                    target.service
                ),
            })?;
        let spec = DomainSpec {
            stack: request.stack.to_string(),
            address: address.to_string(),
            hosts: target.hosts.clone(),
            backend: service.backend(),
        };
        let door = self
            .engine
            .domain_up(&spec)
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        let domain = &target.attributes.domain;
        let mut also = String::new();
        if let Some(www) = target.hosts.get(1) {
            also = format!(" (and {www})");
        }
        (request.progress)(
            address,
            &format!(
                "{domain}{also} is served on 127.0.0.1:{port} for {service}; reach it with: \
                 curl -H 'Host: {domain}' http://127.0.0.1:{port}/",
                port = door.port,
                service = target.service,
            ),
        );
        Ok(Applied {
            physical_id: arn.to_string(),
            outputs: domain_outputs(domain, door.port),
        })
    }

    /// Reads custom domain `key`: `None` when its front door is gone; the
    /// record with a `docker_drift` list when the door is stopped, serves
    /// other names, or forwards to a service front door that is no longer
    /// there.
    pub(crate) async fn read_domain(
        &self,
        stack: &str,
        key: &str,
        recorded: &Value,
    ) -> Result<Option<Observed>, ProviderError> {
        let address = Address::new(Kind::Domain, key);
        let operation = format!("read {address}");
        let Some(found) = self
            .engine
            .find_domain(stack, &address.to_string())
            .await
            .map_err(|e| to_provider_error(&operation, e))?
        else {
            return Ok(None);
        };
        let attributes =
            DomainAttributes::from_value(recorded).map_err(|e| ProviderError::Invalid {
                operation: operation.clone(),
                message: format!("its state record is not valid: {e}"),
            })?;
        let mut drift = Vec::new();
        if !found.running {
            drift.push(format!(
                "the front door {} of the domain is {}",
                self.engine.front_door_name(stack, &address.to_string()),
                found.state
            ));
        }
        let hosts = domain_hosts(&attributes.domain, attributes.enable_www);
        if found.hosts != hosts {
            drift.push(format!(
                "the front door serves {} instead of {}",
                found.hosts.join(", "),
                hosts.join(", ")
            ));
        }
        if let Some(service) = local_service(stack, &attributes.service) {
            let now = self
                .engine
                .find_front_door(stack, &service.to_string())
                .await
                .map_err(|e| to_provider_error(&operation, e))?
                .map(|(fd, _)| fd.backend());
            match now {
                None => drift.push(format!(
                    "the front door of {service}, which the domain forwards to, is missing"
                )),
                Some(now) if now != found.backend => drift.push(format!(
                    "the domain forwards to {} but the front door of {service} is now {now}",
                    found.backend
                )),
                Some(_) => {}
            }
        }
        let mut observed = recorded.clone();
        if let Value::Object(map) = &mut observed {
            map.remove(DRIFT_ATTRIBUTE);
            if !drift.is_empty() {
                drift.sort();
                map.insert(
                    DRIFT_ATTRIBUTE.to_string(),
                    Value::Array(drift.into_iter().map(Value::String).collect()),
                );
            }
        }
        Ok(Some(Observed {
            attributes: observed,
            outputs: domain_outputs(&attributes.domain, found.front_door.port),
            failed: None,
        }))
    }

    /// The front door of custom domain `address` when it serves `name` (the
    /// domain: its physical name); a door of the address serving another
    /// name belongs to a predecessor, which [`DockerProvider::apply_domain`]
    /// replaces.
    pub(crate) async fn find_owned_domain(
        &self,
        stack: &str,
        address: &Address,
        name: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        let found = self
            .engine
            .find_domain(stack, &address.to_string())
            .await
            .map_err(|e| to_provider_error(&format!("find {address}"), e))?;
        let wanted = domain_hosts(name, false);
        Ok(found
            .filter(|d| !wanted.is_empty() && d.hosts.first() == wanted.first())
            .map(|d| Applied {
                physical_id: arn::arn(Kind::Domain, stack, &address.name),
                outputs: domain_outputs(name, d.front_door.port),
            }))
    }

    /// Removes custom domain `key`'s front door, then the stack network if
    /// nothing of the stack is left on it.
    pub(crate) async fn delete_domain(
        &self,
        stack: &str,
        key: &str,
        progress: &Progress,
    ) -> Result<(), ProviderError> {
        let address = Address::new(Kind::Domain, key);
        let operation = format!("delete {address}");
        let existed = self
            .engine
            .find_domain(stack, &address.to_string())
            .await
            .map_err(|e| to_provider_error(&operation, e))?
            .is_some();
        self.engine
            .remove_domain(stack, &address.to_string())
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        if existed {
            progress(&address, "removed the domain's front door");
        }
        self.engine
            .remove_stack_network_if_unused(stack)
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        Ok(())
    }

    /// The `domain_name` of a VPC ingress connection: `127.0.0.1:<port>`
    /// of its service's front door when the service is one of this
    /// engine's, else `127.0.0.1` (every local service is reachable there).
    pub(crate) async fn vpc_ingress_domain_name(
        &self,
        stack: &str,
        address: &Address,
        document: &Value,
    ) -> Result<String, ProviderError> {
        let service = VpcIngressAttributes::from_value(document)
            .ok()
            .and_then(|a| local_service(stack, &a.service));
        let port = match service {
            Some(service) => self
                .engine
                .find_front_door(stack, &service.to_string())
                .await
                .map_err(|e| to_provider_error(&format!("read {address}"), e))?
                .map(|(fd, _)| fd.port)
                .filter(|p| *p != 0),
            None => None,
        };
        Ok(match port {
            Some(port) => format!("127.0.0.1:{port}"),
            None => "127.0.0.1".to_string(),
        })
    }
}
