//! Reading a stack: YAML text and variable values in, a typed [`Stack`] or
//! every problem out.

use std::collections::BTreeMap;

use crate::decode::{Decode, Decoder, Keyword, MapReader, text_map};
use crate::error::SchemaError;
use crate::kind::{Address, Kind};
use crate::model::*;
use crate::node::{self, Node, Value};
use crate::span::{Span, Spanned};
use crate::validate;

/// Where a variable value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarOrigin {
    /// `--var NAME=VALUE`.
    Flag,
    /// A `--var-file`, by path.
    File(String),
}

/// Variable values given from outside the stack file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarInputs {
    values: BTreeMap<String, (String, VarOrigin)>,
}

impl VarInputs {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a value; a later value for the same name wins (flags after files,
    /// as in Terraform).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>, origin: VarOrigin) {
        self.values.insert(name.into(), (value.into(), origin));
    }

    /// The value for a name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(value, _)| value.as_str())
    }

    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Parses and validates a stack. Returns the stack, or every problem found
/// (never just the first).
pub fn load(text: &str, inputs: &VarInputs) -> Result<Stack, Vec<SchemaError>> {
    let root = match node::parse(text) {
        Ok(root) => root,
        Err(error) => {
            let span = error.span.clamp(text.len()).into();
            return Err(vec![if error.limit {
                SchemaError::LimitExceeded {
                    message: error.message,
                    span,
                }
            } else {
                SchemaError::YamlSyntax {
                    message: error.message,
                    span,
                }
            }]);
        }
    };
    let mut d = Decoder::new(text);
    let stack = decode_stack(&root, inputs, &mut d);
    // A sensitive variable where apprun cannot seal it: report only that,
    // since other diagnostics may quote the value.
    let misplaced: Vec<SchemaError> = d
        .sensitive_uses
        .iter()
        .filter(|(field, _, _)| !sealable_field(field))
        .map(|(field, name, span)| SchemaError::SensitiveVariableHere {
            name: name.clone(),
            field: field.clone(),
            span: (*span).into(),
        })
        .collect();
    if !misplaced.is_empty() {
        return Err(sorted(misplaced));
    }
    let mut errors = d.errors;
    match stack {
        Some(mut stack) => {
            stack.references = validate::resolve_references(&stack, d.references, &mut errors);
            validate::validate(&stack, &mut errors);
            if errors.is_empty() {
                Ok(stack)
            } else {
                Err(sorted(errors))
            }
        }
        None => Err(sorted(errors)),
    }
}

/// Whether a field's value can be sealed: `env` values, start and build
/// commands, and output values.
pub(crate) fn sealable_field(field: &str) -> bool {
    let parts: Vec<&str> = field.split('.').collect();
    matches!(
        parts.as_slice(),
        ["services", _, "env", _]
            | ["services", _, "start_command"]
            | ["services", _, "code", "build_command" | "start_command"]
            | ["outputs", _, "value"]
    )
}

/// Orders diagnostics by position so they read top to bottom.
fn sorted(mut errors: Vec<SchemaError>) -> Vec<SchemaError> {
    use miette::Diagnostic;
    errors.sort_by_key(|error| {
        error
            .labels()
            .and_then(|mut labels| labels.next())
            .map_or(0, |label| label.offset())
    });
    errors
}

