//! App Runner services (and auto scaling configurations) through the
//! emulator: the provider contract, the full lifecycle, and the reliability
//! rows T1-T5 and T16. Each row prints one JSON line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apprun_aws::Settings;
use apprun_engine::provider::{Provider, ProviderError};
use apprun_schema::Kind;
use apprunner_emulator::{Fault, FaultRule, RunningEmulator};
use serde_json::{Value, json};

const CANARY: &str = "canary-8f3d2a61c9b04e77a1d5f0e2b3c4d5e6";

fn stack_yaml() -> String {
    format!(
        r#"
stack: shop
region: us-east-1
variables:
  token: {{ sensitive: true, default: {CANARY} }}
tags: {{ team: payments }}
autoscaling:
  small: {{ min_size: 1, max_size: 3, max_concurrency: 50 }}
services:
  web:
    image: public.ecr.aws/nginx/nginx:latest
    port: 8080
    cpu: 1 vCPU
    memory: 2 GB
    env: {{ APP_ENV: dev, TOKEN: "${{var.token}}" }}
    health_check: {{ protocol: HTTP, path: /health, interval: 10, timeout: 5 }}
    tags: {{ service: web }}
"#
    )
}

fn web() -> (apprun_engine::desired::DesiredResource, Value) {
    let all = support::desired(&stack_yaml());
    let r = support::resource(&all, "services.web");
    let attrs = r.attributes.clone();
    (r, attrs)
}

fn row(line: Value) {
    println!("{line}");
}

async fn services_in(emu: &RunningEmulator) -> usize {
    let config = support::sdk_config(&emu.endpoint_url());
    let client = aws_sdk_apprunner::Client::new(&config);
    client
        .list_services()
        .send()
        .await
        .unwrap()
        .service_summary_list()
        .len()
}

#[tokio::test]
async fn service_provider_contract() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let passed = support::contract(&p, "shop", &r, &attrs).await;
    assert_eq!(services_in(&emu).await, 0);
    row(
        json!({"row": "T16", "provider": "aws-emulator", "kind": "service", "cases": 4, "passed": passed}),
    );
}

#[tokio::test]
async fn autoscaling_provider_contract() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let all = support::desired(&stack_yaml());
    let r = support::resource(&all, "autoscaling.small");
    let passed = support::contract(&p, "shop", &r, &r.attributes).await;
    row(
        json!({"row": "T16", "provider": "aws-emulator", "kind": "autoscaling", "cases": 4, "passed": passed}),
    );
}

#[tokio::test]
async fn autoscaling_revisions_are_replaced_and_old_unused_ones_collected() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let all = support::desired(&stack_yaml());
    let r = support::resource(&all, "autoscaling.small");
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let mut arns = Vec::new();
    for min in [1, 2, 3] {
        let mut attrs = r.attributes.clone();
        attrs["min_size"] = json!(min);
        let req = support::request("shop", &r, &attrs, &deps, prog.clone());
        let a = p.create(&req).await.unwrap();
        assert_eq!(
            a.outputs["revision"],
            json!(min),
            "each create is a new revision"
        );
        arns.push((a.physical_id, attrs));
    }
    // Replacement of revision 2 by 3: delete-old collects revision 1 too.
    p.delete(Kind::AutoScaling, &arns[1].0, &arns[1].1, prog.clone())
        .await
        .unwrap();
    assert!(
        p.read(Kind::AutoScaling, &arns[0].0, &arns[0].1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.read(Kind::AutoScaling, &arns[1].0, &arns[1].1)
            .await
            .unwrap()
            .is_none()
    );
    let newest = p
        .read(Kind::AutoScaling, &arns[2].0, &arns[2].1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.attributes["min_size"], json!(3));
}

