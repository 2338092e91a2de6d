//! The front door: one container per service, running apprun's static
//! proxy (`bins/front_door.rs`) `FROM scratch` on the **stack network**. It
//! reaches the replicas there by container name (`<name>:<port>`, resolved
//! through Docker's embedded DNS), answers other services' containers on
//! the stack network at `http://<host>:<port>`
//! ([`DockerEngine::front_door_host`], the URL `${services.x.url}` becomes
//! inside containers), and publishes the same port on `127.0.0.1:<port>`
//! only: the URL people use. It has restart policy `unless-stopped` and
//! outlives `apply`, like `docker compose up -d`.
//!
//! The engine switches its backend list at run time through the admin port
//! (published on 127.0.0.1 only, writes protected by a random token kept in
//! the container's env): requests in flight finish on the old backends, new
//! ones go to the new list, and [`DockerEngine::front_door_wait_drained`]
//! tells when the old backends are idle.
//!
//! A custom domain's front door ([`crate::domain`]) is the same container
//! (`DockerEngine::run_door`) with role `domain`, forwarding to a
//! service's front door and serving only the domain's `Host`.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{InspectContainerOptions, StartContainerOptions};
use sha2::{Digest, Sha256};

use crate::engine::{DockerEngine, Owned, hardened_host_config};
use crate::error::{DockerError, Result};
use crate::http;
use crate::images::FRONT_DOOR;
use crate::labels;
use crate::spec::ServiceSpec;

/// A running front door.
#[derive(Clone, PartialEq, Eq)]
pub struct FrontDoor {
    /// The container id.
    pub container_id: String,
    /// The service address it serves.
    pub address: String,
    /// Its host name on the stack network.
    pub host: String,
    /// The public port: on 127.0.0.1, and on the stack network.
    pub port: u16,
    /// The admin port on 127.0.0.1.
    pub admin_port: u16,
    token: String,
}

impl std::fmt::Debug for FrontDoor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontDoor")
            .field("container_id", &self.container_id)
            .field("address", &self.address)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("admin_port", &self.admin_port)
            .finish_non_exhaustive()
    }
}

impl FrontDoor {
    /// The service's stable URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL of the service inside the stack network,
    /// `http://<host>:<port>`: what other services' containers use.
    pub fn internal_url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// A failure of this front door.
    pub(crate) fn failed(&self, reason: String) -> DockerError {
        DockerError::FrontDoor {
            address: self.address.clone(),
            reason,
        }
    }

    /// One call to the admin API on `/backends` (5 s at most); a failure to
    /// get an answer is a [`DockerError::FrontDoor`].
    async fn admin_backends(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<http::Answer> {
        http::request(
            self.admin_port,
            method,
            "/backends",
            headers,
            body,
            Duration::from_secs(5),
        )
        .await
        .map_err(|reason| self.failed(reason))
    }
}

/// One backend as the front door sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// `<replica container name>:<port>`.
    pub addr: String,
    /// Requests in flight on it now.
    pub in_flight: u64,
    /// Whether it is in the current list (false: retired, still draining).
    pub current: bool,
    /// Requests sent to it so far.
    pub served: u64,
}

/// One front-door container to run (`DockerEngine::run_door`).
pub(crate) struct DoorSpec<'a> {
    /// The stack.
    pub stack: &'a str,
    /// The address it serves (`services.web`, `domains.shop`): its labels
    /// and its name.
    pub address: &'a str,
    /// `apprun.role`: [`labels::ROLE_FRONT_DOOR`] or [`labels::ROLE_DOMAIN`].
    pub role: &'static str,
    /// The front-door image.
    pub image: &'a str,
    /// The public port to keep; `None`: a free one.
    pub port: Option<u16>,
    /// `<host>:<port>` backends to start with.
    pub backends: &'a [String],
    /// More `KEY=value` env entries (limits, `HOSTS`).
    pub env: Vec<String>,
    /// More labels.
    pub labels: HashMap<String, String>,
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, release it).
pub(crate) fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| DockerError::Api {
            operation: "find a free port".to_string(),
            status: None,
            message: e.to_string(),
        })
}

