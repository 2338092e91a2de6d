//! The shipped CI files (`ci/`) pass the ecosystem's own linters, from the
//! project's Python venv (`scripts/python-env`): actionlint (with
//! shellcheck on every `run:` script), zizmor (no finding of medium or high
//! severity, offline), check-jsonschema with its built-in GitHub workflow,
//! GitHub action and GitLab CI schemas; and they keep the safety rules the
//! README promises: minimal permissions, OIDC, no `pull_request_target`,
//! every third-party action pinned by a full commit SHA with its version.
//!
//! A linter missing from the venv skips its test on a developer's machine
//! and fails it under CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "shared/moto.rs"]
#[allow(dead_code)] // only the venv is used here
mod moto_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv's `tool`, or None (skip) outside CI when it is missing.
fn tool(name: &str) -> Option<PathBuf> {
    let path = moto_server::venv().join("bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "{} is missing: scripts/python-env installs it (requirements-test.txt)",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (run scripts/python-env)",
        path.display()
    );
    None
}

fn workflows() -> Vec<PathBuf> {
    let dir = root().join("ci/github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["apply.yml", "drift.yml", "preview.yml"]);
    files
}

fn assert_ran(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The files laid out as a repository that uses them: workflows under
/// `.github/workflows/`, the action at `ci/github/` (where the workflows'
/// `uses: ./ci/github` finds it), so actionlint also checks every step's
/// inputs against the action's.
fn as_a_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    let workflows_dir = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows_dir).unwrap();
    for file in workflows() {
        std::fs::copy(&file, workflows_dir.join(file.file_name().unwrap())).unwrap();
    }
    let action_dir = dir.path().join("ci/github");
    std::fs::create_dir_all(&action_dir).unwrap();
    for name in ["action.yml", "run.sh", "install.sh"] {
        std::fs::copy(root().join("ci/github").join(name), action_dir.join(name)).unwrap();
    }
    dir
}

#[test]
fn actionlint_and_shellcheck_pass_the_workflows_and_the_action_scripts() {
    let (Some(actionlint), Some(shellcheck)) = (tool("actionlint"), tool("shellcheck")) else {
        return;
    };
    let repo = as_a_repository();
    let output = Command::new(&actionlint)
        .args(["-no-color", "-oneline", "-shellcheck"])
        .arg(&shellcheck)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_ran("actionlint", &output);

    // It does check: an unknown input of the local action is an error.
    let preview = repo.path().join(".github/workflows/preview.yml");
    let text = std::fs::read_to_string(&preview).unwrap();
    std::fs::write(&preview, text.replacen("command: plan", "comand: plan", 1)).unwrap();
    let output = Command::new(&actionlint)
        .args(["-no-color", "-oneline", "-shellcheck"])
        .arg(&shellcheck)
        .current_dir(repo.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success() && stdout.contains("input \"comand\" is not defined"),
        "actionlint missed a wrong input: {stdout}"
    );

    let scripts = ["ci/github/run.sh", "ci/github/install.sh"].map(|s| root().join(s));
    let output = Command::new(&shellcheck).args(scripts).output().unwrap();
    assert_ran("shellcheck", &output);
}

#[test]
fn zizmor_finds_nothing_of_medium_or_high_severity() {
    let Some(zizmor) = tool("zizmor") else {
        return;
    };
    let output = Command::new(zizmor)
        .args(["--offline", "--no-exit-codes", "--format", "json"])
        .arg(root().join("ci/github/action.yml"))
        .args(workflows())
        .output()
        .unwrap();
    assert_ran("zizmor", &output);
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor's JSON: {e}\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let serious: Vec<String> = findings
        .iter()
        .filter(|f| {
            let severity = f["determinations"]["severity"].as_str().unwrap_or("?");
            severity == "High" || severity == "Medium" || severity == "?"
        })
        .map(|f| {
            format!(
                "{}: {} at {}",
                f["ident"], f["desc"], f["locations"][0]["symbolic"]["key"]
            )
        })
        .collect();
    assert!(serious.is_empty(), "zizmor: {serious:#?}");
}

