//! Fleet drift benchmark (issue 12, "Done when": drift over 20 stacks of 25
//! services each under `--max-rps apprunner=20` takes at most 1.1x
//! (calls / rate)).
//!
//! In process, against the App Runner emulator (real clock):
//! 1. set-up, not measured: 20 stacks of 25 services each applied with
//!    `apprun_engine::ops::apply::apply` through an `AwsProvider` with fast
//!    settings and no rate limit (1 ms operations), each stack's state in
//!    its own `LocalStore` in a temporary directory;
//! 2. measured, baseline: `apprun_engine::ops::drift::drift` over the 20
//!    workspaces one after another, each with a new `AwsProvider` whose
//!    settings are the CLI's defaults plus `rate_limits.apprunner = 20`
//!    (what `apprun drift S1 ... S20` did before `src/fleet.rs`);
//! 3. the App Runner calls made are counted from the emulator's request
//!    log; the report prints calls, elapsed, bound = calls / rate,
//!    ratio = elapsed / bound and the target (1.1x).
//!
//! The measured pass runs once per App Runner latency in
//! `BENCH_LATENCIES_MS` (default `0,200`: the emulator answering at once,
//! and a 200 ms latency fault on every call, as in the apply benchmark),
//! each over the same fleet with the request log cleared first. After each
//! baseline pass, the pass of the CLI's shape drifts the same fleet with up
//! to `BENCH_SHARED_STACKS` (4; 0: skip) stacks at once through one provider
//! (one pacer for all): what `apprun drift S1 ... S20` does (`src/fleet.rs`).
//!
//! The process exits non-zero when a drift fails (an error, a resource not
//! checked, or drift reported where nothing changed) or the set-up fails;
//! never because of the ratio.
//!
//! Run: `cargo bench --profile dev --workspace --bench drift` (as the apply
//! benchmark: `--workspace` and the dev profile reuse the test build).
//! Env: `BENCH_STACKS` (20), `BENCH_SERVICES` (25), `BENCH_RPS` (20),
//! `BENCH_LATENCIES_MS` (`0,200`), `BENCH_SHARED_STACKS` (4).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use common::{Calls, TARGET_RATIO, cli_settings, env_or};

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apprun_aws::Settings;
use apprun_engine::Target;
use apprun_engine::drift::Verdict;
use apprun_engine::ops::apply::{ApplyOutcome, ApplyRequest};
use apprun_engine::ops::{self, Unattended, Workspace};
use apprun_engine::{PlanOptions, drift::DriftReport};
use apprun_schema::{Stack, VarInputs};
use apprun_state::{LocalStore, StateStore};
use apprunner_emulator::{ClockMode, Emulator, Fault, FaultRule, RunningEmulator};
use serde_json::json;

/// One stack of the fleet: its file's text, the loaded stack and its state
/// store in a temporary directory.
struct Fixture {
    _dir: tempfile::TempDir,
    text: String,
    stack: Stack,
    store: LocalStore,
}

impl Fixture {
    fn new(name: &str, services: usize) -> Self {
        let mut text = format!("stack: {name}\nregion: us-east-1\nservices:\n");
        for i in 0..services {
            text.push_str(&format!(
                "  s{i}: {{ image: \"public.ecr.aws/nginx/nginx:latest\", env: {{ N: \"{i}\" }} }}\n"
            ));
        }
        let stack = apprun_schema::load(&text, &VarInputs::new())
            .unwrap_or_else(|e| panic!("the benchmark's stack {name} does not load: {e:?}"));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = LocalStore::new(dir.path().join(format!("{name}.aws.state.json")));
        Fixture {
            _dir: dir,
            text,
            stack,
            store,
        }
    }

    fn ws(&self) -> Workspace<'_> {
        let store: &dyn StateStore = &self.store;
        Workspace {
            stack: &self.stack,
            text: &self.text,
            file: "apprun.yaml",
            target: Target::Aws,
            store,
            version: "bench",
        }
    }
}

