//! The two directions between a service's attribute document and the SDK:
//! the configuration members of `CreateService` / `UpdateService` built from
//! the attributes, and a live `Service` read back in the normalized shape
//! (`normalize`), with its outputs.
//!
//! Env values and start/build commands pass through here; they go into
//! requests and attribute documents only, never into a message.

use std::collections::{BTreeMap, HashMap};

use apprun_engine::attributes::{
    CodeAttributes, ConfigurationSource as CodeConfigurationSource, DEFAULT_BRANCH,
    DEFAULT_HEALTH_PATH, DEFAULT_HEALTHY_THRESHOLD, DEFAULT_INTERVAL, DEFAULT_PORT,
    DEFAULT_SOURCE_DIRECTORY, DEFAULT_TIMEOUT, DEFAULT_UNHEALTHY_THRESHOLD,
    HealthProtocol as AttrProtocol, Ingress, IpAddressType as AttrIpAddressType, Sensitive,
    ServiceAttributes,
};
use apprun_engine::provider::Applied;
use apprun_schema::Kind;
use apprun_schema::units::{Cpu, Memory};
use aws_sdk_apprunner::types::{
    AuthenticationConfiguration, CodeConfiguration, CodeConfigurationValues, CodeRepository,
    ConfigurationSource, EgressConfiguration, EgressType, EncryptionConfiguration,
    HealthCheckConfiguration, HealthCheckProtocol, ImageConfiguration, ImageRepository,
    ImageRepositoryType, IngressConfiguration, InstanceConfiguration, IpAddressType,
    NetworkConfiguration, Runtime, Service, ServiceObservabilityConfiguration, ServiceStatus,
    SourceCodeVersion, SourceCodeVersionType, SourceConfiguration, Tag,
};
use serde_json::{Map, Value, json};

use crate::error::{ApiFailure, Class};
use crate::tags;

/// The failure for a request member the SDK refused to build.
fn build_err(
    operation: &'static str,
) -> impl Fn(aws_sdk_apprunner::error::BuildError) -> ApiFailure {
    move |e| {
        ApiFailure::new(
            operation,
            Class::Invalid,
            format!("incomplete request: {e}"),
        )
    }
}

/// Whether an image lives in ECR Public (else: a private ECR repository).
fn is_public_image(image: &str) -> bool {
    image.starts_with("public.ecr.aws/")
}

/// What the source members share: port, env and secrets.
struct RuntimeAttrs {
    port: String,
    env: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl RuntimeAttrs {
    fn of(attrs: &ServiceAttributes, operation: &'static str) -> Result<Self, ApiFailure> {
        Ok(RuntimeAttrs {
            port: attrs.port.to_string(),
            env: attrs
                .env_in_clear()
                .map_err(|e| ApiFailure::new(operation, Class::Invalid, e.to_string()))?,
            secrets: attrs.secrets.clone(),
        })
    }
}

/// A sensitive text in clear, or the failure naming `field` when it is
/// sealed (a record where a request was due).
fn clear<'a>(
    value: &'a Sensitive,
    field: &str,
    operation: &'static str,
) -> Result<&'a str, ApiFailure> {
    value
        .require_clear(Kind::Service, field)
        .map_err(|e| ApiFailure::new(operation, Class::Invalid, e.to_string()))
}

/// The `SourceConfiguration` for `attrs`.
pub(super) fn source(
    attrs: &ServiceAttributes,
    operation: &'static str,
) -> Result<SourceConfiguration, ApiFailure> {
    let runtime = RuntimeAttrs::of(attrs, operation)?;
    let mut builder = SourceConfiguration::builder().auto_deployments_enabled(attrs.auto_deploy);
    let mut auth = AuthenticationConfiguration::builder();
    if let Some(role) = &attrs.access_role {
        auth = auth.access_role_arn(role);
    }
    if let Some(code) = &attrs.code {
        // An empty connection is what a document without one reads as.
        if !code.connection.is_empty() {
            auth = auth.connection_arn(&code.connection);
        }
        builder = builder.code_repository(code_repository(attrs, code, runtime, operation)?);
    } else {
        builder = builder.image_repository(image_repository(attrs, runtime, operation)?);
    }
    Ok(builder.authentication_configuration(auth.build()).build())
}

