//! [`DockerProvider`]: the engine's [`Provider`] for the local Docker target.
//!
//! How each kind lives on Docker (README, "Provider"):
//!
//! | kind | on Docker | outputs |
//! |---|---|---|
//! | `repositories` | a local image namespace, nothing created | `arn`, `name`, `uri` (`apprun.local/<stack>/<name>`) |
//! | `roles` | recorded only | `arn`, `name` |
//! | `vpc_connectors` | a user-defined bridge network | `arn`, `name`, `network` |
//! | `autoscaling` | recorded only; values flow to services (`default` has no meaning) | `arn`, `name`, `min_size`, `max_size`, `max_concurrency` |
//! | `observability` | recorded only (no tracing locally) | `arn`, `name`, `revision` |
//! | `connections` | recorded only (no handshake locally) | `arn`, `name`, `status` = `AVAILABLE` |
//! | `services` | replicas + front door, deployed blue/green | `arn`, `name`, `id`, `url` |
//! | `domains` | a front door of its own serving only the domain's `Host` ([`crate::domain`]) | `domain`, `dns_target`, `status`, `validation_records`, `url` |
//! | `vpc_ingress` | recorded only (every local service is on 127.0.0.1) | `arn`, `name`, `domain_name` |
//!
//! ARNs and physical ids: see [`arn`]. Drift: see [`observe::DRIFT_ATTRIBUTE`].
//! The day-2 methods (`deploy`, `status`, `logs`) live in `provider/day2.rs`
//! (README, "Day 2").

pub mod arn;
pub(crate) mod attrs;
mod custom_domain;
mod day2;
pub mod errors;
pub(crate) mod observe;
pub mod secrets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use apprun_engine::live::{Deployment, LiveStatus, LogEvent, LogQuery};
use apprun_engine::provider::{
    Applied, Observed, Progress, Provider, ProviderError, ResourceRequest,
};
use apprun_schema::{Address, Kind};
use serde_json::Value;

use crate::deploy::Progress as DeployProgress;
use crate::engine::{DockerEngine, instance_of};
use crate::error::{DockerError, status_of};
use crate::labels;
use crate::spec::ImageSource;

pub use attrs::{IMAGE_NAMESPACE, repository_uri};
pub use observe::DRIFT_ATTRIBUTE;
pub use secrets::ENV_PREFIX as SECRET_ENV_PREFIX;

use apprun_engine::attributes::{AutoScalingAttributes, CONNECTION_AVAILABLE, ServiceAttributes};
use attrs::{recorded_name, scaling_values, service_attributes};
use errors::to_provider_error;
use secrets::SecretSource;

/// Top-level service attributes that have no effect on Docker: an update
/// that changes only these does not redeploy.
const NO_EFFECT: &[&str] = &[
    "tags",
    "auto_deploy",
    "access_role",
    "instance_role",
    "observability",
    "kms_key",
    "ingress",
    "ip_address_type",
];

/// What started a deployment of a service, as App Runner names its
/// operations (label [`labels::OPERATION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceOperation {
    /// `create`.
    CreateService,
    /// `update`.
    UpdateService,
    /// `deploy`.
    StartDeployment,
}

impl ServiceOperation {
    /// The App Runner operation type.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServiceOperation::CreateService => "CREATE_SERVICE",
            ServiceOperation::UpdateService => "UPDATE_SERVICE",
            ServiceOperation::StartDeployment => "START_DEPLOYMENT",
        }
    }
}

/// The Docker target's [`Provider`].
///
/// ```no_run
/// # async fn f() -> Result<(), apprun_engine::provider::ProviderError> {
/// use apprun_docker::DockerProvider;
/// let provider = DockerProvider::connect("examples/hello")
///     .await?
///     .with_state_location("examples/hello/.apprun/hello.docker.state.json")
///     .with_secrets_file("secrets.local.yaml");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DockerProvider {
    engine: DockerEngine,
    base_dir: PathBuf,
    secrets: SecretSource,
    deploy_timeout: Duration,
    queue_timeout: Duration,
    builtins: tokio::sync::OnceCell<()>,
}

