//! App Runner services: create (and wait for `RUNNING` through the
//! operation), read back in the normalized shape, update only the members
//! that changed (one `UpdateService`, never an empty one; tags through
//! Tag/UntagResource; pause/resume), delete.
//!
//! Env values, secrets' values are not secret (ARNs), but env values and
//! start/build commands are: they only travel in requests and in the
//! attribute documents, never into messages or logs.

use std::collections::BTreeMap;
use std::time::Instant;

use apprun_engine::provider::{Applied, Observed, Progress, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{
    AuthenticationConfiguration, CodeConfiguration, CodeConfigurationValues, CodeRepository,
    ConfigurationSource, EgressConfiguration, EgressType, EncryptionConfiguration,
    HealthCheckConfiguration, HealthCheckProtocol, ImageConfiguration, ImageRepository,
    ImageRepositoryType, IngressConfiguration, InstanceConfiguration, IpAddressType,
    NetworkConfiguration, Runtime, Service, ServiceObservabilityConfiguration, ServiceStatus,
    SourceCodeVersion, SourceCodeVersionType, SourceConfiguration, Tag,
};
use serde_json::{Map, Value, json};

use crate::attrs::{bool_at, int_at, map_at, str_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::retry::{self, Backoff, Created};
use crate::tags;
use crate::wait::{self, Waiting};

/// Members of the service a changed top-level attribute maps to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Members {
    source: bool,
    instance: bool,
    health: bool,
    auto_scaling: bool,
    network: bool,
    observability: bool,
    tags: bool,
    paused: bool,
}

impl Members {
    fn of(changed: &[String]) -> Result<Self, ProviderError> {
        let mut m = Members::default();
        for field in top_level(changed) {
            match field {
                "image" | "code" | "port" | "start_command" | "env" | "secrets" | "auto_deploy"
                | "access_role" => m.source = true,
                "cpu" | "memory" | "instance_role" => m.instance = true,
                "health_check" => m.health = true,
                "autoscaling" => m.auto_scaling = true,
                "vpc_connector" | "ingress" | "ip_address_type" => m.network = true,
                "observability" => m.observability = true,
                "tags" => m.tags = true,
                "paused" => m.paused = true,
                // Not an App Runner setting (the Docker target's build).
                "build" => {}
                other => {
                    return Err(ProviderError::Invalid {
                        operation: "UpdateService".to_owned(),
                        message: format!(
                            "`{other}` cannot change in place; the service must be replaced"
                        ),
                    });
                }
            }
        }
        Ok(m)
    }

    fn any_configuration(&self) -> bool {
        self.source
            || self.instance
            || self.health
            || self.auto_scaling
            || self.network
            || self.observability
    }
}

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

fn is_public_image(image: &str) -> bool {
    image.starts_with("public.ecr.aws/")
}

/// The `SourceConfiguration` for `attrs`.
fn source(attrs: &Value, operation: &'static str) -> Result<SourceConfiguration, ApiFailure> {
    let port = int_at(attrs, "port").unwrap_or(8080).to_string();
    let env = map_at(attrs, "env");
    let secrets = map_at(attrs, "secrets");
    let mut builder =
        SourceConfiguration::builder().auto_deployments_enabled(bool_at(attrs, "auto_deploy"));
    let mut auth = AuthenticationConfiguration::builder();
    if let Some(role) = str_at(attrs, "access_role") {
        auth = auth.access_role_arn(role);
    }
    if let Some(code) = attrs.get("code").filter(|c| c.is_object()) {
        if let Some(connection) = str_at(code, "connection") {
            auth = auth.connection_arn(connection);
        }
        let from_repository = str_at(code, "configuration_source") == Some("repository");
        let mut configuration =
            CodeConfiguration::builder().configuration_source(if from_repository {
                ConfigurationSource::Repository
            } else {
                ConfigurationSource::Api
            });
        if !from_repository {
            let mut values = CodeConfigurationValues::builder()
                .runtime(Runtime::from(str_at(code, "runtime").unwrap_or("PYTHON_3")))
                .port(port)
                .set_runtime_environment_variables(Some(env.into_iter().collect()))
                .set_runtime_environment_secrets(Some(secrets.into_iter().collect()));
            if let Some(c) = str_at(code, "build_command") {
                values = values.build_command(c);
            }
            if let Some(c) = str_at(code, "start_command").or(str_at(attrs, "start_command")) {
                values = values.start_command(c);
            }
            configuration = configuration
                .code_configuration_values(values.build().map_err(build_err(operation))?);
        }
        let repository = CodeRepository::builder()
            .repository_url(str_at(code, "repository").unwrap_or_default())
            .source_code_version(
                SourceCodeVersion::builder()
                    .r#type(SourceCodeVersionType::Branch)
                    .value(str_at(code, "branch").unwrap_or("main"))
                    .build()
                    .map_err(build_err(operation))?,
            )
            .source_directory(str_at(code, "source_directory").unwrap_or("/"))
            .code_configuration(configuration.build().map_err(build_err(operation))?)
            .build()
            .map_err(build_err(operation))?;
        builder = builder.code_repository(repository);
    } else {
        let image = str_at(attrs, "image").unwrap_or_default();
        let mut config = ImageConfiguration::builder()
            .port(port)
            .set_runtime_environment_variables(Some(env.into_iter().collect()))
            .set_runtime_environment_secrets(Some(secrets.into_iter().collect()));
        if let Some(c) = str_at(attrs, "start_command") {
            config = config.start_command(c);
        }
        let repository = ImageRepository::builder()
            .image_identifier(image)
            .image_repository_type(if is_public_image(image) {
                ImageRepositoryType::EcrPublic
            } else {
                ImageRepositoryType::Ecr
            })
            .image_configuration(config.build())
            .build()
            .map_err(build_err(operation))?;
        builder = builder.image_repository(repository);
    }
    Ok(builder.authentication_configuration(auth.build()).build())
}

fn instance(attrs: &Value) -> InstanceConfiguration {
    InstanceConfiguration::builder()
        .cpu(int_at(attrs, "cpu").unwrap_or(1024).to_string())
        .memory(int_at(attrs, "memory").unwrap_or(2048).to_string())
        .set_instance_role_arn(str_at(attrs, "instance_role").map(str::to_owned))
        .build()
}

fn health(attrs: &Value) -> HealthCheckConfiguration {
    let h = attrs.get("health_check").cloned().unwrap_or(Value::Null);
    let n = |k: &str, d: i64| i32::try_from(int_at(&h, k).unwrap_or(d)).unwrap_or(i32::MAX);
    let http = str_at(&h, "protocol") == Some("HTTP");
    HealthCheckConfiguration::builder()
        .protocol(if http {
            HealthCheckProtocol::Http
        } else {
            HealthCheckProtocol::Tcp
        })
        .set_path(http.then(|| str_at(&h, "path").unwrap_or("/").to_owned()))
        .interval(n("interval", 5))
        .timeout(n("timeout", 2))
        .healthy_threshold(n("healthy_threshold", 1))
        .unhealthy_threshold(n("unhealthy_threshold", 5))
        .build()
}

fn network(attrs: &Value) -> NetworkConfiguration {
    let egress = match str_at(attrs, "vpc_connector") {
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
                .is_publicly_accessible(str_at(attrs, "ingress") != Some("private"))
                .build(),
        )
        .ip_address_type(IpAddressType::from(
            str_at(attrs, "ip_address_type").unwrap_or("IPV4"),
        ))
        .build()
}

fn observability(attrs: &Value) -> ServiceObservabilityConfiguration {
    match str_at(attrs, "observability") {
        Some(arn) => ServiceObservabilityConfiguration::builder()
            .observability_enabled(true)
            .observability_configuration_arn(arn)
            .build(),
        None => ServiceObservabilityConfiguration::builder()
            .observability_enabled(false)
            .build(),
    }
}

pub(crate) fn aws_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// `1024`, `1 vCPU`, `0.25 vCPU` -> CPU units.
fn cpu_units(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let v: f64 = t.strip_suffix("vCPU")?.trim().parse().ok()?;
    Some((v * 1024.0).round() as i64)
}

/// `2048`, `2 GB`, `0.5 GB` -> MB.
fn memory_mb(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let v: f64 = t.strip_suffix("GB")?.trim().parse().ok()?;
    Some((v * 1024.0).round() as i64)
}

/// How a live auto scaling ARN reads back: the recorded text when it names
/// the same configuration (`…/name` or `…/name/rev` prefixes), omitted when
/// it is the default the service got because none was asked for.
fn auto_scaling_attr(live: &str, recorded: Option<&str>) -> Option<String> {
    match recorded {
        Some(r) if r == live || live.starts_with(&format!("{r}/")) => Some(r.to_owned()),
        Some(_) => Some(live.to_owned()),
        None if live.contains("/DefaultConfiguration/") => None,
        None => Some(live.to_owned()),
    }
}

/// The normalized attributes of a live service.
pub(crate) fn normalize(service: &Service, live_tags: &[Tag], recorded: &Value) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), json!(service.service_name));
    let source = service.source_configuration.as_ref();
    let code_repo = source.and_then(|s| s.code_repository());
    let image_repo = source.and_then(|s| s.image_repository());
    let mut port = 8080;
    let mut env = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    let mut start_command = None;
    if let Some(code) = code_repo {
        map.insert("source_type".into(), json!("code"));
        let mut c = Map::new();
        c.insert("repository".into(), json!(code.repository_url()));
        c.insert(
            "branch".into(),
            json!(
                code.source_code_version()
                    .map(|v| v.value())
                    .unwrap_or("main")
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
            json!(code.source_directory().unwrap_or("/")),
        );
        let configuration = code.code_configuration();
        let from_repository = configuration
            .is_some_and(|c| c.configuration_source() == &ConfigurationSource::Repository);
        c.insert(
            "configuration_source".into(),
            json!(if from_repository { "repository" } else { "api" }),
        );
        if let Some(values) = configuration.and_then(|c| c.code_configuration_values()) {
            c.insert("runtime".into(), json!(values.runtime().as_str()));
            if let Some(b) = values.build_command() {
                c.insert("build_command".into(), json!(b));
            }
            if let Some(s) = values.start_command() {
                let top = recorded.get("start_command").is_some()
                    && recorded.pointer("/code/start_command").is_none();
                if top {
                    start_command = Some(s.to_owned());
                } else {
                    c.insert("start_command".into(), json!(s));
                }
            }
            port = values.port().and_then(|p| p.parse().ok()).unwrap_or(8080);
            env = values
                .runtime_environment_variables()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect();
            secrets = values
                .runtime_environment_secrets()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect();
        } else if let Some(runtime) = recorded.pointer("/code/runtime") {
            c.insert("runtime".into(), runtime.clone());
        }
        map.insert("code".into(), Value::Object(c));
    } else {
        map.insert("source_type".into(), json!("image"));
        if let Some(image) = image_repo {
            map.insert("image".into(), json!(image.image_identifier()));
            if let Some(config) = image.image_configuration() {
                port = config.port().and_then(|p| p.parse().ok()).unwrap_or(8080);
                env = config
                    .runtime_environment_variables()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                secrets = config
                    .runtime_environment_secrets()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                start_command = config.start_command().map(str::to_owned);
            }
        }
        if let Some(build) = recorded.get("build") {
            // The Docker target's build: nothing App Runner can show.
            map.insert("build".into(), build.clone());
        }
    }
    map.insert("port".into(), json!(port));
    let instance = service.instance_configuration.as_ref();
    map.insert(
        "cpu".into(),
        json!(
            instance
                .and_then(|i| i.cpu())
                .and_then(cpu_units)
                .unwrap_or(1024)
        ),
    );
    map.insert(
        "memory".into(),
        json!(
            instance
                .and_then(|i| i.memory())
                .and_then(memory_mb)
                .unwrap_or(2048)
        ),
    );
    if let Some(s) = start_command {
        map.insert("start_command".into(), json!(s));
    }
    map.insert("env".into(), json!(env));
    map.insert("secrets".into(), json!(secrets));
    let h = service.health_check_configuration.as_ref();
    let protocol = h
        .and_then(|h| h.protocol())
        .map_or("TCP", |p| p.as_str())
        .to_owned();
    let mut health = Map::new();
    if protocol == "HTTP" {
        health.insert(
            "path".into(),
            json!(h.and_then(|h| h.path()).unwrap_or("/")),
        );
    }
    health.insert("protocol".into(), json!(protocol));
    health.insert(
        "interval".into(),
        json!(h.and_then(|h| h.interval()).unwrap_or(5)),
    );
    health.insert(
        "timeout".into(),
        json!(h.and_then(|h| h.timeout()).unwrap_or(2)),
    );
    health.insert(
        "healthy_threshold".into(),
        json!(h.and_then(|h| h.healthy_threshold()).unwrap_or(1)),
    );
    health.insert(
        "unhealthy_threshold".into(),
        json!(h.and_then(|h| h.unhealthy_threshold()).unwrap_or(5)),
    );
    map.insert("health_check".into(), Value::Object(health));
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
    if let Some(arn) = service
        .auto_scaling_configuration_summary
        .as_ref()
        .and_then(|a| a.auto_scaling_configuration_arn())
        && let Some(v) = auto_scaling_attr(arn, str_at(recorded, "autoscaling"))
    {
        map.insert("autoscaling".into(), json!(v));
    }
    let net = service.network_configuration.as_ref();
    if let Some(e) = net.and_then(|n| n.egress_configuration())
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
    map.insert(
        "paused".into(),
        json!(service.status == ServiceStatus::Paused),
    );
    map.insert(
        "tags".into(),
        tags::observed(
            live_tags
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
        ),
    );
    Value::Object(map)
}

