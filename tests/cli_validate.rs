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
        .code(1)
        .stderr(predicate::str::contains(
            "`s3` is not a service apprun calls (apprunner, iam, ec2, ecr, route53, logs)",
        ));
    apprun()
        .env("APPRUN_MAX_RPS", "0")
        .args(["validate", "examples/hello/apprun.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`0` is not a positive number of requests per second",
        ));
}

/// Env (and secret) names that would change the process environment (`=`,
/// NUL, spaces) or that no shell can name are refused at the key, with the
/// rule; the values never appear.
#[test]
fn env_names_outside_the_portable_pattern_are_refused_at_their_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir,
        "apprun.yaml",
        "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:1.27\n    env:\n      A=B: canary-value-1\n      \"DB\\0URL\": canary-value-2\n      \"API KEY\": canary-value-3\n      GOOD_NAME: fine\n    secrets:\n      db-password: arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf\n",
    );
    let output = apprun()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    // Values show only as the file's own lines quoted around a key, never
    // in a message, label or help.
    for line in stderr.lines().filter(|l| l.contains("canary-value")) {
        let quoted = line
            .trim_start()
            .split_once(" │ ")
            .is_some_and(|(number, _)| number.parse::<u32>().is_ok());
        assert!(quoted, "a value outside a quoted line: {line}");
    }
    insta::assert_snapshot!(stderr);

    let output = apprun()
        .current_dir(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("canary-value"));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<(String, u64, u64)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["labels"][0]["line"].as_u64().unwrap(),
                d["labels"][0]["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let code = "schema::invalid_env_name".to_string();
    // Keys are read in name order (`"API KEY"`, `"DB\0URL"`, `A=B`), then
    // sorted by position.
    assert_eq!(
        found,
        [
            (code.clone(), 7, 7),
            (code.clone(), 8, 7),
            (code.clone(), 9, 7),
            (code, 12, 7)
        ]
    );
}

fn build_stack(dir: &std::path::Path, build: &str) -> std::path::PathBuf {
    let path = dir.join("apprun.yaml");
    std::fs::write(
        &path,
        format!(
            "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:1.27\n    build:\n{build}"
        ),
    )
    .unwrap();
    path
}

/// A build context or Dockerfile outside the stack's folder (`/`, `..`, or
/// through a symbolic link) is refused at the path's value; paths inside,
/// links inside included, are valid.
#[cfg(unix)]
#[test]
fn build_paths_must_stay_inside_the_stack_folder_after_resolving_links() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack");
    std::fs::create_dir_all(stack.join("app/real")).unwrap();
    std::fs::write(stack.join("app/real/Dockerfile"), "FROM scratch\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), stack.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink("real", stack.join("app/inside")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("Dockerfile"),
        stack.join("app/real/Dockerfile.ext"),
    )
    .unwrap();

    for (build, line_col) in [
        ("      context: /\n", "apprun.yaml:7:16"),
        ("      context: ../\n", "apprun.yaml:7:16"),
        ("      context: ./elsewhere\n", "apprun.yaml:7:16"),
        // A `..` after a link leaves the link's target, as the OS does it.
        ("      context: elsewhere/..\n", "apprun.yaml:7:16"),
        (
            "      context: ./app/real\n      dockerfile: Dockerfile.ext\n",
            "apprun.yaml:8:19",
        ),
    ] {
        build_stack(&stack, build);
        apprun()
            .current_dir(&stack)
            .arg("validate")
            .assert()
            .code(1)
            .stderr(predicate::str::contains("schema::path_outside_stack"))
            .stderr(predicate::str::contains("is outside the stack's folder"))
            .stderr(predicate::str::contains(line_col))
            .stderr(predicate::str::contains("such as `./app`"));
    }
    // The symlink case names where the link leads.
    build_stack(&stack, "      context: ./elsewhere\n");
    apprun()
        .current_dir(&stack)
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a symbolic link leads to"));
    // Commands that use the stack refuse it too, before touching state.
    apprun()
        .current_dir(&stack)
        .args(["plan", "--target", "docker"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("schema::path_outside_stack"));
    assert!(!stack.join(".apprun").exists());

    for build in [
        "      context: .\n",
        "      context: ./app/real\n",
        "      context: app/inside\n",
        "      context: app/inside/../real\n      dockerfile: Dockerfile\n",
        "      context: app/real\n      dockerfile: ../real/Dockerfile\n",
        // Not there yet: checked as written (apply says it is missing).
        "      context: ./not-yet\n",
    ] {
        build_stack(&stack, build);
        apprun()
            .current_dir(&stack)
            .arg("validate")
            .assert()
            .success()
            .stdout(predicate::str::contains("valid stack"));
    }
}

/// A literal `env` value whose name looks like a secret is shown in plans:
/// `validate` warns (exit 0) and points to `secrets`; a value built from a
/// `sensitive: true` variable does not warn.
#[test]
fn secret_looking_literal_env_values_warn_and_point_to_secrets() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir,
        "apprun.yaml",
        "stack: shop\nregion: us-east-1\nvariables:\n  db_password: { sensitive: true, default: x }\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:1.27\n    env:\n      LOG_LEVEL: info\n      API_TOKEN: abc123\n      DB_PASSWORD: \"${var.db_password}\"\n",
    );
    let output = apprun()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("schema::secret_in_env"), "{stderr}");
    assert!(stderr.contains("`API_TOKEN` of service `web`"), "{stderr}");
    assert!(stderr.contains("secrets:"), "{stderr}");
    assert!(!stderr.contains("`DB_PASSWORD`"), "{stderr}");
    assert!(stderr.contains("1 warning"), "{stderr}");

    let output = apprun()
        .current_dir(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["diagnostics"][0]["severity"], "warning");
    assert_eq!(json["diagnostics"][0]["code"], "schema::secret_in_env");
    assert_eq!(json["diagnostics"].as_array().map(Vec::len), Some(1));
}
