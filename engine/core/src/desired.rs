//! Desired state: what the stack asks for, one normalized attribute document
//! per resource.
//!
//! Normalization makes equal things compare equal: defaults are filled in
//! (`port: 8080` written or omitted is the same), cpu and memory become the
//! API's numbers (`1 vCPU` is `1024`), lists whose order carries no meaning
//! are sorted, stack tags are merged into each resource's tags. References
//! (`${roles.app.arn}`) stay as text until apply resolves them.
//!
//! Each document is built as its kind's typed document
//! ([`crate::attributes`], where the defaults live) and serialized.

use std::collections::{BTreeMap, BTreeSet};

use apprun_schema::model::{
    AutoScaling, CodeSource, Connection, Domain, Effect, HealthCheck, HealthProtocol, Ingress,
    IpAddressType, Observability, Policy, Repository, Role, RoleKind, Service, SourceProvider,
    StringMap, TagMutability, TracingVendor, VpcConnector, VpcIngress,
};
use apprun_schema::{Address, Kind, Stack};
use serde_json::{Value, json};

use crate::attributes::{
    self, AutoScalingAttributes, BuildAttributes, CodeAttributes, ConfigurationSource,
    ConnectionAttributes, DomainAttributes, HealthCheckAttributes, LifecycleAttributes,
    ObservabilityAttributes, RepositoryAttributes, RoleAttributes, Sensitive, ServiceAttributes,
    SourceType, TRACING_AWSXRAY, Tags, VpcConnectorAttributes, VpcIngressAttributes,
};

/// The AWS managed policy every access role gets (ECR pull).
pub const ECR_ACCESS_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess";

/// One resource as the stack declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// Its address (`services.web`).
    pub address: Address,
    /// Its physical name.
    pub name: String,
    /// Normalized attributes (a JSON object). Sensitive values are in
    /// clear here: this never leaves memory unsealed (see `sensitive`).
    pub attributes: Value,
    /// Attribute paths (dotted, e.g. `env.DB_URL`) whose values the stack
    /// builds from `sensitive: true` variables: sealed like the kind's
    /// always-sensitive paths ([`crate::values::seal_with`]).
    pub sensitive: BTreeSet<String>,
    /// The resources it references.
    pub dependencies: BTreeSet<Address>,
}

/// Builds the desired resources of a stack, in address order.
pub fn desired(stack: &Stack) -> Vec<DesiredResource> {
    let mut dependencies: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for reference in &stack.references {
        if let Some(from) = &reference.from
            && from != &reference.to
        {
            dependencies
                .entry(from.clone())
                .or_default()
                .insert(reference.to.clone());
        }
    }
    // A service that names no auto scaling configuration gets the
    // account's default when it is created: with a stack's `default: true`
    // configuration, that one. It is made default before such services
    // are created and deleted after them (App Runner refuses to delete a
    // configuration a service uses).
    if let Some((default, _)) = stack
        .autoscaling
        .iter()
        .find(|(_, entry)| entry.value.default.as_ref().is_some_and(|d| d.value))
    {
        let default = Address::new(Kind::AutoScaling, default);
        for (name, entry) in stack.services.iter() {
            if entry.value.autoscaling.is_none() {
                dependencies
                    .entry(Address::new(Kind::Service, name))
                    .or_default()
                    .insert(default.clone());
            }
        }
    }
    let mut out: Vec<DesiredResource> = stack
        .addresses()
        .into_iter()
        .map(|address| {
            let name = physical_name(stack, &address);
            let attributes = attributes(stack, &address, &name);
            let prefix = format!("{}.{}.", address.kind.section(), address.name);
            let sensitive = stack
                .sensitive_fields
                .iter()
                .filter_map(|field| field.strip_prefix(&prefix).map(str::to_string))
                .collect();
            DesiredResource {
                sensitive,
                dependencies: dependencies.remove(&address).unwrap_or_default(),
                address,
                name,
                attributes,
            }
        })
        .collect();
    out.sort_by(|a, b| a.address.cmp(&b.address));
    out
}

