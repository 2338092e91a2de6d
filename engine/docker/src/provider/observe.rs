//! Reading a service back for refresh: the recorded attributes, with the
//! fields Docker shows replaced by what it shows, and a `docker_drift` list
//! for what has no attribute of its own (see the README, "Drift").

use std::collections::{BTreeMap, BTreeSet};

use apprun_engine::attributes::ServiceAttributes;
use bollard::query_parameters::InspectContainerOptions;
use serde_json::{Map, Value};

use super::attrs::rewrite_urls;
use crate::engine::{DockerEngine, Owned};
use crate::error::{DockerError, Result, status_of};
use crate::labels;
use crate::spec::{Secret, env_digest};

/// The top-level attribute that lists what drifted. The desired attributes
/// never have it, so its presence alone makes the plan an update.
pub const DRIFT_ATTRIBUTE: &str = "docker_drift";

/// What a read of a service found.
pub(crate) struct ServiceView {
    /// The attributes (recorded, with observed fields and drift).
    pub attributes: Value,
    /// The front door's port, if it exists.
    pub front_door_port: Option<u16>,
}

/// Everything `observe_service` needs besides the engine.
pub(crate) struct ServiceQuery<'a> {
    pub stack: &'a str,
    pub address: &'a str,
    /// The record as stored: the read's attributes start from it.
    pub recorded: &'a Value,
    /// The same record, decoded (env values and commands sealed).
    pub attributes: &'a ServiceAttributes,
    /// The secrets as they resolve now (`None`: they do not resolve).
    pub secrets: Option<BTreeMap<String, Secret>>,
    /// The Docker network the replicas must be on (from `vpc_connector`).
    pub network: Option<String>,
    /// The digest of the service's build context as it is now (`None`: no
    /// build, or unreadable).
    pub build_digest: Option<String>,
}

