//! Blue/green deployments with App Runner's semantics: start the new
//! replicas, wait for their health checks, switch the front door, drain and
//! stop the old replicas. If the new replicas fail, remove them and keep
//! the old ones serving; the deployment is reported as failed.

use std::time::{Duration, Instant};

use crate::engine::{DockerEngine, ReplicaInfo};
use crate::error::{DockerError, Result};
use crate::front_door::FrontDoor;
use crate::images::{BuildProgress, ECHO};
use crate::labels;
use crate::spec::{ImageSource, ServiceSpec};

/// What a deployment reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// A line of image build output.
    Build(BuildProgress),
    /// New replicas were started.
    ReplicasStarted {
        /// The generation.
        generation: String,
        /// How many.
        count: usize,
    },
    /// The new replicas passed their health checks.
    Healthy,
    /// The front door now sends traffic to the new replicas.
    Switched {
        /// The stable URL.
        url: String,
    },
    /// Old replicas were stopped and removed.
    OldStopped {
        /// How many.
        count: usize,
    },
    /// The new replicas failed; they were removed and the old ones kept.
    RolledBack {
        /// Why.
        reason: String,
    },
}

/// A successful deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The generation id (label `apprun.generation`).
    pub generation: String,
    /// The image reference the replicas run.
    pub image: String,
    /// The local image id (`sha256:...`).
    pub image_id: String,
    /// The replicas now serving.
    pub replicas: Vec<ReplicaInfo>,
    /// The front door.
    pub front_door: FrontDoor,
    /// The env digest (label `apprun.env-digest`).
    pub env_digest: String,
}

impl Deployment {
    /// The service's stable URL.
    pub fn url(&self) -> String {
        self.front_door.url()
    }
}

/// A spec a deployment can run: at least one replica, a port.
fn check_spec(spec: &ServiceSpec) -> Result<()> {
    if spec.min_replicas == 0 || spec.port == 0 {
        return Err(DockerError::InvalidSpec {
            address: spec.address.clone(),
            reason: "min_replicas and port must be at least 1".to_string(),
        });
    }
    Ok(())
}

/// A new, sortable generation id: milliseconds since the epoch in hex plus a
/// per-process counter.
pub fn new_generation() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!(
        "g{ms:x}{:02x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) % 256
    )
}