fn decode_stack(root: &Node, inputs: &VarInputs, d: &mut Decoder<'_>) -> Option<Stack> {
    if !matches!(root.value, Value::Map(_)) {
        d.error(SchemaError::WrongType {
            field: "the stack file".to_string(),
            expected: "a mapping".to_string(),
            found: root.value.kind_name().to_string(),
            help: "a stack starts with `stack: NAME` and `region: REGION`".to_string(),
            span: root.span.into(),
        });
        return None;
    }
    let mut m = MapReader::new(root, Span::new(0, 0), "", "the stack", d)?;
    let variables = m
        .with("variables", d, |node, _, field, d| {
            decode_variables(node, field, inputs, d)
        })
        .unwrap_or_default();
    declare_inputs(&variables, inputs, m.key_span("variables"), d);
    let stack = m.req::<Spanned<String>>("stack", "shop", d);
    let region = m.req::<Spanned<String>>("region", "us-east-1", d);
    let tags = m.with("tags", d, text_map).unwrap_or_default();
    let state = m.with("state", d, decode_state);
    let repositories = resources(&mut m, Kind::Repository, d, decode_repository);
    let roles = resources(&mut m, Kind::Role, d, decode_role);
    let vpc_connectors = resources(&mut m, Kind::VpcConnector, d, decode_vpc_connector);
    let autoscaling = resources(&mut m, Kind::AutoScaling, d, decode_autoscaling);
    let observability = resources(&mut m, Kind::Observability, d, decode_observability);
    let connections = resources(&mut m, Kind::Connection, d, decode_connection);
    let services = resources(&mut m, Kind::Service, d, decode_service);
    let domains = resources(&mut m, Kind::Domain, d, decode_domain);
    let vpc_ingress = resources(&mut m, Kind::VpcIngress, d, decode_vpc_ingress);
    d.owner = None;
    let outputs = m
        .with("outputs", d, |node, _, field, d| {
            named(node, field, d, |name, node, anchor, field, d| {
                let mut m = MapReader::new(node, anchor, field, &format!("output `{name}`"), d)?;
                let value: Option<Spanned<String>> = m.req("value", "${services.web.url}", d);
                let description = m.opt("description", d);
                let sensitive: Option<Spanned<bool>> = m.opt("sensitive", d);
                m.finish(d);
                // An output built from a sensitive variable is sensitive.
                let sensitive = match &value {
                    Some(value) if d.is_sensitive_field(&format!("{field}.value")) => {
                        Some(Spanned::new(true, value.span))
                    }
                    _ => sensitive,
                };
                Some(Output {
                    value: value?,
                    description,
                    sensitive,
                })
            })
        })
        .unwrap_or_default();
    m.finish(d);
    Some(Stack {
        stack: stack?,
        region: region?,
        variables,
        tags,
        state,
        repositories,
        roles,
        vpc_connectors,
        autoscaling,
        observability,
        connections,
        services,
        domains,
        vpc_ingress,
        outputs,
        references: Vec::new(),
        sensitive_fields: d.sensitive_fields.clone(),
    })
}

fn decode_variables(
    node: &Node,
    field: &str,
    inputs: &VarInputs,
    d: &mut Decoder<'_>,
) -> Option<SpannedMap<Variable>> {
    named(node, field, d, |name, node, anchor, field, d| {
        let mut m = MapReader::new(node, anchor, field, &format!("variable `{name}`"), d)?;
        // Defaults are literal: no expressions inside them.
        let default = m.with("default", d, |node, _, field, d| match &node.value {
            Value::Str(text) => Some(Spanned::new(crate::expr::escape(text), node.span)),
            _ => crate::decode::Text::decode(node, field, d).map(|text| text.0),
        });
        let description = m.opt("description", d);
        let sensitive: Option<Spanned<bool>> = m.opt("sensitive", d);
        m.finish(d);
        let value = inputs
            .get(name)
            .map(crate::expr::escape)
            .or_else(|| default.as_ref().map(|default| default.value.clone()));
        let value = value.map(|value| crate::expr::resolve(&value, |_| None).unwrap_or(value));
        if value.is_none() {
            d.error(SchemaError::MissingVariable {
                name: name.to_string(),
                span: anchor.into(),
            });
        }
        Some(Variable {
            default,
            description,
            sensitive,
            value,
        })
    })
}