fn url(service: &Service) -> Option<String> {
    service.service_url.as_ref().map(|u| {
        if u.starts_with("http://") || u.starts_with("https://") {
            u.clone()
        } else {
            format!("https://{u}")
        }
    })
}

fn outputs(service: &Service) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("arn".to_owned(), json!(service.service_arn));
    out.insert("id".to_owned(), json!(service.service_id));
    out.insert("name".to_owned(), json!(service.service_name));
    if let Some(u) = url(service) {
        out.insert("url".to_owned(), json!(u));
    }
    out
}

fn applied(service: &Service) -> Applied {
    Applied {
        physical_id: service.service_arn.clone(),
        outputs: outputs(service),
    }
}

/// The address a service ARN stands for when the engine gives none (delete).
fn address_of(arn: &str) -> Address {
    // arn:aws:apprunner:region:account:service/name/id
    let name = arn
        .split_once(":service/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn);
    Address::new(Kind::Service, name)
}

async fn describe(ctx: &Ctx, arn: &str) -> Result<Option<Service>, ApiFailure> {
    let out = retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_service()
            .service_arn(arn)
            .send()
            .await
            .classify("DescribeService")
    })
    .await;
    Ok(out
        .found()?
        .and_then(|o| o.service.filter(|s| s.status != ServiceStatus::Deleted)))
}