/// The physical name. A VPC connector without an explicit `name` gets a
/// suffix derived from its configuration: App Runner keeps one connector per
/// name and connectors are immutable, so a changed connector needs a new
/// name for the new one to exist beside the old one while services are
/// repointed (create before destroy). With an explicit name, a change must
/// delete the old connector first, which fails while services use it.
fn physical_name(stack: &Stack, address: &Address) -> String {
    let name = stack.physical_name(address).unwrap_or_default();
    if address.kind != Kind::VpcConnector {
        return name;
    }
    let Some(connector) = stack.vpc_connectors.get(&address.name) else {
        return name;
    };
    if connector.name.is_some() {
        return name;
    }
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for subnet in sorted_texts(&connector.subnets) {
        hasher.update(b"subnet\0");
        hasher.update(subnet.as_bytes());
    }
    for group in sorted_texts(&connector.security_groups) {
        hasher.update(b"sg\0");
        hasher.update(group.as_bytes());
    }
    let suffix = &hex::encode(hasher.finalize())[..8];
    // 4-40 characters: keep room for "-" and the suffix.
    let base: String = name.chars().take(40 - 9).collect();
    format!("{}-{suffix}", base.trim_end_matches(['-', '_']))
}

fn sorted_texts(values: &[apprun_schema::Spanned<String>]) -> BTreeSet<&str> {
    values.iter().map(|v| v.value.as_str()).collect()
}

fn attributes(stack: &Stack, address: &Address, name: &str) -> Value {
    let tags = |own: &StringMap| merged_tags(&stack.tags, own);
    let name = name.to_string();
    let document = match address.kind {
        Kind::Repository => stack
            .repositories
            .get(&address.name)
            .map(|r| repository(r, tags(&r.tags), name.clone()).to_value()),
        Kind::Role => stack
            .roles
            .get(&address.name)
            .map(|r| role(r, tags(&r.tags), name.clone()).to_value()),
        Kind::VpcConnector => stack
            .vpc_connectors
            .get(&address.name)
            .map(|r| vpc_connector(r, tags(&r.tags), name.clone()).to_value()),
        Kind::AutoScaling => stack
            .autoscaling
            .get(&address.name)
            .map(|r| autoscaling(r, tags(&r.tags), name.clone()).to_value()),
        Kind::Observability => stack
            .observability
            .get(&address.name)
            .map(|r| observability(r, tags(&r.tags), name.clone()).to_value()),
        Kind::Connection => stack
            .connections
            .get(&address.name)
            .map(|r| connection(r, tags(&r.tags), name.clone()).to_value()),
        Kind::Service => stack
            .services
            .get(&address.name)
            .map(|r| service(r, tags(&r.tags), name.clone()).to_value()),
        Kind::Domain => stack
            .domains
            .get(&address.name)
            .map(|r| domain(r).to_value()),
        Kind::VpcIngress => stack
            .vpc_ingress
            .get(&address.name)
            .map(|r| vpc_ingress(r, tags(&r.tags), name.clone()).to_value()),
    };
    document.unwrap_or_else(|| json!({ "name": name }))
}

fn merged_tags(stack: &StringMap, own: &StringMap) -> Tags {
    let mut tags: Tags = stack
        .iter()
        .map(|(k, v)| (k.clone(), v.value.value.clone()))
        .collect();
    tags.extend(own.iter().map(|(k, v)| (k.clone(), v.value.value.clone())));
    tags
}

fn text(value: &Option<apprun_schema::Spanned<String>>) -> Option<String> {
    value.as_ref().map(|v| v.value.clone())
}

fn sensitive(value: &Option<apprun_schema::Spanned<String>>) -> Option<Sensitive> {
    value.as_ref().map(|v| Sensitive::Clear(v.value.clone()))
}

fn repository(repo: &Repository, tags: Tags, name: String) -> RepositoryAttributes {
    let defaults = RepositoryAttributes::default();
    let lifecycle = repo
        .lifecycle
        .as_ref()
        .map(|lifecycle| LifecycleAttributes {
            keep_last: lifecycle.keep_last.as_ref().map(|v| v.value),
            expire_untagged_after_days: lifecycle
                .expire_untagged_after_days
                .as_ref()
                .map(|v| v.value),
        });
    RepositoryAttributes {
        scan_on_push: repo
            .scan_on_push
            .as_ref()
            .map_or(defaults.scan_on_push, |v| v.value),
        image_tag_mutability: match repo.image_tag_mutability.as_ref().map(|m| m.value) {
            Some(TagMutability::Immutable) => attributes::TagMutability::Immutable,
            Some(TagMutability::Mutable) => attributes::TagMutability::Mutable,
            None => defaults.image_tag_mutability,
        },
        lifecycle: lifecycle.filter(|l| !l.is_empty()),
        force_delete: repo
            .force_delete
            .as_ref()
            .map_or(defaults.force_delete, |v| v.value),
        tags,
        name,
    }
}