/// The `CodeRepository` for the `code` member of `attrs`.
fn code_repository(
    attrs: &ServiceAttributes,
    code: &CodeAttributes,
    runtime: RuntimeAttrs,
    operation: &'static str,
) -> Result<CodeRepository, ApiFailure> {
    let from_repository = code.configuration_source == CodeConfigurationSource::Repository;
    let mut configuration = CodeConfiguration::builder().configuration_source(if from_repository {
        ConfigurationSource::Repository
    } else {
        ConfigurationSource::Api
    });
    if !from_repository {
        configuration =
            configuration.code_configuration_values(code_values(attrs, code, runtime, operation)?);
    }
    CodeRepository::builder()
        .repository_url(&code.repository)
        .source_code_version(
            SourceCodeVersion::builder()
                .r#type(SourceCodeVersionType::Branch)
                .value(&code.branch)
                .build()
                .map_err(build_err(operation))?,
        )
        .source_directory(&code.source_directory)
        .code_configuration(configuration.build().map_err(build_err(operation))?)
        .build()
        .map_err(build_err(operation))
}

/// The values of a code configuration kept in the API (not the repository).
fn code_values(
    attrs: &ServiceAttributes,
    code: &CodeAttributes,
    runtime: RuntimeAttrs,
    operation: &'static str,
) -> Result<CodeConfigurationValues, ApiFailure> {
    let mut values = CodeConfigurationValues::builder()
        .runtime(Runtime::from(
            code.runtime.as_deref().unwrap_or(DEFAULT_RUNTIME),
        ))
        .port(runtime.port)
        .set_runtime_environment_variables(Some(runtime.env.into_iter().collect()))
        .set_runtime_environment_secrets(Some(runtime.secrets.into_iter().collect()));
    if let Some(c) = &code.build_command {
        values = values.build_command(clear(c, "code.build_command", operation)?);
    }
    let start = match (&code.start_command, &attrs.start_command) {
        (Some(c), _) => Some(clear(c, "code.start_command", operation)?),
        (None, Some(c)) => Some(clear(c, "start_command", operation)?),
        (None, None) => None,
    };
    if let Some(c) = start {
        values = values.start_command(c);
    }
    values.build().map_err(build_err(operation))
}

/// The `ImageRepository` for the `image` of `attrs`.
fn image_repository(
    attrs: &ServiceAttributes,
    runtime: RuntimeAttrs,
    operation: &'static str,
) -> Result<ImageRepository, ApiFailure> {
    let image = attrs.image.as_deref().unwrap_or_default();
    let mut config = ImageConfiguration::builder()
        .port(runtime.port)
        .set_runtime_environment_variables(Some(runtime.env.into_iter().collect()))
        .set_runtime_environment_secrets(Some(runtime.secrets.into_iter().collect()));
    if let Some(c) = &attrs.start_command {
        config = config.start_command(clear(c, "start_command", operation)?);
    }
    ImageRepository::builder()
        .image_identifier(image)
        .image_repository_type(if is_public_image(image) {
            ImageRepositoryType::EcrPublic
        } else {
            ImageRepositoryType::Ecr
        })
        .image_configuration(config.build())
        .build()
        .map_err(build_err(operation))
}

/// The `InstanceConfiguration` for `attrs`.
pub(super) fn instance(attrs: &ServiceAttributes) -> InstanceConfiguration {
    InstanceConfiguration::builder()
        .cpu(attrs.cpu.0.to_string())
        .memory(attrs.memory.0.to_string())
        .set_instance_role_arn(attrs.instance_role.clone())
        .build()
}

