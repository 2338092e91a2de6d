//! The README's no-account AWS path, exactly as a newcomer runs it:
//! `scripts/local-aws up` (moto + the emulator binary on 127.0.0.1, a VPC in
//! moto, examples/private-api rewritten with its ids), then the real `apprun`
//! binary with only the variables the script printed: apply, drift (in sync),
//! destroy; then `scripts/local-aws down` stops both servers.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/local-aws` with the test's ports and directory.
struct LocalAws {
    dir: tempfile::TempDir,
    moto_port: u16,
    emulator_port: u16,
}

impl LocalAws {
    fn script(&self, verb: &str) -> Output {
        let mut cmd = Command::new(repo().join("scripts/local-aws"));
        cmd.arg(verb)
            .env("APPRUN_LOCAL_AWS", self.dir.path())
            .env("MOTO_PORT", self.moto_port.to_string())
            .env("EMULATOR_PORT", self.emulator_port.to_string())
            .env("EMULATOR_OPERATION_MS", "100")
            .stdin(Stdio::null());
        // The workspace's test build has built the emulator next to apprun;
        // without it the script builds it itself.
        let emulator = assert_cmd::cargo::cargo_bin("apprun").with_file_name(format!(
            "apprunner-emulator{}",
            std::env::consts::EXE_SUFFIX
        ));
        if emulator.exists() {
            cmd.env("APPRUNNER_EMULATOR_BIN", emulator);
        }
        cmd.output().unwrap()
    }

    /// The `export` lines the script printed, as name/value pairs.
    fn exports(stdout: &str) -> Vec<(String, String)> {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.script("down");
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn local_aws_script_runs_the_private_api_cycle_and_stops_cleanly() {
    let local = LocalAws {
        dir: tempfile::tempdir().unwrap(),
        moto_port: free_port(),
        emulator_port: free_port(),
    };
    let up = local.script("up");
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "local-aws up failed:\n{stderr}");
    assert!(listening(local.moto_port) && listening(local.emulator_port));
    let exports = LocalAws::exports(&String::from_utf8_lossy(&up.stdout));
    let names: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_APPRUNNER"
        ]
    );
    for (_, value) in exports
        .iter()
        .filter(|(k, _)| k.starts_with("AWS_ENDPOINT"))
    {
        assert!(value.starts_with("http://127.0.0.1:"), "{value}");
    }
    let stack = local.dir.path().join("private-api.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    assert!(
        !text.contains("subnet-0a1b2c3d4e5f60718") && !text.contains("sg-0123456789abcdef0"),
        "the example's placeholder VPC ids were not replaced"
    );

    let apprun = |args: &[&str]| -> Output {
        aws_support::isolated_apprun(local.dir.path())
            .args(args)
            .envs(exports.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    let stack = stack.to_str().unwrap();
    let ok = |out: Output, what: &str| {
        assert!(
            out.status.success(),
            "{what} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let applied = ok(apprun(&["apply", "--auto-approve", stack]), "apply");
    assert!(
        applied.contains("Apply complete: 8 done, 0 failed"),
        "{applied}"
    );
    ok(
        apprun(&["drift", "--detailed-exitcode", "--stack", stack]),
        "drift (expected in sync, exit 0)",
    );
    let destroyed = ok(apprun(&["destroy", "--auto-approve", stack]), "destroy");
    assert!(
        destroyed.contains("Destroy complete: 8 done, 0 failed"),
        "{destroyed}"
    );

    let down = local.script("down");
    assert!(down.status.success());
    assert!(!listening(local.moto_port), "moto still listens after down");
    assert!(
        !listening(local.emulator_port),
        "the emulator still listens after down"
    );
}