impl DockerProvider {
    /// A provider on `engine`; build contexts are relative to `base_dir`
    /// (the stack file's directory).
    pub fn new(engine: DockerEngine, base_dir: impl Into<PathBuf>) -> Self {
        DockerProvider {
            engine,
            base_dir: base_dir.into(),
            secrets: SecretSource::default(),
            deploy_timeout: Duration::from_secs(120),
            queue_timeout: Duration::from_secs(5),
            builtins: tokio::sync::OnceCell::new(),
        }
    }

    /// Connects to the Docker Engine (`DOCKER_HOST` or the local socket) and
    /// returns a provider whose build contexts are relative to `base_dir`.
    /// An unreachable engine is [`ProviderError::Fatal`] with help.
    pub async fn connect(base_dir: impl Into<PathBuf>) -> Result<Self, ProviderError> {
        let engine = DockerEngine::connect()
            .await
            .map_err(|e| to_provider_error("connect to the Docker Engine", e))?;
        Ok(Self::new(engine, base_dir))
    }

    /// Binds the provider to the stack copy whose state lives at `location`
    /// (a URL such as `s3://bucket/key` as given; a file path canonicalized
    /// here, which need not exist yet): everything it creates carries the
    /// location's instance label ([`crate::instance_of`]) and it sees nothing
    /// of another copy. Two folders that deploy stacks of the same name so
    /// never adopt or remove each other's containers.
    pub fn with_state_location(mut self, location: &str) -> Self {
        self.engine = self.engine.with_instance(state_instance(location));
        self
    }