fn new_token(address: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(now.as_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(address.as_bytes());
    // RandomState is seeded from the OS's randomness once per process.
    for _ in 0..2 {
        use std::hash::{BuildHasher, Hasher};
        let mut r = std::collections::hash_map::RandomState::new().build_hasher();
        r.write_u64(0);
        h.update(r.finish().to_le_bytes());
    }
    hex::encode(h.finalize())[..32].to_string()
}

impl DockerEngine {
    /// The front door of `address` in `stack`, if its container exists
    /// (running or not).
    pub async fn find_front_door(
        &self,
        stack: &str,
        address: &str,
    ) -> Result<Option<(FrontDoor, bool)>> {
        Ok(self
            .find_door(stack, address, labels::ROLE_FRONT_DOOR)
            .await?
            .map(|(fd, owned)| (fd, owned.running)))
    }

    /// The container of `address` in `stack` in `role` (a service's front
    /// door, or a custom domain's), if it exists (running or not), with its
    /// listing entry (labels, state).
    pub(crate) async fn find_door(
        &self,
        stack: &str,
        address: &str,
        role: &str,
    ) -> Result<Option<(FrontDoor, Owned)>> {
        let owned = self.list_owned(stack, Some(address)).await?;
        let Some(c) = owned.into_iter().find(|c| c.role == role) else {
            return Ok(None);
        };
        let port = c
            .labels
            .get(labels::FRONT_DOOR_PORT)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let admin_port = c
            .labels
            .get(labels::FRONT_DOOR_ADMIN_PORT)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let info = match self
            .client()
            .inspect_container(&c.id, None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => info,
            // Removed between the listing and now.
            Err(e) if crate::error::status_of(&e) == Some(404) => return Ok(None),
            Err(e) => {
                return Err(DockerError::api(
                    format!("inspect front door {}", c.name),
                    e,
                ));
            }
        };
        let token = info
            .config
            .and_then(|cfg| cfg.env)
            .unwrap_or_default()
            .into_iter()
            .find_map(|e| e.strip_prefix("ADMIN_TOKEN=").map(str::to_string))
            .unwrap_or_default();
        Ok(Some((
            FrontDoor {
                container_id: c.id.clone(),
                address: address.to_string(),
                host: self.front_door_host(stack, address),
                port,
                admin_port,
                token,
            },
            c,
        )))
    }

    /// Make sure the front door of `spec` runs and sends traffic to
    /// `backends` (`<replica name>:<port>` strings). An existing front door keeps
    /// its port (the stable URL); it is re-created only when its port,
    /// max_concurrency or queue timeout must change.
    pub async fn front_door_up(
        &self,
        spec: &ServiceSpec,
        backends: &[String],
    ) -> Result<FrontDoor> {
        let limits = format!(
            "{}/{}",
            spec.max_concurrency,
            spec.queue_timeout.as_millis()
        );
        let mut keep_port = spec.front_door_port;
        if let Some((fd, owned)) = self
            .find_door(&spec.stack, &spec.address, labels::ROLE_FRONT_DOOR)
            .await?
        {
            let running = owned.running;
            let same_limits = owned
                .labels
                .get(labels::FRONT_DOOR_LIMITS)
                .is_some_and(|l| *l == limits);
            let same_port = spec.front_door_port.is_none_or(|p| p == fd.port);
            if same_limits && same_port {
                if !running {
                    self.client()
                        .start_container(&fd.container_id, None::<StartContainerOptions>)
                        .await
                        .map_err(|e| {
                            DockerError::api(format!("start front door of {}", spec.address), e)
                        })?;
                }
                self.wait_admin_ready(&fd).await?;
                self.front_door_switch(&fd, backends).await?;
                return Ok(fd);
            }
            keep_port = keep_port.or(Some(fd.port));
            self.stop_and_remove(&spec.stack, &fd.container_id).await?;
        }
        let image = self.ensure_builtin_image(FRONT_DOOR).await?;
        self.ensure_stack_network(&spec.stack).await?;
        // A port found free may be taken before Docker publishes it; retry
        // with fresh ports, except for a port the user or an earlier front
        // door fixed.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .create_front_door(spec, &image, keep_port, &limits, backends)
                .await
            {
                Ok(fd) => return Ok(fd),
                Err(DockerError::FrontDoor { .. }) if keep_port.is_none() && attempt < 3 => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn create_front_door(
        &self,
        spec: &ServiceSpec,
        image: &str,
        keep_port: Option<u16>,
        limits: &str,
        backends: &[String],
    ) -> Result<FrontDoor> {
        let mut extra = HashMap::new();
        extra.insert(labels::FRONT_DOOR_LIMITS.to_string(), limits.to_string());
        self.run_door(DoorSpec {
            stack: &spec.stack,
            address: &spec.address,
            role: labels::ROLE_FRONT_DOOR,
            image,
            port: keep_port,
            backends,
            env: vec![
                format!("MAX_CONCURRENCY={}", spec.max_concurrency),
                format!("QUEUE_TIMEOUT_MS={}", spec.queue_timeout.as_millis()),
            ],
            labels: extra,
        })
        .await
    }

    /// Creates, starts and waits for one front-door container (a service's
    /// or a custom domain's): on the stack network under
    /// [`DockerEngine::front_door_name`] with the alias
    /// [`DockerEngine::front_door_host`], the [`hardened_host_config`],
    /// restart policy `unless-stopped`, its port (given, or a free one) and
    /// a free admin port published on 127.0.0.1 only. A container that does
    /// not come up is removed again.
    pub(crate) async fn run_door(&self, door: DoorSpec<'_>) -> Result<FrontDoor> {
        let DoorSpec {
            stack,
            address,
            role,
            image,
            port,
            backends,
            env: extra_env,
            labels: extra_labels,
        } = door;
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let admin_port = free_port()?;
        let token = new_token(address);
        let name = self.front_door_name(stack, address);
        let host = self.front_door_host(stack, address);
        let mut lab = self.labels(stack, address, role);
        for (k, v) in extra_labels {
            lab.entry(k).or_insert(v);
        }
        lab.insert(labels::FRONT_DOOR_PORT.to_string(), port.to_string());
        lab.insert(
            labels::FRONT_DOOR_ADMIN_PORT.to_string(),
            admin_port.to_string(),
        );
        // Inside the container it listens on every interface of the stack
        // network; Docker publishes both ports on the host's 127.0.0.1 only.
        let mut env = vec![
            format!("LISTEN=0.0.0.0:{port}"),
            format!("ADMIN=0.0.0.0:{admin_port}"),
            format!("ADMIN_TOKEN={token}"),
            format!("BACKENDS={}", backends.join(",")),
        ];
        env.extend(extra_env);
        let published = |p: u16| {
            (
                format!("{p}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_string()),
                    host_port: Some(p.to_string()),
                }]),
            )
        };
        let stack_network = self.stack_network(stack);
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(env),
            labels: Some(lab),
            exposed_ports: Some(vec![format!("{port}/tcp"), format!("{admin_port}/tcp")]),
            host_config: Some(HostConfig {
                network_mode: Some(stack_network.clone()),
                port_bindings: Some(HashMap::from([published(port), published(admin_port)])),
                memory: Some(128 * 1024 * 1024),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..hardened_host_config()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    stack_network,
                    EndpointSettings {
                        aliases: Some(vec![host.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let container_id = self
            .create_on_stack_network(stack, &name, body, |e| {
                if crate::error::status_of(&e) == Some(409) {
                    DockerError::NotOwned {
                        kind: "container",
                        name: name.clone(),
                        stack: stack.to_string(),
                    }
                } else {
                    DockerError::api(format!("create front door {name}"), e)
                }
            })
            .await?;
        let fd = FrontDoor {
            container_id,
            address: address.to_string(),
            host,
            port,
            admin_port,
            token,
        };
        if let Err(e) = self.start_on_stack_network(stack, &fd.container_id).await {
            let _ = self.stop_and_remove(stack, &fd.container_id).await;
            // Most often the port was taken meanwhile: a front door failure,
            // retried with fresh ports where the port is not fixed.
            return Err(fd.failed(format!(
                "could not start on 127.0.0.1:{port} (admin {admin_port}): {}",
                DockerError::api(format!("start front door {name}"), e)
            )));
        }
        if let Err(e) = self.wait_admin_ready(&fd).await {
            let _ = self.stop_and_remove(stack, &fd.container_id).await;
            return Err(e);
        }
        Ok(fd)
    }

    pub(crate) async fn wait_admin_ready(&self, fd: &FrontDoor) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let last = match http::request(
                fd.admin_port,
                "GET",
                "/healthz",
                &[],
                "",
                Duration::from_secs(1),
            )
            .await
            {
                Ok(a) if a.status == 200 => return Ok(()),
                Ok(a) => format!("admin answered {}", a.status),
                Err(e) => e,
            };
            // With `unless-stopped`, a front door that cannot bind its port
            // exits and is restarted: a restart or a stop means it failed.
            let info = self
                .client()
                .inspect_container(&fd.container_id, None::<InspectContainerOptions>)
                .await
                .ok();
            let restarted = info.as_ref().and_then(|i| i.restart_count).unwrap_or(0) > 0;
            let state = info.and_then(|i| i.state);
            let down =
                state.is_some_and(|s| s.running == Some(false) || s.restarting == Some(true));
            if restarted || down || Instant::now() >= deadline {
                return Err(fd.failed(format!(
                    "not ready on 127.0.0.1:{} (admin {}): {last}; is the port already in use?",
                    fd.port, fd.admin_port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Atomically replace the front door's backend list.
    pub async fn front_door_switch(&self, fd: &FrontDoor, backends: &[String]) -> Result<()> {
        let auth = format!("Bearer {}", fd.token);
        let a = fd
            .admin_backends("PUT", &[("Authorization", &auth)], &backends.join("\n"))
            .await?;
        if a.status == 200 {
            Ok(())
        } else {
            Err(fd.failed(format!("switch answered {}: {}", a.status, a.body.trim())))
        }
    }

    /// The backends the front door knows (current and draining).
    pub async fn front_door_status(&self, fd: &FrontDoor) -> Result<Vec<BackendStatus>> {
        let a = fd.admin_backends("GET", &[], "").await?;
        Ok(a.body
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some(BackendStatus {
                    addr: f.next()?.to_string(),
                    in_flight: f.next()?.parse().ok()?,
                    current: f.next()? == "current",
                    served: f.next()?.parse().ok()?,
                })
            })
            .collect())
    }

    /// Wait until none of `addrs` has a request in flight on the front door.
    pub async fn front_door_wait_drained(
        &self,
        fd: &FrontDoor,
        addrs: &[String],
        deadline: Instant,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            let busy = self
                .front_door_status(fd)
                .await?
                .into_iter()
                .any(|b| b.in_flight > 0 && addrs.contains(&b.addr));
            if !busy {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DockerError::Timeout {
                    operation: format!("draining old replicas of {}", fd.address),
                    elapsed: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
