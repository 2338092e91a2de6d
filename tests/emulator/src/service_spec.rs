//! Turns the configuration members of `CreateService` / `UpdateService` into
//! a [`ServiceSpec`]: validates each member against the model, applies the
//! service's defaults, normalises CPU and memory to `1024`/`2048` units, and
//! resolves the referenced auto scaling, VPC connector and observability
//! ARNs. Nothing here echoes a sensitive value.

use std::sync::LazyLock;

use regex::Regex;

use crate::arn::{Resource, Scope};
use crate::error::ApiError;
use crate::model::{
    CodeConfiguration, EgressConfiguration, EncryptionConfiguration, HealthCheckConfiguration,
    ImageConfiguration, IngressConfiguration, InstanceConfiguration, NetworkConfiguration,
    SensitiveMap, ServiceObservabilityConfiguration, SourceConfiguration,
};
use crate::state::{ServiceSpec, State};
use crate::validate::{self, Violations};

/// The configuration members of a create or update request.
#[derive(Debug, Default)]
pub(crate) struct Members {
    pub source: Option<SourceConfiguration>,
    pub instance: Option<InstanceConfiguration>,
    pub health: Option<HealthCheckConfiguration>,
    pub auto_scaling_arn: Option<String>,
    pub network: Option<NetworkConfiguration>,
    pub observability: Option<ServiceObservabilityConfiguration>,
    pub encryption: Option<EncryptionConfiguration>,
}

impl Members {
    /// Whether no configuration member is present (an empty `UpdateService`).
    pub(crate) fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.instance.is_none()
            && self.health.is_none()
            && self.auto_scaling_arn.is_none()
            && self.network.is_none()
            && self.observability.is_none()
            && self.encryption.is_none()
    }
}

/// Checks every member's shape (lengths, patterns, enums, ranges).
pub(crate) fn check_shapes(v: &mut Violations, m: &Members) {
    if let Some(source) = &m.source {
        check_source(v, source);
    }
    if let Some(i) = &m.instance {
        if let Some(cpu) = &i.cpu
            && v.length(cpu, "instanceConfiguration.cpu", 3, 9)
            && validate::cpu_units(cpu).is_none()
        {
            v.pattern(cpu, "instanceConfiguration.cpu", &CPU_PATTERN);
        }
        if let Some(mem) = &i.memory
            && v.length(mem, "instanceConfiguration.memory", 3, 6)
            && validate::memory_mb(mem).is_none()
        {
            v.pattern(mem, "instanceConfiguration.memory", &MEMORY_PATTERN);
        }
        if let Some(role) = &i.instance_role_arn {
            v.string(
                role,
                "instanceConfiguration.instanceRoleArn",
                29,
                1024,
                &validate::ROLE_ARN,
            );
        }
    }
    if let Some(h) = &m.health {
        if let Some(p) = &h.protocol {
            v.one_of(p, "healthCheckConfiguration.protocol", &["TCP", "HTTP"]);
        }
        if let Some(path) = &h.path {
            v.length(path, "healthCheckConfiguration.path", 1, usize::MAX);
        }
        for (value, member) in [
            (h.interval, "healthCheckConfiguration.interval"),
            (h.timeout, "healthCheckConfiguration.timeout"),
            (
                h.healthy_threshold,
                "healthCheckConfiguration.healthyThreshold",
            ),
            (
                h.unhealthy_threshold,
                "healthCheckConfiguration.unhealthyThreshold",
            ),
        ] {
            if let Some(n) = value {
                v.range(n, member, 1, Some(20));
            }
        }
    }
    if let Some(arn) = &m.auto_scaling_arn {
        v.resource_arn(arn, "autoScalingConfigurationArn");
    }
    if let Some(n) = &m.network {
        if let Some(e) = &n.egress_configuration {
            if let Some(t) = &e.egress_type {
                v.one_of(
                    t,
                    "networkConfiguration.egressConfiguration.egressType",
                    &["DEFAULT", "VPC"],
                );
            }
            if let Some(arn) = &e.vpc_connector_arn {
                v.resource_arn(
                    arn,
                    "networkConfiguration.egressConfiguration.vpcConnectorArn",
                );
            }
        }
        if let Some(ip) = &n.ip_address_type {
            v.one_of(
                ip,
                "networkConfiguration.ipAddressType",
                &["IPV4", "DUAL_STACK"],
            );
        }
    }
    if let Some(o) = &m.observability {
        v.required(
            o.observability_enabled.as_ref(),
            "observabilityConfiguration.observabilityEnabled",
        );
        if let Some(arn) = &o.observability_configuration_arn {
            v.resource_arn(
                arn,
                "observabilityConfiguration.observabilityConfigurationArn",
            );
        }
    }
    if let Some(e) = &m.encryption
        && v.required(e.kms_key.as_ref(), "encryptionConfiguration.kmsKey")
        && let Some(key) = &e.kms_key
    {
        v.string(
            key,
            "encryptionConfiguration.kmsKey",
            0,
            256,
            &validate::KMS_KEY_ARN,
        );
    }
}