fn role(role: &Role, tags: Tags, name: String) -> RoleAttributes {
    let kind = match role.kind.value {
        RoleKind::Access => attributes::RoleKind::Access,
        RoleKind::Instance => attributes::RoleKind::Instance,
    };
    let mut managed: BTreeSet<String> = BTreeSet::new();
    if kind == attributes::RoleKind::Access {
        managed.insert(ECR_ACCESS_POLICY.to_string());
    }
    let mut inline = BTreeMap::new();
    for (index, policy) in role.policies.iter().enumerate() {
        match policy {
            Policy::Managed(arn) => {
                managed.insert(arn.value.clone());
            }
            Policy::Inline(policy) => {
                let name = policy
                    .name
                    .as_ref()
                    .map_or_else(|| format!("inline-{index}"), |n| n.value.clone());
                let statements: Vec<Value> = policy
                    .statements
                    .iter()
                    .map(|s| {
                        let resources: Vec<&str> = if s.resources.is_empty() {
                            vec!["*"]
                        } else {
                            s.resources.iter().map(|r| r.value.as_str()).collect()
                        };
                        json!({
                            "Effect": match s.effect.as_ref().map(|e| e.value) { Some(Effect::Deny) => "Deny", _ => "Allow" },
                            "Action": s.actions.iter().map(|a| a.value.as_str()).collect::<Vec<_>>(),
                            "Resource": resources,
                        })
                    })
                    .collect();
                let document = json!({ "Version": "2012-10-17", "Statement": statements });
                inline.insert(
                    name,
                    serde_json::to_string_pretty(&document).unwrap_or_default(),
                );
            }
        }
    }
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": kind.principal() }, "Action": "sts:AssumeRole" }],
    });
    RoleAttributes {
        kind: Some(kind),
        trust_policy: serde_json::to_string_pretty(&trust).unwrap_or_default(),
        managed_policies: managed,
        inline_policies: inline,
        description: text(&role.description),
        tags,
        name,
    }
}

fn sorted(values: &[apprun_schema::Spanned<String>]) -> BTreeSet<String> {
    values.iter().map(|v| v.value.clone()).collect()
}

fn vpc_connector(connector: &VpcConnector, tags: Tags, name: String) -> VpcConnectorAttributes {
    VpcConnectorAttributes {
        subnets: sorted(&connector.subnets),
        security_groups: sorted(&connector.security_groups),
        tags,
        name,
    }
}

fn autoscaling(config: &AutoScaling, tags: Tags, name: String) -> AutoScalingAttributes {
    let defaults = AutoScalingAttributes::default();
    AutoScalingAttributes {
        min_size: config
            .min_size
            .as_ref()
            .map_or(defaults.min_size, |v| v.value),
        max_size: config
            .max_size
            .as_ref()
            .map_or(defaults.max_size, |v| v.value),
        max_concurrency: config
            .max_concurrency
            .as_ref()
            .map_or(defaults.max_concurrency, |v| v.value),
        default: config.default.as_ref().is_some_and(|v| v.value),
        tags,
        name,
    }
}

fn observability(config: &Observability, tags: Tags, name: String) -> ObservabilityAttributes {
    ObservabilityAttributes {
        tracing: config.tracing.as_ref().map(|t| match t.value {
            TracingVendor::Awsxray => TRACING_AWSXRAY.to_string(),
        }),
        tags,
        name,
    }
}

fn connection(connection: &Connection, tags: Tags, name: String) -> ConnectionAttributes {
    ConnectionAttributes {
        provider: match connection.provider.value {
            SourceProvider::GITHUB => "GITHUB",
            SourceProvider::BITBUCKET => "BITBUCKET",
        }
        .to_string(),
        tags,
        name,
    }
}

fn domain(domain: &Domain) -> DomainAttributes {
    let defaults = DomainAttributes::default();
    DomainAttributes {
        service: domain.service.value.clone(),
        domain: domain.domain.value.clone(),
        enable_www: domain
            .enable_www
            .as_ref()
            .map_or(defaults.enable_www, |v| v.value),
        route53_zone: text(&domain.route53_zone),
    }
}

fn vpc_ingress(connection: &VpcIngress, tags: Tags, name: String) -> VpcIngressAttributes {
    VpcIngressAttributes {
        service: connection.service.value.clone(),
        vpc: connection.vpc.value.clone(),
        endpoint: connection.endpoint.value.clone(),
        tags,
        name,
    }
}

