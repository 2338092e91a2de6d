//! `apprun drift`, `apprun refresh` and `apprun import`: reading the live
//! world through a provider.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use apprun_engine::Provider;
use apprun_engine::desired::desired;
use apprun_engine::drift::{self, ReadResult};
use apprun_engine::record::recorded;
use apprun_schema::Address;
use apprun_state::{Journal, LockRequest, Snapshot, Storage};

use crate::cli::{DriftArgs, Format, StateArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::{stack_input, state_access, targets};

/// Reads every recorded resource, a few at a time.
pub async fn read_all<P: Provider + 'static>(
    provider: Arc<P>,
    state: &Snapshot,
) -> Result<Vec<(String, ReadResult)>, CliError> {
    if !state.resources.is_empty() {
        provider.preflight().await.map_err(CliError::Provider)?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    for resource in &state.resources {
        let Some(address) = Address::parse(&resource.address) else {
            continue;
        };
        let provider = provider.clone();
        let limit = limit.clone();
        let id = resource.physical_id.clone().unwrap_or_default();
        let attributes = resource.attributes.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let result = match provider.read(address.kind, &id, &attributes).await {
                Ok(Some(observed)) => ReadResult::Present(observed),
                Ok(None) => ReadResult::Absent,
                Err(error) => ReadResult::Error(error.to_string()),
            };
            (address.to_string(), result)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(pair) = joined {
            out.push(pair);
        }
    }
    Ok(out)
}

/// Reads every recorded resource and turns what was seen into the planner's
/// observations (secrets sealed). Resources that could not be read are left
/// out (the plan uses their record) and reported on stderr.
pub async fn observe<P: Provider + 'static>(
    provider: Arc<P>,
    state: &Snapshot,
) -> Result<std::collections::BTreeMap<Address, apprun_engine::Observation>, CliError> {
    let mut observed = std::collections::BTreeMap::new();
    for (address, read) in read_all(provider, state).await? {
        let Some(parsed) = Address::parse(&address) else {
            continue;
        };
        match read {
            ReadResult::Present(seen) => {
                let attributes = drift::seal_observed(parsed.kind, &seen, state);
                observed.insert(
                    parsed,
                    apprun_engine::Observation::Present {
                        attributes,
                        failed: seen.failed,
                    },
                );
            }
            ReadResult::Absent => {
                observed.insert(parsed, apprun_engine::Observation::Absent);
            }
            ReadResult::Error(error) => eprintln!("Warning: could not read {address}: {error}"),
        }
    }
    Ok(observed)
}

