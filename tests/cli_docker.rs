//! The whole Docker cycle through the real binary and the real Docker
//! Engine: apply -> request through the front door -> scale 1 -> 3 ->
//! blue/green env change under load with zero failed requests -> an
//! unhealthy update rolled back with the old version serving -> a replica
//! killed by hand is drift (exit 2) and apply repairs it -> destroy leaves
//! nothing labelled. Then issue 16's Docker items: no env or secret value
//! in logs at any verbosity; `kill -9` at every point of an apply, then
//! destroy, leaves nothing; two folders with one stack name are separate;
//! stacks are isolated on their own networks; `${services.x.url}` works
//! from another service's containers. Skips without a Docker Engine,
//! except under `CI=true`.

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

    /// Writes `text` as the stack file.
    fn write_text(&self, text: &str) {
        std::fs::write(self.file(), text).unwrap();
    }

    /// Runs apprun with `args` in the stack's folder.
    fn run(&self, args: &[&str]) -> std::process::Output {
        apprun()
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// The stack's containers (`docker ps -a` ids), all instances.
    fn containers(&self) -> Vec<String> {
        docker_lines(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=apprun.stack={}", self.name),
        ])
    }

    /// The stack's networks, all instances.
    fn networks(&self) -> Vec<String> {
        docker_lines(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=apprun.stack={}", self.name),
        ])
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