/// Patterns shown in the cpu/memory messages (the model's own alternations).
pub(crate) static CPU_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| validate::re(r"^(256|512|1024|2048|4096|(0\.25|0\.5|1|2|4) vCPU)$"));
pub(crate) static MEMORY_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    validate::re(r"^(512|1024|2048|3072|4096|6144|8192|10240|12288|(0\.5|1|2|3|4|6|8|10|12) GB)$")
});

fn check_source(v: &mut Violations, s: &SourceConfiguration) {
    if let Some(code) = &s.code_repository {
        let p = "sourceConfiguration.codeRepository";
        if v.required(code.repository_url.as_ref(), &format!("{p}.repositoryUrl"))
            && let Some(url) = &code.repository_url
        {
            v.length(url, &format!("{p}.repositoryUrl"), 0, 51200);
        }
        if v.required(
            code.source_code_version.as_ref(),
            &format!("{p}.sourceCodeVersion"),
        ) && let Some(ver) = &code.source_code_version
        {
            if v.required(ver.kind.as_ref(), &format!("{p}.sourceCodeVersion.type"))
                && let Some(kind) = &ver.kind
            {
                v.one_of(kind, &format!("{p}.sourceCodeVersion.type"), &["BRANCH"]);
            }
            if v.required(ver.value.as_ref(), &format!("{p}.sourceCodeVersion.value"))
                && let Some(value) = &ver.value
            {
                v.length(value, &format!("{p}.sourceCodeVersion.value"), 0, 51200);
            }
        }
        if let Some(dir) = &code.source_directory
            && v.length(dir, &format!("{p}.sourceDirectory"), 1, 4096)
            && dir.contains('\0')
        {
            v.length("", &format!("{p}.sourceDirectory"), 1, 4096);
        }
        if let Some(cc) = &code.code_configuration {
            check_code_configuration(v, cc, &format!("{p}.codeConfiguration"));
        }
    }
    if let Some(image) = &s.image_repository {
        let p = "sourceConfiguration.imageRepository";
        if v.required(
            image.image_identifier.as_ref(),
            &format!("{p}.imageIdentifier"),
        ) && let Some(id) = &image.image_identifier
            && v.length(id, &format!("{p}.imageIdentifier"), 1, 1024)
            && !validate::PRIVATE_ECR_IMAGE.is_match(id)
        {
            v.pattern(
                id,
                &format!("{p}.imageIdentifier"),
                &validate::PUBLIC_ECR_IMAGE,
            );
        }
        if v.required(
            image.image_repository_type.as_ref(),
            &format!("{p}.imageRepositoryType"),
        ) && let Some(t) = &image.image_repository_type
        {
            v.one_of(
                t,
                &format!("{p}.imageRepositoryType"),
                &["ECR", "ECR_PUBLIC"],
            );
        }
        if let Some(c) = &image.image_configuration {
            let p = format!("{p}.imageConfiguration");
            check_runtime(v, c.start_command.as_deref(), None, c.port.as_deref(), &p);
            check_env(v, c.runtime_environment_variables.as_ref(), &p);
            check_secrets(v, c.runtime_environment_secrets.as_ref(), &p);
        }
    }
    if let Some(auth) = &s.authentication_configuration {
        let p = "sourceConfiguration.authenticationConfiguration";
        if let Some(arn) = &auth.connection_arn {
            v.resource_arn(arn, &format!("{p}.connectionArn"));
        }
        if let Some(role) = &auth.access_role_arn {
            v.string(
                role,
                &format!("{p}.accessRoleArn"),
                29,
                1024,
                &validate::ROLE_ARN,
            );
        }
    }
}