/// Declares the variables to the decoder and reports values given for
/// variables the stack does not declare.
fn declare_inputs(
    variables: &SpannedMap<Variable>,
    inputs: &VarInputs,
    section: Option<Span>,
    d: &mut Decoder<'_>,
) {
    for (name, entry) in variables.iter() {
        d.declare_variable(name, entry.value.value.clone());
        if entry.value.sensitive.as_ref().is_some_and(|s| s.value) {
            d.declare_sensitive(name);
        }
    }
    for (name, (_, origin)) in &inputs.values {
        if variables.contains_key(name) {
            continue;
        }
        let from = match origin {
            VarOrigin::Flag => format!("`--var {name}=...`"),
            VarOrigin::File(path) => format!("the var file `{path}`"),
        };
        let help = match crate::suggest::closest(name, variables.keys()) {
            Some(close) => format!("{from} sets `{name}`; did you mean `{close}`?"),
            None => {
                format!("{from} sets `{name}`, which the stack does not declare under `variables`")
            }
        };
        d.error(SchemaError::UndeclaredVariable {
            name: name.clone(),
            help,
            span: section.map(Into::into),
        });
    }
}

/// Reads a mapping of named entries with a reader per entry.
fn named<V>(
    node: &Node,
    field: &str,
    d: &mut Decoder<'_>,
    mut read: impl FnMut(&str, &Node, Span, &str, &mut Decoder<'_>) -> Option<V>,
) -> Option<SpannedMap<V>> {
    let entries = match &node.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Null => &[],
        _ => {
            d.error(SchemaError::WrongType {
                field: field.to_string(),
                expected: "a mapping".to_string(),
                found: node.value.kind_name().to_string(),
                help: "write one `NAME:` entry per item, indented under the key".to_string(),
                span: node.span.into(),
            });
            return None;
        }
    };
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        let name = match &key.value {
            Value::Str(text) => text.clone(),
            _ => {
                d.error(SchemaError::WrongType {
                    field: format!("a name in {field}"),
                    expected: "a name".to_string(),
                    found: key.value.kind_name().to_string(),
                    help: "names are letters, digits, `-` and `_`".to_string(),
                    span: key.span.into(),
                });
                continue;
            }
        };
        let path = format!("{field}.{name}");
        if let Some(value) = read(&name, value, key.span, &path, d) {
            map.insert(
                name,
                Entry {
                    key_span: key.span,
                    value,
                },
            );
        }
    }
    Some(SpannedMap(map))
}