/// Applies every stack of the fleet, fast and without a rate limit.
async fn set_up(emu: &RunningEmulator, fleet: &[Fixture], services: usize) -> Result<(), String> {
    let url = emu.endpoint_url();
    let provider = Arc::new(support::provider_with(&url, &url, Settings::fast()));
    for fixture in fleet {
        let request = ApplyRequest {
            options: PlanOptions::default(),
            saved: None,
            refresh: true,
            parallelism: services.max(1),
            lock_timeout: None,
            stop: Box::new(|| tokio::sync::watch::channel(false).1),
        };
        let name = fixture.ws().stack_name().to_owned();
        match ops::apply::apply(&fixture.ws(), provider.clone(), request, &Unattended).await {
            Ok(ApplyOutcome::Applied { report, .. }) if report.succeeded() => {}
            Ok(ApplyOutcome::Applied { report, .. }) => {
                return Err(format!("applying {name} failed: {:?}", report.results));
            }
            Ok(other) => return Err(format!("applying {name} changed nothing: {other:?}")),
            Err(error) => return Err(format!("applying {name} failed: {error}")),
        }
    }
    Ok(())
}

/// Why a stack's drift report counts as a failed drift, if it does: a
/// resource not checked, or drift where nothing changed since the apply.
fn failure(report: &DriftReport, expected: usize) -> Option<String> {
    if report.resources.len() != expected {
        return Some(format!(
            "{} resources in the report, {expected} expected",
            report.resources.len()
        ));
    }
    let bad: Vec<String> = report
        .resources
        .iter()
        .filter(|r| r.status != Verdict::InSync)
        .map(|r| {
            format!(
                "{} {:?}{}",
                r.address,
                r.status,
                r.reason
                    .as_deref()
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    (!bad.is_empty()).then(|| bad.join("; "))
}

/// How the measured pass runs the stacks.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// One after another, a new provider per stack: the baseline.
    Sequential,
    /// Up to N stacks at once through one provider (one pacer): the CLI's
    /// shape (`src/fleet.rs`).
    Shared(usize),
}

impl Mode {
    fn label(self) -> String {
        match self {
            Mode::Sequential => "baseline: stacks one after another, a provider each".to_owned(),
            Mode::Shared(n) => format!("the CLI: up to {n} stacks at once, one provider"),
        }
    }
}

/// The drift of one stack: a failure sentence if it failed.
async fn drift_one(
    fixture: &Fixture,
    provider: Arc<apprun_aws::AwsProvider>,
    services: usize,
) -> Option<String> {
    let name = fixture.ws().stack_name().to_owned();
    match ops::drift::drift(&fixture.ws(), provider).await {
        Ok(report) => failure(&report, services).map(|why| format!("{name}: {why}")),
        Err(error) => Some(format!("{name}: {error}")),
    }
}

/// One measured pass: drift over the fleet as `mode` says. Returns whether
/// every drift succeeded.
async fn measure(
    emu: &RunningEmulator,
    fleet: &Arc<Vec<Fixture>>,
    services: usize,
    rps: f64,
    latency_ms: u64,
    mode: Mode,
) -> bool {
    emu.admin().clear_faults();
    if latency_ms > 0 {
        emu.admin()
            .add_fault(FaultRule::new(None, Fault::Latency { latency_ms }))
            .expect("a valid latency fault");
    }
    emu.admin().clear_requests();
    let url = emu.endpoint_url();
    let settings = cli_settings(rps);

    let mut failures = Vec::new();
    let mut stack_seconds = Vec::new();
    let started = Instant::now();
    match mode {
        Mode::Sequential => {
            for fixture in fleet.iter() {
                let stack_started = Instant::now();
                let provider = Arc::new(support::provider_with(&url, &url, settings.clone()));
                failures.extend(drift_one(fixture, provider, services).await);
                stack_seconds.push(stack_started.elapsed().as_secs_f64());
            }
        }
        Mode::Shared(n) => {
            let provider = Arc::new(support::provider_with(&url, &url, settings.clone()));
            let limit = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..fleet.len() {
                let (fleet, provider, limit) = (fleet.clone(), provider.clone(), limit.clone());
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let stack_started = Instant::now();
                    let failed = drift_one(&fleet[i], provider, services).await;
                    (failed, stack_started.elapsed().as_secs_f64())
                });
            }
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok((failed, seconds)) => {
                        failures.extend(failed);
                        stack_seconds.push(seconds);
                    }
                    Err(error) => failures.push(format!("a drift task ended: {error}")),
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    emu.admin().clear_faults();

    let Calls {
        calls,
        answered,
        throttled,
        by_operation,
        peak,
        bound,
        ratio,
        verdict,
    } = Calls::of(&emu.admin().requests(), elapsed, rps);
    let (fastest, slowest) = stack_seconds
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
    let operations = by_operation
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ");

    println!(
        "drift over {} stacks x {services} services, --max-rps apprunner={rps}, App Runner latency {latency_ms} ms, {}",
        fleet.len(),
        mode.label()
    );
    println!(
        "  App Runner calls:  {calls} ({operations}); {throttled} throttled, peak {peak} in any 1 s"
    );
    println!("  elapsed:           {elapsed:.2} s (per stack {fastest:.2}-{slowest:.2} s)");
    println!("  bound:             calls / {rps} = {bound:.2} s");
    println!("  ratio:             elapsed / bound = {ratio:.3}x");
    println!("  target:            <= {TARGET_RATIO}x: {verdict}");
    println!(
        "  drift:             {} of {} stacks failed",
        failures.len(),
        fleet.len()
    );
    for f in &failures {
        println!("    {f}");
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "bench": "drift_fleet", "stacks": fleet.len(), "services_per_stack": services,
            "max_rps_apprunner": rps, "latency_ms": latency_ms,
            "mode": match mode { Mode::Sequential => "sequential".to_owned(), Mode::Shared(n) => format!("shared_{n}") },
            "apprunner_calls": calls, "answered": answered, "throttled": throttled,
            "by_operation": by_operation, "peak_calls_in_1s": peak,
            "elapsed_s": round(elapsed), "bound_s": round(bound), "ratio": round(ratio),
            "target_ratio": TARGET_RATIO, "verdict": verdict,
            "stack_s": stack_seconds.iter().map(|s| round(*s)).collect::<Vec<_>>(),
            "failed_stacks": failures.len(),
        })
    );
    failures.is_empty()
}

