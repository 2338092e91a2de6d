//! The labels apprun puts on everything it creates. They are the only way
//! apprun finds its objects again, so they are part of the on-engine format.
//!
//! Invariant: label values never contain a secret value.

use std::collections::HashMap;

/// The stack name.
pub const STACK: &str = "apprun.stack";
/// Which copy of the stack: 8 hex of the SHA-256 of its canonical state
/// location ([`crate::instance_of`]), so two folders that deploy stacks of the
/// same name never see, adopt or remove each other's objects.
pub const INSTANCE: &str = "apprun.instance";
/// The resource address (`services.web`, `vpc_connectors.db`).
pub const ADDRESS: &str = "apprun.address";
/// `replica`, `front-door`, `domain` (a custom domain's front door),
/// `network` (a VPC connector's) or `stack-network` (the stack's own; its
/// `apprun.address` is empty).
pub const ROLE: &str = "apprun.role";
/// The deployment generation a replica belongs to.
pub const GENERATION: &str = "apprun.generation";
/// [`crate::env_digest`] of the env the replica was started with.
pub const ENV_DIGEST: &str = "apprun.env-digest";
/// The image reference the replica was started from.
pub const IMAGE: &str = "apprun.image";
/// The front door's public port on 127.0.0.1.
pub const FRONT_DOOR_PORT: &str = "apprun.front-door.port";
/// The front door's admin port on 127.0.0.1.
pub const FRONT_DOOR_ADMIN_PORT: &str = "apprun.front-door.admin-port";
/// The front door's max_concurrency and queue timeout, `<n>/<ms>`.
pub const FRONT_DOOR_LIMITS: &str = "apprun.front-door.limits";
/// A custom domain's front door: the host names it serves, comma-separated
/// (`shop.example.com,www.shop.example.com`).
pub const DOMAIN_HOSTS: &str = "apprun.domain.hosts";
/// A custom domain's front door: where it forwards, `<host>:<port>` of the
/// service's front door on the stack network.
pub const DOMAIN_BACKEND: &str = "apprun.domain.backend";

/// The resource's physical name (replicas; set by the provider), so that a
/// renamed service's successor is told apart from its predecessor.
pub const NAME: &str = "apprun.name";
/// Digest of the build context a replica's image was built from.
pub const BUILD_DIGEST: &str = "apprun.build-digest";
/// How many replicas the deployment asked for (replicas; set by the provider).
pub const REPLICAS: &str = "apprun.replicas";
/// What started the replica's deployment, as App Runner names operations:
/// `CREATE_SERVICE`, `UPDATE_SERVICE` or `START_DEPLOYMENT` (replicas; set
/// by the provider; `status` lists it).
pub const OPERATION: &str = "apprun.operation";

/// Role of a replica container.
pub const ROLE_REPLICA: &str = "replica";
/// Role of a front-door container.
pub const ROLE_FRONT_DOOR: &str = "front-door";
/// Role of a custom domain's front door (`domains.*`).
pub const ROLE_DOMAIN: &str = "domain";
/// Role of a VPC connector's network.
pub const ROLE_NETWORK: &str = "network";
/// Role of the stack's own network, which every replica and front door joins.
pub const ROLE_STACK_NETWORK: &str = "stack-network";

/// The labels every object gets.
pub(crate) fn base(
    stack: &str,
    instance: &str,
    address: &str,
    role: &str,
) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert(STACK.to_string(), stack.to_string());
    m.insert(INSTANCE.to_string(), instance.to_string());
    m.insert(ADDRESS.to_string(), address.to_string());
    m.insert(ROLE.to_string(), role.to_string());
    m
}
