//! The standard endpoint variables reach every service: `AWS_ENDPOINT_URL`
//! (moto: IAM, EC2, ECR, S3) and `AWS_ENDPOINT_URL_APPRUNNER` (the
//! emulator), with static credentials and region from the environment.
//!
//! The environment is process-wide, so the parent test re-runs this binary
//! as a child process with the variables set, and the child does the work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use apprun_aws::{AwsProvider, S3Store, Settings};
use apprun_engine::provider::{Provider, ProviderError};
use apprun_schema::Kind;
use apprun_state::Storage;

const CHILD: &str = "APPRUN_AWS_ENV_CHILD";

#[tokio::test]
async fn endpoints_come_from_the_standard_environment_variables() {
    let emu = support::emulator().await;
    let moto = support::moto();
    let bucket = support::unique("envstate");
    aws_sdk_s3::Client::new(&support::sdk_config(&moto.url()))
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = tokio::process::Command::new(exe)
        .args([
            "child_uses_the_environment",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, &bucket)
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ENDPOINT_URL_APPRUNNER", emu.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the child test did not run:\n{text}"
    );
    // The App Runner calls reached the emulator.
    assert!(emu.admin().count("CreateService") >= 1);
}

#[tokio::test]
#[ignore = "run by endpoints_come_from_the_standard_environment_variables"]
async fn child_uses_the_environment() {
    let Ok(bucket) = std::env::var(CHILD) else {
        return;
    };
    let p = AwsProvider::from_env(Settings::fast()).await;
    let prefix = support::unique("env");
    let yaml = format!(
        r#"
stack: {prefix}
region: us-east-1
repositories:
  web: {{ name: {prefix}-web }}
roles:
  access: {{ name: {prefix}-access, kind: access }}
vpc_connectors:
  db: {{ subnets: [subnet-0123456789abcdef0], security_groups: [sg-0123456789abcdef0] }}
services:
  web: {{ image: "public.ecr.aws/nginx/nginx:latest" }}
"#
    );
    let all = support::desired(&yaml);
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    // IAM and ECR: moto.
    for address in ["roles.access", "repositories.web", "services.web"] {
        let r = support::resource(&all, address);
        let a = p
            .create(&support::request(
                &prefix,
                &r,
                &r.attributes,
                &deps,
                prog.clone(),
            ))
            .await
            .unwrap();
        let observed = p
            .read(r.address.kind, &a.physical_id, &r.attributes)
            .await
            .unwrap()
            .unwrap();
        assert!(
            apprun_engine::diff::diff(&observed.attributes, &r.attributes).is_empty(),
            "{address}"
        );
        p.delete(r.address.kind, &a.physical_id, &r.attributes, prog.clone())
            .await
            .unwrap();
    }
    // EC2: moto answers that the subnet does not exist.
    let r = support::resource(&all, "vpc_connectors.db");
    match p
        .create(&support::request(
            &prefix,
            &r,
            &r.attributes,
            &deps,
            prog.clone(),
        ))
        .await
    {
        Err(ProviderError::Invalid { message, .. }) => {
            assert!(message.contains("subnet-0123456789abcdef0"))
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // S3: moto.
    let store = S3Store::from_env(&bucket, "env/state.json").unwrap();
    assert!(store.read().unwrap().is_none());
    store
        .write(&apprun_state::conformance::sample_snapshot(), None)
        .unwrap();
    assert_eq!(store.read().unwrap().unwrap().serial, 1);
    let _ = Kind::Service;
}
