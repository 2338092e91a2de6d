//! `apprun apply` and `apprun destroy`: lock, settle interrupted
//! operations, plan, confirm, apply concurrently, report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apprun_engine::apply::{ApplyOptions, ApplyReport, ChangeOutcome, apply, reconcile};
use apprun_engine::planfile::{SavedPlan, check_fresh};
use apprun_engine::provider::Progress;
use apprun_engine::{PlanInput, PlanOptions, Provider, plan, stack_digest};
use apprun_state::{Journal, LockRequest, StateStore, Storage};

use crate::cli::{ApplyArgs, Format, StackArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::stack_input::{self, ValidStack};
use crate::{state_access, targets};

/// Exit code after a stop on Ctrl-C (128 + SIGINT), as shells expect.
pub const EXIT_INTERRUPTED: u8 = 130;

/// What `apply`/`destroy` work on, resolved from the arguments.
struct Job {
    loaded: ValidStack,
    stack_file: PathBuf,
    saved: Option<SavedPlan>,
    options: PlanOptions,
    operation: &'static str,
}

/// Runs `apply` (or `destroy` when `destroy` is set).
pub fn run(args: &ApplyArgs, destroy: bool, out: &Output) -> Result<u8, CliError> {
    let (stack_args, saved) = match saved_plan(&args.stack.stack)? {
        Some(saved) => {
            let stack = StackArgs {
                stack: PathBuf::from(&saved.stack_file),
                vars: args.stack.vars.clone(),
                var_files: args.stack.var_files.clone(),
            };
            (stack, Some(saved))
        }
        None => (args.stack.clone(), None),
    };
    let loaded = stack_input::load_valid(&stack_args, out)?;
    let options = PlanOptions {
        targets: super::plan::addresses(&args.only)?,
        replace: super::plan::addresses(&args.replace)?,
        destroy,
    };
    let job = Job {
        loaded,
        stack_file: stack_args.stack.clone(),
        saved,
        options,
        operation: if destroy { "destroy" } else { "apply" },
    };
    let runtime = crate::targets::runtime()?;
    runtime.block_on(async {
        let stack_dir = job
            .stack_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        targets::dispatch!(args.target, &stack_dir, &job.loaded.stack, |provider| {
            run_with(provider, &job, args, out).await
        })
    })
}

fn saved_plan(path: &Path) -> Result<Option<SavedPlan>, CliError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    Ok(Some(SavedPlan::from_json(&text)?))
}

fn progress_printer() -> Progress {
    Arc::new(|address, message| {
        eprintln!("{address}: {message}");
    })
}

async fn run_with<P: Provider + 'static>(
    provider: Arc<P>,
    job: &Job,
    args: &ApplyArgs,
    out: &Output,
) -> Result<u8, CliError> {
    let store = state_access::open(&job.stack_file, &job.loaded.stack, args.target)?;
    let mut request = LockRequest::new(job.operation).with_version(env!("CARGO_PKG_VERSION"));
    if let Some(timeout) = args.lock_timeout {
        request = request.with_timeout(Duration::from_secs(timeout));
    }
    let lock = store.lock(&request)?;
    if let Some(stale) = lock.replaced_stale() {
        eprintln!("Warning: took over a stale lock record ({stale:?}).");
    }
    let result = run_locked(provider, job, args, out, store.as_ref()).await;
    // Released on every path (the guard also releases on drop).
    let unlocked = lock.unlock();
    let code = result?;
    unlocked?;
    Ok(code)
}

