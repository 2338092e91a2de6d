//! Regions: every ARN and URL carries the region the request was signed for
//! (its SigV4 credential scope), each region holds its own resources, and
//! only an unsigned request falls back to the configured region.

use apprunner_emulator::Emulator;
use aws_sdk_apprunner::Client;
use aws_sdk_apprunner::error::ProvideErrorMetadata;
use serde_json::json;

use crate::common::{IMAGE, OP, client_in, create_service, emulator, raw, raw_signed};

/// What one client made: (service ARN, service URL, its default auto
/// scaling ARN, a new auto scaling ARN, a VPC connector ARN, an
/// observability configuration ARN).
async fn make_everything(c: &Client) -> [String; 6] {
    let created = c
        .create_service()
        .service_name("web-app")
        .source_configuration(crate::common::image_source(&[]))
        .send()
        .await
        .unwrap();
    let service = created.service().unwrap();
    let default_asc = service
        .auto_scaling_configuration_summary()
        .unwrap()
        .auto_scaling_configuration_arn()
        .unwrap()
        .to_owned();
    let asc = c
        .create_auto_scaling_configuration()
        .auto_scaling_configuration_name("scale")
        .send()
        .await
        .unwrap();
    let connector = c
        .create_vpc_connector()
        .vpc_connector_name("private-net")
        .subnets("subnet-0123456789abcdef0")
        .security_groups("sg-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    let tracing = c
        .create_observability_configuration()
        .observability_configuration_name("tracing")
        .send()
        .await
        .unwrap();
    [
        service.service_arn().to_owned(),
        service.service_url().unwrap().to_owned(),
        default_asc,
        asc.auto_scaling_configuration()
            .unwrap()
            .auto_scaling_configuration_arn()
            .unwrap()
            .to_owned(),
        connector
            .vpc_connector()
            .unwrap()
            .vpc_connector_arn()
            .unwrap()
            .to_owned(),
        tracing
            .observability_configuration()
            .unwrap()
            .observability_configuration_arn()
            .unwrap()
            .to_owned(),
    ]
}

#[tokio::test]
async fn two_clients_signed_for_two_regions_get_arns_and_urls_of_their_regions() {
    let emu = emulator().await; // configured for us-east-1
    let eu = client_in(&emu, "eu-west-1");
    let ap = client_in(&emu, "ap-southeast-2");
    for (client, region) in [(&eu, "eu-west-1"), (&ap, "ap-southeast-2")] {
        let [service, url, default_asc, asc, connector, tracing] = make_everything(client).await;
        let prefix = format!("arn:aws:apprunner:{region}:123456789012:");
        for arn in [&service, &default_asc, &asc, &connector, &tracing] {
            assert!(arn.starts_with(&prefix), "{arn} is not in {region}");
        }
        assert!(
            url.ends_with(&format!(".{region}.awsapprunner.com")),
            "{url} is not in {region}"
        );
        // The ARNs resolve for the client that made them.
        let described = client
            .describe_service()
            .service_arn(&service)
            .send()
            .await
            .unwrap();
        assert_eq!(described.service().unwrap().service_arn(), service);
        let ops = client
            .list_operations()
            .service_arn(&service)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ops.operation_summary_list()[0].target_arn(),
            Some(&*service)
        );
    }
    emu.admin().advance(OP);

    // Each region lists its own resources only; an ARN of one region is
    // not found through a client of the other.
    let eu_services = eu.list_services().send().await.unwrap();
    let ap_services = ap.list_services().send().await.unwrap();
    let arns = |out: &aws_sdk_apprunner::operation::list_services::ListServicesOutput| {
        out.service_summary_list()
            .iter()
            .map(|s| s.service_arn().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let (eu_arns, ap_arns) = (arns(&eu_services), arns(&ap_services));
    assert_eq!(eu_arns.len(), 1, "{eu_arns:?}");
    assert_eq!(ap_arns.len(), 1, "{ap_arns:?}");
    assert!(eu_arns[0].contains(":eu-west-1:") && ap_arns[0].contains(":ap-southeast-2:"));
    let err = ap
        .describe_service()
        .service_arn(&eu_arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );
    // The configured region saw none of it.
    let (status, listed) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["ServiceSummaryList"], json!([]));
}

#[tokio::test]
async fn only_an_unsigned_request_gets_the_configured_region() {
    let emu = Emulator::builder()
        .region("eu-central-1")
        .start()
        .await
        .unwrap();
    let body = json!({
        "ServiceName": "unsigned",
        "SourceConfiguration": {"ImageRepository": {
            "ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC"}},
    })
    .to_string();
    let (status, created) = raw(&emu, "AppRunner.CreateService", &body).await;
    assert_eq!(status, 200, "{created}");
    let arn = created["Service"]["ServiceArn"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:apprunner:eu-central-1:"), "{arn}");

    // A signed request gets its scope's region, not the configured one.
    let signed = "AWS4-HMAC-SHA256 Credential=AKID/20260101/sa-east-1/apprunner/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
    let body = body.replace("unsigned", "signed");
    let (status, created) = raw_signed(&emu, "AppRunner.CreateService", signed, &body).await;
    assert_eq!(status, 200, "{created}");
    let arn = created["Service"]["ServiceArn"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:apprunner:sa-east-1:"), "{arn}");
    let url = created["Service"]["ServiceUrl"].as_str().unwrap();
    assert!(url.ends_with(".sa-east-1.awsapprunner.com"), "{url}");
    // The SDK client signed for the configured region sees the first one.
    let c = client_in(&emu, "eu-central-1");
    let sdk_arn = create_service(&c, "sdk-made").await;
    assert!(
        sdk_arn.starts_with("arn:aws:apprunner:eu-central-1:"),
        "{sdk_arn}"
    );
    let listed = c.list_services().send().await.unwrap();
    assert_eq!(listed.service_summary_list().len(), 2);
}

#[tokio::test]
async fn a_scope_for_another_service_or_no_region_is_refused_as_aws_does() {
    let emu = emulator().await;
    for (authorization, status, error) in [
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            403,
            "InvalidSignatureException",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20260101//apprunner/aws4_request, SignedHeaders=host, Signature=00",
            403,
            "InvalidSignatureException",
        ),
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
            400,
            "IncompleteSignatureException",
        ),
    ] {
        let (got, body) = raw_signed(&emu, "AppRunner.ListServices", authorization, "{}").await;
        assert_eq!(
            (got, body["__type"].as_str()),
            (status, Some(error)),
            "{authorization}: {body}"
        );
    }
    // Nothing was made anywhere by the refused requests.
    assert_eq!(emu.admin().count("ListServices"), 3);
}
