//! The local Docker target's building blocks: everything apprun does on the
//! Docker Engine, through bollard (the only crate that imports it). The
//! engine's `Provider` implementation calls these; this crate knows nothing
//! of YAML, plans or state.
//!
//! - [`DockerEngine`] ([`engine`]): connection, replicas, networks,
//!   ownership checks, [`DockerEngine::destroy_stack`].
//! - [`images`]: the built-in `FROM scratch` images (echo server, front door)
//!   built from static binaries embedded by `build.rs`, and user builds.
//! - [`front_door`]: the per-service proxy on `127.0.0.1:<port>`.
//! - [`domain`]: a custom domain's own front door, serving only its `Host`.
//! - [`health`]: health checks through published 127.0.0.1 ports.
//! - [`deploy`]: blue/green deployments with rollback.
//! - [`observe`]: what runs, for refresh and drift.
//! - [`spec`]: the plain input types ([`ServiceSpec`], [`Secret`]...).
//! - [`provider`]: [`DockerProvider`], the engine's `Provider` for Docker.
//!
//! Invariants: everything created carries `apprun.stack`,
//! `apprun.instance` and `apprun.address` labels ([`labels`]); nothing
//! without the caller's stack and instance labels is ever stopped or
//! removed; every container is on its stack's own network, never on
//! Docker's default bridge; ports are published on 127.0.0.1 only and the
//! host reaches containers only through them; containers run with
//! `no-new-privileges`, a pids limit and fewer capabilities than Docker's
//! default; secret values never reach a label, a log line or an error
//! message.

pub mod context_digest;
pub mod deploy;
pub mod domain;
pub mod engine;
pub mod error;
pub mod front_door;
pub mod health;
mod http;
pub mod images;
pub mod labels;
pub mod observe;
pub mod provider;
pub mod spec;

pub use deploy::{Deployment, Progress, new_generation};
pub use domain::{DomainSpec, ObservedDomain};
pub use engine::{
    DEFAULT_INSTANCE, DROPPED_CAPABILITIES, DockerEngine, Owned, PIDS_LIMIT, ReplicaInfo, dns_host,
    instance_of,
};
pub use error::{DockerError, Result};
pub use front_door::{BackendStatus, FrontDoor};
pub use images::{BuildProgress, BuiltinImage, ECHO, FRONT_DOOR};
pub use observe::{Drift, ObservedReplica, ObservedService, ObservedStack};
pub use provider::{DockerProvider, state_instance};
pub use spec::{HealthProtocol, HealthSpec, ImageSource, Secret, ServiceSpec, env_digest};
