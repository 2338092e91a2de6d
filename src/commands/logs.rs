//! `apprun logs ADDRESS [STACK]`: a service's log events (`ops::logs`),
//! one line each: time, source, message. `--follow` stops on Ctrl-C.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apprun_engine::live::LogEvent;
use apprun_engine::ops::{self, logs::LogsRequest};

use crate::cli::LogsArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `logs`: 0, or 1 when the logs cannot be read.
pub fn run(args: &LogsArgs, out: &Output) -> Result<u8, CliError> {
    let state = &args.state;
    let session = Session::open(&state.stack_args(), state.target, out)?;
    let ws = session.workspace();
    let since_ms = args.since.map(|age| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.saturating_sub(age).as_millis()).unwrap_or(i64::MAX)
    });
    let request = LogsRequest {
        address: args.address.clone(),
        since_ms,
        system: args.system,
        follow: args.follow,
        poll: Duration::from_secs(1),
    };
    targets::runtime()?.block_on(async {
        let stop = stop_on_ctrl_c();
        let mut stdout = std::io::stdout();
        let mut sink = |event: &LogEvent| -> Result<(), ops::OpError> {
            writeln!(stdout, "{}", line(event))?;
            Ok(())
        };
        targets::dispatch!(state.target, &session, |provider| {
            Ok::<_, CliError>(ops::logs::logs(&ws, provider, &request, stop, &mut sink).await?)
        })
    })?;
    Ok(exit::OK)
}

/// A receiver that turns true on the first Ctrl-C.
fn stop_on_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    let (sender, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = sender.send(true);
        }
    });
    stop
}

/// `2026-12-03T10:00:00Z source message`.
fn line(event: &LogEvent) -> String {
    let seconds = u64::try_from(event.at_ms / 1000).unwrap_or(0);
    format!(
        "{} {} {}",
        apprun_state::format_rfc3339(seconds),
        event.source,
        event.message
    )
}