/// The ARN of the account's default auto scaling configuration.
async fn default_auto_scaling(ctx: &Ctx) -> Result<Option<String>, ApiFailure> {
    let mut token: Option<String> = None;
    loop {
        let token_now = &token;
        let page = retry::read(&ctx.settings, || async move {
            ctx.clients
                .apprunner
                .list_auto_scaling_configurations()
                .max_results(100)
                .set_next_token(token_now.clone())
                .send()
                .await
                .classify("ListAutoScalingConfigurations")
        })
        .await?;
        if let Some(arn) = page
            .auto_scaling_configuration_summary_list()
            .iter()
            .find(|s| s.is_default() == Some(true))
            .and_then(|s| s.auto_scaling_configuration_arn())
        {
            return Ok(Some(arn.to_owned()));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// `describe` of a service just created: not found is retried for
/// `read_after_create` before it is believed (T15).
async fn describe_after_create(ctx: &Ctx, arn: &str) -> Result<Option<Service>, ApiFailure> {
    let start = Instant::now();
    let mut backoff = Backoff::for_retries(&ctx.settings);
    loop {
        match describe(ctx, arn).await? {
            None if start.elapsed() < ctx.settings.read_after_create => backoff.sleep().await,
            other => return Ok(other),
        }
    }
}

pub(crate) async fn list_tags(ctx: &Ctx, arn: &str) -> Result<Vec<Tag>, ApiFailure> {
    retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .classify("ListTagsForResource")
    })
    .await
    .map(|o| o.tags.unwrap_or_default())
}

/// Makes the user tags of App Runner resource `arn` those of `attrs`
/// (TagResource / UntagResource only for what differs).
pub(crate) async fn sync_tags(ctx: &Ctx, arn: &str, attrs: &Value) -> Result<(), ApiFailure> {
    let live = list_tags(ctx, arn).await?;
    let before: BTreeMap<String, String> = live
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
        .collect();
    let (set, remove) = tags::tag_changes(&before, &tags::user_tags(attrs));
    if !set.is_empty() {
        ctx.clients
            .apprunner
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(aws_tags(&set)))
            .send()
            .await
            .classify("TagResource")?;
    }
    if !remove.is_empty() {
        ctx.clients
            .apprunner
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .classify("UntagResource")?;
    }
    Ok(())
}

