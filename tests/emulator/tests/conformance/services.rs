//! Services: the full lifecycle and every modelled error.

use std::time::Duration;

use apprunner_emulator::{Emulator, Fault, FaultRule};
use aws_sdk_apprunner::error::ProvideErrorMetadata;
use aws_sdk_apprunner::types::{
    HealthCheckConfiguration, InstanceConfiguration, OperationStatus, OperationType, ServiceStatus,
};

use crate::common::{OP, client, create_service, emulator, image_source, last_operation, status};

#[tokio::test]
async fn full_lifecycle_create_update_rollback_pause_resume_delete() {
    let emu = emulator().await;
    let c = client(&emu);
    let created = c
        .create_service()
        .service_name("lifecycle")
        .source_configuration(image_source(&[("GREETING", "hi")]))
        .instance_configuration(
            InstanceConfiguration::builder()
                .cpu("1 vCPU")
                .memory("2 GB")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let service = created.service().unwrap();
    let arn = service.service_arn().to_owned();
    assert_eq!(service.status(), &ServiceStatus::OperationInProgress);
    assert_eq!(created.operation_id().len(), 36);
    assert!(arn.starts_with("arn:aws:apprunner:us-east-1:123456789012:service/lifecycle/"));
    assert_eq!(service.service_id().len(), 32);
    assert!(
        service
            .service_url()
            .unwrap()
            .ends_with(".us-east-1.awsapprunner.com")
    );
    // CPU and memory come back normalised to units, as the real API returns them.
    let instance = service.instance_configuration().unwrap();
    assert_eq!(
        (instance.cpu(), instance.memory()),
        (Some("1024"), Some("2048"))
    );
    assert!(
        service
            .auto_scaling_configuration_summary()
            .unwrap()
            .auto_scaling_configuration_arn()
            .unwrap()
            .ends_with(
                "autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001"
            )
    );

    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "RUNNING");
    assert_eq!(
        last_operation(&c, &arn).await,
        ("CREATE_SERVICE".into(), "SUCCEEDED".into())
    );

    // A successful update.
    let updated = c
        .update_service()
        .service_arn(&arn)
        .instance_configuration(
            InstanceConfiguration::builder()
                .cpu("2 vCPU")
                .memory("4 GB")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.service().unwrap().status(),
        &ServiceStatus::OperationInProgress
    );
    assert_eq!(
        last_operation(&c, &arn).await,
        ("UPDATE_SERVICE".into(), "IN_PROGRESS".into())
    );
    emu.admin().advance(OP);
    let described = c.describe_service().service_arn(&arn).send().await.unwrap();
    let s = described.service().unwrap();
    assert_eq!(s.status(), &ServiceStatus::Running);
    assert_eq!(s.instance_configuration().unwrap().cpu(), Some("2048"));

    // A failed deployment rolls back: ROLLBACK_SUCCEEDED, service RUNNING on the old configuration.
    c.update_service()
        .service_arn(&arn)
        .source_configuration(image_source(&[("EMULATOR_FAIL_DEPLOYMENT", "true")]))
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "OPERATION_IN_PROGRESS");
    assert_eq!(last_operation(&c, &arn).await.1, "ROLLBACK_IN_PROGRESS");
    emu.admin().advance(OP);
    assert_eq!(
        last_operation(&c, &arn).await,
        ("UPDATE_SERVICE".into(), "ROLLBACK_SUCCEEDED".into())
    );
    let described = c.describe_service().service_arn(&arn).send().await.unwrap();
    let s = described.service().unwrap();
    assert_eq!(s.status(), &ServiceStatus::Running);
    let env = s
        .source_configuration()
        .unwrap()
        .image_repository()
        .unwrap()
        .image_configuration()
        .unwrap()
        .runtime_environment_variables()
        .unwrap();
    assert_eq!(env.get("GREETING").map(String::as_str), Some("hi"));
    assert!(!env.contains_key("EMULATOR_FAIL_DEPLOYMENT"));

    // Pause and resume.
    let paused = c.pause_service().service_arn(&arn).send().await.unwrap();
    assert!(paused.operation_id().is_some());
    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "PAUSED");
    c.resume_service().service_arn(&arn).send().await.unwrap();
    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "RUNNING");

    // A deployment of the latest image.
    let deployed = c.start_deployment().service_arn(&arn).send().await.unwrap();
    assert_eq!(deployed.operation_id().len(), 36);
    emu.admin().advance(OP);
    assert_eq!(
        last_operation(&c, &arn).await,
        ("START_DEPLOYMENT".into(), "SUCCEEDED".into())
    );

    // Delete: DescribeService still sees it, ListServices does not.
    c.delete_service().service_arn(&arn).send().await.unwrap();
    emu.admin().advance(OP);
    let described = c.describe_service().service_arn(&arn).send().await.unwrap();
    let s = described.service().unwrap();
    assert_eq!(s.status(), &ServiceStatus::Deleted);
    assert!(s.deleted_at().is_some());
    let listed = c.list_services().send().await.unwrap();
    assert!(listed.service_summary_list().is_empty());

    // ListOperations: newest first, every operation with its times.
    let ops = c.list_operations().service_arn(&arn).send().await.unwrap();
    let kinds: Vec<OperationType> = ops
        .operation_summary_list()
        .iter()
        .map(|o| o.r#type().unwrap().clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            OperationType::DeleteService,
            OperationType::StartDeployment,
            OperationType::ResumeService,
            OperationType::PauseService,
            OperationType::UpdateService,
            OperationType::UpdateService,
            OperationType::CreateService,
        ]
    );
    for op in ops.operation_summary_list() {
        assert!(op.started_at().unwrap().secs() > 1_600_000_000);
        assert!(op.ended_at().is_some());
        assert_eq!(op.target_arn(), Some(arn.as_str()));
    }
    let statuses: Vec<&OperationStatus> = ops
        .operation_summary_list()
        .iter()
        .map(|o| o.status().unwrap())
        .collect();
    assert_eq!(statuses[4], &OperationStatus::RollbackSucceeded);
}