#[tokio::test]
async fn service_lifecycle_sends_only_what_changed() {
    let emu = support::emulator().await;
    emu.admin()
        .set_operation_duration(Duration::from_millis(400));
    let settings = Settings {
        progress_every: Duration::from_millis(100),
        ..Settings::fast()
    };
    let p = support::provider_with(&emu.endpoint_url(), &emu.endpoint_url(), settings);
    let all = support::desired(&stack_yaml());
    let asc = support::resource(&all, "autoscaling.small");
    let deps = BTreeMap::new();
    let (prog, lines) = support::progress();
    let asc_applied = p
        .create(&support::request(
            "shop",
            &asc,
            &asc.attributes,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();

    // Create with a reference to the auto scaling configuration, resolved.
    let (r, raw) = web();
    let mut attrs = raw.clone();
    attrs["autoscaling"] = json!(asc_applied.outputs["arn"]);
    let created = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();
    assert!(
        created.outputs["url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let seen = lines.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("Still creating services.web... [") && l.ends_with(" elapsed]")),
        "progress lines: {seen:?}"
    );
    let observed = p
        .read(Kind::Service, &created.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert!(apprun_engine::diff::diff(&observed.attributes, &attrs).is_empty());
    assert_eq!(emu.admin().count("UpdateService"), 0);

    // cpu + one env var: one UpdateService with exactly those two members.
    emu.admin().clear_requests();
    let mut changed_attrs = attrs.clone();
    changed_attrs["cpu"] = json!(2048);
    changed_attrs["memory"] = json!(4096);
    changed_attrs["env"]["APP_ENV"] = json!("prod");
    let changed = vec![
        "cpu".to_owned(),
        "memory".to_owned(),
        "env.APP_ENV".to_owned(),
    ];
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &changed_attrs, &deps, prog.clone()),
        &changed,
    )
    .await
    .unwrap();
    let updates: Vec<_> = emu
        .admin()
        .requests()
        .into_iter()
        .filter(|e| e.operation == "UpdateService")
        .collect();
    assert_eq!(updates.len(), 1, "exactly one UpdateService");
    let mut members: Vec<&str> = updates[0]
        .parameters
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort();
    assert_eq!(
        members,
        vec!["InstanceConfiguration", "ServiceArn", "SourceConfiguration"]
    );
    let observed = p
        .read(Kind::Service, &created.physical_id, &changed_attrs)
        .await
        .unwrap()
        .unwrap();
    assert!(apprun_engine::diff::diff(&observed.attributes, &changed_attrs).is_empty());

    // Tags only: no UpdateService at all.
    emu.admin().clear_requests();
    let mut tagged = changed_attrs.clone();
    tagged["tags"] = json!({"team": "payments", "owner": "ana"});
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &tagged, &deps, prog.clone()),
        &["tags.owner".to_owned(), "tags.service".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(
        emu.admin().count("UpdateService"),
        0,
        "a tags-only change sends no UpdateService"
    );
    assert_eq!(emu.admin().count("TagResource"), 1);
    assert_eq!(emu.admin().count("UntagResource"), 1);
    let observed = p
        .read(Kind::Service, &created.physical_id, &tagged)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.attributes["tags"], tagged["tags"]);
    // Ownership tags survive, hidden from reads.
    assert!(
        p.find_owned("shop", &r.address, &r.name)
            .await
            .unwrap()
            .is_some()
    );

    // Pause, then resume.
    let mut paused = tagged.clone();
    paused["paused"] = json!(true);
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &paused, &deps, prog.clone()),
        &["paused".to_owned()],
    )
    .await
    .unwrap();
    let observed = p
        .read(Kind::Service, &created.physical_id, &paused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.attributes["paused"], json!(true));
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &tagged, &deps, prog.clone()),
        &["paused".to_owned()],
    )
    .await
    .unwrap();
    let observed = p
        .read(Kind::Service, &created.physical_id, &tagged)
        .await
        .unwrap()
        .unwrap();
    assert!(apprun_engine::diff::diff(&observed.attributes, &tagged).is_empty());

    // Dropping the auto scaling reference goes back to the default
    // configuration, which reads back as "none".
    let mut no_asc = tagged.clone();
    no_asc.as_object_mut().unwrap().remove("autoscaling");
    emu.admin().clear_requests();
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &no_asc, &deps, prog.clone()),
        &["autoscaling".to_owned()],
    )
    .await
    .unwrap();
    let sent = emu
        .admin()
        .requests()
        .into_iter()
        .find(|e| e.operation == "UpdateService")
        .unwrap();
    assert!(
        sent.parameters["AutoScalingConfigurationArn"]
            .as_str()
            .unwrap()
            .contains("/DefaultConfiguration/")
    );
    let observed = p
        .read(Kind::Service, &created.physical_id, &no_asc)
        .await
        .unwrap()
        .unwrap();
    assert!(apprun_engine::diff::diff(&observed.attributes, &no_asc).is_empty());

    p.delete(Kind::Service, &created.physical_id, &no_asc, prog.clone())
        .await
        .unwrap();
    assert!(
        p.read(Kind::Service, &created.physical_id, &no_asc)
            .await
            .unwrap()
            .is_none()
    );
    // The secret env value was sent, but never logged by the emulator nor
    // printed in progress lines.
    let log = serde_json::to_string(&emu.admin().requests()).unwrap();
    assert!(!log.contains(CANARY));
    assert!(!lines.lock().unwrap().iter().any(|l| l.contains(CANARY)));
}