fn code(code: &CodeSource) -> CodeAttributes {
    let defaults = CodeAttributes::default();
    let from_repository = code
        .configuration_source
        .as_ref()
        .is_some_and(|s| s.value == apprun_schema::model::ConfigurationSource::Repository);
    CodeAttributes {
        repository: code.repository.value.clone(),
        branch: text(&code.branch).unwrap_or(defaults.branch),
        connection: code.connection.value.clone(),
        source_directory: text(&code.source_directory).unwrap_or(defaults.source_directory),
        configuration_source: if from_repository {
            ConfigurationSource::Repository
        } else {
            ConfigurationSource::Api
        },
        // The runtime's keyword (`PYTHON_3`), as the model writes it.
        runtime: code.runtime.as_ref().and_then(|r| {
            serde_json::to_value(r.value)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
        build_command: sensitive(&code.build_command),
        start_command: sensitive(&code.start_command),
    }
}

fn health_check(check: Option<&HealthCheck>) -> HealthCheckAttributes {
    let defaults = HealthCheckAttributes::default();
    let protocol = match check.and_then(|c| c.protocol.as_ref()).map(|p| p.value) {
        Some(HealthProtocol::HTTP) => attributes::HealthProtocol::Http,
        Some(HealthProtocol::TCP) => attributes::HealthProtocol::Tcp,
        None => defaults.protocol,
    };
    let number =
        |v: Option<&apprun_schema::Spanned<i64>>, default: i64| v.map_or(default, |v| v.value);
    HealthCheckAttributes {
        protocol,
        // The path means something for HTTP only.
        path: (protocol == attributes::HealthProtocol::Http).then(|| {
            check
                .and_then(|c| text(&c.path))
                .unwrap_or_else(|| attributes::DEFAULT_HEALTH_PATH.to_string())
        }),
        interval: number(check.and_then(|c| c.interval.as_ref()), defaults.interval),
        timeout: number(check.and_then(|c| c.timeout.as_ref()), defaults.timeout),
        healthy_threshold: number(
            check.and_then(|c| c.healthy_threshold.as_ref()),
            defaults.healthy_threshold,
        ),
        unhealthy_threshold: number(
            check.and_then(|c| c.unhealthy_threshold.as_ref()),
            defaults.unhealthy_threshold,
        ),
    }
}

fn service(service: &Service, tags: Tags, name: String) -> ServiceAttributes {
    let defaults = ServiceAttributes::default();
    let public_image = service
        .image
        .as_ref()
        .is_some_and(|i| i.value.starts_with("public.ecr.aws/"));
    // A code service has no image or build, whatever else the stack says.
    let (source_type, code, image, build) = match &service.code {
        Some(c) => (SourceType::Code, Some(code(c)), None, None),
        None => (
            SourceType::Image,
            None,
            text(&service.image),
            service.build.as_ref().map(|b| BuildAttributes {
                context: b.context.value.clone(),
                dockerfile: text(&b.dockerfile)
                    .unwrap_or_else(|| BuildAttributes::default().dockerfile),
            }),
        ),
    };
    let strings = |map: &StringMap| -> BTreeMap<String, String> {
        map.iter()
            .map(|(k, v)| (k.clone(), v.value.value.clone()))
            .collect()
    };
    ServiceAttributes {
        source_type,
        code,
        image,
        build,
        port: service.port.as_ref().map_or(defaults.port, |p| p.value),
        cpu: service.cpu.as_ref().map_or(defaults.cpu, |c| c.value),
        memory: service.memory.as_ref().map_or(defaults.memory, |m| m.value),
        start_command: sensitive(&service.start_command),
        env: strings(&service.env)
            .into_iter()
            .map(|(k, v)| (k, Sensitive::Clear(v)))
            .collect(),
        secrets: strings(&service.secrets),
        health_check: health_check(service.health_check.as_ref()),
        auto_deploy: service
            .auto_deploy
            .as_ref()
            .map_or(!public_image, |v| v.value),
        access_role: text(&service.access_role),
        instance_role: text(&service.instance_role),
        autoscaling: text(&service.autoscaling),
        vpc_connector: text(&service.vpc_connector),
        observability: text(&service.observability),
        kms_key: text(&service.kms_key),
        ingress: match service.ingress.as_ref().map(|i| i.value) {
            Some(Ingress::Private) => attributes::Ingress::Private,
            Some(Ingress::Public) => attributes::Ingress::Public,
            None => defaults.ingress,
        },
        ip_address_type: match service.ip_address_type.as_ref().map(|i| i.value) {
            Some(IpAddressType::DUAL_STACK) => attributes::IpAddressType::DualStack,
            Some(IpAddressType::IPV4) => attributes::IpAddressType::Ipv4,
            None => defaults.ip_address_type,
        },
        paused: service.paused.as_ref().map_or(defaults.paused, |p| p.value),
        tags,
        name,
    }
}