fn check_code_configuration(v: &mut Violations, cc: &CodeConfiguration, p: &str) {
    if v.required(
        cc.configuration_source.as_ref(),
        &format!("{p}.configurationSource"),
    ) && let Some(src) = &cc.configuration_source
    {
        v.one_of(
            src,
            &format!("{p}.configurationSource"),
            &["REPOSITORY", "API"],
        );
    }
    if let Some(values) = &cc.code_configuration_values {
        let p = format!("{p}.codeConfigurationValues");
        if v.required(values.runtime.as_ref(), &format!("{p}.runtime"))
            && let Some(rt) = &values.runtime
        {
            v.one_of(rt, &format!("{p}.runtime"), validate::RUNTIMES);
        }
        check_runtime(
            v,
            values.start_command.as_deref(),
            values.build_command.as_deref(),
            values.port.as_deref(),
            &p,
        );
        check_env(v, values.runtime_environment_variables.as_ref(), &p);
        check_secrets(v, values.runtime_environment_secrets.as_ref(), &p);
    }
}

fn check_runtime(
    v: &mut Violations,
    start: Option<&str>,
    build: Option<&str>,
    port: Option<&str>,
    p: &str,
) {
    if let Some(cmd) = start {
        v.command(cmd, &format!("{p}.startCommand"));
    }
    if let Some(cmd) = build {
        v.command(cmd, &format!("{p}.buildCommand"));
    }
    if let Some(port) = port {
        v.length(port, &format!("{p}.port"), 0, 51200);
    }
}

fn check_env(v: &mut Violations, env: Option<&SensitiveMap>, p: &str) {
    for (name, value) in env.into_iter().flatten() {
        let member = format!("{p}.runtimeEnvironmentVariables");
        v.sensitive_length(name, &format!("{member}.key"), 1, 51200);
        v.sensitive_length(value, &format!("{member}.value"), 0, 51200);
    }
}

fn check_secrets(v: &mut Violations, secrets: Option<&SensitiveMap>, p: &str) {
    for (name, value) in secrets.into_iter().flatten() {
        let member = format!("{p}.runtimeEnvironmentSecrets");
        v.sensitive_length(name, &format!("{member}.key"), 1, 2048);
        v.sensitive_length(value, &format!("{member}.value"), 1, 2048);
    }
}

pub(crate) static SECRET_ARN: LazyLock<Regex> = LazyLock::new(|| {
    validate::re(
        r"^arn:aws[\w-]*:(secretsmanager:[a-z0-9-]+:([0-9]{12}):secret:.+|ssm:[a-z0-9-]+:([0-9]{12}):parameter/.+)$",
    )
});
pub(crate) static SSM_NAME: LazyLock<Regex> =
    LazyLock::new(|| validate::re(r"^[A-Za-z0-9_.\-/]+$"));

/// Builds the spec of a new service (`previous = None`) or of an update.
pub(crate) fn build(
    state: &State,
    scope: &Scope,
    m: Members,
    previous: Option<&ServiceSpec>,
) -> Result<ServiceSpec, ApiError> {
    let source = match (m.source, previous) {
        (Some(new), prev) => {
            let built = build_source(new, prev.map(|p| &p.source), scope)?;
            if built.code_repository.is_some()
                && let Some(arn) = built
                    .authentication_configuration
                    .as_ref()
                    .and_then(|a| a.connection_arn.as_deref())
            {
                crate::connections::check_usable(state, arn)?;
            }
            built
        }
        (None, Some(prev)) => prev.source.clone(),
        (None, None) => return Err(ApiError::invalid("SourceConfiguration is required")),
    };
    let instance = build_instance(m.instance, previous.map(|p| &p.instance))?;
    let health = build_health(m.health, previous.map(|p| &p.health));
    let auto_scaling_arn = match (m.auto_scaling_arn, previous) {
        (Some(arn), _) => resolve_auto_scaling(state, scope, &arn)?,
        (None, Some(prev)) => prev.auto_scaling_arn.clone(),
        (None, None) => state.default_auto_scaling_arn.clone(),
    };
    let network = build_network(state, scope, m.network, previous.map(|p| &p.network))?;
    let observability = match (m.observability, previous) {
        (Some(o), _) => build_observability(state, scope, o)?,
        (None, Some(prev)) => prev.observability.clone(),
        (None, None) => ServiceObservabilityConfiguration {
            observability_enabled: Some(false),
            observability_configuration_arn: None,
        },
    };
    let encryption = match (m.encryption, previous) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "You can't change the encryption configuration of a service",
            ));
        }
        (Some(e), None) => Some(e),
        (None, prev) => prev.and_then(|p| p.encryption.clone()),
    };
    Ok(ServiceSpec {
        source,
        instance,
        health,
        auto_scaling_arn,
        network,
        observability,
        encryption,
    })
}

