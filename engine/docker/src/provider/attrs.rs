//! Normalized attributes (`apprun_engine::desired`) to this crate's plain
//! types: a service's attributes and its dependencies' outputs become a
//! [`ServiceSpec`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use apprun_engine::provider::{ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use serde_json::Value;

use crate::labels;
use crate::spec::{HealthProtocol, HealthSpec, ImageSource, Secret, ServiceSpec};

/// The local image namespace: repositories' `uri` and builds' tags live here.
pub const IMAGE_NAMESPACE: &str = "apprun.local";

pub(crate) fn invalid(address: &Address, message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid {
        operation: format!("apply {address} on the Docker target"),
        message: message.into(),
    }
}

pub(crate) fn str_attr<'a>(attrs: &'a Value, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

fn u64_attr(address: &Address, attrs: &Value, key: &str) -> Result<Option<u64>, ProviderError> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| invalid(address, format!("`{key}` must be a whole number, not {v}"))),
    }
}

fn u32_of(address: &Address, key: &str, value: u64) -> Result<u32, ProviderError> {
    u32::try_from(value).map_err(|_| invalid(address, format!("`{key}` is too large: {value}")))
}

/// A string map attribute (`env`, `secrets`, `tags`).
pub(crate) fn string_map(attrs: &Value, key: &str) -> BTreeMap<String, String> {
    attrs
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Lower-cases and replaces what a Docker repository path may not hold.
pub(crate) fn image_path_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '/' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A repository's local `uri`: `apprun.local/<stack>/<name>`.
pub fn repository_uri(stack: &str, name: &str) -> String {
    format!(
        "{IMAGE_NAMESPACE}/{}/{}",
        image_path_part(stack),
        image_path_part(name)
    )
}

/// The dependency whose output `arn` is `arn`.
pub(crate) fn dependency_with_arn<'a>(
    request: &'a ResourceRequest<'_>,
    kind: Kind,
    arn: &str,
) -> Option<(&'a Address, &'a BTreeMap<String, Value>)> {
    request.dependencies.iter().find(|(a, outputs)| {
        a.kind == kind && outputs.get("arn").and_then(Value::as_str) == Some(arn)
    })
}

/// Auto scaling values of an `autoscaling` resource's attributes or outputs:
/// (min_size, max_size, max_concurrency), with App Runner's defaults.
pub(crate) fn scaling_values(
    address: &Address,
    values: &Value,
) -> Result<(u64, u64, u64), ProviderError> {
    let min = u64_attr(address, values, "min_size")?.unwrap_or(1);
    let max = u64_attr(address, values, "max_size")?.unwrap_or(25);
    let concurrency = u64_attr(address, values, "max_concurrency")?.unwrap_or(100);
    if min == 0 || max < min {
        return Err(invalid(
            address,
            format!("auto scaling needs 1 <= min_size <= max_size (got {min} and {max})"),
        ));
    }
    Ok((min, max, concurrency))
}

/// What a service needs besides its spec.
pub(crate) struct ServicePlan {
    /// The spec (secrets resolved).
    pub spec: ServiceSpec,
    /// Attributes the Docker target cannot honour, as progress notes.
    pub notes: Vec<String>,
}

