//! Observation for refresh and drift: what runs for each address of a stack,
//! read back from the engine by label and `inspect`, never from state.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::InspectContainerOptions;

use crate::engine::DockerEngine;
use crate::error::{DockerError, Result};
use crate::labels;
use crate::spec::{ServiceSpec, env_digest};

/// One replica as found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedReplica {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// `apprun.generation`.
    pub generation: String,
    /// Whether it runs.
    pub running: bool,
    /// Docker's state word.
    pub state: String,
    /// The image reference it was created from.
    pub image_ref: String,
    /// The image id it runs.
    pub image_id: String,
    /// The env digest recorded in its label when apprun created it.
    pub env_digest_label: String,
    /// The env digest recomputed from its actual env (image defaults removed).
    pub env_digest_actual: String,
}

/// Everything found for one service address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedService {
    /// Its replicas, running or not.
    pub replicas: Vec<ObservedReplica>,
    /// The front door's public port, if a front door container exists.
    pub front_door_port: Option<u16>,
    /// Whether the front door runs.
    pub front_door_running: bool,
}

/// Everything apprun owns in one stack, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedStack {
    /// Services by address.
    pub services: BTreeMap<String, ObservedService>,
    /// Networks: address (`vpc_connectors.<name>`) to Docker network name.
    pub networks: BTreeMap<String, String>,
}

/// One difference between a service's spec and what runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Drift {
    /// Fewer replicas run than the spec asks for.
    ReplicaCount {
        /// `min_replicas`.
        expected: u32,
        /// How many run.
        running: u32,
    },
    /// A replica exists but is not running (stopped or killed by hand).
    ReplicaNotRunning {
        /// Container name.
        name: String,
        /// Docker's state word.
        state: String,
    },
    /// A replica runs another image than the spec's.
    Image {
        /// Container name.
        name: String,
        /// The spec's image id.
        expected: String,
        /// The container's image id.
        actual: String,
    },
    /// A replica's env differs from the spec's (digests only, no values).
    Env {
        /// Container name.
        name: String,
    },
    /// The front door is missing or stopped.
    FrontDoor {
        /// `missing` or `stopped`.
        state: String,
    },
}

impl ObservedService {
    /// Compare with `spec`; `image_id` is the local id of the spec's image
    /// (from [`DockerEngine::image_id`]), `None` to skip the image check.
    pub fn drift(&self, spec: &ServiceSpec, image_id: Option<&str>) -> Vec<Drift> {
        let mut out = Vec::new();
        let running = self.replicas.iter().filter(|r| r.running).count() as u32;
        if running < spec.min_replicas {
            out.push(Drift::ReplicaCount {
                expected: spec.min_replicas,
                running,
            });
        }
        let want_env = spec.env_digest();
        for r in &self.replicas {
            if !r.running {
                out.push(Drift::ReplicaNotRunning {
                    name: r.name.clone(),
                    state: r.state.clone(),
                });
                continue;
            }
            if let Some(id) = image_id
                && id != r.image_id
            {
                out.push(Drift::Image {
                    name: r.name.clone(),
                    expected: id.to_string(),
                    actual: r.image_id.clone(),
                });
            }
            if r.env_digest_actual != want_env {
                out.push(Drift::Env {
                    name: r.name.clone(),
                });
            }
        }
        match (self.front_door_port, self.front_door_running) {
            (None, _) => out.push(Drift::FrontDoor {
                state: "missing".to_string(),
            }),
            (Some(_), false) => out.push(Drift::FrontDoor {
                state: "stopped".to_string(),
            }),
            _ => {}
        }
        out
    }
}

impl DockerEngine {
    /// Observe everything apprun owns in `stack`.
    pub async fn observe(&self, stack: &str) -> Result<ObservedStack> {
        let mut out = ObservedStack::default();
        let mut image_env: HashMap<String, Vec<String>> = HashMap::new();
        for c in self.list_owned(stack, None).await? {
            // A custom domain's front door is not a service.
            if c.role == labels::ROLE_DOMAIN {
                continue;
            }
            let svc = out.services.entry(c.address.clone()).or_default();
            if c.role == labels::ROLE_FRONT_DOOR {
                svc.front_door_port = c
                    .labels
                    .get(labels::FRONT_DOOR_PORT)
                    .and_then(|p| p.parse().ok());
                svc.front_door_running = c.running;
                continue;
            }
            if c.role != labels::ROLE_REPLICA {
                continue;
            }
            let info = match self
                .client()
                .inspect_container(&c.id, None::<InspectContainerOptions>)
                .await
            {
                Ok(i) => i,
                Err(e) if crate::error::status_of(&e) == Some(404) => continue,
                Err(e) => return Err(DockerError::api(format!("inspect container {}", c.name), e)),
            };
            let image_id = info.image.clone().unwrap_or_default();
            let env = info
                .config
                .as_ref()
                .and_then(|c| c.env.clone())
                .unwrap_or_default();
            if !image_env.contains_key(&image_id) {
                let defaults = match self.client().inspect_image(&image_id).await {
                    Ok(img) => img.config.and_then(|c| c.env).unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                image_env.insert(image_id.clone(), defaults);
            }
            let defaults = image_env.get(&image_id).cloned().unwrap_or_default();
            let own: Vec<&String> = env.iter().filter(|e| !defaults.contains(e)).collect();
            svc.replicas.push(ObservedReplica {
                id: c.id.clone(),
                name: c.name.clone(),
                generation: c.generation.clone(),
                running: c.running,
                state: c.state.clone(),
                image_ref: c.labels.get(labels::IMAGE).cloned().unwrap_or_default(),
                image_id,
                env_digest_label: c
                    .labels
                    .get(labels::ENV_DIGEST)
                    .cloned()
                    .unwrap_or_default(),
                env_digest_actual: env_digest(own),
            });
        }
        for n in self.list_owned_networks(stack).await? {
            if n.role == labels::ROLE_NETWORK {
                out.networks.insert(n.address, n.name);
            }
        }
        Ok(out)
    }

    /// The drift of one service against `spec` (image checked against the
    /// current local id of the spec's image reference).
    pub async fn drift(&self, spec: &ServiceSpec) -> Result<Vec<Drift>> {
        let observed = self.observe(&spec.stack).await?;
        let svc = observed
            .services
            .get(&spec.address)
            .cloned()
            .unwrap_or_default();
        let reference = match &spec.image {
            crate::spec::ImageSource::Reference(r) => Some(r.clone()),
            crate::spec::ImageSource::Build { tag, .. } => Some(tag.clone()),
            crate::spec::ImageSource::BuiltinEcho => Some(crate::images::ECHO.tag()),
        };
        let image_id = match reference {
            Some(r) => self.image_id(&r).await?,
            None => None,
        };
        Ok(svc.drift(spec, image_id.as_deref()))
    }
}