fn build_source(
    mut new: SourceConfiguration,
    previous: Option<&SourceConfiguration>,
    scope: &Scope,
) -> Result<SourceConfiguration, ApiError> {
    match (&new.code_repository, &new.image_repository) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "SourceConfiguration must contain exactly one of CodeRepository and ImageRepository",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "SourceConfiguration must contain either CodeRepository or ImageRepository",
            ));
        }
        _ => {}
    }
    if let Some(prev) = previous {
        if prev.code_repository.is_some() != new.code_repository.is_some() {
            return Err(ApiError::invalid(
                "You can't switch the source of a service between a code repository and an image repository; provide the same SourceConfiguration member the service was created with",
            ));
        }
        if new.authentication_configuration.is_none() {
            new.authentication_configuration = prev.authentication_configuration.clone();
        }
        if new.auto_deployments_enabled.is_none() {
            new.auto_deployments_enabled = prev.auto_deployments_enabled;
        }
    }
    let auth = new.authentication_configuration.clone().unwrap_or_default();
    if let Some(image) = &mut new.image_repository {
        let id = image.image_identifier.clone().unwrap_or_default();
        let public = image.image_repository_type.as_deref() == Some("ECR_PUBLIC");
        if public && !validate::PUBLIC_ECR_IMAGE.is_match(&id) {
            return Err(ApiError::invalid(format!(
                "Image identifier {id} is not a public ECR image, but ImageRepositoryType is ECR_PUBLIC"
            )));
        }
        if !public && !validate::PRIVATE_ECR_IMAGE.is_match(&id) {
            return Err(ApiError::invalid(format!(
                "Image identifier {id} is not a private ECR image, but ImageRepositoryType is ECR"
            )));
        }
        if !public && auth.access_role_arn.is_none() {
            return Err(ApiError::invalid(
                "Authentication configuration is invalid: AccessRoleArn is required for an image in a private ECR repository",
            ));
        }
        let config = image
            .image_configuration
            .get_or_insert_with(ImageConfiguration::default);
        check_semantics_env(config.runtime_environment_variables.as_ref())?;
        check_semantics_secrets(config.runtime_environment_secrets.as_ref(), scope)?;
        if config.port.is_none() {
            config.port = Some("8080".to_owned());
        }
        if new.auto_deployments_enabled.is_none() {
            new.auto_deployments_enabled = Some(!public);
        }
    }
    if let Some(code) = &mut new.code_repository {
        let connection_ok = auth
            .connection_arn
            .as_deref()
            .is_some_and(|arn| arn.contains(":connection/"));
        if !connection_ok {
            return Err(ApiError::invalid(
                "Authentication configuration is invalid: a ConnectionArn is required for a source code repository",
            ));
        }
        match (&mut code.code_configuration, previous) {
            (None, Some(prev)) => {
                code.code_configuration = prev
                    .code_repository
                    .as_ref()
                    .and_then(|c| c.code_configuration.clone());
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "CodeConfiguration is required in a CreateService request with a CodeRepository",
                ));
            }
            (Some(cc), _) => {
                if cc.configuration_source.as_deref() == Some("API") {
                    let Some(values) = &mut cc.code_configuration_values else {
                        return Err(ApiError::invalid(
                            "CodeConfigurationValues is required when ConfigurationSource is API",
                        ));
                    };
                    check_semantics_env(values.runtime_environment_variables.as_ref())?;
                    check_semantics_secrets(values.runtime_environment_secrets.as_ref(), scope)?;
                    if values.port.is_none() {
                        values.port = Some("8080".to_owned());
                    }
                }
            }
        }
        if code.source_directory.is_none() {
            code.source_directory = Some("/".to_owned());
        }
        if new.auto_deployments_enabled.is_none() {
            new.auto_deployments_enabled = Some(true);
        }
    }
    Ok(new)
}

