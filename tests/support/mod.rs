//! Helpers shared by the CLI tests: a state made by a fake apply.

#![allow(clippy::unwrap_used, dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

#[path = "../shared/image_tags.rs"]
mod image_tags;

use apprun_engine::desired::desired;
use apprun_engine::graph::Graph;
use apprun_engine::plan::resolve_references;
use apprun_engine::record::recorded;
use apprun_schema::{Address, Kind, Stack, VarInputs};
use apprun_state::{LocalStore, Snapshot, Storage};
use serde_json::{Value, json};

/// Outputs a fake provider gives each kind.
pub fn fake_outputs(address: &Address, name: &str) -> BTreeMap<String, Value> {
    let account = "111122223333";
    let (arn, extra): (String, Vec<(&str, String)>) = match address.kind {
        Kind::Repository => (
            format!("arn:aws:ecr:us-east-1:{account}:repository/{name}"),
            vec![(
                "uri",
                format!("{account}.dkr.ecr.us-east-1.amazonaws.com/{name}"),
            )],
        ),
        Kind::Role => (format!("arn:aws:iam::{account}:role/{name}"), vec![]),
        Kind::VpcConnector => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:vpcconnector/{name}/1/0123456789abcdef0123456789abcdef"
            ),
            vec![("revision", "1".to_string())],
        ),
        Kind::AutoScaling => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:autoscalingconfiguration/{name}/1/0123456789abcdef0123456789abcdef"
            ),
            vec![("revision", "1".to_string())],
        ),
        Kind::Service => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:service/{name}/0123456789abcdef0123456789abcdef"
            ),
            vec![
                ("id", "0123456789abcdef0123456789abcdef".to_string()),
                ("url", format!("{name}.us-east-1.awsapprunner.com")),
            ],
        ),
        Kind::Observability => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:observabilityconfiguration/{name}/1/0123456789abcdef0123456789abcdef"
            ),
            vec![("revision", "1".to_string())],
        ),
        Kind::Connection => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:connection/{name}/0123456789abcdef0123456789abcdef"
            ),
            vec![("status", "AVAILABLE".to_string())],
        ),
        Kind::VpcIngress => (
            format!(
                "arn:aws:apprunner:us-east-1:{account}:vpcingressconnection/{name}/0123456789abcdef0123456789abcdef"
            ),
            vec![("domain_name", format!("{name}.us-east-1.awsapprunner.com"))],
        ),
        Kind::Domain => {
            let mut outputs = BTreeMap::new();
            outputs.insert("domain".into(), json!(name));
            outputs.insert("dns_target".into(), json!("x.us-east-1.awsapprunner.com"));
            outputs.insert("status".into(), json!("active"));
            outputs.insert("validation_records".into(), json!([]));
            return outputs;
        }
    };
    let mut outputs: BTreeMap<String, Value> = extra
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    outputs.insert("arn".into(), json!(arn));
    outputs.insert("name".into(), json!(name));
    outputs
}

/// `snapshot` with every resource of `stack` recorded as a fake apply
/// would record it, at `serial`.
pub fn fake_applied(stack: &Stack, mut snapshot: Snapshot, serial: u64) -> Snapshot {
    let key = snapshot.digest_key.clone();
    let resources = desired(stack);
    let graph = Graph::from_desired(&resources);
    let mut known = BTreeMap::new();
    for address in graph.topological() {
        let resource = resources.iter().find(|r| r.address == address).unwrap();
        let resolved = resolve_references(&resource.attributes, &known);
        let outputs = fake_outputs(&address, &resource.name);
        // A custom domain has no ARN: its id is its host name here.
        let arn = outputs
            .get("arn")
            .or_else(|| outputs.get("domain"))
            .and_then(|v| v.as_str())
            .unwrap()
            .to_string();
        snapshot.upsert(recorded(resource, &resolved, &arn, outputs.clone(), &key));
        known.insert(address, Some(outputs));
    }
    snapshot.serial = serial;
    snapshot
}

/// Whether a Docker Engine is reachable; without one, a Docker test skips
/// with a message, except under `CI=true`, where it fails.
pub fn docker_available() -> bool {
    let ok =
        Path::new("/var/run/docker.sock").exists() || std::env::var_os("DOCKER_HOST").is_some();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no Docker Engine is reachable"
        );
        eprintln!(
            "SKIPPED: no Docker Engine; start one (or set DOCKER_HOST) to run the Docker tests"
        );
    }
    ok
}

/// Removes the image tags that `stack`'s `build:` services left under
/// `apprun.local/<stack>/`, so test runs do not pile up tags.
pub fn remove_built_images(stack: &str) {
    image_tags::remove_image_tags(&[format!("apprun.local/{stack}/*")]);
}

/// Writes a state for `stack_file` on `target` as if it had been applied.
pub fn fake_applied_state(stack_file: &Path, target: &str) -> LocalStore {
    let text = std::fs::read_to_string(stack_file).unwrap();
    let stack = apprun_schema::load(&text, &VarInputs::new()).unwrap();
    let store = LocalStore::for_stack(stack_file, &stack.stack.value, target).unwrap();
    let snapshot = fake_applied(&stack, Snapshot::fresh().unwrap(), 1);
    store.write(&snapshot, None).unwrap();
    store
}