#[tokio::test]
async fn create_fails_into_create_failed_then_update_rebuilds_it() {
    let emu = emulator().await;
    let c = client(&emu);
    let out = c
        .create_service()
        .service_name("doomed")
        .source_configuration(image_source(&[("EMULATOR_FAIL_DEPLOYMENT", "true")]))
        .send()
        .await
        .unwrap();
    let arn = out.service().unwrap().service_arn().to_owned();
    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "CREATE_FAILED");
    assert_eq!(
        last_operation(&c, &arn).await,
        ("CREATE_SERVICE".into(), "FAILED".into())
    );
    // CREATE_FAILED services can be rebuilt with UpdateService (API doc).
    c.update_service()
        .service_arn(&arn)
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(status(&c, &arn).await, "RUNNING");
}

#[tokio::test]
async fn fault_rule_scripts_a_failed_create_and_a_rollback() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.admin()
        .add_fault(FaultRule::new(Some("CreateService"), Fault::FailOperation).times(1))
        .unwrap();
    let failed = create_service(&c, "first").await;
    let fine = create_service(&c, "second").await;
    emu.admin().advance(OP);
    assert_eq!(status(&c, &failed).await, "CREATE_FAILED");
    assert_eq!(status(&c, &fine).await, "RUNNING");

    emu.admin()
        .add_fault(FaultRule::new(Some("UpdateService"), Fault::RollbackFailed).times(1))
        .unwrap();
    c.update_service()
        .service_arn(&fine)
        .health_check_configuration(HealthCheckConfiguration::builder().interval(10).build())
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP * 2);
    assert_eq!(last_operation(&c, &fine).await.1, "ROLLBACK_FAILED");
}

