//! The `apprun` binary: `validate`, `schema`, `completions`, `--version`,
//! exit codes and output formats.

#![allow(clippy::unwrap_used, missing_docs)]

use assert_cmd::Command;
use predicates::prelude::*;

fn apprun() -> Command {
    let mut cmd = Command::cargo_bin("apprun").unwrap();
    cmd.env_remove("NO_COLOR").env("COLUMNS", "100");
    cmd
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn valid_examples_exit_zero() {
    for example in ["hello", "flask-lab", "private-api"] {
        apprun()
            .args(["validate", &format!("examples/{example}/apprun.yaml")])
            .assert()
            .success()
            .stdout(predicate::str::contains("valid stack"));
    }
    apprun()
        .args(["validate", "examples/preview/apprun.yaml", "--var", "pr=12"])
        .assert()
        .success();
}

#[test]
fn invalid_stack_exits_one_with_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "apprun.yaml",
        "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/a/b:1\n    prot: 80\n",
    );
    apprun()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("apprun.yaml:6:5"))
        .stderr(predicate::str::contains("did you mean `port`?"))
        .stderr(predicate::str::contains("\u{1b}[").not());
    let path_text = path.to_string_lossy().to_string();
    let output = apprun()
        .args(["validate", &path_text, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["valid"], false);
    assert_eq!(json["diagnostics"][0]["code"], "schema::unknown_key");
    assert_eq!(json["diagnostics"][0]["labels"][0]["line"], 6);
}

#[test]
fn color_follows_flag_and_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "s.yaml", "stack: shop\n");
    let path = path.to_string_lossy().to_string();
    apprun()
        .args(["--color", "always", "validate", &path])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\u{1b}["));
    apprun()
        .env("NO_COLOR", "1")
        .args(["validate", &path])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn var_file_and_flags_feed_variables() {
    let dir = tempfile::tempdir().unwrap();
    let vars = write(&dir, "pr.yaml", "pr: 99\n");
    let vars = vars.to_string_lossy().to_string();
    apprun()
        .args([
            "validate",
            "examples/preview/apprun.yaml",
            "--var-file",
            &vars,
        ])
        .assert()
        .success();
    apprun()
        .args(["validate", "examples/preview/apprun.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("variable `pr` has no value"));
    apprun()
        .args(["validate", "examples/preview/apprun.yaml", "--var", "pr"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NAME=VALUE"));
}

#[test]
fn missing_stack_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    apprun()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read stack file `apprun.yaml`",
        ))
        .stderr(predicate::str::contains("examples/"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string("schema/apprun.schema.json").unwrap();
    apprun().arg("schema").assert().success().stdout(committed);
}

#[test]
fn completions_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        apprun()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("validate"));
    }
    apprun()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("apprun "));
}

#[test]
fn max_rps_takes_one_rate_or_per_service_rates_and_names_what_is_wrong() {
    for good in ["19", "apprunner=19", "5,apprunner=19,iam=2"] {
        apprun()
            .args(["--max-rps", good, "validate", "examples/hello/apprun.yaml"])
            .assert()
            .success();
    }
    apprun()
        .args([
            "--max-rps",
            "s3=4",
            "validate",
            "examples/hello/apprun.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`s3` is not a service apprun calls (apprunner, iam, ec2, ecr)",
        ));
    apprun()
        .env("APPRUN_MAX_RPS", "0")
        .args(["validate", "examples/hello/apprun.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`0` is not a positive number of requests per second",
        ));
}