async fn run_locked<P: Provider + 'static>(
    provider: Arc<P>,
    job: &Job,
    args: &ApplyArgs,
    out: &Output,
    store: &dyn StateStore,
) -> Result<u8, CliError> {
    let storage: &dyn Storage = store;
    let mut journal = Journal::open(storage)?;
    let stack_name = job.loaded.stack.stack.value.clone();
    if !journal.pending().is_empty() {
        provider.preflight().await.map_err(CliError::Provider)?;
        eprintln!(
            "Settling {} operation(s) interrupted by an earlier run:",
            journal.pending().len()
        );
        for line in reconcile(
            &stack_name,
            provider.as_ref(),
            &mut journal,
            progress_printer(),
        )
        .await?
        {
            eprintln!("  {line}");
        }
    }
    let snapshot = journal.snapshot().clone();
    let exists = journal.generation().is_some();
    let digest = stack_digest(&job.loaded.text, &job.loaded.stack);
    let observed = if job.saved.is_none() && !args.no_refresh && exists {
        Some(super::drift::observe(provider.clone(), &snapshot).await?)
    } else {
        None
    };
    let plan = match &job.saved {
        Some(saved) => {
            check_fresh(
                &saved.plan,
                exists.then_some(&snapshot),
                &digest,
                args.target.name(),
            )?;
            saved.plan.clone()
        }
        None => plan(PlanInput {
            stack: &job.loaded.stack,
            target: args.target.name(),
            state: exists.then_some(&snapshot),
            observed: observed.as_ref(),
            options: &job.options,
            stack_digest: &digest,
        }),
    };
    // Before showing changes that could not be made: the target's
    // prerequisites (AWS credentials), checked once.
    if plan.has_changes() {
        provider.preflight().await.map_err(CliError::Provider)?;
    }
    super::plan::print_plan(&plan, out)?;
    if !plan.has_changes() {
        return Ok(exit::OK);
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Unsupported {
                what: format!("{} without confirmation", job.operation),
                help: "stdin is not a terminal: pass --auto-approve to apply without asking"
                    .to_string(),
            });
        }
        eprint!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(CliError::Write)?;
        if answer.trim() != "yes" {
            eprintln!("Cancelled; nothing was changed.");
            return Ok(exit::ERROR);
        }
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nStopping: no new operations start; running ones finish and are recorded. Press Ctrl-C again to quit at once."
            );
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "Quitting now. Operations still running are recorded as pending in the state; the next apply settles them."
                );
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    let options = ApplyOptions {
        parallelism: usize::from(args.parallelism),
        stop,
        progress: progress_printer(),
    };
    let report = apply(&plan, &job.loaded.stack, provider, &mut journal, options).await?;
    print_report(&report, job.operation, out)?;
    if report.stopped {
        return Ok(EXIT_INTERRUPTED);
    }
    if report.succeeded() {
        if job.operation == "apply" && out.format == Format::Text {
            print_outputs(journal.snapshot(), &job.loaded.stack)?;
        }
        Ok(exit::OK)
    } else {
        Ok(exit::ERROR)
    }
}

/// Prints each failed, skipped or unstarted change, then the summary line
/// (`Apply complete: …` or `Destroy complete: …`).
fn print_report(report: &ApplyReport, operation: &str, out: &Output) -> Result<(), CliError> {
    let mut stderr = std::io::stderr().lock();
    let (mut done, mut failed, mut skipped, mut not_started) = (0, 0, 0, 0);
    for (address, action, outcome) in &report.results {
        match outcome {
            ChangeOutcome::Done => done += 1,
            ChangeOutcome::Failed(error) => {
                failed += 1;
                let report = miette::Report::new(error.clone());
                let mut text = String::new();
                let theme = if out.color_stderr {
                    miette::GraphicalTheme::unicode()
                } else {
                    miette::GraphicalTheme::unicode_nocolor()
                };
                let _ = miette::GraphicalReportHandler::new_themed(theme)
                    .render_report(&mut text, report.as_ref());
                writeln!(
                    stderr,
                    "{address}: {} failed\n{text}",
                    action.verb().trim_start_matches("will be ")
                )?;
            }
            ChangeOutcome::Skipped { because } => {
                skipped += 1;
                writeln!(stderr, "{address}: skipped because {because} failed")?;
            }
            ChangeOutcome::NotStarted => {
                not_started += 1;
                writeln!(stderr, "{address}: not started (stopped)")?;
            }
        }
    }
    writeln!(
        stderr,
        "\n{} {}: {done} done, {failed} failed, {skipped} skipped{}.",
        if operation == "destroy" {
            "Destroy"
        } else {
            "Apply"
        },
        if report.succeeded() {
            "complete"
        } else {
            "incomplete"
        },
        if not_started > 0 {
            format!(", {not_started} not started")
        } else {
            String::new()
        }
    )?;
    Ok(())
}

fn print_outputs(
    state: &apprun_state::Snapshot,
    stack: &apprun_schema::Stack,
) -> Result<(), CliError> {
    let lines = super::output::resolved(state, stack);
    if lines.is_empty() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "\nOutputs:")?;
    for (name, value, sensitive) in lines {
        let shown = if sensitive {
            "(sensitive value)".to_string()
        } else {
            value
        };
        writeln!(stdout, "  {name} = {shown}")?;
    }
    Ok(())
}
