//! Services end to end on the real Docker Engine: front door balancing,
//! blue/green under load, rollback, max_concurrency, drift, networks,
//! builds and destroy. Each test has its own stack, destroyed on drop.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apprun_docker::{DockerError, Drift, ImageSource, Progress, labels};
use common::*;

#[tokio::test]
async fn front_door_balances_across_three_replicas() {
    let Some(engine) = engine_or_skip("front_door_balances_across_three_replicas").await else {
        return;
    };
    let guard = StackGuard::new("balance");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 3;
    let d = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    assert_eq!(d.replicas.len(), 3);
    let mut seen = BTreeSet::new();
    for _ in 0..30 {
        let (status, body) = get(d.front_door.port, "/").await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("message=v1"));
        seen.insert(replica_of(&body));
    }
    assert_eq!(seen.len(), 3, "replicas seen: {seen:?}");
    // The front door publishes its port on 127.0.0.1 only.
    assert!(d.url().starts_with("http://127.0.0.1:"));
}

/// Runs `loaders` tasks that GET `/` through `port` until stopped; counts
/// failures and collects the messages seen in order.
struct Load {
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    ok: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Load {
    fn start(port: u16, loaders: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(AtomicU64::new(0));
        let ok = Arc::new(AtomicU64::new(0));
        let tasks = (0..loaders)
            .map(|_| {
                let (stop, failures, ok) = (stop.clone(), failures.clone(), ok.clone());
                tokio::spawn(async move {
                    let mut messages = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        match get(port, "/").await {
                            Ok((200, body)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                let m = body.split_whitespace().next().unwrap_or("").to_string();
                                if messages.last() != Some(&m) {
                                    messages.push(m);
                                }
                            }
                            other => {
                                eprintln!("load failure: {other:?}");
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    messages
                })
            })
            .collect();
        Load {
            stop,
            failures,
            ok,
            tasks,
        }
    }

    async fn finish(self) -> (u64, u64, Vec<Vec<String>>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in self.tasks {
            all.push(t.await.unwrap());
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            all,
        )
    }
}

#[tokio::test]
async fn blue_green_update_under_load_has_zero_failed_requests() {
    let Some(engine) =
        engine_or_skip("blue_green_update_under_load_has_zero_failed_requests").await
    else {
        return;
    };
    let guard = StackGuard::new("bluegreen");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 2;
    let first = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    let port = first.front_door.port;

    let load = Load::start(port, 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut v2 = spec.clone();
    v2.env.insert("MESSAGE".into(), "v2".into());
    v2.env.insert("STARTUP_DELAY_MS".into(), "300".into());
    let mut events = Vec::new();
    let second = engine
        .deploy_blue_green(&v2, &mut |p| events.push(p))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ok, failures, per_loader) = load.finish().await;

    assert_eq!(
        failures, 0,
        "requests failed during the update ({ok} succeeded)"
    );
    assert!(ok > 20, "too little load: {ok}");
    assert_eq!(
        second.front_door.port, port,
        "the URL must be stable across deployments"
    );
    for messages in &per_loader {
        assert_eq!(
            messages,
            &vec!["message=v1".to_string(), "message=v2".to_string()],
            "{per_loader:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Switched { .. }))
    );
    assert!(events.contains(&Progress::OldStopped { count: 2 }));
    // Only the new generation is left.
    let owned = engine
        .list_owned(&guard.stack, Some("services.web"))
        .await
        .unwrap();
    let replicas: Vec<_> = owned
        .iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .collect();
    assert_eq!(replicas.len(), 2);
    assert!(replicas.iter().all(|c| c.generation == second.generation));
}

#[tokio::test]
async fn unhealthy_update_rolls_back_and_the_old_version_keeps_serving() {
    let Some(engine) =
        engine_or_skip("unhealthy_update_rolls_back_and_the_old_version_keeps_serving").await
    else {
        return;
    };
    let guard = StackGuard::new("rollback");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 2;
    let first = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();

    let load = Load::start(first.front_door.port, 2);
    let mut bad = spec.clone();
    bad.env.insert("MESSAGE".into(), "v2".into());
    bad.env.insert("UNHEALTHY".into(), "true".into());
    bad.health.unhealthy_threshold = 3;
    let mut events = Vec::new();
    let err = engine
        .deploy_blue_green(&bad, &mut |p| events.push(p))
        .await
        .unwrap_err();
    let (ok, failures, per_loader) = load.finish().await;

    match &err {
        DockerError::DeploymentFailed {
            previous_kept,
            reason,
            ..
        } => {
            assert_eq!(*previous_kept, 2);
            assert!(reason.contains("500"), "{reason}");
        }
        other => panic!("expected DeploymentFailed, got {other:?}"),
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::RolledBack { .. }))
    );
    assert_eq!(
        failures, 0,
        "requests failed during the failed update ({ok} succeeded)"
    );
    for messages in &per_loader {
        assert_eq!(messages, &vec!["message=v1".to_string()]);
    }
    let (status, body) = get(first.front_door.port, "/").await.unwrap();
    assert_eq!((status, body.contains("message=v1")), (200, true));
    let owned = engine
        .list_owned(&guard.stack, Some("services.web"))
        .await
        .unwrap();
    let replicas: Vec<_> = owned
        .iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .collect();
    assert_eq!(
        replicas.len(),
        2,
        "the failed generation's replicas are removed"
    );
    assert!(
        replicas
            .iter()
            .all(|c| c.generation == first.generation && c.running)
    );
}

#[tokio::test]
async fn max_concurrency_caps_in_flight_requests_per_replica() {
    let Some(engine) = engine_or_skip("max_concurrency_caps_in_flight_requests_per_replica").await
    else {
        return;
    };
    let guard = StackGuard::new("concurrency");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 2;
    spec.max_concurrency = 1;
    spec.queue_timeout = Duration::from_millis(200);
    let d = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    let port = d.front_door.port;

    // 4 slow requests, 2 slots, short queue: 2 served, 2 refused with 429.
    let reqs: Vec<_> = (0..4)
        .map(|_| tokio::spawn(async move { get(port, "/sleep?ms=1500").await.unwrap().0 }))
        .collect();
    let mut statuses = Vec::new();
    for r in reqs {
        statuses.push(r.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 429, 429]);

    // With a long queue the same burst waits for a free slot instead: all
    // succeed, and it takes at least two rounds. The front door keeps its URL.
    spec.queue_timeout = Duration::from_secs(10);
    let d2 = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    assert_eq!(d2.front_door.port, port);
    let start = Instant::now();
    let reqs: Vec<_> = (0..4)
        .map(|_| tokio::spawn(async move { get(port, "/sleep?ms=600").await.unwrap().0 }))
        .collect();
    for r in reqs {
        assert_eq!(r.await.unwrap(), 200);
    }
    assert!(
        start.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn replicas_killed_or_removed_by_hand_and_env_changes_show_as_drift() {
    let Some(engine) =
        engine_or_skip("replicas_killed_or_removed_by_hand_and_env_changes_show_as_drift").await
    else {
        return;
    };
    let guard = StackGuard::new("drift");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 2;
    let d = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    assert_eq!(engine.drift(&spec).await.unwrap(), vec![]);

    let observed = engine.observe(&guard.stack).await.unwrap();
    let svc = &observed.services["services.web"];
    assert_eq!(svc.replicas.len(), 2);
    assert_eq!(svc.front_door_port, Some(d.front_door.port));
    for r in &svc.replicas {
        assert_eq!(r.env_digest_actual, spec.env_digest());
        assert_eq!(r.env_digest_label, spec.env_digest());
    }

    // Env no longer matching the spec.
    let mut changed = spec.clone();
    changed.env.insert("MESSAGE".into(), "v2".into());
    let drift = engine.drift(&changed).await.unwrap();
    assert_eq!(
        drift
            .iter()
            .filter(|d| matches!(d, Drift::Env { .. }))
            .count(),
        2,
        "{drift:?}"
    );

    // Kill one replica, remove the other by hand.
    let docker = raw_docker().await;
    docker
        .kill_container(
            &d.replicas[0].id,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    let drift = engine.drift(&spec).await.unwrap();
    assert!(
        drift.contains(&Drift::ReplicaCount {
            expected: 2,
            running: 1
        }),
        "{drift:?}"
    );
    assert!(
        drift
            .iter()
            .any(|d| matches!(d, Drift::ReplicaNotRunning { .. })),
        "{drift:?}"
    );
    let rm = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .build();
    docker
        .remove_container(&d.replicas[1].id, Some(rm))
        .await
        .unwrap();
    let drift = engine.drift(&spec).await.unwrap();
    assert!(
        drift.contains(&Drift::ReplicaCount {
            expected: 2,
            running: 0
        }),
        "{drift:?}"
    );

    // A new deployment repairs it.
    engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    assert_eq!(engine.drift(&spec).await.unwrap(), vec![]);
}

#[tokio::test]
async fn vpc_connector_network_lets_a_replica_reach_another_by_name() {
    let Some(engine) =
        engine_or_skip("vpc_connector_network_lets_a_replica_reach_another_by_name").await
    else {
        return;
    };
    let guard = StackGuard::new("network");
    let mut db = echo_spec(&guard.stack, "services.db", "from-db");
    db.networks = vec!["private".into()];
    let mut web = echo_spec(&guard.stack, "services.web", "from-web");
    web.networks = vec!["private".into()];
    engine.deploy_blue_green(&db, &mut |_| {}).await.unwrap();
    let w = engine.deploy_blue_green(&web, &mut |_| {}).await.unwrap();

    // web -> db by name, inside the Docker network; the host only talks to web's front door.
    let (status, body) = get(w.front_door.port, "/fetch?url=http://db:8080/")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("message=from-db"), "{body}");

    let observed = engine.observe(&guard.stack).await.unwrap();
    assert_eq!(
        observed.networks,
        BTreeMap::from([(
            "vpc_connectors.private".to_string(),
            engine.network_name(&guard.stack, "private")
        )])
    );
}

#[tokio::test]
async fn a_build_context_is_built_through_the_engine_api_with_progress() {
    let Some(engine) =
        engine_or_skip("a_build_context_is_built_through_the_engine_api_with_progress").await
    else {
        return;
    };
    let guard = StackGuard::new("build");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server"), apprun_docker::ECHO.binary()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("server"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Dockerfile.app"),
        "FROM scratch\nCOPY server /server\nENV MESSAGE=built\nENTRYPOINT [\"/server\"]\n",
    )
    .unwrap();
    let tag = format!("apprun-test/{}:v1", guard.stack);
    let mut spec = echo_spec(&guard.stack, "services.web", "");
    spec.env.clear();
    spec.image = ImageSource::Build {
        context: dir.path().to_path_buf(),
        dockerfile: "Dockerfile.app".into(),
        tag: tag.clone(),
    };
    let mut lines = Vec::new();
    let d = engine
        .deploy_blue_green(&spec, &mut |p| {
            if let Progress::Build(b) = p {
                lines.push(b.line)
            }
        })
        .await
        .unwrap();
    assert!(lines.iter().any(|l| l.contains("COPY server")), "{lines:?}");
    let (_, body) = get(d.front_door.port, "/").await.unwrap();
    assert!(body.contains("message=built"), "{body}");
    // The image's own ENV is not drift.
    assert_eq!(engine.drift(&spec).await.unwrap(), vec![]);

    // A broken Dockerfile is a typed build error.
    std::fs::write(
        dir.path().join("Dockerfile.app"),
        "FROM scratch\nCOPY missing-file /x\n",
    )
    .unwrap();
    let err = engine
        .deploy_blue_green(&spec, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DockerError::ImageBuildFailed { .. }),
        "{err:?}"
    );
    let docker = raw_docker().await;
    let _ = docker
        .remove_image(
            &tag,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
}

#[tokio::test]
async fn a_missing_image_is_reported_and_nothing_is_pulled() {
    let Some(engine) = engine_or_skip("a_missing_image_is_reported_and_nothing_is_pulled").await
    else {
        return;
    };
    let guard = StackGuard::new("missing");
    let mut spec = echo_spec(&guard.stack, "services.web", "x");
    spec.image = ImageSource::Reference("apprun-test/does-not-exist:v0".into());
    let err = engine
        .deploy_blue_green(&spec, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, DockerError::ImageNotFound { .. }), "{err:?}");
    assert!(
        engine
            .list_owned(&guard.stack, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn destroy_removes_every_container_network_and_front_door_of_the_stack() {
    let Some(engine) =
        engine_or_skip("destroy_removes_every_container_network_and_front_door_of_the_stack").await
    else {
        return;
    };
    let guard = StackGuard::new("destroy");
    let other = StackGuard::new("destroy-other");
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.min_replicas = 2;
    spec.networks = vec!["net".into()];
    let d = engine.deploy_blue_green(&spec, &mut |_| {}).await.unwrap();
    let keep = engine
        .deploy_blue_green(
            &echo_spec(&other.stack, "services.web", "other"),
            &mut |_| {},
        )
        .await
        .unwrap();

    // A container apprun did not create is refused.
    assert!(matches!(
        engine
            .stop_and_remove(&guard.stack, &keep.replicas[0].id)
            .await,
        Err(DockerError::NotOwned { .. })
    ));

    let removed = engine.destroy_stack(&guard.stack).await.unwrap();
    assert_eq!(
        removed, 5,
        "2 replicas, 1 front door, the connector's network, the stack network"
    );
    assert!(
        engine
            .list_owned(&guard.stack, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .list_owned_networks(&guard.stack)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        get(d.front_door.port, "/").await.is_err(),
        "the front door must be gone"
    );
    // The other stack is untouched.
    let (status, body) = get(keep.front_door.port, "/").await.unwrap();
    assert_eq!((status, body.contains("message=other")), (200, true));
    // Destroying again is a no-op.
    assert_eq!(engine.destroy_stack(&guard.stack).await.unwrap(), 0);
}

#[tokio::test]
async fn a_taken_front_door_port_is_a_clear_error_and_leaves_nothing_behind() {
    let Some(engine) =
        engine_or_skip("a_taken_front_door_port_is_a_clear_error_and_leaves_nothing_behind").await
    else {
        return;
    };
    let guard = StackGuard::new("port-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut spec = echo_spec(&guard.stack, "services.web", "v1");
    spec.front_door_port = Some(taken.local_addr().unwrap().port());
    let err = engine
        .deploy_blue_green(&spec, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, DockerError::FrontDoor { .. }), "{err:?}");
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(
        engine
            .list_owned(&guard.stack, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// One Docker network per stack: replicas and front doors are on their
/// stack's network only (never on Docker's default bridge, never the
/// host's network), so a container of one stack reaches its own front door
/// by name but neither the names nor the addresses of another stack's
/// containers. The front door runs hardened like the replicas.
#[tokio::test]
async fn stacks_are_isolated_on_their_own_networks_and_nothing_is_on_the_default_bridge() {
    let Some(engine) = engine_or_skip(
        "stacks_are_isolated_on_their_own_networks_and_nothing_is_on_the_default_bridge",
    )
    .await
    else {
        return;
    };
    let a_guard = StackGuard::new("isolated-a");
    let b_guard = StackGuard::new("isolated-b");
    let a = engine
        .deploy_blue_green(&echo_spec(&a_guard.stack, "services.web", "a"), &mut |_| {})
        .await
        .unwrap();
    let b = engine
        .deploy_blue_green(&echo_spec(&b_guard.stack, "services.web", "b"), &mut |_| {})
        .await
        .unwrap();
    let fetch = |target: String| {
        let port = a.front_door.port;
        async move { get(port, &format!("/fetch?url=http://{target}/")).await }
    };

    // Inside stack A: its own front door, by name.
    let (status, body) = fetch(format!("{}:{}", a.front_door.host, a.front_door.port))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("message=a"), "{body}");

    // Stack B: neither by name nor by address.
    let docker = raw_docker().await;
    let b_ip = docker
        .inspect_container(
            &b.replicas[0].id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap()
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(&engine.stack_network(&b_guard.stack)).cloned())
        .and_then(|e| e.ip_address)
        .unwrap();
    for target in [
        b.replicas[0].backend(8080),
        format!("{}:{}", b.front_door.host, b.front_door.port),
        format!("{b_ip}:8080"),
    ] {
        let (status, body) = fetch(target.clone()).await.unwrap();
        assert_ne!(status, 200, "stack A reached {target}: {body}");
        assert!(!body.contains("message=b"), "{target}: {body}");
    }

    // Nothing on the default bridge or the host network; each container on
    // its stack's network only; the front door hardened.
    let bridge = docker
        .inspect_network(
            "bridge",
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .unwrap()
        .containers
        .unwrap_or_default();
    for (guard, d) in [(&a_guard, &a), (&b_guard, &b)] {
        let ids = d
            .replicas
            .iter()
            .map(|r| r.id.clone())
            .chain([d.front_door.container_id.clone()]);
        for id in ids {
            assert!(!bridge.contains_key(&id), "{id} is on the default bridge");
            let info = docker
                .inspect_container(
                    &id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await
                .unwrap();
            let networks: Vec<String> = info
                .network_settings
                .and_then(|n| n.networks)
                .unwrap_or_default()
                .into_keys()
                .collect();
            assert_eq!(networks, vec![engine.stack_network(&guard.stack)]);
            let host = info.host_config.unwrap();
            assert_eq!(host.pids_limit, Some(apprun_docker::PIDS_LIMIT));
            assert!(
                host.cap_drop
                    .unwrap_or_default()
                    .contains(&"NET_RAW".to_string())
            );
            for binding in host
                .port_bindings
                .unwrap_or_default()
                .values()
                .flatten()
                .flatten()
            {
                assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
            }
        }
    }
}

/// Two instances (state locations) of one stack name: each sees, stops and
/// destroys only its own containers and networks.
#[tokio::test]
async fn two_instances_of_one_stack_name_never_see_or_remove_each_other() {
    let Some(engine) =
        engine_or_skip("two_instances_of_one_stack_name_never_see_or_remove_each_other").await
    else {
        return;
    };
    let mut guard = StackGuard::new("instances");
    let one = engine
        .clone()
        .with_instance(apprun_docker::instance_of("/x/one"));
    let two = engine
        .clone()
        .with_instance(apprun_docker::instance_of("/x/two"));
    guard.instance(one.instance());
    guard.instance(two.instance());
    let d1 = one
        .deploy_blue_green(&echo_spec(&guard.stack, "services.web", "one"), &mut |_| {})
        .await
        .unwrap();
    let d2 = two
        .deploy_blue_green(&echo_spec(&guard.stack, "services.web", "two"), &mut |_| {})
        .await
        .unwrap();
    let mine: Vec<String> = one
        .list_owned(&guard.stack, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(!mine.contains(&d2.replicas[0].id));
    assert!(matches!(
        one.stop_and_remove(&guard.stack, &d2.replicas[0].id).await,
        Err(DockerError::NotOwned { .. })
    ));
    assert_eq!(one.destroy_stack(&guard.stack).await.unwrap(), 3);
    assert!(get(d1.front_door.port, "/").await.is_err());
    let (status, body) = get(d2.front_door.port, "/").await.unwrap();
    assert_eq!(
        (status, body.contains("message=two")),
        (200, true),
        "{body}"
    );
}

/// Services of a new stack deploying at the same time share one stack
/// network (an engine before API 1.44 would create two of the same name).
#[tokio::test]
async fn services_deployed_at_once_share_one_stack_network() {
    let Some(engine) = engine_or_skip("services_deployed_at_once_share_one_stack_network").await
    else {
        return;
    };
    let guard = StackGuard::new("together");
    let specs: Vec<_> = ["services.a", "services.b", "services.c"]
        .into_iter()
        .map(|address| echo_spec(&guard.stack, address, address))
        .collect();
    let deploys = specs.iter().map(|spec| {
        let engine = engine.clone();
        async move { engine.deploy_blue_green(spec, &mut |_| {}).await }
    });
    for d in futures_util::future::join_all(deploys).await {
        d.unwrap();
    }
    let networks = engine.list_owned_networks(&guard.stack).await.unwrap();
    assert_eq!(networks.len(), 1, "{networks:?}");
    assert_eq!(networks[0].role, labels::ROLE_STACK_NETWORK);
    assert_eq!(networks[0].name, engine.stack_network(&guard.stack));
}