    /// Reads secret values also from this YAML or JSON file (a map from ARN
    /// or secret name to value); `APPRUN_SECRET_<NAME>` still wins.
    pub fn with_secrets_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.secrets.file = Some(path.into());
        self
    }

    /// How long a deployment waits for new replicas to pass their health
    /// checks (default 120 s) before it is rolled back.
    pub fn with_deploy_timeout(mut self, timeout: Duration) -> Self {
        self.deploy_timeout = timeout;
        self
    }

    /// How long the front door queues a request when every replica is at
    /// `max_concurrency` before it answers 429 (default 5 s).
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// The engine connection.
    pub fn engine(&self) -> &DockerEngine {
        &self.engine
    }

    /// The directory build contexts are relative to.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Builds apprun's own images once per provider and tags them
    /// `apprun/echo:latest` and `apprun/front-door:latest`.
    async fn ensure_builtins(&self) -> Result<(), ProviderError> {
        self.builtins
            .get_or_try_init(|| async {
                self.engine
                    .ensure_builtin_aliases()
                    .await
                    .map_err(|e| to_provider_error("build apprun's built-in images", e))
            })
            .await
            .map(|_| ())
    }

    fn arn_of(request: &ResourceRequest<'_>) -> Result<String, ProviderError> {
        let address = request.address;
        Ok(match address.kind {
            Kind::AutoScaling => {
                let (min, max, c) = scaling_values(address, request.attributes)?;
                arn::autoscaling_arn(request.stack, &address.name, min, max, c)
            }
            kind => arn::arn(kind, request.stack, &address.name),
        })
    }

    /// Outputs of a kind that creates nothing on Docker (or a network), from
    /// its attributes (a request, a record, or only `name`).
    fn outputs(
        &self,
        kind: Kind,
        stack: &str,
        key: &str,
        arn: &str,
        attributes: &Value,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let name = recorded_name(kind, attributes).unwrap_or_else(|| key.to_string());
        out.insert("arn".to_string(), Value::String(arn.to_string()));
        match kind {
            Kind::Repository => {
                out.insert(
                    "uri".to_string(),
                    Value::String(repository_uri(stack, &name)),
                );
            }
            Kind::VpcConnector => {
                out.insert(
                    "network".to_string(),
                    Value::String(self.engine.network_name(stack, key)),
                );
            }
            Kind::AutoScaling => {
                // Services scale by these (`scaling_values` reads them back).
                if let Ok(scaling) = AutoScalingAttributes::from_value(attributes) {
                    for (field, value) in [
                        ("min_size", scaling.min_size),
                        ("max_size", scaling.max_size),
                        ("max_concurrency", scaling.max_concurrency),
                    ] {
                        out.insert(field.to_string(), Value::from(value));
                    }
                }
            }
            // Docker keeps no revisions: every configuration is the first.
            Kind::Observability => {
                out.insert("revision".to_string(), Value::String("1".to_string()));
            }
            // Nothing to hand-shake with locally.
            Kind::Connection => {
                out.insert(
                    "status".to_string(),
                    Value::String(CONNECTION_AVAILABLE.to_string()),
                );
            }
            // `domain_name` needs the engine: see `recorded_outputs`. Domains
            // have outputs of their own (`custom_domain::domain_outputs`).
            Kind::Role | Kind::Service | Kind::VpcIngress | Kind::Domain => {}
        }
        out.insert("name".to_string(), Value::String(name));
        out
    }

    /// [`DockerProvider::outputs`] of a kind that is recorded only (or a
    /// network), with what only the engine knows: a VPC ingress
    /// connection's `domain_name`.
    async fn recorded_outputs(
        &self,
        kind: Kind,
        stack: &str,
        key: &str,
        arn: &str,
        attributes: &Value,
    ) -> Result<BTreeMap<String, Value>, ProviderError> {
        let mut out = self.outputs(kind, stack, key, arn, attributes);
        if kind == Kind::VpcIngress {
            let address = Address::new(kind, key);
            let domain_name = self
                .vpc_ingress_domain_name(stack, &address, attributes)
                .await?;
            out.insert("domain_name".to_string(), Value::String(domain_name));
        }
        Ok(out)
    }

    fn service_outputs(
        arn: &str,
        name: &str,
        front_door_port: Option<u16>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        out.insert("arn".to_string(), Value::String(arn.to_string()));
        out.insert("name".to_string(), Value::String(name.to_string()));
        out.insert("id".to_string(), Value::String(arn::service_id(arn)));
        if let Some(port) = front_door_port {
            out.insert(
                "url".to_string(),
                Value::String(format!("http://127.0.0.1:{port}")),
            );
        }
        out
    }

    /// The URLs of the services `request` depends on as people see them
    /// (`http://127.0.0.1:<port>`, their `url` output) mapped to the URL
    /// that reaches them from a container on the stack network
    /// (`http://<front door host>:<port>`).
    fn internal_urls(&self, request: &ResourceRequest<'_>) -> BTreeMap<String, String> {
        request
            .dependencies
            .iter()
            .filter(|(address, _)| address.kind == Kind::Service)
            .filter_map(|(address, outputs)| {
                let url = outputs.get("url")?.as_str()?;
                let port = url.strip_prefix("http://127.0.0.1:")?.parse::<u16>().ok()?;
                let host = self
                    .engine
                    .front_door_host(request.stack, &address.to_string());
                Some((url.to_string(), format!("http://{host}:{port}")))
            })
            .collect()
    }

    /// Deploys the service of `request` blue/green: `kind` says what
    /// started it (label [`labels::OPERATION`]); a
    /// [`ServiceOperation::StartDeployment`] builds without the cache.
    async fn deploy_service(
        &self,
        request: &ResourceRequest<'_>,
        arn: &str,
        kind: ServiceOperation,
    ) -> Result<(Applied, crate::Deployment), ProviderError> {
        let address = request.address;
        let operation = format!("deploy {address}");
        let attributes = service_attributes(address, request.attributes)?;
        let secrets = self
            .secrets
            .resolve(&address.to_string(), &attributes.secrets)?;
        let urls = self.internal_urls(request);
        let plan = attrs::service_spec(request, &attributes, &self.base_dir, secrets, &urls)?;
        let mut spec = plan.spec;
        spec.deploy_timeout = self.deploy_timeout;
        spec.queue_timeout = self.queue_timeout;
        spec.no_cache = kind == ServiceOperation::StartDeployment;
        spec.labels
            .insert(labels::OPERATION.to_string(), kind.name().to_string());
        for note in &plan.notes {
            (request.progress)(address, note);
        }
        self.ensure_builtins().await?;
        if let ImageSource::Build { tag, context, .. } = &spec.image {
            (request.progress)(
                address,
                &format!("building {tag} from {}", context.display()),
            );
            if let Some(digest) = crate::context_digest::context_digest(context) {
                spec.labels
                    .insert(crate::labels::BUILD_DIGEST.to_string(), digest);
            }
        }
        let progress = request.progress.clone();
        let report_to = address.clone();
        let mut on_progress = move |p: DeployProgress| {
            let line = match p {
                DeployProgress::Build(b) => format!("build: {}", b.line),
                DeployProgress::ReplicasStarted { generation, count } => {
                    format!("started {count} replica(s) of deployment {generation}")
                }
                DeployProgress::Healthy => "new replicas passed their health checks".to_string(),
                DeployProgress::Switched { url } => format!("{url} now serves the new replicas"),
                // A first deployment has no previous one to mention.
                DeployProgress::OldStopped { count: 0 } => return,
                DeployProgress::OldStopped { count } => {
                    format!("stopped {count} replica(s) of the previous deployment")
                }
                DeployProgress::RolledBack { reason } => {
                    format!("rolled back, the previous version keeps serving: {reason}")
                }
            };
            progress(&report_to, &line);
        };
        let image = self
            .engine
            .resolve_image(&spec, &mut on_progress)
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        // Recorded before the first Docker object of it exists (the stack
        // network, a replica): whatever stops the run from here on, the
        // state names the service and `destroy` removes it by its labels.
        request
            .created
            .report(&Applied {
                physical_id: arn.to_string(),
                outputs: Self::service_outputs(arn, request.name, None),
            })
            .await?;
        let deployment = self
            .engine
            .deploy_image(&spec, &image, &mut on_progress)
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        Ok((
            Applied {
                physical_id: arn.to_string(),
                outputs: Self::service_outputs(arn, request.name, Some(deployment.front_door.port)),
            },
            deployment,
        ))
    }

    /// The parsed ARN, checked against the request.
    fn own_arn(
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> Result<arn::LocalArn, ProviderError> {
        arn::parse(physical_id)
            .filter(|a| {
                a.kind == request.address.kind
                    && a.stack == request.stack
                    && a.key == request.address.name
            })
            .ok_or_else(|| ProviderError::NotFound {
                what: format!(
                    "{} {physical_id} (not a Docker-target id of stack {})",
                    request.address, request.stack
                ),
            })
    }

    /// Whether the network of VPC connector `key` exists and is the stack's.
    async fn network_exists(&self, stack: &str, key: &str) -> Result<bool, ProviderError> {
        let address = Address::new(Kind::VpcConnector, key).to_string();
        let networks = self
            .engine
            .list_owned_networks(stack)
            .await
            .map_err(|e| to_provider_error(&format!("read {address}"), e))?;
        Ok(networks
            .iter()
            .any(|n| n.address == address && n.name == self.engine.network_name(stack, key)))
    }

    /// Removes the network of VPC connector `key`. When replicas of this
    /// stack are still attached (a replacement connector of the same key
    /// shares the network), it is kept.
    async fn delete_network(
        &self,
        stack: &str,
        key: &str,
        progress: &Progress,
    ) -> Result<(), ProviderError> {
        let address = Address::new(Kind::VpcConnector, key);
        let net = self.engine.network_name(stack, key);
        let operation = format!("delete {address}");
        match self.engine.remove_network(stack, key).await {
            Ok(()) => Ok(()),
            Err(DockerError::Api {
                status: Some(403 | 409),
                message,
                ..
            }) if message.contains("active endpoints") => {
                let attached = match self
                    .engine
                    .client()
                    .inspect_network(
                        &net,
                        None::<bollard::query_parameters::InspectNetworkOptions>,
                    )
                    .await
                {
                    Ok(n) => n.containers.unwrap_or_default(),
                    Err(e) if status_of(&e) == Some(404) => return Ok(()),
                    Err(e) => {
                        return Err(to_provider_error(
                            &operation,
                            DockerError::api(format!("inspect network {net}"), e),
                        ));
                    }
                };
                let ours = self
                    .engine
                    .list_owned(stack, None)
                    .await
                    .map_err(|e| to_provider_error(&operation, e))?;
                let users: Vec<String> = attached
                    .keys()
                    .map(|id| {
                        ours.iter()
                            .find(|c| c.id == *id)
                            .map_or_else(|| id.clone(), |c| c.address.clone())
                    })
                    .collect();
                if attached.keys().all(|id| ours.iter().any(|c| c.id == *id)) {
                    progress(
                        &address,
                        &format!(
                            "kept network {net}: {} of this stack still use it (a replacement shares it)",
                            users.join(", ")
                        ),
                    );
                    Ok(())
                } else {
                    Err(ProviderError::OperationFailed {
                        what: operation,
                        message: format!(
                            "network {net} still has containers attached that apprun did not create"
                        ),
                        help: format!(
                            "disconnect them (docker network inspect {net}) and apply again"
                        ),
                    })
                }
            }
            Err(e) => Err(to_provider_error(&operation, e)),
        }
    }
}