impl DockerEngine {
    /// Make sure the service's image exists locally, building it if the
    /// spec says `Build` (output goes to `progress`); returns the reference.
    pub async fn resolve_image(
        &self,
        spec: &ServiceSpec,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<String> {
        match &spec.image {
            ImageSource::Reference(r) => {
                if self.image_exists(r).await? {
                    Ok(r.clone())
                } else {
                    Err(DockerError::ImageNotFound {
                        reference: r.clone(),
                    })
                }
            }
            ImageSource::BuiltinEcho => self.ensure_builtin_image(ECHO).await,
            ImageSource::Build {
                context,
                dockerfile,
                tag,
            } => {
                self.build_image_with(context, dockerfile, tag, spec.no_cache, &mut |p| {
                    progress(Progress::Build(p))
                })
                .await
            }
        }
    }

    /// Deploy `spec` blue/green (see the module docs). On a failed health
    /// check the result is [`DockerError::DeploymentFailed`], the new
    /// replicas are gone and the old ones (if any) still serve.
    pub async fn deploy_blue_green(
        &self,
        spec: &ServiceSpec,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Deployment> {
        check_spec(spec)?;
        let image = self.resolve_image(spec, progress).await?;
        self.deploy_image(spec, &image, progress).await
    }

    /// [`DockerEngine::deploy_blue_green`] of `image`, which
    /// [`DockerEngine::resolve_image`] returned for `spec`: the caller can
    /// record the service between the build and the first object this
    /// creates (the stack network, then the replicas).
    pub async fn deploy_image(
        &self,
        spec: &ServiceSpec,
        image: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Deployment> {
        check_spec(spec)?;
        let image = image.to_string();
        let image_id = self.image_id(&image).await?.unwrap_or_default();
        self.ensure_stack_network(&spec.stack).await?;
        for n in &spec.networks {
            self.ensure_network(&spec.stack, n).await?;
        }
        let old: Vec<_> = self
            .list_owned(&spec.stack, Some(&spec.address))
            .await?
            .into_iter()
            .filter(|c| c.role == labels::ROLE_REPLICA)
            .collect();
        let generation = new_generation();

        // Start the new replicas.
        let starts = (0..spec.min_replicas).map(|i| self.run_replica(spec, &image, &generation, i));
        let mut new = Vec::new();
        let mut start_error = None;
        for r in futures_util::future::join_all(starts).await {
            match r {
                Ok(info) => new.push(info),
                Err(e) => start_error = Some(e),
            }
        }
        if let Some(e) = start_error {
            self.remove_replicas(&spec.stack, &new).await;
            return Err(e);
        }
        progress(Progress::ReplicasStarted {
            generation: generation.clone(),
            count: new.len(),
        });

        // Health checks; roll back on failure.
        let deadline = Instant::now() + spec.deploy_timeout;
        if let Err(e) = self
            .wait_healthy(&spec.address, &new, &spec.health, deadline)
            .await
        {
            self.remove_replicas(&spec.stack, &new).await;
            let reason = e.to_string();
            progress(Progress::RolledBack {
                reason: reason.clone(),
            });
            return Err(DockerError::DeploymentFailed {
                address: spec.address.clone(),
                generation,
                reason,
                previous_kept: old.iter().filter(|c| c.running).count(),
            });
        }
        progress(Progress::Healthy);

        // Switch the front door (creating it the first time).
        let backends: Vec<String> = new.iter().map(|r| r.backend(spec.port)).collect();
        let front_door = match self.front_door_up(spec, &backends).await {
            Ok(fd) => fd,
            Err(e) => {
                self.remove_replicas(&spec.stack, &new).await;
                return Err(e);
            }
        };
        progress(Progress::Switched {
            url: front_door.url(),
        });

        // Drain, then stop the old replicas. The front door knows them by
        // name and port; their port may differ from the new spec's.
        let mut old_backends = Vec::new();
        for c in &old {
            if let Ok(info) = self
                .client()
                .inspect_container(
                    &c.id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await
            {
                let ports = info
                    .config
                    .and_then(|cfg| cfg.exposed_ports)
                    .unwrap_or_default();
                for key in ports {
                    if let Some(p) = key.strip_suffix("/tcp") {
                        old_backends.push(format!("{}:{p}", crate::engine::dns_host(&c.name)));
                    }
                }
            }
        }
        let drain_deadline = Instant::now() + Duration::from_secs(30);
        if let Err(e) = self
            .front_door_wait_drained(&front_door, &old_backends, drain_deadline)
            .await
        {
            tracing::warn!(address = %spec.address, error = %e, "old replicas did not drain; stopping them anyway");
        }
        let stops = old.iter().map(|c| self.stop_and_remove(&spec.stack, &c.id));
        for r in futures_util::future::join_all(stops).await {
            r?;
        }
        progress(Progress::OldStopped { count: old.len() });
        Ok(Deployment {
            generation,
            image,
            image_id,
            replicas: new,
            front_door,
            env_digest: spec.env_digest(),
        })
    }

    async fn remove_replicas(&self, stack: &str, replicas: &[ReplicaInfo]) {
        let removes = replicas.iter().map(|r| self.stop_and_remove(stack, &r.id));
        for r in futures_util::future::join_all(removes).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not remove a replica");
            }
        }
    }

    /// Remove a service: its front door first (so nothing routes to it), then
    /// its replicas: every container carrying its labels, whether or not a
    /// front door was ever started. Gone already is fine. The stack network
    /// stays (see [`DockerEngine::remove_stack_network_if_unused`]).
    pub async fn remove_service(&self, stack: &str, address: &str) -> Result<()> {
        let owned = self.list_owned(stack, Some(address)).await?;
        for c in owned.iter().filter(|c| c.role == labels::ROLE_FRONT_DOOR) {
            self.stop_and_remove(stack, &c.id).await?;
        }
        let stops = owned
            .iter()
            .filter(|c| c.role != labels::ROLE_FRONT_DOOR)
            .map(|c| self.stop_and_remove(stack, &c.id));
        for r in futures_util::future::join_all(stops).await {
            r?;
        }
        Ok(())
    }
}