/// The `HealthCheckConfiguration` for `attrs`.
pub(super) fn health(attrs: &ServiceAttributes) -> HealthCheckConfiguration {
    let h = &attrs.health_check;
    let n = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let http = h.protocol == AttrProtocol::Http;
    HealthCheckConfiguration::builder()
        .protocol(if http {
            HealthCheckProtocol::Http
        } else {
            HealthCheckProtocol::Tcp
        })
        .set_path(http.then(|| h.path().to_owned()))
        .interval(n(h.interval))
        .timeout(n(h.timeout))
        .healthy_threshold(n(h.healthy_threshold))
        .unhealthy_threshold(n(h.unhealthy_threshold))
        .build()
}

/// The `NetworkConfiguration` for `attrs`.
pub(super) fn network(attrs: &ServiceAttributes) -> NetworkConfiguration {
    let egress = match &attrs.vpc_connector {
        Some(arn) => EgressConfiguration::builder()
            .egress_type(EgressType::Vpc)
            .vpc_connector_arn(arn)
            .build(),
        None => EgressConfiguration::builder()
            .egress_type(EgressType::Default)
            .build(),
    };
    NetworkConfiguration::builder()
        .egress_configuration(egress)
        .ingress_configuration(
            IngressConfiguration::builder()
                .is_publicly_accessible(attrs.ingress != Ingress::Private)
                .build(),
        )
        .ip_address_type(match attrs.ip_address_type {
            AttrIpAddressType::Ipv4 => IpAddressType::Ipv4,
            AttrIpAddressType::DualStack => IpAddressType::DualStack,
        })
        .build()
}

/// The `ServiceObservabilityConfiguration` for `attrs`.
pub(super) fn observability(attrs: &ServiceAttributes) -> ServiceObservabilityConfiguration {
    match &attrs.observability {
        Some(arn) => ServiceObservabilityConfiguration::builder()
            .observability_enabled(true)
            .observability_configuration_arn(arn)
            .build(),
        None => ServiceObservabilityConfiguration::builder()
            .observability_enabled(false)
            .build(),
    }
}

/// The `EncryptionConfiguration` for `attrs` (`None` without `kms_key`).
pub(super) fn encryption(
    attrs: &ServiceAttributes,
    operation: &'static str,
) -> Result<Option<EncryptionConfiguration>, ApiFailure> {
    attrs
        .kms_key
        .as_ref()
        .map(|k| {
            EncryptionConfiguration::builder()
                .kms_key(k)
                .build()
                .map_err(build_err(operation))
        })
        .transpose()
}

/// How a live auto scaling ARN reads back: the recorded text when it names
/// the same configuration (`…/name` or `…/name/rev` prefixes), omitted when
/// none was asked for. A service created without one gets the account's
/// default at that moment, which need not be `DefaultConfiguration` (an
/// account, or a stack's `default: true`, may set its own), so an
/// unmanaged configuration is not compared at all: as Terraform's
/// `Computed`, the stack only manages what it declares.
fn auto_scaling_attr(live: &str, recorded: Option<&str>) -> Option<String> {
    match recorded {
        Some(r) if r == live || live.starts_with(&format!("{r}/")) => Some(r.to_owned()),
        Some(_) => Some(live.to_owned()),
        None => None,
    }
}

/// The normalized attributes of a live service. `recorded` (the record, or
/// the request being applied) supplies what App Runner cannot show.
pub(super) fn normalize(
    service: &Service,
    live_tags: &[Tag],
    recorded: &ServiceAttributes,
) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), json!(service.service_name));
    let source = service.source_configuration.as_ref();
    let instance = service.instance_configuration.as_ref();
    let running = insert_source(&mut map, source, recorded);
    insert_running(&mut map, running, instance);
    map.insert(
        "health_check".into(),
        health_attrs(service.health_check_configuration.as_ref()),
    );
    insert_access(&mut map, source, instance);
    insert_attachments(&mut map, service, recorded);
    insert_ingress(&mut map, service.network_configuration.as_ref());
    map.insert(
        "paused".into(),
        json!(service.status == ServiceStatus::Paused),
    );
    map.insert("tags".into(), tags::observed(live_tags));
    Value::Object(map)
}

/// The runtime a code service builds with when its document names none.
const DEFAULT_RUNTIME: &str = "PYTHON_3";

