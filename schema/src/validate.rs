//! Rules that need the whole decoded stack: names, ranges, ARN shapes,
//! cpu/memory pairs, references and cycles. Every rule reports and goes on.

use std::collections::BTreeMap;

use miette::LabeledSpan;
use petgraph::graphmap::DiGraphMap;

use crate::decode::RawReference;
use crate::error::SchemaError;
use crate::expr;
use crate::kind::{Address, Kind};
use crate::model::*;
use crate::patterns::{self, Rule};
use crate::span::{Span, Spanned};
use crate::suggest;
use crate::units::{Cpu, Memory};

/// Checks the references recorded while decoding against the resources the
/// stack declares; returns those that resolve.
pub(crate) fn resolve_references(
    stack: &Stack,
    raw: Vec<RawReference>,
    errors: &mut Vec<SchemaError>,
) -> Vec<Reference> {
    let declared = stack.addresses();
    let mut resolved = Vec::new();
    for reference in raw {
        let to = Address::new(reference.kind, &reference.name);
        if !declared.contains(&to) {
            let same_kind: Vec<&String> = declared
                .iter()
                .filter(|a| a.kind == reference.kind)
                .map(|a| &a.name)
                .collect();
            let other_kind = declared
                .iter()
                .find(|a| a.name == reference.name)
                .map(ToString::to_string);
            let help = match (
                suggest::closest(&reference.name, same_kind.iter().copied()),
                other_kind,
            ) {
                (Some(close), _) => format!("did you mean `{}.{close}`?", reference.kind),
                (None, Some(other)) => format!(
                    "`{}` is not a {}, but `{other}` exists",
                    reference.name,
                    reference.kind.noun()
                ),
                (None, None) if same_kind.is_empty() => {
                    format!("the stack declares no {}", reference.kind.section())
                }
                (None, None) => format!(
                    "declared {}: {}",
                    reference.kind.section(),
                    same_kind
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            errors.push(SchemaError::UnknownReference {
                address: to.to_string(),
                help,
                span: reference.span.into(),
            });
            continue;
        }
        if !reference
            .kind
            .attributes()
            .contains(&reference.attribute.as_str())
        {
            errors.push(SchemaError::UnknownAttribute {
                kind: reference.kind.section().to_string(),
                attribute: reference.attribute.clone(),
                allowed: reference.kind.attributes().join(", "),
                span: reference.span.into(),
            });
            continue;
        }
        resolved.push(Reference {
            from: reference.from,
            field: reference.field,
            to,
            attribute: reference.attribute,
            span: reference.span,
        });
    }
    resolved
}

/// Runs every whole-stack rule.
pub(crate) fn validate(stack: &Stack, errors: &mut Vec<SchemaError>) {
    let mut v = Validator { stack, errors };
    v.stack_level();
    v.names();
    v.tags();
    for (name, entry) in stack.repositories.iter() {
        v.repository(name, &entry.value);
    }
    for (name, entry) in stack.roles.iter() {
        v.role(name, &entry.value);
    }
    for (name, entry) in stack.vpc_connectors.iter() {
        v.vpc_connector(name, &entry.value);
    }
    for (name, entry) in stack.autoscaling.iter() {
        v.autoscaling(name, &entry.value);
    }
    v.default_autoscaling();
    for (name, entry) in stack.observability.iter() {
        v.observability(name, &entry.value);
    }
    for (name, entry) in stack.services.iter() {
        v.service(name, &entry.value);
    }
    for (name, entry) in stack.domains.iter() {
        v.domain(name, &entry.value);
    }
    for (name, entry) in stack.vpc_ingress.iter() {
        v.vpc_ingress(name, &entry.value);
    }
    for path in crate::build_paths::paths(stack) {
        if let Some(reason) = crate::build_paths::lexical_problem(&path) {
            v.push(crate::build_paths::outside(&path, reason));
        }
    }
    v.cycles();
}

struct Validator<'a> {
    stack: &'a Stack,
    errors: &'a mut Vec<SchemaError>,
}

impl Validator<'_> {
    fn push(&mut self, error: SchemaError) {
        self.errors.push(error);
    }

    fn stack_level(&mut self) {
        let stack = self.stack;
        self.name_rule(&patterns::STACK_NAME, &stack.stack.value, stack.stack.span);
        if !patterns::REGION.matches(&stack.region.value) {
            self.push(SchemaError::InvalidFormat {
                field: "region".to_string(),
                expected: patterns::REGION.what.to_string(),
                value: stack.region.value.clone(),
                help: format!("write {}", patterns::REGION.help),
                span: stack.region.span.into(),
            });
        }
        if let Some(state) = &stack.state
            && state
                .backend
                .as_ref()
                .is_some_and(|b| b.value == StateBackend::S3)
            && state.bucket.is_none()
        {
            let span = state.backend.as_ref().map_or(Span::default(), |b| b.span);
            self.push(SchemaError::MissingField {
                field: "bucket".to_string(),
                context: "`state` with the s3 backend".to_string(),
                help: "add `bucket: my-state-bucket`".to_string(),
                span: span.into(),
            });
        }
        for (name, entry) in stack.outputs.iter() {
            if entry.value.value.value.trim().is_empty() {
                self.push(SchemaError::InvalidFormat {
                    field: format!("outputs.{name}.value"),
                    expected: "output value".to_string(),
                    value: String::new(),
                    help: "give the output a value, e.g. `${services.web.url}`".to_string(),
                    span: entry.value.value.span.into(),
                });
            }
        }
    }

    fn name_rule(&mut self, rule: &Rule, name: &str, span: Span) -> bool {
        if rule.matches(name) {
            return true;
        }
        let reason = name_reason(rule, name);
        self.push(SchemaError::InvalidName {
            what: rule.what.to_string(),
            name: name.to_string(),
            reason,
            help: format!("{} must be {}", rule.what, rule.help),
            span: span.into(),
        });
        false
    }

    /// Logical keys and physical names, and physical-name uniqueness.
    fn names(&mut self) {
        let stack = self.stack;
        let mut logical: Vec<(&String, Span)> = Vec::new();
        logical.extend(stack.variables.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.outputs.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.repositories.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.roles.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.vpc_connectors.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.autoscaling.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.observability.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.connections.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.services.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.domains.iter().map(|(k, e)| (k, e.key_span)));
        logical.extend(stack.vpc_ingress.iter().map(|(k, e)| (k, e.key_span)));
        for (key, span) in logical {
            self.name_rule(&patterns::LOGICAL_NAME, key, span);
        }

        // Physical names are checked only when the stack name itself is valid,
        // else every default name would repeat the stack name's error.
        let stack_ok = patterns::STACK_NAME.matches(&stack.stack.value);
        self.physical(
            Kind::Repository,
            &patterns::REPOSITORY_NAME,
            stack_ok,
            |r: &Repository| r.name.as_ref(),
            &stack.repositories,
        );
        self.physical(
            Kind::Role,
            &patterns::ROLE_NAME,
            stack_ok,
            |r: &Role| r.name.as_ref(),
            &stack.roles,
        );
        self.physical(
            Kind::VpcConnector,
            &patterns::VPC_CONNECTOR_NAME,
            stack_ok,
            |r: &VpcConnector| r.name.as_ref(),
            &stack.vpc_connectors,
        );
        self.physical(
            Kind::AutoScaling,
            &patterns::AUTOSCALING_NAME,
            stack_ok,
            |r: &AutoScaling| r.name.as_ref(),
            &stack.autoscaling,
        );
        self.physical(
            Kind::Observability,
            &patterns::OBSERVABILITY_NAME,
            stack_ok,
            |r: &Observability| r.name.as_ref(),
            &stack.observability,
        );
        self.physical(
            Kind::Connection,
            &patterns::CONNECTION_NAME,
            stack_ok,
            |r: &Connection| r.name.as_ref(),
            &stack.connections,
        );
        self.physical(
            Kind::Service,
            &patterns::SERVICE_NAME,
            stack_ok,
            |r: &Service| r.name.as_ref(),
            &stack.services,
        );
        self.physical(
            Kind::Domain,
            &patterns::HOSTNAME,
            true,
            |r: &Domain| Some(&r.domain),
            &stack.domains,
        );
        self.physical(
            Kind::VpcIngress,
            &patterns::VPC_INGRESS_NAME,
            stack_ok,
            |r: &VpcIngress| r.name.as_ref(),
            &stack.vpc_ingress,
        );
    }

    fn physical<V>(
        &mut self,
        kind: Kind,
        rule: &Rule,
        stack_ok: bool,
        explicit: impl Fn(&V) -> Option<&Spanned<String>>,
        map: &SpannedMap<V>,
    ) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for (key, entry) in map.iter() {
            let (name, span) = match explicit(&entry.value) {
                Some(name) => (name.value.clone(), name.span),
                None if stack_ok => (
                    kind.default_physical_name(&self.stack.stack.value, key),
                    entry.key_span,
                ),
                None => continue,
            };
            if expr::has_expr(&name) {
                self.push(SchemaError::InvalidExpression {
                    text: name,
                    reason: "a name cannot depend on another resource".to_string(),
                    span: span.into(),
                });
                continue;
            }
            let long_enough = kind != Kind::Repository || (2..=256).contains(&name.len());
            if long_enough {
                if !self.name_rule(rule, &name, span) {
                    continue;
                }
            } else {
                self.push(SchemaError::InvalidName {
                    what: rule.what.to_string(),
                    name: name.clone(),
                    reason: "must be 2-256 characters".to_string(),
                    help: format!("{} must be {}", rule.what, rule.help),
                    span: span.into(),
                });
                continue;
            }
            match seen.get(&name) {
                Some(first) => self.push(SchemaError::DuplicateName {
                    what: rule.what.to_string(),
                    name,
                    span: span.into(),
                    first_span: (*first).into(),
                }),
                None => {
                    seen.insert(name, span);
                }
            }
        }
    }

    fn tags(&mut self) {
        let stack = self.stack;
        let mut all: Vec<&StringMap> = vec![&stack.tags];
        all.extend(stack.repositories.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.roles.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.vpc_connectors.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.autoscaling.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.observability.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.connections.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.services.iter().map(|(_, e)| &e.value.tags));
        all.extend(stack.vpc_ingress.iter().map(|(_, e)| &e.value.tags));
        for tags in all {
            for (key, entry) in tags.iter() {
                let reason = if key.is_empty() || key.chars().count() > 128 {
                    Some((entry.key_span, "keys must be 1-128 characters".to_string()))
                } else if key.to_ascii_lowercase().starts_with("aws:") {
                    Some((
                        entry.key_span,
                        "the `aws:` prefix is reserved for AWS".to_string(),
                    ))
                } else if key.starts_with("apprun:") {
                    Some((
                        entry.key_span,
                        "the `apprun:` prefix is reserved for ownership tags".to_string(),
                    ))
                } else if entry.value.value.chars().count() > 256 {
                    Some((
                        entry.value.span,
                        "values must be at most 256 characters".to_string(),
                    ))
                } else {
                    None
                };
                if let Some((span, reason)) = reason {
                    self.push(SchemaError::InvalidTag {
                        key: key.clone(),
                        reason,
                        span: span.into(),
                    });
                }
            }
        }
    }

    fn range(
        &mut self,
        field: String,
        value: Option<&Spanned<i64>>,
        min: i64,
        max: i64,
        help: &str,
    ) {
        if let Some(value) = value
            && !(min..=max).contains(&value.value)
        {
            self.push(SchemaError::OutOfRange {
                field,
                value: value.value,
                min,
                max,
                help: help.to_string(),
                span: value.span.into(),
            });
        }
    }

    fn format(&mut self, field: String, rule: &Rule, value: &Spanned<String>) {
        if expr::has_expr(&value.value) || rule.matches(&value.value) {
            return;
        }
        self.push(SchemaError::InvalidFormat {
            field,
            expected: rule.what.to_string(),
            value: value.value.clone(),
            help: format!("expected {}", rule.help),
            span: value.span.into(),
        });
    }

    fn arn(&mut self, field: String, rule: &Rule, value: &Spanned<String>) {
        if expr::has_expr(&value.value) || rule.matches(&value.value) {
            return;
        }
        self.push(SchemaError::InvalidArn {
            field,
            expected: rule.what.to_string(),
            value: value.value.clone(),
            example: rule.help.to_string(),
            span: value.span.into(),
        });
    }

    fn repository(&mut self, name: &str, repo: &Repository) {
        if let Some(lifecycle) = &repo.lifecycle {
            let field = format!("repositories.{name}.lifecycle");
            self.range(
                format!("{field}.keep_last"),
                lifecycle.keep_last.as_ref(),
                1,
                10_000,
                "ECR counts images from 1",
            );
            self.range(
                format!("{field}.expire_untagged_after_days"),
                lifecycle.expire_untagged_after_days.as_ref(),
                1,
                3650,
                "ECR counts days from 1",
            );
        }
    }

    fn role(&mut self, name: &str, role: &Role) {
        for (index, policy) in role.policies.iter().enumerate() {
            let field = format!("roles.{name}.policies[{index}]");
            match policy {
                Policy::Managed(arn) => self.arn(field, &patterns::MANAGED_POLICY_ARN, arn),
                Policy::Inline(inline) => {
                    if inline.statements.is_empty() {
                        self.push(SchemaError::EmptyList {
                            field: format!("{field}.statements"),
                            help: "add a statement: `{ actions: [\"sqs:SendMessage\"], resources: [\"*\"] }`".to_string(),
                            span: inline.name.as_ref().map_or(Span::default(), |n| n.span).into(),
                        });
                    }
                    for (s, statement) in inline.statements.iter().enumerate() {
                        let field = format!("{field}.statements[{s}]");
                        if statement.actions.is_empty() {
                            self.push(SchemaError::EmptyList {
                                field: format!("{field}.actions"),
                                help: "list at least one action, e.g. `sqs:SendMessage`"
                                    .to_string(),
                                span: statement
                                    .effect
                                    .as_ref()
                                    .map_or(Span::default(), |e| e.span)
                                    .into(),
                            });
                        }
                        for (a, action) in statement.actions.iter().enumerate() {
                            self.format(
                                format!("{field}.actions[{a}]"),
                                &patterns::IAM_ACTION,
                                action,
                            );
                        }
                        for (r, resource) in statement.resources.iter().enumerate() {
                            self.format(
                                format!("{field}.resources[{r}]"),
                                &patterns::IAM_RESOURCE,
                                resource,
                            );
                        }
                    }
                }
            }
        }
    }

    fn vpc_connector(&mut self, name: &str, connector: &VpcConnector) {
        let field = format!("vpc_connectors.{name}");
        if connector.subnets.is_empty() {
            let span = self
                .stack
                .key_span(&Address::new(Kind::VpcConnector, name))
                .unwrap_or_default();
            self.push(SchemaError::EmptyList {
                field: format!("{field}.subnets"),
                help: "list the subnets App Runner sends traffic through, e.g. `[subnet-0123456789abcdef0]`".to_string(),
                span: span.into(),
            });
        }
        for (i, subnet) in connector.subnets.iter().enumerate() {
            self.format(
                format!("{field}.subnets[{i}]"),
                &patterns::SUBNET_ID,
                subnet,
            );
        }
        for (i, group) in connector.security_groups.iter().enumerate() {
            self.format(
                format!("{field}.security_groups[{i}]"),
                &patterns::SECURITY_GROUP_ID,
                group,
            );
        }
    }

    fn autoscaling(&mut self, name: &str, config: &AutoScaling) {
        let field = format!("autoscaling.{name}");
        self.range(
            format!("{field}.min_size"),
            config.min_size.as_ref(),
            1,
            25,
            "App Runner keeps 1 to 25 instances provisioned",
        );
        self.range(
            format!("{field}.max_size"),
            config.max_size.as_ref(),
            1,
            i64::from(i32::MAX),
            "App Runner needs at least one instance",
        );
        self.range(
            format!("{field}.max_concurrency"),
            config.max_concurrency.as_ref(),
            1,
            200,
            "App Runner allows 1 to 200 concurrent requests per instance",
        );
        if let (Some(min), Some(max)) = (&config.min_size, &config.max_size)
            && min.value > max.value
            && min.value >= 1
            && max.value >= 1
        {
            self.push(SchemaError::MinExceedsMax {
                context: format!("auto scaling configuration `{name}`"),
                min: min.value,
                max: max.value,
                min_span: min.span.into(),
                max_span: max.span.into(),
            });
        }
    }

    /// At most one `default: true` auto scaling configuration.
    fn default_autoscaling(&mut self) {
        // In file order, so "first" is the one written first.
        let mut defaults: Vec<Span> = self
            .stack
            .autoscaling
            .iter()
            .filter_map(|(_, entry)| entry.value.default.as_ref())
            .filter(|flag| flag.value)
            .map(|flag| flag.span)
            .collect();
        defaults.sort_by_key(|span| span.offset);
        let Some((first_span, extra)) = defaults.split_first() else {
            return;
        };
        let first_span = *first_span;
        for span in extra {
            self.push(SchemaError::TwoDefaults {
                span: (*span).into(),
                first_span: first_span.into(),
            });
        }
    }

    fn observability(&mut self, name: &str, config: &Observability) {
        if let Some(physical) = &config.name
            && physical.value == "DefaultConfiguration"
        {
            self.push(SchemaError::InvalidName {
                what: patterns::OBSERVABILITY_NAME.what.to_string(),
                name: physical.value.clone(),
                reason: "`DefaultConfiguration` is reserved by App Runner".to_string(),
                help: format!(
                    "observability.{name}: choose another name, or leave `name` out for `<stack>-{name}`"
                ),
                span: physical.span.into(),
            });
        }
    }

    fn domain(&mut self, name: &str, domain: &Domain) {
        let field = format!("domains.{name}");
        self.arn_or_reference(
            &field,
            "service",
            Some(&domain.service),
            Kind::Service,
            &patterns::SERVICE_ARN,
        );
        if let Some(zone) = &domain.route53_zone {
            self.format(
                format!("{field}.route53_zone"),
                &patterns::HOSTED_ZONE_ID,
                zone,
            );
        }
        if let Some((service, ingress)) = self.referenced_ingress(&domain.service)
            && ingress.value == Ingress::Private
        {
            self.push(SchemaError::IncompatibleSettings {
                message: format!(
                    "domains.{name}: service `{service}` has private ingress, and a custom domain needs public ingress"
                ),
                help: format!(
                    "serve the domain from a public service, or set `ingress: public` on services.{service}"
                ),
                span: domain.service.span.into(),
                label: "this service is private".to_string(),
            });
        }
    }

    fn vpc_ingress(&mut self, name: &str, connection: &VpcIngress) {
        let field = format!("vpc_ingress.{name}");
        self.arn_or_reference(
            &field,
            "service",
            Some(&connection.service),
            Kind::Service,
            &patterns::SERVICE_ARN,
        );
        self.format(format!("{field}.vpc"), &patterns::VPC_ID, &connection.vpc);
        self.format(
            format!("{field}.endpoint"),
            &patterns::VPC_ENDPOINT_ID,
            &connection.endpoint,
        );
        let Some((service, ingress)) = self.referenced_ingress(&connection.service) else {
            return;
        };
        if ingress.value != Ingress::Private {
            self.push(SchemaError::IncompatibleSettings {
                message: format!(
                    "vpc_ingress.{name}: service `{service}` is public, and a VPC ingress connection needs a private service"
                ),
                help: format!(
                    "set `ingress: private` on services.{service}, or remove this VPC ingress connection"
                ),
                span: connection.service.span.into(),
                label: "this service has public ingress".to_string(),
            });
        }
    }

    /// The service a `service:` field refers to (`${services.NAME.arn}`)
    /// and its ingress as written (`public` when not written).
    fn referenced_ingress(&self, value: &Spanned<String>) -> Option<(String, Spanned<Ingress>)> {
        let reference = self.reference_in(value)?;
        if reference.to.kind != Kind::Service {
            return None;
        }
        let service = self.stack.services.get(&reference.to.name)?;
        let ingress = service
            .ingress
            .clone()
            .unwrap_or(Spanned::new(Ingress::Public, value.span));
        Some((reference.to.name.clone(), ingress))
    }

    fn service(&mut self, name: &str, service: &Service) {
        let field = format!("services.{name}");
        self.range(
            format!("{field}.port"),
            service.port.as_ref(),
            1,
            65_535,
            "a TCP port number",
        );
        self.cpu_memory(service);
        if let Some(image) = &service.image {
            self.image(&field, image, service);
        }
        if let Some(code) = &service.code {
            self.code(&field, code);
        }
        if let Some(command) = &service.start_command {
            self.format(
                format!("{field}.start_command"),
                &patterns::SINGLE_LINE,
                command,
            );
        }
        if let Some(check) = &service.health_check {
            self.health_check(&field, check);
        }
        self.env(&field, service);
        self.role_reference(
            &field,
            "access_role",
            service.access_role.as_ref(),
            RoleKind::Access,
        );
        self.role_reference(
            &field,
            "instance_role",
            service.instance_role.as_ref(),
            RoleKind::Instance,
        );
        self.arn_or_reference(
            &field,
            "autoscaling",
            service.autoscaling.as_ref(),
            Kind::AutoScaling,
            &patterns::AUTOSCALING_ARN,
        );
        self.arn_or_reference(
            &field,
            "vpc_connector",
            service.vpc_connector.as_ref(),
            Kind::VpcConnector,
            &patterns::VPC_CONNECTOR_ARN,
        );
        self.arn_or_reference(
            &field,
            "observability",
            service.observability.as_ref(),
            Kind::Observability,
            &patterns::OBSERVABILITY_ARN,
        );
        if let Some(key) = &service.kms_key {
            self.arn(format!("{field}.kms_key"), &patterns::KMS_KEY_ARN, key);
        }
        if let (Some(ip), Some(ingress)) = (&service.ip_address_type, &service.ingress)
            && ip.value == IpAddressType::DUAL_STACK
            && ingress.value == Ingress::Private
        {
            self.push(SchemaError::IncompatibleSettings {
                message: format!("service `{name}`: DUAL_STACK needs public ingress"),
                help: "App Runner offers dual stack only on the public endpoint: use `ip_address_type: IPV4` or `ingress: public`".to_string(),
                span: ip.span.into(),
                label: "not available with private ingress".to_string(),
            });
        }
    }

    fn cpu_memory(&mut self, service: &Service) {
        let cpu = service.cpu.as_ref().map_or(Cpu::DEFAULT, |c| c.value);
        let memory = service.memory.as_ref().map_or(Memory::DEFAULT, |m| m.value);
        let allowed = cpu.allowed_memory();
        if allowed.contains(&memory) {
            return;
        }
        let span = match (&service.memory, &service.cpu) {
            (Some(memory), _) => memory.span,
            (None, Some(cpu)) => cpu.span,
            (None, None) => return,
        };
        let default_note = if service.memory.is_none() {
            " (the default)"
        } else {
            ""
        };
        self.push(SchemaError::CpuMemoryMismatch {
            cpu: cpu.to_string(),
            memory: format!("{memory}{default_note}"),
            allowed: allowed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            span: span.into(),
            cpu_span: service
                .memory
                .as_ref()
                .and(service.cpu.as_ref())
                .map(|c| c.span.into()),
        });
    }

    fn image(&mut self, field: &str, image: &Spanned<String>, service: &Service) {
        let text = &image.value;
        let references: Vec<&Reference> = self
            .stack
            .references
            .iter()
            .filter(|r| r.span.offset >= image.span.offset && r.span.end() <= image.span.end())
            .collect();
        if let Some(reference) = references.first() {
            if reference.to.kind == Kind::Repository && reference.attribute == "uri" {
                let marker = format!("${{repositories.{}.uri}}", reference.to.name);
                let suffix = text.split_once(&marker).map_or("", |(_, after)| after);
                if suffix.is_empty() {
                    self.push(SchemaError::ImageMissingTag {
                        value: text.clone(),
                        span: image.span.into(),
                    });
                } else if !expr::has_expr(suffix) && !patterns::IMAGE_TAG_SUFFIX.matches(suffix) {
                    self.push(SchemaError::InvalidFormat {
                        field: format!("{field}.image"),
                        expected: patterns::IMAGE_TAG_SUFFIX.what.to_string(),
                        value: suffix.to_string(),
                        help: format!(
                            "after the repository URI write {}",
                            patterns::IMAGE_TAG_SUFFIX.help
                        ),
                        span: image.span.into(),
                    });
                }
                if service.access_role.is_none() {
                    self.missing_access_role(field, image);
                }
            }
            return;
        }
        if expr::has_expr(text) {
            // Its references did not resolve; that is reported already.
            return;
        }
        if !patterns::IMAGE.matches(text) {
            let untagged = !text.contains(':') && !text.contains('@');
            self.push(SchemaError::InvalidFormat {
                field: format!("{field}.image"),
                expected: patterns::IMAGE.what.to_string(),
                value: text.clone(),
                help: if untagged {
                    format!("add a tag or digest, e.g. `{text}:v1`; App Runner deploys images from ECR or ECR Public only")
                } else {
                    format!("expected {}", patterns::IMAGE.help)
                },
                span: image.span.into(),
            });
            return;
        }
        let public = text.starts_with("public.ecr.aws/");
        if public {
            if let Some(auto) = &service.auto_deploy
                && auto.value
            {
                self.push(SchemaError::IncompatibleSettings {
                    message: "automatic deployment is not available for ECR Public images"
                        .to_string(),
                    help: "set `auto_deploy: false`, or push the image to a private ECR repository"
                        .to_string(),
                    span: auto.span.into(),
                    label: "ECR Public cannot auto-deploy".to_string(),
                });
            }
        } else if service.access_role.is_none() {
            self.missing_access_role(field, image);
        }
    }

    fn missing_access_role(&mut self, field: &str, image: &Spanned<String>) {
        self.push(SchemaError::IncompatibleSettings {
            message: format!("{field}: a private ECR image needs an `access_role`"),
            help: "declare a role with `kind: access` and set `access_role: ${roles.NAME.arn}`"
                .to_string(),
            span: image.span.into(),
            label: "App Runner cannot pull this image without an access role".to_string(),
        });
    }

    fn code(&mut self, field: &str, code: &CodeSource) {
        let field = format!("{field}.code");
        self.format(
            format!("{field}.repository"),
            &patterns::SOURCE_REPOSITORY,
            &code.repository,
        );
        self.arn_or_reference(
            &field,
            "connection",
            Some(&code.connection),
            Kind::Connection,
            &patterns::CONNECTION_ARN,
        );
        for (name, value) in [
            ("build_command", &code.build_command),
            ("start_command", &code.start_command),
        ] {
            if let Some(value) = value {
                self.format(format!("{field}.{name}"), &patterns::SINGLE_LINE, value);
            }
        }
        let from_api = code
            .configuration_source
            .as_ref()
            .is_none_or(|s| s.value == ConfigurationSource::Api);
        if from_api {
            let missing = [
                ("runtime", code.runtime.is_some(), "PYTHON_311"),
                (
                    "build_command",
                    code.build_command.is_some(),
                    "pip install -r requirements.txt",
                ),
                (
                    "start_command",
                    code.start_command.is_some(),
                    "python app.py",
                ),
            ];
            for (name, present, example) in missing {
                if !present {
                    self.push(SchemaError::MissingField {
                        field: name.to_string(),
                        context: format!("{field} (configuration_source api)"),
                        help: format!("add `{name}: {example}`, or set `configuration_source: repository` to read apprunner.yaml"),
                        span: code.repository.span.into(),
                    });
                }
            }
        }
    }

    fn health_check(&mut self, field: &str, check: &HealthCheck) {
        let field = format!("{field}.health_check");
        let help = "App Runner accepts 1 to 20";
        self.range(
            format!("{field}.interval"),
            check.interval.as_ref(),
            1,
            20,
            help,
        );
        self.range(
            format!("{field}.timeout"),
            check.timeout.as_ref(),
            1,
            20,
            help,
        );
        self.range(
            format!("{field}.healthy_threshold"),
            check.healthy_threshold.as_ref(),
            1,
            20,
            help,
        );
        self.range(
            format!("{field}.unhealthy_threshold"),
            check.unhealthy_threshold.as_ref(),
            1,
            20,
            help,
        );
        if let Some(path) = &check.path {
            self.format(format!("{field}.path"), &patterns::HEALTH_PATH, path);
            let tcp = check
                .protocol
                .as_ref()
                .is_none_or(|p| p.value == HealthProtocol::TCP);
            if tcp {
                self.push(SchemaError::IncompatibleSettings {
                    message: format!("{field}.path is set, but the health check protocol is TCP"),
                    help: "add `protocol: HTTP`, or remove `path`".to_string(),
                    span: path.span.into(),
                    label: "only HTTP health checks use a path".to_string(),
                });
            }
        }
    }

    fn env(&mut self, field: &str, service: &Service) {
        for (what, map) in [
            ("environment variable", &service.env),
            ("secret", &service.secrets),
        ] {
            for (key, entry) in map.iter() {
                let once = "rename it; each name is set once, in `env` or in `secrets`";
                let reason = if let Some(reason) = env_name_problem(key) {
                    let help = format!(
                        "rename the key: an environment variable name is {}",
                        patterns::ENV_NAME.help
                    );
                    Some((reason, help))
                } else if key.starts_with("AWSAPPRUNNER") {
                    Some((
                        "names starting with AWSAPPRUNNER are reserved by App Runner".to_string(),
                        once.to_string(),
                    ))
                } else if what == "secret" && service.env.contains_key(key) {
                    Some(("also set in `env`".to_string(), once.to_string()))
                } else {
                    None
                };
                if let Some((reason, help)) = reason {
                    self.push(SchemaError::InvalidEnvName {
                        what: what.to_string(),
                        name: key.escape_debug().to_string(),
                        reason,
                        help,
                        span: entry.key_span.into(),
                    });
                }
            }
        }
        for (key, entry) in service.secrets.iter() {
            self.arn(
                format!("{field}.secrets.{key}"),
                &patterns::SECRET_ARN,
                &entry.value,
            );
        }
    }

    fn reference_in(&self, value: &Spanned<String>) -> Option<&Reference> {
        self.stack
            .references
            .iter()
            .find(|r| r.span.offset >= value.span.offset && r.span.end() <= value.span.end())
    }

    fn role_reference(
        &mut self,
        field: &str,
        key: &str,
        value: Option<&Spanned<String>>,
        wanted: RoleKind,
    ) {
        let Some(value) = value else { return };
        let wanted_word = match wanted {
            RoleKind::Access => "access",
            RoleKind::Instance => "instance",
        };
        if let Some(reference) = self.reference_in(value).cloned() {
            let role = (reference.to.kind == Kind::Role)
                .then(|| self.stack.roles.get(&reference.to.name))
                .flatten();
            let found = match role {
                Some(_) if reference.attribute != "arn" => {
                    Some(format!("the role's `{}`", reference.attribute))
                }
                Some(role) if role.kind.value != wanted => Some(format!(
                    "a role of kind `{}`",
                    if role.kind.value == RoleKind::Access {
                        "access"
                    } else {
                        "instance"
                    }
                )),
                Some(_) => None,
                None => Some(format!("a {}", reference.to.kind.noun())),
            };
            if let Some(found) = found {
                self.push(SchemaError::WrongReference {
                    field: format!("{field}.{key}"),
                    expected: format!("the `arn` of a role with `kind: {wanted_word}`"),
                    reference: format!("${{{}.{}}}", reference.to, reference.attribute),
                    found,
                    help: format!("refer to `${{roles.NAME.arn}}` of a role declared with `kind: {wanted_word}`"),
                    span: reference.span.into(),
                });
            }
            return;
        }
        self.arn(format!("{field}.{key}"), &patterns::ROLE_ARN, value);
    }

    fn arn_or_reference(
        &mut self,
        field: &str,
        key: &str,
        value: Option<&Spanned<String>>,
        kind: Kind,
        rule: &Rule,
    ) {
        let Some(value) = value else { return };
        if let Some(reference) = self.reference_in(value).cloned() {
            if reference.to.kind != kind || reference.attribute != "arn" {
                self.push(SchemaError::WrongReference {
                    field: format!("{field}.{key}"),
                    expected: format!("the `arn` of {} {}", article(kind.noun()), kind.noun()),
                    reference: format!("${{{}.{}}}", reference.to, reference.attribute),
                    found: if reference.to.kind == kind {
                        format!("its `{}`", reference.attribute)
                    } else {
                        format!(
                            "{} {}",
                            article(reference.to.kind.noun()),
                            reference.to.kind.noun()
                        )
                    },
                    help: format!("refer to `${{{}.NAME.arn}}`", kind.section()),
                    span: reference.span.into(),
                });
            }
            return;
        }
        self.arn(format!("{field}.{key}"), rule, value);
    }

    /// Reports each dependency cycle once, with every reference in it.
    fn cycles(&mut self) {
        let stack = self.stack;
        let addresses = stack.addresses();
        let index: BTreeMap<&Address, usize> =
            addresses.iter().enumerate().map(|(i, a)| (a, i)).collect();
        let mut graph = DiGraphMap::<usize, ()>::new();
        for i in 0..addresses.len() {
            graph.add_node(i);
        }
        for reference in &stack.references {
            if let (Some(from), Some(to)) = (
                reference.from.as_ref().and_then(|f| index.get(f)),
                index.get(&reference.to),
            ) {
                graph.add_edge(*from, *to, ());
            }
        }
        for component in petgraph::algo::tarjan_scc(&graph) {
            let cyclic = component.len() > 1
                || component
                    .first()
                    .is_some_and(|n| graph.contains_edge(*n, *n));
            if !cyclic {
                continue;
            }
            let mut members: Vec<&Address> =
                component.iter().filter_map(|i| addresses.get(*i)).collect();
            members.sort();
            let path = cycle_path(&graph, &component, &addresses);
            let references = stack
                .references
                .iter()
                .filter(|r| {
                    r.from.as_ref().is_some_and(|f| members.contains(&f))
                        && members.contains(&&r.to)
                })
                .map(|r| {
                    let from = r.from.as_ref().map(ToString::to_string).unwrap_or_default();
                    LabeledSpan::new_with_span(Some(format!("{from} depends on {}", r.to)), r.span)
                })
                .collect();
            self.push(SchemaError::Cycle {
                cycle: path,
                references,
            });
        }
    }
}

