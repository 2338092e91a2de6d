//! Ctrl-C during an apply (RELIABILITY P6, T7), with the real binary on the
//! Docker target: once = no new work, the running deployment finishes and is
//! recorded, exit 130, state consistent, and the next apply finishes the
//! job; twice = immediate exit 130 naming what may be pending, and the next
//! apply settles it. Skips without a Docker Engine, except under `CI=true`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use support::docker_available;

use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use apprun_state::{LocalStore, Storage};
use assert_cmd::cargo::CommandCargoExt;

/// Four services whose servers take 1.5 s to start: applied one at a time,
/// each deployment takes at least that long.
fn write_stack(dir: &Path, name: &str) -> String {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/Dockerfile"),
        "FROM apprun/echo:latest\nENV PORT=8080 STARTUP_DELAY_MS=1500\n",
    )
    .unwrap();
    let mut text = format!("stack: {name}\nregion: us-east-1\nservices:\n");
    for i in 0..4 {
        text.push_str(&format!(
            "  svc{i}:\n    image: public.ecr.aws/apprun/test:v1\n    build: {{ context: ./app }}\n    auto_deploy: false\n    cpu: 0.25 vCPU\n    memory: 0.5 GB\n    health_check: {{ protocol: HTTP, path: /health, interval: 5, timeout: 1 }}\n"
        ));
    }
    let path = dir.join("apprun.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().to_string()
}

fn apply(stack: &str) -> Child {
    std::process::Command::cargo_bin("apprun")
        .unwrap()
        .args([
            "apply",
            "--target",
            "docker",
            "--auto-approve",
            "--parallelism",
            "1",
            stack,
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn interrupt(child: &Child) {
    let status = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until the child's state records `n` resources (or 30 s pass).
fn wait_for_resources(store: &LocalStore, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if store
            .read()
            .ok()
            .flatten()
            .is_some_and(|s| s.resources.len() >= n)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the apply never recorded {n} resources");
}

/// Whether the state records an operation in flight.
fn has_pending(store: &LocalStore) -> bool {
    matches!(store.read(), Ok(Some(state)) if !state.pending.is_empty())
}

/// Destroys the stack in file `.0` named `.1`, and its built images.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::cargo_bin("apprun")
            .unwrap()
            .args(["destroy", "--target", "docker", "--auto-approve", &self.0])
            .output();
        support::remove_built_images(&self.1);
    }
}

#[test]
fn ctrl_c_once_finishes_running_work_records_it_and_exits_130() {
    if !docker_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("int{}", std::process::id());
    let stack = write_stack(dir.path(), &name);
    let _cleanup = Cleanup(stack.clone(), name.clone());
    let store = LocalStore::new(dir.path().join(format!(".apprun/{name}.docker.state.json")));

    let child = apply(&stack);
    // The first deployment is under way once its intent is journaled.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_pending(&store) {
        assert!(
            Instant::now() < deadline,
            "the apply never started a deployment"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Stopping: no new operations start"),
        "{stderr}"
    );
    let state = store.read().unwrap().unwrap();
    assert!(
        state.pending.is_empty(),
        "the running deployment was recorded: {:#?}",
        state.pending
    );
    assert_eq!(
        state.resources.len(),
        1,
        "exactly the running deployment finished"
    );
    assert!(stderr.contains("not started (stopped)"), "{stderr}");

    // The next apply does the rest.
    let output = apply(&stack).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(store.read().unwrap().unwrap().resources.len(), 4);
    println!("{{\"row\":\"T7\",\"signal\":\"once\",\"exit\":130,\"consistent\":true}}");
}

#[test]
fn ctrl_c_twice_quits_at_once_and_the_next_apply_settles_it() {
    if !docker_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("int2x{}", std::process::id());
    let stack = write_stack(dir.path(), &name);
    let _cleanup = Cleanup(stack.clone(), name.clone());
    let store = LocalStore::new(dir.path().join(format!(".apprun/{name}.docker.state.json")));

    let child = apply(&stack);
    wait_for_resources(&store, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_pending(&store) {
        assert!(Instant::now() < deadline, "no second deployment started");
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(200));
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Quitting now"), "{stderr}");
    // The state is readable; whatever was running is pending, not lost.
    let state = store.read().unwrap().unwrap();
    assert!(
        state.resources.len() + state.pending.len() >= 2,
        "{state:#?}"
    );

    let output = apply(&stack).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let state = store.read().unwrap().unwrap();
    assert!(state.pending.is_empty());
    assert_eq!(state.resources.len(), 4);
    // No duplicate replicas: one per service.
    let replicas = Process::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=apprun.stack={name}"),
            "--filter",
            "label=apprun.role=replica",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&replicas.stdout).lines().count(), 4);
    println!("{{\"row\":\"T7\",\"signal\":\"twice\",\"exit\":130,\"settled\":true}}");
}
