//! [`DockerEngine`]: the one wrapper around bollard. Connection and version
//! negotiation, replicas, networks, ownership checks and stack teardown.
//!
//! Invariant: every container and network created here carries
//! `apprun.stack`, `apprun.instance` and `apprun.address`; every listing is
//! filtered by the stack and instance labels, and every destructive call
//! first checks that the object carries both, so apprun never touches what
//! it did not create, nor what another copy of the stack (another folder)
//! created. Every replica and front door is on the stack's own network
//! ([`DockerEngine::stack_network`]), never on Docker's default bridge.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, EndpointSettings, HostConfig,
    NetworkConnectRequest, NetworkCreateRequest, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use crate::error::{DockerError, Result, status_of};
use crate::labels;
use crate::spec::ServiceSpec;

/// The instance of an engine not bound to a state location
/// ([`DockerEngine::connect`] before [`DockerEngine::with_instance`]).
pub const DEFAULT_INSTANCE: &str = "default";

/// Processes (and threads) one container may run: a fork bomb in one
/// replica stops there instead of exhausting the host's.
pub const PIDS_LIMIT: i64 = 4096;

/// Docker's default capabilities that containers do not get. App Runner
/// grants no capability beyond what a web service needs and none can be
/// asked for; these are the ones such a service never uses: raw and packet
/// sockets (`NET_RAW`: ping, ARP and DNS spoofing on the shared bridge),
/// device nodes (`MKNOD`), the kernel audit log (`AUDIT_WRITE`), file
/// capabilities (`SETFCAP`) and `chroot` (`SYS_CHROOT`). Kept: `CHOWN`,
/// `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `SETUID`, `SETGID`,
/// `SETPCAP` and `NET_BIND_SERVICE`, which images commonly use at start
/// (switching to a service user, fixing ownership, binding port 80).
pub const DROPPED_CAPABILITIES: &[&str] =
    &["NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"];

/// The host configuration every container apprun runs starts from:
/// `no-new-privileges`, [`PIDS_LIMIT`], [`DROPPED_CAPABILITIES`] dropped,
/// and Docker's init (tini) as PID 1, so the app runs as its child and
/// SIGTERM ends a process that installs no handler (as PID 1 the kernel
/// would ignore it, and every stop would wait the grace).
pub(crate) fn hardened_host_config() -> HostConfig {
    HostConfig {
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        pids_limit: Some(PIDS_LIMIT),
        cap_drop: Some(
            DROPPED_CAPABILITIES
                .iter()
                .map(|c| (*c).to_string())
                .collect(),
        ),
        init: Some(true),
        ..Default::default()
    }
}

/// The instance label of the stack whose state lives at `location` (a
/// canonical path or URL): 8 hex of its SHA-256.
pub fn instance_of(location: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(location.as_bytes());
    hex::encode(&digest[..4])
}

/// A connection to the Docker Engine (API version negotiated), bound to
/// one instance (state location) of the stacks it works on.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: String,
    instance: String,
    /// Held while a network is looked up and created: services deploying
    /// in parallel ensure the same stack network, and an engine before API
    /// 1.44 creates a second network of the same name when asked twice.
    networks: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A replica container that was started: its id and the 127.0.0.1 port its
/// service port is published on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// The container id.
    pub id: String,
    /// The container name.
    pub name: String,
    /// Its host name on the stack network ([`dns_host`] of the name).
    pub host: String,
    /// The deployment generation it belongs to.
    pub generation: String,
    /// The host port on 127.0.0.1 that reaches the service port.
    pub host_port: u16,
}

impl ReplicaInfo {
    /// `<host>:<port>`: how the front door reaches the replica on the stack
    /// network (`port` is the service's container port). Health checks use
    /// the 127.0.0.1 `host_port` instead.
    pub fn backend(&self, port: u16) -> String {
        format!("{}:{port}", self.host)
    }
}

/// A container or network found by its apprun labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// The Docker id.
    pub id: String,
    /// The name (without the leading `/`).
    pub name: String,
    /// `apprun.role`: `replica`, `front-door` or `network`.
    pub role: String,
    /// `apprun.address`.
    pub address: String,
    /// `apprun.generation` (replicas only; empty otherwise).
    pub generation: String,
    /// Whether the container is running (always true for networks).
    pub running: bool,
    /// Docker's state word (`running`, `exited`, ...).
    pub state: String,
    /// All labels.
    pub labels: HashMap<String, String>,
}

/// The value of label `key`, or empty if the object does not carry it.
fn label(labels: &HashMap<String, String>, key: &str) -> String {
    labels.get(key).cloned().unwrap_or_default()
}

