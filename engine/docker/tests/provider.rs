//! `DockerProvider` against the real Docker Engine: the provider contract
//! (RELIABILITY T16) for every kind, replicas from an auto scaling
//! dependency, blue/green updates, failed updates, drift, secrets, the hello
//! example. Each test has its own stack, destroyed on drop.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apprun_docker::{DockerProvider, env_digest, labels};
use apprun_engine::diff::{AttributeChange, diff};
use apprun_engine::kinds::rules;
use apprun_engine::provider::{Applied, Provider, ProviderError};
use apprun_engine::values::seal;
use apprun_schema::{Address, Kind};
use apprun_state::DigestKey;
use common::*;
use serde_json::{Value, json};

/// The echo server's attributes ([`echo_service_attrs`]) with a user tag.
fn service_attrs(name: &str, message: &str) -> Value {
    let mut attrs = echo_service_attrs(name, message);
    attrs["tags"] = json!({ "team": "test" });
    attrs
}

fn key() -> DigestKey {
    DigestKey::from_bytes([9; 32])
}

/// The diff the planner would see between what was recorded (the request's
/// attributes, sealed) and what a read observed (sealed by the engine).
fn sealed_diff(kind: Kind, recorded: &Value, observed: &Value) -> Vec<AttributeChange> {
    let r = rules(kind);
    diff(&seal(&r, recorded, &key()), &seal(&r, observed, &key()))
}