/// Whether App Runner tags say `stack` / `address` own the resource.
pub(crate) fn tags_owned(live: &[Tag], stack: &str, address: &Address) -> bool {
    tags::owned_by(
        live.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
        stack,
        address,
    )
}

/// The user tags of App Runner tags, as JSON.
pub(crate) fn tags_observed(live: &[Tag]) -> Value {
    tags::observed(
        live.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
    )
}

/// Reads a service; `None` when it is gone.
pub(crate) async fn read(
    ctx: &Ctx,
    arn: &str,
    recorded: &Value,
) -> Result<Option<Observed>, ProviderError> {
    let what = address_of(arn).to_string();
    let Some(service) = crate::fresh::read_settled(ctx, arn, || describe(ctx, arn))
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let live_tags = match list_tags(ctx, arn).await {
        Ok(t) => t,
        Err(f) if f.class == Class::NotFound => return Ok(None),
        Err(f) => return Err(f.into_provider(&what)),
    };
    let failed = if service.status == ServiceStatus::CreateFailed {
        let op = wait::newest_operation(&ctx.clients, &ctx.settings, arn)
            .await
            .ok()
            .flatten();
        Some(match op.and_then(|o| o.id) {
            Some(id) => format!("the service is CREATE_FAILED (operation {id} failed)"),
            None => "the service is CREATE_FAILED".to_owned(),
        })
    } else {
        None
    };
    Ok(Some(Observed {
        attributes: normalize(&service, &live_tags, recorded),
        outputs: outputs(&service),
        failed,
    }))
}

