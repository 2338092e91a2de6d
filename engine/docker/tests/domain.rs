//! The kinds added with custom domains, through `DockerProvider` on the real
//! Docker Engine: a custom domain is a front door of its own that serves
//! only its `Host` (and `www.` when enabled) and answers 421 to any other;
//! observability configurations, connections and VPC ingress connections
//! are recorded only. Each test has its own stack, destroyed on drop.
#![allow(clippy::unwrap_used)]

mod common;

use apprun_docker::{DROPPED_CAPABILITIES, DockerProvider, PIDS_LIMIT, labels};
use apprun_engine::provider::{Applied, Progress, Provider, ProviderError};
use apprun_schema::{Address, Kind};
use bollard::query_parameters::{InspectContainerOptions, StopContainerOptionsBuilder};
use common::*;
use serde_json::{Value, json};

fn port_of(url: &Value) -> u16 {
    url.as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Creates `address` and returns what the provider applied.
async fn create(
    provider: &DockerProvider,
    stack: &str,
    address: &Address,
    attributes: &Value,
    deps: &Deps,
    progress: &Progress,
) -> Applied {
    let name = attributes["name"]
        .as_str()
        .or(attributes["domain"].as_str())
        .unwrap();
    provider
        .create(&request(stack, address, name, attributes, deps, progress))
        .await
        .unwrap_or_else(|e| panic!("create {address}: {e}"))
}

#[tokio::test]
async fn a_custom_domain_serves_its_host_and_www_and_answers_421_to_any_other() {
    let test = "domain";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let engine = provider.engine();
    let (progress, lines) = sink();
    let no_deps = Deps::new();

    // The recorded-only kinds.
    let observability = Address::new(Kind::Observability, "traces");
    let obs_attrs = json!({ "tracing": "awsxray", "tags": {}, "name": "shop-traces" });
    let obs = create(
        &provider,
        stack,
        &observability,
        &obs_attrs,
        &no_deps,
        &progress,
    )
    .await;
    assert_eq!(
        obs.physical_id,
        format!("arn:apprun:docker:local:000000000000:observabilityconfiguration/{stack}/traces")
    );
    assert_eq!(obs.outputs["arn"], obs.physical_id.as_str());
    assert_eq!(obs.outputs["name"], "shop-traces");
    assert_eq!(obs.outputs["revision"], "1");
    let connection = Address::new(Kind::Connection, "github");
    let conn_attrs = json!({ "provider": "GITHUB", "tags": {}, "name": "shop-github" });
    let conn = create(
        &provider,
        stack,
        &connection,
        &conn_attrs,
        &no_deps,
        &progress,
    )
    .await;
    assert_eq!(conn.outputs["status"], "AVAILABLE");
    assert_eq!(conn.outputs["name"], "shop-github");
    assert!(
        conn.physical_id
            .ends_with(&format!(":connection/{stack}/github"))
    );

    // The service, then the domain and the VPC ingress connection on it.
    let web = Address::new(Kind::Service, "web");
    let mut svc_attrs = echo_service_attrs("shop-web", "through-the-domain");
    svc_attrs["observability"] = obs.outputs["arn"].clone();
    let svc = create(&provider, stack, &web, &svc_attrs, &no_deps, &progress).await;
    let service_port = port_of(&svc.outputs["url"]);
    let deps = Deps::from([(web.clone(), svc.outputs.clone())]);

    let domain = Address::new(Kind::Domain, "shop");
    let domain_attrs = json!({
        "service": svc.outputs["arn"],
        "domain": "shop.example.com",
        "enable_www": true
    });
    let applied = create(&provider, stack, &domain, &domain_attrs, &deps, &progress).await;
    assert_eq!(
        applied.physical_id,
        format!("arn:apprun:docker:local:000000000000:customdomain/{stack}/shop")
    );
    let port = port_of(&applied.outputs["url"]);
    assert_ne!(port, service_port, "the domain has a front door of its own");
    assert_eq!(applied.outputs["domain"], "shop.example.com");
    assert_eq!(applied.outputs["dns_target"], format!("127.0.0.1:{port}"));
    assert_eq!(applied.outputs["status"], "active");
    assert_eq!(applied.outputs["validation_records"], json!([]));
    assert_eq!(applied.outputs["url"], format!("http://127.0.0.1:{port}"));
    let curl = format!("curl -H 'Host: shop.example.com' http://127.0.0.1:{port}/");
    let said: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("domains.shop: "))
        .cloned()
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains(&curl), "{said:?}");

    let ingress = Address::new(Kind::VpcIngress, "private");
    let ingress_attrs = json!({
        "service": svc.outputs["arn"],
        "vpc": "vpc-0123456789abcdef0",
        "endpoint": "vpce-0123456789abcdef0",
        "tags": {},
        "name": "shop-private"
    });
    let vpc_ingress = create(&provider, stack, &ingress, &ingress_attrs, &deps, &progress).await;
    assert_eq!(
        vpc_ingress.outputs["domain_name"],
        format!("127.0.0.1:{service_port}")
    );
    assert_eq!(vpc_ingress.outputs["name"], "shop-private");
    assert!(
        vpc_ingress
            .physical_id
            .ends_with(&format!(":vpcingressconnection/{stack}/private"))
    );

    // What curl -H 'Host: ...' gets.
    for host in [
        "shop.example.com",
        "www.shop.example.com",
        "Shop.Example.com:80",
    ] {
        let (status, body) = get_host(port, "/", host).await.unwrap();
        assert_eq!(status, 200, "{host}: {body}");
        assert!(
            body.contains("message=through-the-domain"),
            "{host}: {body}"
        );
    }
    for host in [
        "other.example.com",
        "example.com",
        "127.0.0.1",
        "shop.example.com.evil.test",
    ] {
        let (status, body) = get_host(port, "/", host).await.unwrap();
        assert_eq!(status, 421, "{host}: {body}");
        assert!(!body.contains("message="), "never forwarded: {body}");
    }
    // The service's own URL still serves any host.
    let (status, _) = get_host(service_port, "/", "other.example.com")
        .await
        .unwrap();
    assert_eq!(status, 200);

    // The container: labelled, on the stack network, hardened, published
    // on 127.0.0.1 only.
    let owned = engine
        .list_owned(stack, Some("domains.shop"))
        .await
        .unwrap();
    assert_eq!(owned.len(), 1, "{owned:?}");
    let door = &owned[0];
    assert_eq!(door.role, labels::ROLE_DOMAIN);
    assert_eq!(
        door.labels.get(labels::INSTANCE).map(String::as_str),
        Some(engine.instance())
    );
    assert_eq!(
        door.labels.get(labels::DOMAIN_HOSTS).map(String::as_str),
        Some("shop.example.com,www.shop.example.com")
    );
    let info = raw_docker()
        .await
        .inspect_container(&door.id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let host = info.host_config.unwrap();
    assert_eq!(
        host.network_mode.as_deref(),
        Some(engine.stack_network(stack).as_str())
    );
    assert_eq!(host.pids_limit, Some(PIDS_LIMIT));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges".to_string()])
    );
    let dropped = host.cap_drop.unwrap_or_default();
    assert!(
        DROPPED_CAPABILITIES
            .iter()
            .all(|c| dropped.iter().any(|d| d == c)),
        "{dropped:?}"
    );
    let bindings = host.port_bindings.unwrap_or_default();
    assert!(!bindings.is_empty());
    for binding in bindings.values().flatten().flatten() {
        assert_eq!(
            binding.host_ip.as_deref(),
            Some("127.0.0.1"),
            "{bindings:?}"
        );
    }

    // Read, find_owned and a second create agree and change nothing.
    let observed = provider
        .read(Kind::Domain, &applied.physical_id, &domain_attrs)
        .await
        .unwrap()
        .expect("the domain exists");
    assert_eq!(observed.attributes, domain_attrs, "no drift");
    assert_eq!(observed.outputs, applied.outputs);
    let found = provider
        .find_owned(stack, &domain, "shop.example.com")
        .await
        .unwrap()
        .expect("found by its labels");
    assert_eq!(found, applied);
    assert!(
        provider
            .find_owned(stack, &domain, "other.example.com")
            .await
            .unwrap()
            .is_none(),
        "a door serving another domain is another record's"
    );
    let again = create(&provider, stack, &domain, &domain_attrs, &deps, &progress).await;
    assert_eq!(again, applied, "idempotent, same port");
    for (kind, attrs, created) in [
        (Kind::Observability, &obs_attrs, &obs),
        (Kind::Connection, &conn_attrs, &conn),
        (Kind::VpcIngress, &ingress_attrs, &vpc_ingress),
    ] {
        let read = provider
            .read(kind, &created.physical_id, attrs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&read.attributes, attrs, "{kind}");
        assert_eq!(&read.outputs, &created.outputs, "{kind}");
        let name = attrs["name"].as_str().unwrap();
        let address = Address::new(kind, "x");
        assert!(
            provider
                .find_owned(stack, &address, name)
                .await
                .unwrap()
                .is_none(),
            "{kind}: nothing exists on Docker to find"
        );
    }

    // Stopped by hand: a read reports it, applying again starts it on the
    // same port.
    raw_docker()
        .await
        .stop_container(
            &door.id,
            Some(StopContainerOptionsBuilder::default().t(1).build()),
        )
        .await
        .unwrap();
    let observed = provider
        .read(Kind::Domain, &applied.physical_id, &domain_attrs)
        .await
        .unwrap()
        .unwrap();
    let drift = observed.attributes[apprun_docker::provider::DRIFT_ATTRIBUTE].clone();
    assert!(drift.to_string().contains("exited"), "{drift}");
    let repaired = provider
        .update(
            &applied.physical_id,
            &request(
                stack,
                &domain,
                "shop.example.com",
                &domain_attrs,
                &deps,
                &progress,
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(repaired, applied);
    let (status, _) = get_host(port, "/", "www.shop.example.com").await.unwrap();
    assert_eq!(status, 200);

    // Delete: the domain's container goes, twice is fine, and once every
    // resource is deleted nothing with the stack's labels is left.
    for _ in 0..2 {
        provider
            .delete(
                Kind::Domain,
                &applied.physical_id,
                &domain_attrs,
                progress.clone(),
            )
            .await
            .unwrap();
    }
    assert!(
        engine
            .list_owned(stack, Some("domains.shop"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(get_host(port, "/", "shop.example.com").await.is_err());
    assert!(
        provider
            .read(Kind::Domain, &applied.physical_id, &domain_attrs)
            .await
            .unwrap()
            .is_none()
    );
    for (kind, id, attrs) in [
        (Kind::VpcIngress, &vpc_ingress.physical_id, &ingress_attrs),
        (Kind::Service, &svc.physical_id, &svc_attrs),
        (Kind::Connection, &conn.physical_id, &conn_attrs),
        (Kind::Observability, &obs.physical_id, &obs_attrs),
    ] {
        provider
            .delete(kind, id, attrs, progress.clone())
            .await
            .unwrap();
    }
    assert!(engine.list_owned(stack, None).await.unwrap().is_empty());
    assert!(engine.list_owned_networks(stack).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_domain_needs_a_service_of_its_stack_with_a_front_door_and_a_valid_name() {
    let test = "domain_refusals";
    let Some(provider) = provider_or_skip(test).await else {
        return;
    };
    let guard = StackGuard::new(test);
    let stack = guard.stack.as_str();
    let (progress, _) = sink();
    let deps = Deps::new();
    let domain = Address::new(Kind::Domain, "shop");
    let try_create = |attrs: Value| {
        let provider = &provider;
        let (domain, deps, progress) = (&domain, &deps, &progress);
        async move {
            provider
                .create(&request(
                    stack,
                    domain,
                    "shop.example.com",
                    &attrs,
                    deps,
                    progress,
                ))
                .await
        }
    };
    let aws = json!({
        "service": "arn:aws:apprunner:us-east-1:111122223333:service/web/0123456789abcdef",
        "domain": "shop.example.com",
        "enable_www": true
    });
    let err = try_create(aws).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid { ref message, .. } if message.contains("services.<name>.arn")),
        "{err:?}"
    );
    let local_but_absent = json!({
        "service": format!("arn:apprun:docker:local:000000000000:service/{stack}/web"),
        "domain": "shop.example.com",
        "enable_www": false
    });
    let err = try_create(local_but_absent).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::OperationFailed { ref message, .. } if message.contains("no front door")),
        "{err:?}"
    );
    let bad_name = json!({
        "service": format!("arn:apprun:docker:local:000000000000:service/{stack}/web"),
        "domain": "*.example.com",
        "enable_www": false
    });
    let err = try_create(bad_name).await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err:?}");
    assert!(
        provider
            .engine()
            .list_owned(stack, None)
            .await
            .unwrap()
            .is_empty(),
        "a refused domain leaves nothing behind"
    );
}
