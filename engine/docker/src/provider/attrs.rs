//! Normalized attributes (`apprun_engine::desired`) to this crate's plain
//! types: a service's attributes and its dependencies' outputs become a
//! [`ServiceSpec`]. Documents are read through the engine's typed documents
//! (`apprun_engine::attributes`), which own every default.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use apprun_engine::attributes::{
    AutoScalingAttributes, ConnectionAttributes, DomainAttributes, HealthProtocol as AttrProtocol,
    ObservabilityAttributes, RepositoryAttributes, RoleAttributes, ServiceAttributes,
    VpcConnectorAttributes, VpcIngressAttributes,
};
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

/// A service's document (a request or a record), decoded once; a document
/// of the wrong shape is [`ProviderError::Invalid`] naming the field.
pub(crate) fn service_attributes(
    address: &Address,
    attrs: &Value,
) -> Result<ServiceAttributes, ProviderError> {
    ServiceAttributes::from_value(attrs).map_err(|e| invalid(address, e.to_string()))
}

/// The physical name a document of `kind` records, if it decodes and has one.
pub(crate) fn recorded_name(kind: Kind, attrs: &Value) -> Option<String> {
    let name = match kind {
        Kind::Repository => RepositoryAttributes::from_value(attrs).ok()?.name,
        Kind::Role => RoleAttributes::from_value(attrs).ok()?.name,
        Kind::VpcConnector => VpcConnectorAttributes::from_value(attrs).ok()?.name,
        Kind::AutoScaling => AutoScalingAttributes::from_value(attrs).ok()?.name,
        Kind::Observability => ObservabilityAttributes::from_value(attrs).ok()?.name,
        Kind::Connection => ConnectionAttributes::from_value(attrs).ok()?.name,
        Kind::Service => ServiceAttributes::from_value(attrs).ok()?.name,
        // A custom domain is named by its host name.
        Kind::Domain => DomainAttributes::from_value(attrs).ok()?.domain,
        Kind::VpcIngress => VpcIngressAttributes::from_value(attrs).ok()?.name,
    };
    Some(name).filter(|n| !n.is_empty())
}

