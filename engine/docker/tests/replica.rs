//! A replica of the built-in echo image runs with the service's env, limits,
//! labels and security options, and answers through its 127.0.0.1 port.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use apprun_docker::{Secret, labels, new_generation};
use common::*;

#[tokio::test]
async fn echo_replica_answers_through_its_published_loopback_port() {
    let Some(engine) =
        engine_or_skip("echo_replica_answers_through_its_published_loopback_port").await
    else {
        return;
    };
    let guard = StackGuard::new("replica");
    engine.ensure_builtin_images().await.unwrap();
    let mut spec = echo_spec(&guard.stack, "services.web", "hello");
    spec.secrets
        .insert("DB_PASSWORD".into(), Secret::new("s3cr3t-value"));
    let image = apprun_docker::ECHO.tag();
    let r = engine
        .run_replica(&spec, &image, &new_generation(), 0)
        .await
        .unwrap();
    engine
        .wait_healthy(
            &spec.address,
            std::slice::from_ref(&r),
            &spec.health,
            Instant::now() + Duration::from_secs(15),
        )
        .await
        .unwrap();

    let (status, body) = get(r.host_port, "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("message=hello"), "{body}");
    let (_, body) = get(r.host_port, "/env?name=DB_PASSWORD").await.unwrap();
    assert_eq!(body.trim(), "DB_PASSWORD=set");

    // What the engine recorded: labels, limits, security, loopback publish.
    let owned = engine
        .list_owned(&guard.stack, Some("services.web"))
        .await
        .unwrap();
    assert_eq!(owned.len(), 1);
    let c = &owned[0];
    assert_eq!(c.role, labels::ROLE_REPLICA);
    assert_eq!(c.labels.get(labels::STACK), Some(&guard.stack));
    assert_eq!(c.labels.get(labels::ENV_DIGEST), Some(&spec.env_digest()));
    for v in c.labels.values() {
        assert!(!v.contains("s3cr3t-value"), "a label holds the secret");
    }
    let docker = raw_docker().await;
    let info = docker
        .inspect_container(
            &r.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let hc = info.host_config.unwrap();
    assert_eq!(hc.nano_cpus, Some(250_000_000));
    assert_eq!(hc.memory, Some(64 * 1024 * 1024));
    assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!(hc.pids_limit, Some(apprun_docker::PIDS_LIMIT));
    let mut dropped = hc.cap_drop.clone().unwrap_or_default();
    dropped.sort();
    let mut expected: Vec<String> = apprun_docker::DROPPED_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .collect();
    expected.sort();
    assert_eq!(dropped, expected);
    // On the stack network, never on Docker's default bridge.
    assert_eq!(
        hc.network_mode.as_deref(),
        Some(engine.stack_network(&guard.stack).as_str())
    );
    let bindings = hc.port_bindings.unwrap();
    for b in bindings.values().flatten().flatten() {
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
    }
}

/// A replica runs under Docker's init, so `docker stop` ends the echo
/// server (which installs no signal handler) with SIGTERM: exit 143. As
/// PID 1 itself, the kernel would ignore SIGTERM and Docker would SIGKILL
/// it after the grace period: exit 137.
#[tokio::test]
async fn a_stopped_replica_ends_by_sigterm_not_by_kill_after_the_grace() {
    let Some(engine) =
        engine_or_skip("a_stopped_replica_ends_by_sigterm_not_by_kill_after_the_grace").await
    else {
        return;
    };
    let guard = StackGuard::new("sigterm");
    engine.ensure_builtin_images().await.unwrap();
    let spec = echo_spec(&guard.stack, "services.web", "bye");
    let r = engine
        .run_replica(&spec, &apprun_docker::ECHO.tag(), &new_generation(), 0)
        .await
        .unwrap();
    let docker = raw_docker().await;
    docker
        .stop_container(
            &r.id,
            Some(
                bollard::query_parameters::StopContainerOptionsBuilder::default()
                    .t(10)
                    .build(),
            ),
        )
        .await
        .unwrap();
    let state = docker
        .inspect_container(
            &r.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(
        state.exit_code,
        Some(143),
        "expected an exit by SIGTERM (143), not SIGKILL after the grace (137)"
    );
}