/// The instance label ([`crate::instance_of`]) of the stack copy whose state
/// lives at `location`: a URL (`s3://bucket/key`) as given, a file path
/// made absolute and canonical first (see
/// [`DockerProvider::with_state_location`]).
pub fn state_instance(location: &str) -> String {
    let key = if location.contains("://") {
        location.to_string()
    } else {
        canonical_location(Path::new(location))
    };
    instance_of(&key)
}

/// `location` made absolute and canonical: its longest existing ancestor
/// with symlinks resolved, then the rest as given (a state file need not
/// exist before the first apply). Where nothing resolves, as given.
fn canonical_location(location: &Path) -> String {
    let absolute = std::path::absolute(location).unwrap_or_else(|_| location.to_path_buf());
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(found) = at.canonicalize() {
            let joined = rest
                .iter()
                .rev()
                .fold(found, |p: PathBuf, part| p.join(part));
            return joined.display().to_string();
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return absolute.display().to_string(),
        }
    }
}

impl DockerProvider {
    /// A resource this stack made for `address` as the daemon shows it now
    /// ([`Provider::find_owned`] looks twice).
    async fn find_owned_now(
        &self,
        stack: &str,
        address: &Address,
        name: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        let arn = arn::arn(address.kind, stack, &address.name);
        match address.kind {
            // Nothing exists on Docker for these: creating them again is
            // idempotent (same ARN, same outputs), so there is nothing to find.
            Kind::Repository
            | Kind::Role
            | Kind::AutoScaling
            | Kind::Observability
            | Kind::Connection
            | Kind::VpcIngress => Ok(None),
            Kind::Domain => self.find_owned_domain(stack, address, name).await,
            Kind::VpcConnector => {
                if !self.network_exists(stack, &address.name).await? {
                    return Ok(None);
                }
                let attributes = serde_json::json!({ "name": name });
                Ok(Some(Applied {
                    outputs: self.outputs(address.kind, stack, &address.name, &arn, &attributes),
                    physical_id: arn,
                }))
            }
            Kind::Service => {
                let owned = self
                    .engine
                    .list_owned(stack, Some(&address.to_string()))
                    .await
                    .map_err(|e| to_provider_error(&format!("find {address}"), e))?;
                // Any container of the address is evidence, even without a
                // front door (a run stopped between the first replica and
                // it); only replicas of another physical name belong to
                // another record (a renamed replacement's predecessor or
                // successor).
                let replica_named = |mine: bool| {
                    owned.iter().any(|c| {
                        c.role == labels::ROLE_REPLICA
                            && c.labels.get(labels::NAME).is_none_or(|n| n == name) == mine
                    })
                };
                let front_door = owned.iter().find(|c| c.role == labels::ROLE_FRONT_DOOR);
                let port = front_door
                    .and_then(|c| c.labels.get(labels::FRONT_DOOR_PORT))
                    .and_then(|p| p.parse::<u16>().ok());
                let ours = replica_named(true) || (front_door.is_some() && !replica_named(false));
                Ok(ours.then(|| Applied {
                    outputs: Self::service_outputs(&arn, name, port),
                    physical_id: arn,
                }))
            }
        }
    }
}