/// The fields read from the first running replica.
struct Seen {
    port: Option<u64>,
    cpu: Option<u64>,
    memory: Option<u64>,
    env: Map<String, Value>,
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

fn split_entry(entry: &str) -> (&str, &str) {
    entry.split_once('=').unwrap_or((entry, ""))
}

/// Observes one service; `Ok(None)` when nothing of it is left (or only a
/// successor with another physical name).
pub(crate) async fn observe_service(
    engine: &DockerEngine,
    query: &ServiceQuery<'_>,
) -> Result<Option<ServiceView>> {
    let everything = engine.list_owned(query.stack, None).await?;
    // Env values hold other services' URLs as containers reach them; the
    // record holds them as people see them (`${services.x.url}`).
    let urls: BTreeMap<String, String> = everything
        .iter()
        .filter(|c| c.role == labels::ROLE_FRONT_DOOR)
        .filter_map(|c| {
            let port = c.labels.get(labels::FRONT_DOOR_PORT)?;
            let host = engine.front_door_host(query.stack, &c.address);
            Some((
                format!("http://{host}:{port}"),
                format!("http://127.0.0.1:{port}"),
            ))
        })
        .collect();
    let owned: Vec<Owned> = everything
        .into_iter()
        .filter(|c| c.address == query.address)
        .collect();
    let name = query.attributes.name.as_str();
    let mut replicas: Vec<&Owned> = owned
        .iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .collect();
    let front_door = owned.iter().find(|c| c.role == labels::ROLE_FRONT_DOOR);
    let is_mine =
        |c: &Owned| name.is_empty() || c.labels.get(labels::NAME).is_none_or(|n| n == name);
    if !replicas.is_empty() && !replicas.iter().any(|c| is_mine(c)) {
        // Every replica belongs to a renamed successor: this one is gone.
        return Ok(None);
    }
    replicas.retain(|c| is_mine(c));
    if replicas.is_empty() && front_door.is_none() {
        return Ok(None);
    }
    replicas.sort_by(|a, b| a.name.cmp(&b.name));
    let mut drift: Vec<String> = Vec::new();
    match front_door {
        None => drift.push("the front door is missing".to_string()),
        Some(fd) if !fd.running => {
            drift.push(format!("the front door {} is {}", fd.name, fd.state));
        }
        Some(_) => {}
    }
    let current_generation = replicas.iter().map(|r| r.generation.clone()).max();
    let current: Vec<&Owned> = replicas
        .iter()
        .copied()
        .filter(|r| Some(&r.generation) == current_generation.as_ref())
        .collect();
    for r in replicas
        .iter()
        .filter(|r| Some(&r.generation) != current_generation.as_ref())
    {
        drift.push(format!(
            "replica {} of an earlier deployment ({}) is still there",
            r.name, r.generation
        ));
    }
    if current.is_empty() {
        drift.push("no replica exists".to_string());
    }
    if let Some(now) = &query.build_digest
        && current.iter().any(|r| {
            r.labels
                .get(labels::BUILD_DIGEST)
                .is_some_and(|built| built != now)
        })
    {
        drift.push("the build context changed since the last deployment".to_string());
    }
    let expected = current
        .iter()
        .find_map(|r| r.labels.get(labels::REPLICAS)?.parse::<usize>().ok());
    if let Some(expected) = expected
        && current.len() < expected
    {
        drift.push(format!(
            "{} of {expected} replicas are missing",
            expected - current.len()
        ));
    }
    for r in current.iter().filter(|r| !r.running) {
        drift.push(format!("replica {} is not running ({})", r.name, r.state));
    }

    let recorded_env = &query.attributes.env;
    let secret_names: BTreeSet<String> = query.attributes.secrets.keys().cloned().collect();
    let mut observed: Option<Seen> = None;
    let mut image_ids: BTreeMap<String, Option<String>> = BTreeMap::new();
    for r in current.iter().filter(|r| r.running) {
        let info = match engine
            .client()
            .inspect_container(&r.id, None::<InspectContainerOptions>)
            .await
        {
            Ok(i) => i,
            Err(e) if status_of(&e) == Some(404) => {
                drift.push(format!("replica {} disappeared while being read", r.name));
                continue;
            }
            Err(e) => return Err(DockerError::api(format!("inspect container {}", r.name), e)),
        };
        let running_image = info.image.clone().unwrap_or_default();
        let env: Vec<String> = info
            .config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default();
        let defaults: Vec<String> = match engine.client().inspect_image(&running_image).await {
            Ok(img) => img.config.and_then(|c| c.env).unwrap_or_default(),
            Err(_) => Vec::new(),
        };

        // Image: the reference it was started from should still be that image.
        if let Some(reference) = r.labels.get(labels::IMAGE) {
            if !image_ids.contains_key(reference) {
                image_ids.insert(reference.clone(), engine.image_id(reference).await?);
            }
            if let Some(Some(now)) = image_ids.get(reference)
                && *now != running_image
            {
                drift.push(format!(
                    "replica {} runs image {} but {reference} is now {}",
                    r.name,
                    short(&running_image),
                    short(now)
                ));
            }
        }

        // Env: what apprun set (PORT, env keys, secrets) must digest to the label.
        let ours: Vec<&String> = env
            .iter()
            .filter(|e| {
                let (k, _) = split_entry(e);
                k == "PORT" || recorded_env.contains_key(k) || secret_names.contains(k)
            })
            .collect();
        let extra: Vec<&str> = env
            .iter()
            .filter(|e| !ours.contains(e) && !defaults.contains(e))
            .map(|e| split_entry(e).0)
            .collect();
        if r.labels
            .get(labels::ENV_DIGEST)
            .is_some_and(|d| *d != env_digest(&ours))
        {
            drift.push(format!(
                "the environment of replica {} is not what apprun deployed",
                r.name
            ));
        }
        for k in &extra {
            drift.push(format!(
                "replica {} has environment variable {k}, which apprun did not set",
                r.name
            ));
        }

        // Secrets: present, and equal to their current local value.
        for secret in &secret_names {
            let value = env.iter().find_map(|e| {
                let (k, v) = split_entry(e);
                (k == secret).then_some(v)
            });
            match (value, query.secrets.as_ref().and_then(|s| s.get(secret))) {
                (None, _) => drift.push(format!(
                    "secret {secret} is missing from replica {}",
                    r.name
                )),
                (Some(v), Some(now)) if v != now.expose() => drift.push(format!(
                    "secret {secret} has a new local value; replica {} runs the previous one",
                    r.name
                )),
                _ => {}
            }
        }

        // Network of the VPC connector.
        if let Some(net) = &query.network {
            let joined = info
                .network_settings
                .as_ref()
                .and_then(|n| n.networks.as_ref())
                .is_some_and(|n| n.contains_key(net));
            if !joined {
                drift.push(format!(
                    "replica {} is not attached to network {net}",
                    r.name
                ));
            }
        }

        if observed.is_none() {
            let host = info.host_config.as_ref();
            let port = host
                .and_then(|h| h.port_bindings.as_ref())
                .and_then(|b| b.keys().find_map(|k| k.strip_suffix("/tcp")?.parse().ok()));
            let cpu = host
                .and_then(|h| h.nano_cpus)
                .filter(|n| *n > 0)
                .map(|n| (n as u64 * 1024).div_ceil(1_000_000_000));
            let memory = host
                .and_then(|h| h.memory)
                .filter(|m| *m > 0)
                .map(|m| m as u64 / (1024 * 1024));
            let mut env_attr = Map::new();
            for e in &env {
                let (k, v) = split_entry(e);
                if k == "PORT" || secret_names.contains(k) {
                    continue;
                }
                if recorded_env.contains_key(k) || !defaults.contains(e) {
                    env_attr.insert(k.to_string(), Value::String(rewrite_urls(v, &urls)));
                }
            }
            if let Some(p) = recorded_env.get("PORT") {
                env_attr.insert("PORT".to_string(), p.to_value());
            }
            observed = Some(Seen {
                port,
                cpu,
                memory,
                env: env_attr,
            });
        }
    }

    let mut attributes = query.recorded.clone();
    if let Value::Object(map) = &mut attributes {
        map.remove(DRIFT_ATTRIBUTE);
        if let Some(Seen {
            port,
            cpu,
            memory,
            env,
        }) = observed
        {
            for (key, value) in [("port", port), ("cpu", cpu), ("memory", memory)] {
                if let Some(v) = value {
                    map.insert(key.to_string(), Value::from(v));
                }
            }
            map.insert("env".to_string(), Value::Object(env));
        }
        if !drift.is_empty() {
            drift.sort();
            drift.dedup();
            map.insert(
                DRIFT_ATTRIBUTE.to_string(),
                Value::Array(drift.into_iter().map(Value::String).collect()),
            );
        }
    }
    let front_door_port = front_door.and_then(|fd| {
        fd.labels
            .get(labels::FRONT_DOOR_PORT)
            .and_then(|p| p.parse().ok())
    });
    Ok(Some(ServiceView {
        attributes,
        front_door_port,
    }))
}
