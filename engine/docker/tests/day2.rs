//! The day-2 methods of `DockerProvider` against the real Docker Engine:
//! `deploy` (a rebuilt context goes live, a failing one keeps the old
//! replicas), `status` (running, stopped by hand) and `logs` (every
//! replica, by time, `since`). Each test has its own stack, destroyed on
//! drop.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use apprun_docker::{DockerProvider, labels};
use apprun_engine::live::LogQuery;
use apprun_engine::provider::{Applied, Progress, Provider, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use common::*;
use serde_json::{Value, json};

type Deps = BTreeMap<Address, BTreeMap<String, Value>>;

async fn provider_or_skip(test: &str, base_dir: &std::path::Path) -> Option<DockerProvider> {
    let engine = engine_or_skip(test).await?;
    Some(DockerProvider::new(engine, base_dir).with_deploy_timeout(Duration::from_secs(30)))
}

fn quiet() -> Progress {
    Arc::new(|_: &Address, _: &str| {})
}

fn request<'a>(
    stack: &'a str,
    address: &'a Address,
    name: &'a str,
    attributes: &'a Value,
    dependencies: &'a Deps,
) -> ResourceRequest<'a> {
    ResourceRequest {
        stack,
        address,
        name,
        attributes,
        dependencies,
        progress: quiet(),
        created: apprun_engine::provider::Created::ignore(),
    }
}