/// Runs `drift`: never writes state.
pub fn run_drift(args: &DriftArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(&args.state.stack_args(), out)?;
    let store = state_access::open(&args.state.stack, &loaded.stack, args.state.target)?;
    let state = state_access::read(store.as_ref())?.unwrap_or(Snapshot::with_identity(
        apprun_state::Lineage::new("none"),
        apprun_state::DigestKey::from_bytes([0; 32]),
    ));
    let dir = args
        .state
        .stack
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let report = targets::runtime()?.block_on(async {
        let reads =
            targets::dispatch!(args.state.target, &dir, &loaded.stack, |provider| read_all(
                provider, &state
            )
            .await)?;
        Ok::<_, CliError>(drift::drift(
            &state,
            &loaded.stack.stack.value,
            args.state.target.name(),
            reads,
        ))
    })?;
    let text = match out.format {
        Format::Text => drift::render_text(&report),
        Format::Json => drift::render_json(&report),
        Format::Markdown => drift::render_markdown(&report),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if report.incomplete() {
        exit::ERROR
    } else if args.detailed_exitcode && report.drifted() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Runs `refresh`: records what is there now.
pub fn run_refresh(args: &StateArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(&args.stack_args(), out)?;
    let store = state_access::open(&args.stack, &loaded.stack, args.target)?;
    let _lock = store.lock(&LockRequest::new("refresh").with_version(env!("CARGO_PKG_VERSION")))?;
    let storage: &dyn Storage = store.as_ref();
    let mut journal = Journal::open(storage)?;
    let state = journal.snapshot().clone();
    let dir = args
        .stack
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let reads = targets::runtime()?.block_on(async {
        targets::dispatch!(args.target, &dir, &loaded.stack, |provider| read_all(
            provider, &state
        )
        .await)
    })?;
    let mut lines = Vec::new();
    journal.update(|snapshot| {
        for (address, read) in reads {
            let Some(kind) = Address::parse(&address).map(|a| a.kind) else {
                continue;
            };
            match read {
                ReadResult::Absent => {
                    snapshot.remove(&address);
                    for r in &mut snapshot.resources {
                        r.dependencies.retain(|d| d != &address);
                    }
                    lines.push(format!("{address}: gone; removed from state"));
                }
                ReadResult::Present(observed) => {
                    let sealed = drift::seal_observed(kind, &observed, snapshot);
                    if let Some(record) =
                        snapshot.resources.iter_mut().find(|r| r.address == address)
                        && (record.attributes != sealed || record.outputs != observed.outputs)
                    {
                        record.attributes = sealed;
                        record.outputs = observed.outputs.clone();
                        lines.push(format!("{address}: updated from the live resource"));
                    }
                }
                ReadResult::Error(error) => lines.push(format!("{address}: not read: {error}")),
            }
        }
    })?;
    let mut stdout = std::io::stdout().lock();
    for line in &lines {
        writeln!(stdout, "{line}")?;
    }
    writeln!(
        stdout,
        "Refresh complete: {} change(s) recorded.",
        lines.iter().filter(|l| !l.contains("not read")).count()
    )?;
    Ok(exit::OK)
}

/// Runs `import ADDRESS ID`.
pub fn run_import(address: &str, id: &str, args: &StateArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(&args.stack_args(), out)?;
    let parsed = Address::parse(address).ok_or_else(|| CliError::InvalidAddress {
        address: address.to_string(),
    })?;
    let Some(resource) = desired(&loaded.stack)
        .into_iter()
        .find(|d| d.address == parsed)
    else {
        return Err(CliError::Unsupported {
            what: format!("importing `{address}`, which the stack does not declare"),
            help: "declare the resource in the stack first, then import it".to_string(),
        });
    };
    let store = state_access::open(&args.stack, &loaded.stack, args.target)?;
    let _lock = store.lock(&LockRequest::new("import").with_version(env!("CARGO_PKG_VERSION")))?;
    let storage: &dyn Storage = store.as_ref();
    let mut journal = Journal::open(storage)?;
    if journal.snapshot().resource(address).is_some() {
        return Err(CliError::Unsupported {
            what: format!("importing `{address}`: it is already in the state"),
            help: format!("run `apprun state rm {address}` first if it should point elsewhere"),
        });
    }
    let dir = args
        .stack
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let found = targets::runtime()?.block_on(async {
        targets::dispatch!(args.target, &dir, &loaded.stack, |provider| {
            provider.preflight().await.map_err(CliError::Provider)?;
            provider
                .read(parsed.kind, id, &serde_json::Value::Null)
                .await
                .map(|observed| observed.map(|o| (provider.canonical_id(parsed.kind, id, &o), o)))
                .map_err(CliError::Provider)
        })
    })?;
    let Some((physical_id, observed)) = found else {
        return Err(CliError::Provider(apprun_engine::ProviderError::NotFound {
            what: id.to_string(),
        }));
    };
    journal.update(|snapshot| {
        let record = recorded(
            &resource,
            &observed.attributes,
            &physical_id,
            observed.outputs.clone(),
            &snapshot.digest_key,
        );
        snapshot.upsert(record);
    })?;
    writeln!(
        std::io::stdout().lock(),
        "Imported {id} as {address}. Run `apprun plan` to see how it differs from the stack."
    )?;
    Ok(exit::OK)
}