/// The lines `docker ARGS` prints (empty on failure).
fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The exit status and both streams, for assertion messages.
fn shown(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The port of a `http://127.0.0.1:PORT` URL.
fn port_of(url: &str) -> u16 {
    url.trim()
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a 127.0.0.1 URL: {url}"))
        .parse()
        .unwrap()
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

/// A stack of two echo services built from `./app`: `api`, and `web` whose
/// env holds `api`'s URL; web runs `replicas` replicas (through an auto
/// scaling configuration) and joins a VPC connector's network. `extra_env`
/// is added to web's env (indented lines); `secrets` to web's secrets.
fn two_services(name: &str, replicas: u32, extra_env: &str, secrets: &str) -> String {
    format!(
        r#"stack: {name}
region: us-east-1
autoscaling:
  pair:
    min_size: {replicas}
    max_size: 5
    max_concurrency: 50
vpc_connectors:
  private:
    subnets: [subnet-0123456789abcdef0]
    security_groups: [sg-0123456789abcdef0]
services:
  api:
    image: public.ecr.aws/apprun/test:v1
    build: {{ context: ./app }}
    auto_deploy: false
    port: 8080
    cpu: 0.25 vCPU
    memory: 0.5 GB
    env:
      MESSAGE: from-api
    health_check: {{ protocol: HTTP, path: /health, interval: 1, timeout: 1, healthy_threshold: 1, unhealthy_threshold: 2 }}
  web:
    image: public.ecr.aws/apprun/test:v1
    build: {{ context: ./app }}
    auto_deploy: false
    autoscaling: "${{autoscaling.pair.arn}}"
    vpc_connector: "${{vpc_connectors.private.arn}}"
    port: 8080
    cpu: 0.25 vCPU
    memory: 0.5 GB
    env:
      MESSAGE: from-web
      API_URL: "${{services.api.url}}"
{extra_env}    secrets: {{ {secrets} }}
    health_check: {{ protocol: HTTP, path: /health, interval: 1, timeout: 1, healthy_threshold: 1, unhealthy_threshold: 2 }}
outputs:
  web:
    value: "${{services.web.url}}"
  api:
    value: "${{services.api.url}}"
"#
    )
}

/// A value no output would hold by chance.
fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Cnry{tag}{nanos:x}{}", std::process::id())
}

/// Issue 16: at `-v`, `-vv` and `-vvv` (and `RUST_LOG=trace`), apply,
/// drift, plan --refresh and destroy print no env value and no value of the
/// secrets file, while the containers do get them. bollard logs request
/// bodies and answers (container env) at debug: the CLI caps it.
#[test]
fn logs_show_no_env_or_secret_value_at_any_verbosity() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new(&format!("canary{}", std::process::id()));
    let (env_value, secret_value) = (canary("Env"), canary("Secret"));
    let secrets_file = stack.dir.path().join("secrets.local.yaml");
    std::fs::write(&secrets_file, format!("API_TOKEN: {secret_value}\n")).unwrap();
    let secrets_arg = secrets_file.display().to_string();
    let file = stack.file();
    // The env canary reaches env through a sensitive variable given with
    // --var (a literal env value is shown in plans by design).
    stack.write_text(
        &two_services(
            &stack.name,
            1,
            "      CANARY: \"${var.canary}\"\n",
            "API_TOKEN: arn:aws:secretsmanager:us-east-1:111122223333:secret:api-token-AbCdEf",
        )
        .replacen(
            "services:\n",
            "variables:\n  canary:\n    sensitive: true\nservices:\n",
            1,
        ),
    );
    let var = format!("canary={env_value}");
    let with_secrets = |verbosity: &str, rest: &[&str]| {
        let mut args = vec![verbosity, "--secrets-file", &secrets_arg];
        args.extend_from_slice(rest);
        args.extend_from_slice(&["--var", &var]);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let runs: Vec<(Vec<String>, bool)> = vec![
        (
            with_secrets(
                "-vvv",
                &["apply", "--target", "docker", "--auto-approve", &file],
            ),
            false,
        ),
        (
            with_secrets("-vv", &["drift", "--target", "docker", "--stack", &file]),
            false,
        ),
        (
            with_secrets(
                "-vvv",
                &[
                    "drift", "--target", "docker", "--stack", &file, "--format", "json",
                ],
            ),
            false,
        ),
        (
            with_secrets("-v", &["plan", "--refresh", "--target", "docker", &file]),
            false,
        ),
        (
            with_secrets("-vvv", &["plan", "--refresh", "--target", "docker", &file]),
            true,
        ),
        (
            with_secrets(
                "-vv",
                &["apply", "--target", "docker", "--auto-approve", &file],
            ),
            false,
        ),
    ];
    let mut checked = 0;
    for (args, rust_log) in &runs {
        let mut cmd = apprun();
        cmd.current_dir(stack.dir.path()).args(args);
        if *rust_log {
            cmd.env("RUST_LOG", "trace");
        }
        let out = cmd.output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{args:?}: {}",
            shown(&out)
        );
        for value in [&env_value, &secret_value] {
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(value.as_str())
                    && !String::from_utf8_lossy(&out.stderr).contains(value.as_str()),
                "{args:?} printed a value it must not"
            );
        }
        checked += 1;
    }
    // The first apply logged at trace (it did log), and the values did reach
    // the container.
    let port = port_of(&String::from_utf8_lossy(
        &stack
            .run(&[
                "output", "web", "--target", "docker", "--stack", &file, "--var", &var,
            ])
            .stdout,
    ));
    for name in ["CANARY", "API_TOKEN"] {
        let (status, body) = get(port, &format!("/env?name={name}")).unwrap();
        assert_eq!((status, body.trim()), (200, format!("{name}=set").as_str()));
    }
    let destroy = apprun()
        .current_dir(stack.dir.path())
        .env("RUST_LOG", "trace")
        .args(with_secrets(
            "-vvv",
            &["destroy", "--target", "docker", "--auto-approve", &file],
        ))
        .output()
        .unwrap();
    assert!(destroy.status.success(), "{}", shown(&destroy));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&destroy.stdout),
        String::from_utf8_lossy(&destroy.stderr)
    );
    assert!(!all.contains(&env_value) && !all.contains(&secret_value));
    println!(
        "{{\"row\":\"docker_log_canary\",\"runs\":{},\"occurrences\":0}}",
        checked + 1
    );
}

