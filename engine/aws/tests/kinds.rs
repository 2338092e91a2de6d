//! Observability configurations, connections, custom domains, VPC ingress
//! connections and the default auto scaling configuration through the
//! provider, against the in-process App Runner emulator (and moto's
//! Route 53 for domains whose records apprun writes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use apprun_aws::{AwsProvider, Endpoints, Settings};
use apprun_engine::desired::DesiredResource;
use apprun_engine::provider::{Applied, Provider, ProviderError};
use apprun_schema::Kind;
use apprunner_emulator::{ClockMode, Emulator, Handshake, RunningEmulator};
use serde_json::{Value, json};

const STACK: &str = "kinds";

fn stack_yaml() -> String {
    format!(
        r#"
stack: {STACK}
region: us-east-1
tags: {{ team: payments }}
autoscaling:
  big: {{ min_size: 2, max_size: 5, default: true }}
observability:
  traces: {{ tracing: awsxray }}
connections:
  gh: {{ provider: GITHUB }}
services:
  web:
    image: public.ecr.aws/nginx/nginx:latest
  inner:
    image: public.ecr.aws/nginx/nginx:latest
    ingress: private
  site:
    code:
      repository: https://github.com/example/site
      connection: ${{connections.gh.arn}}
      runtime: PYTHON_3
      build_command: pip install -r requirements.txt
      start_command: python app.py
domains:
  shop:
    service: ${{services.web.arn}}
    domain: shop.example.com
vpc_ingress:
  door:
    service: ${{services.inner.arn}}
    vpc: vpc-0123456789abcdef0
    endpoint: vpce-0123456789abcdef0
"#
    )
}

fn resource(address: &str) -> DesiredResource {
    support::resource(&support::desired(&stack_yaml()), address)
}

/// A provider on `emu` (and Route 53 at `route53`, when given).
fn provider(emu: &RunningEmulator, route53: Option<&str>) -> AwsProvider {
    let url = emu.endpoint_url();
    let settings = Settings {
        endpoints: Endpoints {
            route53: route53.map(str::to_owned),
            ..Endpoints::split(url.clone(), url.clone())
        },
        operation_deadline: Duration::from_secs(30),
        ..Settings::fast()
    };
    AwsProvider::from_sdk_config(&support::sdk_config(&url), settings)
}

async fn create(p: &AwsProvider, r: &DesiredResource, attrs: &Value) -> Applied {
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    p.create(&support::request(STACK, r, attrs, &deps, prog))
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", r.address))
}

async fn delete(p: &AwsProvider, kind: Kind, id: &str, recorded: &Value) {
    let (prog, _) = support::progress();
    p.delete(kind, id, recorded, prog)
        .await
        .unwrap_or_else(|e| panic!("delete {kind:?} {id}: {e}"));
}

fn apprunner(emu: &RunningEmulator) -> aws_sdk_apprunner::Client {
    aws_sdk_apprunner::Client::new(&support::sdk_config(&emu.endpoint_url()))
}

/// A service of the stack, created with `changes` over its attributes.
async fn service(p: &AwsProvider, address: &str, changes: &[(&str, Value)]) -> Applied {
    let r = resource(address);
    let mut attrs = r.attributes.clone();
    for (k, v) in changes {
        attrs[*k] = v.clone();
    }
    create(p, &r, &attrs).await
}

/// Whether the observed attributes equal the request's.
fn assert_same(observed: &Value, attrs: &Value, what: &str) {
    let diff = apprun_engine::diff::diff(observed, attrs);
    assert!(diff.is_empty(), "{what}: read differs: {diff:#?}");
}

