//! GitHub Actions awareness. With `GITHUB_ACTIONS=true` (what every
//! GitHub-hosted and self-hosted runner sets):
//! - `plan`, `apply`, `destroy` and `drift` append their Markdown to the
//!   step summary (`$GITHUB_STEP_SUMMARY`) and write `changes=true|false`
//!   (plan, apply, destroy) or `drifted=true|false` (drift), and
//!   `exitcode=N`, to the step's outputs (`$GITHUB_OUTPUT`);
//! - validation errors are also printed as `::error file=…,line=…,col=…::`
//!   workflow commands, which GitHub shows as annotations on the file.
//!
//! The functions that decide what to write are pure (they take what the
//! command produced); [`Step`] reads the environment and writes the files.
//! Elsewhere nothing changes and nothing is rendered.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use apprun_engine::Plan;
use apprun_engine::ops::Workspace;
use apprun_engine::ops::apply::ApplyOutcome;
use apprun_engine::render::{markdown, report::Operation};
use miette::Diagnostic;
use thiserror::Error;

use crate::error::CliError;
use crate::stack_input::FileDiagnostics;

/// The most a step summary may hold is 1 MiB; a plan gets this many
/// characters there (a comment gets [`markdown::GITHUB_COMMENT_LIMIT`]).
pub const STEP_SUMMARY_LIMIT: usize = 256 * 1024;

/// A failure to write GitHub Actions' files.
#[derive(Debug, Error, Diagnostic)]
pub enum GithubError {
    /// `$GITHUB_STEP_SUMMARY` or `$GITHUB_OUTPUT` could not be appended to.
    #[error("cannot write GitHub Actions' {variable} file `{path}`: {source}")]
    #[diagnostic(
        code(cli::github_actions_file),
        help(
            "GITHUB_ACTIONS=true makes apprun append to the files named by GITHUB_STEP_SUMMARY and GITHUB_OUTPUT; check that they are writable, or unset GITHUB_ACTIONS outside GitHub Actions"
        )
    )]
    Write {
        /// The variable naming the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What a command tells the workflow through its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `plan`, `apply`, `destroy`: whether there were changes.
    Changes(bool),
    /// `drift`: whether anything drifted.
    Drifted(bool),
}

/// The `$GITHUB_OUTPUT` lines for an outcome and an exit code.
pub fn output_lines(outcome: Option<Outcome>, code: u8) -> String {
    let flag = match outcome {
        Some(Outcome::Changes(changes)) => format!("changes={changes}\n"),
        Some(Outcome::Drifted(drifted)) => format!("drifted={drifted}\n"),
        None => String::new(),
    };
    format!("{flag}exitcode={code}\n")
}

/// One step's report to GitHub Actions: built from what a command
/// produced, written with [`Step::finish`] once the exit code is known.
/// Outside GitHub Actions it holds nothing and writes nothing.
pub struct Step {
    /// The runner's files and what to write to them; `None` outside
    /// GitHub Actions.
    report: Option<(Files, String, Outcome)>,
}

/// The runner's per-step files.
struct Files {
    summary: Option<PathBuf>,
    output: Option<PathBuf>,
}

/// Whether this process runs in a GitHub Actions step.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

fn files() -> Option<Files> {
    let path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    in_actions().then(|| Files {
        summary: path("GITHUB_STEP_SUMMARY"),
        output: path("GITHUB_OUTPUT"),
    })
}

impl Step {
    fn new(markdown: impl FnOnce() -> String, outcome: Outcome) -> Self {
        Self {
            report: files().map(|files| (files, markdown(), outcome)),
        }
    }

    /// A plan: its Markdown, and whether it has changes.
    pub fn plan(plan: &Plan) -> Self {
        Self::new(
            || markdown::render(plan, STEP_SUMMARY_LIMIT),
            Outcome::Changes(plan.has_changes()),
        )
    }

    /// An apply or destroy: the Markdown of what it did, and whether it
    /// changed anything.
    pub fn apply(outcome: &ApplyOutcome, operation: Operation, ws: &Workspace<'_>) -> Self {
        let markdown = || {
            let (stack, target) = (ws.stack_name(), ws.target);
            match outcome {
                ApplyOutcome::Applied { report, .. } => {
                    markdown::applied(report, operation, stack, target)
                }
                ApplyOutcome::NoChanges => markdown::not_applied(operation, stack, target, false),
                ApplyOutcome::Declined => markdown::not_applied(operation, stack, target, true),
            }
        };
        let changed = matches!(outcome, ApplyOutcome::Applied { .. });
        Self::new(markdown, Outcome::Changes(changed))
    }

    /// A drift check: its Markdown (rendered only in GitHub Actions), and
    /// whether anything drifted.
    pub fn drift(markdown: impl FnOnce() -> String, drifted: bool) -> Self {
        Self::new(markdown, Outcome::Drifted(drifted))
    }