/// Builds the [`ServiceSpec`] of a service request. `secrets` are resolved
/// already; `base_dir` is the stack file's directory.
pub(crate) fn service_spec(
    request: &ResourceRequest<'_>,
    base_dir: &Path,
    secrets: BTreeMap<String, Secret>,
) -> Result<ServicePlan, ProviderError> {
    let address = request.address;
    let attrs = request.attributes;
    let mut notes = Vec::new();
    if str_attr(attrs, "source_type") == Some("code") || attrs.get("code").is_some() {
        return Err(invalid(
            address,
            "source code services cannot run on the Docker target; give the service `image:` \
             or `build:`",
        ));
    }
    let image_ref = str_attr(attrs, "image");
    let image = if let Some(build) = attrs.get("build").filter(|b| b.is_object()) {
        let context = str_attr(build, "context").unwrap_or(".");
        let dockerfile = str_attr(build, "dockerfile").unwrap_or("Dockerfile");
        // components() drops the `.` of `dir/./app`, for every message.
        let context: std::path::PathBuf = base_dir.join(context).components().collect();
        if !context.is_dir() {
            return Err(invalid(
                address,
                format!(
                    "build context {} is not a directory (contexts are relative to the stack file's directory)",
                    context.display()
                ),
            ));
        }
        // An image in the local namespace names where the build goes;
        // anything else (a registry image for AWS) is left alone.
        let tag = match image_ref {
            Some(r) if r.starts_with(&format!("{IMAGE_NAMESPACE}/")) => r.to_string(),
            _ => format!(
                "{}:latest",
                repository_uri(request.stack, &format!("build-{}", address.name))
            ),
        };
        ImageSource::Build {
            context,
            dockerfile: dockerfile.to_string(),
            tag,
        }
    } else if let Some(r) = image_ref {
        ImageSource::Reference(r.to_string())
    } else {
        return Err(invalid(
            address,
            "the service has neither `image` nor `build`",
        ));
    };
    let port = u64_attr(address, attrs, "port")?.unwrap_or(8080);
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(address, format!("`port` {port} is not a TCP port")))?;
    let mut spec = ServiceSpec::new(request.stack, address.to_string(), image, port);
    spec.env = string_map(attrs, "env");
    spec.secrets = secrets;
    spec.cpu_units = u32_of(
        address,
        "cpu",
        u64_attr(address, attrs, "cpu")?.unwrap_or(1024),
    )?;
    spec.memory_mb = u32_of(
        address,
        "memory",
        u64_attr(address, attrs, "memory")?.unwrap_or(2048),
    )?;
    if let Some(check) = attrs.get("health_check").filter(|c| c.is_object()) {
        let seconds = |key: &str, default: u64| -> Result<Duration, ProviderError> {
            Ok(Duration::from_secs(
                u64_attr(address, check, key)?.unwrap_or(default).max(1),
            ))
        };
        let count = |key: &str, default: u64| -> Result<u32, ProviderError> {
            u32_of(
                address,
                key,
                u64_attr(address, check, key)?.unwrap_or(default).max(1),
            )
        };
        spec.health = HealthSpec {
            protocol: match str_attr(check, "protocol") {
                Some(p) if p.eq_ignore_ascii_case("HTTP") => HealthProtocol::Http,
                _ => HealthProtocol::Tcp,
            },
            path: str_attr(check, "path").unwrap_or("/").to_string(),
            interval: seconds("interval", 5)?,
            timeout: seconds("timeout", 2)?,
            healthy_threshold: count("healthy_threshold", 1)?,
            unhealthy_threshold: count("unhealthy_threshold", 5)?,
        };
    }
    if let Some(asc) = str_attr(attrs, "autoscaling") {
        let Some((dep, outputs)) = dependency_with_arn(request, Kind::AutoScaling, asc) else {
            return Err(invalid(
                address,
                format!(
                    "`autoscaling` {asc} is not an auto scaling configuration of this stack; \
                     on the Docker target use `${{autoscaling.<name>.arn}}`"
                ),
            ));
        };
        let outputs = Value::Object(outputs.clone().into_iter().collect());
        let (min, _max, concurrency) = scaling_values(dep, &outputs)?;
        spec.min_replicas = u32_of(address, "min_size", min)?;
        spec.max_concurrency = u32_of(address, "max_concurrency", concurrency)?;
    }
    if let Some(connector) = str_attr(attrs, "vpc_connector") {
        let Some((dep, _)) = dependency_with_arn(request, Kind::VpcConnector, connector) else {
            return Err(invalid(
                address,
                format!(
                    "`vpc_connector` {connector} is not a VPC connector of this stack; \
                     on the Docker target use `${{vpc_connectors.<name>.arn}}`"
                ),
            ));
        };
        spec.networks = vec![dep.name.clone()];
    }
    if str_attr(attrs, "start_command").is_some() {
        notes.push(
            "`start_command` is not applied on the Docker target yet; the image's own command runs"
                .to_string(),
        );
    }
    if attrs.get("paused").and_then(Value::as_bool) == Some(true) {
        notes.push("`paused` has no effect on the Docker target; the service runs".to_string());
    }
    spec.labels
        .insert(labels::NAME.to_string(), request.name.to_string());
    spec.labels
        .insert(labels::REPLICAS.to_string(), spec.min_replicas.to_string());
    Ok(ServicePlan { spec, notes })
}