/// Issue 16: `kill -9` of `apprun apply` at every point of a Docker apply
/// (after each progress line: the connector's network, each resource's
/// start, the build, replicas started, health checks passed, the front door
/// switched), then `destroy`, leaves no container and no network of the
/// stack. Each replica and the front door are in the state (or found by
/// their labels) from the moment they exist.
#[test]
fn kill_nine_at_every_point_of_a_docker_apply_then_destroy_leaves_nothing() {
    if !docker_available() {
        return;
    }
    use std::io::BufRead;
    let stack = Stack::new(&format!("kill{}", std::process::id()));
    stack.write_text(&two_services(&stack.name, 2, "", ""));
    let file = stack.file();
    let points = [
        "vpc_connectors.private: creating...",
        "vpc_connectors.private: network",
        "services.api: creating...",
        "services.api: building",
        "services.api: build:",
        "services.api: started 1 replica(s)",
        "services.api: new replicas passed their health checks",
        "services.api: http://127.0.0.1:",
        "services.web: creating...",
        "services.web: started 2 replica(s)",
        "services.web: new replicas passed their health checks",
        "services.web: http://127.0.0.1:",
    ];
    let mut kills = 0;
    let mut left_before_destroy = 0;
    for point in points {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("apprun"))
            .current_dir(stack.dir.path())
            .env("NO_COLOR", "1")
            .args(["apply", "--target", "docker", "--auto-approve", &file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let mut killed = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.starts_with(point) {
                child.kill().unwrap(); // SIGKILL
                killed = true;
                break;
            }
            seen.push(line);
        }
        child.wait().unwrap();
        assert!(
            killed,
            "the apply never printed {point:?}:\n{}",
            seen.join("\n")
        );
        kills += 1;
        left_before_destroy += stack.containers().len() + stack.networks().len();

        let out = stack.run(&["destroy", "--target", "docker", "--auto-approve", &file]);
        assert!(
            out.status.success(),
            "destroy after a kill at {point:?}: {}",
            shown(&out)
        );
        assert_eq!(
            (stack.containers(), stack.networks()),
            (Vec::new(), Vec::new()),
            "left after a kill at {point:?} and destroy: {}",
            shown(&out)
        );
    }
    assert!(left_before_destroy > 0, "no kill landed mid-apply");
    println!(
        "{{\"row\":\"docker_kill9\",\"points\":{},\"kills\":{kills},\"objects_before_destroy\":{left_before_destroy},\"leftovers\":0}}",
        points.len()
    );
}

/// The Docker objects of the stack's `role` containers in `instance`:
/// `(name, id)`.
fn role_containers(stack: &str, instance: &str, role: &str) -> Vec<(String, String)> {
    docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=apprun.stack={stack}"),
        "--filter",
        &format!("label=apprun.instance={instance}"),
        "--filter",
        &format!("label=apprun.role={role}"),
        "--format",
        "{{.Names}} {{.ID}}",
    ])
    .into_iter()
    .filter_map(|l| {
        let (name, id) = l.split_once(' ')?;
        Some((name.to_string(), id.to_string()))
    })
    .collect()
}

/// The `apprun.instance` labels of the stack's containers.
fn instances(stack: &str) -> std::collections::BTreeSet<String> {
    docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=apprun.stack={stack}"),
        "--format",
        "{{.Label \"apprun.instance\"}}",
    ])
    .into_iter()
    .collect()
}

/// Issue 16: two folders deploy stacks of the same name. Each gets its own
/// containers and network (its instance is the state location's hash);
/// one's containers cannot reach the other's; destroying one leaves the
/// other serving.
#[test]
fn two_folders_with_one_stack_name_are_separate_stacks() {
    if !docker_available() {
        return;
    }
    let name = format!("twin{}", std::process::id());
    let (one, two) = (Stack::new(&name), Stack::new(&name));
    one.write(1, "one", false);
    two.write(1, "two", false);
    for (stack, message) in [(&one, "one"), (&two, "two")] {
        let out = stack.apply();
        assert!(out.status.success(), "{}", shown(&out));
        assert!(
            get(stack.port(), "/")
                .unwrap()
                .1
                .contains(&format!("message={message}")),
            "{message}"
        );
    }
    let both = instances(&name);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_ne!(one.port(), two.port());
    let mut both = both.into_iter();
    let (i1, i2) = (both.next().unwrap(), both.next().unwrap());
    // Which instance is which folder: by the front door's port label.
    let (mine, theirs) = {
        let fd = role_containers(&name, &i1, "front-door");
        let port = docker_lines(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"apprun.front-door.port\"}}",
            &fd[0].1,
        ]);
        if port == vec![one.port().to_string()] {
            (i1, i2)
        } else {
            (i2, i1)
        }
    };
    let their_door = role_containers(&name, &theirs, "front-door")[0]
        .0
        .to_ascii_lowercase();
    let my_door = role_containers(&name, &mine, "front-door")[0]
        .0
        .to_ascii_lowercase();

    // From one's containers: its own front door by name, not the other's.
    let (status, body) = get(
        one.port(),
        &format!("/fetch?url=http://{my_door}:{}/", one.port()),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(
        one.port(),
        &format!("/fetch?url=http://{their_door}:{}/", two.port()),
    )
    .unwrap();
    assert_ne!(status, 200, "one reached two's front door: {body}");

    // Destroying one leaves two serving, and every object of two.
    let before: Vec<_> = role_containers(&name, &theirs, "replica");
    let one_port = one.port();
    let out = one.run(&[
        "destroy",
        "--target",
        "docker",
        "--auto-approve",
        &one.file(),
    ]);
    assert!(out.status.success(), "{}", shown(&out));
    assert!(get(one_port, "/").is_none());
    assert!(get(two.port(), "/").unwrap().1.contains("message=two"));
    assert_eq!(role_containers(&name, &theirs, "replica"), before);
    assert_eq!(
        instances(&name).into_iter().collect::<Vec<_>>(),
        vec![theirs]
    );
    // A plan in two still sees its whole stack.
    let plan = two.run(&[
        "plan",
        "--refresh",
        "--detailed-exitcode",
        "--target",
        "docker",
        &two.file(),
    ]);
    assert_eq!(plan.status.code(), Some(0), "{}", shown(&plan));
}