    /// Appends the Markdown to the step summary and the outputs (with the
    /// exit code of `result`, 1 for an error) to the step's outputs, then
    /// hands `result` back. A file that cannot be written is an error.
    pub fn finish(self, result: Result<u8, CliError>) -> Result<u8, CliError> {
        let Some((files, markdown, outcome)) = self.report else {
            return result;
        };
        let code = match &result {
            Ok(code) => *code,
            Err(_) => crate::error::exit::ERROR,
        };
        if let Some(path) = &files.summary {
            append(path, "GITHUB_STEP_SUMMARY", &format!("{markdown}\n"))?;
        }
        if let Some(path) = &files.output {
            let outcome = result.is_ok().then_some(outcome);
            append(path, "GITHUB_OUTPUT", &output_lines(outcome, code))?;
        }
        result
    }
}

fn append(path: &Path, variable: &'static str, text: &str) -> Result<(), GithubError> {
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(text.as_bytes())
    };
    write().map_err(|source| GithubError::Write {
        variable,
        path: path.to_path_buf(),
        source,
    })
}

/// Prints each diagnostic of `files` as an `::error` workflow command on
/// stderr (the runner reads commands from both streams), when in GitHub
/// Actions. File paths are made relative to `$GITHUB_WORKSPACE`, which is
/// where annotations point.
pub fn annotate(files: &[FileDiagnostics]) -> std::io::Result<()> {
    if !in_actions() {
        return Ok(());
    }
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
    let cwd = std::env::current_dir().ok();
    let text = annotations(files, |file| {
        workspace_path(file, cwd.as_deref(), workspace.as_deref())
    });
    std::io::stderr().lock().write_all(text.as_bytes())
}

/// The `::error` lines for `files`, each file's name passed through `path`.
pub fn annotations(files: &[FileDiagnostics], path: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for file in files {
        let report = apprun_schema::diagnostics::Report {
            file: &file.file,
            text: &file.text,
            diagnostics: &file.errors,
        }
        .to_json();
        let shown = path(&file.file);
        for diagnostic in report.diagnostics {
            let mut properties = vec![format!("file={}", property(&shown))];
            if let Some(label) = diagnostic.labels.first() {
                properties.push(format!("line={}", label.line));
                properties.push(format!("col={}", label.column));
            }
            if !diagnostic.code.is_empty() {
                properties.push(format!("title={}", property(&diagnostic.code)));
            }
            let message = match &diagnostic.help {
                Some(help) => format!("{} ({help})", diagnostic.message),
                None => diagnostic.message.clone(),
            };
            out.push_str(&format!(
                "::error {}::{}\n",
                properties.join(","),
                data(&message)
            ));
        }
    }
    out
}

/// A workflow command's message, escaped as the runner unescapes it.
pub fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped as the runner unescapes it.
pub fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `file` (as the user gave it, relative to `cwd`) relative to the
/// workspace, when it lies inside it; else as given.
pub fn workspace_path(file: &str, cwd: Option<&Path>, workspace: Option<&Path>) -> String {
    let (Some(cwd), Some(workspace)) = (cwd, workspace) else {
        return file.to_string();
    };
    let absolute = cwd.join(file);
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    match absolute.strip_prefix(&workspace) {
        Ok(relative) => relative.to_string_lossy().into_owned(),
        Err(_) => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_name_the_outcome_and_the_exit_code() {
        assert_eq!(
            output_lines(Some(Outcome::Changes(true)), 2),
            "changes=true\nexitcode=2\n"
        );
        assert_eq!(
            output_lines(Some(Outcome::Drifted(false)), 0),
            "drifted=false\nexitcode=0\n"
        );
        assert_eq!(output_lines(None, 1), "exitcode=1\n");
    }

    #[test]
    fn commands_escape_what_the_runner_unescapes() {
        assert_eq!(data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(property("schema::a,b"), "schema%3A%3Aa%2Cb");
    }

    #[test]
    fn annotations_point_at_the_line_and_column_of_each_problem() {
        let text = "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n    prot: 8080\n";
        let errors = match apprun_schema::load(text, &apprun_schema::VarInputs::new()) {
            Ok(_) => panic!("the stack is invalid"),
            Err(errors) => errors,
        };
        let files = [FileDiagnostics {
            file: "apprun.yaml".into(),
            text: text.into(),
            errors,
        }];
        let lines = annotations(&files, |file| format!("stacks/{file}"));
        assert!(
            lines.starts_with(
                "::error file=stacks/apprun.yaml,line=6,col=5,title=schema%3A%3Aunknown_key::unknown key `prot`"
            ),
            "{lines}"
        );
        assert!(lines.contains("did you mean `port`?"), "{lines}");
    }

    #[test]
    fn paths_are_made_relative_to_the_workspace() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sub = dir.path().join("infra");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            workspace_path("apprun.yaml", Some(&sub), Some(dir.path())),
            "infra/apprun.yaml"
        );
        assert_eq!(
            workspace_path(
                "apprun.yaml",
                Some(Path::new("/elsewhere")),
                Some(dir.path())
            ),
            "apprun.yaml"
        );
        assert_eq!(workspace_path("a.yaml", None, None), "a.yaml");
    }
}
