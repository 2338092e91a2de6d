//! How an engine operation reaches the person at the terminal: notices
//! and progress on stderr, the plan on stdout, the approval prompt, and
//! Ctrl-C.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use apprun_engine::Plan;
use apprun_engine::ops::{Approval, Hooks, OpError};
use apprun_engine::provider::Progress;
use apprun_engine::render;
use tokio::sync::watch;

use crate::output::Output;

/// Exit code after a stop on Ctrl-C (128 + SIGINT), as shells expect.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The terminal's side of an operation.
pub struct Terminal {
    out: Output,
    auto_approve: bool,
    operation: &'static str,
}

impl Terminal {
    /// Hooks for `operation` (`apply`, `destroy`, ...); with
    /// `auto_approve`, changes are made without asking.
    pub fn new(out: Output, operation: &'static str, auto_approve: bool) -> Self {
        Self {
            out,
            auto_approve,
            operation,
        }
    }
}

impl Hooks for Terminal {
    fn notice(&self, message: &str) {
        eprintln!("{message}");
    }

    fn progress(&self) -> Progress {
        Arc::new(|address, message| eprintln!("{address}: {message}"))
    }

    fn show_plan(&self, plan: &Plan) -> Result<(), OpError> {
        let text = render::plan(plan, self.out.format.into(), self.out.color);
        std::io::stdout().lock().write_all(text.as_bytes())?;
        Ok(())
    }

    fn approve(&self, _plan: &Plan) -> Result<Approval, OpError> {
        if self.auto_approve {
            return Ok(Approval::Approved);
        }
        if !std::io::stdin().is_terminal() {
            return Err(OpError::NeedsApproval {
                operation: self.operation.to_string(),
            });
        }
        eprint!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() == "yes" {
            Ok(Approval::Approved)
        } else {
            eprintln!("Cancelled; nothing was changed.");
            Ok(Approval::Declined)
        }
    }
}

/// Starts listening for Ctrl-C: the first asks the operation to stop
/// (nothing new starts; running calls finish and are recorded), the
/// second quits at once with [`EXIT_INTERRUPTED`].
pub fn interrupts() -> watch::Receiver<bool> {
    let (stop_tx, stop) = watch::channel(false);
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
    stop
}
