//! Desired state: what the stack asks for, one normalized attribute document
//! per resource.
//!
//! Normalization makes equal things compare equal: defaults are filled in
//! (`port: 8080` written or omitted is the same), cpu and memory become the
//! API's numbers (`1 vCPU` is `1024`), lists whose order carries no meaning
//! are sorted, stack tags are merged into each resource's tags. References
//! (`${roles.app.arn}`) stay as text until apply resolves them.

use std::collections::{BTreeMap, BTreeSet};

use apprun_schema::model::{
    AutoScaling, Effect, HealthProtocol, Ingress, IpAddressType, Policy, Repository, Role,
    RoleKind, Service, StringMap, TagMutability, VpcConnector,
};
use apprun_schema::{Address, Kind, Stack};
use serde_json::{Map, Value, json};

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
    let mut out: Vec<DesiredResource> = stack
        .addresses()
        .into_iter()
        .map(|address| {
            let name = physical_name(stack, &address);
            let attributes = attributes(stack, &address, &name);
            DesiredResource {
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
    let mut value = match address.kind {
        Kind::Repository => stack
            .repositories
            .get(&address.name)
            .map(|r| repository(r, tags(&r.tags))),
        Kind::Role => stack
            .roles
            .get(&address.name)
            .map(|r| role(r, tags(&r.tags))),
        Kind::VpcConnector => stack
            .vpc_connectors
            .get(&address.name)
            .map(|r| vpc_connector(r, tags(&r.tags))),
        Kind::AutoScaling => stack
            .autoscaling
            .get(&address.name)
            .map(|r| autoscaling(r, tags(&r.tags))),
        Kind::Service => stack
            .services
            .get(&address.name)
            .map(|r| service(r, tags(&r.tags))),
    }
    .unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(map) = &mut value {
        map.insert("name".to_string(), Value::String(name.to_string()));
    }
    value
}

fn merged_tags(stack: &StringMap, own: &StringMap) -> Value {
    let mut tags: BTreeMap<&str, &str> = stack
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.value.as_str()))
        .collect();
    tags.extend(
        own.iter()
            .map(|(k, v)| (k.as_str(), v.value.value.as_str())),
    );
    json!(tags)
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value);
    }
}

fn repository(repo: &Repository, tags: Value) -> Value {
    let mut map = Map::new();
    map.insert(
        "scan_on_push".into(),
        json!(repo.scan_on_push.as_ref().is_some_and(|v| v.value)),
    );
    map.insert(
        "image_tag_mutability".into(),
        json!(match repo.image_tag_mutability.as_ref().map(|m| m.value) {
            Some(TagMutability::Immutable) => "IMMUTABLE",
            _ => "MUTABLE",
        }),
    );
    if let Some(lifecycle) = &repo.lifecycle {
        let mut l = Map::new();
        insert_opt(
            &mut l,
            "keep_last",
            lifecycle.keep_last.as_ref().map(|v| json!(v.value)),
        );
        insert_opt(
            &mut l,
            "expire_untagged_after_days",
            lifecycle
                .expire_untagged_after_days
                .as_ref()
                .map(|v| json!(v.value)),
        );
        if !l.is_empty() {
            map.insert("lifecycle".into(), Value::Object(l));
        }
    }
    map.insert(
        "force_delete".into(),
        json!(repo.force_delete.as_ref().is_some_and(|v| v.value)),
    );
    map.insert("tags".into(), tags);
    Value::Object(map)
}

fn role(role: &Role, tags: Value) -> Value {
    let (kind, principal) = match role.kind.value {
        RoleKind::Access => ("access", "build.apprunner.amazonaws.com"),
        RoleKind::Instance => ("instance", "tasks.apprunner.amazonaws.com"),
    };
    let mut managed: BTreeSet<String> = BTreeSet::new();
    if role.kind.value == RoleKind::Access {
        managed.insert(ECR_ACCESS_POLICY.to_string());
    }
    let mut inline = Map::new();
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
                    Value::String(serde_json::to_string_pretty(&document).unwrap_or_default()),
                );
            }
        }
    }
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": principal }, "Action": "sts:AssumeRole" }],
    });
    let mut map = Map::new();
    map.insert("kind".into(), json!(kind));
    map.insert(
        "trust_policy".into(),
        Value::String(serde_json::to_string_pretty(&trust).unwrap_or_default()),
    );
    map.insert("managed_policies".into(), json!(managed));
    map.insert("inline_policies".into(), Value::Object(inline));
    insert_opt(
        &mut map,
        "description",
        role.description.as_ref().map(|d| json!(d.value)),
    );
    map.insert("tags".into(), tags);
    Value::Object(map)
}

fn sorted(values: &[apprun_schema::Spanned<String>]) -> Value {
    let set: BTreeSet<&str> = values.iter().map(|v| v.value.as_str()).collect();
    json!(set)
}

fn vpc_connector(connector: &VpcConnector, tags: Value) -> Value {
    json!({
        "subnets": sorted(&connector.subnets),
        "security_groups": sorted(&connector.security_groups),
        "tags": tags,
    })
}

fn autoscaling(config: &AutoScaling, tags: Value) -> Value {
    json!({
        "min_size": config.min_size.as_ref().map_or(1, |v| v.value),
        "max_size": config.max_size.as_ref().map_or(25, |v| v.value),
        "max_concurrency": config.max_concurrency.as_ref().map_or(100, |v| v.value),
        "tags": tags,
    })
}