/// Replace anything Docker does not allow in a name with `-`.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The longest host name label DNS allows.
const DNS_LABEL_MAX: usize = 63;

/// The host name a container named `name` answers to on the stack network
/// (set as its alias there): the name in lower case, or, when that is
/// longer than a DNS label may be (Docker's embedded DNS refuses such
/// queries), `apprun-` and 16 hex of the name's digest.
pub fn dns_host(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.len() <= DNS_LABEL_MAX {
        return lower;
    }
    use sha2::{Digest, Sha256};
    format!(
        "apprun-{}",
        hex::encode(&Sha256::digest(lower.as_bytes())[..8])
    )
}

impl DockerEngine {
    /// Connect to the engine named by `DOCKER_HOST` (or the default local
    /// socket), negotiate the API version and ping it.
    pub async fn connect() -> Result<Self> {
        let endpoint = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        let unreachable = |reason: String| DockerError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(DockerEngine {
            docker,
            endpoint,
            instance: DEFAULT_INSTANCE.to_string(),
            networks: std::sync::Arc::default(),
        })
    }

    /// This connection bound to `instance` (see [`instance_of`]): it labels
    /// what it creates with it and sees only objects that carry it.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = instance.into();
        self
    }

    /// The instance this connection is bound to (label `apprun.instance`).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Where this engine was reached.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The labels of an object of `stack` at `address` in `role`.
    pub(crate) fn labels(&self, stack: &str, address: &str, role: &str) -> HashMap<String, String> {
        labels::base(stack, &self.instance, address, role)
    }

    /// Whether an object's labels say it belongs to `stack` in this instance.
    pub(crate) fn owns(&self, stack: &str, object: Option<&HashMap<String, String>>) -> bool {
        object.is_some_and(|l| {
            l.get(labels::STACK).map(String::as_str) == Some(stack)
                && l.get(labels::INSTANCE) == Some(&self.instance)
        })
    }

    /// The list filter for the objects of `stack` in this instance (and, if
    /// given, of `address`).
    fn owned_filter(&self, stack: &str, address: Option<&str>) -> HashMap<String, Vec<String>> {
        let mut label_filters = vec![
            format!("{}={}", labels::STACK, stack),
            format!("{}={}", labels::INSTANCE, self.instance),
        ];
        if let Some(a) = address {
            label_filters.push(format!("{}={}", labels::ADDRESS, a));
        }
        HashMap::from([("label".to_string(), label_filters)])
    }

    /// The Docker name prefix of everything of one address:
    /// `apprun-<stack>-<instance>-<address>`.
    pub fn name_prefix(&self, stack: &str, address: &str) -> String {
        format!(
            "apprun-{}-{}-{}",
            sanitize(stack),
            sanitize(&self.instance),
            sanitize(address)
        )
    }

    /// The stack's own network, `apprun-<stack>-<instance>`: every replica
    /// and front door of the stack is on it, and nothing else.
    pub fn stack_network(&self, stack: &str) -> String {
        format!("apprun-{}-{}", sanitize(stack), sanitize(&self.instance))
    }

    /// The Docker network name of VPC connector `name` in `stack`:
    /// `apprun-<stack>-<instance>-<name>`.
    pub fn network_name(&self, stack: &str, name: &str) -> String {
        format!("{}-{}", self.stack_network(stack), sanitize(name))
    }

    /// The front door container name of `address`.
    pub fn front_door_name(&self, stack: &str, address: &str) -> String {
        format!("{}-front-door", self.name_prefix(stack, address))
    }

    /// The host name the front door of `address` answers to on the stack
    /// network ([`dns_host`] of its name).
    pub fn front_door_host(&self, stack: &str, address: &str) -> String {
        dns_host(&self.front_door_name(stack, address))
    }

    pub(crate) fn client(&self) -> &Docker {
        &self.docker
    }

    /// Create and start one replica of `spec` from `image` (a local tag or
    /// id), in deployment `generation`, and return where it is published.
    ///
    /// The container gets the service env and secrets, `PORT`, cpu
    /// (NanoCpus = units / 1024 CPUs) and memory limits, the
    /// [`hardened_host_config`], the ownership labels, and joins the stack
    /// network ([`DockerEngine::ensure_stack_network`], created beforehand)
    /// and `spec.networks` (VPC connectors, with the service name as an
    /// alias). Its port is published on 127.0.0.1 only, on an ephemeral
    /// port, for health checks.
    pub async fn run_replica(
        &self,
        spec: &ServiceSpec,
        image: &str,
        generation: &str,
        index: u32,
    ) -> Result<ReplicaInfo> {
        let name = format!(
            "{}-{}-{}",
            self.name_prefix(&spec.stack, &spec.address),
            generation,
            index
        );
        let port_key = format!("{}/tcp", spec.port);
        let mut bindings = HashMap::new();
        bindings.insert(
            port_key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(String::new()),
            }]),
        );
        let mut lab = self.labels(&spec.stack, &spec.address, labels::ROLE_REPLICA);
        for (k, v) in &spec.labels {
            lab.entry(k.clone()).or_insert_with(|| v.clone());
        }
        lab.insert(labels::GENERATION.to_string(), generation.to_string());
        lab.insert(labels::ENV_DIGEST.to_string(), spec.env_digest());
        lab.insert(labels::IMAGE.to_string(), image.to_string());
        let stack_network = self.stack_network(&spec.stack);
        let connectors: Vec<String> = spec
            .networks
            .iter()
            .map(|n| self.network_name(&spec.stack, n))
            .collect();
        let alias = spec
            .address
            .rsplit('.')
            .next()
            .unwrap_or(&spec.address)
            .to_string();
        let host_config = HostConfig {
            port_bindings: Some(bindings),
            nano_cpus: (spec.cpu_units > 0)
                .then(|| i64::from(spec.cpu_units) * 1_000_000_000 / 1024),
            memory: (spec.memory_mb > 0).then(|| i64::from(spec.memory_mb) * 1024 * 1024),
            network_mode: Some(stack_network.clone()),
            ..hardened_host_config()
        };
        let host = dns_host(&name);
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(spec.container_env()),
            labels: Some(lab),
            exposed_ports: Some(vec![port_key.clone()]),
            host_config: Some(host_config),
            networking_config: Some(bollard::models::NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    stack_network.clone(),
                    EndpointSettings {
                        aliases: Some(vec![host.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let id = self
            .create_on_stack_network(&spec.stack, &name, body, |e| match e {
                e if status_of(&e) == Some(404) => DockerError::ImageNotFound {
                    reference: image.to_string(),
                },
                e if status_of(&e) == Some(409) => DockerError::NotOwned {
                    kind: "container",
                    name: name.clone(),
                    stack: spec.stack.clone(),
                },
                e => DockerError::api(format!("create container {name}"), e),
            })
            .await?;
        let started = async {
            for net in &connectors {
                let req = NetworkConnectRequest {
                    container: id.clone(),
                    endpoint_config: Some(EndpointSettings {
                        aliases: Some(vec![alias.clone()]),
                        ..Default::default()
                    }),
                };
                self.docker
                    .connect_network(net, req)
                    .await
                    .map_err(|e| DockerError::api(format!("connect {name} to network {net}"), e))?;
            }
            self.start_on_stack_network(&spec.stack, &id)
                .await
                .map_err(|e| DockerError::api(format!("start container {name}"), e))?;
            self.published_port(&id, &port_key).await
        }
        .await;
        match started {
            Ok(host_port) => Ok(ReplicaInfo {
                id,
                name,
                host,
                generation: generation.to_string(),
                host_port,
            }),
            Err(e) => {
                let _ = self.force_remove(&id).await;
                Err(e)
            }
        }
    }

    /// Creates container `name` from `body`, whose network is the stack
    /// network (created first if missing); returns its id. Failures go
    /// through `error`.
    pub(crate) async fn create_on_stack_network(
        &self,
        stack: &str,
        name: &str,
        body: ContainerCreateBody,
        error: impl Fn(bollard::errors::Error) -> DockerError,
    ) -> Result<String> {
        self.ensure_stack_network(stack).await?;
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        match self.docker.create_container(Some(opts), body).await {
            Ok(created) => Ok(created.id),
            Err(e) => Err(error(e)),
        }
    }

    /// Starts container `id` of `stack`. When its network is missing (a
    /// concurrent delete of the stack's last other service removed it after
    /// the container was created), the network is created again and the
    /// start retried once.
    pub(crate) async fn start_on_stack_network(
        &self,
        stack: &str,
        id: &str,
    ) -> std::result::Result<(), bollard::errors::Error> {
        let start = || {
            self.docker
                .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        };
        match start().await {
            Err(e) if network_missing(&e) => {
                if self.ensure_stack_network(stack).await.is_err() {
                    return Err(e);
                }
                start().await
            }
            answer => answer,
        }
    }

    /// The 127.0.0.1 host port bound to `port_key` (`8080/tcp`) of a container.
    pub(crate) async fn published_port(&self, id: &str, port_key: &str) -> Result<u16> {
        let info = self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| DockerError::api(format!("inspect container {id}"), e))?;
        info.network_settings
            .and_then(|n| n.ports)
            .and_then(|mut p| p.remove(port_key))
            .flatten()
            .and_then(|bs| {
                bs.into_iter()
                    .filter(|b| b.host_ip.as_deref() == Some("127.0.0.1"))
                    .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()))
            })
            .ok_or_else(|| DockerError::Api {
                operation: format!("read published port of {id}"),
                status: None,
                message: format!(
                    "{port_key} is not published on 127.0.0.1 (did the container exit?)"
                ),
            })
    }

    /// Every container of `stack` in this instance (running or not),
    /// optionally only those of one address, found by label.
    pub async fn list_owned(&self, stack: &str, address: Option<&str>) -> Result<Vec<Owned>> {
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&self.owned_filter(stack, address))
            .build();
        let list = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| DockerError::api(format!("list containers of stack {stack}"), e))?;
        Ok(list
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                Owned {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    role: label(&labels, labels::ROLE),
                    address: label(&labels, labels::ADDRESS),
                    generation: label(&labels, labels::GENERATION),
                    running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    labels,
                }
            })
            .collect())
    }

    /// Stop (2 s grace) and remove a container of `stack`. A container that
    /// is already gone is fine; one without the stack's and this instance's
    /// labels is refused.
    pub async fn stop_and_remove(&self, stack: &str, id: &str) -> Result<()> {
        match self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(info) => {
                let labels = info.config.and_then(|c| c.labels);
                if !self.owns(stack, labels.as_ref()) {
                    return Err(DockerError::NotOwned {
                        kind: "container",
                        name: id.to_string(),
                        stack: stack.to_string(),
                    });
                }
            }
            Err(e) if status_of(&e) == Some(404) => return Ok(()),
            Err(e) => return Err(DockerError::api(format!("inspect container {id}"), e)),
        }
        let stop = StopContainerOptionsBuilder::default().t(2).build();
        match self.docker.stop_container(id, Some(stop)).await {
            Ok(()) => {}
            Err(e) if matches!(status_of(&e), Some(304 | 404)) => {}
            Err(e) => return Err(DockerError::api(format!("stop container {id}"), e)),
        }
        self.force_remove(id).await
    }

    async fn force_remove(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            // 404: gone; 409: removal already in progress.
            Err(e) if matches!(status_of(&e), Some(404 | 409)) => Ok(()),
            Err(e) => Err(DockerError::api(format!("remove container {id}"), e)),
        }
    }

    /// Create (or adopt, if this stack already owns it) the Docker network
    /// for VPC connector `name`; returns its Docker name
    /// ([`DockerEngine::network_name`]). A network of that name that the
    /// stack does not own is refused.
    pub async fn ensure_network(&self, stack: &str, name: &str) -> Result<String> {
        let net = self.network_name(stack, name);
        let labels = self.labels(
            stack,
            &format!("vpc_connectors.{name}"),
            labels::ROLE_NETWORK,
        );
        self.ensure_labelled_network(stack, &net, labels).await?;
        Ok(net)
    }

    /// Create (or adopt, if this stack already owns it) the stack's own
    /// network ([`DockerEngine::stack_network`]); returns its name.
    pub async fn ensure_stack_network(&self, stack: &str) -> Result<String> {
        let net = self.stack_network(stack);
        let labels = self.labels(stack, "", labels::ROLE_STACK_NETWORK);
        self.ensure_labelled_network(stack, &net, labels).await?;
        Ok(net)
    }

    async fn ensure_labelled_network(
        &self,
        stack: &str,
        net: &str,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let not_owned = || DockerError::NotOwned {
            kind: "network",
            name: net.to_string(),
            stack: stack.to_string(),
        };
        let _one_at_a_time = self.networks.lock().await;
        if let Some(owner) = self.network_labels(net).await? {
            return if self.owns(stack, Some(&owner)) {
                Ok(())
            } else {
                Err(not_owned())
            };
        }
        let req = NetworkCreateRequest {
            name: net.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        match self.docker.create_network(req).await {
            // Another process created it meanwhile and this engine made a
            // second one of the same name: remove ours, use theirs.
            Ok(created) if created.warning.contains("already exists") => {
                if let Err(e) = self.docker.remove_network(&created.id).await
                    && status_of(&e) != Some(404)
                {
                    return Err(DockerError::api(
                        format!("remove duplicate network {net}"),
                        e,
                    ));
                }
                match self.network_labels(net).await? {
                    Some(owner) if self.owns(stack, Some(&owner)) => Ok(()),
                    _ => Err(not_owned()),
                }
            }
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(409) => match self.network_labels(net).await? {
                Some(owner) if self.owns(stack, Some(&owner)) => Ok(()),
                _ => Err(not_owned()),
            },
            Err(e) => Err(DockerError::api(format!("create network {net}"), e)),
        }
    }

    /// `Some(labels)` (possibly empty) if the network exists, `None` if not.
    async fn network_labels(&self, net: &str) -> Result<Option<HashMap<String, String>>> {
        match self
            .docker
            .inspect_network(
                net,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(n) => Ok(Some(n.labels.unwrap_or_default())),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect network {net}"), e)),
        }
    }

    /// Remove the network of VPC connector `name` (gone already is fine; one
    /// the stack does not own is refused).
    pub async fn remove_network(&self, stack: &str, name: &str) -> Result<()> {
        self.remove_owned_network(stack, &self.network_name(stack, name))
            .await
    }

    async fn remove_owned_network(&self, stack: &str, net: &str) -> Result<()> {
        match self.network_labels(net).await? {
            None => Ok(()),
            Some(owner) if self.owns(stack, Some(&owner)) => {
                match self.docker.remove_network(net).await {
                    Ok(()) => Ok(()),
                    Err(e) if status_of(&e) == Some(404) => Ok(()),
                    Err(e) => Err(DockerError::api(format!("remove network {net}"), e)),
                }
            }
            Some(_) => Err(DockerError::NotOwned {
                kind: "network",
                name: net.to_string(),
                stack: stack.to_string(),
            }),
        }
    }

    /// Remove the stack network once no container of the stack is left
    /// (the last service's delete). A network still in use (by a service
    /// deployed meanwhile) is kept; gone already is fine. Returns whether it
    /// was removed.
    pub async fn remove_stack_network_if_unused(&self, stack: &str) -> Result<bool> {
        if !self.list_owned(stack, None).await?.is_empty() {
            return Ok(false);
        }
        let net = self.stack_network(stack);
        match self.remove_owned_network(stack, &net).await {
            Ok(()) => Ok(true),
            Err(DockerError::Api {
                status: Some(403 | 409),
                message,
                ..
            }) if message.contains("active endpoints") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The networks of `stack` in this instance, as `Owned` records.
    pub async fn list_owned_networks(&self, stack: &str) -> Result<Vec<Owned>> {
        let opts = ListNetworksOptionsBuilder::default()
            .filters(&self.owned_filter(stack, None))
            .build();
        let list = self
            .docker
            .list_networks(Some(opts))
            .await
            .map_err(|e| DockerError::api(format!("list networks of stack {stack}"), e))?;
        Ok(list
            .into_iter()
            .map(|n| {
                let labels = n.labels.unwrap_or_default();
                Owned {
                    id: n.id.unwrap_or_default(),
                    name: n.name.unwrap_or_default(),
                    role: label(&labels, labels::ROLE),
                    address: label(&labels, labels::ADDRESS),
                    generation: String::new(),
                    running: true,
                    state: "network".to_string(),
                    labels,
                }
            })
            .collect())
    }

    /// Remove every container (replicas and front doors) and network of
    /// `stack` in this instance. Returns how many objects were removed.
    pub async fn destroy_stack(&self, stack: &str) -> Result<usize> {
        let containers = self.list_owned(stack, None).await?;
        let mut removed = 0;
        let results =
            futures_util::future::join_all(containers.iter().map(|c| self.force_remove(&c.id)))
                .await;
        for r in results {
            r?;
            removed += 1;
        }
        for n in self.list_owned_networks(stack).await? {
            match self.docker.remove_network(&n.id).await {
                Ok(()) => removed += 1,
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(DockerError::api(format!("remove network {}", n.name), e)),
            }
        }
        Ok(removed)
    }
}

/// Whether a create failed because the network it names is missing (404
/// about a network, not the image).
fn network_missing(e: &bollard::errors::Error) -> bool {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => message.contains("network"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_is_eight_hex_of_the_location_and_differs_by_location() {
        let a = instance_of("/home/me/one/.apprun/shop.docker.state.json");
        let b = instance_of("/home/me/two/.apprun/shop.docker.state.json");
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(
            a,
            instance_of("/home/me/one/.apprun/shop.docker.state.json")
        );
    }

    #[test]
    fn containers_run_hardened() {
        let host = hardened_host_config();
        assert_eq!(host.pids_limit, Some(PIDS_LIMIT));
        assert_eq!(host.init, Some(true));
        let dropped = host.cap_drop.unwrap_or_default();
        assert!(dropped.iter().any(|c| c == "NET_RAW"), "{dropped:?}");
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges".to_string()])
        );
    }
}
