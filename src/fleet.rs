//! Drift over many stacks for `apprun drift STACK...`: each stack's
//! session opened in turn, its check run through `ops::drift`; on AWS up to
//! [`STACKS_AT_ONCE`] stacks at once through one provider per region (one
//! pacer, so `--max-rps` holds for the whole run), on Docker one after
//! another. A stack that cannot be checked becomes a `NOT_CHECKED` entry.

use std::collections::HashMap;
use std::sync::Arc;

use apprun_engine::drift::DriftReport;
use apprun_engine::ops;
use apprun_engine::ops::drift::{FleetDrift, StackDrift};

use crate::cli::{DriftArgs, Format, Target};
use crate::error::CliError;
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// How many stacks are read at once on AWS (their calls share one pacer
/// per region, so `--max-rps` holds for the whole run).
const STACKS_AT_ONCE: usize = 4;

/// Checks every stack given, in order. On AWS, up to [`STACKS_AT_ONCE`]
/// stacks at once through one provider per region; on Docker, one after
/// another.
pub async fn drift(args: &DriftArgs, out: &Output) -> FleetDrift {
    // Stdout holds the one combined report: a stack's diagnostics go to
    // stderr as text, and its entry in the report says it is invalid.
    let diagnostics = Output {
        format: Format::Text,
        ..*out
    };
    let stacks = args.stack_args();
    let not_checked = |i: usize, e: CliError| {
        let stack = stacks[i].stack.display().to_string();
        StackDrift::NotChecked {
            stack,
            reason: e.sentence(),
        }
    };
    let mut results: Vec<Option<StackDrift>> = vec![None; stacks.len()];
    let mut providers: HashMap<String, Arc<apprun_aws::AwsProvider>> = HashMap::new();
    let mut running = tokio::task::JoinSet::new();
    for (i, stack) in stacks.iter().enumerate() {
        let session = match Session::open(stack, args.target, &diagnostics) {
            Ok(session) => session,
            Err(error) => {
                results[i] = Some(not_checked(i, error));
                continue;
            }
        };
        if args.target == Target::Docker {
            results[i] = Some(check(&session).await.unwrap_or_else(|e| not_checked(i, e)));
            continue;
        }
        let region = session.loaded.stack.region.value.clone();
        let provider = match providers.get(&region) {
            Some(provider) => provider.clone(),
            None => match targets::aws(&session.loaded.stack).await {
                Ok(provider) => providers
                    .entry(region)
                    .or_insert(Arc::new(provider))
                    .clone(),
                Err(error) => {
                    results[i] = Some(not_checked(i, error));
                    continue;
                }
            },
        };
        while running.len() >= STACKS_AT_ONCE {
            if let Some(Ok((j, result))) = running.join_next().await {
                results[j] = Some(settled(result).unwrap_or_else(|e| not_checked(j, e)));
            }
        }
        running.spawn(async move {
            let ws = session.workspace();
            (i, ops::drift::drift(&ws, provider).await)
        });
    }
    while let Some(joined) = running.join_next().await {
        if let Ok((j, result)) = joined {
            results[j] = Some(settled(result).unwrap_or_else(|e| not_checked(j, e)));
        }
    }
    let stacks = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| not_checked(i, lost())))
        .collect();
    FleetDrift { stacks }
}

/// The drift of one stack on its own provider (Docker).
async fn check(session: &Session) -> Result<StackDrift, CliError> {
    let ws = session.workspace();
    let report = targets::dispatch!(session.target, session, |provider| {
        Ok::<_, CliError>(ops::drift::drift(&ws, provider).await?)
    })?;
    Ok(StackDrift::Checked(report))
}

fn settled(result: Result<DriftReport, ops::OpError>) -> Result<StackDrift, CliError> {
    Ok(StackDrift::Checked(result?))
}

/// A stack whose check ended abnormally (its task panicked).
fn lost() -> CliError {
    let help = "it ended abnormally; run `apprun drift` on it alone".to_string();
    CliError::Unsupported {
        what: "this stack's check".to_string(),
        help,
    }
}