/// Writes a cycle as `a -> b -> a`, starting from its smallest address.
fn cycle_path(graph: &DiGraphMap<usize, ()>, component: &[usize], addresses: &[Address]) -> String {
    let Some(&start) = component.iter().min() else {
        return String::new();
    };
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = graph
            .neighbors(current)
            .filter(|n| component.contains(n))
            .filter(|n| *n == start || !path.contains(n))
            .min_by_key(|n| (*n != start && path.len() < component.len(), *n));
        let Some(next) = next else { break };
        path.push(next);
        if next == start || path.len() > component.len() + 1 {
            break;
        }
        current = next;
    }
    path.iter()
        .filter_map(|i| addresses.get(*i))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// Says which part of a name breaks its rule, in words.
fn name_reason(rule: &Rule, name: &str) -> String {
    let (min, max) = match rule.what {
        "App Runner service name" | "VPC connector name" => (4, 40),
        "auto scaling configuration name" => (4, 32),
        "IAM role name" => (1, 64),
        "stack name" => (1, 32),
        "resource key" => (1, 63),
        _ => (0, usize::MAX),
    };
    let length = name.chars().count();
    if length < min {
        format!("{length} characters, at least {min} needed")
    } else if length > max {
        format!("{length} characters, at most {max} allowed")
    } else if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_".contains(*c)))
    {
        format!("`{bad}` is not allowed")
    } else {
        "must start with a letter or digit".to_string()
    }
}

/// What makes `name` unusable as an environment variable name (the
/// process environment is `NAME=value` text, so `=`, NUL and spaces would
/// change what the container sees), or `None` when it follows
/// [`patterns::ENV_NAME`].
fn env_name_problem(name: &str) -> Option<String> {
    if patterns::ENV_NAME.matches(name) {
        return None;
    }
    let Some(first) = name.chars().next() else {
        return Some("must not be empty".to_string());
    };
    if first.is_ascii_digit() {
        return Some("must not start with a digit".to_string());
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .unwrap_or(first);
    Some(match bad {
        '=' => "contains `=`, which ends a name in the process environment (the rest would become part of the value)".to_string(),
        '\0' => "contains a NUL character, which no process environment can hold".to_string(),
        c if c.is_whitespace() => "contains whitespace".to_string(),
        c => format!(
            "contains `{}`, which is not a letter, digit or `_`",
            c.escape_debug()
        ),
    })
}
