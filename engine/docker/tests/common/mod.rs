//! Shared helpers for the Docker tests: engine-or-skip, a unique stack per
//! test with a drop guard that destroys it, and a tiny HTTP client.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apprun_docker::{
    DockerEngine, DockerProvider, HealthProtocol, HealthSpec, ImageSource, ServiceSpec,
};
use apprun_engine::provider::{Progress, ResourceRequest};
use apprun_schema::Address;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../../../tests/shared/image_tags.rs"]
mod image_tags;

/// Connect to the Docker Engine, or skip the test (return `None`) with a
/// message; under `CI=true` a missing engine fails the test instead.
pub async fn engine_or_skip(test: &str) -> Option<DockerEngine> {
    match DockerEngine::connect().await {
        Ok(e) => Some(e),
        Err(err) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: CI=true and the Docker Engine is required: {err}");
            }
            eprintln!(
                "SKIPPED {test}: {err}. To run the Docker tests, start a Docker Engine \
                 (or set DOCKER_HOST) and run `cargo test -p apprun-docker`."
            );
            None
        }
    }
}

/// A unique stack name for one test, destroyed on drop (even on panic) in
/// the default instance and every instance added with
/// [`StackGuard::instance`].
pub struct StackGuard {
    pub stack: String,
    instances: Vec<String>,
}

impl StackGuard {
    pub fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let stack = format!("t-{test}-{}-{:x}", std::process::id(), nanos % 0xffff_ffff);
        StackGuard {
            stack: stack.replace('_', "-"),
            instances: vec![apprun_docker::DEFAULT_INSTANCE.to_string()],
        }
    }

    /// Also destroys the stack in `instance` on drop.
    pub fn instance(&mut self, instance: &str) {
        self.instances.push(instance.to_string());
    }
}

impl Drop for StackGuard {
    fn drop(&mut self) {
        let stack = self.stack.clone();
        let instances = self.instances.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(e) = DockerEngine::connect().await {
                    for instance in instances {
                        let _ = e
                            .clone()
                            .with_instance(instance)
                            .destroy_stack(&stack)
                            .await;
                    }
                }
            });
            image_tags::remove_image_tags(&[
                format!("apprun-test/{stack}"),
                format!("apprun.local/{stack}/*"),
            ]);
        })
        .join();
    }
}

/// A spec for the built-in echo server with fast health checks.
pub fn echo_spec(stack: &str, address: &str, message: &str) -> ServiceSpec {
    let mut spec = ServiceSpec::new(stack, address, ImageSource::BuiltinEcho, 8080);
    spec.env.insert("MESSAGE".into(), message.into());
    spec.cpu_units = 256;
    spec.memory_mb = 64;
    spec.health = HealthSpec {
        protocol: HealthProtocol::Http,
        path: "/health".into(),
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
        healthy_threshold: 2,
        unhealthy_threshold: 5,
    };
    spec.deploy_timeout = Duration::from_secs(20);
    spec
}

/// GET `path` on 127.0.0.1:`port`; returns (status, body).
pub async fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    get_host(port, path, "127.0.0.1").await
}

/// GET `path` on 127.0.0.1:`port` with header `Host: <host>` (what
/// `curl -H 'Host: <host>' http://127.0.0.1:<port><path>` sends); returns
/// (status, body).
pub async fn get_host(port: u16, path: &str, host: &str) -> Result<(u16, String), String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("malformed answer: {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .map_err(|_| "timeout".to_string())?
}

/// The `replica=<id>` part of an echo answer.
pub fn replica_of(body: &str) -> String {
    body.split_whitespace()
        .find_map(|w| w.strip_prefix("replica="))
        .unwrap_or("")
        .to_string()
}

/// A raw bollard client, for checks the engine's API does not offer.
pub async fn raw_docker() -> bollard::Docker {
    bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

/// The outputs of a request's dependencies, by address.
pub type Deps = BTreeMap<Address, BTreeMap<String, Value>>;

/// A provider on the engine with the crate's folder as base and a short
/// deploy timeout, or skip (see [`engine_or_skip`]).
pub async fn provider_or_skip(test: &str) -> Option<DockerProvider> {
    let engine = engine_or_skip(test).await?;
    Some(
        DockerProvider::new(engine, env!("CARGO_MANIFEST_DIR"))
            .with_deploy_timeout(Duration::from_secs(30)),
    )
}

/// A progress sink that keeps every line.
pub fn sink() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    let progress: Progress = Arc::new(move |address: &Address, line: &str| {
        keep.lock().unwrap().push(format!("{address}: {line}"));
    });
    (progress, lines)
}

/// A request for `address` whose create reports nowhere.
pub fn request<'a>(
    stack: &'a str,
    address: &'a Address,
    name: &'a str,
    attributes: &'a Value,
    dependencies: &'a Deps,
    progress: &Progress,
) -> ResourceRequest<'a> {
    ResourceRequest {
        stack,
        address,
        name,
        attributes,
        dependencies,
        progress: progress.clone(),
        created: apprun_engine::provider::Created::ignore(),
    }
}

/// Normalized service attributes (the shape of `apprun_engine::desired`)
/// of the echo server answering `message`, with fast health checks and no
/// tags.
pub fn echo_service_attrs(name: &str, message: &str) -> Value {
    json!({
        "name": name,
        "source_type": "image",
        "image": "apprun/echo:latest",
        "port": 8080,
        "cpu": 256,
        "memory": 512,
        "env": { "MESSAGE": message },
        "secrets": {},
        "health_check": {
            "protocol": "HTTP",
            "path": "/health",
            "interval": 1,
            "timeout": 1,
            "healthy_threshold": 1,
            "unhealthy_threshold": 2
        },
        "auto_deploy": false,
        "ingress": "public",
        "ip_address_type": "IPV4",
        "paused": false,
        "tags": {}
    })
}
