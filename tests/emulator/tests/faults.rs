//! Fault injection as the SDK client sees it: each fault kind presents the
//! way the real service (or the network) would, and the SDK's standard
//! retry mode reacts to it as it would in production.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use apprunner_emulator::{Emulator, Fault, FaultRule};
use aws_sdk_apprunner::config::retry::RetryConfig;
use aws_sdk_apprunner::error::{ProvideErrorMetadata, SdkError};

use common::{client, client_with, create_service, emulator};

fn standard_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

#[tokio::test]
async fn throttling_is_retried_by_the_standard_retry_mode() {
    let emu = emulator().await;
    let throttle = Fault::Throttle {
        status: None,
        retry_after_ms: None,
    };
    emu.admin()
        .add_fault(FaultRule::new(Some("ListServices"), throttle.clone()).times(2))
        .unwrap();
    let c = client_with(&emu, standard_retries(), None);
    c.list_services().send().await.unwrap();
    let log = emu.admin().requests();
    let faults: Vec<Option<&str>> = log.iter().map(|e| e.fault.as_deref()).collect();
    assert_eq!(faults, vec![Some("throttle"), Some("throttle"), None]);
    assert_eq!(log[0].error.as_deref(), Some("ThrottlingException"));

    // Beyond max_attempts the caller gets the throttling error itself.
    emu.admin()
        .add_fault(FaultRule::new(Some("ListServices"), throttle))
        .unwrap();
    let err = c.list_services().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(emu.admin().count("ListServices"), 6);
}

#[tokio::test]
async fn throttling_with_429_and_retry_after_is_retried() {
    let emu = emulator().await;
    let rule = FaultRule::new(
        Some("ListServices"),
        Fault::Throttle {
            status: Some(429),
            retry_after_ms: Some(10),
        },
    )
    .times(1);
    emu.admin().add_fault(rule).unwrap();
    let c = client_with(&emu, standard_retries(), None);
    c.list_services().send().await.unwrap();
    assert_eq!(emu.admin().count("ListServices"), 2);
}

#[tokio::test]
async fn requests_above_the_rps_limit_are_throttled() {
    let emu = emulator().await;
    emu.admin()
        .add_fault(FaultRule::new(
            Some("ListServices"),
            Fault::ThrottleAboveRps { rps: 2.0 },
        ))
        .unwrap();
    let c = client(&emu);
    let mut throttled = 0;
    for _ in 0..5 {
        if let Err(e) = c.list_services().send().await {
            assert_eq!(e.code(), Some("ThrottlingException"));
            throttled += 1;
        }
    }
    assert_eq!(throttled, 3);
    // Other operations are not limited by that rule.
    c.list_vpc_connectors().send().await.unwrap();
}

#[tokio::test]
async fn throttling_at_a_rate_hits_about_that_share_of_requests() {
    let emu = Emulator::builder().seed(11).start().await.unwrap();
    let rule = FaultRule::new(
        None,
        Fault::Throttle {
            status: None,
            retry_after_ms: None,
        },
    )
    .probability(0.5);
    emu.admin().add_fault(rule).unwrap();
    let c = client(&emu);
    let mut throttled = 0;
    for _ in 0..60 {
        if c.list_services().send().await.is_err() {
            throttled += 1;
        }
    }
    assert!((15..=45).contains(&throttled), "{throttled} of 60");
}

#[tokio::test]
async fn server_errors_are_typed_and_retried() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.admin()
        .add_fault(
            FaultRule::new(Some("ListServices"), Fault::ServerError { status: 500 }).times(1),
        )
        .unwrap();
    let err = c.list_services().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
    assert!(
        err.into_service_error()
            .is_internal_service_error_exception()
    );

    emu.admin()
        .add_fault(
            FaultRule::new(Some("ListServices"), Fault::ServerError { status: 503 }).times(2),
        )
        .unwrap();
    let retrying = client_with(&emu, standard_retries(), None);
    retrying.list_services().send().await.unwrap();
    let statuses: Vec<Option<u16>> = emu.admin().requests().iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn a_dropped_connection_is_a_dispatch_failure_and_is_retried() {
    let emu = emulator().await;
    let c = client(&emu);
    let arn = create_service(&c, "dropped").await;
    emu.admin()
        .add_fault(FaultRule::new(Some("DescribeService"), Fault::DropConnection).times(1))
        .unwrap();
    let err = c
        .describe_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");

    emu.admin()
        .add_fault(FaultRule::new(Some("DescribeService"), Fault::DropConnection).times(1))
        .unwrap();
    let retrying = client_with(&emu, standard_retries(), None);
    retrying
        .describe_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap();
    let describes: Vec<_> = emu
        .admin()
        .requests()
        .into_iter()
        .filter(|e| e.operation == "DescribeService")
        .collect();
    assert_eq!(describes.len(), 3);
    assert_eq!(describes[0].status, None);
    assert!(!describes[0].committed);
}