/// Reads one resource section.
fn resources<V>(
    m: &mut MapReader<'_>,
    kind: Kind,
    d: &mut Decoder<'_>,
    mut read: impl FnMut(&str, &Node, Span, &str, &mut Decoder<'_>) -> Option<V>,
) -> SpannedMap<V> {
    let section = kind.section();
    m.with(section, d, |node, _, field, d| {
        named(node, field, d, |name, node, anchor, field, d| {
            d.owner = Some(Address::new(kind, name));
            read(name, node, anchor, field, d)
        })
    })
    .unwrap_or_default()
}

fn decode_state(
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<StateConfig> {
    let mut m = MapReader::new(node, anchor, field, "`state`", d)?;
    let config = StateConfig {
        backend: m.opt("backend", d),
        path: m.opt("path", d),
        bucket: m.opt("bucket", d),
        key: m.opt("key", d),
        region: m.opt("region", d),
    };
    m.finish(d);
    Some(config)
}

fn decode_repository(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Repository> {
    let mut m = MapReader::new(node, anchor, field, &format!("repository `{name}`"), d)?;
    let repository = Repository {
        name: m.opt("name", d),
        scan_on_push: m.opt("scan_on_push", d),
        image_tag_mutability: m.opt("image_tag_mutability", d),
        lifecycle: m.with("lifecycle", d, |node, anchor, field, d| {
            let mut m = MapReader::new(node, anchor, field, "`lifecycle`", d)?;
            let lifecycle = Lifecycle {
                keep_last: m.opt("keep_last", d),
                expire_untagged_after_days: m.opt("expire_untagged_after_days", d),
            };
            m.finish(d);
            Some(lifecycle)
        }),
        force_delete: m.opt("force_delete", d),
        tags: m.with("tags", d, text_map).unwrap_or_default(),
    };
    m.finish(d);
    Some(repository)
}

fn decode_role(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Role> {
    let mut m = MapReader::new(node, anchor, field, &format!("role `{name}`"), d)?;
    let physical = m.opt("name", d);
    let kind = m.req("kind", "access  # or instance", d);
    let policies = m
        .with("policies", d, |node, _, field, d| {
            let Value::Seq(items) = &node.value else {
                let found = node.value.kind_name().to_string();
                d.error(SchemaError::WrongType {
                    field: field.to_string(),
                    expected: "a list".to_string(),
                    found,
                    help: "list managed policy ARNs and `{ statements: [...] }` blocks".to_string(),
                    span: node.span.into(),
                });
                return None;
            };
            Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| {
                        decode_policy(item, &format!("{field}[{index}]"), d)
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    let description = m.opt("description", d);
    let tags = m.with("tags", d, text_map).unwrap_or_default();
    m.finish(d);
    Some(Role {
        name: physical,
        kind: kind?,
        policies,
        description,
        tags,
    })
}

fn decode_policy(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Policy> {
    match &node.value {
        Value::Str(_) => Spanned::<String>::decode(node, field, d).map(Policy::Managed),
        Value::Map(_) => {
            let mut m = MapReader::new(node, node.span, field, "an inline policy", d)?;
            let name = m.opt("name", d);
            let statements = m.req(
                "statements",
                "[{ actions: [\"s3:GetObject\"], resources: [\"*\"] }]",
                d,
            );
            m.finish(d);
            Some(Policy::Inline(InlinePolicy {
                name,
                statements: statements?,
            }))
        }
        _ => {
            d.error(SchemaError::WrongType {
                field: field.to_string(),
                expected: "a policy ARN or an inline policy".to_string(),
                found: node.value.kind_name().to_string(),
                help: "write a managed policy ARN, or `{ statements: [...] }`".to_string(),
                span: node.span.into(),
            });
            None
        }
    }
}

impl Decode for Statement {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let mut m = MapReader::new(node, node.span, field, "a policy statement", d)?;
        let effect = m.opt("effect", d);
        let actions = m.req("actions", "[\"sqs:SendMessage\"]", d);
        let resources = m.opt_or_default("resources", d);
        m.finish(d);
        Some(Statement {
            effect,
            actions: actions?,
            resources,
        })
    }
}

fn decode_vpc_connector(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<VpcConnector> {
    let mut m = MapReader::new(node, anchor, field, &format!("VPC connector `{name}`"), d)?;
    let physical = m.opt("name", d);
    let subnets = m.req("subnets", "[subnet-0123456789abcdef0]", d);
    let security_groups = m.opt_or_default("security_groups", d);
    let tags = m.with("tags", d, text_map).unwrap_or_default();
    m.finish(d);
    Some(VpcConnector {
        name: physical,
        subnets: subnets?,
        security_groups,
        tags,
    })
}

fn decode_autoscaling(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<AutoScaling> {
    let mut m = MapReader::new(
        node,
        anchor,
        field,
        &format!("auto scaling configuration `{name}`"),
        d,
    )?;
    let config = AutoScaling {
        name: m.opt("name", d),
        min_size: m.opt("min_size", d),
        max_size: m.opt("max_size", d),
        max_concurrency: m.opt("max_concurrency", d),
        default: m.opt("default", d),
        tags: m.with("tags", d, text_map).unwrap_or_default(),
    };
    m.finish(d);
    Some(config)
}

fn decode_observability(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Observability> {
    let what = format!("observability configuration `{name}`");
    let mut m = MapReader::new(node, anchor, field, &what, d)?;
    let config = Observability {
        name: m.opt("name", d),
        tracing: m.opt("tracing", d),
        tags: m.with("tags", d, text_map).unwrap_or_default(),
    };
    m.finish(d);
    Some(config)
}

fn decode_connection(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Connection> {
    let mut m = MapReader::new(node, anchor, field, &format!("connection `{name}`"), d)?;
    let physical = m.opt("name", d);
    let provider = m.req("provider", "GITHUB", d);
    let tags = m.with("tags", d, text_map).unwrap_or_default();
    m.finish(d);
    Some(Connection {
        name: physical,
        provider: provider?,
        tags,
    })
}

fn decode_domain(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Domain> {
    let mut m = MapReader::new(node, anchor, field, &format!("custom domain `{name}`"), d)?;
    let service = m.req("service", "${services.web.arn}", d);
    let domain = m.req("domain", "shop.example.com", d);
    let enable_www = m.opt("enable_www", d);
    let route53_zone = m.opt("route53_zone", d);
    m.finish(d);
    Some(Domain {
        service: service?,
        domain: domain?,
        enable_www,
        route53_zone,
    })
}

fn decode_vpc_ingress(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<VpcIngress> {
    let what = format!("VPC ingress connection `{name}`");
    let mut m = MapReader::new(node, anchor, field, &what, d)?;
    let physical = m.opt("name", d);
    let service = m.req("service", "${services.api.arn}", d);
    let vpc = m.req("vpc", "vpc-0123456789abcdef0", d);
    let endpoint = m.req("endpoint", "vpce-0123456789abcdef0", d);
    let tags = m.with("tags", d, text_map).unwrap_or_default();
    m.finish(d);
    Some(VpcIngress {
        name: physical,
        service: service?,
        vpc: vpc?,
        endpoint: endpoint?,
        tags,
    })
}

fn decode_service(
    name: &str,
    node: &Node,
    anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<Service> {
    let mut m = MapReader::new(node, anchor, field, &format!("service `{name}`"), d)?;
    let service = Service {
        name: m.opt("name", d),
        image: m.opt("image", d),
        code: m.with("code", d, decode_code),
        build: m.with("build", d, |node, anchor, field, d| {
            let mut m = MapReader::new(node, anchor, field, "`build`", d)?;
            let context = m.req("context", "./app", d);
            let dockerfile = m.opt("dockerfile", d);
            m.finish(d);
            Some(BuildSource {
                context: context?,
                dockerfile,
            })
        }),
        port: m.opt("port", d),
        cpu: m.opt("cpu", d),
        memory: m.opt("memory", d),
        start_command: m.opt("start_command", d),
        env: m.with("env", d, text_map).unwrap_or_default(),
        secrets: m.opt_or_default("secrets", d),
        health_check: m.with("health_check", d, |node, anchor, field, d| {
            let mut m = MapReader::new(node, anchor, field, "`health_check`", d)?;
            let check = HealthCheck {
                protocol: m.opt("protocol", d),
                path: m.opt("path", d),
                interval: m.opt("interval", d),
                timeout: m.opt("timeout", d),
                healthy_threshold: m.opt("healthy_threshold", d),
                unhealthy_threshold: m.opt("unhealthy_threshold", d),
            };
            m.finish(d);
            Some(check)
        }),
        auto_deploy: m.opt("auto_deploy", d),
        access_role: m.opt("access_role", d),
        instance_role: m.opt("instance_role", d),
        autoscaling: m.opt("autoscaling", d),
        vpc_connector: m.opt("vpc_connector", d),
        ingress: m.opt("ingress", d),
        ip_address_type: m.opt("ip_address_type", d),
        observability: m.opt("observability", d),
        kms_key: m.opt("kms_key", d),
        paused: m.opt("paused", d),
        tags: m.with("tags", d, text_map).unwrap_or_default(),
    };
    let image_key = m.key_span("image");
    let code_key = m.key_span("code");
    // `build:` alone is a source on the Docker target; the AWS target says
    // at plan time that it needs `image` (`crate::targets::aws`).
    let build_key = m.key_span("build");
    match (image_key, code_key) {
        (Some(image), Some(code)) => d.error(SchemaError::ConflictingFields {
            context: format!("service `{name}`"),
            first: "image".to_string(),
            second: "code".to_string(),
            help: "a service is built from an image or from source code, not both; keep one"
                .to_string(),
            first_span: image.into(),
            second_span: code.into(),
        }),
        (None, None) if build_key.is_none() => d.error(SchemaError::MissingSource {
            service: name.to_string(),
            span: m.anchor().into(),
        }),
        _ => {}
    }
    m.finish(d);
    Some(service)
}

fn decode_code(node: &Node, anchor: Span, field: &str, d: &mut Decoder<'_>) -> Option<CodeSource> {
    let mut m = MapReader::new(node, anchor, field, "`code`", d)?;
    let repository = m.req("repository", "https://github.com/org/repo", d);
    let branch = m.opt("branch", d);
    let connection = m.req(
        "connection",
        "arn:aws:apprunner:us-east-1:111122223333:connection/github/0123456789abcdef0123456789abcdef",
        d,
    );
    let code = CodeSource {
        repository: repository?,
        branch,
        connection: connection?,
        source_directory: m.opt("source_directory", d),
        configuration_source: m.opt("configuration_source", d),
        runtime: m.opt("runtime", d),
        build_command: m.opt("build_command", d),
        start_command: m.opt("start_command", d),
    };
    m.finish(d);
    Some(code)
}

macro_rules! keywords {
    ($ty:ty { $($word:literal => $value:expr),+ $(,)? }) => {
        impl Keyword for $ty {
            const WORDS: &'static [(&'static str, Self)] = &[$(($word, $value)),+];
        }
    };
}

keywords!(StateBackend { "local" => StateBackend::Local, "s3" => StateBackend::S3 });
keywords!(TagMutability { "MUTABLE" => TagMutability::Mutable, "IMMUTABLE" => TagMutability::Immutable });
keywords!(RoleKind { "access" => RoleKind::Access, "instance" => RoleKind::Instance });
keywords!(Effect { "Allow" => Effect::Allow, "Deny" => Effect::Deny });
keywords!(ConfigurationSource { "api" => ConfigurationSource::Api, "repository" => ConfigurationSource::Repository });
keywords!(HealthProtocol { "TCP" => HealthProtocol::TCP, "HTTP" => HealthProtocol::HTTP });
keywords!(Ingress { "public" => Ingress::Public, "private" => Ingress::Private });
keywords!(TracingVendor { "awsxray" => TracingVendor::Awsxray });
keywords!(SourceProvider { "GITHUB" => SourceProvider::GITHUB, "BITBUCKET" => SourceProvider::BITBUCKET });
keywords!(IpAddressType { "IPV4" => IpAddressType::IPV4, "DUAL_STACK" => IpAddressType::DUAL_STACK });
keywords!(Runtime {
    "PYTHON_3" => Runtime::PYTHON_3,
    "PYTHON_311" => Runtime::PYTHON_311,
    "NODEJS_12" => Runtime::NODEJS_12,
    "NODEJS_14" => Runtime::NODEJS_14,
    "NODEJS_16" => Runtime::NODEJS_16,
    "NODEJS_18" => Runtime::NODEJS_18,
    "CORRETTO_8" => Runtime::CORRETTO_8,
    "CORRETTO_11" => Runtime::CORRETTO_11,
    "GO_1" => Runtime::GO_1,
    "DOTNET_6" => Runtime::DOTNET_6,
    "PHP_81" => Runtime::PHP_81,
    "RUBY_31" => Runtime::RUBY_31,
});
