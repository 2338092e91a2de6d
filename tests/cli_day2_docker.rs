//! Day-2 commands on the Docker target through the real binary (issue 15):
//! `deploy` rebuilds and rolls the replicas (they serve the new build),
//! `status` shows the service running, `logs` interleaves both replicas.
//! Needs the Docker Engine (with CI=true a missing engine fails).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use support::docker_available;

struct Stack {
    dir: tempfile::TempDir,
}

impl Stack {
    fn new(message: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("apprun.yaml"),
            "stack: daytwo-docker\nregion: us-east-1\nautoscaling:\n  two: { min_size: 2, max_size: 2 }\nservices:\n  web:\n    build: { context: ./app }\n    autoscaling: \"${autoscaling.two.arn}\"\n    port: 8080\n    health_check: { protocol: HTTP, path: /health, interval: 1, timeout: 1, healthy_threshold: 1, unhealthy_threshold: 2 }\noutputs:\n  url:\n    value: \"${services.web.url}\"\n",
        )
        .unwrap();
        let stack = Stack { dir };
        stack.message(message);
        stack
    }

    /// Writes the build context's Dockerfile with `message`.
    fn message(&self, message: &str) {
        std::fs::write(
            self.dir.path().join("app/Dockerfile"),
            format!("FROM apprun/echo:latest\nENV PORT=8080\nENV MESSAGE=\"{message}\"\n"),
        )
        .unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::cargo_bin("apprun")
            .unwrap()
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .args(args)
            .args(["--target", "docker"])
            .output()
            .unwrap()
    }

    fn run_ok(&self, args: &[&str], code: i32) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "apprun {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn port(&self) -> u16 {
        let out = self.run_ok(&["output", "url"], 0);
        let url = String::from_utf8(out.stdout).unwrap();
        url.trim().rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.run(&["destroy", "--auto-approve"]);
        support::remove_built_images("daytwo-docker");
    }
}

/// The body of `GET /` on 127.0.0.1:port.
fn get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn deploy_serves_the_new_build_status_runs_and_logs_show_both_replicas() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("first build");
    stack.run_ok(&["apply", "--auto-approve"], 0);
    let port = stack.port();
    assert!(get(port).contains("message=first build"));

    // The same declaration, a new build: deploy picks it up.
    stack.message("second build");
    let out = stack.run_ok(&["deploy", "services.web"], 0);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(said.contains("services.web: deployed"), "{said}");
    for _ in 0..4 {
        assert!(
            get(port).contains("message=second build"),
            "a replica still serves the old build"
        );
    }

    let status = stack.run_ok(&["status", "--detailed-exitcode"], 0);
    let shown = String::from_utf8(status.stdout).unwrap();
    assert!(shown.contains("services.web"), "{shown}");
    assert!(shown.contains("RUNNING"), "{shown}");

    let logs = stack.run_ok(&["logs", "services.web"], 0);
    let lines = String::from_utf8(logs.stdout).unwrap();
    let sources: std::collections::BTreeSet<&str> = lines
        .lines()
        .filter(|l| l.contains("echo: listening"))
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    assert!(sources.len() >= 2, "two replicas' logs: {lines}");
}
