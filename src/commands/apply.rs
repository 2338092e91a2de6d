//! `apprun apply` and `apprun destroy`: one engine operation each
//! (`ops::apply`, `ops::destroy`), its plan, prompt and report rendered
//! here.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use apprun_engine::PlanOptions;
use apprun_engine::ops::apply::{ApplyOutcome, ApplyRequest};
use apprun_engine::ops::{self, Workspace};
use apprun_engine::render::{self, report::Operation};

use crate::cli::{ApplyArgs, Format, StackArgs};
use crate::error::{CliError, exit};
use crate::hooks::{self, EXIT_INTERRUPTED, Terminal};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `apply` (or `destroy` when `destroy` is set).
pub fn run(args: &ApplyArgs, destroy: bool, out: &Output) -> Result<u8, CliError> {
    let saved = ops::plan::saved_plan_at(&args.stack.stack)?;
    let stack_args = match &saved {
        Some(saved) => StackArgs {
            stack: PathBuf::from(&saved.stack_file),
            ..args.stack.clone()
        },
        None => args.stack.clone(),
    };
    let session = Session::open(&stack_args, args.target, out)?;
    let ws = session.workspace();
    let request = ApplyRequest {
        options: PlanOptions {
            targets: ops::addresses(&args.only)?,
            replace: ops::addresses(&args.replace)?,
            destroy,
        },
        saved,
        refresh: !args.no_refresh,
        parallelism: usize::from(args.parallelism),
        lock_timeout: args.lock_timeout.map(Duration::from_secs),
        stop: Box::new(hooks::interrupts),
    };
    let operation = request.operation();
    let hooks = Terminal::new(*out, operation.name(), args.auto_approve);
    let outcome = targets::runtime()?.block_on(async {
        targets::dispatch!(args.target, &session, |provider| {
            Ok::<_, CliError>(run_op(&ws, provider, request, &hooks).await?)
        })
    })?;
    crate::github::Step::apply(&outcome, operation, &ws).finish(report(outcome, operation, out))
}

async fn run_op<P: apprun_engine::Provider + 'static>(
    ws: &Workspace<'_>,
    provider: std::sync::Arc<P>,
    request: ApplyRequest,
    hooks: &Terminal,
) -> Result<ApplyOutcome, ops::OpError> {
    if request.options.destroy {
        ops::destroy::destroy(ws, provider, request, hooks).await
    } else {
        ops::apply::apply(ws, provider, request, hooks).await
    }
}

/// Renders how it ended and maps it to the exit code.
fn report(outcome: ApplyOutcome, operation: Operation, out: &Output) -> Result<u8, CliError> {
    let (report, outputs) = match outcome {
        ApplyOutcome::NoChanges => return Ok(exit::OK),
        ApplyOutcome::Declined => return Ok(exit::ERROR),
        ApplyOutcome::Applied { report, outputs } => (report, outputs),
    };
    let text = render::report::render(&report, operation, out.color_stderr);
    std::io::stderr().lock().write_all(text.as_bytes())?;
    if report.stopped {
        return Ok(EXIT_INTERRUPTED);
    }
    if !report.succeeded() {
        return Ok(exit::ERROR);
    }
    if out.format == Format::Text && !outputs.is_empty() {
        let lines = render::outputs::lines(&outputs, "  ");
        write!(std::io::stdout().lock(), "\nOutputs:\n{lines}")?;
    }
    Ok(exit::OK)
}