/// What a live source configuration says about the running code.
struct Running {
    port: i64,
    env: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    /// A start command that reads back at the top level (not in `code`).
    start_command: Option<String>,
}

impl Default for Running {
    fn default() -> Self {
        Running {
            port: DEFAULT_PORT,
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            start_command: None,
        }
    }
}

impl Running {
    /// From the members code values and image configurations share.
    fn of(
        port: Option<&str>,
        env: Option<&HashMap<String, String>>,
        secrets: Option<&HashMap<String, String>>,
        start_command: Option<String>,
    ) -> Self {
        let sorted = |m: Option<&HashMap<String, String>>| {
            m.into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Running {
            port: port.and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT),
            env: sorted(env),
            secrets: sorted(secrets),
            start_command,
        }
    }
}

/// `source_type` and the `code` or the `image` (and recorded `build`)
/// members; returns what the source says about the running code.
fn insert_source(
    map: &mut Map<String, Value>,
    source: Option<&SourceConfiguration>,
    recorded: &ServiceAttributes,
) -> Running {
    if let Some(code) = source.and_then(|s| s.code_repository()) {
        map.insert("source_type".into(), json!("code"));
        let (attrs, running) = code_attrs(code, source, recorded);
        map.insert("code".into(), attrs);
        return running;
    }
    map.insert("source_type".into(), json!("image"));
    let mut running = Running::default();
    if let Some(image) = source.and_then(|s| s.image_repository()) {
        map.insert("image".into(), json!(image.image_identifier()));
        if let Some(config) = image.image_configuration() {
            running = Running::of(
                config.port(),
                config.runtime_environment_variables(),
                config.runtime_environment_secrets(),
                config.start_command().map(str::to_owned),
            );
        }
    }
    if let Some(build) = &recorded.build {
        // The Docker target's build: nothing App Runner can show.
        map.insert("build".into(), json!(build));
    }
    running
}

/// The `code` member of a code repository source, and its running code.
fn code_attrs(
    code: &CodeRepository,
    source: Option<&SourceConfiguration>,
    recorded: &ServiceAttributes,
) -> (Value, Running) {
    let mut c = Map::new();
    c.insert("repository".into(), json!(code.repository_url()));
    c.insert(
        "branch".into(),
        json!(
            code.source_code_version()
                .map(|v| v.value())
                .unwrap_or(DEFAULT_BRANCH)
        ),
    );
    if let Some(conn) = source
        .and_then(|s| s.authentication_configuration())
        .and_then(|a| a.connection_arn())
    {
        c.insert("connection".into(), json!(conn));
    }
    c.insert(
        "source_directory".into(),
        json!(code.source_directory().unwrap_or(DEFAULT_SOURCE_DIRECTORY)),
    );
    let configuration = code.code_configuration();
    let from_repository =
        configuration.is_some_and(|c| c.configuration_source() == &ConfigurationSource::Repository);
    c.insert(
        "configuration_source".into(),
        json!(if from_repository { "repository" } else { "api" }),
    );
    let mut running = Running::default();
    if let Some(values) = configuration.and_then(|c| c.code_configuration_values()) {
        running = code_values_attrs(&mut c, values, recorded);
    } else if let Some(runtime) = recorded.code.as_ref().and_then(|c| c.runtime.as_ref()) {
        c.insert("runtime".into(), json!(runtime));
    }
    (Value::Object(c), running)
}

/// `runtime`, `build_command` and `start_command` of code configuration
/// values into `code`; returns the running code (a start command recorded
/// at the top level reads back there).
fn code_values_attrs(
    code: &mut Map<String, Value>,
    values: &CodeConfigurationValues,
    recorded: &ServiceAttributes,
) -> Running {
    code.insert("runtime".into(), json!(values.runtime().as_str()));
    if let Some(b) = values.build_command() {
        code.insert("build_command".into(), json!(b));
    }
    let mut top = None;
    if let Some(s) = values.start_command() {
        if recorded.start_command.is_some()
            && recorded
                .code
                .as_ref()
                .is_none_or(|c| c.start_command.is_none())
        {
            top = Some(s.to_owned());
        } else {
            code.insert("start_command".into(), json!(s));
        }
    }
    Running::of(
        values.port(),
        values.runtime_environment_variables(),
        values.runtime_environment_secrets(),
        top,
    )
}