#[tokio::test]
async fn rolled_back_deployments_are_operation_failed() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let created = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();

    // A fault rolls the update back.
    emu.admin()
        .add_fault(FaultRule::new(Some("UpdateService"), Fault::FailOperation).times(1))
        .unwrap();
    let mut next = attrs.clone();
    next["cpu"] = json!(2048);
    next["memory"] = json!(4096);
    let started = Instant::now();
    let err = p
        .update(
            &created.physical_id,
            &support::request("shop", &r, &next, &deps, prog.clone()),
            &["cpu".into(), "memory".into()],
        )
        .await
        .unwrap_err();
    match &err {
        ProviderError::OperationFailed { message, .. } => {
            assert!(message.contains("ROLLBACK_SUCCEEDED"), "{message}")
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    assert!(!err.to_string().contains(CANARY));
    let polls = emu.admin().count("ListOperations");
    row(
        json!({"row": "T5", "case": "rollback_succeeded", "terminated": true, "list_operations_calls": polls, "ms": started.elapsed().as_millis() as u64}),
    );
    // The service still runs its previous configuration.
    let observed = p
        .read(Kind::Service, &created.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.attributes["cpu"], json!(1024));

    // The emulator's runtime switch: a deployment that fails, rollback fails too.
    let mut failing = attrs.clone();
    failing["env"]["EMULATOR_FAIL_DEPLOYMENT"] = json!("rollback_failed");
    let err = p
        .update(
            &created.physical_id,
            &support::request("shop", &r, &failing, &deps, prog.clone()),
            &["env.EMULATOR_FAIL_DEPLOYMENT".into()],
        )
        .await
        .unwrap_err();
    match &err {
        ProviderError::OperationFailed { message, .. } => {
            assert!(message.contains("ROLLBACK_FAILED"), "{message}")
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    let mut failing = attrs.clone();
    failing["env"]["EMULATOR_FAIL_DEPLOYMENT"] = json!("true");
    let err = p
        .update(
            &created.physical_id,
            &support::request("shop", &r, &failing, &deps, prog.clone()),
            &["env.EMULATOR_FAIL_DEPLOYMENT".into()],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::OperationFailed { .. }),
        "{err:?}"
    );
    row(json!({"row": "T5", "case": "rollback_failed_and_env_switch", "terminated": true}));
}

#[tokio::test]
async fn a_create_failed_service_reads_back_failed() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    emu.admin()
        .add_fault(FaultRule::new(Some("CreateService"), Fault::FailOperation).times(1))
        .unwrap();
    let err = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap_err();
    match &err {
        ProviderError::OperationFailed { message, .. } => {
            assert!(message.contains("CREATE_FAILED"), "{message}")
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    let found = p
        .find_owned("shop", &r.address, &r.name)
        .await
        .unwrap()
        .expect("the failed service is ours");
    let observed = p
        .read(Kind::Service, &found.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert!(
        observed
            .failed
            .as_deref()
            .is_some_and(|f| f.contains("CREATE_FAILED")),
        "{:?}",
        observed.failed
    );
    // It can be deleted (the planner's replacement).
    p.delete(Kind::Service, &found.physical_id, &attrs, prog)
        .await
        .unwrap();
    row(json!({"row": "T5", "case": "create_failed", "terminated": true, "observed_failed": true}));
}

#[tokio::test]
async fn invalid_state_waits_for_the_operation_then_succeeds() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let created = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();

    // Someone else starts a deployment that takes 600 ms.
    emu.admin()
        .set_operation_duration(Duration::from_millis(600));
    let client = aws_sdk_apprunner::Client::new(&support::sdk_config(&emu.endpoint_url()));
    client
        .start_deployment()
        .service_arn(&created.physical_id)
        .send()
        .await
        .unwrap();
    emu.admin().clear_requests();

    let mut next = attrs.clone();
    next["cpu"] = json!(2048);
    next["memory"] = json!(4096);
    let started = Instant::now();
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &next, &deps, prog.clone()),
        &["cpu".into(), "memory".into()],
    )
    .await
    .unwrap();
    let waited = started.elapsed();
    let log = emu.admin().requests();
    let updates: Vec<_> = log
        .iter()
        .filter(|e| e.operation == "UpdateService")
        .collect();
    assert_eq!(updates.len(), 2, "refused once, then sent again");
    assert_eq!(updates[0].error.as_deref(), Some("InvalidStateException"));
    assert!(updates[1].committed);
    let polls = log
        .iter()
        .filter(|e| e.operation == "DescribeService")
        .count();
    let observed = p
        .read(Kind::Service, &created.physical_id, &next)
        .await
        .unwrap()
        .unwrap();
    assert!(apprun_engine::diff::diff(&observed.attributes, &next).is_empty());
    row(
        json!({"row": "T4", "in_progress_ms": 600, "waited_ms": waited.as_millis() as u64, "describe_polls": polls, "outcome": "succeeded"}),
    );
}

/// One create -> update -> delete; the number of App Runner calls.
async fn lifecycle(p: &apprun_aws::AwsProvider) -> Result<(), ProviderError> {
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let created = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await?;
    let mut next = attrs.clone();
    next["env"]["APP_ENV"] = json!("prod");
    p.update(
        &created.physical_id,
        &support::request("shop", &r, &next, &deps, prog.clone()),
        &["env.APP_ENV".into()],
    )
    .await?;
    p.delete(Kind::Service, &created.physical_id, &next, prog)
        .await
}

#[tokio::test]
async fn throttling_is_retried_under_a_budget() {
    // Baseline: the calls one lifecycle needs without faults.
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    lifecycle(&p).await.unwrap();
    let is_poll = |op: &str| op == "ListOperations" || op == "DescribeService";
    let minimal = emu.admin().requests().len();
    let minimal_no_polls = emu
        .admin()
        .requests()
        .iter()
        .filter(|e| !is_poll(&e.operation))
        .count();

    for (p_throttle, runs, adaptive) in [(0.1, 3, false), (0.5, 5, false), (0.5, 2, true)] {
        let mut successes = 0;
        let mut total = 0usize;
        let mut throttled = 0usize;
        let mut no_polls = 0usize;
        let started = Instant::now();
        for seed in 0..runs {
            let emu = apprunner_emulator::Emulator::builder()
                .clock(apprunner_emulator::ClockMode::Real)
                .operation_duration(Duration::from_millis(50))
                .seed(seed)
                .fault(
                    FaultRule::new(
                        None,
                        Fault::Throttle {
                            status: None,
                            retry_after_ms: None,
                        },
                    )
                    .probability(p_throttle),
                )
                .start()
                .await
                .unwrap();
            let settings = Settings {
                adaptive_retry: adaptive,
                ..Settings::fast()
            };
            let p = support::provider_with(&emu.endpoint_url(), &emu.endpoint_url(), settings);
            if lifecycle(&p).await.is_ok() {
                successes += 1;
            }
            let log = emu.admin().requests();
            total += log.len();
            no_polls += log.iter().filter(|e| !is_poll(&e.operation)).count();
            throttled += log
                .iter()
                .filter(|e| e.fault.as_deref() == Some("throttle"))
                .count();
            emu.admin().clear_faults();
            assert_eq!(services_in(&emu).await, 0, "no service left behind");
        }
        let amplification = total as f64 / (minimal * runs as usize) as f64;
        // Waiter polls depend on timing (a slower run polls more): the
        // figure without them counts only retries of real calls.
        let amplification_no_polls = no_polls as f64 / (minimal_no_polls * runs as usize) as f64;
        row(json!({
            "row": "T1", "throttle": p_throttle, "runs": runs, "success_rate": successes as f64 / runs as f64,
            "success": successes == runs, "calls": total, "minimal_calls": minimal * runs as usize,
            "throttled_calls": throttled, "amplification": (amplification * 100.0).round() / 100.0,
            "amplification_excluding_polls": (amplification_no_polls * 100.0).round() / 100.0,
            "wall_ms": started.elapsed().as_millis() as u64, "mode": if adaptive { "adaptive" } else { "standard" }
        }));
        assert_eq!(
            successes, runs,
            "p = {p_throttle}: every lifecycle must succeed"
        );
        assert!(amplification <= 3.0, "amplification {amplification}");
        assert!(
            amplification_no_polls <= 3.0,
            "amplification {amplification_no_polls}"
        );
    }

    // p = 0.9 with 3 attempts: a clean, typed Throttled naming the operation.
    let emu = apprunner_emulator::Emulator::builder()
        .clock(apprunner_emulator::ClockMode::Real)
        .operation_duration(Duration::from_millis(50))
        .fault(
            FaultRule::new(
                None,
                Fault::Throttle {
                    status: Some(429),
                    retry_after_ms: None,
                },
            )
            .probability(0.9),
        )
        .start()
        .await
        .unwrap();
    let settings = Settings {
        max_attempts: 3,
        ..Settings::fast()
    };
    let p = support::provider_with(&emu.endpoint_url(), &emu.endpoint_url(), settings);
    let out = lifecycle(&p).await;
    match &out {
        Err(ProviderError::Throttled { operation, .. }) => assert!(!operation.is_empty()),
        other => panic!("expected Throttled, got {other:?}"),
    }
    row(
        json!({"row": "T1", "throttle": 0.9, "success": false, "typed_error": "Throttled", "max_attempts": 3}),
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_creates_never_duplicate() {
    for k in [1u32, 2, 5] {
        let emu = support::emulator().await;
        emu.admin()
            .add_fault(
                FaultRule::new(Some("CreateService"), Fault::ServerError { status: 503 }).times(k),
            )
            .unwrap();
        emu.admin()
            .add_fault(
                FaultRule::new(Some("UpdateService"), Fault::ServerError { status: 500 }).times(k),
            )
            .unwrap();
        let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
        let out = lifecycle(&p).await;
        let creates = emu.admin().count("CreateService");
        let updates = emu.admin().count("UpdateService");
        let services = emu
            .admin()
            .requests()
            .iter()
            .filter(|e| e.operation == "CreateService" && e.committed)
            .count();
        assert!(out.is_ok(), "k = {k}: {out:?}");
        assert_eq!(services, 1, "exactly one service was created");
        row(
            json!({"row": "T2", "burst": k, "create_attempts": creates, "update_attempts": updates, "outcome": "ok", "duplicates": services - 1}),
        );
    }
}

#[tokio::test]
async fn an_ambiguous_create_is_reconciled_not_duplicated() {
    for fault in [Fault::CommitThenDrop, Fault::DropConnection] {
        let name = format!("{fault:?}");
        let emu = support::emulator().await;
        emu.admin()
            .add_fault(FaultRule::new(Some("CreateService"), fault).times(1))
            .unwrap();
        let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
        let (r, attrs) = web();
        let deps = BTreeMap::new();
        let (prog, _) = support::progress();
        let created = p
            .create(&support::request("shop", &r, &attrs, &deps, prog))
            .await
            .unwrap();
        assert!(created.physical_id.contains(":service/"));
        let services = services_in(&emu).await;
        assert_eq!(services, 1, "{name}: one service, never a duplicate");
        let observed = p
            .read(Kind::Service, &created.physical_id, &attrs)
            .await
            .unwrap()
            .unwrap();
        assert!(apprun_engine::diff::diff(&observed.attributes, &attrs).is_empty());
        row(
            json!({"row": "T3", "fault": name, "create_calls": emu.admin().count("CreateService"), "services": services, "duplicates": services - 1, "orphans": 0}),
        );
    }
}

#[tokio::test]
async fn a_code_service_round_trips() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let yaml = format!(
        r#"
stack: shop
region: us-east-1
services:
  api:
    code:
      repository: https://github.com/acme/api
      branch: release
      connection: arn:aws:apprunner:us-east-1:123456789012:connection/github/0123456789abcdef0123456789abcdef
      runtime: PYTHON_311
      build_command: pip install -r requirements.txt
      start_command: python app.py --token {CANARY}
    port: 8000
    env: {{ APP_ENV: dev }}
"#
    );
    let all = support::desired(&yaml);
    let r = support::resource(&all, "services.api");
    let passed = support::contract(&p, "shop", &r, &r.attributes).await;
    row(
        json!({"row": "T16", "provider": "aws-emulator", "kind": "service (code source)", "cases": 4, "passed": passed}),
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, mut attrs) = web();
    // A reserved env name: App Runner refuses the request.
    attrs["env"]["AWSAPPRUNNER_X"] = json!(CANARY);
    attrs["start_command"] = json!(format!("serve --key {CANARY}"));
    let deps = BTreeMap::new();
    let (prog, lines) = support::progress();
    let req = support::request("shop", &r, &attrs, &deps, prog);
    let err = p.create(&req).await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err:?}");
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{req:?}"),
        format!("{p:?}"),
    ] {
        assert!(!text.contains(CANARY), "secret leaked: {text}");
    }
    assert!(!lines.lock().unwrap().iter().any(|l| l.contains(CANARY)));
    row(
        json!({"row": "T12", "provider": "aws-emulator", "channels": ["error", "error debug", "request debug", "provider debug", "progress"], "canary_occurrences": 0}),
    );
}