#[tokio::test]
async fn commit_then_drop_leaves_the_created_service_behind() {
    let emu = emulator().await;
    emu.admin()
        .add_fault(FaultRule::new(Some("CreateService"), Fault::CommitThenDrop).times(1))
        .unwrap();
    let c = client(&emu);
    let err = c
        .create_service()
        .service_name("ambiguous")
        .source_configuration(common::image_source(&[]))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{err:?}"
    );
    // The client saw a failure, yet the service exists: an orphan unless reconciled by name.
    let listed = c.list_services().send().await.unwrap();
    let names: Vec<&str> = listed
        .service_summary_list()
        .iter()
        .filter_map(|s| s.service_name())
        .collect();
    assert_eq!(names, ["ambiguous"]);
    let entry = &emu.admin().requests()[0];
    assert!(entry.committed && entry.status.is_none());
    assert_eq!(entry.fault.as_deref(), Some("commit_then_drop"));

    // A blind retry of the create collides with the service it already made.
    let again = c
        .create_service()
        .service_name("ambiguous")
        .source_configuration(common::image_source(&[]))
        .send()
        .await
        .unwrap_err();
    assert!(again.into_service_error().is_invalid_request_exception());
}

#[tokio::test]
async fn latency_delays_answers_and_trips_attempt_timeouts() {
    let emu = emulator().await;
    emu.admin()
        .add_fault(FaultRule::new(
            Some("ListServices"),
            Fault::Latency { latency_ms: 150 },
        ))
        .unwrap();
    let c = client(&emu);
    let started = Instant::now();
    c.list_services().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    let impatient = client_with(
        &emu,
        RetryConfig::disabled(),
        Some(Duration::from_millis(30)),
    );
    let err = impatient.list_services().send().await.unwrap_err();
    assert!(matches!(err, SdkError::TimeoutError(_)), "{err:?}");
    // Operations without the rule are not delayed.
    let started = Instant::now();
    c.list_vpc_connectors().send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn faults_can_be_set_from_the_builder_and_removed() {
    let emu = Emulator::builder()
        .fault(FaultRule::new(
            Some("ListServices"),
            Fault::ServerError { status: 502 },
        ))
        .start()
        .await
        .unwrap();
    let c = client(&emu);
    assert!(c.list_services().send().await.is_err());
    let id = emu.admin().faults()[0].id;
    assert!(emu.admin().remove_fault(id));
    c.list_services().send().await.unwrap();
}

#[tokio::test]
async fn a_client_from_aws_config_reaches_the_emulator() {
    let emu = emulator().await;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apprunner::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(emu.endpoint_url())
        .retry_config(standard_retries())
        .load()
        .await;
    let c = aws_sdk_apprunner::Client::new(&shared);
    emu.admin()
        .add_fault(
            FaultRule::new(Some("ListServices"), Fault::ServerError { status: 500 }).times(1),
        )
        .unwrap();
    c.list_services().send().await.unwrap();
    assert_eq!(emu.admin().count("ListServices"), 2);
}

#[tokio::test]
async fn role_not_assumable_refuses_the_create_without_creating() {
    let emu = emulator().await;
    emu.admin()
        .add_fault(FaultRule::new(Some("CreateService"), Fault::RoleNotAssumable).times(1))
        .unwrap();
    let c = client(&emu);
    let err = c
        .create_service()
        .service_name("web-app")
        .source_configuration(common::image_source(&[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("Error in assuming instance role"),
        "{err:?}"
    );
    let listed = c.list_services().send().await.unwrap();
    assert!(
        listed.service_summary_list().is_empty(),
        "nothing was created"
    );
    assert_eq!(
        emu.admin().requests()[0].fault.as_deref(),
        Some("role_not_assumable")
    );
    // The rule was for one request: the next create goes through.
    create_service(&c, "web-app").await;
}
