//! Test support: moto server from the project's Python venv (IAM, EC2, ECR,
//! S3), one per test binary, on 127.0.0.1; and SDK configs pointing at it and
//! at an in-process App Runner emulator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

#[path = "../../../../tests/shared/moto.rs"]
mod moto_server;
#[allow(unused_imports)] // each test binary uses a different part
pub use moto_server::{Moto, moto};

/// A VPC, a subnet and a security group in `moto`: (subnet id, group id).
pub async fn network(moto: &Moto) -> (String, String) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config(&moto.url()));
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap();
    let sg = ec2
        .create_security_group()
        .group_name(unique("sg"))
        .description("apprun test")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    (
        subnet.subnet().unwrap().subnet_id().unwrap().to_owned(),
        sg.group_id().unwrap().to_owned(),
    )
}

/// A unique suffix for names in this process.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An SdkConfig with static test credentials, us-east-1 and `endpoint`.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "apprun-tests",
        )))
        .endpoint_url(endpoint)
        .build()
}

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use apprun_aws::{AwsProvider, Endpoints, Settings};
use apprun_engine::desired::DesiredResource;
use apprun_engine::provider::{Progress, Provider, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use apprunner_emulator::{ClockMode, Emulator, RunningEmulator};
use serde_json::Value;

/// An emulator on a real clock with short operations.
pub async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .clock(ClockMode::Real)
        .operation_duration(Duration::from_millis(50))
        .start()
        .await
        .expect("start the App Runner emulator")
}

/// A provider: App Runner at `apprunner`, IAM/EC2/ECR at `others`.
pub fn provider(apprunner: &str, others: &str) -> AwsProvider {
    provider_with(apprunner, others, Settings::fast())
}

/// A provider with the given settings.
pub fn provider_with(apprunner: &str, others: &str, settings: Settings) -> AwsProvider {
    let settings = Settings {
        endpoints: Endpoints::split(apprunner, others),
        ..settings
    };
    AwsProvider::from_sdk_config(&sdk_config(others), settings)
}

/// The normalized desired resources of a stack text (references stay text).
pub fn desired(yaml: &str) -> Vec<DesiredResource> {
    let stack = apprun_schema::load(yaml, &apprun_schema::VarInputs::new())
        .unwrap_or_else(|e| panic!("stack does not load: {e:?}"));
    apprun_engine::desired::desired(&stack)
}

/// The desired resource at `address` (e.g. `services.web`).
pub fn resource(all: &[DesiredResource], address: &str) -> DesiredResource {
    all.iter()
        .find(|r| r.address.to_string() == address)
        .cloned()
        .unwrap_or_else(|| panic!("no {address}"))
}

/// Replaces `${...}` references in string values, from `values`.
pub fn resolve(attrs: &Value, values: &BTreeMap<&str, String>) -> Value {
    match attrs {
        Value::String(s) => {
            let mut out = s.clone();
            for (k, v) in values {
                out = out.replace(&format!("${{{k}}}"), v);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, values)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Progress lines, collected.
pub fn progress() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (
        Arc::new(move |_: &Address, line: &str| l.lock().unwrap().push(line.to_owned())),
        lines,
    )
}

/// A request for `r` with `attrs` in stack `stack`.
pub fn request<'a>(
    stack: &'a str,
    r: &'a DesiredResource,
    attrs: &'a Value,
    deps: &'a BTreeMap<Address, BTreeMap<String, Value>>,
    progress: Progress,
) -> ResourceRequest<'a> {
    ResourceRequest {
        stack,
        address: &r.address,
        name: &r.name,
        attributes: attrs,
        dependencies: deps,
        progress,
        created: apprun_engine::provider::Created::ignore(),
    }
}

/// The RELIABILITY T16 contract for one resource: create -> read equals the
/// desired attributes; a second create never duplicates (AlreadyExists, or
/// for auto scaling a new revision while find_owned still finds ours);
/// update of a deleted resource -> NotFound; delete -> delete both Ok.
/// Returns the number of contract cases passed (4).
pub async fn contract(p: &AwsProvider, stack: &str, r: &DesiredResource, attrs: &Value) -> u32 {
    let deps = BTreeMap::new();
    let (prog, _) = progress();
    let req = request(stack, r, attrs, &deps, prog.clone());
    let kind = r.address.kind;

    let applied = p
        .create(&req)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", r.address));
    let observed = p
        .read(kind, &applied.physical_id, attrs)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} reads as absent after create", r.address));
    let diff = apprun_engine::diff::diff(&observed.attributes, attrs);
    assert!(
        diff.is_empty(),
        "{}: create -> read differs: {diff:#?}",
        r.address
    );
    assert_eq!(observed.failed, None);
    let mut passed = 1;

    if kind == Kind::AutoScaling {
        // Revisions coexist by design; ownership still finds one of ours.
        let found = p.find_owned(stack, &r.address, &r.name).await.unwrap();
        assert!(found.is_some(), "find_owned must find the created revision");
    } else {
        match p.create(&req).await {
            Err(ProviderError::AlreadyExists { .. }) => {}
            other => panic!(
                "{}: second create must be AlreadyExists, got {other:?}",
                r.address
            ),
        }
        let found = p.find_owned(stack, &r.address, &r.name).await.unwrap();
        assert_eq!(
            found.map(|a| a.physical_id),
            Some(applied.physical_id.clone()),
            "find_owned finds the first"
        );
        // Another stack does not own it.
        assert_eq!(
            p.find_owned("other-stack", &r.address, &r.name)
                .await
                .unwrap(),
            None
        );
    }
    passed += 1;

    p.delete(kind, &applied.physical_id, attrs, prog.clone())
        .await
        .unwrap_or_else(|e| panic!("delete {}: {e}", r.address));
    p.delete(kind, &applied.physical_id, attrs, prog.clone())
        .await
        .unwrap_or_else(|e| panic!("second delete {}: {e}", r.address));
    assert!(
        p.read(kind, &applied.physical_id, attrs)
            .await
            .unwrap()
            .is_none()
    );
    passed += 1;

    match p
        .update(&applied.physical_id, &req, &["tags.x".to_owned()])
        .await
    {
        Err(ProviderError::NotFound { .. }) => {}
        other => panic!(
            "{}: update of a missing resource must be NotFound, got {other:?}",
            r.address
        ),
    }
    passed += 1;
    passed
}
