//! The whole Docker cycle through the real binary and the real Docker
//! Engine: apply -> request through the front door -> scale 1 -> 3 ->
//! blue/green env change under load with zero failed requests -> an
//! unhealthy update rolled back with the old version serving -> a replica
//! killed by hand is drift (exit 2) and apply repairs it -> destroy leaves
//! nothing labelled. Skips without a Docker Engine, except under `CI=true`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use support::docker_available;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn apprun() -> Command {
    let mut cmd = Command::cargo_bin("apprun").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// One HTTP GET to 127.0.0.1:port; the body, or None on any failure.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

struct Stack {
    dir: tempfile::TempDir,
    name: String,
}

impl Stack {
    fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("app/Dockerfile"),
            "FROM apprun/echo:latest\nENV PORT=8080\n",
        )
        .unwrap();
        Stack {
            dir,
            name: name.to_string(),
        }
    }

    fn write(&self, min_size: u32, message: &str, unhealthy: bool) {
        let text = format!(
            "stack: {name}\nregion: us-east-1\nautoscaling:\n  scale:\n    min_size: {min_size}\n    max_size: 5\n    max_concurrency: 50\nservices:\n  web:\n    image: public.ecr.aws/apprun/test:v1\n    build: {{ context: ./app }}\n    auto_deploy: false\n    autoscaling: \"${{autoscaling.scale.arn}}\"\n    port: 8080\n    cpu: 0.25 vCPU\n    memory: 0.5 GB\n    env:\n      MESSAGE: \"{message}\"\n      UNHEALTHY: \"{unhealthy}\"\n    health_check: {{ protocol: HTTP, path: /health, interval: 1, timeout: 1, healthy_threshold: 1, unhealthy_threshold: 2 }}\noutputs:\n  url:\n    value: \"${{services.web.url}}\"\n",
            name = self.name
        );
        std::fs::write(self.file(), text).unwrap();
    }

    fn file(&self) -> String {
        self.dir
            .path()
            .join("apprun.yaml")
            .to_string_lossy()
            .to_string()
    }

    fn apply(&self) -> std::process::Output {
        apprun()
            .args([
                "apply",
                "--target",
                "docker",
                "--auto-approve",
                &self.file(),
            ])
            .output()
            .unwrap()
    }

    fn port(&self) -> u16 {
        let out = apprun()
            .args([
                "output",
                "url",
                "--target",
                "docker",
                "--stack",
                &self.file(),
            ])
            .output()
            .unwrap();
        let url = String::from_utf8(out.stdout).unwrap();
        url.trim().rsplit(':').next().unwrap().parse().unwrap()
    }

    fn replicas(&self) -> Vec<String> {
        let out = std::process::Command::new("docker")
            .args([
                "ps",
                "-q",
                "--filter",
                &format!("label=apprun.stack={}", self.name),
                "--filter",
                "label=apprun.role=replica",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = apprun()
            .args([
                "destroy",
                "--target",
                "docker",
                "--auto-approve",
                &self.file(),
            ])
            .output();
        support::remove_built_images(&self.name);
    }
}

/// Requests through the front door from 4 threads until stopped; counts
/// failures and records which messages were served.
fn load(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(usize, usize, Vec<String>)> {
    std::thread::spawn(move || {
        let failures = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (stop, failures, total, seen) =
                    (stop.clone(), failures.clone(), total.clone(), seen.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        total.fetch_add(1, Ordering::Relaxed);
                        match get(port, "/") {
                            Some((200, body)) => {
                                let message = body
                                    .split_whitespace()
                                    .find_map(|w| w.strip_prefix("message="))
                                    .unwrap_or("")
                                    .to_string();
                                let mut seen = seen.lock().unwrap();
                                if seen.last() != Some(&message) {
                                    seen.push(message);
                                }
                            }
                            _ => {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let seen = seen.lock().unwrap().clone();
        (
            failures.load(Ordering::Relaxed),
            total.load(Ordering::Relaxed),
            seen,
        )
    })
}

#[test]
fn docker_target_full_cycle() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new(&format!("e2e{}", std::process::id()));

    // Apply from nothing; the URL answers.
    stack.write(1, "v1", false);
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A first deployment reports its replicas and no previous deployment.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("started 1 replica(s)"), "{progress}");
    assert!(
        !progress.contains("of the previous deployment"),
        "{progress}"
    );
    let port = stack.port();
    let (status, body) = get(port, "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("message=v1"), "{body}");

    // Scale 1 -> 3: three replicas share the traffic.
    stack.write(3, "v1", false);
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stack.replicas().len(), 3);
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..60 {
        if let Some((200, body)) = get(port, "/") {
            ids.extend(
                body.split_whitespace()
                    .filter_map(|w| w.strip_prefix("replica="))
                    .map(str::to_string),
            );
        }
    }
    assert_eq!(ids.len(), 3, "replicas seen: {ids:?}");
    assert_eq!(stack.port(), port, "the URL is stable");

    // Blue/green env change under continuous load: zero failed requests.
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load(port, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    stack.write(3, "v2", false);
    let started = Instant::now();
    let out = stack.apply();
    let deploy_time = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (failures, total, seen) = loader.join().unwrap();
    assert_eq!(
        failures, 0,
        "{failures} of {total} requests failed during the update"
    );
    assert_eq!(seen.first().map(String::as_str), Some("v1"));
    assert_eq!(seen.last().map(String::as_str), Some("v2"), "{seen:?}");
    println!(
        "{{\"row\":\"docker_blue_green\",\"requests\":{total},\"failed\":{failures},\"deploy_s\":{:.2}}}",
        deploy_time.as_secs_f64()
    );

    // A deliberately unhealthy update is rolled back; v2 keeps serving.
    stack.write(3, "v3", true);
    let out = stack.apply();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unhealthy deployment must fail"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("provider::operation_failed"), "{stderr}");
    for _ in 0..10 {
        let (status, body) = get(port, "/").unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("message=v2"), "{body}");
    }

    // Back to a healthy v2 spec; kill a replica by hand: drift exits 2 naming it.
    stack.write(3, "v2", false);
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let victim = stack.replicas()[0].clone();
    assert!(
        std::process::Command::new("docker")
            .args(["rm", "-f", &victim])
            .output()
            .unwrap()
            .status
            .success()
    );
    let drift = apprun()
        .args([
            "drift",
            "--target",
            "docker",
            "--detailed-exitcode",
            "--stack",
            &stack.file(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        drift.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&drift.stdout)
    );
    let report = String::from_utf8_lossy(&drift.stdout);
    assert!(
        report.contains("MODIFIED") && report.contains("services.web"),
        "{report}"
    );

    // Apply repairs it.
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stack.replicas().len(), 3);
    let drift = apprun()
        .args([
            "drift",
            "--target",
            "docker",
            "--detailed-exitcode",
            "--stack",
            &stack.file(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        drift.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&drift.stdout)
    );

    // Destroy leaves nothing labelled with the stack.
    let out = apprun()
        .args([
            "destroy",
            "--target",
            "docker",
            "--auto-approve",
            &stack.file(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=apprun.stack={}", stack.name),
        ])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "containers left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    let networks = std::process::Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=apprun.stack={}", stack.name),
        ])
        .output()
        .unwrap();
    assert!(networks.stdout.is_empty());
}

#[test]
fn editing_the_build_context_is_drift_and_apply_redeploys() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new(&format!("ctx{}", std::process::id()));
    stack.write(1, "same", false);
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = stack.port();
    assert!(get(port, "/").unwrap().1.contains("message=same"));
    // The stack is unchanged; only the code in the build context changes.
    std::fs::write(
        stack.dir.path().join("app/Dockerfile"),
        "FROM apprun/echo:latest\nENV PORT=8080\nENV GREETING=edited\n",
    )
    .unwrap();
    let plan = apprun()
        .args(["plan", "--refresh", "--target", "docker", &stack.file()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("the build context changed since the last deployment"),
        "{text}"
    );
    let before = stack.replicas();
    let out = stack.apply();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = stack.replicas();
    assert!(
        after.iter().all(|r| !before.contains(r)),
        "the replicas were not replaced"
    );
    assert_eq!(stack.port(), port);
    let plan = apprun()
        .args([
            "plan",
            "--refresh",
            "--detailed-exitcode",
            "--target",
            "docker",
            &stack.file(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
}
