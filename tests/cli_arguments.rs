//! Exit codes and arguments a CI job can trust (issue 12): a usage error
//! exits 1, never 2 (which means "changes" or "drift"); every command takes
//! the stack file as the same positional argument, `--stack` as its alias;
//! `drift` checks several stacks in one run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn apprun(dir: &Path, args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("apprun"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const STACK: &str = "stack: args-a\nregion: us-east-1\nrepositories:\n  app: {}\n";

#[test]
fn usage_errors_exit_one_and_help_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["plan", "--no-such-flag"][..],
        &["drift", "--detailed-exitcode", "--target", "nowhere"],
        &["frobnicate"],
        &[],
        &["plan", "a.yaml", "--stack", "b.yaml"],
    ] {
        let out = apprun(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "apprun {args:?}: {}",
            both(&out)
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let out = apprun(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "apprun {args:?}: {}",
            both(&out)
        );
    }
}

#[test]
fn every_command_takes_the_stack_positionally_or_as_stack() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("infra")).unwrap();
    std::fs::write(dir.path().join("infra/app.yaml"), STACK).unwrap();
    for args in [
        &["validate", "infra/app.yaml"][..],
        &["validate", "--stack", "infra/app.yaml"],
        &[
            "plan",
            "--target",
            "docker",
            "--no-refresh",
            "infra/app.yaml",
        ],
        &[
            "plan",
            "--target",
            "docker",
            "--no-refresh",
            "--stack",
            "infra/app.yaml",
        ],
        &["graph", "--stack", "infra/app.yaml"],
        &["state", "list", "infra/app.yaml"],
        &["state", "list", "--stack", "infra/app.yaml"],
        &["output", "infra/app.yaml"],
        &["output", "--stack", "infra/app.yaml"],
        &["drift", "--target", "docker", "infra/app.yaml"],
        &["drift", "--target", "docker", "--stack", "infra/app.yaml"],
    ] {
        let out = apprun(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "apprun {args:?}: {}",
            both(&out)
        );
        assert!(
            !both(&out).contains("apprun.yaml"),
            "apprun {args:?} looked for the default file: {}",
            both(&out)
        );
    }
}

#[test]
fn drift_checks_several_stacks_and_reports_each_even_when_one_cannot_be_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), STACK).unwrap();
    std::fs::write(dir.path().join("b.yaml"), STACK.replace("args-a", "args-b")).unwrap();
    let out = apprun(
        dir.path(),
        &[
            "drift",
            "--target",
            "docker",
            "--detailed-exitcode",
            "a.yaml",
            "b.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        both(&out).contains("0 of 2 stacks drifted."),
        "{}",
        both(&out)
    );

    std::fs::write(dir.path().join("broken.yaml"), "stack: [\n").unwrap();
    let out = apprun(
        dir.path(),
        &[
            "drift",
            "--target",
            "docker",
            "--format",
            "json",
            "a.yaml",
            "broken.yaml",
            "b.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["stacks"], 3, "{report:#}");
    assert_eq!(report["summary"]["not_checked"], 1, "{report:#}");
    assert_eq!(report["stacks"][1]["stack"], "broken.yaml", "{report:#}");
    assert_eq!(report["stacks"][1]["status"], "NOT_CHECKED", "{report:#}");
    assert_eq!(report["stacks"][2]["stack"], "args-b", "{report:#}");
}