/// `port`, `cpu`, `memory`, `start_command`, `env` and `secrets`.
fn insert_running(
    map: &mut Map<String, Value>,
    running: Running,
    instance: Option<&InstanceConfiguration>,
) {
    map.insert("port".into(), json!(running.port));
    // The API answers `1 vCPU` or `1024`, `2 GB` or `2048`.
    let cpu = instance
        .and_then(|i| i.cpu())
        .and_then(Cpu::from_api)
        .unwrap_or(Cpu::DEFAULT);
    let memory = instance
        .and_then(|i| i.memory())
        .and_then(Memory::from_api)
        .unwrap_or(Memory::DEFAULT);
    map.insert("cpu".into(), json!(cpu.0));
    map.insert("memory".into(), json!(memory.0));
    if let Some(s) = running.start_command {
        map.insert("start_command".into(), json!(s));
    }
    map.insert("env".into(), json!(running.env));
    map.insert("secrets".into(), json!(running.secrets));
}

/// The `health_check` member.
fn health_attrs(h: Option<&HealthCheckConfiguration>) -> Value {
    let protocol = h
        .and_then(|h| h.protocol())
        .map_or("TCP", |p| p.as_str())
        .to_owned();
    let mut health = Map::new();
    if protocol == "HTTP" {
        health.insert(
            "path".into(),
            json!(h.and_then(|h| h.path()).unwrap_or(DEFAULT_HEALTH_PATH)),
        );
    }
    health.insert("protocol".into(), json!(protocol));
    health.insert(
        "interval".into(),
        json!(
            h.and_then(|h| h.interval())
                .map_or(DEFAULT_INTERVAL, i64::from)
        ),
    );
    health.insert(
        "timeout".into(),
        json!(
            h.and_then(|h| h.timeout())
                .map_or(DEFAULT_TIMEOUT, i64::from)
        ),
    );
    health.insert(
        "healthy_threshold".into(),
        json!(
            h.and_then(|h| h.healthy_threshold())
                .map_or(DEFAULT_HEALTHY_THRESHOLD, i64::from)
        ),
    );
    health.insert(
        "unhealthy_threshold".into(),
        json!(
            h.and_then(|h| h.unhealthy_threshold())
                .map_or(DEFAULT_UNHEALTHY_THRESHOLD, i64::from)
        ),
    );
    Value::Object(health)
}

/// `auto_deploy`, `access_role` and `instance_role`.
fn insert_access(
    map: &mut Map<String, Value>,
    source: Option<&SourceConfiguration>,
    instance: Option<&InstanceConfiguration>,
) {
    map.insert(
        "auto_deploy".into(),
        json!(
            source
                .and_then(|s| s.auto_deployments_enabled())
                .unwrap_or(false)
        ),
    );
    if let Some(role) = source
        .and_then(|s| s.authentication_configuration())
        .and_then(|a| a.access_role_arn())
    {
        map.insert("access_role".into(), json!(role));
    }
    if let Some(role) = instance.and_then(|i| i.instance_role_arn()) {
        map.insert("instance_role".into(), json!(role));
    }
}

/// The references to other resources: `autoscaling`, `vpc_connector`,
/// `observability`, `kms_key`.
fn insert_attachments(
    map: &mut Map<String, Value>,
    service: &Service,
    recorded: &ServiceAttributes,
) {
    if let Some(arn) = service
        .auto_scaling_configuration_summary
        .as_ref()
        .and_then(|a| a.auto_scaling_configuration_arn())
        && let Some(v) = auto_scaling_attr(arn, recorded.autoscaling.as_deref())
    {
        map.insert("autoscaling".into(), json!(v));
    }
    if let Some(e) = service
        .network_configuration
        .as_ref()
        .and_then(|n| n.egress_configuration())
        && e.egress_type() == Some(&EgressType::Vpc)
        && let Some(arn) = e.vpc_connector_arn()
    {
        map.insert("vpc_connector".into(), json!(arn));
    }
    if let Some(o) = service.observability_configuration.as_ref()
        && o.observability_enabled()
        && let Some(arn) = o.observability_configuration_arn()
    {
        map.insert("observability".into(), json!(arn));
    }
    if let Some(key) = service
        .encryption_configuration
        .as_ref()
        .map(|e| e.kms_key())
    {
        map.insert("kms_key".into(), json!(key));
    }
}