#[tokio::test]
async fn observability_revisions_create_read_update_delete() {
    let emu = support::emulator().await;
    let p = provider(&emu, None);
    let r = resource("observability.traces");
    let attrs = r.attributes.clone();
    assert_eq!(attrs["tracing"], json!("awsxray"));
    let first = create(&p, &r, &attrs).await;
    assert_eq!(first.outputs["revision"], json!(1));
    assert_eq!(first.outputs["name"], json!(r.name));
    let read = p
        .read(Kind::Observability, &first.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "observability");
    let live = apprunner(&emu)
        .describe_observability_configuration()
        .observability_configuration_arn(&first.physical_id)
        .send()
        .await
        .unwrap();
    let vendor = live
        .observability_configuration()
        .and_then(|c| c.trace_configuration())
        .map(|t| t.vendor().as_str().to_owned());
    assert_eq!(vendor.as_deref(), Some("AWSXRAY"));

    // Tags change in place; anything else is refused (a new revision).
    let mut tagged = attrs.clone();
    tagged["tags"]["tier"] = json!("obs");
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let req = support::request(STACK, &r, &tagged, &deps, prog.clone());
    p.update(&first.physical_id, &req, &["tags.tier".to_owned()])
        .await
        .unwrap();
    let read = p
        .read(Kind::Observability, &first.physical_id, &tagged)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &tagged, "observability after tags");
    let mut untraced = attrs.clone();
    untraced.as_object_mut().unwrap().remove("tracing");
    let req = support::request(STACK, &r, &untraced, &deps, prog.clone());
    assert!(matches!(
        p.update(&first.physical_id, &req, &["tracing".to_owned()])
            .await,
        Err(ProviderError::Invalid { .. })
    ));

    // A replacement: a new revision, found by ownership, then delete-old.
    let second = create(&p, &r, &untraced).await;
    assert_eq!(second.outputs["revision"], json!(2));
    let read = p
        .read(Kind::Observability, &second.physical_id, &untraced)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &untraced, "observability without tracing");
    let found = p
        .find_owned(STACK, &r.address, &r.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.physical_id, second.physical_id);
    delete(&p, Kind::Observability, &first.physical_id, &attrs).await;
    delete(&p, Kind::Observability, &first.physical_id, &attrs).await;
    assert!(
        p.read(Kind::Observability, &first.physical_id, &attrs)
            .await
            .unwrap()
            .is_none()
    );
    delete(&p, Kind::Observability, &second.physical_id, &untraced).await;
}