/// Finds the service named `name` that carries this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    let what = address.to_string();
    let mut token: Option<String> = None;
    loop {
        let token_now = &token;
        let page = retry::read(&ctx.settings, || async move {
            ctx.clients
                .apprunner
                .list_services()
                .max_results(20)
                .set_next_token(token_now.clone())
                .send()
                .await
                .classify("ListServices")
        })
        .await
        .map_err(|f| f.into_provider(&what))?;
        for summary in page.service_summary_list() {
            if summary.service_name() != Some(name) {
                continue;
            }
            let Some(arn) = summary.service_arn() else {
                continue;
            };
            let live_tags = match list_tags(ctx, arn).await {
                Ok(t) => t,
                Err(f) if f.class == Class::NotFound => continue,
                Err(f) => return Err(f.into_provider(&what)),
            };
            let owned = tags::owned_by(
                live_tags
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
                stack,
                address,
            );
            if owned
                && let Some(service) = describe(ctx, arn)
                    .await
                    .map_err(|f| f.into_provider(&what))?
            {
                return Ok(Some(applied(&service)));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Whether an `InvalidRequestException` is the IAM propagation delay (a
/// role just created is not yet assumable by App Runner).
fn iam_propagation(f: &ApiFailure) -> bool {
    let m = f.message.to_ascii_lowercase();
    f.class == Class::Invalid
        && m.contains("role")
        && (m.contains("assum") || m.contains("not authorized") || m.contains("trust"))
}

/// Runs `call`, retrying refusals caused by IAM propagation for up to
/// `settings.iam_propagation`.
async fn with_iam_propagation<T, F: std::future::Future<Output = Result<T, ApiFailure>>>(
    ctx: &Ctx,
    mut call: impl FnMut() -> F,
) -> Result<T, ApiFailure> {
    let start = Instant::now();
    let mut backoff = Backoff::new(ctx.settings.initial_backoff, ctx.settings.max_backoff);
    loop {
        match call().await {
            Err(f) if iam_propagation(&f) && start.elapsed() < ctx.settings.iam_propagation => {
                tracing::debug!(operation = f.operation, "role not assumable yet; retrying");
                backoff.sleep().await;
            }
            other => return other,
        }
    }
}

/// Creates a service and waits until it runs (and pauses it if asked).
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let attrs = request.attributes;
    let what = request.address.to_string();
    let owned_tags = &tags::with_ownership(attrs, request.stack, request.address);
    let source = &source(attrs, "CreateService").map_err(|f| f.into_provider(&what))?;
    let encryption = &match str_at(attrs, "kms_key") {
        Some(k) => Some(
            EncryptionConfiguration::builder()
                .kms_key(k)
                .build()
                .map_err(|e| build_err("CreateService")(e).into_provider(&what))?,
        ),
        None => None,
    };
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            with_iam_propagation(ctx, || async move {
                ctx.clients
                    .apprunner_once
                    .create_service()
                    .service_name(request.name)
                    .source_configuration(source.clone())
                    .instance_configuration(instance(attrs))
                    .health_check_configuration(health(attrs))
                    .set_auto_scaling_configuration_arn(
                        str_at(attrs, "autoscaling").map(str::to_owned),
                    )
                    .network_configuration(network(attrs))
                    .set_observability_configuration(
                        str_at(attrs, "observability").map(|_| observability(attrs)),
                    )
                    .set_encryption_configuration(encryption.clone())
                    .set_tags(Some(aws_tags(owned_tags)))
                    .send()
                    .await
                    .classify("CreateService")
            })
            .await
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await?;
    let waiting = Waiting {
        verb: "creating",
        address: request.address,
        progress: &request.progress,
    };
    let (arn, answered) = match created {
        Created::New(out) => {
            let Some(service) = out.service else {
                return Err(crate::error::missing("CreateService", "Service").into_provider(&what));
            };
            wait::operation(
                &ctx.clients,
                &ctx.settings,
                &service.service_arn,
                &out.operation_id,
                waiting.clone(),
            )
            .await?;
            ctx.fresh.created(&service.service_arn);
            (service.service_arn.clone(), Some(service))
        }
        Created::Found(found) => {
            // An earlier attempt created it: wait for its creation.
            let op = wait::newest_operation(&ctx.clients, &ctx.settings, &found.physical_id)
                .await
                .map_err(|f| f.into_provider(&what))?;
            if let Some(id) = op.and_then(|o| o.id) {
                wait::operation(
                    &ctx.clients,
                    &ctx.settings,
                    &found.physical_id,
                    &id,
                    waiting.clone(),
                )
                .await?;
            }
            (found.physical_id, None)
        }
    };
    if bool_at(attrs, "paused") {
        pause_or_resume(ctx, &arn, true, waiting.clone()).await?;
    } else if let Some(service) = answered {
        // The create's answer already holds every output (ARN, id, name,
        // URL); the operation's success is what was waited for.
        return Ok(applied(&service));
    }
    let service = describe_after_create(ctx, &arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    Ok(applied(&service))
}

/// Pauses or resumes, waiting for the operation; retries after an
/// operation in progress.
async fn pause_or_resume(
    ctx: &Ctx,
    arn: &str,
    pause: bool,
    waiting: Waiting<'_>,
) -> Result<(), ProviderError> {
    let what = waiting.address.to_string();
    let (operation, verb) = if pause {
        ("PauseService", "pausing")
    } else {
        ("ResumeService", "resuming")
    };
    let waiting = Waiting { verb, ..waiting };
    for _ in 0..ctx.settings.max_attempts.max(1) {
        let out = if pause {
            ctx.clients
                .apprunner
                .pause_service()
                .service_arn(arn)
                .send()
                .await
                .classify(operation)
                .map(|o| o.operation_id)
        } else {
            ctx.clients
                .apprunner
                .resume_service()
                .service_arn(arn)
                .send()
                .await
                .classify(operation)
                .map(|o| o.operation_id)
        };
        match out {
            Ok(Some(id)) => {
                wait::operation(&ctx.clients, &ctx.settings, arn, &id, waiting.clone()).await?;
                return Ok(());
            }
            Ok(None) => return Ok(()),
            Err(f) if f.class == Class::InvalidState => {
                let Some(service) =
                    wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone()).await?
                else {
                    return Err(ProviderError::NotFound { what });
                };
                let done = if pause {
                    service.status == ServiceStatus::Paused
                } else {
                    service.status == ServiceStatus::Running
                };
                if done {
                    return Ok(());
                }
            }
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    Err(ProviderError::Transient {
        operation: operation.to_owned(),
        message: "the service stayed busy with other operations".to_owned(),
    })
}

/// One `UpdateService` with exactly the members in `m`.
async fn update_service(
    ctx: &Ctx,
    arn: &str,
    attrs: &Value,
    m: Members,
) -> Result<Option<String>, ApiFailure> {
    let source = &if m.source {
        Some(source(attrs, "UpdateService")?)
    } else {
        None
    };
    with_iam_propagation(ctx, || async move {
        ctx.clients
            .apprunner
            .update_service()
            .service_arn(arn)
            .set_source_configuration(source.clone())
            .set_instance_configuration(m.instance.then(|| instance(attrs)))
            .set_health_check_configuration(m.health.then(|| health(attrs)))
            .set_auto_scaling_configuration_arn(if m.auto_scaling {
                str_at(attrs, "autoscaling").map(str::to_owned)
            } else {
                None
            })
            .set_network_configuration(m.network.then(|| network(attrs)))
            .set_observability_configuration(m.observability.then(|| observability(attrs)))
            .send()
            .await
            .classify("UpdateService")
    })
    .await
    .map(|o| Some(o.operation_id))
}

/// Changes a service in place: only the members behind `changed`.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let attrs = request.attributes;
    let what = request.address.to_string();
    let not_found = || ProviderError::NotFound { what: what.clone() };
    let mut members = Members::of(changed)?;
    // Removing the auto scaling reference cannot be sent as "none": the
    // service goes back to the account's default configuration.
    let mut with_default;
    let mut attrs = attrs;
    if members.auto_scaling && str_at(attrs, "autoscaling").is_none() {
        match default_auto_scaling(ctx)
            .await
            .map_err(|f| f.into_provider(&what))?
        {
            Some(arn) => {
                with_default = attrs.clone();
                with_default["autoscaling"] = json!(arn);
                attrs = &with_default;
            }
            None => members.auto_scaling = false,
        }
    }
    let waiting = Waiting {
        verb: "updating",
        address: request.address,
        progress: &request.progress,
    };
    let mut service = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(not_found)?;
    let want_paused = bool_at(attrs, "paused");
    if service.status == ServiceStatus::Paused && !want_paused {
        pause_or_resume(ctx, arn, false, waiting.clone()).await?;
    }
    let mut attempts = 0;
    while members.any_configuration() {
        attempts += 1;
        match update_service(ctx, arn, attrs, members).await {
            Ok(Some(id)) => {
                wait::operation(&ctx.clients, &ctx.settings, arn, &id, waiting.clone()).await?;
                break;
            }
            Ok(None) => break,
            Err(f)
                if f.class == Class::InvalidState
                    && attempts < ctx.settings.max_attempts.max(2) =>
            {
                // Someone else's operation: wait for it, re-read, re-diff.
                let Some(now) =
                    wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone()).await?
                else {
                    return Err(not_found());
                };
                service = now;
                let live_tags = list_tags(ctx, arn)
                    .await
                    .map_err(|f| f.into_provider(&what))?;
                let observed = normalize(&service, &live_tags, attrs);
                let paths: Vec<String> = apprun_engine::diff::diff(&observed, attrs)
                    .into_iter()
                    .map(|c| c.path)
                    .collect();
                let again = Members::of(&paths).unwrap_or(members);
                members = Members {
                    source: again.source,
                    instance: again.instance,
                    health: again.health,
                    auto_scaling: again.auto_scaling && str_at(attrs, "autoscaling").is_some(),
                    network: again.network,
                    observability: again.observability,
                    ..members
                };
            }
            Err(f) if f.class == Class::NotFound => return Err(not_found()),
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    if members.tags {
        sync_tags(ctx, arn, attrs)
            .await
            .map_err(|f| match f.class {
                Class::NotFound => not_found(),
                _ => f.into_provider(&what),
            })?;
    }
    let current = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(not_found)?;
    if want_paused && current.status != ServiceStatus::Paused {
        pause_or_resume(ctx, arn, true, waiting.clone()).await?;
    }
    Ok(applied(&current))
}

/// Deletes a service and waits until it is gone; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str, progress: Progress) -> Result<(), ProviderError> {
    ctx.fresh.forget(arn);
    let address = address_of(arn);
    let what = address.to_string();
    let waiting = Waiting {
        verb: "deleting",
        address: &address,
        progress: &progress,
    };
    for _ in 0..ctx.settings.max_attempts.max(2) {
        let out = ctx
            .clients
            .apprunner
            .delete_service()
            .service_arn(arn)
            .send()
            .await
            .classify("DeleteService");
        match out {
            Ok(o) => {
                return wait::operation(&ctx.clients, &ctx.settings, arn, &o.operation_id, waiting)
                    .await
                    .map(|_| ());
            }
            Err(f) if f.class == Class::NotFound => return Ok(()),
            Err(f) if f.class == Class::InvalidState => {
                if wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone())
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
            }
            Err(f) if f.class == Class::Ambiguous => {
                // The delete may have started: read before trying again.
                if describe(ctx, arn)
                    .await
                    .map_err(|f| f.into_provider(&what))?
                    .is_none()
                {
                    return Ok(());
                }
                if wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone())
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
            }
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    Err(ProviderError::Transient {
        operation: "DeleteService".to_owned(),
        message: format!("{what} stayed busy with other operations"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_map_to_update_members() {
        let m = Members::of(&["cpu".into(), "env.A".into()]).unwrap_or_default();
        assert!(m.instance && m.source && !m.health && !m.network && !m.tags);
        let t = Members::of(&["tags.team".into()]).unwrap_or_default();
        assert!(!t.any_configuration() && t.tags);
        assert!(Members::of(&["name".into()]).is_err());
    }

    #[test]
    fn iam_propagation_refusals_are_recognized() {
        let f = ApiFailure::new(
            "CreateService",
            Class::Invalid,
            "InvalidRequestException: Error in assuming instance role arn:aws:iam::1:role/x",
        );
        assert!(iam_propagation(&f));
        let other = ApiFailure::new("CreateService", Class::Invalid, "Invalid Cpu value");
        assert!(!iam_propagation(&other));
    }

    #[test]
    fn units_are_normalized() {
        assert_eq!(cpu_units("1024"), Some(1024));
        assert_eq!(cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(memory_mb("2 GB"), Some(2048));
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
    }

    #[test]
    fn the_address_is_recovered_from_an_arn() {
        assert_eq!(
            address_of("arn:aws:apprunner:us-east-1:1:service/web/0123").to_string(),
            "services.web"
        );
    }
}
