//! The Docker target's performance benchmark (`harness = false`, a printed
//! report): `cargo bench -p apprun-docker --bench docker`.
//!
//! Figures (the targets in brackets):
//!
//! - **apply from nothing** (ratio <= 1.5): `examples/hello`'s `services.web`
//!   through `DockerProvider::create` (the engine's `Provider` trait, with
//!   the attributes `apprun_engine::desired` gives), versus the same two
//!   containers (replica + front door) created and started with raw bollard.
//!   Both clocks stop at the first `200` through the front door URL.
//!   Also the real CLI (`apprun apply --target docker --auto-approve` as a
//!   subprocess in a temp copy of the example) when its binary is found.
//! - **blue/green update** (ratio <= 1.5): `DockerProvider::update` with a
//!   changed env, versus raw bollard: start a new replica, poll it until
//!   `200`, switch the front door's backend list, stop (2 s grace, as the
//!   engine) and remove the old replica.
//! - **requests per second** (ratio >= 0.8): the same client (threads, a new
//!   connection per request, since the echo server closes every connection)
//!   against the front door versus straight at the replica's published
//!   127.0.0.1 port; 1 replica for the ratio, 3 replicas for information.
//!
//! One warm-up of each path (the image builds are cached after it), then
//! `APPRUN_BENCH_RUNS` (default 5) runs of each, alternating; medians. A
//! readable table and one JSON line per figure on stdout. Everything runs
//! under a unique stack name and is destroyed at the end, also on panic.
//! Loopback only: published ports on 127.0.0.1, never bridge addresses.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apprun_docker::{DockerEngine, DockerProvider, FRONT_DOOR, labels};
use apprun_engine::provider::{Applied, Progress, Provider, ResourceRequest};
use apprun_schema::{Address, Kind};
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use serde_json::{Value, json};

type Deps = BTreeMap<Address, BTreeMap<String, Value>>;

const ADDRESS: &str = "services.web";
const LOAD_THREADS: usize = 4;
const LOAD_SECONDS: f64 = 3.0;

// ---------------------------------------------------------------- cleanup

/// Destroys every stack the bench used (containers and networks labelled
/// with it, in every instance: the CLI runs label theirs with their temp
/// state location's) and untags the per-stack build tags, on drop (also on
/// panic).
struct Guard {
    stacks: Vec<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let stacks = self.stacks.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let Ok(docker) = Docker::connect_with_defaults() else {
                    return;
                };
                for s in &stacks {
                    let filters = HashMap::from([(
                        "label".to_string(),
                        vec![format!("{}={s}", labels::STACK)],
                    )]);
                    let list = bollard::query_parameters::ListContainersOptionsBuilder::default()
                        .all(true)
                        .filters(&filters)
                        .build();
                    for c in docker.list_containers(Some(list)).await.unwrap_or_default() {
                        let rm = RemoveContainerOptionsBuilder::default().force(true).build();
                        let _ = docker
                            .remove_container(&c.id.unwrap_or_default(), Some(rm))
                            .await;
                    }
                    let list = bollard::query_parameters::ListNetworksOptionsBuilder::default()
                        .filters(&filters)
                        .build();
                    for n in docker.list_networks(Some(list)).await.unwrap_or_default() {
                        let _ = docker.remove_network(&n.id.unwrap_or_default()).await;
                    }
                    let opts = RemoveImageOptionsBuilder::default().noprune(true).build();
                    let tag = format!("apprun.local/{s}/build-web:latest");
                    let _ = docker.remove_image(&tag, Some(opts), None).await;
                }
            });
        })
        .join();
    }
}

// ---------------------------------------------------------------- HTTP

/// One `GET` on 127.0.0.1:`port` with `Connection: close`; the status, or
/// `None` if there was no complete answer.
fn get_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::with_capacity(512);
    s.read_to_end(&mut buf).ok()?;
    let text = std::str::from_utf8(buf.get(..buf.len().min(32))?).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Poll `GET path` every 5 ms until it answers 200.