/// `ingress` and `ip_address_type`.
fn insert_ingress(map: &mut Map<String, Value>, net: Option<&NetworkConfiguration>) {
    let private = net
        .and_then(|n| n.ingress_configuration())
        .is_some_and(|i| !i.is_publicly_accessible());
    map.insert(
        "ingress".into(),
        json!(if private { "private" } else { "public" }),
    );
    map.insert(
        "ip_address_type".into(),
        json!(
            net.and_then(|n| n.ip_address_type())
                .map_or("IPV4", |t| t.as_str())
        ),
    );
}

/// The service's URL, with a scheme.
fn url(service: &Service) -> Option<String> {
    service.service_url.as_ref().map(|u| {
        if u.starts_with("http://") || u.starts_with("https://") {
            u.clone()
        } else {
            format!("https://{u}")
        }
    })
}

/// The outputs of a service: `arn`, `id`, `name`, `url`.
pub(super) fn outputs(service: &Service) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("arn".to_owned(), json!(service.service_arn));
    out.insert("id".to_owned(), json!(service.service_id));
    out.insert("name".to_owned(), json!(service.service_name));
    if let Some(u) = url(service) {
        out.insert("url".to_owned(), json!(u));
    }
    out
}

/// What a create or an update of `service` reports.
pub(super) fn applied(service: &Service) -> Applied {
    Applied {
        physical_id: service.service_arn.clone(),
        outputs: outputs(service),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service as App Runner answers it: built from `attrs`, with the
    /// instance configuration's cpu and memory in the API's words.
    fn live(attrs: &ServiceAttributes, cpu: &str, memory: &str) -> Service {
        let Ok(source) = source(attrs, "CreateService") else {
            panic!("an image source builds");
        };
        let at = aws_sdk_apprunner::primitives::DateTime::from_secs(0);
        let service = Service::builder()
            .service_name("web")
            .service_id("0123")
            .service_arn("arn:aws:apprunner:us-east-1:1:service/web/0123")
            .created_at(at)
            .updated_at(at)
            .status(ServiceStatus::Running)
            .source_configuration(source)
            .instance_configuration(
                InstanceConfiguration::builder()
                    .cpu(cpu)
                    .memory(memory)
                    .build(),
            )
            .health_check_configuration(health(attrs))
            .network_configuration(network(attrs))
            .build();
        let Ok(service) = service else {
            panic!("a service needs its required members");
        };
        service
    }

    fn typed(attrs: &Value) -> ServiceAttributes {
        let Ok(typed) = ServiceAttributes::from_value(attrs) else {
            panic!("the document decodes");
        };
        typed
    }

    #[test]
    fn units_are_normalized() {
        let attrs = typed(&json!({ "image": "public.ecr.aws/nginx/nginx:latest" }));
        for (cpu, memory, want) in [
            ("1024", "2048", (1024, 2048)),
            ("1 vCPU", "2 GB", (1024, 2048)),
            ("0.25 vCPU", "0.5 GB", (256, 512)),
            ("4 vCPU", "12 GB", (4096, 12288)),
        ] {
            let read = normalize(&live(&attrs, cpu, memory), &[], &attrs);
            assert_eq!(
                (read["cpu"].clone(), read["memory"].clone()),
                (json!(want.0), json!(want.1)),
                "{cpu} / {memory}"
            );
        }
    }

    #[test]
    fn a_request_is_shaped_from_the_typed_document_with_its_defaults() {
        let attrs = typed(&json!({ "image": "public.ecr.aws/nginx/nginx:latest" }));
        let i = instance(&attrs);
        assert_eq!((i.cpu(), i.memory()), (Some("1024"), Some("2048")));
        let h = health(&attrs);
        assert_eq!(h.protocol(), Some(&HealthCheckProtocol::Tcp));
        assert_eq!(
            (h.path(), h.interval(), h.timeout()),
            (None, Some(5), Some(2))
        );
        assert_eq!(
            (h.healthy_threshold(), h.unhealthy_threshold()),
            (Some(1), Some(5))
        );
        let Ok(source) = source(&attrs, "CreateService") else {
            panic!("an image source builds");
        };
        let config = source
            .image_repository()
            .and_then(|r| r.image_configuration());
        assert_eq!(config.and_then(|c| c.port()), Some("8080"));
        assert_eq!(
            network(&attrs).ip_address_type(),
            Some(&IpAddressType::Ipv4)
        );
    }

    #[test]
    fn a_sealed_value_is_refused_without_showing_it() {
        let attrs = typed(&json!({
            "image": "public.ecr.aws/nginx/nginx:latest",
            "env": { "TOKEN": { "$sensitive": "digest-of-secret" } },
        }));
        let Err(f) = source(&attrs, "CreateService") else {
            panic!("a sealed env value cannot be sent");
        };
        assert_eq!(f.class, Class::Invalid);
        assert!(f.message.contains("env.TOKEN"), "{}", f.message);
        assert!(!f.message.contains("digest-of-secret"), "{}", f.message);
    }

    #[test]
    fn auto_scaling_arns_compare_on_name_and_revision() {
        let live = "arn:aws:apprunner:us-east-1:1:autoscalingconfiguration/small/2/abc";
        let by_name = "arn:aws:apprunner:us-east-1:1:autoscalingconfiguration/small";
        assert_eq!(
            auto_scaling_attr(live, Some(by_name)).as_deref(),
            Some(by_name)
        );
        assert_eq!(auto_scaling_attr(live, Some(live)).as_deref(), Some(live));
        let default =
            "arn:aws:apprunner:us-east-1:1:autoscalingconfiguration/DefaultConfiguration/1/0001";
        assert_eq!(auto_scaling_attr(default, None), None);
        // The account's own default, which a service without `autoscaling`
        // got when it was created, is not a difference either.
        assert_eq!(auto_scaling_attr(live, None), None);
    }

    #[test]
    fn a_request_round_trips_through_normalize() {
        let attrs = json!({
            "image": "public.ecr.aws/nginx/nginx:latest",
            "port": 8081,
            "env": {"A": "1"},
            "secrets": {"S": "arn:aws:ssm:us-east-1:1:parameter/s"},
            "start_command": "serve",
            "health_check": {"protocol": "HTTP", "path": "/health", "interval": 10},
            "ingress": "private",
        });
        let attrs = typed(&attrs);
        let Ok(source) = source(&attrs, "CreateService") else {
            panic!("an image source builds");
        };
        let at = aws_sdk_apprunner::primitives::DateTime::from_secs(0);
        let service = Service::builder()
            .service_name("web")
            .service_id("0123")
            .service_arn("arn:aws:apprunner:us-east-1:1:service/web/0123")
            .created_at(at)
            .updated_at(at)
            .status(ServiceStatus::Running)
            .source_configuration(source)
            .instance_configuration(instance(&attrs))
            .health_check_configuration(health(&attrs))
            .network_configuration(network(&attrs))
            .build();
        let Ok(service) = service else {
            panic!("a service needs its required members");
        };
        let read = normalize(&service, &[], &attrs);
        assert_eq!(read["source_type"], json!("image"));
        assert_eq!(read["port"], json!(8081));
        assert_eq!(read["env"], json!({"A": "1"}));
        assert_eq!(read["start_command"], json!("serve"));
        assert_eq!(read["health_check"]["path"], json!("/health"));
        assert_eq!(read["health_check"]["interval"], json!(10));
        assert_eq!(read["ingress"], json!("private"));
        assert_eq!(read["cpu"], json!(1024));
        assert_eq!(read["paused"], json!(false));
    }
}