#[tokio::test]
async fn every_mutation_during_an_operation_is_invalid_state() {
    let emu = emulator().await;
    let c = client(&emu);
    let arn = create_service(&c, "busy").await;
    let update = c
        .update_service()
        .service_arn(&arn)
        .instance_configuration(
            InstanceConfiguration::builder()
                .cpu("2 vCPU")
                .memory("4 GB")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(update.into_service_error().is_invalid_state_exception());
    let pause = c
        .pause_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(pause.into_service_error().is_invalid_state_exception());
    let resume = c
        .resume_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(resume.into_service_error().is_invalid_state_exception());
    let delete = c
        .delete_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(delete.into_service_error().is_invalid_state_exception());
    // StartDeployment's model lists no InvalidStateException: the SDK keeps the code.
    let deploy = c
        .start_deployment()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(deploy.code(), Some("InvalidStateException"));
    // Just before the end it is still in progress; at the end it is not.
    emu.admin().advance(OP - Duration::from_millis(1));
    assert_eq!(status(&c, &arn).await, "OPERATION_IN_PROGRESS");
    emu.admin().advance(Duration::from_millis(1));
    assert_eq!(status(&c, &arn).await, "RUNNING");
    // Resume of a running service is refused too.
    let resume = c
        .resume_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(resume.into_service_error().is_invalid_state_exception());
}

#[tokio::test]
async fn bad_service_names_are_invalid_requests() {
    let emu = emulator().await;
    let c = client(&emu);
    for name in [
        "-starts-with-dash",
        "abc",
        "has space",
        "x".repeat(41).as_str(),
        "ünicode",
    ] {
        let err = c
            .create_service()
            .service_name(name)
            .source_configuration(image_source(&[]))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{name}: {err:?}");
        assert!(err.message().unwrap().contains("serviceName"), "{name}");
    }
}

#[tokio::test]
async fn bad_cpu_memory_values_and_pairs_are_invalid_requests() {
    let emu = emulator().await;
    let c = client(&emu);
    for (cpu, memory) in [
        ("0.25 vCPU", "4 GB"),
        ("4 vCPU", "2 GB"),
        ("3 vCPU", "6 GB"),
        ("1 vCPU", "2GB"),
        ("1024", "1024"),
    ] {
        let err = c
            .create_service()
            .service_name("sized")
            .source_configuration(image_source(&[]))
            .instance_configuration(
                InstanceConfiguration::builder()
                    .cpu(cpu)
                    .memory(memory)
                    .build(),
            )
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            err.is_invalid_request_exception(),
            "{cpu}/{memory}: {err:?}"
        );
    }
    // Every documented pair is accepted and normalised.
    for (i, (cpu, memory, units)) in [
        ("0.25 vCPU", "0.5 GB", ("256", "512")),
        ("4 vCPU", "12 GB", ("4096", "12288")),
        ("512", "1024", ("512", "1024")),
    ]
    .into_iter()
    .enumerate()
    {
        let out = c
            .create_service()
            .service_name(format!("sized-{i}"))
            .source_configuration(image_source(&[]))
            .instance_configuration(
                InstanceConfiguration::builder()
                    .cpu(cpu)
                    .memory(memory)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let ic = out
            .service()
            .unwrap()
            .instance_configuration()
            .unwrap()
            .clone();
        assert_eq!((ic.cpu().unwrap(), ic.memory().unwrap()), units);
    }
}

#[tokio::test]
async fn out_of_range_health_checks_are_invalid_requests() {
    let emu = emulator().await;
    let c = client(&emu);
    let cases = [
        HealthCheckConfiguration::builder().interval(21).build(),
        HealthCheckConfiguration::builder().timeout(0).build(),
        HealthCheckConfiguration::builder()
            .healthy_threshold(25)
            .build(),
        HealthCheckConfiguration::builder()
            .unhealthy_threshold(-1)
            .build(),
        HealthCheckConfiguration::builder().path("").build(),
    ];
    for hc in cases {
        let err = c
            .create_service()
            .service_name("checked")
            .source_configuration(image_source(&[]))
            .health_check_configuration(hc.clone())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_request_exception(), "{hc:?}: {err:?}");
    }
    let ok = c
        .create_service()
        .service_name("checked")
        .source_configuration(image_source(&[]))
        .health_check_configuration(
            HealthCheckConfiguration::builder()
                .interval(20)
                .timeout(1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let hc = ok.service().unwrap().health_check_configuration().unwrap();
    // Unset members get the service's defaults.
    assert_eq!(
        (
            hc.interval(),
            hc.timeout(),
            hc.healthy_threshold(),
            hc.unhealthy_threshold()
        ),
        (Some(20), Some(1), Some(1), Some(5))
    );
    assert_eq!(hc.path(), Some("/"));
}

#[tokio::test]
async fn unknown_arns_are_not_found() {
    let emu = emulator().await;
    let c = client(&emu);
    let missing =
        "arn:aws:apprunner:us-east-1:123456789012:service/ghost/0123456789abcdef0123456789abcdef";
    let e = c
        .describe_service()
        .service_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .delete_service()
        .service_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = c
        .pause_service()
        .service_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = c
        .list_operations()
        .service_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = c
        .update_service()
        .service_arn(missing)
        .instance_configuration(InstanceConfiguration::builder().cpu("1 vCPU").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    // Another account's ARN is not found either; a malformed one is an invalid request.
    let other =
        "arn:aws:apprunner:us-east-1:999999999999:service/ghost/0123456789abcdef0123456789abcdef";
    let e = c
        .describe_service()
        .service_arn(other)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = c
        .describe_service()
        .service_arn("not-an-arn")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
}

#[tokio::test]
async fn an_empty_update_is_an_invalid_request() {
    let emu = emulator().await;
    let c = client(&emu);
    let arn = create_service(&c, "steady").await;
    emu.admin().advance(OP);
    let e = c
        .update_service()
        .service_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    assert_eq!(
        e.message(),
        Some("No configurations provided in the UpdateService request")
    );
}

#[tokio::test]
async fn duplicate_names_quota_and_source_switches_are_refused() {
    let emu = Emulator::builder().max_services(2).start().await.unwrap();
    let c = client(&emu);
    let arn = create_service(&c, "svc-one").await;
    let e = c
        .create_service()
        .service_name("svc-one")
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    create_service(&c, "svc-two").await;
    let e = c
        .create_service()
        .service_name("svc-three")
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_service_quota_exceeded_exception(), "{e:?}");

    emu.admin().advance(OP);
    // Image -> code is not an update.
    let code = aws_sdk_apprunner::types::SourceConfiguration::builder()
        .code_repository(
            aws_sdk_apprunner::types::CodeRepository::builder()
                .repository_url("https://github.com/example/app")
                .source_code_version(
                    aws_sdk_apprunner::types::SourceCodeVersion::builder()
                        .r#type(aws_sdk_apprunner::types::SourceCodeVersionType::Branch)
                        .value("main")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .authentication_configuration(
            aws_sdk_apprunner::types::AuthenticationConfiguration::builder()
                .connection_arn("arn:aws:apprunner:us-east-1:123456789012:connection/gh/0123456789abcdef0123456789abcdef")
                .build(),
        )
        .build();
    let e = c
        .update_service()
        .service_arn(&arn)
        .source_configuration(code)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
}

#[tokio::test]
async fn private_ecr_needs_an_access_role_and_a_matching_identifier() {
    let emu = emulator().await;
    let c = client(&emu);
    let private = |role: Option<&str>, image: &str, kind| {
        let mut source = aws_sdk_apprunner::types::SourceConfiguration::builder().image_repository(
            aws_sdk_apprunner::types::ImageRepository::builder()
                .image_identifier(image)
                .image_repository_type(kind)
                .build()
                .unwrap(),
        );
        if let Some(role) = role {
            source = source.authentication_configuration(
                aws_sdk_apprunner::types::AuthenticationConfiguration::builder()
                    .access_role_arn(role)
                    .build(),
            );
        }
        source.build()
    };
    use aws_sdk_apprunner::types::ImageRepositoryType::{Ecr, EcrPublic};
    let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";
    let role = "arn:aws:iam::123456789012:role/service-role/AppRunnerECRAccessRole";
    for source in [
        private(None, ecr, Ecr),
        private(Some(role), "docker.io/library/nginx", Ecr),
        private(Some(role), ecr, EcrPublic),
        private(Some("arn:aws:iam::123:role/x"), ecr, Ecr),
    ] {
        let e = c
            .create_service()
            .service_name("private")
            .source_configuration(source)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{e:?}");
    }
    let ok = c
        .create_service()
        .service_name("private")
        .source_configuration(private(Some(role), ecr, Ecr))
        .send()
        .await
        .unwrap();
    // Auto deployments default to on for private ECR.
    assert_eq!(
        ok.service()
            .unwrap()
            .source_configuration()
            .unwrap()
            .auto_deployments_enabled(),
        Some(true)
    );
}

#[tokio::test]
async fn list_services_paginates() {
    let emu = emulator().await;
    let c = client(&emu);
    for i in 0..5 {
        create_service(&c, &format!("svc-{i}")).await;
    }
    let first = c.list_services().max_results(2).send().await.unwrap();
    assert_eq!(first.service_summary_list().len(), 2);
    let token = first.next_token().unwrap();
    let rest = c
        .list_services()
        .max_results(20)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.service_summary_list().len(), 3);
    assert!(rest.next_token().is_none());
    let e = c
        .list_services()
        .max_results(21)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    let pages = c
        .list_services()
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let total: usize = pages
        .into_iter()
        .map(|p| p.unwrap().service_summary_list().len())
        .sum();
    assert_eq!(total, 5);
}

/// The SDK omits `IsPubliclyAccessible: false` (the model default): an
/// `IngressConfiguration` without it is a private service; no
/// `IngressConfiguration` keeps what was there (public for a new service).
#[tokio::test]
async fn ingress_without_is_publicly_accessible_is_private() {
    use aws_sdk_apprunner::types::{IngressConfiguration, NetworkConfiguration};
    let emu = emulator().await;
    let c = client(&emu);
    let public = |s: &aws_sdk_apprunner::types::Service| {
        s.network_configuration()
            .unwrap()
            .ingress_configuration()
            .unwrap()
            .is_publicly_accessible()
    };
    let private = c
        .create_service()
        .service_name("private-one")
        .source_configuration(image_source(&[]))
        .network_configuration(
            NetworkConfiguration::builder()
                .ingress_configuration(
                    IngressConfiguration::builder()
                        .is_publicly_accessible(false)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(!public(private.service().unwrap()));
    let default = c
        .create_service()
        .service_name("public-one")
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap();
    assert!(public(default.service().unwrap()));
    // An update without IngressConfiguration keeps the private setting.
    emu.admin().advance(OP);
    let arn = private.service().unwrap().service_arn().to_owned();
    c.update_service()
        .service_arn(&arn)
        .network_configuration(NetworkConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    let described = c.describe_service().service_arn(&arn).send().await.unwrap();
    assert!(!public(described.service().unwrap()));
}
