//! Auto scaling configurations: revisions, describe by partial ARN, list,
//! delete one or all revisions, the default, quotas and in-use refusal.

use crate::common::{OP, client, emulator, image_source};

#[tokio::test]
async fn revisions_describe_list_and_default() {
    let emu = emulator().await;
    let c = client(&emu);
    let r1 = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("scale")
        .max_size(5)
        .send()
        .await
        .unwrap();
    let r1 = r1.auto_scaling_configuration().unwrap().clone();
    assert_eq!(r1.auto_scaling_configuration_revision(), Some(1));
    assert_eq!(
        (r1.min_size(), r1.max_size(), r1.max_concurrency()),
        (Some(1), Some(5), Some(100))
    );
    assert_eq!(r1.latest(), Some(true));
    let r2 = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("scale")
        .min_size(2)
        .send()
        .await
        .unwrap();
    let r2 = r2.auto_scaling_configuration().unwrap().clone();
    assert_eq!(r2.auto_scaling_configuration_revision(), Some(2));
    let r2_arn = r2.auto_scaling_configuration_arn().unwrap();
    assert!(
        r2_arn.starts_with(
            "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/scale/2/"
        )
    );

    // Full, name/revision and name ARNs resolve.
    let base = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/scale";
    for (arn, rev) in [
        (r1.auto_scaling_configuration_arn().unwrap().to_owned(), 1),
        (format!("{base}/1"), 1),
        (base.to_owned(), 2),
    ] {
        let d = c
            .describe_auto_scaling_configuration()
            .auto_scaling_configuration_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            d.auto_scaling_configuration()
                .unwrap()
                .auto_scaling_configuration_revision(),
            Some(rev),
            "{arn}"
        );
    }
    let d = c
        .describe_auto_scaling_configuration()
        .auto_scaling_configuration_arn(format!("{base}/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.auto_scaling_configuration().unwrap().latest(),
        Some(false)
    );

    // Latest only by default (the default configuration and scale/2).
    let listed = c.list_auto_scaling_configurations().send().await.unwrap();
    assert_eq!(listed.auto_scaling_configuration_summary_list().len(), 2);
    let all = c
        .list_auto_scaling_configurations()
        .latest_only(false)
        .auto_scaling_configuration_name("scale")
        .send()
        .await
        .unwrap();
    assert_eq!(all.auto_scaling_configuration_summary_list().len(), 2);

    // Make it the default: new services get it.
    let made = c
        .update_default_auto_scaling_configuration()
        .auto_scaling_configuration_arn(r2_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        made.auto_scaling_configuration().unwrap().is_default(),
        Some(true)
    );
    let svc = c
        .create_service()
        .service_name("scaled")
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap();
    let summary = svc
        .service()
        .unwrap()
        .auto_scaling_configuration_summary()
        .unwrap()
        .clone();
    assert_eq!(summary.auto_scaling_configuration_arn(), Some(r2_arn));
    assert_eq!(summary.has_associated_service(), Some(true));
    let users = c
        .list_services_for_auto_scaling_configuration()
        .auto_scaling_configuration_arn(r2_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(users.service_arn_list().len(), 1);

    let missing = format!("{base}-none");
    let e = c
        .describe_auto_scaling_configuration()
        .auto_scaling_configuration_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
}

#[tokio::test]
async fn validation_of_names_and_ranges() {
    let emu = emulator().await;
    let c = client(&emu);
    let bad = [
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("ab"),
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("x".repeat(33)),
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("okay")
            .max_concurrency(201),
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("okay")
            .min_size(26),
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("okay")
            .max_size(0),
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("okay")
            .min_size(5)
            .max_size(2),
    ];
    for request in bad {
        let e = request.send().await.unwrap_err().into_service_error();
        assert!(e.is_invalid_request_exception(), "{e:?}");
    }
    // MaxSize has no modelled maximum.
    c.create_auto_scaling_configuration()
        .auto_scaling_configuration_name("okay")
        .max_size(100)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn quota_is_ten_names_by_five_revisions() {
    let emu = emulator().await;
    let c = client(&emu);
    for rev in 1..=5 {
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name("name-0")
            .send()
            .await
            .unwrap();
        let _ = rev;
    }
    let e = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("name-0")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_service_quota_exceeded_exception(), "{e:?}");
    for n in 1..10 {
        c.create_auto_scaling_configuration()
            .auto_scaling_configuration_name(format!("name-{n}"))
            .send()
            .await
            .unwrap();
    }
    let e = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("name-10")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_service_quota_exceeded_exception(), "{e:?}");
    // Deleting one revision frees a slot; revisions keep counting up.
    let base = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/name-0";
    c.delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(format!("{base}/3"))
        .send()
        .await
        .unwrap();
    let r6 = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("name-0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r6.auto_scaling_configuration()
            .unwrap()
            .auto_scaling_configuration_revision(),
        Some(6)
    );
    // Deleting all revisions of a name frees a name.
    let deleted = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(base)
        .delete_all_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted
            .auto_scaling_configuration()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "INACTIVE"
    );
    c.create_auto_scaling_configuration()
        .auto_scaling_configuration_name("name-10")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn in_use_and_default_configurations_cannot_be_deleted() {
    let emu = emulator().await;
    let c = client(&emu);
    let asc = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("used")
        .send()
        .await
        .unwrap();
    let arn = asc
        .auto_scaling_configuration()
        .unwrap()
        .auto_scaling_configuration_arn()
        .unwrap()
        .to_owned();
    let svc = c
        .create_service()
        .service_name("user")
        .source_configuration(image_source(&[]))
        .auto_scaling_configuration_arn(&arn)
        .send()
        .await
        .unwrap();
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(
            "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/used",
        )
        .delete_all_revisions(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    // DeleteAllRevisions needs a …/name ARN.
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&arn)
        .delete_all_revisions(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    let default = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001";
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(default)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());

    // Once the service is deleted, the configuration can go.
    emu.admin().advance(OP);
    c.delete_service()
        .service_arn(&svc_arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    let gone = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&arn)
        .send()
        .await
        .unwrap();
    let gone = gone.auto_scaling_configuration().unwrap();
    assert_eq!(gone.status().unwrap().as_str(), "INACTIVE");
    assert!(gone.deleted_at().is_some());
    let e = c
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    // A deleted revision cannot be attached.
    let e = c
        .create_service()
        .service_name("late")
        .source_configuration(image_source(&[]))
        .auto_scaling_configuration_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
}