#[test]
fn the_files_match_their_json_schemas() {
    let Some(check) = tool("check-jsonschema") else {
        return;
    };
    let runs: [(&str, Vec<PathBuf>); 3] = [
        ("vendor.github-workflows", workflows()),
        (
            "vendor.github-actions",
            vec![root().join("ci/github/action.yml")],
        ),
        (
            "vendor.gitlab-ci",
            vec![root().join("ci/gitlab/apprun.gitlab-ci.yml")],
        ),
    ];
    for (schema, files) in runs {
        let output = Command::new(&check)
            .args(["--builtin-schema", schema])
            .args(&files)
            .output()
            .unwrap();
        assert_ran(&format!("check-jsonschema {schema}"), &output);
    }
    // And it does check: a job without `script` is not GitLab CI.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.gitlab-ci.yml");
    std::fs::write(&broken, "job:\n  stage: test\n  scrip: [true]\n").unwrap();
    let output = Command::new(&check)
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!output.status.success(), "a broken file passed");
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `uses:` of the workflows and the action, with the line's comment.
fn uses_lines() -> Vec<(String, String)> {
    let mut files = workflows();
    files.push(root().join("ci/github/action.yml"));
    let mut out = Vec::new();
    for file in files {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if let Some(rest) = line.strip_prefix("uses:") {
                let (target, comment) = rest.split_once('#').unwrap_or((rest, ""));
                out.push((target.trim().to_string(), comment.trim().to_string()));
            }
        }
    }
    out
}

#[test]
fn every_third_party_action_is_pinned_by_a_full_commit_sha_with_its_version() {
    let uses = uses_lines();
    assert!(uses.len() > 10, "{uses:?}");
    for (target, comment) in uses {
        if target.starts_with("./") {
            continue;
        }
        let (_, reference) = target.split_once('@').unwrap_or_else(|| panic!("{target}"));
        assert!(
            reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
            "{target} is not pinned by a full commit SHA"
        );
        let version = comment.strip_prefix('v').unwrap_or("");
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{target} has no `# vX.Y.Z` comment (`{comment}`)"
        );
    }
}

#[test]
fn workflows_grant_nothing_by_default_and_assume_aws_roles_by_oidc() {
    for file in workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.display();
        assert!(
            !text.contains("aws-access-key-id") && !text.contains("AWS_SECRET_ACCESS_KEY"),
            "{name} uses long-lived AWS keys"
        );
        let workflow = yaml(&file);
        let triggers = &workflow["on"];
        assert!(triggers.is_object(), "{name}: `on:` is not a map");
        assert!(
            triggers.get("pull_request_target").is_none() && triggers.get("workflow_run").is_none(),
            "{name} runs with a privileged trigger"
        );
        assert_eq!(
            workflow["permissions"],
            serde_json::json!({}),
            "{name}: the workflow's default permissions must be none"
        );
        for (job_name, job) in workflow["jobs"].as_object().unwrap() {
            let permissions = job["permissions"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: job {job_name} states no permissions"));
            for (scope, level) in permissions {
                assert!(
                    level == "read"
                        || ["id-token", "pull-requests", "issues"].contains(&scope.as_str()),
                    "{name}: job {job_name} asks {scope}: {level}"
                );
            }
            let steps = job["steps"].as_array().unwrap();
            let assumes_role = steps.iter().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            });
            if assumes_role {
                assert_eq!(permissions["id-token"], "write", "{name}: {job_name}");
                let with = &steps
                    .iter()
                    .find(|s| {
                        s["uses"].as_str().is_some_and(|u| {
                            u.starts_with("aws-actions/configure-aws-credentials@")
                        })
                    })
                    .unwrap()["with"];
                assert!(with["role-to-assume"].is_string(), "{name}: {job_name}");
            }
            for step in steps {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"], false,
                        "{name}: {job_name} leaves the token in .git/config"
                    );
                }
            }
        }
    }
}

