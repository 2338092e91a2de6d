//! Plain input types: what the provider hands to this crate. They know
//! nothing of YAML or of the engine's own model; the provider converts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// A secret value that never shows in `Debug` or `Display`.
///
/// Invariant: the only way to read the value is [`Secret::expose`], used when
/// the container's env is built and when the env digest is computed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a resolved secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call only where it must reach the container.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// An image that must already exist locally (nothing is ever pulled).
    Reference(String),
    /// A build context directory and the Dockerfile inside it; built through
    /// the Engine API and tagged with the `tag` given to the deployment.
    Build {
        /// The context directory.
        context: PathBuf,
        /// The Dockerfile path, relative to the context (usually `Dockerfile`).
        dockerfile: String,
        /// The tag to give the built image (e.g. `apprun-shop/web:latest`).
        tag: String,
    },
    /// apprun's own echo server (used by tests and examples); the tag is
    /// [`crate::images::ECHO`]'s content-addressed tag.
    BuiltinEcho,
}

/// Health-check protocol, as App Runner has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthProtocol {
    /// A TCP connect to the published port succeeds.
    Tcp,
    /// An HTTP GET of `path` answers 2xx or 3xx.
    Http,
}

/// A health check (App Runner's fields and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    /// TCP or HTTP.
    pub protocol: HealthProtocol,
    /// The HTTP path (ignored for TCP).
    pub path: String,
    /// Time between checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Consecutive successes that make a replica healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures that make a replica unhealthy.
    pub unhealthy_threshold: u32,
}

impl Default for HealthSpec {
    /// App Runner's defaults: TCP, `/`, 5 s interval, 2 s timeout, 1 healthy, 5 unhealthy.
    fn default() -> Self {
        HealthSpec {
            protocol: HealthProtocol::Tcp,
            path: "/".to_string(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            healthy_threshold: 1,
            unhealthy_threshold: 5,
        }
    }
}

/// Everything needed to run one service on the local Docker Engine.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// The stack name (label `apprun.stack`).
    pub stack: String,
    /// The resource address, e.g. `services.web` (label `apprun.address`).
    pub address: String,
    /// Where the image comes from.
    pub image: ImageSource,
    /// The container port the service listens on (also given as `PORT`).
    pub port: u16,
    /// Plain environment variables.
    pub env: BTreeMap<String, String>,
    /// Resolved secrets, passed as environment variables; never logged.
    pub secrets: BTreeMap<String, Secret>,
    /// CPU in App Runner units: 1024 = one CPU (0 = no limit).
    pub cpu_units: u32,
    /// Memory limit in MiB (0 = no limit).
    pub memory_mb: u32,
    /// The health check.
    pub health: HealthSpec,
    /// How many replicas run.
    pub min_replicas: u32,
    /// In-flight requests allowed per replica by the front door (0 = no cap).
    pub max_concurrency: u32,
    /// User-defined Docker networks (from VPC connectors) the replicas join;
    /// names as given to [`crate::DockerEngine::ensure_network`].
    pub networks: Vec<String>,
    /// The front door's port on 127.0.0.1; `None` picks a free one the first
    /// time and keeps it afterwards.
    pub front_door_port: Option<u16>,
    /// How long the front door queues a request when every replica is at
    /// `max_concurrency` before answering 429.
    pub queue_timeout: Duration,
    /// Longest time a deployment waits for new replicas to become healthy.
    pub deploy_timeout: Duration,
    /// Extra labels on every replica (e.g. [`crate::labels::NAME`]). They
    /// never replace the ownership labels and must not hold secret values.
    pub labels: BTreeMap<String, String>,
    /// Build a `Build` image without the builder's cache (a `deploy`: every
    /// step runs again, not only those whose inputs changed).
    pub no_cache: bool,
}

impl ServiceSpec {
    /// A spec with defaults: 1 replica, 1 vCPU, 2048 MiB, App Runner's
    /// health-check defaults, max_concurrency 100, no env.
    pub fn new(
        stack: impl Into<String>,
        address: impl Into<String>,
        image: ImageSource,
        port: u16,
    ) -> Self {
        ServiceSpec {
            stack: stack.into(),
            address: address.into(),
            image,
            port,
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            cpu_units: 1024,
            memory_mb: 2048,
            health: HealthSpec::default(),
            min_replicas: 1,
            max_concurrency: 100,
            networks: Vec::new(),
            front_door_port: None,
            queue_timeout: Duration::from_secs(5),
            deploy_timeout: Duration::from_secs(120),
            labels: BTreeMap::new(),
            no_cache: false,
        }
    }

    /// The environment the container gets: `PORT`, then `env`, then secrets.
    /// Contains secret values: never log it.
    pub(crate) fn container_env(&self) -> Vec<String> {
        let mut out = vec![format!("PORT={}", self.port)];
        for (k, v) in &self.env {
            if k != "PORT" {
                out.push(format!("{k}={v}"));
            }
        }
        for (k, v) in &self.secrets {
            out.push(format!("{k}={}", v.expose()));
        }
        out
    }

    /// The digest of the container env (see [`env_digest`]).
    pub fn env_digest(&self) -> String {
        env_digest(self.container_env())
    }
}

/// A digest of a container environment (`KEY=value` entries, any order):
/// hex SHA-256 over the sorted entries with a domain prefix. It is stored in
/// the `apprun.env-digest` label and recomputed from `docker inspect` for
/// drift. It reveals no value; anyone who can read it can also read the
/// container's env through the Docker API, so it adds no exposure.
pub fn env_digest<I, S>(entries: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut sorted: Vec<String> = entries
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect();
    sorted.sort();
    let mut h = Sha256::new();
    h.update(b"apprun.env-digest.v1\0");
    for e in sorted {
        h.update(e.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        let mut spec = ServiceSpec::new("st", "services.web", ImageSource::BuiltinEcho, 8080);
        spec.secrets.insert("DB_PASSWORD".into(), s);
        assert!(!format!("{spec:?}").contains("hunter2"));
        assert!(!spec.env_digest().contains("hunter2"));
    }

    #[test]
    fn env_digest_is_order_independent_and_sensitive_to_values() {
        assert_eq!(env_digest(["A=1", "B=2"]), env_digest(["B=2", "A=1"]));
        assert_ne!(env_digest(["A=1"]), env_digest(["A=2"]));
    }
}
