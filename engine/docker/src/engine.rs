//! [`DockerEngine`]: the one wrapper around bollard. Connection and version
//! negotiation, replicas, networks, ownership checks and stack teardown.
//!
//! Invariant: every container and network created here carries
//! `apprun.stack` and `apprun.address`; every destructive call first checks
//! that the object carries the caller's `apprun.stack` label, so apprun never
//! touches what it did not create.

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

/// A connection to the Docker Engine (API version negotiated).
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: String,
}

/// A replica container that was started: its id and the 127.0.0.1 port its
/// service port is published on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// The container id.
    pub id: String,
    /// The container name.
    pub name: String,
    /// The deployment generation it belongs to.
    pub generation: String,
    /// The host port on 127.0.0.1 that reaches the service port.
    pub host_port: u16,
}

impl ReplicaInfo {
    /// `127.0.0.1:<host_port>`, the address the front door and health checks use.
    pub fn backend(&self) -> String {
        format!("127.0.0.1:{}", self.host_port)
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

/// The list filter for the objects labelled with `stack` (and, if given,
/// with `address`).
fn owned_filter(stack: &str, address: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut label_filters = vec![format!("{}={}", labels::STACK, stack)];
    if let Some(a) = address {
        label_filters.push(format!("{}={}", labels::ADDRESS, a));
    }
    HashMap::from([("label".to_string(), label_filters)])
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

/// The Docker name prefix of everything of one address: `apprun-<stack>-<address>`.
pub(crate) fn name_prefix(stack: &str, address: &str) -> String {
    format!("apprun-{}-{}", sanitize(stack), sanitize(address))
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
        Ok(DockerEngine { docker, endpoint })
    }

    /// Where this engine was reached.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn client(&self) -> &Docker {
        &self.docker
    }

    /// Create and start one replica of `spec` from `image` (a local tag or
    /// id), in deployment `generation`, and return where it is published.
    ///
    /// The container gets the service env and secrets, `PORT`, cpu
    /// (NanoCpus = units / 1024 CPUs) and memory limits, `no-new-privileges`,
    /// the ownership labels, joins `spec.networks` (created beforehand by
    /// [`DockerEngine::ensure_network`]) with the service name as an alias,
    /// and publishes its port on 127.0.0.1 only, on an ephemeral port. It
    /// runs under Docker's init, which passes SIGTERM on to the app.
    pub async fn run_replica(
        &self,
        spec: &ServiceSpec,
        image: &str,
        generation: &str,
        index: u32,
    ) -> Result<ReplicaInfo> {
        let name = format!(
            "{}-{}-{}",
            name_prefix(&spec.stack, &spec.address),
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
        let mut lab = labels::base(&spec.stack, &spec.address, labels::ROLE_REPLICA);
        for (k, v) in &spec.labels {
            lab.entry(k.clone()).or_insert_with(|| v.clone());
        }
        lab.insert(labels::GENERATION.to_string(), generation.to_string());
        lab.insert(labels::ENV_DIGEST.to_string(), spec.env_digest());
        lab.insert(labels::IMAGE.to_string(), image.to_string());
        let networks: Vec<String> = spec
            .networks
            .iter()
            .map(|n| network_name(&spec.stack, n))
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
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            network_mode: networks.first().cloned(),
            // Docker's init (tini) as PID 1: the app runs as its child, so
            // SIGTERM ends a process that installs no handler (as PID 1 the
            // kernel would ignore it, and every stop would wait the grace).
            init: Some(true),
            ..Default::default()
        };
        let mut endpoints = HashMap::new();
        if let Some(first) = networks.first() {
            endpoints.insert(
                first.clone(),
                EndpointSettings {
                    aliases: Some(vec![alias.clone()]),
                    ..Default::default()
                },
            );
        }
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(spec.container_env()),
            labels: Some(lab),
            exposed_ports: Some(vec![port_key.clone()]),
            host_config: Some(host_config),
            networking_config: (!endpoints.is_empty()).then_some(
                bollard::models::NetworkingConfig {
                    endpoints_config: Some(endpoints),
                },
            ),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = match self.docker.create_container(Some(opts), body).await {
            Ok(c) => c,
            Err(e) if status_of(&e) == Some(404) => {
                return Err(DockerError::ImageNotFound {
                    reference: image.to_string(),
                });
            }
            Err(e) if status_of(&e) == Some(409) => {
                return Err(DockerError::NotOwned {
                    kind: "container",
                    name,
                    stack: spec.stack.clone(),
                });
            }
            Err(e) => return Err(DockerError::api(format!("create container {name}"), e)),
        };
        let id = created.id;
        let started = async {
            for net in networks.iter().skip(1) {
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
            self.docker
                .start_container(
                    &id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await
                .map_err(|e| DockerError::api(format!("start container {name}"), e))?;
            self.published_port(&id, &port_key).await
        }
        .await;
        match started {
            Ok(host_port) => Ok(ReplicaInfo {
                id,
                name,
                generation: generation.to_string(),
                host_port,
            }),
            Err(e) => {
                let _ = self.force_remove(&id).await;
                Err(e)
            }
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

    /// Every container of `stack` (running or not), optionally only those of
    /// one address, found by label.
    pub async fn list_owned(&self, stack: &str, address: Option<&str>) -> Result<Vec<Owned>> {
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&owned_filter(stack, address))
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
    /// is already gone is fine; one without the stack's label is refused.
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
                let owner = info
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(labels::STACK).cloned());
                if owner.as_deref() != Some(stack) {
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
    /// for VPC connector `name`; returns the Docker network name
    /// `apprun-<stack>-<name>`. A network of that name that the stack does
    /// not own is refused.
    pub async fn ensure_network(&self, stack: &str, name: &str) -> Result<String> {
        let net = network_name(stack, name);
        if let Some(owner) = self.network_owner(&net).await? {
            return if owner == stack {
                Ok(net)
            } else {
                Err(DockerError::NotOwned {
                    kind: "network",
                    name: net,
                    stack: stack.to_string(),
                })
            };
        }
        let req = NetworkCreateRequest {
            name: net.clone(),
            driver: Some("bridge".to_string()),
            labels: Some(labels::base(
                stack,
                &format!("vpc_connectors.{name}"),
                labels::ROLE_NETWORK,
            )),
            ..Default::default()
        };
        match self.docker.create_network(req).await {
            Ok(_) => Ok(net),
            Err(e) if status_of(&e) == Some(409) => match self.network_owner(&net).await? {
                Some(owner) if owner == stack => Ok(net),
                _ => Err(DockerError::NotOwned {
                    kind: "network",
                    name: net,
                    stack: stack.to_string(),
                }),
            },
            Err(e) => Err(DockerError::api(format!("create network {net}"), e)),
        }
    }

    /// `Some(stack label)` (possibly empty) if the network exists, `None` if not.
    async fn network_owner(&self, net: &str) -> Result<Option<String>> {
        match self
            .docker
            .inspect_network(
                net,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(n) => Ok(Some(
                n.labels
                    .and_then(|l| l.get(labels::STACK).cloned())
                    .unwrap_or_default(),
            )),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect network {net}"), e)),
        }
    }

    /// Remove the network of VPC connector `name` (gone already is fine; one
    /// the stack does not own is refused).
    pub async fn remove_network(&self, stack: &str, name: &str) -> Result<()> {
        let net = network_name(stack, name);
        match self.network_owner(&net).await? {
            None => Ok(()),
            Some(owner) if owner == stack => match self.docker.remove_network(&net).await {
                Ok(()) => Ok(()),
                Err(e) if status_of(&e) == Some(404) => Ok(()),
                Err(e) => Err(DockerError::api(format!("remove network {net}"), e)),
            },
            Some(_) => Err(DockerError::NotOwned {
                kind: "network",
                name: net,
                stack: stack.to_string(),
            }),
        }
    }

    /// The networks labelled with `stack`, as `Owned` records.
    pub async fn list_owned_networks(&self, stack: &str) -> Result<Vec<Owned>> {
        let opts = ListNetworksOptionsBuilder::default()
            .filters(&owned_filter(stack, None))
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

    /// Remove every container (replicas and front doors) and network labelled
    /// with `stack`. Returns how many objects were removed.
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

/// The Docker network name of VPC connector `name` in `stack`.
pub fn network_name(stack: &str, name: &str) -> String {
    format!("apprun-{}-{}", sanitize(stack), sanitize(name))
}
