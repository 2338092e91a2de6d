//! IAM roles, ECR repositories and VPC connectors (EC2 checks) against moto
//! server, with App Runner on the emulator: the provider contract (T16) and
//! read-back normalization.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use apprun_engine::provider::{Provider, ProviderError};
use apprun_schema::Kind;
use serde_json::json;

fn row(kind: &str, passed: u32) {
    println!(
        "{}",
        json!({"row": "T16", "provider": "aws-moto", "kind": kind, "cases": 4, "passed": passed})
    );
}

fn stack(prefix: &str) -> String {
    format!(
        r#"
stack: {prefix}
region: us-east-1
tags: {{ team: payments }}
repositories:
  web:
    name: {prefix}-web
    scan_on_push: true
    image_tag_mutability: IMMUTABLE
    lifecycle: {{ keep_last: 10, expire_untagged_after_days: 7 }}
    tags: {{ tier: images }}
roles:
  web-access:
    name: {prefix}-access
    kind: access
  web-instance:
    name: {prefix}-instance
    kind: instance
    description: Identity of the running web service
    policies:
      - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
      - name: send-orders
        statements:
          - effect: Allow
            actions: ["sqs:SendMessage", "sqs:GetQueueUrl"]
            resources: ["arn:aws:sqs:us-east-1:111122223333:orders"]
      - statements:
          - actions: ["ecr:DescribeImages"]
"#
    )
}

#[tokio::test]
async fn roles_with_managed_and_inline_policies_round_trip() {
    let moto = support::moto();
    let p = support::provider(&moto.url(), &moto.url());
    let prefix = support::unique("roles");
    let all = support::desired(&stack(&prefix));
    for address in ["roles.web-access", "roles.web-instance"] {
        let r = support::resource(&all, address);
        let passed = support::contract(&p, &prefix, &r, &r.attributes).await;
        row(&format!("role ({address})"), passed);
    }
}

#[tokio::test]
async fn role_updates_change_policies_description_and_tags_in_place() {
    let moto = support::moto();
    let p = support::provider(&moto.url(), &moto.url());
    let prefix = support::unique("role-upd");
    let all = support::desired(&stack(&prefix));
    let r = support::resource(&all, "roles.web-instance");
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let created = p
        .create(&support::request(
            &prefix,
            &r,
            &r.attributes,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();
    assert!(created.physical_id.starts_with("arn:aws:iam::"));

    let mut next = r.attributes.clone();
    next["description"] = json!("changed");
    next["managed_policies"] = json!(["arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"]);
    next["inline_policies"]
        .as_object_mut()
        .unwrap()
        .remove("inline-2");
    next["tags"] = json!({"team": "core"});
    let changed: Vec<String> = apprun_engine::diff::diff(&r.attributes, &next)
        .into_iter()
        .map(|c| c.path)
        .collect();
    p.update(
        &created.physical_id,
        &support::request(&prefix, &r, &next, &deps, prog.clone()),
        &changed,
    )
    .await
    .unwrap();
    let observed = p
        .read(Kind::Role, &created.physical_id, &next)
        .await
        .unwrap()
        .unwrap();
    let diff = apprun_engine::diff::diff(&observed.attributes, &next);
    assert!(diff.is_empty(), "{diff:#?}");
    p.delete(Kind::Role, &created.physical_id, &next, prog)
        .await
        .unwrap();
}

#[tokio::test]
async fn repository_provider_contract_and_updates() {
    let moto = support::moto();
    let p = support::provider(&moto.url(), &moto.url());
    let prefix = support::unique("repo");
    let all = support::desired(&stack(&prefix));
    let r = support::resource(&all, "repositories.web");
    let passed = support::contract(&p, &prefix, &r, &r.attributes).await;
    row("repository", passed);

    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    // Created without scan on push, then turned on: the SDK omits
    // `scanOnPush: false` (the shape's default) and moto ignores an empty
    // scanning configuration, so true -> false cannot be checked on moto.
    let mut first = r.attributes.clone();
    first["scan_on_push"] = json!(false);
    let created = p
        .create(&support::request(&prefix, &r, &first, &deps, prog.clone()))
        .await
        .unwrap();
    assert!(
        created.outputs["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{prefix}-web"))
    );
    let mut next = first.clone();
    next["scan_on_push"] = json!(true);
    next["image_tag_mutability"] = json!("MUTABLE");
    next["lifecycle"] = json!({"keep_last": 3});
    next["tags"] = json!({"team": "core", "tier": "images"});
    let changed: Vec<String> = apprun_engine::diff::diff(&first, &next)
        .into_iter()
        .map(|c| c.path)
        .collect();
    p.update(
        &created.physical_id,
        &support::request(&prefix, &r, &next, &deps, prog.clone()),
        &changed,
    )
    .await
    .unwrap();
    let observed = p
        .read(Kind::Repository, &created.physical_id, &next)
        .await
        .unwrap()
        .unwrap();
    let diff = apprun_engine::diff::diff(&observed.attributes, &next);
    assert!(diff.is_empty(), "{diff:#?}");
    p.delete(Kind::Repository, &created.physical_id, &next, prog)
        .await
        .unwrap();
}

fn connector_yaml(subnet: &str, sg: &str) -> String {
    format!(
        r#"
stack: net
region: us-east-1
vpc_connectors:
  db:
    subnets: [{subnet}]
    security_groups: [{sg}]
    tags: {{ tier: db }}
"#
    )
}

#[tokio::test]
async fn vpc_connector_contract_with_moto_network() {
    let emu = support::emulator().await;
    let moto = support::moto();
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (subnet, sg) = support::network(support::moto()).await;
    let all = support::desired(&connector_yaml(&subnet, &sg));
    let r = support::resource(&all, "vpc_connectors.db");
    let passed = support::contract(&p, "net", &r, &r.attributes).await;
    row("vpc_connector", passed);
}

#[tokio::test]
async fn vpc_connector_with_a_missing_subnet_fails_clearly() {
    let emu = support::emulator().await;
    let moto = support::moto();
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (_, sg) = support::network(support::moto()).await;
    let all = support::desired(&connector_yaml("subnet-0123456789abcdef0", &sg));
    let r = support::resource(&all, "vpc_connectors.db");
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    match p
        .create(&support::request("net", &r, &r.attributes, &deps, prog))
        .await
    {
        Err(ProviderError::Invalid { message, .. }) => {
            assert!(message.contains("subnet-0123456789abcdef0"), "{message}");
            assert!(
                !message.contains(&sg),
                "the existing group is not blamed: {message}"
            );
        }
        other => panic!("expected Invalid naming the subnet, got {other:?}"),
    }
    assert_eq!(
        emu.admin().count("CreateVpcConnector"),
        0,
        "nothing was sent to App Runner"
    );
}
