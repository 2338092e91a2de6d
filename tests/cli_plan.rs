//! The `apprun` binary: plan, show, saved plans, state, output, graph.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use assert_cmd::Command;
use predicates::prelude::*;

fn apprun() -> Command {
    let mut cmd = Command::cargo_bin("apprun").unwrap();
    cmd.env_remove("NO_COLOR").env("COLUMNS", "100");
    cmd
}

/// A copy of an example in a temporary directory (state goes beside it).
fn example_copy(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apprun.yaml");
    std::fs::copy(format!("examples/{name}/apprun.yaml"), &path).unwrap();
    (dir, path)
}

#[test]
fn plan_of_a_new_stack_lists_every_create_and_exits_per_detailed_exitcode() {
    let (_dir, path) = example_copy("private-api");
    let path = path.to_str().unwrap();
    apprun()
        .args(["plan", "--no-refresh", path])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Plan: 8 to add, 0 to change, 0 to destroy.",
        ));
    apprun()
        .args(["plan", "--no-refresh", path, "--detailed-exitcode"])
        .assert()
        .code(2);
}

#[test]
fn an_applied_stack_plans_no_changes_and_exit_zero() {
    let (_dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    apprun()
        .args([
            "plan",
            "--no-refresh",
            path.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes."));
}

#[test]
fn json_and_markdown_renderings() {
    let (_dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("cpu: 2 vCPU", "cpu: 4 vCPU")
        .replace("memory: 4 GB", "memory: 8 GB");
    std::fs::write(&path, text).unwrap();
    let output = apprun()
        .args([
            "plan",
            "--no-refresh",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"]["change"], 1);
    let change = &plan["changes"][0];
    assert_eq!(change["address"], "services.api");
    assert_eq!(change["action"], "update");
    let paths: Vec<&str> = change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["cpu", "memory"]);
    apprun()
        .args([
            "plan",
            "--no-refresh",
            path.to_str().unwrap(),
            "--format",
            "markdown",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "<details><summary><code>services.api</code>",
        ));
}

#[test]
fn a_saved_plan_is_shown_and_refused_once_state_moves_on() {
    let (dir, path) = example_copy("private-api");
    // DB_URL is built from a sensitive variable; its new value is a canary.
    let with_secret = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "variables:\n",
            "variables:\n  db_password:\n    sensitive: true\n    default: first-value\n",
        )
        .replace(
            "LOG_LEVEL: info",
            "LOG_LEVEL: info\n      DB_URL: \"postgres://app:${var.db_password}@db/app\"",
        );
    std::fs::write(&path, &with_secret).unwrap();
    support::fake_applied_state(&path, "aws");
    std::fs::write(
        &path,
        with_secret.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"),
    )
    .unwrap();
    let canary = "Pw7Kq2Zx9Lm4Nb8Vc3Hd6Gf1Js5Rt0Ya";
    let planfile = dir.path().join("plan.json");
    let (p, f) = (path.to_str().unwrap(), planfile.to_str().unwrap());
    let var = format!("db_password={canary}");
    apprun()
        .args(["plan", "--no-refresh", p, "--var", &var, "--out", f])
        .assert()
        .success();
    let saved = std::fs::read_to_string(&planfile).unwrap();
    assert!(
        !saved.contains(canary),
        "a sensitive env value reached the plan file"
    );
    apprun()
        .args(["show", f])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "~ env.DB_URL = (sensitive value) -> (sensitive value)",
        ))
        .stdout(predicate::str::contains(
            "~ env.LOG_LEVEL = \"info\" -> \"debug\"",
        ))
        .stdout(predicate::str::contains(canary).not());
    // Someone changes the state: the saved plan is stale.
    apprun()
        .args(["state", "rm", "repositories.api", "--stack", p])
        .assert()
        .success();
    apprun()
        .args(["apply", f, "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plan::stale"))
        .stderr(predicate::str::contains("run `apprun plan` again"));
}

#[test]
fn a_saved_plan_is_refused_when_the_stack_changed() {
    let (dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let planfile = dir.path().join("plan.json");
    let (p, f) = (path.to_str().unwrap(), planfile.to_str().unwrap());
    apprun()
        .args(["plan", "--no-refresh", p, "--out", f])
        .assert()
        .success();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("max_size: 10", "max_size: 11");
    std::fs::write(&path, text).unwrap();
    apprun()
        .args(["apply", f, "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plan::stack_changed"));
}

#[test]
fn only_and_replace_flags() {
    let (_dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let p = path.to_str().unwrap();
    apprun()
        .args(["plan", "--no-refresh", p, "--replace", "roles.api-instance"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "replacement requested with --replace",
        ));
    apprun()
        .args(["plan", "--no-refresh", p, "--only", "services.nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`services.nope` is not in the state",
        ));
    apprun()
        .args(["plan", "--no-refresh", p, "--only", "bogus"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a resource address"));
}

#[test]
fn state_list_show_and_outputs() {
    let (_dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let p = path.to_str().unwrap();
    apprun()
        .args(["state", "list", "--stack", p])
        .assert()
        .success()
        .stdout("autoscaling.steady\nobservability.traced\nrepositories.api\nroles.api-access\nroles.api-instance\nservices.api\nvpc_connectors.db\nvpc_ingress.api-in\n");
    let shown = apprun()
        .args(["state", "show", "services.api", "--stack", p])
        .output()
        .unwrap();
    assert!(shown.status.success());
    let record: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    // Plain env values are recorded as they are; sealed ones (from
    // sensitive variables) only as digests, shown `{"sensitive": true}`.
    assert_eq!(record["attributes"]["env"]["APP_ENV"], "staging");
    assert_eq!(record["attributes"]["env"]["LOG_LEVEL"], "info");
    apprun()
        .args(["output", "--stack", p])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "url = private-api-api.us-east-1.awsapprunner.com",
        ));
    apprun()
        .args(["output", "url", "--stack", p])
        .assert()
        .success()
        .stdout("private-api-api.us-east-1.awsapprunner.com\n");
}

#[test]
fn graph_prints_dot() {
    apprun()
        .args(["graph", "examples/private-api/apprun.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"services.api\" -> \"roles.api-access\";",
        ));
}

#[test]
fn a_second_writer_fails_at_once_and_names_the_holder() {
    let (_dir, path) = example_copy("private-api");
    let store = support::fake_applied_state(&path, "aws");
    use apprun_state::Locker;
    let _held = store
        .lock(&apprun_state::LockRequest::new("apply"))
        .unwrap();
    apprun()
        .args([
            "state",
            "rm",
            "services.api",
            "--stack",
            path.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state::locked"))
        .stderr(predicate::str::contains("apply"));
}

/// An `env` value not built from a sensitive variable is shown, so a
/// reviewer sees what changes.
#[test]
fn a_plain_env_change_shows_old_and_new_values_in_the_text_plan() {
    let (_dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("LOG_LEVEL: info", "LOG_LEVEL: debug");
    std::fs::write(&path, text).unwrap();
    apprun()
        .args(["plan", "--no-refresh", path.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "~ env.LOG_LEVEL = \"info\" -> \"debug\"",
        ));
}

#[test]
fn secret_env_values_never_appear_in_plan_output_or_trace_logs() {
    let (_dir, path) = example_copy("private-api");
    let canary = "Zq8vN3kLp0Xw7Rt2Yb5Mc9Hd4Gf6Js1A";
    // The canary reaches env through a sensitive variable given with --var.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "variables:\n",
            "variables:\n  api_key:\n    sensitive: true\n",
        )
        .replace(
            "LOG_LEVEL: info",
            "LOG_LEVEL: info\n      API_KEY: \"${var.api_key}\"",
        );
    std::fs::write(&path, text).unwrap();
    let var = format!("api_key={canary}");
    for format in ["text", "json", "markdown"] {
        let output = apprun()
            .env("RUST_LOG", "trace")
            .args([
                "-vvv",
                "plan",
                "--no-refresh",
                path.to_str().unwrap(),
                "--var",
                &var,
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains(canary),
            "the canary leaked in {format} output"
        );
    }
    println!("{{\"row\":\"T12\",\"channel\":\"plan\",\"canary_occurrences\":0}}");
}

/// With no state at all, `destroy` and `plan --destroy` say so plainly in
/// every format (not that the stack "matches its state"), change nothing
/// and exit 0, `--detailed-exitcode` included.
#[test]
fn destroy_and_plan_with_no_state_say_there_is_no_state_in_every_format() {
    let (dir, path) = example_copy("private-api");
    let path = path.to_str().unwrap();
    let isolated = |cmd: &mut Command| {
        cmd.current_dir(dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Nothing may be called: an unreachable endpoint proves it.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    };

    let mut destroy = apprun();
    isolated(&mut destroy);
    let output = destroy
        .args(["destroy", path, "--auto-approve"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("No changes. Stack `private-api` (aws) has no state here"),
        "{stdout}"
    );
    assert!(!stdout.contains("matches its state"), "{stdout}");

    let mut destroy = apprun();
    isolated(&mut destroy);
    let output = destroy
        .args(["destroy", path, "--format", "markdown"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("**No changes.** The stack has no state here"),
        "{stdout}"
    );
    assert!(!stdout.contains("matches its state"), "{stdout}");

    for format in ["text", "markdown"] {
        let mut plan = apprun();
        isolated(&mut plan);
        let output = plan
            .args([
                "plan",
                path,
                "--destroy",
                "--detailed-exitcode",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(output.status.code(), Some(0), "{format}: {stdout}");
        assert!(stdout.contains("has no state here"), "{format}: {stdout}");
        assert!(!stdout.contains("matches its state"), "{format}: {stdout}");
    }
    // JSON has no sentence; its `lineage` is null exactly when there is no state.
    let mut plan = apprun();
    isolated(&mut plan);
    let output = plan
        .args([
            "plan",
            path,
            "--destroy",
            "--detailed-exitcode",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["lineage"], serde_json::Value::Null);
    assert_eq!(json["changes"], serde_json::json!([]));

    // Once a state exists, the same plan says the stack matches it.
    support::fake_applied_state(std::path::Path::new(path), "aws");
    let mut plan = apprun();
    isolated(&mut plan);
    plan.args([
        "plan",
        "--no-refresh",
        path,
        "--detailed-exitcode",
        "--format",
        "markdown",
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains("The stack matches its state."))
    .stdout(predicate::str::contains("no state").not());
}