#[tokio::test]
async fn a_connection_waits_for_its_handshake_and_a_service_on_it_fails_fast() {
    let emu = support::emulator().await;
    let p = provider(&emu, None);
    let r = resource("connections.gh");
    let attrs = r.attributes.clone();
    let deps = BTreeMap::new();
    let (prog, lines) = support::progress();
    let conn = p
        .create(&support::request(STACK, &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();
    assert_eq!(conn.outputs["status"], json!("PENDING_HANDSHAKE"));
    let said = lines.lock().unwrap().join("\n");
    assert!(
        said.contains("Complete handshake") && said.contains(&r.name),
        "progress: {said}"
    );
    let read = p
        .read(Kind::Connection, &conn.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "connection");
    assert_eq!(read.outputs["status"], json!("PENDING_HANDSHAKE"));
    assert_eq!(
        p.find_owned(STACK, &r.address, &r.name)
            .await
            .unwrap()
            .map(|a| a.physical_id),
        Some(conn.physical_id.clone())
    );

    // A code service on it fails at once, naming the connection and the step.
    let site = resource("services.site");
    let deps_out = BTreeMap::from([("connections.gh.arn", conn.physical_id.clone())]);
    let site_attrs = support::resolve(&site.attributes, &deps_out);
    let started = std::time::Instant::now();
    let refused = p
        .create(&support::request(
            STACK,
            &site,
            &site_attrs,
            &deps,
            prog.clone(),
        ))
        .await;
    let Err(error @ ProviderError::OperationFailed { .. }) = refused else {
        panic!("a service on a pending connection must fail, got {refused:?}");
    };
    let text = format!("{error} {}", miette_help(&error));
    assert!(
        text.contains(&r.name)
            && text.contains("PENDING_HANDSHAKE")
            && text.contains("Complete handshake"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast");
    assert_eq!(emu.admin().count("CreateService"), 0);

    // After the handshake (the console step), the service is created.
    emu.admin()
        .complete_handshake(&r.name, Handshake::Available)
        .unwrap();
    let read = p
        .read(Kind::Connection, &conn.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.outputs["status"], json!("AVAILABLE"));
    let created = p
        .create(&support::request(
            STACK,
            &site,
            &site_attrs,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();
    delete(&p, Kind::Service, &created.physical_id, &site_attrs).await;
    delete(&p, Kind::Connection, &conn.physical_id, &attrs).await;
    delete(&p, Kind::Connection, &conn.physical_id, &attrs).await;
    assert!(
        p.read(Kind::Connection, &conn.physical_id, &attrs)
            .await
            .unwrap()
            .is_none()
    );
}

/// The help text of a provider error.
fn miette_help(error: &ProviderError) -> String {
    use miette::Diagnostic as _;
    error.help().map(|h| h.to_string()).unwrap_or_default()
}

/// Whether `arn` is the account's default, asked through the SDK.
async fn is_default(emu: &RunningEmulator, arn: &str) -> bool {
    apprunner(emu)
        .describe_auto_scaling_configuration()
        .auto_scaling_configuration_arn(arn)
        .send()
        .await
        .unwrap()
        .auto_scaling_configuration()
        .and_then(|c| c.is_default())
        == Some(true)
}

/// The ARN of the account's default, asked through the SDK.
async fn the_default(emu: &RunningEmulator) -> String {
    let out = apprunner(emu)
        .list_auto_scaling_configurations()
        .latest_only(false)
        .send()
        .await
        .unwrap();
    out.auto_scaling_configuration_summary_list()
        .iter()
        .find(|s| s.is_default() == Some(true))
        .and_then(|s| s.auto_scaling_configuration_arn())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_default_autoscaling_configuration_is_set_and_restored() {
    let emu = support::emulator().await;
    let p = provider(&emu, None);
    let original = the_default(&emu).await;
    let r = resource("autoscaling.big");
    let attrs = r.attributes.clone();
    assert_eq!(attrs["default"], json!(true));
    let first = create(&p, &r, &attrs).await;
    assert!(is_default(&emu, &first.physical_id).await);
    assert_eq!(first.outputs["previous_default"], json!(original));
    let read = p
        .read(Kind::AutoScaling, &first.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "default autoscaling");
    assert_eq!(read.outputs["previous_default"], json!(original));

    // A replacement revision inherits what the old one remembered.
    let mut bigger = attrs.clone();
    bigger["max_size"] = json!(8);
    let second = create(&p, &r, &bigger).await;
    assert!(is_default(&emu, &second.physical_id).await);
    assert_eq!(second.outputs["previous_default"], json!(original));
    delete(&p, Kind::AutoScaling, &first.physical_id, &attrs).await;
    assert!(is_default(&emu, &second.physical_id).await);

    // Someone else makes another configuration the default: drift sees it.
    apprunner(&emu)
        .update_default_auto_scaling_configuration()
        .auto_scaling_configuration_arn(&original)
        .send()
        .await
        .unwrap();
    let read = p
        .read(Kind::AutoScaling, &second.physical_id, &bigger)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.attributes.get("default"), None);

    // Setting the flag again (in place), then clearing it, restores.
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let req = support::request(STACK, &r, &bigger, &deps, prog.clone());
    p.update(&second.physical_id, &req, &["default".to_owned()])
        .await
        .unwrap();
    assert!(is_default(&emu, &second.physical_id).await);
    let mut plain = bigger.clone();
    plain.as_object_mut().unwrap().remove("default");
    let req = support::request(STACK, &r, &plain, &deps, prog.clone());
    let applied = p
        .update(&second.physical_id, &req, &["default".to_owned()])
        .await
        .unwrap();
    assert!(!applied.outputs.contains_key("previous_default"));
    assert_eq!(the_default(&emu).await, original);
    let read = p
        .read(Kind::AutoScaling, &second.physical_id, &plain)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &plain, "no longer default");

    // Deleting the default restores the previous one too.
    let req = support::request(STACK, &r, &bigger, &deps, prog.clone());
    p.update(&second.physical_id, &req, &["default".to_owned()])
        .await
        .unwrap();
    assert!(is_default(&emu, &second.physical_id).await);
    delete(&p, Kind::AutoScaling, &second.physical_id, &bigger).await;
    assert_eq!(the_default(&emu).await, original);
}

#[tokio::test]
async fn vpc_ingress_on_a_private_service_is_created_updated_and_deleted_first() {
    let emu = support::emulator().await;
    let p = provider(&emu, None);
    let inner = service(&p, "services.inner", &[]).await;
    let r = resource("vpc_ingress.door");
    let values = BTreeMap::from([("services.inner.arn", inner.physical_id.clone())]);
    let attrs = support::resolve(&r.attributes, &values);
    let created = create(&p, &r, &attrs).await;
    assert!(
        created.outputs["domain_name"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{:?}",
        created.outputs
    );
    let read = p
        .read(Kind::VpcIngress, &created.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "vpc ingress");
    assert_eq!(
        p.find_owned(STACK, &r.address, &r.name)
            .await
            .unwrap()
            .map(|a| a.physical_id),
        Some(created.physical_id.clone())
    );

    // The endpoint and tags change in place.
    let mut moved = attrs.clone();
    moved["endpoint"] = json!("vpce-0fedcba9876543210");
    moved["tags"]["tier"] = json!("edge");
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let req = support::request(STACK, &r, &moved, &deps, prog.clone());
    p.update(
        &created.physical_id,
        &req,
        &["endpoint".to_owned(), "tags.tier".to_owned()],
    )
    .await
    .unwrap();
    let read = p
        .read(Kind::VpcIngress, &created.physical_id, &moved)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &moved, "vpc ingress after update");
    assert_eq!(emu.admin().count("UpdateVpcIngressConnection"), 1);
    let req = support::request(STACK, &r, &moved, &deps, prog.clone());
    assert!(matches!(
        p.update(&created.physical_id, &req, &["service".to_owned()])
            .await,
        Err(ProviderError::Invalid { .. })
    ));

    // The service cannot go while the connection exists...
    let refused = p
        .delete(Kind::Service, &inner.physical_id, &json!({}), prog.clone())
        .await;
    assert!(refused.is_err(), "{refused:?}");
    // ...but can once the connection is deleted.
    delete(&p, Kind::VpcIngress, &created.physical_id, &moved).await;
    delete(&p, Kind::VpcIngress, &created.physical_id, &moved).await;
    assert!(
        p.read(Kind::VpcIngress, &created.physical_id, &moved)
            .await
            .unwrap()
            .is_none()
    );
    delete(&p, Kind::Service, &inner.physical_id, &json!({})).await;
}

#[tokio::test]
async fn a_domain_without_a_zone_ends_pending_with_its_records() {
    let emu = support::emulator().await;
    let p = provider(&emu, None);
    let web = service(&p, "services.web", &[]).await;
    let r = resource("domains.shop");
    let values = BTreeMap::from([("services.web.arn", web.physical_id.clone())]);
    let attrs = support::resolve(&r.attributes, &values);
    let deps = BTreeMap::new();
    let (prog, lines) = support::progress();
    let created = p
        .create(&support::request(STACK, &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap();
    assert_eq!(
        created.physical_id,
        format!("{}#shop.example.com", web.physical_id)
    );
    assert_eq!(
        created.outputs["status"],
        json!(apprun_engine::attributes::DOMAIN_PENDING_VALIDATION)
    );
    assert!(
        created.outputs["dns_target"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let records: Vec<apprun_engine::attributes::DnsRecord> =
        serde_json::from_value(created.outputs["validation_records"].clone()).unwrap();
    assert_eq!(records.len(), 2, "the domain's and www's: {records:?}");
    let said = lines.lock().unwrap().clone();
    for record in &records {
        let line = format!("CNAME {} -> {}", record.name, record.value);
        assert!(said.iter().any(|l| l.contains(&line)), "{line} in {said:?}");
    }
    let read = p
        .read(Kind::Domain, &created.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "domain");
    assert_eq!(read.outputs, created.outputs);
    assert_eq!(
        p.find_owned(STACK, &r.address, &r.name)
            .await
            .unwrap()
            .map(|a| a.physical_id),
        Some(created.physical_id.clone())
    );
    delete(&p, Kind::Domain, &created.physical_id, &attrs).await;
    delete(&p, Kind::Domain, &created.physical_id, &attrs).await;
    assert!(
        p.read(Kind::Domain, &created.physical_id, &attrs)
            .await
            .unwrap()
            .is_none()
    );
    delete(&p, Kind::Service, &web.physical_id, &json!({})).await;
}

/// A Route 53 hosted zone `name` in moto; its id.
async fn hosted_zone(moto: &support::Moto, name: &str) -> String {
    let r53 = aws_sdk_route53::Client::new(&support::sdk_config(&moto.url()));
    let zone = r53
        .create_hosted_zone()
        .name(name)
        .caller_reference(support::unique("zone"))
        .send()
        .await
        .unwrap();
    zone.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned()
}

/// The CNAME records of zone `id` in moto: (name, value).
async fn cnames(moto: &support::Moto, id: &str) -> Vec<(String, String)> {
    let r53 = aws_sdk_route53::Client::new(&support::sdk_config(&moto.url()));
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(id)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|s| s.r#type().as_str() == "CNAME")
        .flat_map(|s| {
            s.resource_records()
                .iter()
                .map(|r| (s.name().to_owned(), r.value().to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn a_domain_with_a_route53_zone_becomes_active_and_its_records_go_with_it() {
    let moto = support::moto();
    let emu = Emulator::builder()
        .clock(ClockMode::Real)
        .operation_duration(Duration::from_millis(50))
        .route53_endpoint(moto.url())
        .start()
        .await
        .expect("start the App Runner emulator");
    let p = provider(&emu, Some(&moto.url()));
    let zone_domain = format!("{}.example.com", support::unique("z"));
    let zone = hosted_zone(moto, &zone_domain).await;
    let web = service(&p, "services.web", &[]).await;
    let r = resource("domains.shop");
    let values = BTreeMap::from([("services.web.arn", web.physical_id.clone())]);
    let mut attrs = support::resolve(&r.attributes, &values);
    let domain = format!("shop.{zone_domain}");
    attrs["domain"] = json!(domain);
    attrs["route53_zone"] = json!(zone);
    let deps = BTreeMap::new();
    let (prog, lines) = support::progress();
    let created = p
        .create(&support::request(STACK, &r, &attrs, &deps, prog.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}; progress: {:?}", lines.lock().unwrap()));
    assert_eq!(
        created.outputs["status"],
        json!(apprun_engine::attributes::DOMAIN_ACTIVE)
    );
    let written = cnames(moto, &zone).await;
    let target = created.outputs["dns_target"].as_str().unwrap().to_owned();
    // Two validation records, the domain's CNAME and www's.
    assert_eq!(written.len(), 4, "{written:?}");
    assert!(
        written
            .iter()
            .any(|(n, v)| n.trim_end_matches('.') == domain && v == &target),
        "{written:?}"
    );
    let read = p
        .read(Kind::Domain, &created.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_same(&read.attributes, &attrs, "domain with zone");
    delete(&p, Kind::Domain, &created.physical_id, &attrs).await;
    assert_eq!(cnames(moto, &zone).await, Vec::new());
    assert!(
        p.read(Kind::Domain, &created.physical_id, &attrs)
            .await
            .unwrap()
            .is_none()
    );
    delete(&p, Kind::Service, &web.physical_id, &json!({})).await;
}

#[tokio::test]
async fn a_domain_that_never_validates_times_out_saying_what_was_written() {
    let moto = support::moto();
    // Route 53 configured for apprun but not for the emulator: the records
    // are written, the domain never validates.
    let emu = support::emulator().await;
    let url = emu.endpoint_url();
    let settings = Settings {
        endpoints: Endpoints {
            route53: Some(moto.url()),
            ..Endpoints::split(url.clone(), url.clone())
        },
        operation_deadline: Duration::from_secs(2),
        ..Settings::fast()
    };
    let p = AwsProvider::from_sdk_config(&support::sdk_config(&url), settings);
    let zone_domain = format!("{}.example.org", support::unique("t"));
    let zone = hosted_zone(moto, &zone_domain).await;
    let web = service(&p, "services.web", &[]).await;
    let r = resource("domains.shop");
    let values = BTreeMap::from([("services.web.arn", web.physical_id.clone())]);
    let mut attrs = support::resolve(&r.attributes, &values);
    attrs["domain"] = json!(format!("shop.{zone_domain}"));
    attrs["enable_www"] = json!(false);
    attrs["route53_zone"] = json!(zone);
    let out = p
        .create(&support::request(
            STACK,
            &r,
            &attrs,
            &BTreeMap::new(),
            support::progress().0,
        ))
        .await;
    let Err(ProviderError::Timeout { what, .. }) = out else {
        panic!("expected a timeout, got {out:?}");
    };
    assert!(what.contains(&zone) && what.contains("written"), "{what}");
    assert_eq!(cnames(moto, &zone).await.len(), 2);
}