fn check_semantics_env(env: Option<&SensitiveMap>) -> Result<(), ApiError> {
    if env
        .into_iter()
        .flatten()
        .any(|(k, _)| k.starts_with("AWSAPPRUNNER"))
    {
        return Err(ApiError::invalid(
            "Environment variable names starting with AWSAPPRUNNER are reserved",
        ));
    }
    Ok(())
}

fn check_semantics_secrets(secrets: Option<&SensitiveMap>, scope: &Scope) -> Result<(), ApiError> {
    for (_, value) in secrets.into_iter().flatten() {
        if let Some(caps) = SECRET_ARN.captures(value) {
            let account = caps.get(2).or_else(|| caps.get(3)).map(|m| m.as_str());
            let is_ssm = caps.get(3).is_some();
            if is_ssm && account != Some(scope.account_id.as_str()) {
                return Err(ApiError::invalid(
                    "RuntimeEnvironmentSecrets: SSM parameters from another account are not supported",
                ));
            }
        } else if value.starts_with("arn:") || !SSM_NAME.is_match(value) {
            return Err(ApiError::invalid(
                "RuntimeEnvironmentSecrets values must be the ARN of a Secrets Manager secret or of an SSM parameter, or the name of an SSM parameter in the same region",
            ));
        }
    }
    Ok(())
}

fn build_instance(
    new: Option<InstanceConfiguration>,
    previous: Option<&InstanceConfiguration>,
) -> Result<InstanceConfiguration, ApiError> {
    let base = previous.cloned().unwrap_or(InstanceConfiguration {
        cpu: Some("1024".to_owned()),
        memory: Some("2048".to_owned()),
        instance_role_arn: None,
    });
    let new = new.unwrap_or_default();
    let cpu_text = new.cpu.or(base.cpu).unwrap_or_else(|| "1024".to_owned());
    let memory_text = new
        .memory
        .or(base.memory)
        .unwrap_or_else(|| "2048".to_owned());
    let cpu = validate::cpu_units(&cpu_text)
        .ok_or_else(|| ApiError::invalid(format!("Invalid Cpu value: {cpu_text}")))?;
    let memory = validate::memory_mb(&memory_text)
        .ok_or_else(|| ApiError::invalid(format!("Invalid Memory value: {memory_text}")))?;
    if !validate::cpu_memory_pair_ok(cpu, memory) {
        return Err(ApiError::invalid(format!(
            "The combination of Cpu ({cpu_text}) and Memory ({memory_text}) is not supported"
        )));
    }
    Ok(InstanceConfiguration {
        cpu: Some(cpu.to_string()),
        memory: Some(memory.to_string()),
        instance_role_arn: new.instance_role_arn.or(base.instance_role_arn),
    })
}

fn build_health(
    new: Option<HealthCheckConfiguration>,
    previous: Option<&HealthCheckConfiguration>,
) -> HealthCheckConfiguration {
    let base = previous.cloned().unwrap_or(HealthCheckConfiguration {
        protocol: Some("TCP".to_owned()),
        path: Some("/".to_owned()),
        interval: Some(5),
        timeout: Some(2),
        healthy_threshold: Some(1),
        unhealthy_threshold: Some(5),
    });
    let new = new.unwrap_or_default();
    HealthCheckConfiguration {
        protocol: new.protocol.or(base.protocol),
        path: new.path.or(base.path),
        interval: new.interval.or(base.interval),
        timeout: new.timeout.or(base.timeout),
        healthy_threshold: new.healthy_threshold.or(base.healthy_threshold),
        unhealthy_threshold: new.unhealthy_threshold.or(base.unhealthy_threshold),
    }
}

