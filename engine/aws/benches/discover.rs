//! Discover benchmark (issue: "discover of 500 services (with roles and
//! ASCs) against the emulator under `--max-rps apprunner=20` takes at most
//! 1.1x (calls / rate), printed as a ratio in the same run").
//!
//! In process, against the App Runner emulator (real clock, 1 ms
//! operations) and moto server (IAM, from the project's Python venv):
//! 1. set-up, not measured: `BENCH_ROLES` IAM roles in moto (trusting
//!    `tasks.apprunner.amazonaws.com`), `BENCH_ASCS` auto scaling
//!    configurations and `BENCH_SERVICES` services (a public image, no
//!    automatic deployments, each with one of the roles as its instance
//!    role and one of the configurations) created straight through the
//!    SDK, not through apprun;
//! 2. measured: `apprun_engine::ops::discover::discover` of the whole
//!    region, through an `AwsProvider` whose settings are the CLI's
//!    defaults plus `rate_limits.apprunner = BENCH_RPS` (what
//!    `apprun discover --max-rps apprunner=20` builds), IAM at moto;
//! 3. the App Runner calls made are counted from the emulator's request
//!    log (cleared before); the report prints calls, elapsed,
//!    bound = calls / rate, ratio = elapsed / bound and the target (1.1x).
//!
//! Without moto (its venv missing or moto not starting) the services still
//! name instance roles, IAM points at the emulator, and discover notes the
//! roles as unreadable: the report says so, and the roles are not expected
//! in the draft.
//!
//! The process exits non-zero when discover fails or its draft misses a
//! service, a configuration or (with moto) a role, or the set-up fails;
//! never because of the ratio.
//!
//! Run: `cargo bench --profile dev --workspace --bench discover` (as the
//! apply benchmark: `--workspace` and the dev profile reuse the test
//! build; `APPRUN_VENV` names the venv, as for the tests).
//! Env: `BENCH_SERVICES` (500), `BENCH_ASCS` (10), `BENCH_ROLES` (10),
//! `BENCH_RPS` (20).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use common::{Calls, TARGET_RATIO, cli_settings, env_or};

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apprun_engine::ops::Unattended;
use apprun_engine::ops::discover::{DiscoverRequest, Filters, Scope};
use apprun_schema::Kind;
use apprunner_emulator::{ClockMode, Emulator, RunningEmulator};
use aws_sdk_apprunner::types::{
    ImageConfiguration, ImageRepository, ImageRepositoryType, InstanceConfiguration, ServiceStatus,
    SourceConfiguration,
};
use serde_json::json;

/// The image every service runs.
const IMAGE: &str = "public.ecr.aws/nginx/nginx:latest";

/// The emulator's (and moto's) account.
const ACCOUNT: &str = "123456789012";

/// How many set-up calls run at once.
const SETUP_CONCURRENCY: usize = 32;

/// The trust policy of an instance role.
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"tasks.apprunner.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn role_name(i: usize) -> String {
    format!("bench-role-{i:03}")
}

fn role_arn(i: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{}", role_name(i))
}

/// moto server, started off the runtime's threads; `None` (and why, on
/// stderr) when it does not start.
async fn start_moto() -> Option<&'static support::Moto> {
    match tokio::task::spawn_blocking(support::moto).await {
        Ok(moto) => Some(moto),
        Err(error) => {
            eprintln!("moto server did not start ({error}): the roles will not be readable");
            None
        }
    }
}

/// Creates the roles in moto (IAM).
async fn create_roles(moto: &support::Moto, roles: usize) -> Result<(), String> {
    let iam = aws_sdk_iam::Client::new(&support::sdk_config(&moto.url()));
    for i in 0..roles {
        iam.create_role()
            .role_name(role_name(i))
            .assume_role_policy_document(TRUST)
            .description("apprun discover benchmark")
            .send()
            .await
            .map_err(|e| format!("CreateRole {}: {e:?}", role_name(i)))?;
    }
    Ok(())
}

