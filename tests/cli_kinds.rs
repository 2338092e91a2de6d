//! The App Runner kinds beyond services (issue 14), end to end: the real
//! `apprun` binary applies, changes, drift-checks and destroys a stack with
//! an observability configuration, a connection, the account's default
//! auto scaling configuration, two custom domains (one whose records apprun
//! writes in moto's Route 53, one left to a person) and a VPC ingress
//! connection, against moto and the App Runner emulator; the AWS CLI (from
//! the test venv, a client nobody here wrote) checks what exists.
//!
//! - `every_kind_applies_changes_drifts_and_destroys`: the whole life.
//! - `a_code_service_waits_for_its_connection_handshake`: fails at once
//!   naming the console step until the handshake, then applies.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use aws_support::{APPLY, DESTROY, World, aws_cli as aws, python, text};
use serde_json::Value;

/// argv: moto url, emulator url. A hosted zone for example.com, a VPC with
/// two App Runner interface endpoints, and a default auto scaling
/// configuration of the account's own (`team-default`).
const SET_UP: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, emu = sys.argv[1], sys.argv[2]
r53 = boto3.client("route53", endpoint_url=moto, **kw)
zone = r53.create_hosted_zone(Name="example.com", CallerReference="apprun-kinds")["HostedZone"]["Id"].split("/")[-1]
ec2 = boto3.client("ec2", endpoint_url=moto, **kw)
vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
endpoints = [ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.apprunner.requests",
                                     VpcEndpointType="Interface")["VpcEndpoint"]["VpcEndpointId"] for _ in (1, 2)]
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
team = ar.create_auto_scaling_configuration(AutoScalingConfigurationName="team-default", MaxSize=3)
team = team["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]
ar.update_default_auto_scaling_configuration(AutoScalingConfigurationArn=team)
print(json.dumps({"zone": zone, "vpc": vpc, "endpoints": endpoints, "team_default": team}))
"#;

const STACK: &str = r#"
stack: kinds
region: us-east-1
autoscaling:
  house: { min_size: 1, max_size: 4, default: true }
observability:
  traced: { tracing: awsxray }
connections:
  gh: { provider: GITHUB }
services:
  web:
    image: public.ecr.aws/nginx/nginx:1.27
    auto_deploy: false
    observability: "${observability.traced.arn}"
  api:
    image: public.ecr.aws/nginx/nginx:1.27
    auto_deploy: false
    ingress: private
domains:
  shop:
    service: "${services.web.arn}"
    domain: shop.example.com
    route53_zone: ZONE
  docs:
    service: "${services.web.arn}"
    domain: docs.example.com
    enable_www: false
vpc_ingress:
  api-in:
    service: "${services.api.arn}"
    vpc: VPC
    endpoint: ENDPOINT0
outputs:
  docs_records:
    value: "${domains.docs.validation_records}"
  private_url:
    value: "${vpc_ingress.api-in.domain_name}"
"#;

/// The account's default auto scaling configuration, as the AWS CLI sees it.
fn default_asc(emu: &str) -> String {
    let list = aws(
        emu,
        &[
            "apprunner",
            "list-auto-scaling-configurations",
            "--no-latest-only",
        ],
    );
    let arns: Vec<String> = list["AutoScalingConfigurationSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["Status"] == "ACTIVE")
        .map(|a| {
            a["AutoScalingConfigurationArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let defaults: Vec<String> = arns
        .into_iter()
        .filter(|arn| {
            let d = aws(
                emu,
                &[
                    "apprunner",
                    "describe-auto-scaling-configuration",
                    "--auto-scaling-configuration-arn",
                    arn,
                ],
            );
            d["AutoScalingConfiguration"]["IsDefault"] == true
        })
        .collect();
    assert_eq!(defaults.len(), 1, "{defaults:?}");
    defaults[0].clone()
}

/// The service ARN of `name` (ListServices through the AWS CLI).
fn service_arn(emu: &str, name: &str) -> String {
    let list = aws(emu, &["apprunner", "list-services"]);
    list["ServiceSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ServiceName"] == name)
        .map(|s| s["ServiceArn"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no service {name}: {list:#}"))
}

/// The CNAME records in the hosted zone (name -> value).
fn cnames(moto: &str, zone: &str) -> Vec<(String, String)> {
    let sets = aws(
        moto,
        &[
            "route53",
            "list-resource-record-sets",
            "--hosted-zone-id",
            zone,
        ],
    );
    sets["ResourceRecordSets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Type"] == "CNAME")
        .map(|r| {
            (
                r["Name"].as_str().unwrap().trim_end_matches('.').to_owned(),
                r["ResourceRecords"][0]["Value"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_kind_applies_changes_drifts_and_destroys() {
    let w = World::new(100);
    let emu = w.emu.endpoint_url();
    let moto = w.moto.url();
    w.emu.admin().set_route53_endpoint(Some(&moto)).unwrap();
    let world = python(SET_UP, &[&moto, &emu]);
    let zone = world["zone"].as_str().unwrap();
    let endpoint = |i: usize| world["endpoints"][i].as_str().unwrap().to_owned();
    let stack = STACK
        .replace("ZONE", zone)
        .replace("VPC", world["vpc"].as_str().unwrap())
        .replace("ENDPOINT0", &endpoint(0));
    w.write_stack(&stack);

    // Apply: everything exists; what is left to a person is said.
    let out = w.run_ok(APPLY, 0);
    let said = text(&out);
    let (_, needed) = said
        .split_once("Action needed:")
        .expect("an Action needed block");
    assert!(needed.contains("domains.docs"), "{said}");
    assert!(needed.contains("CNAME docs.example.com -> "), "{said}");
    assert!(needed.contains("connections.gh"), "{said}");
    assert!(
        !needed.contains("domains.shop"),
        "the Route 53 domain is active, nothing to do: {said}"
    );

    let web = service_arn(&emu, "kinds-web");
    let api = service_arn(&emu, "kinds-api");
    let domains = aws(
        &emu,
        &[
            "apprunner",
            "describe-custom-domains",
            "--service-arn",
            &web,
        ],
    );
    let status = |domain: &str| {
        domains["CustomDomains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["DomainName"] == domain)
            .map(|d| d["Status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("shop.example.com").as_deref(), Some("active"));
    assert_eq!(
        status("docs.example.com").as_deref(),
        Some("pending_certificate_dns_validation")
    );
    let records = cnames(&moto, zone);
    let dns_target = domains["DNSTarget"].as_str().unwrap();
    assert!(
        records.contains(&("shop.example.com".into(), dns_target.into())),
        "{records:?}"
    );
    assert!(
        records.contains(&("www.shop.example.com".into(), dns_target.into())),
        "{records:?}"
    );
    assert!(
        !records.iter().any(|(name, _)| name.contains("docs")),
        "apprun wrote no record for the domain without a zone: {records:?}"
    );

    let ingress = aws(&emu, &["apprunner", "list-vpc-ingress-connections"]);
    let ingress_arn = ingress["VpcIngressConnectionSummaryList"][0]["VpcIngressConnectionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let described = aws(
        &emu,
        &[
            "apprunner",
            "describe-vpc-ingress-connection",
            "--vpc-ingress-connection-arn",
            &ingress_arn,
        ],
    )["VpcIngressConnection"]
        .clone();
    assert_eq!(described["Status"], "AVAILABLE");
    assert_eq!(described["ServiceArn"], api.as_str());
    assert_eq!(
        described["IngressVpcConfiguration"]["VpcEndpointId"],
        endpoint(0).as_str()
    );

    let connections = aws(
        &emu,
        &[
            "apprunner",
            "list-connections",
            "--connection-name",
            "kinds-gh",
        ],
    );
    assert_eq!(
        connections["ConnectionSummaryList"][0]["Status"],
        "PENDING_HANDSHAKE"
    );

    let web_service = aws(
        &emu,
        &["apprunner", "describe-service", "--service-arn", &web],
    )["Service"]
        .clone();
    let tracing = web_service["ObservabilityConfiguration"]["ObservabilityConfigurationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tracing.contains(":observabilityconfiguration/kinds-traced/"),
        "{tracing}"
    );
    let house = default_asc(&emu);
    assert!(
        house.contains(":autoscalingconfiguration/kinds-house/"),
        "{house}"
    );

    // Nothing to do, no drift.
    w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "apprun.yaml",
        ],
        0,
    );
    w.run_ok(
        &[
            "drift",
            "--target",
            "aws",
            "--detailed-exitcode",
            "apprun.yaml",
        ],
        0,
    );

    // `status` tells each kind's App Runner status.
    let status = w.run_ok(&["status", "--target", "aws", "apprun.yaml"], 0);
    let shown = String::from_utf8(status.stdout).unwrap();
    let line = |address: &str| {
        shown
            .lines()
            .find(|l| l.trim_start().starts_with(address))
            .unwrap_or_else(|| panic!("no {address} in {shown}"))
            .to_owned()
    };
    assert!(
        line("vpc_ingress.api-in").contains("AVAILABLE  domain_name "),
        "{shown}"
    );
    assert!(
        line("connections.gh").contains("PENDING_HANDSHAKE"),
        "{shown}"
    );
    assert!(line("domains.shop").contains("active"), "{shown}");
    assert!(
        line("domains.docs").contains("pending_certificate_dns_validation"),
        "{shown}"
    );

    // Someone moves the default back behind apprun's back: drift says so,
    // and apply takes it back in place.
    aws(
        &emu,
        &[
            "apprunner",
            "update-default-auto-scaling-configuration",
            "--auto-scaling-configuration-arn",
            world["team_default"].as_str().unwrap(),
        ],
    );
    let drift = w.run_ok(
        &[
            "drift",
            "--target",
            "aws",
            "--detailed-exitcode",
            "apprun.yaml",
        ],
        2,
    );
    assert!(
        text(&drift).contains("autoscaling.house"),
        "{}",
        text(&drift)
    );
    w.run_ok(APPLY, 0);
    assert_eq!(default_asc(&emu), house);

    // One field: the VPC endpoint changes in place, nothing else moves.
    w.write_stack(&stack.replace(&endpoint(0), &endpoint(1)));
    let plan = w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--format",
            "json",
            "apprun.yaml",
        ],
        2,
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("vpc_ingress.api-in".to_owned(), "update".to_owned())]
    );
    w.run_ok(APPLY, 0);
    let described = aws(
        &emu,
        &[
            "apprunner",
            "describe-vpc-ingress-connection",
            "--vpc-ingress-connection-arn",
            &ingress_arn,
        ],
    )["VpcIngressConnection"]
        .clone();
    assert_eq!(
        described["IngressVpcConfiguration"]["VpcEndpointId"],
        endpoint(1).as_str()
    );

    // Destroy: none of it is left, the records apprun wrote are gone, and
    // the account's previous default is back.
    w.run_ok(DESTROY, 0);
    assert!(
        aws(&emu, &["apprunner", "list-services"])["ServiceSummaryList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        aws(&emu, &["apprunner", "list-vpc-ingress-connections"])
            ["VpcIngressConnectionSummaryList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        aws(&emu, &["apprunner", "list-connections"])["ConnectionSummaryList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let observability = aws(&emu, &["apprunner", "list-observability-configurations"]);
    assert!(
        !observability.to_string().contains("kinds-traced"),
        "{observability:#}"
    );
    assert_eq!(cnames(&moto, zone), Vec::<(String, String)>::new());
    assert_eq!(default_asc(&emu), world["team_default"].as_str().unwrap());
}

#[test]
fn a_code_service_waits_for_its_connection_handshake() {
    let w = World::new(50);
    let emu = w.emu.endpoint_url();
    w.write_stack(
        r#"
stack: code
region: us-east-1
connections:
  gh: { provider: GITHUB }
services:
  app:
    code:
      repository: https://github.com/example/app
      connection: "${connections.gh.arn}"
      runtime: PYTHON_311
      build_command: pip install -r requirements.txt
      start_command: python app.py
    port: 8000
"#,
    );
    let failed = w.run_ok(APPLY, 1);
    let said = text(&failed);
    assert!(said.contains("code-gh"), "{said}");
    assert!(said.contains("PENDING_HANDSHAKE"), "{said}");
    assert!(said.contains("handshake"), "{said}");
    assert!(
        aws(&emu, &["apprunner", "list-services"])["ServiceSummaryList"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no service was created"
    );

    // The person completes the handshake; apply goes on.
    w.emu
        .admin()
        .complete_handshake("code-gh", apprunner_emulator::Handshake::Available)
        .unwrap();
    w.run_ok(APPLY, 0);
    let services = aws(&emu, &["apprunner", "list-services"]);
    assert_eq!(services["ServiceSummaryList"][0]["ServiceName"], "code-app");
    w.run_ok(DESTROY, 0);
}