/// How long a create's request may still be in the Docker daemon's hands
/// after the run that sent it died.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(1);

impl Provider for DockerProvider {
    fn target(&self) -> &str {
        "docker"
    }

    /// Every container and network labelled with this stack and this
    /// state's location: once the state records nothing, none is known.
    async fn sweep(&self, stack: &str) -> Result<usize, ProviderError> {
        self.engine
            .destroy_stack(stack)
            .await
            .map_err(|e| to_provider_error(&format!("remove what is left of stack {stack}"), e))
    }

    async fn read(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> Result<Option<Observed>, ProviderError> {
        let Some(parsed) = arn::parse(physical_id).filter(|a| a.kind == kind) else {
            return Ok(None);
        };
        let (stack, key) = (parsed.stack.as_str(), parsed.key.as_str());
        match kind {
            Kind::Repository
            | Kind::Role
            | Kind::AutoScaling
            | Kind::VpcConnector
            | Kind::Observability
            | Kind::Connection
            | Kind::VpcIngress => {
                // Of these, only a VPC connector exists on Docker (a network).
                if kind == Kind::VpcConnector && !self.network_exists(stack, key).await? {
                    return Ok(None);
                }
                Ok(Some(Observed {
                    attributes: recorded.clone(),
                    outputs: self
                        .recorded_outputs(kind, stack, key, physical_id, recorded)
                        .await?,
                    failed: None,
                }))
            }
            Kind::Domain => self.read_domain(stack, key, recorded).await,
            Kind::Service => {
                let address = Address::new(Kind::Service, key).to_string();
                // The record: env and commands sealed, everything else as applied.
                let attributes = ServiceAttributes::from_value(recorded).map_err(|e| {
                    ProviderError::Invalid {
                        operation: format!("read {address}"),
                        message: format!("its state record is not valid: {e}"),
                    }
                })?;
                let secrets = self.secrets.resolve(&address, &attributes.secrets).ok();
                let network = attributes
                    .vpc_connector
                    .as_deref()
                    .and_then(arn::parse)
                    .filter(|a| a.kind == Kind::VpcConnector)
                    .map(|a| self.engine.network_name(&a.stack, &a.key));
                let build_digest = attributes.build.as_ref().and_then(|build| {
                    crate::context_digest::context_digest(&self.base_dir.join(&build.context))
                });
                let query = observe::ServiceQuery {
                    stack,
                    address: &address,
                    recorded,
                    attributes: &attributes,
                    secrets,
                    network,
                    build_digest,
                };
                let view = observe::observe_service(&self.engine, &query)
                    .await
                    .map_err(|e| to_provider_error(&format!("read {address}"), e))?;
                Ok(view.map(|v| {
                    let name = Some(attributes.name.as_str())
                        .filter(|n| !n.is_empty())
                        .unwrap_or(key);
                    Observed {
                        outputs: Self::service_outputs(physical_id, name, v.front_door_port),
                        attributes: v.attributes,
                        failed: None,
                    }
                }))
            }
        }
    }

    async fn find_owned(
        &self,
        stack: &str,
        address: &Address,
        name: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        let found = self.find_owned_now(stack, address, name).await?;
        if found.is_some() || !matches!(address.kind, Kind::VpcConnector | Kind::Service) {
            return Ok(found);
        }
        // A request that reached the Docker daemon before its run died is
        // carried out all the same, later on a busy machine (a network's
        // create takes a while): look once more before saying "not made".
        tokio::time::sleep(IN_FLIGHT_GRACE).await;
        self.find_owned_now(stack, address, name).await
    }

    async fn create(&self, request: &ResourceRequest<'_>) -> Result<Applied, ProviderError> {
        let address = request.address;
        let arn = Self::arn_of(request)?;
        match address.kind {
            Kind::Repository
            | Kind::Role
            | Kind::AutoScaling
            | Kind::VpcConnector
            | Kind::Observability
            | Kind::Connection
            | Kind::VpcIngress => {
                // Of these, only a VPC connector exists on Docker (a network).
                if address.kind == Kind::VpcConnector {
                    let net = self
                        .engine
                        .ensure_network(request.stack, &address.name)
                        .await
                        .map_err(|e| to_provider_error(&format!("create {address}"), e))?;
                    (request.progress)(address, &format!("network {net} is ready"));
                }
                Ok(Applied {
                    outputs: self
                        .recorded_outputs(
                            address.kind,
                            request.stack,
                            &address.name,
                            &arn,
                            request.attributes,
                        )
                        .await?,
                    physical_id: arn,
                })
            }
            Kind::Service => self
                .deploy_service(request, &arn, ServiceOperation::CreateService)
                .await
                .map(|(applied, _)| applied),
            Kind::Domain => self.apply_domain(request, &arn).await,
        }
    }

    async fn update(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
        changed: &[String],
    ) -> Result<Applied, ProviderError> {
        let address = request.address;
        Self::own_arn(physical_id, request)?;
        match address.kind {
            Kind::Repository
            | Kind::Role
            | Kind::AutoScaling
            | Kind::Observability
            | Kind::Connection
            | Kind::VpcIngress
            | Kind::Domain => self.create(request).await,
            Kind::VpcConnector => {
                if !self.network_exists(request.stack, &address.name).await? {
                    return Err(ProviderError::NotFound {
                        what: format!(
                            "{address} (network {})",
                            self.engine.network_name(request.stack, &address.name)
                        ),
                    });
                }
                self.create(request).await
            }
            Kind::Service => {
                let owned = self
                    .engine
                    .list_owned(request.stack, Some(&address.to_string()))
                    .await
                    .map_err(|e| to_provider_error(&format!("update {address}"), e))?;
                if owned.is_empty() {
                    return Err(ProviderError::NotFound {
                        what: format!("{address} (no replica and no front door on Docker)"),
                    });
                }
                let arn = Self::arn_of(request)?;
                let cosmetic = !changed.is_empty()
                    && changed
                        .iter()
                        .all(|p| NO_EFFECT.contains(&apprun_engine::diff::top_level(p)));
                let front_door_port = owned
                    .iter()
                    .find(|c| c.role == labels::ROLE_FRONT_DOOR && c.running)
                    .and_then(|c| c.labels.get(labels::FRONT_DOOR_PORT))
                    .and_then(|p| p.parse::<u16>().ok());
                if cosmetic && let Some(port) = front_door_port {
                    (request.progress)(
                        address,
                        "only attributes without effect on Docker changed; not redeployed",
                    );
                    return Ok(Applied {
                        outputs: Self::service_outputs(&arn, request.name, Some(port)),
                        physical_id: arn,
                    });
                }
                self.deploy_service(request, &arn, ServiceOperation::UpdateService)
                    .await
                    .map(|(applied, _)| applied)
            }
        }
    }

    /// Services: `RUNNING` (healthy) when every replica of the newest
    /// deployment runs and passes one health check and the front door runs;
    /// `PAUSED` when no replica runs; `OPERATION_IN_PROGRESS` while two
    /// deployments' replicas coexist; `FAILED` otherwise (detail `reason`).
    /// Domains: `active` when their front door runs as applied. Other
    /// kinds: the trait's default.
    async fn status(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> Result<Option<LiveStatus>, ProviderError> {
        let Some(parsed) = arn::parse(physical_id).filter(|a| a.kind == kind) else {
            return Ok(None);
        };
        match kind {
            Kind::Service => {
                self.service_status(&parsed.stack, &parsed.key, recorded)
                    .await
            }
            Kind::Domain => {
                self.domain_status(&parsed.stack, &parsed.key, recorded)
                    .await
            }
            _ => Ok(LiveStatus::from_read(
                self.read(kind, physical_id, recorded).await?,
            )),
        }
    }

    /// Rebuilds the service's `build:` image without the cache (or takes
    /// its `image` tag's current local image) and rolls the replicas
    /// blue/green as an update does.
    async fn deploy(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> Result<Deployment, ProviderError> {
        self.deploy_again(physical_id, request).await
    }

    /// Every replica's log lines (or, with `query.system`, the front
    /// door's), by time.
    async fn logs(
        &self,
        physical_id: &str,
        recorded: &Value,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, ProviderError> {
        self.service_logs(physical_id, recorded, query).await
    }

    async fn delete(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
        progress: Progress,
    ) -> Result<(), ProviderError> {
        let Some(parsed) = arn::parse(physical_id).filter(|a| a.kind == kind) else {
            // Not an id of ours: nothing on Docker can be behind it.
            return Ok(());
        };
        match kind {
            Kind::Repository
            | Kind::Role
            | Kind::AutoScaling
            | Kind::Observability
            | Kind::Connection
            | Kind::VpcIngress => Ok(()),
            Kind::Domain => {
                self.delete_domain(&parsed.stack, &parsed.key, &progress)
                    .await
            }
            Kind::VpcConnector => {
                self.delete_network(&parsed.stack, &parsed.key, &progress)
                    .await
            }
            Kind::Service => {
                let address = Address::new(Kind::Service, &parsed.key);
                let operation = format!("delete {address}");
                let owned = self
                    .engine
                    .list_owned(&parsed.stack, Some(&address.to_string()))
                    .await
                    .map_err(|e| to_provider_error(&operation, e))?;
                // Leniently: a record that does not decode still deletes.
                let name = &recorded_name(Kind::Service, recorded).unwrap_or_default();
                let successor = !name.is_empty()
                    && owned.iter().any(|c| {
                        c.role == labels::ROLE_REPLICA
                            && c.labels.get(labels::NAME).is_some_and(|n| n != name)
                    });
                if successor {
                    // A renamed replacement took over this address (same
                    // front door, new replicas): remove only what is left of
                    // this one.
                    for c in owned.iter().filter(|c| {
                        c.role == labels::ROLE_REPLICA
                            && c.labels.get(labels::NAME).is_some_and(|n| n == name)
                    }) {
                        self.engine
                            .stop_and_remove(&parsed.stack, &c.id)
                            .await
                            .map_err(|e| to_provider_error(&operation, e))?;
                    }
                    progress(
                        &address,
                        "a replacement with another name now serves this address; kept its front door",
                    );
                    return Ok(());
                }
                if !owned.is_empty() {
                    progress(&address, "removing the front door and the replicas");
                }
                self.engine
                    .remove_service(&parsed.stack, &address.to_string())
                    .await
                    .map_err(|e| to_provider_error(&operation, e))?;
                // The stack's last service takes the stack network with it.
                if self
                    .engine
                    .remove_stack_network_if_unused(&parsed.stack)
                    .await
                    .map_err(|e| to_provider_error(&operation, e))?
                {
                    progress(
                        &address,
                        &format!(
                            "removed network {}",
                            self.engine.stack_network(&parsed.stack)
                        ),
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn arn_with(attributes: &Value) -> String {
        let address = Address::new(Kind::AutoScaling, "busy");
        let dependencies = BTreeMap::new();
        let request = ResourceRequest {
            stack: "shop",
            address: &address,
            name: "busy",
            attributes,
            dependencies: &dependencies,
            progress: Arc::new(|_: &Address, _: &str| {}),
            created: apprun_engine::provider::Created::ignore(),
        };
        DockerProvider::arn_of(&request).unwrap()
    }

    #[test]
    fn the_autoscaling_default_flag_does_not_change_its_docker_arn() {
        let sizes = json!({ "name": "busy", "min_size": 2, "max_size": 4, "max_concurrency": 30 });
        let mut flagged = sizes.clone();
        flagged["default"] = json!(true);
        assert_eq!(arn_with(&sizes), arn_with(&flagged));
        assert_eq!(
            arn_with(&sizes),
            arn::autoscaling_arn("shop", "busy", 2, 4, 30)
        );
        let mut resized = flagged.clone();
        resized["max_size"] = json!(5);
        assert_ne!(
            arn_with(&resized),
            arn_with(&flagged),
            "sizes still make the revision"
        );
    }
}