/// Issue 16: `${services.api.url}` in web's env reaches api from web's
/// containers (the front door's name on the stack network), while outputs
/// show the 127.0.0.1 URL and drift sees no difference. Every container is
/// on the stack network alone: none on Docker's default bridge.
#[test]
fn a_services_url_works_from_another_services_containers() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new(&format!("url{}", std::process::id()));
    stack.write_text(&two_services(&stack.name, 1, "", ""));
    let file = stack.file();
    let out = stack.run(&["apply", "--target", "docker", "--auto-approve", &file]);
    assert!(out.status.success(), "{}", shown(&out));
    let output = |name: &str| {
        String::from_utf8_lossy(
            &stack
                .run(&["output", name, "--target", "docker", "--stack", &file])
                .stdout,
        )
        .trim()
        .to_string()
    };
    let (web, api) = (output("web"), output("api"));
    assert!(api.starts_with("http://127.0.0.1:"), "{api}");
    let (status, body) = get(port_of(&web), "/fetch?env=API_URL").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("message=from-api"), "{body}");

    for (args, what) in [
        (
            vec![
                "drift",
                "--detailed-exitcode",
                "--target",
                "docker",
                "--stack",
                &file,
            ],
            "drift",
        ),
        (
            vec![
                "plan",
                "--refresh",
                "--detailed-exitcode",
                "--target",
                "docker",
                &file,
            ],
            "plan",
        ),
    ] {
        let out = stack.run(&args);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", shown(&out));
    }

    let ours = stack.containers();
    assert_eq!(ours.len(), 4, "2 replicas, 2 front doors: {ours:?}");
    let bridge = docker_lines(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{json .Containers}}",
    ]);
    for id in &ours {
        assert!(
            !bridge.iter().any(|b| b.contains(id.as_str())),
            "{id} is on the default bridge"
        );
        let networks = docker_lines(&[
            "inspect",
            "--format",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}",
            id,
        ]);
        assert!(
            networks
                .iter()
                .all(|n| n.starts_with(&format!("apprun-{}-", stack.name))),
            "{id}: {networks:?}"
        );
    }
}

/// Issue 16: a service with only `build:` is valid and runs on the Docker
/// target; planning it for AWS says it needs `image`, with the service's
/// place in the file.
#[test]
fn a_build_only_service_runs_on_docker_and_aws_asks_for_an_image() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new(&format!("bonly{}", std::process::id()));
    stack.write_text(&format!(
        "stack: {}\nregion: us-east-1\nservices:\n  web:\n    build: {{ context: ./app }}\n    port: 8080\n    env:\n      MESSAGE: built\noutputs:\n  url:\n    value: \"${{services.web.url}}\"\n",
        stack.name
    ));
    let file = stack.file();
    let out = stack.run(&["validate", &file]);
    assert!(out.status.success(), "{}", shown(&out));

    let out = stack.run(&["plan", "--target", "aws", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema::image_needed_on_aws"), "{stderr}");
    assert!(stderr.contains("service `web`"), "{stderr}");

    let out = stack.run(&["apply", "--target", "docker", "--auto-approve", &file]);
    assert!(out.status.success(), "{}", shown(&out));
    let (status, body) = get(stack.port(), "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("message=built"), "{body}");
}