/// Normalized attributes of a service on port 8080 with fast HTTP health
/// checks; `source` is its `image` or `build` member.
fn service_attrs(name: &str, source: Value) -> Value {
    let mut attrs = echo_service_attrs(name, "");
    if let Some(map) = attrs.as_object_mut() {
        map.remove("image");
    }
    attrs["env"] = json!({});
    for (k, v) in source.as_object().unwrap() {
        attrs[k] = v.clone();
    }
    attrs
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn replicas(provider: &DockerProvider, stack: &str) -> Vec<apprun_docker::Owned> {
    let mut out: Vec<_> = provider
        .engine()
        .list_owned(stack, Some("services.web"))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn write_dockerfile(dir: &std::path::Path, lines: &str) {
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM apprun/echo:latest\n{lines}\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn deploy_rebuilds_a_changed_context_and_a_failing_one_keeps_the_old_replicas() {
    let test = "day2_deploy";
    let dir = tempfile::tempdir().unwrap();
    let Some(provider) = provider_or_skip(test, dir.path()).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    write_dockerfile(dir.path(), "ENV MESSAGE=v1");
    let address = Address::new(Kind::Service, "web");
    let attrs = service_attrs(
        "web",
        json!({ "build": { "context": ".", "dockerfile": "Dockerfile" } }),
    );
    let deps = Deps::new();
    let req = request(stack, &address, "web", &attrs, &deps);
    let applied = provider.create(&req).await.unwrap();
    let port = url_port(&applied);
    let (status, body) = get(port, "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("message=v1"), "{body}");
    let before = provider
        .status(Kind::Service, &applied.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    let first_digest = before.details["image_digest"].clone();

    // A changed file in the context: deploy builds it and rolls it out.
    write_dockerfile(dir.path(), "ENV MESSAGE=v2");
    let deployment = provider.deploy(&applied.physical_id, &req).await.unwrap();
    let operation = deployment.operation_id.clone().unwrap();
    let digest = deployment.image_digest.clone().unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_ne!(digest, first_digest, "a new image runs");
    for _ in 0..5 {
        let (status, body) = get(port, "/").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("message=v2"), "{body}");
    }
    let reps = replicas(&provider, stack).await;
    assert_eq!(reps.len(), 1, "{reps:?}");
    assert_eq!(reps[0].generation, operation);
    assert_eq!(
        reps[0].labels.get(labels::OPERATION).map(String::as_str),
        Some("START_DEPLOYMENT")
    );
    let after = provider
        .status(Kind::Service, &applied.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.details["image_digest"], digest);
    assert_eq!(after.operations[0].id, operation);
    assert_eq!(after.operations[0].kind, "START_DEPLOYMENT");

    // A build whose health check fails: an error naming the service and
    // its logs; the previous replicas keep serving.
    write_dockerfile(dir.path(), "ENV MESSAGE=v3\nENV UNHEALTHY=true");
    let err = provider
        .deploy(&applied.physical_id, &req)
        .await
        .unwrap_err();
    match &err {
        ProviderError::OperationFailed { what, help, .. } => {
            assert!(what.contains("services.web"), "{what}");
            assert!(
                help.contains("apprun logs services.web --target docker"),
                "{help}"
            );
            assert!(help.contains("previous version keeps serving"), "{help}");
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    for _ in 0..5 {
        let (status, body) = get(port, "/").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("message=v2"), "{body}");
    }
    let reps = replicas(&provider, stack).await;
    assert_eq!(reps.len(), 1, "{reps:?}");
    assert_eq!(reps[0].generation, operation, "the old replica is kept");

    // A deployment of a service that is not on Docker is NotFound.
    let ghost = Address::new(Kind::Service, "ghost");
    let ghost_req = request(stack, &ghost, "ghost", &attrs, &deps);
    let ghost_arn = format!("arn:apprun:docker:local:000000000000:service/{stack}/ghost");
    let err = provider.deploy(&ghost_arn, &ghost_req).await.unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn status_of_a_running_service_and_of_one_stopped_by_hand() {
    let test = "day2_status";
    let dir = tempfile::tempdir().unwrap();
    let Some(provider) = provider_or_skip(test, dir.path()).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let address = Address::new(Kind::Service, "web");
    let mut attrs = service_attrs("web", json!({ "image": "apprun/echo:latest" }));
    attrs["env"]["MESSAGE"] = json!("hi");
    let deps = Deps::new();
    let applied = provider
        .create(&request(stack, &address, "web", &attrs, &deps))
        .await
        .unwrap();

    let live = provider
        .status(Kind::Service, &applied.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.status, "RUNNING", "{live:?}");
    assert!(live.healthy);
    assert_eq!(
        live.details["url"],
        applied.outputs["url"].as_str().unwrap()
    );
    assert!(
        live.details["image_digest"].starts_with("sha256:"),
        "{live:?}"
    );
    assert_eq!(live.details["image"], "apprun/echo:latest");
    assert_eq!(live.details["replicas"], "1");
    assert_eq!(live.details["cpu"], "256");
    assert_eq!(live.details["memory"], "512");
    assert_eq!(live.operations.len(), 1, "{live:?}");
    assert_eq!(live.operations[0].kind, "CREATE_SERVICE");
    assert_eq!(live.operations[0].status, "SUCCEEDED");
    assert!(live.operations[0].started_at.is_some());
    assert!(
        !serde_json::to_string(&live).unwrap().contains("MESSAGE"),
        "no env in the status"
    );

    // Stopped by hand: not running, not healthy.
    let docker = raw_docker().await;
    for r in replicas(&provider, stack).await {
        docker
            .stop_container(
                &r.id,
                Some(
                    bollard::query_parameters::StopContainerOptionsBuilder::default()
                        .t(1)
                        .build(),
                ),
            )
            .await
            .unwrap();
    }
    let stopped = provider
        .status(Kind::Service, &applied.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, "PAUSED", "{stopped:?}");
    assert!(!stopped.healthy);
    assert_eq!(stopped.details["replicas"], "0");

    // Other kinds answer the trait's default; a deleted service is gone.
    let asc = Address::new(Kind::AutoScaling, "busy");
    let asc_attrs =
        json!({ "name": "busy", "min_size": 1, "max_size": 2, "max_concurrency": 10, "tags": {} });
    let asc_applied = provider
        .create(&request(stack, &asc, "busy", &asc_attrs, &deps))
        .await
        .unwrap();
    let asc_live = provider
        .status(Kind::AutoScaling, &asc_applied.physical_id, &asc_attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asc_live.status, "PRESENT");
    provider
        .delete(Kind::Service, &applied.physical_id, &attrs, quiet())
        .await
        .unwrap();
    assert_eq!(
        provider
            .status(Kind::Service, &applied.physical_id, &attrs)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn logs_of_two_replicas_come_interleaved_by_time_and_since_filters_older_lines() {
    let test = "day2_logs";
    let dir = tempfile::tempdir().unwrap();
    let Some(provider) = provider_or_skip(test, dir.path()).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let deps_none = Deps::new();
    let asc = Address::new(Kind::AutoScaling, "busy");
    let asc_attrs =
        json!({ "name": "busy", "min_size": 2, "max_size": 5, "max_concurrency": 50, "tags": {} });
    let asc_applied = provider
        .create(&request(stack, &asc, "busy", &asc_attrs, &deps_none))
        .await
        .unwrap();
    let mut deps = Deps::new();
    deps.insert(asc.clone(), asc_applied.outputs.clone());
    let address = Address::new(Kind::Service, "web");
    let mut attrs = service_attrs("web", json!({ "image": "apprun/echo:latest" }));
    attrs["autoscaling"] = asc_applied.outputs["arn"].clone();
    let applied = provider
        .create(&request(stack, &address, "web", &attrs, &deps))
        .await
        .unwrap();
    let id = applied.physical_id.clone();
    let all = LogQuery {
        since_ms: None,
        system: false,
    };

    let events = provider.logs(&id, &attrs, all).await.unwrap();
    let sources: BTreeSet<&str> = events.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(sources, BTreeSet::from(["web-1", "web-2"]), "{events:?}");
    for source in ["web-1", "web-2"] {
        assert!(
            events
                .iter()
                .any(|e| e.source == source && e.message.contains("echo: listening on")),
            "{events:?}"
        );
    }
    assert!(
        events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "{events:?}"
    );
    let started = now_ms();
    assert!(
        events
            .iter()
            .all(|e| e.at_ms > started - 120_000 && e.at_ms <= started + 1_000),
        "timestamps are parsed: {events:?}"
    );

    // Restart both replicas by hand a second later: `since` keeps only
    // the lines they wrote since.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let since = now_ms();
    let docker = raw_docker().await;
    for r in replicas(&provider, stack).await {
        docker
            .restart_container(
                &r.id,
                Some(
                    bollard::query_parameters::RestartContainerOptionsBuilder::default()
                        .t(1)
                        .build(),
                ),
            )
            .await
            .unwrap();
    }
    let mut recent = Vec::new();
    for _ in 0..50 {
        recent = provider
            .logs(
                &id,
                &attrs,
                LogQuery {
                    since_ms: Some(since),
                    system: false,
                },
            )
            .await
            .unwrap();
        if recent
            .iter()
            .filter(|e| e.message.contains("listening"))
            .count()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recent.iter().all(|e| e.at_ms >= since), "{recent:?}");
    let restarted: BTreeSet<&str> = recent
        .iter()
        .filter(|e| e.message.contains("listening"))
        .map(|e| e.source.as_str())
        .collect();
    assert_eq!(restarted, BTreeSet::from(["web-1", "web-2"]), "{recent:?}");
    let everything = provider.logs(&id, &attrs, all).await.unwrap();
    assert!(everything.len() > recent.len(), "{everything:?}");
    assert!(
        everything.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "{everything:?}"
    );

    // The system log is the front door's.
    let system = provider
        .logs(
            &id,
            &attrs,
            LogQuery {
                since_ms: None,
                system: true,
            },
        )
        .await
        .unwrap();
    assert!(
        system.iter().all(|e| e.source == "front-door"),
        "{system:?}"
    );
    assert!(
        system.iter().any(|e| e.message.contains("front-door")),
        "{system:?}"
    );

    // No container: NotFound naming the service.
    provider
        .delete(Kind::Service, &id, &attrs, quiet())
        .await
        .unwrap();
    let err = provider.logs(&id, &attrs, all).await.unwrap_err();
    match err {
        ProviderError::NotFound { what } => {
            assert_eq!(what, "the logs of services.web (no replica is running)");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}
