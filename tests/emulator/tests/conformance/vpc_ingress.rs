//! VPC ingress connections: the status machine, refusals, filters, tags and
//! the service that cannot be deleted while it has one.

use apprunner_emulator::{Fault, FaultRule};
use aws_sdk_apprunner::Client;
use aws_sdk_apprunner::types::{
    IngressConfiguration, IngressVpcConfiguration, ListVpcIngressConnectionsFilter,
    NetworkConfiguration, Tag,
};

use crate::common::{OP, client, create_service, emulator, image_source};

const VPC: &str = "vpc-0123456789abcdef0";
const ENDPOINT: &str = "vpce-0123456789abcdef0";

/// Creates a private service and waits for it; returns its ARN.
async fn private_service(
    emu: &apprunner_emulator::RunningEmulator,
    c: &Client,
    name: &str,
) -> String {
    let out = c
        .create_service()
        .service_name(name)
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
    emu.admin().advance(OP);
    out.service().unwrap().service_arn().to_owned()
}

fn config(endpoint: &str) -> IngressVpcConfiguration {
    IngressVpcConfiguration::builder()
        .vpc_id(VPC)
        .vpc_endpoint_id(endpoint)
        .build()
}

async fn ingress_status(c: &Client, arn: &str) -> String {
    c.describe_vpc_ingress_connection()
        .vpc_ingress_connection_arn(arn)
        .send()
        .await
        .unwrap()
        .vpc_ingress_connection()
        .unwrap()
        .status()
        .unwrap()
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn lifecycle_with_the_service_held_until_the_connection_goes() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = private_service(&emu, &c, "private-api").await;
    let created = c
        .create_vpc_ingress_connection()
        .service_arn(&svc)
        .vpc_ingress_connection_name("private-in")
        .ingress_vpc_configuration(config(ENDPOINT))
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let conn = created.vpc_ingress_connection().unwrap().clone();
    let arn = conn.vpc_ingress_connection_arn().unwrap().to_owned();
    assert!(
        arn.starts_with(
            "arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/private-in/"
        ),
        "{arn}"
    );
    assert_eq!(conn.status().unwrap().as_str(), "PENDING_CREATION");
    assert_eq!(conn.account_id(), Some("123456789012"));
    assert_eq!(conn.service_arn(), Some(svc.as_str()));
    assert!(conn.created_at().is_some());
    let domain = conn.domain_name().unwrap();
    assert!(domain.ends_with(".us-east-1.awsapprunner.com"), "{domain}");
    assert_eq!(domain.split('.').next().unwrap().len(), 10);

    // Nothing changes while it is pending, and the service is held.
    let e = c
        .update_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .ingress_vpc_configuration(config("vpce-00000000000000001"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    let e = c
        .delete_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    let e = c
        .delete_service()
        .service_arn(&svc)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");

    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "AVAILABLE");
    // An AVAILABLE connection holds the service too.
    let e = c
        .delete_service()
        .service_arn(&svc)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    assert!(
        e.meta()
            .message()
            .unwrap_or_default()
            .contains("VPC ingress connection"),
        "{e:?}"
    );

    // Tags on create, and the tag operations on the new ARN.
    c.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("test").build())
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = tags.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["env", "team"]);

    // One connection per service.
    let e = c
        .create_vpc_ingress_connection()
        .service_arn(&svc)
        .vpc_ingress_connection_name("private-in-2")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");

    // Update: PENDING_UPDATE -> AVAILABLE with the new endpoint.
    let updated = c
        .update_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .ingress_vpc_configuration(config("vpce-00000000000000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated
            .vpc_ingress_connection()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "PENDING_UPDATE"
    );
    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "AVAILABLE");
    let filtered = c
        .list_vpc_ingress_connections()
        .filter(
            ListVpcIngressConnectionsFilter::builder()
                .vpc_endpoint_id("vpce-00000000000000001")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.vpc_ingress_connection_summary_list().len(), 1);
    let summary = &filtered.vpc_ingress_connection_summary_list()[0];
    assert_eq!(summary.vpc_ingress_connection_arn(), Some(arn.as_str()));
    assert_eq!(summary.service_arn(), Some(svc.as_str()));
    let none = c
        .list_vpc_ingress_connections()
        .filter(
            ListVpcIngressConnectionsFilter::builder()
                .vpc_endpoint_id(ENDPOINT)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(none.vpc_ingress_connection_summary_list().is_empty());

    // Delete: PENDING_DELETION -> DELETED, still describable, no longer listed.
    let deleting = c
        .delete_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleting
            .vpc_ingress_connection()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "PENDING_DELETION"
    );
    let e = c
        .delete_service()
        .service_arn(&svc)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    emu.admin().advance(OP);
    let gone = c
        .describe_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap();
    let gone = gone.vpc_ingress_connection().unwrap();
    assert_eq!(gone.status().unwrap().as_str(), "DELETED");
    assert!(gone.deleted_at().is_some());
    assert!(
        c.list_vpc_ingress_connections()
            .send()
            .await
            .unwrap()
            .vpc_ingress_connection_summary_list()
            .is_empty()
    );
    let e = c
        .delete_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");

    // Now the service can go, and a name can be reused.
    c.delete_service().service_arn(&svc).send().await.unwrap();
    emu.admin().advance(OP);
    let other = private_service(&emu, &c, "private-two").await;
    c.create_vpc_ingress_connection()
        .service_arn(&other)
        .vpc_ingress_connection_name("private-in")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn refusals_and_validation() {
    let emu = emulator().await;
    let c = client(&emu);
    // A public service takes no ingress connection.
    let public = create_service(&c, "public-api").await;
    emu.admin().advance(OP);
    let e = c
        .create_vpc_ingress_connection()
        .service_arn(&public)
        .vpc_ingress_connection_name("nope")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    // A missing service (the operation models no ResourceNotFoundException).
    let missing =
        "arn:aws:apprunner:us-east-1:123456789012:service/none/0123456789abcdef0123456789abcdef";
    let e = c
        .create_vpc_ingress_connection()
        .service_arn(missing)
        .vpc_ingress_connection_name("nope")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");

    let svc = private_service(&emu, &c, "private-api").await;
    for (name, vpc, endpoint) in [
        ("no", VPC, ENDPOINT),
        ("-bad-name", VPC, ENDPOINT),
        ("good-name", "vpc-XYZ", ENDPOINT),
        ("good-name", VPC, "endpoint-1"),
    ] {
        let e = c
            .create_vpc_ingress_connection()
            .service_arn(&svc)
            .vpc_ingress_connection_name(name)
            .ingress_vpc_configuration(
                IngressVpcConfiguration::builder()
                    .vpc_id(vpc)
                    .vpc_endpoint_id(endpoint)
                    .build(),
            )
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            e.is_invalid_request_exception(),
            "{name} {vpc} {endpoint}: {e:?}"
        );
    }
    let e = c
        .create_vpc_ingress_connection()
        .service_arn(&svc)
        .vpc_ingress_connection_name("good-name")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    // Same name on another service.
    c.create_vpc_ingress_connection()
        .service_arn(&svc)
        .vpc_ingress_connection_name("taken")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap();
    let other = private_service(&emu, &c, "private-two").await;
    let e = c
        .create_vpc_ingress_connection()
        .service_arn(&other)
        .vpc_ingress_connection_name("taken")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    let unknown = "arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/none/0123456789abcdef0123456789abcdef";
    let e = c
        .describe_vpc_ingress_connection()
        .vpc_ingress_connection_arn(unknown)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .update_vpc_ingress_connection()
        .vpc_ingress_connection_arn(unknown)
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn failed_phases_and_pagination() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = private_service(&emu, &c, "private-api").await;
    emu.admin()
        .add_fault(
            FaultRule::new(Some("CreateVpcIngressConnection"), Fault::FailOperation).times(1),
        )
        .unwrap();
    let created = c
        .create_vpc_ingress_connection()
        .service_arn(&svc)
        .vpc_ingress_connection_name("flaky")
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap();
    let arn = created
        .vpc_ingress_connection()
        .unwrap()
        .vpc_ingress_connection_arn()
        .unwrap()
        .to_owned();
    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "FAILED_CREATION");
    // A failed creation may be updated (retried) ...
    emu.admin()
        .add_fault(
            FaultRule::new(Some("UpdateVpcIngressConnection"), Fault::FailOperation).times(1),
        )
        .unwrap();
    c.update_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .ingress_vpc_configuration(config(ENDPOINT))
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "FAILED_UPDATE");
    emu.admin()
        .add_fault(
            FaultRule::new(Some("DeleteVpcIngressConnection"), Fault::FailOperation).times(1),
        )
        .unwrap();
    c.delete_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "FAILED_DELETION");
    // ... and deleted again from FAILED_DELETION.
    c.delete_vpc_ingress_connection()
        .vpc_ingress_connection_arn(&arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(ingress_status(&c, &arn).await, "DELETED");

    // Pagination over three services' connections.
    let mut services = Vec::new();
    for i in 0..3 {
        let s = private_service(&emu, &c, &format!("paged-{i}")).await;
        c.create_vpc_ingress_connection()
            .service_arn(&s)
            .vpc_ingress_connection_name(format!("paged-in-{i}"))
            .ingress_vpc_configuration(config(ENDPOINT))
            .send()
            .await
            .unwrap();
        services.push(s);
    }
    let first = c
        .list_vpc_ingress_connections()
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.vpc_ingress_connection_summary_list().len(), 2);
    let second = c
        .list_vpc_ingress_connections()
        .max_results(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.vpc_ingress_connection_summary_list().len(), 1);
    assert!(second.next_token().is_none());
    let by_service = c
        .list_vpc_ingress_connections()
        .filter(
            ListVpcIngressConnectionsFilter::builder()
                .service_arn(&services[1])
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_service.vpc_ingress_connection_summary_list().len(), 1);
    let e = c
        .list_vpc_ingress_connections()
        .max_results(101)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
}