fn url_port(applied: &Applied) -> u16 {
    applied.outputs["url"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn replicas(
    provider: &DockerProvider,
    stack: &str,
    address: &str,
) -> Vec<apprun_docker::Owned> {
    provider
        .engine()
        .list_owned(stack, Some(address))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .collect()
}

/// Creates the auto scaling configuration `busy` with `min_size` and
/// returns the dependencies map a service using it gets.
async fn autoscaling_dep(provider: &DockerProvider, stack: &str, min_size: u64) -> (String, Deps) {
    let address = Address::new(Kind::AutoScaling, "busy");
    let attrs = json!({ "name": "busy", "min_size": min_size, "max_size": 5, "max_concurrency": 50, "tags": {} });
    let (progress, _) = sink();
    let deps = Deps::new();
    let applied = provider
        .create(&request(stack, &address, "busy", &attrs, &deps, &progress))
        .await
        .unwrap();
    let arn = applied.outputs["arn"].as_str().unwrap().to_string();
    let mut out = Deps::new();
    out.insert(address, applied.outputs);
    (arn, out)
}

#[tokio::test]
async fn contract_service_round_trip_find_owned_no_duplicates_delete_twice() {
    let test = "contract_service";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let address = Address::new(Kind::Service, "web");
    let attrs = service_attrs("web-svc", "v1");
    let deps = Deps::new();
    let (progress, lines) = sink();
    let req = request(stack, &address, "web-svc", &attrs, &deps, &progress);

    let applied = provider.create(&req).await.unwrap();
    for output in ["arn", "name", "id", "url"] {
        assert!(
            applied.outputs.contains_key(output),
            "{output} missing: {applied:?}"
        );
    }
    assert_eq!(
        applied.physical_id,
        format!("arn:apprun:docker:local:000000000000:service/{stack}/web")
    );
    assert_eq!(applied.outputs["name"], "web-svc");
    assert!(
        !lines.lock().unwrap().is_empty(),
        "deploy progress is forwarded"
    );
    let (status, body) = get(url_port(&applied), "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("message=v1"), "{body}");

    // Read round trip: no diff against what was applied.
    let recorded = seal(&rules(Kind::Service), &attrs, &key());
    let observed = provider
        .read(Kind::Service, &applied.physical_id, &recorded)
        .await
        .unwrap()
        .expect("the service exists");
    let changes = sealed_diff(Kind::Service, &attrs, &observed.attributes);
    assert!(changes.is_empty(), "unexpected diff: {changes:?}");
    assert_eq!(observed.outputs["url"], applied.outputs["url"]);

    // find_owned finds it; a second create does not duplicate anything.
    let found = provider
        .find_owned(stack, &address, "web-svc")
        .await
        .unwrap()
        .expect("found by labels");
    assert_eq!(found.physical_id, applied.physical_id);
    assert_eq!(found.outputs["url"], applied.outputs["url"]);
    let again = provider.create(&req).await.unwrap();
    assert_eq!(again.outputs["url"], applied.outputs["url"], "stable URL");
    let owned = provider
        .engine()
        .list_owned(stack, Some("services.web"))
        .await
        .unwrap();
    assert_eq!(
        owned
            .iter()
            .filter(|c| c.role == labels::ROLE_REPLICA)
            .count(),
        1,
        "{owned:?}"
    );
    assert_eq!(
        owned
            .iter()
            .filter(|c| c.role == labels::ROLE_FRONT_DOOR)
            .count(),
        1
    );

    // Update of a missing resource is NotFound.
    let ghost = Address::new(Kind::Service, "ghost");
    let ghost_attrs = service_attrs("ghost", "x");
    let ghost_req = request(stack, &ghost, "ghost", &ghost_attrs, &deps, &progress);
    let ghost_arn = format!("arn:apprun:docker:local:000000000000:service/{stack}/ghost");
    let err = provider
        .update(&ghost_arn, &ghost_req, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");
    let err = provider
        .update("arn:aws:apprunner:us-east-1:1:service/x/y", &req, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");

    // Delete twice.
    for _ in 0..2 {
        provider
            .delete(
                Kind::Service,
                &applied.physical_id,
                &recorded,
                progress.clone(),
            )
            .await
            .unwrap();
    }
    assert!(
        provider
            .read(Kind::Service, &applied.physical_id, &recorded)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        provider
            .find_owned(stack, &address, "web-svc")
            .await
            .unwrap()
            .is_none()
    );
    let err = provider
        .update(&applied.physical_id, &req, &["env.MESSAGE".to_string()])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn contract_vpc_connector_is_a_network() {
    let test = "contract_vpc";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let address = Address::new(Kind::VpcConnector, "private");
    let attrs = json!({
        "name": "private-conn",
        "subnets": ["subnet-1", "subnet-2"],
        "security_groups": ["sg-1"],
        "tags": {}
    });
    let deps = Deps::new();
    let (progress, _) = sink();
    let req = request(stack, &address, "private-conn", &attrs, &deps, &progress);
    let applied = provider.create(&req).await.unwrap();
    let network = applied.outputs["network"].as_str().unwrap().to_string();
    assert_eq!(
        network,
        format!("apprun-{stack}-{}-private", provider.engine().instance())
    );
    assert_eq!(applied.outputs["name"], "private-conn");
    assert!(
        applied.outputs["arn"]
            .as_str()
            .unwrap()
            .contains(":vpcconnector/")
    );

    let observed = provider
        .read(Kind::VpcConnector, &applied.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert!(sealed_diff(Kind::VpcConnector, &attrs, &observed.attributes).is_empty());
    let found = provider
        .find_owned(stack, &address, "private-conn")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, applied);
    assert_eq!(provider.create(&req).await.unwrap(), applied);
    let nets = provider.engine().list_owned_networks(stack).await.unwrap();
    assert_eq!(nets.len(), 1, "{nets:?}");

    for _ in 0..2 {
        provider
            .delete(
                Kind::VpcConnector,
                &applied.physical_id,
                &attrs,
                progress.clone(),
            )
            .await
            .unwrap();
    }
    assert!(
        provider
            .read(Kind::VpcConnector, &applied.physical_id, &attrs)
            .await
            .unwrap()
            .is_none()
    );
    let err = provider
        .update(&applied.physical_id, &req, &["tags.a".to_string()])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn contract_record_only_kinds() {
    let test = "contract_records";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let cases = [
        (
            Address::new(Kind::AutoScaling, "busy"),
            json!({ "name": "busy-asc", "min_size": 2, "max_size": 4, "max_concurrency": 30, "tags": {} }),
            vec!["arn", "name", "min_size", "max_size", "max_concurrency"],
        ),
        (
            Address::new(Kind::Role, "app"),
            json!({ "name": "app-role", "kind": "instance", "trust_policy": "{}", "managed_policies": [], "inline_policies": {}, "tags": {} }),
            vec!["arn", "name"],
        ),
        (
            Address::new(Kind::Repository, "web"),
            json!({ "name": "Shop-Web", "scan_on_push": false, "image_tag_mutability": "MUTABLE", "force_delete": false, "tags": {} }),
            vec!["arn", "name", "uri"],
        ),
    ];
    let deps = Deps::new();
    let (progress, _) = sink();
    for (address, attrs, outputs) in &cases {
        let name = attrs["name"].as_str().unwrap();
        let req = request(stack, address, name, attrs, &deps, &progress);
        let applied = provider.create(&req).await.unwrap();
        for o in outputs {
            assert!(applied.outputs.contains_key(*o), "{address}: {o} missing");
        }
        assert_eq!(provider.create(&req).await.unwrap(), applied, "idempotent");
        let observed = provider
            .read(address.kind, &applied.physical_id, attrs)
            .await
            .unwrap()
            .unwrap();
        assert!(sealed_diff(address.kind, attrs, &observed.attributes).is_empty());
        assert_eq!(observed.outputs, applied.outputs, "{address}");
        // Nothing exists on Docker to find: creating again is the reconciliation.
        assert!(
            provider
                .find_owned(stack, address, name)
                .await
                .unwrap()
                .is_none()
        );
        let err = provider
            .update(
                "arn:apprun:docker:local:000000000000:role/other/x",
                &req,
                &[],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");
        for _ in 0..2 {
            provider
                .delete(address.kind, &applied.physical_id, attrs, progress.clone())
                .await
                .unwrap();
        }
    }
    // The outputs services read.
    let asc = provider
        .create(&request(
            stack,
            &cases[0].0,
            "busy-asc",
            &cases[0].1,
            &deps,
            &progress,
        ))
        .await
        .unwrap();
    assert_eq!(asc.outputs["min_size"], 2);
    assert_eq!(asc.outputs["max_concurrency"], 30);
    let repo = provider
        .create(&request(
            stack,
            &cases[2].0,
            "Shop-Web",
            &cases[2].1,
            &deps,
            &progress,
        ))
        .await
        .unwrap();
    assert_eq!(
        repo.outputs["uri"],
        format!("apprun.local/{stack}/shop-web")
    );
}

#[tokio::test]
async fn autoscaling_min_size_replicas_blue_green_update_and_failed_update_keeps_old() {
    let test = "provider_bluegreen";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let (asc_arn, deps) = autoscaling_dep(&provider, stack, 3).await;
    let address = Address::new(Kind::Service, "api");
    let mut attrs = service_attrs("api", "v1");
    attrs["autoscaling"] = json!(asc_arn);
    let (progress, lines) = sink();
    let applied = provider
        .create(&request(stack, &address, "api", &attrs, &deps, &progress))
        .await
        .unwrap();
    assert_eq!(replicas(&provider, stack, "services.api").await.len(), 3);
    let port = url_port(&applied);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, body) = get(port, "/").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("message=v1"));
        seen.insert(replica_of(&body));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");

    // Env update: blue/green, same URL, new message.
    let mut v2 = attrs.clone();
    v2["env"]["MESSAGE"] = json!("v2");
    let updated = provider
        .update(
            &applied.physical_id,
            &request(stack, &address, "api", &v2, &deps, &progress),
            &["env.MESSAGE".to_string()],
        )
        .await
        .unwrap();
    assert_eq!(updated.outputs["url"], applied.outputs["url"]);
    let (_, body) = get(port, "/").await.unwrap();
    assert!(body.contains("message=v2"), "{body}");
    assert_eq!(replicas(&provider, stack, "services.api").await.len(), 3);
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("now serves the new replicas")),
        "{:?}",
        lines.lock().unwrap()
    );

    // A tags-only update does not redeploy.
    let before: Vec<String> = replicas(&provider, stack, "services.api")
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut tagged = v2.clone();
    tagged["tags"]["team"] = json!("other");
    provider
        .update(
            &applied.physical_id,
            &request(stack, &address, "api", &tagged, &deps, &progress),
            &["tags.team".to_string()],
        )
        .await
        .unwrap();
    let after: Vec<String> = replicas(&provider, stack, "services.api")
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(before, after);

    // A failing update: OperationFailed, the old version keeps serving.
    let mut bad = v2.clone();
    bad["env"]["UNHEALTHY"] = json!("true");
    bad["env"]["MESSAGE"] = json!("v3");
    let err = provider
        .update(
            &applied.physical_id,
            &request(stack, &address, "api", &bad, &deps, &progress),
            &["env.UNHEALTHY".to_string()],
        )
        .await
        .unwrap_err();
    match &err {
        ProviderError::OperationFailed { help, .. } => {
            assert!(help.contains("previous version keeps serving"), "{help}");
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    for _ in 0..5 {
        let (status, body) = get(port, "/").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("message=v2"), "{body}");
    }
    // The recorded (v2) attributes still match what runs.
    let recorded = seal(&rules(Kind::Service), &v2, &key());
    let observed = provider
        .read(Kind::Service, &applied.physical_id, &recorded)
        .await
        .unwrap()
        .unwrap();
    let changes = sealed_diff(Kind::Service, &v2, &observed.attributes);
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn read_reports_killed_and_tampered_replicas_then_update_repairs() {
    let test = "provider_drift";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let (asc_arn, deps) = autoscaling_dep(&provider, stack, 2).await;
    let address = Address::new(Kind::Service, "web");
    let mut attrs = service_attrs("web", "v1");
    attrs["autoscaling"] = json!(asc_arn);
    let (progress, _) = sink();
    let req = request(stack, &address, "web", &attrs, &deps, &progress);
    let applied = provider.create(&req).await.unwrap();
    let recorded = seal(&rules(Kind::Service), &attrs, &key());
    let read = |recorded: Value| {
        let provider = &provider;
        let id = applied.physical_id.clone();
        async move {
            provider
                .read(Kind::Service, &id, &recorded)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(
        sealed_diff(
            Kind::Service,
            &attrs,
            &read(recorded.clone()).await.attributes
        )
        .is_empty()
    );

    let docker = bollard::Docker::connect_with_defaults().unwrap();
    let mut reps = replicas(&provider, stack, "services.web").await;
    reps.sort_by(|a, b| a.name.cmp(&b.name));

    // Kill a replica by hand.
    docker
        .kill_container(
            &reps[0].id,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    let observed = read(recorded.clone()).await;
    let changes = sealed_diff(Kind::Service, &attrs, &observed.attributes);
    assert!(!changes.is_empty());
    let text = serde_json::to_string(&changes).unwrap();
    assert!(text.contains("docker_drift"), "{text}");
    assert!(
        text.contains(&reps[0].name) && text.contains("not running"),
        "{text}"
    );

    // Repair, then replace a replica by one with another env (same labels).
    provider
        .update(&applied.physical_id, &req, &["docker_drift".to_string()])
        .await
        .unwrap();
    assert!(
        sealed_diff(
            Kind::Service,
            &attrs,
            &read(recorded.clone()).await.attributes
        )
        .is_empty()
    );
    let mut reps = replicas(&provider, stack, "services.web").await;
    reps.sort_by(|a, b| a.name.cmp(&b.name));
    let victim = reps.pop().unwrap();
    provider
        .engine()
        .stop_and_remove(stack, &victim.id)
        .await
        .unwrap();
    let body = bollard::models::ContainerCreateBody {
        image: Some("apprun/echo:latest".to_string()),
        env: Some(vec!["PORT=8080".into(), "MESSAGE=tampered".into()]),
        labels: Some(victim.labels.clone()),
        ..Default::default()
    };
    let opts = bollard::query_parameters::CreateContainerOptionsBuilder::default()
        .name(&victim.name)
        .build();
    let created = docker.create_container(Some(opts), body).await.unwrap();
    docker
        .start_container(
            &created.id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let observed = read(recorded.clone()).await;
    let text =
        serde_json::to_string(&sealed_diff(Kind::Service, &attrs, &observed.attributes)).unwrap();
    assert!(text.contains("environment of replica"), "{text}");
    assert!(
        !text.contains("tampered"),
        "observed env values are sealed: {text}"
    );

    // Remove a replica entirely: a missing replica is drift too.
    provider
        .engine()
        .stop_and_remove(stack, &created.id)
        .await
        .unwrap();
    let observed = read(recorded.clone()).await;
    let text = serde_json::to_string(&observed.attributes["docker_drift"]).unwrap();
    assert!(text.contains("1 of 2 replicas are missing"), "{text}");
    provider
        .update(&applied.physical_id, &req, &["docker_drift".to_string()])
        .await
        .unwrap();
    assert!(sealed_diff(Kind::Service, &attrs, &read(recorded).await.attributes).is_empty());
}

fn canary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

const CANARY_CHILD: &str = "APPRUN_TEST_SECRET_CANARY_CHILD";

/// Runs `secret_canary_child` in a child process whose environment has
/// `APPRUN_SECRET_API_TOKEN=<random 32 chars>` (tests cannot set env vars:
/// `unsafe_code` is forbidden), then checks that its output never shows it.
#[tokio::test]
async fn secrets_from_env_reach_the_container_and_nowhere_else() {
    let test = "secrets_canary";
    if engine_or_skip(test).await.is_none() {
        return;
    }
    let value = canary();
    assert_eq!(value.len(), 32);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "secret_canary_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CANARY_CHILD, "1")
        .env("APPRUN_SECRET_API_TOKEN", &value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("canary child done"), "{stdout}");
    assert!(
        !stdout.contains(&value) && !stderr.contains(&value),
        "the secret leaked"
    );
}

#[tokio::test]
async fn secret_canary_child() {
    if std::env::var(CANARY_CHILD).is_err() {
        return; // only runs as the child of the test above
    }
    let value = std::env::var("APPRUN_SECRET_API_TOKEN").unwrap();
    let provider = provider_or_skip("secret_canary_child").await.unwrap();
    let guard = StackGuard::new("canary");
    let stack = guard.stack.as_str();
    let address = Address::new(Kind::Service, "web");
    let mut attrs = service_attrs("web", "canary");
    attrs["secrets"] =
        json!({ "API_TOKEN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:api-token" });
    let deps = Deps::new();
    let (progress, lines) = sink();
    let req = request(stack, &address, "web", &attrs, &deps, &progress);
    let mut texts: Vec<String> = vec![format!("{provider:?}"), format!("{req:?}")];

    let applied = provider.create(&req).await.unwrap();
    texts.push(format!("{applied:?}"));
    let (_, body) = get(url_port(&applied), "/env?name=API_TOKEN")
        .await
        .unwrap();
    assert!(body.contains("API_TOKEN=set"), "{body}");
    // The value itself reached the env: the replica's env digest includes it.
    let want = env_digest([
        "PORT=8080".to_string(),
        "MESSAGE=canary".to_string(),
        format!("API_TOKEN={value}"),
    ]);
    for c in provider.engine().list_owned(stack, None).await.unwrap() {
        for (k, v) in &c.labels {
            texts.push(format!("{k}={v}"));
        }
        if c.role == labels::ROLE_REPLICA {
            assert_eq!(c.labels[labels::ENV_DIGEST], want);
        }
    }
    let recorded = seal(&rules(Kind::Service), &attrs, &key());
    let observed = provider
        .read(Kind::Service, &applied.physical_id, &recorded)
        .await
        .unwrap()
        .unwrap();
    texts.push(format!("{observed:?}"));
    texts.push(observed.attributes.to_string());
    assert!(sealed_diff(Kind::Service, &attrs, &observed.attributes).is_empty());

    // Error paths: a failing deployment and a missing image.
    let mut bad = attrs.clone();
    bad["env"]["UNHEALTHY"] = json!("true");
    let err = provider
        .update(
            &applied.physical_id,
            &request(stack, &address, "web", &bad, &deps, &progress),
            &[],
        )
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let mut missing = attrs.clone();
    missing["image"] = json!("apprun.local/nowhere/nothing:v1");
    let err = provider
        .update(
            &applied.physical_id,
            &request(stack, &address, "web", &missing, &deps, &progress),
            &[],
        )
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    texts.extend(lines.lock().unwrap().iter().cloned());
    provider
        .delete(
            Kind::Service,
            &applied.physical_id,
            &recorded,
            progress.clone(),
        )
        .await
        .unwrap();
    for t in &texts {
        println!("{t}");
        assert!(!t.contains(&value), "secret value leaked into: {t}");
    }
    println!("canary child done");
}

#[tokio::test]
async fn missing_image_and_missing_secret_are_invalid() {
    let test = "provider_invalid";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let address = Address::new(Kind::Service, "web");
    let deps = Deps::new();
    let (progress, _) = sink();
    let mut attrs = service_attrs("web", "x");
    attrs["image"] = json!("apprun.local/nowhere/nothing:v1");
    let err = provider
        .create(&request(stack, &address, "web", &attrs, &deps, &progress))
        .await
        .unwrap_err();
    match &err {
        ProviderError::Invalid { message, .. } => {
            assert!(
                message.contains("apprun.local/nowhere/nothing:v1"),
                "{message}"
            );
            assert!(message.contains("never pulls"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut attrs = service_attrs("web", "x");
    attrs["secrets"] = json!({ "NOT_SET_ANYWHERE_42": "arn:aws:ssm:us-east-1:1:parameter/x" });
    let err = provider
        .create(&request(stack, &address, "web", &attrs, &deps, &progress))
        .await
        .unwrap_err();
    match &err {
        ProviderError::Invalid { message, .. } => {
            assert!(message.contains("NOT_SET_ANYWHERE_42"), "{message}");
            assert!(
                message.contains("APPRUN_SECRET_NOT_SET_ANYWHERE_42"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        provider
            .engine()
            .list_owned(stack, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `examples/hello` as the engine would hand it over: normalized by
/// `apprun_engine::desired`, built from `./app` relative to the stack file.
#[tokio::test]
async fn hello_example_builds_and_serves() {
    let test = "hello_example";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    let text = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    let stack_model = apprun_schema::load(&text, &apprun_schema::VarInputs::new()).unwrap();
    let web = apprun_engine::desired::desired(&stack_model)
        .into_iter()
        .find(|d| d.address == Address::new(Kind::Service, "web"))
        .unwrap();
    let provider = DockerProvider::new(engine, &dir);
    let guard = StackGuard::new(test);
    let deps = Deps::new();
    let (progress, lines) = sink();
    let applied = provider
        .create(&request(
            &guard.stack,
            &web.address,
            &web.name,
            &web.attributes,
            &deps,
            &progress,
        ))
        .await
        .unwrap();
    let (status, body) = get(url_port(&applied), "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("Hello from apprun"), "{body}");
    assert!(
        lines.lock().unwrap().iter().any(|l| l.contains("build:")),
        "build output is forwarded"
    );
    let recorded = seal(&rules(Kind::Service), &web.attributes, &key());
    let observed = provider
        .read(Kind::Service, &applied.physical_id, &recorded)
        .await
        .unwrap()
        .unwrap();
    let changes = sealed_diff(Kind::Service, &web.attributes, &observed.attributes);
    assert!(changes.is_empty(), "{changes:?}");
}

/// `${services.api.url}` in another service's env reaches api from that
/// service's containers (issue 16): inside containers it is the front
/// door's name on the stack network; a read shows it as people see it
/// (`http://127.0.0.1:<port>`), so the record does not drift.
#[tokio::test]
async fn a_services_url_reaches_it_from_another_services_containers() {
    let test = "service_url";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let (progress, _) = sink();
    let api = Address::new(Kind::Service, "api");
    let api_attrs = service_attrs("api-svc", "from-api");
    let no_deps = Deps::new();
    let api_applied = provider
        .create(&request(
            stack, &api, "api-svc", &api_attrs, &no_deps, &progress,
        ))
        .await
        .unwrap();
    let api_url = api_applied.outputs["url"].as_str().unwrap().to_string();
    assert!(api_url.starts_with("http://127.0.0.1:"), "{api_url}");

    let web = Address::new(Kind::Service, "web");
    let mut web_attrs = service_attrs("web-svc", "from-web");
    web_attrs["env"]["API_URL"] = json!(api_url);
    web_attrs["env"]["API_V1"] = json!(format!("{api_url}/v1"));
    let deps = Deps::from([(api.clone(), api_applied.outputs.clone())]);
    let web_applied = provider
        .create(&request(
            stack, &web, "web-svc", &web_attrs, &deps, &progress,
        ))
        .await
        .unwrap();
    let (status, body) = get(url_port(&web_applied), "/fetch?env=API_URL")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("message=from-api"), "{body}");
    // What the container holds is the front door's name, not 127.0.0.1.
    let info = raw_docker()
        .await
        .inspect_container(
            &replicas(&provider, stack, "services.web").await[0].id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let host = provider.engine().front_door_host(stack, "services.api");
    let port = url_port(&api_applied);
    let env = info.config.unwrap().env.unwrap();
    assert!(
        env.contains(&format!("API_URL=http://{host}:{port}")),
        "{env:?}"
    );
    assert!(env.contains(&format!("API_V1=http://{host}:{port}/v1")));

    let recorded = seal(&rules(Kind::Service), &web_attrs, &key());
    let observed = provider
        .read(Kind::Service, &web_applied.physical_id, &recorded)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.attributes["env"]["API_URL"], json!(api_url));
    let changes = sealed_diff(Kind::Service, &web_attrs, &observed.attributes);
    assert!(changes.is_empty(), "{changes:?}");
}

/// A create reports the service (its ARN) through `request.created` before
/// the first Docker object of it exists, once; a report the engine cannot
/// record stops the create before anything is made.
#[tokio::test]
async fn create_reports_the_service_before_its_first_container_or_network() {
    let test = "created_hook";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.clone();
    let address = Address::new(Kind::Service, "web");
    let attrs = service_attrs("web-svc", "v1");
    let deps = Deps::new();
    let (progress, _) = sink();
    let seen: Arc<Mutex<Vec<(String, usize, usize)>>> = Arc::default();
    let hook = {
        let (engine, stack, seen) = (provider.engine().clone(), stack.clone(), seen.clone());
        apprun_engine::provider::Created::new(move |applied: Applied| {
            let (engine, stack, seen) = (engine.clone(), stack.clone(), seen.clone());
            async move {
                let containers = engine.list_owned(&stack, None).await.unwrap().len();
                let networks = engine.list_owned_networks(&stack).await.unwrap().len();
                seen.lock()
                    .unwrap()
                    .push((applied.physical_id, containers, networks));
                Ok(())
            }
        })
    };
    let mut req = request(&stack, &address, "web-svc", &attrs, &deps, &progress);
    req.created = hook;
    let applied = provider.create(&req).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(applied.physical_id.clone(), 0, 0)]
    );
    provider
        .delete(
            Kind::Service,
            &applied.physical_id,
            &attrs,
            progress.clone(),
        )
        .await
        .unwrap();

    // The state cannot be written: the create stops with that error.
    req.created = apprun_engine::provider::Created::new(|_| async {
        Err(ProviderError::Fatal {
            message: "the state could not be written".into(),
            help: "fix it".into(),
        })
    });
    let err = provider.create(&req).await.unwrap_err();
    assert!(
        err.to_string().contains("state could not be written"),
        "{err}"
    );
    assert!(
        provider
            .engine()
            .list_owned(&stack, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        provider
            .engine()
            .list_owned_networks(&stack)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A run killed after a replica started and before the front door: the
/// service is found by its labels alone (no front door, so no `url`), not
/// under another physical name, and its delete removes every container
/// carrying its labels and, as the stack's last service, the stack network.
#[tokio::test]
async fn a_service_without_front_door_is_found_and_deleted_by_its_labels() {
    let test = "half_made";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let engine = provider.engine();
    engine.ensure_builtin_images().await.unwrap();
    let mut spec = echo_spec(stack, "services.web", "half");
    spec.labels.insert(labels::NAME.into(), "web-svc".into());
    engine
        .run_replica(
            &spec,
            &apprun_docker::ECHO.tag(),
            &apprun_docker::new_generation(),
            0,
        )
        .await
        .unwrap();
    let address = Address::new(Kind::Service, "web");
    let found = provider
        .find_owned(stack, &address, "web-svc")
        .await
        .unwrap()
        .expect("found by its replica alone");
    assert_eq!(
        found.physical_id,
        format!("arn:apprun:docker:local:000000000000:service/{stack}/web")
    );
    assert!(!found.outputs.contains_key("url"), "{found:?}");
    assert!(
        provider
            .find_owned(stack, &address, "other-name")
            .await
            .unwrap()
            .is_none(),
        "replicas of another physical name are another record's"
    );
    let (progress, _) = sink();
    provider
        .delete(
            Kind::Service,
            &found.physical_id,
            &json!({ "name": "web-svc" }),
            progress,
        )
        .await
        .unwrap();
    assert!(engine.list_owned(stack, None).await.unwrap().is_empty());
    assert!(
        engine.list_owned_networks(stack).await.unwrap().is_empty(),
        "the stack network goes with the stack's last service"
    );
}

/// Two copies of one stack (two folders, so two state locations) have
/// separate instance labels: each serves, finds and deletes only its own.
#[tokio::test]
async fn two_state_locations_with_one_stack_name_never_touch_each_other() {
    let test = "two_folders";
    let Some(engine) = engine_or_skip(test).await else {
        return;
    };
    let mut guard = StackGuard::new(test);
    let stack = guard.stack.clone();
    let dir = tempfile::tempdir().unwrap();
    let provider = |folder: &str| {
        DockerProvider::new(engine.clone(), dir.path().join(folder))
            .with_deploy_timeout(Duration::from_secs(30))
            .with_state_location(
                &dir.path()
                    .join(folder)
                    .join(".apprun/shop.docker.state.json")
                    .display()
                    .to_string(),
            )
    };
    let (one, two) = (provider("one"), provider("two"));
    let (i1, i2) = (
        one.engine().instance().to_string(),
        two.engine().instance().to_string(),
    );
    assert_ne!(i1, i2);
    guard.instance(&i1);
    guard.instance(&i2);
    let address = Address::new(Kind::Service, "web");
    let deps = Deps::new();
    let (progress, _) = sink();
    let mut applied = Vec::new();
    for (p, message) in [(&one, "one"), (&two, "two")] {
        let attrs = service_attrs("web-svc", message);
        let a = p
            .create(&request(
                &stack, &address, "web-svc", &attrs, &deps, &progress,
            ))
            .await
            .unwrap();
        applied.push((a, attrs));
    }
    let ports: Vec<u16> = applied.iter().map(|(a, _)| url_port(a)).collect();
    assert_ne!(ports[0], ports[1]);
    for (port, message) in ports.iter().zip(["one", "two"]) {
        let (_, body) = get(*port, "/").await.unwrap();
        assert!(body.contains(&format!("message={message}")), "{body}");
    }
    let found = one
        .find_owned(&stack, &address, "web-svc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.outputs["url"], applied[0].0.outputs["url"]);
    let theirs = two.engine().list_owned(&stack, None).await.unwrap();
    assert!(
        theirs
            .iter()
            .all(|c| c.labels.get(labels::INSTANCE) == Some(&i2)),
        "{theirs:?}"
    );
    assert!(matches!(
        one.engine().stop_and_remove(&stack, &theirs[0].id).await,
        Err(apprun_docker::DockerError::NotOwned { .. })
    ));

    one.delete(
        Kind::Service,
        &applied[0].0.physical_id,
        &applied[0].1,
        progress.clone(),
    )
    .await
    .unwrap();
    assert!(
        get(ports[0], "/").await.is_err(),
        "one's front door is gone"
    );
    let (status, body) = get(ports[1], "/").await.unwrap();
    assert_eq!(
        (status, body.contains("message=two")),
        (200, true),
        "{body}"
    );
    assert_eq!(
        two.engine().list_owned(&stack, None).await.unwrap().len(),
        theirs.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_removes_the_stacks_unrecorded_networks_and_nothing_of_other_stacks() {
    let Some(provider) = provider_or_skip("sweep").await else {
        return;
    };
    let stack = format!("sweep{}", std::process::id());
    let other = format!("{stack}x");
    let engine = provider.engine();
    // What an apply killed between its last record and its next one left:
    // the stack network and a connector's network, no record names them.
    engine.ensure_stack_network(&stack).await.unwrap();
    engine.ensure_network(&stack, "private").await.unwrap();
    engine.ensure_stack_network(&other).await.unwrap();
    assert_eq!(engine.list_owned_networks(&stack).await.unwrap().len(), 2);

    assert_eq!(provider.sweep(&stack).await.unwrap(), 2);
    assert!(engine.list_owned_networks(&stack).await.unwrap().is_empty());
    assert_eq!(
        engine.list_owned_networks(&other).await.unwrap().len(),
        1,
        "another stack's network stays"
    );
    assert_eq!(provider.sweep(&other).await.unwrap(), 1);
}
