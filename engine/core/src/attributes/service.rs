//! The attribute document of a service (`services.*`).

use std::collections::BTreeMap;

use apprun_schema::Kind;
use apprun_schema::units::{Cpu, Memory};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttributeError, Sensitive, Tags, decode, encode, number, units};

/// The port the code listens on unless the stack says otherwise.
pub const DEFAULT_PORT: i64 = 8080;
/// The branch a code service deploys unless the stack says otherwise.
pub const DEFAULT_BRANCH: &str = "main";
/// The directory a code service builds from unless the stack says otherwise.
pub const DEFAULT_SOURCE_DIRECTORY: &str = "/";
/// The build context of a `build:` without one (it is required in the
/// stack; a document without it reads as the stack file's directory).
pub const DEFAULT_BUILD_CONTEXT: &str = ".";
/// The Dockerfile of a `build:` unless the stack says otherwise.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";
/// The path an HTTP health check requests unless the stack says otherwise.
pub const DEFAULT_HEALTH_PATH: &str = "/";
/// Seconds between health checks.
pub const DEFAULT_INTERVAL: i64 = 5;
/// Seconds before a health check fails.
pub const DEFAULT_TIMEOUT: i64 = 2;
/// Consecutive successes before an instance is healthy.
pub const DEFAULT_HEALTHY_THRESHOLD: i64 = 1;
/// Consecutive failures before an instance is unhealthy.
pub const DEFAULT_UNHEALTHY_THRESHOLD: i64 = 5;

/// A service's normalized attributes. Members in document order; `Option`
/// members are omitted from the document when `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAttributes {
    /// `image` or `code`.
    pub source_type: SourceType,
    /// The source repository of a code service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeAttributes>,
    /// The image of an image service (references resolved by apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The local build of an image service (Docker target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildAttributes>,
    /// The port the code listens on.
    #[serde(deserialize_with = "number::int")]
    pub port: i64,
    /// CPU per instance, in units.
    #[serde(with = "units::cpu")]
    pub cpu: Cpu,
    /// Memory per instance, in megabytes.
    #[serde(with = "units::memory")]
    pub memory: Memory,
    /// The command that starts an image service (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Sensitive>,
    /// Environment variables (values sensitive).
    pub env: BTreeMap<String, Sensitive>,
    /// Secrets as environment variables: name to secret or parameter ARN.
    pub secrets: BTreeMap<String, String>,
    /// The health check.
    pub health_check: HealthCheckAttributes,
    /// Whether a new image or commit deploys automatically (`desired`
    /// writes it always: `false` for ECR Public images, else `true`).
    pub auto_deploy: bool,
    /// The access role ARN (private ECR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_role: Option<String>,
    /// The instance role ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_role: Option<String>,
    /// The auto scaling configuration ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<String>,
    /// The VPC connector ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_connector: Option<String>,
    /// The observability configuration ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observability: Option<String>,
    /// The KMS key ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// Who can reach the service.
    pub ingress: Ingress,
    /// The IP address type of the public endpoint.
    pub ip_address_type: IpAddressType,
    /// Whether the service is kept paused.
    pub paused: bool,
    /// Tags.
    pub tags: Tags,
    /// The physical name.
    pub name: String,
}

impl Default for ServiceAttributes {
    fn default() -> Self {
        ServiceAttributes {
            source_type: SourceType::Image,
            code: None,
            image: None,
            build: None,
            port: DEFAULT_PORT,
            cpu: Cpu::DEFAULT,
            memory: Memory::DEFAULT,
            start_command: None,
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            health_check: HealthCheckAttributes::default(),
            auto_deploy: false,
            access_role: None,
            instance_role: None,
            autoscaling: None,
            vpc_connector: None,
            observability: None,
            kms_key: None,
            ingress: Ingress::Public,
            ip_address_type: IpAddressType::Ipv4,
            paused: false,
            tags: Tags::new(),
            name: String::new(),
        }
    }
}

impl ServiceAttributes {
    /// Reads a service's document (a request, a record or an observation).
    pub fn from_value(value: &Value) -> Result<Self, AttributeError> {
        decode(Kind::Service, value)
    }