#[test]
fn every_job_calls_the_cli_as_the_readme_documents_it() {
    // The action's script and the GitLab jobs build these command lines.
    let run = std::fs::read_to_string(root().join("ci/github/run.sh")).unwrap();
    for fragment in [
        "argv=(plan \"${stacks[0]}\" --target \"$target\" --format \"$format\" --detailed-exitcode)",
        "argv=(\"$APPRUN_COMMAND\" \"${stacks[0]}\" --target \"$target\" --auto-approve)",
        "argv=(drift \"${stacks[@]}\" --target \"$target\" --format \"$format\" --detailed-exitcode)",
    ] {
        assert!(run.contains(fragment), "run.sh lost `{fragment}`");
    }
    let gitlab = std::fs::read_to_string(root().join("ci/gitlab/apprun.gitlab-ci.yml")).unwrap();
    for fragment in [
        "apprun plan \"$APPRUN_PREVIEW_STACK\" --target \"$APPRUN_TARGET\" --var \"pr=$CI_MERGE_REQUEST_IID\"",
        "apprun apply \"$APPRUN_PREVIEW_STACK\" --target \"$APPRUN_TARGET\" --var \"pr=$CI_MERGE_REQUEST_IID\" --auto-approve",
        "apprun destroy \"$APPRUN_PREVIEW_STACK\" --target \"$APPRUN_TARGET\" --var \"pr=$CI_MERGE_REQUEST_IID\" --auto-approve",
        "apprun drift \"$stack\" --target \"$APPRUN_TARGET\" --detailed-exitcode --format markdown",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        assert!(
            gitlab.contains(fragment),
            "the GitLab file lost `{fragment}`"
        );
    }
}

/// Runs the action's `run.sh` as the runner would: inputs as environment
/// variables, the step's files in `dir`, the built apprun on PATH.
fn run_action_script(dir: &Path, inputs: &[(&str, &str)]) -> (Output, String) {
    let binary = assert_cmd::cargo::cargo_bin("apprun");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output_file = dir.join("github_output");
    let _ = std::fs::remove_file(&output_file);
    let mut command = Command::new("bash");
    command
        .arg(root().join("ci/github/run.sh"))
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_RUN_ID", "42")
        .env_remove("GITHUB_WORKSPACE");
    for (name, value) in inputs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let outputs = std::fs::read_to_string(&output_file).unwrap_or_default();
    (output, outputs)
}

#[test]
fn the_actions_script_runs_the_cli_and_sets_the_step_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("examples/preview/apprun.yaml"),
        dir.path().join("apprun.yaml"),
    )
    .unwrap();
    // A plan with changes (exit 2) is a success with changes=true; the
    // report holds the Markdown, the log the full text plan.
    let (output, outputs) = run_action_script(
        dir.path(),
        &[
            ("APPRUN_COMMAND", "plan"),
            ("APPRUN_STACKS", "apprun.yaml\n"),
            ("APPRUN_VARS", "pr=101\n  account=111122223333  \n"),
            ("APPRUN_FORMAT", "markdown"),
            ("APPRUN_ARGS", "--no-refresh"),
        ],
    );
    assert_ran("run.sh plan", &output);
    assert!(outputs.contains("changes=true\nexitcode=2\n"), "{outputs}");
    let report = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report="))
        .unwrap_or_else(|| panic!("no report output: {outputs}"));
    let markdown = std::fs::read_to_string(report).unwrap();
    assert!(
        markdown.starts_with("<!-- apprun:plan stack=preview")
            && markdown.contains("target=aws -->\n"),
        "{markdown}"
    );
    assert!(markdown.contains("`preview-pr-101-web`"), "{markdown}");
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        log.contains("::group::Full plan\napprun will perform these actions"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "plan"))
            .count(),
        0,
        "the saved plan is left behind"
    );

    // An error fails the step and still sets exitcode.
    let (output, outputs) = run_action_script(
        dir.path(),
        &[
            ("APPRUN_COMMAND", "validate"),
            ("APPRUN_STACKS", "apprun.yaml"),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "a stack without pr= is invalid"
    );
    assert!(outputs.contains("exitcode=1"), "{outputs}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("::error file=apprun.yaml,line="),
        "no annotation"
    );

    // plan takes one stack; an unknown command is refused.
    let (output, _) = run_action_script(
        dir.path(),
        &[
            ("APPRUN_COMMAND", "plan"),
            ("APPRUN_STACKS", "a.yaml b.yaml"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("plan takes one stack"));
    let (output, _) = run_action_script(dir.path(), &[("APPRUN_COMMAND", "deploy")]);
    assert_eq!(output.status.code(), Some(1));
}