#[tokio::test]
async fn a_service_not_visible_yet_after_create_is_not_taken_for_deleted() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    // Eventual consistency: the first three DescribeService calls after the
    // create answer ResourceNotFoundException.
    emu.admin()
        .add_fault(FaultRule::new(Some("DescribeService"), Fault::NotFound).times(3))
        .unwrap();
    let applied = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();
    // A read right after the create (a refresh, a drift check) meets the
    // not-found answers and must not call the service deleted.
    let observed = p
        .read(Kind::Service, &applied.physical_id, &attrs)
        .await
        .unwrap();
    assert!(observed.is_some(), "a visible service reads back");
    let not_found_answers = emu
        .admin()
        .requests()
        .iter()
        .filter(|e| e.operation == "DescribeService" && e.fault.as_deref() == Some("not_found"))
        .count();
    assert_eq!(not_found_answers, 3, "the read met every not-found answer");
    assert_eq!(emu.admin().count("CreateService"), 1, "no second create");
    row(json!({"row": "T15", "not_found_answers": not_found_answers, "false_deleted_verdicts": 0}));
    p.delete(Kind::Service, &applied.physical_id, &attrs, prog)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_role_not_assumable_yet_is_retried_within_the_propagation_window() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    // IAM propagation: the first three creates are refused as if the role
    // could not be assumed yet.
    emu.admin()
        .add_fault(FaultRule::new(Some("CreateService"), Fault::RoleNotAssumable).times(3))
        .unwrap();
    let applied = p
        .create(&support::request("shop", &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();
    assert_eq!(
        emu.admin().count("CreateService"),
        4,
        "three refusals, one create"
    );
    assert_eq!(services_in(&emu).await, 1);
    row(json!({"row": "iam_propagation", "refusals_retried": 3, "services_created": 1}));
    p.delete(Kind::Service, &applied.physical_id, &attrs, prog)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_role_never_assumable_fails_with_the_refusal_after_the_window() {
    let emu = support::emulator().await;
    let settings = Settings {
        iam_propagation: Duration::from_millis(300),
        ..Settings::fast()
    };
    let p = support::provider_with(&emu.endpoint_url(), &emu.endpoint_url(), settings);
    let (r, attrs) = web();
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    emu.admin()
        .add_fault(FaultRule::new(
            Some("CreateService"),
            Fault::RoleNotAssumable,
        ))
        .unwrap();
    let err = p
        .create(&support::request("shop", &r, &attrs, &deps, prog))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("assuming instance role"), "{err}");
    assert!(emu.admin().count("CreateService") >= 2, "it was retried");
    assert_eq!(services_in(&emu).await, 0);
}
