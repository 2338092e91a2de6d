//! VPC connectors: create, describe, list, delete, validation, in-use refusal.

use aws_sdk_apprunner::types::{EgressConfiguration, EgressType, NetworkConfiguration};

use crate::common::{OP, client, emulator, image_source};

#[tokio::test]
async fn lifecycle_and_in_use_refusal() {
    let emu = emulator().await;
    let c = client(&emu);
    let created = c
        .create_vpc_connector()
        .vpc_connector_name("private-net")
        .subnets("subnet-0123456789abcdef0")
        .security_groups("sg-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    let conn = created.vpc_connector().unwrap().clone();
    let arn = conn.vpc_connector_arn().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:apprunner:us-east-1:123456789012:vpcconnector/private-net/1/")
    );
    assert_eq!(conn.vpc_connector_revision(), 1);
    assert_eq!(conn.status().unwrap().as_str(), "ACTIVE");

    let d = c
        .describe_vpc_connector()
        .vpc_connector_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.vpc_connector().unwrap().subnets(),
        ["subnet-0123456789abcdef0"]
    );
    assert_eq!(
        c.list_vpc_connectors()
            .send()
            .await
            .unwrap()
            .vpc_connectors()
            .len(),
        1
    );

    // Same name again is refused (one revision per name).
    let e = c
        .create_vpc_connector()
        .vpc_connector_name("private-net")
        .subnets("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());

    let network = NetworkConfiguration::builder()
        .egress_configuration(
            EgressConfiguration::builder()
                .egress_type(EgressType::Vpc)
                .vpc_connector_arn(&arn)
                .build(),
        )
        .build();
    let svc = c
        .create_service()
        .service_name("inside")
        .source_configuration(image_source(&[]))
        .network_configuration(network)
        .send()
        .await
        .unwrap();
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    let e = c
        .delete_vpc_connector()
        .vpc_connector_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    emu.admin().advance(OP);
    c.delete_service()
        .service_arn(&svc_arn)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    let deleted = c
        .delete_vpc_connector()
        .vpc_connector_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.vpc_connector().unwrap().status().unwrap().as_str(),
        "INACTIVE"
    );
    assert!(
        c.list_vpc_connectors()
            .send()
            .await
            .unwrap()
            .vpc_connectors()
            .is_empty()
    );
    let e = c
        .delete_vpc_connector()
        .vpc_connector_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
}

#[tokio::test]
async fn validation_and_unknown_connectors() {
    let emu = emulator().await;
    let c = client(&emu);
    for request in [
        c.create_vpc_connector()
            .vpc_connector_name("ab")
            .subnets("subnet-0123456789abcdef0"),
        c.create_vpc_connector()
            .vpc_connector_name("good-name")
            .subnets("not-a-subnet"),
        c.create_vpc_connector()
            .vpc_connector_name("good-name")
            .subnets("subnet-0123456789abcdef0")
            .security_groups("group"),
    ] {
        let e = request.send().await.unwrap_err().into_service_error();
        assert!(e.is_invalid_request_exception(), "{e:?}");
    }
    let e = c
        .create_vpc_connector()
        .vpc_connector_name("good-name")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception());
    let missing = "arn:aws:apprunner:us-east-1:123456789012:vpcconnector/none/1/0123456789abcdef0123456789abcdef";
    let e = c
        .describe_vpc_connector()
        .vpc_connector_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    // Egress VPC needs a connector, and an existing one.
    for egress in [
        EgressConfiguration::builder()
            .egress_type(EgressType::Vpc)
            .build(),
        EgressConfiguration::builder()
            .egress_type(EgressType::Vpc)
            .vpc_connector_arn(missing)
            .build(),
        EgressConfiguration::builder()
            .egress_type(EgressType::Default)
            .vpc_connector_arn(missing)
            .build(),
    ] {
        let e = c
            .create_service()
            .service_name("outside")
            .source_configuration(image_source(&[]))
            .network_configuration(
                NetworkConfiguration::builder()
                    .egress_configuration(egress)
                    .build(),
            )
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{e:?}");
    }
}