async fn wait_200(port: u16, path: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let p = path.to_string();
        let st =
            tokio::task::spawn_blocking(move || get_status(port, &p, Duration::from_millis(500)))
                .await
                .unwrap();
        if st == Some(200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "127.0.0.1:{port}{path} did not answer 200 within {within:?} (last: {st:?})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `PUT /backends` on a front door's admin port.
fn front_door_switch(admin_port: u16, token: &str, backends: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", admin_port)).unwrap();
    let req = format!(
        "PUT /backends HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{backends}",
        backends.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    assert!(buf.starts_with("HTTP/1.1 200"), "switch answered {buf}");
}

/// Requests per second of `GET /` on 127.0.0.1:`port` for `seconds`, with
/// `LOAD_THREADS` threads, a new connection per request. Returns
/// (requests/s of 200 answers, failures).
fn load(port: u16, seconds: f64) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..LOAD_THREADS)
        .map(|_| {
            let (stop, ok, bad) = (stop.clone(), ok.clone(), bad.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if get_status(port, "/", Duration::from_secs(5)) == Some(200) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        bad.load(Ordering::Relaxed),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------- apprun path

struct Hello {
    dir: PathBuf,
    name: String,
    attributes: Value,
}

fn load_hello(dir: &Path) -> Hello {
    let text = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    let stack = apprun_schema::load(&text, &apprun_schema::VarInputs::new()).unwrap();
    let web = apprun_engine::desired::desired(&stack)
        .into_iter()
        .find(|d| d.address == Address::new(Kind::Service, "web"))
        .unwrap();
    Hello {
        dir: dir.to_path_buf(),
        name: web.name,
        attributes: web.attributes,
    }
}

fn quiet() -> Progress {
    Arc::new(|_: &Address, _: &str| {})
}

fn url_port(applied: &Applied) -> u16 {
    let url = applied.outputs["url"].as_str().unwrap();
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// `DockerProvider::create` of the hello service (a new provider each time,
/// as each `apprun apply` process has), until the URL answers 200.
async fn apprun_apply(engine: &DockerEngine, hello: &Hello, stack: &str) -> (Duration, Applied) {
    let address = Address::new(Kind::Service, "web");
    let deps = Deps::new();
    let t0 = Instant::now();
    let provider = DockerProvider::new(engine.clone(), &hello.dir);
    let applied = provider
        .create(&ResourceRequest {
            stack,
            address: &address,
            name: &hello.name,
            attributes: &hello.attributes,
            dependencies: &deps,
            progress: quiet(),
            created: apprun_engine::provider::Created::ignore(),
        })
        .await
        .unwrap();
    wait_200(url_port(&applied), "/", Duration::from_secs(30)).await;
    (t0.elapsed(), applied)
}

/// `DockerProvider::update` with `attributes` (what changed: `changed`),
/// until the URL answers 200.
async fn apprun_update(
    engine: &DockerEngine,
    hello: &Hello,
    stack: &str,
    physical_id: &str,
    attributes: &Value,
    deps: &Deps,
    changed: &[&str],
) -> Duration {
    let address = Address::new(Kind::Service, "web");
    let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
    let t0 = Instant::now();
    let provider = DockerProvider::new(engine.clone(), &hello.dir);
    let applied = provider
        .update(
            physical_id,
            &ResourceRequest {
                stack,
                address: &address,
                name: &hello.name,
                attributes,
                dependencies: deps,
                progress: quiet(),
                created: apprun_engine::provider::Created::ignore(),
            },
            &changed,
        )
        .await
        .unwrap();
    wait_200(url_port(&applied), "/", Duration::from_secs(30)).await;
    t0.elapsed()
}

fn with_env(attributes: &Value, key: &str, value: &str) -> Value {
    let mut a = attributes.clone();
    a["env"][key] = Value::String(value.to_string());
    a
}

// ---------------------------------------------------------------- direct path

/// What the provider would run, read from the hello attributes, for raw
/// bollard calls.
struct DirectSpec {
    stack: String,
    image_id: String,
    port: u16,
    env: Vec<String>,
    nano_cpus: i64,
    memory: i64,
}

struct DirectDeployment {
    replica_id: String,
    fd_port: u16,
    admin_port: u16,
}

const DIRECT_TOKEN: &str = "bench-direct-token";

/// The labels of the direct path's objects: the stack's, in the default
/// instance, so that the guard's `destroy_stack` removes them.
fn direct_labels(spec: &DirectSpec, address: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (labels::STACK.to_string(), spec.stack.clone()),
        (
            labels::INSTANCE.to_string(),
            apprun_docker::DEFAULT_INSTANCE.to_string(),
        ),
        (labels::ADDRESS.to_string(), address.to_string()),
        (labels::ROLE.to_string(), role.to_string()),
    ])
}

/// The direct path's network, as the engine's stack network (created once).
async fn direct_network(docker: &Docker, spec: &DirectSpec) -> String {
    let name = format!("{}-net", spec.stack);
    let exists = docker
        .inspect_network(
            &name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .is_ok();
    if !exists {
        docker
            .create_network(bollard::models::NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".to_string()),
                labels: Some(direct_labels(spec, "", labels::ROLE_STACK_NETWORK)),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    name
}

/// The engine's hardening, as `run_replica` and the front door get it.
fn hardened() -> HostConfig {
    HostConfig {
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        pids_limit: Some(apprun_docker::PIDS_LIMIT),
        cap_drop: Some(
            apprun_docker::DROPPED_CAPABILITIES
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        init: Some(true),
        ..Default::default()
    }
}

/// Create and start one replica as `run_replica` does (env, limits,
/// hardening, on the stack network, the port published on 127.0.0.1,
/// ephemeral); returns its id and published port.
async fn direct_replica(
    docker: &Docker,
    spec: &DirectSpec,
    name: &str,
    extra_env: &[String],
) -> (String, u16) {
    let network = direct_network(docker, spec).await;
    let port_key = format!("{}/tcp", spec.port);
    let mut bindings = HashMap::new();
    bindings.insert(
        port_key.clone(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".to_string()),
            host_port: Some(String::new()),
        }]),
    );
    let mut env = spec.env.clone();
    env.extend(extra_env.iter().cloned());
    let body = ContainerCreateBody {
        image: Some(spec.image_id.clone()),
        env: Some(env),
        labels: Some(direct_labels(spec, ADDRESS, labels::ROLE_REPLICA)),
        exposed_ports: Some(vec![port_key.clone()]),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            nano_cpus: Some(spec.nano_cpus),
            memory: Some(spec.memory),
            network_mode: Some(network),
            ..hardened()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(name).build();
    let id = docker.create_container(Some(opts), body).await.unwrap().id;
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
        .unwrap();
    let info = docker
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let port = info
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|mut p| p.remove(&port_key))
        .flatten()
        .and_then(|bs| bs.into_iter().find_map(|b| b.host_port?.parse().ok()))
        .unwrap();
    (id, port)
}

/// Apply from nothing by hand: the replica, then the front door (on the
/// stack network, its ports published on 127.0.0.1, same env and limits as
/// the engine's) with the replica as its backend by name, until the front
/// door answers 200.
async fn direct_apply(
    docker: &Docker,
    spec: &DirectSpec,
    run: usize,
) -> (Duration, DirectDeployment) {
    let t0 = Instant::now();
    let replica_name = format!("{}-web-a{run}", spec.stack);
    let (replica_id, _) = direct_replica(docker, spec, &replica_name, &[]).await;
    let network = direct_network(docker, spec).await;
    let fd_port = free_port();
    let admin_port = free_port();
    let published = |p: u16| {
        (
            format!("{p}/tcp"),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(p.to_string()),
            }]),
        )
    };
    let body = ContainerCreateBody {
        image: Some(FRONT_DOOR.tag()),
        env: Some(vec![
            format!("LISTEN=0.0.0.0:{fd_port}"),
            format!("ADMIN=0.0.0.0:{admin_port}"),
            format!("ADMIN_TOKEN={DIRECT_TOKEN}"),
            format!(
                "BACKENDS={}:{}",
                replica_name.to_ascii_lowercase(),
                spec.port
            ),
            "MAX_CONCURRENCY=100".to_string(),
            "QUEUE_TIMEOUT_MS=5000".to_string(),
        ]),
        labels: Some(direct_labels(spec, ADDRESS, labels::ROLE_FRONT_DOOR)),
        exposed_ports: Some(vec![format!("{fd_port}/tcp"), format!("{admin_port}/tcp")]),
        host_config: Some(HostConfig {
            network_mode: Some(network),
            port_bindings: Some(HashMap::from([published(fd_port), published(admin_port)])),
            memory: Some(128 * 1024 * 1024),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..hardened()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default()
        .name(&format!("{}-web-fd{run}", spec.stack))
        .build();
    let fd = docker.create_container(Some(opts), body).await.unwrap().id;
    docker
        .start_container(&fd, None::<StartContainerOptions>)
        .await
        .unwrap();
    wait_200(fd_port, "/", Duration::from_secs(30)).await;
    (
        t0.elapsed(),
        DirectDeployment {
            replica_id,
            fd_port,
            admin_port,
        },
    )
}

/// Blue/green by hand: a new replica, poll it until 200, switch the front
/// door, stop (2 s grace, like the engine) and remove the old replica.
async fn direct_update(
    docker: &Docker,
    spec: &DirectSpec,
    d: &mut DirectDeployment,
    run: usize,
) -> Duration {
    let t0 = Instant::now();
    let name = format!("{}-web-u{run}", spec.stack);
    let (id, port) = direct_replica(docker, spec, &name, &[format!("BENCH_RUN={run}")]).await;
    wait_200(port, "/", Duration::from_secs(30)).await;
    let admin = d.admin_port;
    let backend = format!("{}:{}", name.to_ascii_lowercase(), spec.port);
    tokio::task::spawn_blocking(move || front_door_switch(admin, DIRECT_TOKEN, &backend))
        .await
        .unwrap();
    let stop = StopContainerOptionsBuilder::default().t(2).build();
    docker
        .stop_container(&d.replica_id, Some(stop))
        .await
        .unwrap();
    let rm = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker
        .remove_container(&d.replica_id, Some(rm))
        .await
        .unwrap();
    wait_200(d.fd_port, "/", Duration::from_secs(30)).await;
    d.replica_id = id;
    t0.elapsed()
}

// ---------------------------------------------------------------- CLI path

/// The `apprun` binary: `APPRUN_BIN`, else `<target>/release/apprun`, else
/// `<target>/debug/apprun` next to this bench's target directory.
fn cli_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("APPRUN_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("apprun"))
        .find(|p| p.is_file())
}

/// `apprun apply --target docker --auto-approve` in a fresh temp copy of
/// the example (fresh state, stack renamed), until the URL answers 200.
/// Also returns the instance the CLI labelled the stack with (its state
/// location's), for the clean-up.
async fn cli_apply(bin: &Path, hello: &Hello, stack: &str) -> (Duration, String) {
    let tmp = tempfile::tempdir().unwrap();
    let instance = apprun_docker::state_instance(
        &tmp.path()
            .join(".apprun")
            .join(format!("{stack}.docker.state.json"))
            .display()
            .to_string(),
    );
    copy_dir(&hello.dir, tmp.path());
    let yaml = std::fs::read_to_string(tmp.path().join("apprun.yaml")).unwrap();
    let yaml = yaml.replace("\nstack: hello\n", &format!("\nstack: {stack}\n"));
    std::fs::write(tmp.path().join("apprun.yaml"), yaml).unwrap();
    let t0 = Instant::now();
    let out = tokio::process::Command::new(bin)
        .args([
            "apply",
            "--target",
            "docker",
            "--auto-approve",
            "--color",
            "never",
        ])
        .arg("apprun.yaml")
        .current_dir(tmp.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "apprun apply failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port: u16 = stdout
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no URL in the output of apprun apply: {stdout}"));
    wait_200(port, "/", Duration::from_secs(30)).await;
    (t0.elapsed(), instance)
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() == ".apprun" {
                continue;
            }
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

// ---------------------------------------------------------------- report

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2
    }
}

fn mean_of(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len().max(1) as u32
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn list(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.0}", ms(*d)))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Row {
    figure: &'static str,
    apprun: Vec<Duration>,
    direct: Vec<Duration>,
}

fn print_timing(rows: &[Row], json_lines: &mut Vec<String>) {
    println!();
    println!(
        "{:<24} {:>10} {:>10} {:>6} {:>7} {:>11} {:>11} {:>10}   runs (ms): apprun | direct",
        "figure",
        "apprun ms",
        "direct ms",
        "ratio",
        "target",
        "apprun mean",
        "direct mean",
        "mean ratio"
    );
    for r in rows {
        let (a, d) = (median(&r.apprun), median(&r.direct));
        let ratio = a.as_secs_f64() / d.as_secs_f64();
        let (am, dm) = (mean_of(&r.apprun), mean_of(&r.direct));
        let mean_ratio = am.as_secs_f64() / dm.as_secs_f64();
        println!(
            "{:<24} {:>10.1} {:>10.1} {:>6.2} {:>7} {:>11.1} {:>11.1} {:>10.2}   {} | {}",
            r.figure,
            ms(a),
            ms(d),
            ratio,
            "<= 1.5",
            ms(am),
            ms(dm),
            mean_ratio,
            list(&r.apprun),
            list(&r.direct)
        );
        json_lines.push(
            json!({
                "bench": "docker",
                "figure": r.figure,
                "apprun_ms": ms(a),
                "direct_ms": ms(d),
                "ratio": (ratio * 100.0).round() / 100.0,
                "target": "<= 1.5",
                "met": ratio <= 1.5,
                "apprun_mean_ms": ms(am),
                "direct_mean_ms": ms(dm),
                "mean_ratio": (mean_ratio * 100.0).round() / 100.0,
                "apprun_max_ms": ms(r.apprun.iter().copied().max().unwrap_or_default()),
                "runs": r.apprun.len(),
                "apprun_runs_ms": r.apprun.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "direct_runs_ms": r.direct.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            })
            .to_string(),
        );
    }
}

// ---------------------------------------------------------------- main

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // only check that it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("docker bench: run it with `cargo bench -p apprun-docker --bench docker`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let runs: usize = std::env::var("APPRUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let engine = match DockerEngine::connect().await {
        Ok(e) => e,
        Err(e) => {
            println!("SKIPPED docker bench: {e}. Start a Docker Engine (or set DOCKER_HOST).");
            return;
        }
    };
    let docker = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let base = format!(
        "bench-{:08x}",
        (nanos as u64 ^ u64::from(std::process::id())) & 0xffff_ffff
    );
    let stack = base.clone(); // provider path
    let direct_stack = format!("{base}-d");
    let cli_stack = |i: usize| format!("{base}-c{i}");
    let mut guard = Guard {
        stacks: vec![stack.clone(), direct_stack.clone()],
    };
    for i in 0..=runs {
        guard.stacks.push(cli_stack(i));
    }
    let hello = load_hello(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello"));
    let cli = cli_binary();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("docker bench: stack {base}, {runs} runs after one warm-up, {cpus} CPUs");
    println!("hello health check: {}", hello.attributes["health_check"]);
    match &cli {
        Some(p) => println!("CLI: {}", p.display()),
        None => println!(
            "CLI: not found (build it with `cargo build --bin apprun`, or set APPRUN_BIN); \
             the CLI figure is skipped"
        ),
    }

    // Warm-up of the provider path: builds the images (cached afterwards).
    let (warm, applied) = apprun_apply(&engine, &hello, &stack).await;
    println!("warm-up apprun apply: {:.0} ms", ms(warm));
    let image_tag = format!("apprun.local/{stack}/build-web:latest");
    let image_id = docker.inspect_image(&image_tag).await.unwrap().id.unwrap();
    drop(applied);
    engine.destroy_stack(&stack).await.unwrap();
    let a = &hello.attributes;
    let cpu_units = a["cpu"].as_i64().unwrap();
    let memory_mb = a["memory"].as_i64().unwrap();
    let port = a["port"].as_u64().unwrap() as u16;
    let mut env = vec![format!("PORT={port}")];
    for (k, v) in a["env"].as_object().into_iter().flatten() {
        env.push(format!("{k}={}", v.as_str().unwrap_or_default()));
    }
    let spec = DirectSpec {
        stack: direct_stack.clone(),
        image_id,
        port,
        env,
        nano_cpus: cpu_units * 1_000_000_000 / 1024,
        memory: memory_mb * 1024 * 1024,
    };

    // ---- apply from nothing, alternating; run 0 is the warm-up.
    let mut apply = Row {
        figure: "apply_from_nothing",
        apprun: vec![],
        direct: vec![],
    };
    let mut cli_apply_row = Row {
        figure: "apply_from_nothing_cli",
        apprun: vec![],
        direct: vec![],
    };
    for i in 0..=runs {
        let mut apprun_t = Duration::ZERO;
        let mut direct_t = Duration::ZERO;
        let mut cli_t = None;
        for step in 0..3 {
            match (step + i) % 3 {
                0 => {
                    apprun_t = apprun_apply(&engine, &hello, &stack).await.0;
                    engine.destroy_stack(&stack).await.unwrap();
                }
                1 => {
                    direct_t = direct_apply(&docker, &spec, i).await.0;
                    engine.destroy_stack(&direct_stack).await.unwrap();
                }
                _ => {
                    if let Some(bin) = &cli {
                        let (t, instance) = cli_apply(bin, &hello, &cli_stack(i)).await;
                        cli_t = Some(t);
                        engine
                            .clone()
                            .with_instance(instance)
                            .destroy_stack(&cli_stack(i))
                            .await
                            .unwrap();
                    }
                }
            }
        }
        println!(
            "apply run {i}{}: apprun {:.0} ms, direct {:.0} ms{}",
            if i == 0 { " (warm-up)" } else { "" },
            ms(apprun_t),
            ms(direct_t),
            cli_t.map_or(String::new(), |t| format!(", CLI {:.0} ms", ms(t)))
        );
        if i > 0 {
            apply.apprun.push(apprun_t);
            apply.direct.push(direct_t);
            if let Some(t) = cli_t {
                cli_apply_row.apprun.push(t);
                cli_apply_row.direct.push(direct_t);
            }
        }
    }

    // ---- blue/green update on standing deployments.
    let (_, applied) = apprun_apply(&engine, &hello, &stack).await;
    let (_, mut direct_dep) = direct_apply(&docker, &spec, 1000).await;
    let mut update = Row {
        figure: "blue_green_update",
        apprun: vec![],
        direct: vec![],
    };
    let no_deps = Deps::new();
    for i in 0..=runs {
        let attrs = with_env(&hello.attributes, "BENCH_RUN", &i.to_string());
        let mut apprun_t = Duration::ZERO;
        let mut direct_t = Duration::ZERO;
        for step in 0..2 {
            if (step + i) % 2 == 0 {
                apprun_t = apprun_update(
                    &engine,
                    &hello,
                    &stack,
                    &applied.physical_id,
                    &attrs,
                    &no_deps,
                    &["env"],
                )
                .await;
            } else {
                direct_t = direct_update(&docker, &spec, &mut direct_dep, i).await;
            }
        }
        println!(
            "update run {i}{}: apprun {:.0} ms, direct {:.0} ms",
            if i == 0 { " (warm-up)" } else { "" },
            ms(apprun_t),
            ms(direct_t)
        );
        if i > 0 {
            update.apprun.push(apprun_t);
            update.direct.push(direct_t);
        }
    }
    engine.destroy_stack(&direct_stack).await.unwrap();

    // ---- requests per second: front door vs the replica's published port.
    let fd_port = url_port(&applied);
    let replica_port = async {
        let owned = engine.list_owned(&stack, Some(ADDRESS)).await.unwrap();
        let r = owned
            .iter()
            .find(|c| c.role == labels::ROLE_REPLICA && c.running)
            .unwrap();
        let info = docker
            .inspect_container(&r.id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        info.network_settings
            .and_then(|n| n.ports)
            .and_then(|mut p| p.remove(&format!("{port}/tcp")))
            .flatten()
            .and_then(|bs| {
                bs.into_iter()
                    .filter(|b| b.host_ip.as_deref() == Some("127.0.0.1"))
                    .find_map(|b| b.host_port?.parse().ok())
            })
            .unwrap()
    }
    .await;
    let measure =
        |port: u16, seconds: f64| tokio::task::spawn_blocking(move || load(port, seconds));
    measure(fd_port, 0.5).await.unwrap();
    measure(replica_port, 0.5).await.unwrap();
    let (mut fd_rps, mut direct_rps, mut failures) = (vec![], vec![], 0);
    for round in 0..2 {
        for step in 0..2 {
            let front = (step + round) % 2 == 0;
            let port = if front { fd_port } else { replica_port };
            let (rps, bad) = measure(port, LOAD_SECONDS).await.unwrap();
            failures += bad;
            println!(
                "load round {round}: {} {rps:.0} req/s ({bad} failed)",
                if front { "front door" } else { "direct    " }
            );
            if front {
                fd_rps.push(rps)
            } else {
                direct_rps.push(rps)
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (fd1, direct1) = (mean(&fd_rps), mean(&direct_rps));

    // 3 replicas behind the front door (auto scaling min_size 3).
    let asc_address = Address::new(Kind::AutoScaling, "bench");
    let asc_attrs = json!({ "name": "bench", "min_size": 3, "max_size": 5, "max_concurrency": 100, "tags": {} });
    let provider = DockerProvider::new(engine.clone(), &hello.dir);
    let asc = provider
        .create(&ResourceRequest {
            stack: &stack,
            address: &asc_address,
            name: "bench",
            attributes: &asc_attrs,
            dependencies: &no_deps,
            progress: quiet(),
            created: apprun_engine::provider::Created::ignore(),
        })
        .await
        .unwrap();
    let mut attrs3 = with_env(&hello.attributes, "BENCH_RUN", "three");
    attrs3["autoscaling"] = asc.outputs["arn"].clone();
    let mut deps3 = Deps::new();
    deps3.insert(asc_address, asc.outputs.clone());
    apprun_update(
        &engine,
        &hello,
        &stack,
        &applied.physical_id,
        &attrs3,
        &deps3,
        &["env", "autoscaling"],
    )
    .await;
    measure(fd_port, 0.5).await.unwrap();
    let (fd3, bad3) = measure(fd_port, LOAD_SECONDS).await.unwrap();
    failures += bad3;
    println!("load: front door, 3 replicas {fd3:.0} req/s ({bad3} failed)");

    // ---- report
    let mut json_lines = Vec::new();
    println!("\n== Docker target benchmark ({cpus} CPUs, medians of {runs} runs) ==");
    let mut rows = vec![apply];
    if !cli_apply_row.apprun.is_empty() {
        rows.push(cli_apply_row);
    }
    rows.push(update);
    print_timing(&rows, &mut json_lines);
    let ratio = fd1 / direct1;
    println!();
    println!(
        "{:<28} {:>11} {:>11} {:>7} {:>7}",
        "figure (req/s)", "front door", "direct", "ratio", "target"
    );
    println!(
        "{:<28} {:>11.0} {:>11.0} {:>7.2} {:>7}",
        "requests_per_second (1 rep)", fd1, direct1, ratio, ">= 0.8"
    );
    println!(
        "{:<28} {:>11.0} {:>11} {:>7.2} {:>7}",
        "requests_per_second (3 rep)",
        fd3,
        "-",
        fd3 / direct1,
        ""
    );
    println!(
        "(req/s: {LOAD_THREADS} client threads, a new connection per request, \
         {LOAD_SECONDS} s x 2 rounds each, {failures} failed requests in all)"
    );
    json_lines.push(
        json!({
            "bench": "docker",
            "figure": "requests_per_second",
            "replicas": 1,
            "front_door_rps": fd1.round(),
            "direct_rps": direct1.round(),
            "ratio": (ratio * 100.0).round() / 100.0,
            "target": ">= 0.8",
            "met": ratio >= 0.8,
            "client_threads": LOAD_THREADS,
            "failed": failures,
        })
        .to_string(),
    );
    json_lines.push(
        json!({
            "bench": "docker",
            "figure": "requests_per_second_3_replicas",
            "replicas": 3,
            "front_door_rps": fd3.round(),
            "direct_rps_1_replica": direct1.round(),
            "ratio": (fd3 / direct1 * 100.0).round() / 100.0,
        })
        .to_string(),
    );
    println!();
    for l in json_lines {
        println!("{l}");
    }
    drop(guard);
}