/// Creates the auto scaling configurations; their ARNs.
async fn create_ascs(
    client: &aws_sdk_apprunner::Client,
    ascs: usize,
) -> Result<Vec<String>, String> {
    let mut arns = Vec::with_capacity(ascs);
    for i in 0..ascs {
        let name = format!("bench-asc-{i:03}");
        let out = client
            .create_auto_scaling_configuration()
            .auto_scaling_configuration_name(&name)
            .min_size(1)
            .max_size(i32::try_from(2 + i % 20).unwrap_or(2))
            .max_concurrency(100)
            .send()
            .await
            .map_err(|e| format!("CreateAutoScalingConfiguration {name}: {e:?}"))?;
        let arn = out
            .auto_scaling_configuration()
            .and_then(|c| c.auto_scaling_configuration_arn())
            .ok_or_else(|| format!("CreateAutoScalingConfiguration {name}: no ARN"))?;
        arns.push(arn.to_owned());
    }
    Ok(arns)
}

/// Creates service `i`, using configuration `asc` and instance role `role`.
async fn create_service(
    client: aws_sdk_apprunner::Client,
    i: usize,
    asc: String,
    role: String,
) -> Result<(), String> {
    let name = format!("bench-svc-{i:04}");
    let image = ImageRepository::builder()
        .image_identifier(IMAGE)
        .image_repository_type(ImageRepositoryType::EcrPublic)
        .image_configuration(ImageConfiguration::builder().port("80").build())
        .build()
        .map_err(|e| format!("{name}: {e}"))?;
    client
        .create_service()
        .service_name(&name)
        .source_configuration(
            SourceConfiguration::builder()
                .auto_deployments_enabled(false)
                .image_repository(image)
                .build(),
        )
        .instance_configuration(
            InstanceConfiguration::builder()
                .instance_role_arn(role)
                .build(),
        )
        .auto_scaling_configuration_arn(asc)
        .send()
        .await
        .map_err(|e| format!("CreateService {name}: {e:?}"))?;
    Ok(())
}

