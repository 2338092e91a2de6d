//! The `apprun` binary inside GitHub Actions (`GITHUB_ACTIONS=true`): plan,
//! apply, destroy and drift append their Markdown to
//! `$GITHUB_STEP_SUMMARY` and write `changes=`/`drifted=` and `exitcode=`
//! to `$GITHUB_OUTPUT`; validation errors print `::error` annotations at
//! the right line and column. And the plan Markdown a pull request gets:
//! a 3,000-resource plan fits GitHub's comment limit and GitHub's own
//! cmark-gfm (the `cmarkgfm` package from the project's venv) renders its
//! table, folded details and diff blocks.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

#[path = "shared/moto.rs"]
#[allow(dead_code)] // only the venv is used here
mod moto_server;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;

/// The binary with no GitHub Actions variables of the machine running the
/// tests (a test run inside GitHub Actions must not write its files).
fn apprun() -> Command {
    let mut cmd = Command::cargo_bin("apprun").unwrap();
    cmd.env_remove("NO_COLOR")
        .env("COLUMNS", "100")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_WORKSPACE");
    cmd
}

/// A step of a GitHub Actions job: its summary and output files in `dir`.
struct Step {
    summary: PathBuf,
    output: PathBuf,
}

impl Step {
    fn new(dir: &Path) -> Self {
        Self {
            summary: dir.join("step_summary.md"),
            output: dir.join("github_output"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = apprun();
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_OUTPUT", &self.output);
        cmd
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(&self.summary).unwrap_or_default()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

/// A copy of an example in a temporary directory (state goes beside it).
fn example_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apprun.yaml");
    std::fs::copy(format!("examples/{name}/apprun.yaml"), &path).unwrap();
    (dir, path)
}

#[test]
fn a_plan_in_github_actions_goes_to_the_step_summary_and_sets_changes_and_exitcode() {
    let (dir, path) = example_copy("private-api");
    let step = Step::new(dir.path());
    let output = step
        .command()
        .args(["plan", path.to_str().unwrap(), "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Stdout keeps the format asked for (text here).
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Plan: 8 to add, 0 to change, 0 to destroy."));
    assert!(!stdout.contains("<!-- apprun"), "{stdout}");
    let summary = step.summary();
    assert!(
        summary.starts_with("<!-- apprun:plan stack=private-api target=aws -->\n"),
        "{summary}"
    );
    assert!(summary.contains("**Plan: 8 to add, 0 to change, 0 to destroy.**"));
    assert!(summary.contains("| `+` | `services.api` | `private-api-api` | will be created |"));
    assert_eq!(step.output(), "changes=true\nexitcode=2\n");

    // A second step appends; it does not overwrite.
    step.command()
        .args(["plan", path.to_str().unwrap()])
        .assert()
        .code(0);
    assert_eq!(step.summary().matches("<!-- apprun:plan").count(), 2);
    assert_eq!(
        step.output(),
        "changes=true\nexitcode=2\nchanges=true\nexitcode=0\n"
    );
}

#[test]
fn a_plan_without_changes_says_changes_false() {
    let (dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let step = Step::new(dir.path());
    step.command()
        .args([
            "plan",
            path.to_str().unwrap(),
            "--detailed-exitcode",
            "--no-refresh",
        ])
        .assert()
        .code(0);
    assert!(
        step.summary()
            .contains("**No changes.** The stack matches its state."),
        "{}",
        step.summary()
    );
    assert_eq!(step.output(), "changes=false\nexitcode=0\n");
}

#[test]
fn outside_github_actions_nothing_is_written() {
    let (dir, path) = example_copy("private-api");
    let step = Step::new(dir.path());
    apprun()
        .env("GITHUB_STEP_SUMMARY", &step.summary)
        .env("GITHUB_OUTPUT", &step.output)
        .args(["plan", path.to_str().unwrap(), "--detailed-exitcode"])
        .assert()
        .code(2);
    assert!(!step.summary.exists());
    assert!(!step.output.exists());
}

#[test]
fn an_unwritable_output_file_is_an_error_naming_it() {
    let (dir, path) = example_copy("private-api");
    let step = Step {
        summary: dir.path().join("no/such/dir/summary.md"),
        output: dir.path().join("github_output"),
    };
    let output = step
        .command()
        .args(["plan", path.to_str().unwrap(), "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("GITHUB_STEP_SUMMARY") && stderr.contains("no/such/dir/summary.md"),
        "{stderr}"
    );
}

#[test]
fn apply_and_destroy_without_changes_report_changes_false() {
    let (dir, path) = example_copy("private-api");
    support::fake_applied_state(&path, "aws");
    let step = Step::new(dir.path());
    // Nothing to change and nothing to read: no AWS call is made, but the
    // credential check wants credentials.
    step.command()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "apply",
            path.to_str().unwrap(),
            "--target",
            "aws",
            "--auto-approve",
            "--no-refresh",
        ])
        .assert()
        .code(0);
    let summary = step.summary();
    assert!(
        summary.starts_with(
            "<!-- apprun:apply stack=private-api target=aws -->\n### apprun apply for `private-api` (aws)"
        ),
        "{summary}"
    );
    assert!(summary.contains("**No changes.**"), "{summary}");
    assert_eq!(step.output(), "changes=false\nexitcode=0\n");

    // Destroy of a stack that has no state: nothing to do.
    let (dir, path) = example_copy("private-api");
    let step = Step::new(dir.path());
    step.command()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "destroy",
            path.to_str().unwrap(),
            "--target",
            "aws",
            "--auto-approve",
        ])
        .assert()
        .code(0);
    assert!(
        step.summary()
            .starts_with("<!-- apprun:destroy stack=private-api target=aws -->"),
        "{}",
        step.summary()
    );
    assert_eq!(step.output(), "changes=false\nexitcode=0\n");
}

#[test]
fn drift_in_github_actions_sets_drifted_and_exitcode() {
    let (dir, path) = example_copy("private-api");
    let step = Step::new(dir.path());
    // No state: nothing recorded, nothing to read, nothing drifted.
    step.command()
        .args(["drift", path.to_str().unwrap(), "--detailed-exitcode"])
        .assert()
        .code(0);
    let summary = step.summary();
    assert!(
        summary.starts_with("<!-- apprun:drift stack=private-api target=aws -->\n"),
        "{summary}"
    );
    assert!(
        summary.contains("**0 of 0 resources drifted.**"),
        "{summary}"
    );
    assert_eq!(step.output(), "drifted=false\nexitcode=0\n");
}

#[test]
fn validation_errors_are_annotations_at_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let infra = dir.path().join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::write(
        infra.join("apprun.yaml"),
        "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n    prot: 8080\n",
    )
    .unwrap();
    let step = Step::new(dir.path());
    let output = step
        .command()
        .env("GITHUB_WORKSPACE", dir.path())
        .current_dir(&infra)
        .args(["validate", "apprun.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The path is relative to the workspace (where annotations point),
    // line and column those of the unknown key.
    assert!(
        stderr.lines().any(|l| l
            == "::error file=infra/apprun.yaml,line=6,col=5,title=schema%3A%3Aunknown_key::unknown key `prot` in service `web` (did you mean `port`?)"),
        "{stderr}"
    );
    // The diagnostics people read are still there.
    assert!(stderr.contains("did you mean `port`?"));
    assert!(stderr.contains("apprun.yaml: 1 error"), "{stderr}");

    // Outside GitHub Actions: no workflow commands.
    let output = apprun()
        .current_dir(&infra)
        .args(["validate", "apprun.yaml"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("::error"));
}

/// `markdown` as GitHub renders a comment: cmark-gfm with GitHub's
/// extensions (tables, ...) and raw HTML kept (GitHub then allows
/// `<details>`, `<summary>`, `<code>`).
fn render_like_github(markdown: &str) -> String {
    let python = moto_server::venv().join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/python-env",
        python.display()
    );
    let script = "import sys, cmarkgfm\n\
                  from cmarkgfm.cmark import Options\n\
                  sys.stdout.write(cmarkgfm.github_flavored_markdown_to_html(\n\
                  sys.stdin.read(), options=Options.CMARK_OPT_UNSAFE))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(markdown.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "cmarkgfm failed (is it in the venv? scripts/python-env): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_3000_resource_plan_fits_a_comment_and_renders_with_cmark_gfm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apprun.yaml");
    let mut stack = String::from("stack: big\nregion: us-east-1\nrepositories:\n");
    for i in 0..3000 {
        stack.push_str(&format!("  repo{i:04}:\n    scan_on_push: true\n"));
    }
    std::fs::write(&path, stack).unwrap();
    let output = apprun()
        .args(["plan", path.to_str().unwrap(), "--format", "markdown"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let markdown = String::from_utf8(output.stdout).unwrap();
    let length = markdown.chars().count();
    assert!(length <= 65_536, "{length} characters");
    assert!(markdown.starts_with("<!-- apprun:plan stack=big target=aws -->\n"));
    assert!(markdown.contains("**Plan: 3000 to add, 0 to change, 0 to destroy.**"));
    assert!(markdown.contains("The full plan is in the CI job's log"));

    let html = render_like_github(&markdown);
    assert!(html.starts_with("<!-- apprun:plan stack=big target=aws -->"));
    assert_eq!(html.matches("<table>").count(), 1, "{html}");
    assert!(html.contains("<th>Resource</th>"));
    assert!(html.contains("<td><code>repositories.repo0000</code></td>"));
    let details = html.matches("<details>").count();
    assert!(details > 10, "{details} details");
    // Every folded section holds a rendered diff block, not literal fences.
    assert_eq!(html.matches("<pre lang=\"diff\">").count(), details);
    assert!(!html.contains("```"), "a fence was not closed");
    assert!(
        html.contains("\n@@ + repository &quot;big-repo0000&quot; @@\n+   force_delete = false\n"),
        "{html}"
    );
}

#[test]
fn a_small_plan_renders_every_change_folded_with_cmark_gfm() {
    let (_dir, path) = example_copy("private-api");
    let output = apprun()
        .args(["plan", path.to_str().unwrap(), "--format", "markdown"])
        .output()
        .unwrap();
    let markdown = String::from_utf8(output.stdout).unwrap();
    let html = render_like_github(&markdown);
    assert_eq!(html.matches("<details>").count(), 8, "{html}");
    assert_eq!(html.matches("<pre lang=\"diff\">").count(), 8, "{html}");
    assert_eq!(html.matches("<tr>").count(), 9, "{html}");
    assert!(
        html.contains("<summary><code>services.api</code> will be created</summary>"),
        "{html}"
    );
}