    /// The JSON document.
    pub fn to_value(&self) -> Value {
        encode(self)
    }

    /// Whether the service builds from source code (`source_type: code`, or
    /// a `code` member).
    pub fn is_code(&self) -> bool {
        self.source_type == SourceType::Code || self.code.is_some()
    }

    /// The environment in clear; an error names a sealed variable (a
    /// record passed where a request was due).
    pub fn env_in_clear(&self) -> Result<BTreeMap<String, String>, AttributeError> {
        self.env
            .iter()
            .map(|(name, value)| {
                value
                    .require_clear(Kind::Service, &format!("env.{name}"))
                    .map(|v| (name.clone(), v.to_string()))
            })
            .collect()
    }
}

/// Where a service's code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// An image (or a local build).
    Image,
    /// A source code repository.
    Code,
}

/// The source repository of a code service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeAttributes {
    /// The repository URL.
    pub repository: String,
    /// The branch deployed.
    pub branch: String,
    /// The App Runner connection ARN.
    pub connection: String,
    /// The directory built, within the repository.
    pub source_directory: String,
    /// Where the build settings come from.
    pub configuration_source: ConfigurationSource,
    /// The managed runtime (`PYTHON_3`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The build command (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_command: Option<Sensitive>,
    /// The start command (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Sensitive>,
}

impl Default for CodeAttributes {
    fn default() -> Self {
        CodeAttributes {
            repository: String::new(),
            branch: DEFAULT_BRANCH.to_string(),
            connection: String::new(),
            source_directory: DEFAULT_SOURCE_DIRECTORY.to_string(),
            configuration_source: ConfigurationSource::Api,
            runtime: None,
            build_command: None,
            start_command: None,
        }
    }
}

/// Where a code service's build settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigurationSource {
    /// From the stack.
    Api,
    /// From `apprunner.yaml` in the repository.
    Repository,
}

/// A local image build (Docker target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildAttributes {
    /// The context directory, relative to the stack file.
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
}

impl Default for BuildAttributes {
    fn default() -> Self {
        BuildAttributes {
            context: DEFAULT_BUILD_CONTEXT.to_string(),
            dockerfile: DEFAULT_DOCKERFILE.to_string(),
        }
    }
}

/// A service's health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckAttributes {
    /// TCP or HTTP.
    pub protocol: HealthProtocol,
    /// The path of an HTTP check (`desired` writes it for HTTP only; see
    /// [`HealthCheckAttributes::path`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between checks.
    #[serde(deserialize_with = "number::int")]
    pub interval: i64,
    /// Seconds before a check fails.
    #[serde(deserialize_with = "number::int")]
    pub timeout: i64,
    /// Consecutive successes to become healthy.
    #[serde(deserialize_with = "number::int")]
    pub healthy_threshold: i64,
    /// Consecutive failures to become unhealthy.
    #[serde(deserialize_with = "number::int")]
    pub unhealthy_threshold: i64,
}

impl Default for HealthCheckAttributes {
    fn default() -> Self {
        HealthCheckAttributes {
            protocol: HealthProtocol::Tcp,
            path: None,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            healthy_threshold: DEFAULT_HEALTHY_THRESHOLD,
            unhealthy_threshold: DEFAULT_UNHEALTHY_THRESHOLD,
        }
    }
}

impl HealthCheckAttributes {
    /// The HTTP path, with its default.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(DEFAULT_HEALTH_PATH)
    }
}

/// Health check protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthProtocol {
    /// A TCP connect.
    #[serde(rename = "TCP", alias = "tcp")]
    Tcp,
    /// An HTTP GET expecting 2xx.
    #[serde(rename = "HTTP", alias = "http")]
    Http,
}

/// Who can reach a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ingress {
    /// The internet.
    Public,
    /// Only a VPC interface endpoint.
    Private,
}

/// IP address types of a public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpAddressType {
    /// IPv4 only.
    #[serde(rename = "IPV4")]
    Ipv4,
    /// IPv4 and IPv6.
    #[serde(rename = "DUAL_STACK")]
    DualStack,
}