/// The status of every service of the region, by name.
async fn statuses(
    client: &aws_sdk_apprunner::Client,
) -> Result<BTreeMap<String, ServiceStatus>, String> {
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        let page = client
            .list_services()
            .max_results(20)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| format!("ListServices: {e:?}"))?;
        for s in page.service_summary_list() {
            if let (Some(name), Some(status)) = (s.service_name(), s.status()) {
                out.insert(name.to_owned(), status.clone());
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Creates the configurations and the services, then waits until every
/// service runs.
async fn set_up(
    emu: &RunningEmulator,
    services: usize,
    ascs: usize,
    roles: usize,
) -> Result<(), String> {
    let client = aws_sdk_apprunner::Client::new(&support::sdk_config(&emu.endpoint_url()));
    let asc_arns = create_ascs(&client, ascs.max(1)).await?;
    let limit = Arc::new(tokio::sync::Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..services {
        let (client, limit) = (client.clone(), limit.clone());
        let asc = asc_arns[i % asc_arns.len()].clone();
        let role = role_arn(i % roles.max(1));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            create_service(client, i, asc, role).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| format!("a set-up task ended: {e}"))??;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = statuses(&client).await?;
        let running = all
            .values()
            .filter(|s| **s == ServiceStatus::Running)
            .count();
        if all.len() == services && running == services {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} services listed, {running} running, {services} expected",
                all.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The measured pass: discover of the region. Returns whether discover
/// succeeded and its draft holds everything expected.
async fn measure(
    emu: &RunningEmulator,
    iam: &str,
    services: usize,
    ascs: usize,
    roles: Option<usize>,
    rps: f64,
) -> bool {
    emu.admin().clear_faults();
    emu.admin().clear_requests();
    let provider = Arc::new(support::provider_with(
        &emu.endpoint_url(),
        iam,
        cli_settings(rps),
    ));
    let request = DiscoverRequest {
        stack: "bench".into(),
        region: "us-east-1".into(),
        scope: Scope::Live(Filters::default()),
        include_managed: false,
    };

    let started = Instant::now();
    let result = apprun_engine::ops::discover::discover(provider, &request, &Unattended).await;
    let elapsed = started.elapsed().as_secs_f64();

    let mut failures = Vec::new();
    let mut found: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut warnings = 0;
    match &result {
        Ok(discovery) => {
            for r in &discovery.draft.resources {
                *found.entry(r.address.kind).or_default() += 1;
            }
            warnings = discovery.warnings.len();
            let mut expected = vec![
                (Kind::Service, services),
                (Kind::AutoScaling, ascs.max(1).min(services)),
            ];
            if let Some(roles) = roles {
                expected.push((Kind::Role, roles.max(1).min(services)));
            }
            for (kind, n) in expected {
                let got = found.get(&kind).copied().unwrap_or(0);
                if got != n {
                    failures.push(format!("{got} {kind:?} in the draft, {n} expected"));
                }
            }
            for s in &discovery.skipped {
                failures.push(format!("not adopted: {}: {}", s.what, s.why));
            }
        }
        Err(error) => failures.push(format!("discover failed: {error}")),
    }

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
    let operations = by_operation
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let drafted = found
        .iter()
        .map(|(kind, n)| format!("{n} {kind:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let role_source = match roles {
        Some(_) => "roles from moto",
        None => "no moto: roles unreadable",
    };

    println!(
        "discover of {services} services ({} ASCs, {} roles, {role_source}), --max-rps apprunner={rps}",
        ascs.max(1),
        roles.unwrap_or(0)
    );
    println!(
        "  App Runner calls:  {calls} ({operations}); {throttled} throttled, peak {peak} in any 1 s"
    );
    println!("  elapsed:           {elapsed:.2} s");
    println!("  bound:             calls / {rps} = {bound:.2} s");
    println!("  ratio:             elapsed / bound = {ratio:.3}x");
    println!("  target:            <= {TARGET_RATIO}x: {verdict}");
    println!("  draft:             {drafted}; {warnings} warnings");
    println!(
        "  discover:          {}",
        if failures.is_empty() { "ok" } else { "failed" }
    );
    for f in &failures {
        println!("    {f}");
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "bench": "discover", "services": services, "ascs": ascs.max(1),
            "roles": roles.unwrap_or(0), "roles_from_moto": roles.is_some(),
            "max_rps_apprunner": rps,
            "apprunner_calls": calls, "answered": answered, "throttled": throttled,
            "by_operation": by_operation, "peak_calls_in_1s": peak,
            "elapsed_s": round(elapsed), "bound_s": round(bound), "ratio": round(ratio),
            "target_ratio": TARGET_RATIO, "verdict": verdict,
            "drafted": found.iter().map(|(k, n)| (format!("{k:?}"), *n)).collect::<BTreeMap<_, _>>(),
            "warnings": warnings, "failures": failures.len(),
        })
    );
    failures.is_empty()
}

async fn run() -> ExitCode {
    let services: usize = env_or("BENCH_SERVICES", 500);
    let ascs: usize = env_or("BENCH_ASCS", 10);
    let roles: usize = env_or("BENCH_ROLES", 10);
    let rps: f64 = env_or("BENCH_RPS", 20.0);

    let emu = match Emulator::builder()
        .clock(ClockMode::Real)
        .operation_duration(Duration::from_millis(1))
        .max_services(services + 10)
        .max_autoscaling_names(ascs + 10)
        .start()
        .await
    {
        Ok(emu) => emu,
        Err(error) => {
            eprintln!("the App Runner emulator did not start: {error}");
            return ExitCode::FAILURE;
        }
    };

    let setup = Instant::now();
    let moto = start_moto().await;
    let (iam, roles_made) = match moto {
        Some(moto) => {
            if let Err(why) = create_roles(moto, roles.max(1)).await {
                eprintln!("set-up failed: {why}");
                return ExitCode::FAILURE;
            }
            (moto.url(), Some(roles.max(1)))
        }
        None => (emu.endpoint_url(), None),
    };
    if let Err(why) = set_up(&emu, services, ascs, roles).await {
        eprintln!("set-up failed: {why}");
        return ExitCode::FAILURE;
    }
    println!(
        "set-up: {services} services, {} ASCs, {} roles ({}) created in {:.1} s (not measured)",
        ascs.max(1),
        roles.max(1),
        if roles_made.is_some() {
            "in moto"
        } else {
            "named only: moto did not start"
        },
        setup.elapsed().as_secs_f64()
    );

    if measure(&emu, &iam, services, ascs, roles_made, rps).await {
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
