//! Observability configurations and tags.

use aws_sdk_apprunner::types::{
    ServiceObservabilityConfiguration, Tag, TraceConfiguration, TracingVendor,
};

use crate::common::{OP, client, create_service, emulator, image_source};

#[tokio::test]
async fn observability_configuration_lifecycle() {
    let emu = emulator().await;
    let c = client(&emu);
    let created = c
        .create_observability_configuration()
        .observability_configuration_name("tracing")
        .trace_configuration(
            TraceConfiguration::builder()
                .vendor(TracingVendor::Awsxray)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let oc = created.observability_configuration().unwrap().clone();
    let arn = oc.observability_configuration_arn().unwrap().to_owned();
    assert!(arn.starts_with(
        "arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/tracing/1/"
    ));
    assert!(oc.latest());
    let second = c
        .create_observability_configuration()
        .observability_configuration_name("tracing")
        .send()
        .await
        .unwrap();
    assert_eq!(
        second
            .observability_configuration()
            .unwrap()
            .observability_configuration_revision(),
        2
    );

    let e = c
        .create_observability_configuration()
        .observability_configuration_name("DefaultConfiguration")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    let e = c
        .create_observability_configuration()
        .observability_configuration_name("no")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());

    let d = c
        .describe_observability_configuration()
        .observability_configuration_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.observability_configuration()
            .unwrap()
            .trace_configuration()
            .unwrap()
            .vendor(),
        &TracingVendor::Awsxray
    );
    let listed = c.list_observability_configurations().send().await.unwrap();
    assert_eq!(listed.observability_configuration_summary_list().len(), 1);
    let listed = c
        .list_observability_configurations()
        .latest_only(false)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.observability_configuration_summary_list().len(), 2);

    // A service with observability on; enabling it without an ARN is refused.
    let on = ServiceObservabilityConfiguration::builder()
        .observability_enabled(true)
        .observability_configuration_arn(&arn)
        .build();
    let svc = c
        .create_service()
        .service_name("observed")
        .source_configuration(image_source(&[]))
        .observability_configuration(on)
        .send()
        .await
        .unwrap();
    let obs = svc
        .service()
        .unwrap()
        .observability_configuration()
        .unwrap();
    assert!(obs.observability_enabled());
    let no_arn = ServiceObservabilityConfiguration::builder()
        .observability_enabled(true)
        .build();
    let e = c
        .create_service()
        .service_name("observed-2")
        .source_configuration(image_source(&[]))
        .observability_configuration(no_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());

    // In use by a service: refused until the service is gone.
    let e = c
        .delete_observability_configuration()
        .observability_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
    emu.admin().advance(OP);
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    c.delete_service()
        .service_arn(&svc_arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);

    let deleted = c
        .delete_observability_configuration()
        .observability_configuration_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted
            .observability_configuration()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "INACTIVE"
    );
    let e = c
        .delete_observability_configuration()
        .observability_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
}

#[tokio::test]
async fn tags_on_every_resource_kind() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = c
        .create_service()
        .service_name("tagged")
        .source_configuration(image_source(&[]))
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    let asc = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("tagged")
        .send()
        .await
        .unwrap();
    let asc_arn = asc
        .auto_scaling_configuration()
        .unwrap()
        .auto_scaling_configuration_arn()
        .unwrap()
        .to_owned();
    let vpc = c
        .create_vpc_connector()
        .vpc_connector_name("tagged")
        .subnets("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    let vpc_arn = vpc
        .vpc_connector()
        .unwrap()
        .vpc_connector_arn()
        .unwrap()
        .to_owned();

    let listed = c
        .list_tags_for_resource()
        .resource_arn(&svc_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags().len(), 1);
    for arn in [&svc_arn, &asc_arn, &vpc_arn] {
        c.tag_resource()
            .resource_arn(arn)
            .tags(Tag::builder().key("env").value("test").build())
            .send()
            .await
            .unwrap();
        let tags = c
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == Some("env") && t.value() == Some("test")),
            "{arn}"
        );
        c.untag_resource()
            .resource_arn(arn)
            .tag_keys("env")
            .send()
            .await
            .unwrap();
        let tags = c
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        assert!(!tags.tags().iter().any(|t| t.key() == Some("env")));
    }

    // aws: keys are reserved; unknown resources are not found; deleted ones are in the wrong state.
    let e = c
        .tag_resource()
        .resource_arn(&svc_arn)
        .tags(Tag::builder().key("aws:owner").value("x").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    let missing =
        "arn:aws:apprunner:us-east-1:123456789012:service/ghost/0123456789abcdef0123456789abcdef";
    let e = c
        .list_tags_for_resource()
        .resource_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    emu.admin().advance(OP);
    c.delete_service()
        .service_arn(&svc_arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    let e = c
        .tag_resource()
        .resource_arn(&svc_arn)
        .tags(Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    let _ = create_service;
}
