//! Custom domains: association, the validation status machine (fixed delay
//! here; Route 53 in `tests/route53.rs`), disassociation, refusals and
//! pagination of `DescribeCustomDomains`.

use std::time::Duration;

use apprunner_emulator::Emulator;
use aws_sdk_apprunner::Client;

use crate::common::{OP, client, create_service, emulator, http};

/// (status, validation record statuses) of one associated domain.
async fn domain_state(c: &Client, svc: &str, domain: &str) -> Option<(String, Vec<String>)> {
    let out = c
        .describe_custom_domains()
        .service_arn(svc)
        .send()
        .await
        .unwrap();
    out.custom_domains()
        .iter()
        .find(|d| d.domain_name() == domain)
        .map(|d| {
            (
                d.status().as_str().to_owned(),
                d.certificate_validation_records()
                    .iter()
                    .map(|r| r.status().unwrap().as_str().to_owned())
                    .collect(),
            )
        })
}

#[tokio::test]
async fn associate_validate_activate_and_disassociate() {
    let emu = Emulator::builder()
        .operation_duration(OP)
        .seed(7)
        .domain_validation(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let c = client(&emu);
    let svc = create_service(&c, "web-one").await;
    emu.admin().advance(OP);
    let url = c
        .describe_service()
        .service_arn(&svc)
        .send()
        .await
        .unwrap()
        .service()
        .unwrap()
        .service_url()
        .unwrap()
        .to_owned();

    let out = c
        .associate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(out.dns_target(), url);
    assert_eq!(out.service_arn(), svc);
    assert!(out.vpc_dns_targets().is_empty());
    let domain = out.custom_domain().unwrap();
    assert_eq!(domain.domain_name(), "shop.example.com");
    // EnableWWWSubdomain defaults to true: one record for each name.
    assert!(domain.enable_www_subdomain());
    assert_eq!(domain.status().as_str(), "creating");
    let records = domain.certificate_validation_records();
    assert_eq!(records.len(), 2);
    let name0 = records[0].name().unwrap();
    assert!(
        name0.starts_with('_') && name0.ends_with(".shop.example.com."),
        "{name0}"
    );
    assert!(
        records[1]
            .name()
            .unwrap()
            .ends_with(".www.shop.example.com.")
    );
    for r in records {
        assert_eq!(r.r#type(), Some("CNAME"));
        assert!(r.value().unwrap().ends_with(".acm-validations.aws."));
        assert_eq!(r.status().unwrap().as_str(), "PENDING_VALIDATION");
    }
    // The records are deterministic: the same in a fresh emulator.
    let again = {
        let other = crate::common::emulator().await;
        let oc = client(&other);
        let s = create_service(&oc, "web-one").await;
        oc.associate_custom_domain()
            .service_arn(&s)
            .domain_name("shop.example.com")
            .send()
            .await
            .unwrap()
            .custom_domain()
            .unwrap()
            .certificate_validation_records()
            .to_vec()
    };
    assert_eq!(again, records);

    // Already associated.
    let e = c
        .associate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");

    emu.admin().advance(OP);
    let pending = domain_state(&c, &svc, "shop.example.com").await.unwrap();
    assert_eq!(pending.0, "pending_certificate_dns_validation");
    assert_eq!(pending.1, ["PENDING_VALIDATION", "PENDING_VALIDATION"]);
    emu.admin().advance(Duration::from_secs(59));
    assert_eq!(
        domain_state(&c, &svc, "shop.example.com").await.unwrap().0,
        "pending_certificate_dns_validation"
    );
    emu.admin().advance(Duration::from_secs(1));
    let binding = domain_state(&c, &svc, "shop.example.com").await.unwrap();
    assert_eq!(binding.0, "binding_certificate");
    assert_eq!(binding.1, ["SUCCESS", "SUCCESS"]);
    emu.admin().advance(OP);
    let active = domain_state(&c, &svc, "shop.example.com").await.unwrap();
    assert_eq!(active.0, "active");
    assert_eq!(active.1, ["SUCCESS", "SUCCESS"]);

    let out = c
        .disassociate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(out.custom_domain().unwrap().status().as_str(), "deleting");
    assert_eq!(out.dns_target(), url);
    let e = c
        .disassociate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    emu.admin().advance(OP);
    assert!(domain_state(&c, &svc, "shop.example.com").await.is_none());
    let e = c
        .disassociate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn without_validation_a_domain_stays_pending() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = create_service(&c, "web-one").await;
    let out = c
        .associate_custom_domain()
        .service_arn(&svc)
        .domain_name("*.example.org")
        .enable_www_subdomain(false)
        .send()
        .await
        .unwrap();
    let domain = out.custom_domain().unwrap();
    assert!(!domain.enable_www_subdomain());
    assert_eq!(domain.certificate_validation_records().len(), 1);
    emu.admin().advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        domain_state(&c, &svc, "*.example.org").await.unwrap().0,
        "pending_certificate_dns_validation"
    );
    // Turned on at run time through the admin endpoint: the delay counts
    // from when the domain became pending (a day ago), so it validated
    // then, and bound its certificate one operation later.
    let (status, body) = http(
        &emu,
        "POST",
        "/_emulator/config",
        None,
        r#"{"domain_validation_ms": 0}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"domain_validation_ms\":0"), "{body}");
    let state = domain_state(&c, &svc, "*.example.org").await.unwrap();
    assert_eq!(state.0, "active");
    assert_eq!(state.1, ["SUCCESS"]);
    let (status, body) = http(
        &emu,
        "POST",
        "/_emulator/config",
        None,
        r#"{"domain_validation_ms": null, "route53_endpoint": "ftp://nowhere"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Deleting the service takes its domains with it.
    emu.admin().advance(OP);
    c.delete_service().service_arn(&svc).send().await.unwrap();
    emu.admin().advance(OP);
    let e = c
        .describe_custom_domains()
        .service_arn(&svc)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn refusals_and_validation() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = create_service(&c, "web-one").await;
    for bad in [
        "no_underscores.example.com",
        "localhost",
        "a..example.com",
        "-lead.example.com",
        "shop.*.example.com",
        &"a".repeat(256),
    ] {
        let e = c
            .associate_custom_domain()
            .service_arn(&svc)
            .domain_name(bad)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{bad}: {e:?}");
    }
    let missing =
        "arn:aws:apprunner:us-east-1:123456789012:service/none/0123456789abcdef0123456789abcdef";
    let e = c
        .associate_custom_domain()
        .service_arn(missing)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
    let e = c
        .describe_custom_domains()
        .service_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .disassociate_custom_domain()
        .service_arn(&svc)
        .domain_name("never.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    // A domain belongs to one service.
    c.associate_custom_domain()
        .service_arn(&svc)
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap();
    let other = create_service(&c, "web-two").await;
    let e = c
        .associate_custom_domain()
        .service_arn(&other)
        .domain_name("API.example.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_exception(), "{e:?}");
}

#[tokio::test]
async fn describe_custom_domains_pages_by_five_at_most() {
    let emu = emulator().await;
    let c = client(&emu);
    let svc = create_service(&c, "web-one").await;
    for i in 0..7 {
        c.associate_custom_domain()
            .service_arn(&svc)
            .domain_name(format!("d{i}.example.com"))
            .send()
            .await
            .unwrap();
    }
    let first = c
        .describe_custom_domains()
        .service_arn(&svc)
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(first.custom_domains().len(), 5);
    let token = first.next_token().unwrap();
    let second = c
        .describe_custom_domains()
        .service_arn(&svc)
        .max_results(5)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = second
        .custom_domains()
        .iter()
        .map(|d| d.domain_name())
        .collect();
    assert_eq!(names, ["d5.example.com", "d6.example.com"]);
    assert!(second.next_token().is_none());
    // The default page is five too.
    let default = c
        .describe_custom_domains()
        .service_arn(&svc)
        .send()
        .await
        .unwrap();
    assert_eq!(default.custom_domains().len(), 5);
    for bad in [0, 6] {
        let e = c
            .describe_custom_domains()
            .service_arn(&svc)
            .max_results(bad)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{bad}: {e:?}");
    }
}