fn service(service: &Service, tags: Value) -> Value {
    let mut map = Map::new();
    let public_image = service
        .image
        .as_ref()
        .is_some_and(|i| i.value.starts_with("public.ecr.aws/"));
    if let Some(code) = &service.code {
        map.insert("source_type".into(), json!("code"));
        let mut c = Map::new();
        c.insert("repository".into(), json!(code.repository.value));
        c.insert(
            "branch".into(),
            json!(code.branch.as_ref().map_or("main", |b| b.value.as_str())),
        );
        c.insert("connection".into(), json!(code.connection.value));
        c.insert(
            "source_directory".into(),
            json!(
                code.source_directory
                    .as_ref()
                    .map_or("/", |d| d.value.as_str())
            ),
        );
        let from_repository = code
            .configuration_source
            .as_ref()
            .is_some_and(|s| s.value == apprun_schema::model::ConfigurationSource::Repository);
        c.insert(
            "configuration_source".into(),
            json!(if from_repository { "repository" } else { "api" }),
        );
        insert_opt(
            &mut c,
            "runtime",
            code.runtime.as_ref().map(|r| json!(r.value)),
        );
        insert_opt(
            &mut c,
            "build_command",
            code.build_command.as_ref().map(|v| json!(v.value)),
        );
        insert_opt(
            &mut c,
            "start_command",
            code.start_command.as_ref().map(|v| json!(v.value)),
        );
        map.insert("code".into(), Value::Object(c));
    } else {
        map.insert("source_type".into(), json!("image"));
        insert_opt(
            &mut map,
            "image",
            service.image.as_ref().map(|i| json!(i.value)),
        );
        if let Some(build) = &service.build {
            map.insert(
                "build".into(),
                json!({
                    "context": build.context.value,
                    "dockerfile": build.dockerfile.as_ref().map_or("Dockerfile", |d| d.value.as_str()),
                }),
            );
        }
    }
    map.insert(
        "port".into(),
        json!(service.port.as_ref().map_or(8080, |p| p.value)),
    );
    map.insert(
        "cpu".into(),
        json!(
            service
                .cpu
                .as_ref()
                .map_or(apprun_schema::units::Cpu::DEFAULT, |c| c.value)
                .0
        ),
    );
    map.insert(
        "memory".into(),
        json!(
            service
                .memory
                .as_ref()
                .map_or(apprun_schema::units::Memory::DEFAULT, |m| m.value)
                .0
        ),
    );
    insert_opt(
        &mut map,
        "start_command",
        service.start_command.as_ref().map(|v| json!(v.value)),
    );
    let env: BTreeMap<&str, &str> = service
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.value.as_str()))
        .collect();
    map.insert("env".into(), json!(env));
    let secrets: BTreeMap<&str, &str> = service
        .secrets
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.value.as_str()))
        .collect();
    map.insert("secrets".into(), json!(secrets));
    let check = service.health_check.as_ref();
    let protocol = check
        .and_then(|c| c.protocol.as_ref())
        .map_or(HealthProtocol::TCP, |p| p.value);
    let number =
        |v: Option<&apprun_schema::Spanned<i64>>, default: i64| v.map_or(default, |v| v.value);
    let mut health = Map::new();
    health.insert("protocol".into(), json!(protocol));
    if protocol == HealthProtocol::HTTP {
        health.insert(
            "path".into(),
            json!(
                check
                    .and_then(|c| c.path.as_ref())
                    .map_or("/", |p| p.value.as_str())
            ),
        );
    }
    health.insert(
        "interval".into(),
        json!(number(check.and_then(|c| c.interval.as_ref()), 5)),
    );
    health.insert(
        "timeout".into(),
        json!(number(check.and_then(|c| c.timeout.as_ref()), 2)),
    );
    health.insert(
        "healthy_threshold".into(),
        json!(number(check.and_then(|c| c.healthy_threshold.as_ref()), 1)),
    );
    health.insert(
        "unhealthy_threshold".into(),
        json!(number(
            check.and_then(|c| c.unhealthy_threshold.as_ref()),
            5
        )),
    );
    map.insert("health_check".into(), Value::Object(health));
    map.insert(
        "auto_deploy".into(),
        json!(
            service
                .auto_deploy
                .as_ref()
                .map_or(!public_image, |v| v.value)
        ),
    );
    for (key, value) in [
        ("access_role", &service.access_role),
        ("instance_role", &service.instance_role),
        ("autoscaling", &service.autoscaling),
        ("vpc_connector", &service.vpc_connector),
        ("observability", &service.observability),
        ("kms_key", &service.kms_key),
    ] {
        insert_opt(&mut map, key, value.as_ref().map(|v| json!(v.value)));
    }
    map.insert(
        "ingress".into(),
        json!(match service.ingress.as_ref().map(|i| i.value) {
            Some(Ingress::Private) => "private",
            _ => "public",
        }),
    );
    map.insert(
        "ip_address_type".into(),
        json!(match service.ip_address_type.as_ref().map(|i| i.value) {
            Some(IpAddressType::DUAL_STACK) => "DUAL_STACK",
            _ => "IPV4",
        }),
    );
    map.insert(
        "paused".into(),
        json!(service.paused.as_ref().is_some_and(|p| p.value)),
    );
    map.insert("tags".into(), tags);
    Value::Object(map)
}