fn u32_of(address: &Address, key: &str, value: u64) -> Result<u32, ProviderError> {
    u32::try_from(value).map_err(|_| invalid(address, format!("`{key}` is too large: {value}")))
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
/// (min_size, max_size, max_concurrency), absent ones at App Runner's
/// defaults (`apprun_engine::attributes`).
pub(crate) fn scaling_values(
    address: &Address,
    values: &Value,
) -> Result<(u64, u64, u64), ProviderError> {
    let scaling =
        AutoScalingAttributes::from_value(values).map_err(|e| invalid(address, e.to_string()))?;
    let (min, max) = (scaling.min_size, scaling.max_size);
    if min < 1 || max < min {
        return Err(invalid(
            address,
            format!("auto scaling needs 1 <= min_size <= max_size (got {min} and {max})"),
        ));
    }
    let concurrency = u64::try_from(scaling.max_concurrency).map_err(|_| {
        invalid(
            address,
            format!(
                "`max_concurrency` must be a whole number, not {}",
                scaling.max_concurrency
            ),
        )
    })?;
    Ok((min.unsigned_abs(), max.unsigned_abs(), concurrency))
}

/// What a service needs besides its spec.
pub(crate) struct ServicePlan {
    /// The spec (secrets resolved).
    pub spec: ServiceSpec,
    /// Attributes the Docker target cannot honour, as progress notes.
    pub notes: Vec<String>,
}

/// `value` with every URL that is a key of `urls` replaced by its value.
/// The URLs end in a port, so one is replaced only where no digit follows:
/// `…:80` is not replaced inside `…:8080`.
pub(crate) fn rewrite_urls(value: &str, urls: &BTreeMap<String, String>) -> String {
    let continues = |c: char| c.is_ascii_digit();
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    'scan: while !rest.is_empty() {
        for (from, to) in urls {
            if let Some(after) = rest.strip_prefix(from.as_str())
                && !after.starts_with(continues)
            {
                out.push_str(to);
                rest = after;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// The health check of a service's document.
pub(crate) fn health_spec(
    address: &Address,
    attrs: &ServiceAttributes,
) -> Result<HealthSpec, ProviderError> {
    let check = &attrs.health_check;
    // Zero or less means at least one (second, check).
    let seconds = |value: i64| Duration::from_secs(value.max(1).unsigned_abs());
    let count = |key: &str, value: i64| u32_of(address, key, value.max(1).unsigned_abs());
    Ok(HealthSpec {
        protocol: match check.protocol {
            AttrProtocol::Http => HealthProtocol::Http,
            AttrProtocol::Tcp => HealthProtocol::Tcp,
        },
        path: check.path().to_string(),
        interval: seconds(check.interval),
        timeout: seconds(check.timeout),
        healthy_threshold: count("healthy_threshold", check.healthy_threshold)?,
        unhealthy_threshold: count("unhealthy_threshold", check.unhealthy_threshold)?,
    })
}

/// Builds the [`ServiceSpec`] of a service request whose document is
/// `attrs`. `secrets` are resolved already; `base_dir` is the stack file's
/// directory; `urls` maps the URLs of services as people see them to the
/// URLs that reach them from containers, rewritten in env values.
pub(crate) fn service_spec(
    request: &ResourceRequest<'_>,
    attrs: &ServiceAttributes,
    base_dir: &Path,
    secrets: BTreeMap<String, Secret>,
    urls: &BTreeMap<String, String>,
) -> Result<ServicePlan, ProviderError> {
    let address = request.address;
    let mut notes = Vec::new();
    if attrs.is_code() {
        return Err(invalid(
            address,
            "source code services cannot run on the Docker target; give the service `image:` \
             or `build:`",
        ));
    }
    let image_ref = attrs.image.as_deref();
    let image = if let Some(build) = &attrs.build {
        // components() drops the `.` of `dir/./app`, for every message.
        let context: std::path::PathBuf = base_dir.join(&build.context).components().collect();
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
            dockerfile: build.dockerfile.clone(),
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
    let port = attrs.port;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(address, format!("`port` {port} is not a TCP port")))?;
    let mut spec = ServiceSpec::new(request.stack, address.to_string(), image, port);
    spec.env = attrs
        .env_in_clear()
        .map_err(|e| invalid(address, e.to_string()))?
        .into_iter()
        .map(|(k, v)| (k, rewrite_urls(&v, urls)))
        .collect();
    spec.secrets = secrets;
    spec.cpu_units = attrs.cpu.0;
    spec.memory_mb = attrs.memory.0;
    spec.health = health_spec(address, attrs)?;
    if let Some(asc) = attrs.autoscaling.as_deref() {
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
    if let Some(connector) = attrs.vpc_connector.as_deref() {
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
    if attrs.start_command.is_some() {
        notes.push(
            "`start_command` is not applied on the Docker target yet; the image's own command runs"
                .to_string(),
        );
    }
    if attrs.paused {
        notes.push("`paused` has no effect on the Docker target; the service runs".to_string());
    }
    spec.labels
        .insert(labels::NAME.to_string(), request.name.to_string());
    spec.labels
        .insert(labels::REPLICAS.to_string(), spec.min_replicas.to_string());
    Ok(ServicePlan { spec, notes })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn plan(attributes: &Value) -> Result<ServicePlan, ProviderError> {
        let address = Address::new(Kind::Service, "web");
        let dependencies = BTreeMap::new();
        let request = ResourceRequest {
            stack: "demo",
            address: &address,
            name: "demo-web",
            attributes,
            dependencies: &dependencies,
            progress: Arc::new(|_: &Address, _: &str| {}),
            created: apprun_engine::provider::Created::ignore(),
        };
        let attrs = service_attributes(&address, attributes)?;
        service_spec(
            &request,
            &attrs,
            Path::new("."),
            BTreeMap::new(),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn urls_are_rewritten_whole_and_only_whole() {
        let urls = BTreeMap::from([(
            "http://127.0.0.1:80".to_string(),
            "http://fd:80".to_string(),
        )]);
        assert_eq!(
            rewrite_urls("http://127.0.0.1:80/v1 and http://127.0.0.1:80", &urls),
            "http://fd:80/v1 and http://fd:80"
        );
        assert_eq!(
            rewrite_urls("http://127.0.0.1:8080/", &urls),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(rewrite_urls("plain ünïcode", &urls), "plain ünïcode");
    }

    #[test]
    fn absent_members_take_the_engine_defaults() {
        let plan = plan(&json!({ "image": "nginx:1", "env": { "A": "x" } })).unwrap();
        let spec = plan.spec;
        assert_eq!(
            (spec.port, spec.cpu_units, spec.memory_mb),
            (8080, 1024, 2048)
        );
        assert_eq!(spec.env.get("A").map(String::as_str), Some("x"));
        assert_eq!(spec.health.protocol, HealthProtocol::Tcp);
        assert_eq!(spec.health.path, "/");
        assert_eq!(spec.health.interval, Duration::from_secs(5));
        assert_eq!(spec.health.timeout, Duration::from_secs(2));
        assert_eq!(
            (
                spec.health.healthy_threshold,
                spec.health.unhealthy_threshold
            ),
            (1, 5)
        );
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn a_bad_member_is_invalid_and_named_without_its_value() {
        let Err(err) = plan(&json!({ "image": "nginx:1", "port": "secret-port" })) else {
            panic!("a port that is not a number is refused");
        };
        let text = err.to_string();
        assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
        assert!(
            text.contains("`port`") && !text.contains("secret-port"),
            "{text}"
        );

        let Err(err) = plan(&json!({ "image": "nginx:1", "port": 70000 })) else {
            panic!("a port above 65535 is refused");
        };
        assert!(err.to_string().contains("is not a TCP port"), "{err}");

        let sealed = json!({ "image": "nginx:1", "env": { "A": { "$sensitive": "digest" } } });
        let Err(err) = plan(&sealed) else {
            panic!("a sealed env value cannot start a container");
        };
        assert!(err.to_string().contains("env.A"), "{err}");
    }

    #[test]
    fn scaling_values_read_outputs_with_defaults_and_check_the_range() {
        let address = Address::new(Kind::AutoScaling, "steady");
        let outputs = json!({ "arn": "arn:x", "name": "n", "min_size": "2" });
        assert_eq!(scaling_values(&address, &outputs).unwrap(), (2, 25, 100));
        let bad = json!({ "min_size": 3, "max_size": 2 });
        assert!(scaling_values(&address, &bad).is_err());
        assert!(scaling_values(&address, &json!({ "min_size": 0 })).is_err());
    }
}
