//! Configurations in use: an observability configuration revision a
//! service uses cannot be deleted; the default auto scaling configuration
//! moves with `UpdateDefaultAutoScalingConfiguration` and cannot be deleted.

use aws_sdk_apprunner::types::ServiceObservabilityConfiguration;

use crate::common::{OP, client, emulator, image_source};

#[tokio::test]
async fn an_observability_configuration_in_use_cannot_be_deleted() {
    let emu = emulator().await;
    let c = client(&emu);
    let oc = c
        .create_observability_configuration()
        .observability_configuration_name("tracing")
        .send()
        .await
        .unwrap();
    let arn = oc
        .observability_configuration()
        .unwrap()
        .observability_configuration_arn()
        .unwrap()
        .to_owned();
    let svc = c
        .create_service()
        .service_name("traced")
        .source_configuration(image_source(&[]))
        .observability_configuration(
            ServiceObservabilityConfiguration::builder()
                .observability_enabled(true)
                .observability_configuration_arn(&arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    // By full ARN and by `…/name` (the latest revision).
    let by_name = arn.rsplitn(3, '/').nth(2).unwrap().to_owned();
    for target in [&arn, &by_name] {
        let e = c
            .delete_observability_configuration()
            .observability_configuration_arn(target)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{target}: {e:?}");
    }
    emu.admin().advance(OP);
    // Turning observability off frees it once the update cannot roll back.
    c.update_service()
        .service_arn(&svc_arn)
        .observability_configuration(
            ServiceObservabilityConfiguration::builder()
                .observability_enabled(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let e = c
        .delete_observability_configuration()
        .observability_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "rollback target: {e:?}");
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
}

#[tokio::test]
async fn the_default_auto_scaling_configuration_moves_and_is_kept() {
    let emu = emulator().await;
    let c = client(&emu);
    let builtin = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001";
    let made = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("house")
        .max_size(3)
        .send()
        .await
        .unwrap();
    let house = made
        .auto_scaling_configuration()
        .unwrap()
        .auto_scaling_configuration_arn()
        .unwrap()
        .to_owned();
    assert_eq!(
        made.auto_scaling_configuration().unwrap().is_default(),
        Some(false)
    );
    c.update_default_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&house)
        .send()
        .await
        .unwrap();
    // The previous default is unset automatically.
    let old = c
        .describe_auto_scaling_configuration()
        .auto_scaling_configuration_arn(builtin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.auto_scaling_configuration().unwrap().is_default(),
        Some(false)
    );
    let defaults: Vec<_> = c
        .list_auto_scaling_configurations()
        .send()
        .await
        .unwrap()
        .auto_scaling_configuration_summary_list()
        .iter()
        .filter(|s| s.is_default() == Some(true))
        .filter_map(|s| s.auto_scaling_configuration_arn().map(str::to_owned))
        .collect();
    assert_eq!(defaults, std::slice::from_ref(&house));
    // The default cannot be deleted; the old built-in one now can.
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&house)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
    c.delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(builtin)
        .send()
        .await
        .unwrap();
    // An unknown default is not found.
    let e = c
        .update_default_auto_scaling_configuration()
        .auto_scaling_configuration_arn(format!("{house}0"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}