async fn run() -> ExitCode {
    let stacks: usize = env_or("BENCH_STACKS", 20);
    let services: usize = env_or("BENCH_SERVICES", 25);
    let rps: f64 = env_or("BENCH_RPS", 20.0);
    // The comparison pass: this many stacks at once through one provider
    // (0: none).
    let shared: usize = env_or("BENCH_SHARED_STACKS", 4);
    let latencies: Vec<u64> = std::env::var("BENCH_LATENCIES_MS")
        .unwrap_or_else(|_| "0,200".to_owned())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();

    let emu = match Emulator::builder()
        .clock(ClockMode::Real)
        .operation_duration(Duration::from_millis(1))
        .max_services(stacks * services + 10)
        .start()
        .await
    {
        Ok(emu) => emu,
        Err(error) => {
            eprintln!("the App Runner emulator did not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let fleet: Arc<Vec<Fixture>> = Arc::new(
        (0..stacks)
            .map(|i| Fixture::new(&format!("fleet{i:02}"), services))
            .collect(),
    );
    let setup = Instant::now();
    if let Err(why) = set_up(&emu, &fleet, services).await {
        eprintln!("set-up failed: {why}");
        return ExitCode::FAILURE;
    }
    println!(
        "set-up: {stacks} stacks x {services} services applied in {:.1} s (not measured)",
        setup.elapsed().as_secs_f64()
    );

    let mut ok = true;
    let mut modes = vec![Mode::Sequential];
    if shared > 0 {
        modes.push(Mode::Shared(shared));
    }
    for latency_ms in latencies {
        for &mode in &modes {
            ok &= measure(&emu, &fleet, services, rps, latency_ms, mode).await;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(run())
}