fn build_network(
    state: &State,
    scope: &Scope,
    new: Option<NetworkConfiguration>,
    previous: Option<&NetworkConfiguration>,
) -> Result<NetworkConfiguration, ApiError> {
    let base = previous.cloned().unwrap_or(NetworkConfiguration {
        egress_configuration: Some(EgressConfiguration {
            egress_type: Some("DEFAULT".to_owned()),
            vpc_connector_arn: None,
        }),
        ingress_configuration: Some(IngressConfiguration {
            is_publicly_accessible: Some(true),
        }),
        ip_address_type: Some("IPV4".to_owned()),
    });
    let new = new.unwrap_or_default();
    let mut egress = new
        .egress_configuration
        .or(base.egress_configuration)
        .unwrap_or_default();
    if egress.egress_type.is_none() {
        egress.egress_type = Some("DEFAULT".to_owned());
    }
    match (
        egress.egress_type.as_deref(),
        egress.vpc_connector_arn.as_deref(),
    ) {
        (Some("VPC"), None) => {
            return Err(ApiError::invalid(
                "VpcConnectorArn is required when EgressType is VPC",
            ));
        }
        (Some("VPC"), Some(arn)) => {
            let found = match scope.parse(arn) {
                Some(Resource::VpcConnector(r)) if r.id.is_some() => state
                    .vpc_connectors
                    .iter()
                    .find(|c| c.arn == arn && c.deleted_at.is_none()),
                _ => None,
            };
            if found.is_none() {
                return Err(ApiError::invalid(format!(
                    "VPC connector {arn} does not exist or is inactive"
                )));
            }
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "VpcConnectorArn can only be set when EgressType is VPC",
            ));
        }
        _ => {}
    }
    // `IsPubliclyAccessible` has the model default `false`, and the SDKs
    // omit a member equal to its default: an `IngressConfiguration` sent
    // without it asks for a private service. Only an absent
    // `IngressConfiguration` keeps the previous (or public) setting.
    let mut ingress = match new.ingress_configuration {
        Some(mut sent) => {
            sent.is_publicly_accessible.get_or_insert(false);
            sent
        }
        None => base.ingress_configuration.unwrap_or_default(),
    };
    if ingress.is_publicly_accessible.is_none() {
        ingress.is_publicly_accessible = Some(true);
    }
    let ip = new
        .ip_address_type
        .or(base.ip_address_type)
        .unwrap_or_else(|| "IPV4".to_owned());
    if ip == "DUAL_STACK" && ingress.is_publicly_accessible == Some(false) {
        return Err(ApiError::invalid(
            "IpAddressType DUAL_STACK is supported only for a public endpoint",
        ));
    }
    Ok(NetworkConfiguration {
        egress_configuration: Some(egress),
        ingress_configuration: Some(ingress),
        ip_address_type: Some(ip),
    })
}

fn build_observability(
    state: &State,
    scope: &Scope,
    o: ServiceObservabilityConfiguration,
) -> Result<ServiceObservabilityConfiguration, ApiError> {
    if o.observability_enabled != Some(true) {
        return Ok(ServiceObservabilityConfiguration {
            observability_enabled: Some(false),
            observability_configuration_arn: None,
        });
    }
    let Some(arn) = o.observability_configuration_arn else {
        return Err(ApiError::invalid(
            "ObservabilityConfigurationArn is required when ObservabilityEnabled is true",
        ));
    };
    let resolved = crate::observability::resolve(state, scope, &arn).map_err(|_| {
        ApiError::invalid(format!(
            "Observability configuration {arn} does not exist or is inactive"
        ))
    })?;
    Ok(ServiceObservabilityConfiguration {
        observability_enabled: Some(true),
        observability_configuration_arn: Some(resolved),
    })
}

fn resolve_auto_scaling(state: &State, scope: &Scope, arn: &str) -> Result<String, ApiError> {
    crate::autoscaling::resolve(state, scope, arn)
        .map(|i| state.auto_scaling[i].arn.clone())
        .map_err(|_| {
            ApiError::invalid(format!(
                "Auto scaling configuration {arn} does not exist or is inactive"
            ))
        })
}
