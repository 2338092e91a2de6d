//! `apprun import` on the Docker target: a resource removed from state with
//! `state rm` is adopted again by its id, so the next plan no longer wants
//! to create it. Skips without a Docker Engine, except under `CI=true`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use assert_cmd::Command;
use predicates::prelude::*;

fn apprun() -> Command {
    let mut cmd = Command::cargo_bin("apprun").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn a_removed_service_is_imported_back_by_its_id() {
    if !support::docker_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::copy(
        "examples/hello/app/Dockerfile",
        dir.path().join("app/Dockerfile"),
    )
    .unwrap();
    let name = format!("imp{}", std::process::id());
    let text = std::fs::read_to_string("examples/hello/apprun.yaml")
        .unwrap()
        .replace("stack: hello", &format!("stack: {name}"));
    let stack = dir.path().join("apprun.yaml");
    std::fs::write(&stack, text).unwrap();
    let stack = stack.to_str().unwrap();
    apprun()
        .args(["apply", "--target", "docker", "--auto-approve", stack])
        .assert()
        .success();
    let shown = apprun()
        .args([
            "state",
            "show",
            "services.web",
            "--target",
            "docker",
            "--stack",
            stack,
        ])
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let id = record["physical_id"].as_str().unwrap().to_string();

    apprun()
        .args([
            "state",
            "rm",
            "services.web",
            "--target",
            "docker",
            "--stack",
            stack,
        ])
        .assert()
        .success();
    apprun()
        .args(["plan", "--target", "docker", stack])
        .assert()
        .success()
        .stdout(predicate::str::contains("services.web will be created"));
    apprun()
        .args([
            "import",
            "services.web",
            &id,
            "--target",
            "docker",
            "--stack",
            stack,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Imported"));
    apprun()
        .args(["plan", "--target", "docker", stack])
        .assert()
        .success()
        .stdout(predicate::str::contains("will be created").not());
    // Importing twice is refused.
    apprun()
        .args([
            "import",
            "services.web",
            &id,
            "--target",
            "docker",
            "--stack",
            stack,
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already in the state"));
    apprun()
        .args(["destroy", "--target", "docker", "--auto-approve", stack])
        .assert()
        .success();
    support::remove_built_images(&name);
}
