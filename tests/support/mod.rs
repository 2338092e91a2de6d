//! Helpers shared by the CLI tests: a state made by a fake apply.

#![allow(clippy::unwrap_used, dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

use apprun_engine::desired::desired;
use apprun_engine::graph::Graph;
use apprun_engine::plan::resolve_references;
use apprun_engine::record::recorded;
use apprun_schema::{Address, Kind, VarInputs};
use apprun_state::{LocalStore, Snapshot, Storage};
use serde_json::{Value, json};

/// Outputs a fake provider gives each kind.
pub fn fake_outputs(address: &Address, name: &str) -> BTreeMap<String, Value> {
    let account = "111122223333";
    let arn = match address.kind {
        Kind::Repository => format!("arn:aws:ecr:us-east-1:{account}:repository/{name}"),
        Kind::Role => format!("arn:aws:iam::{account}:role/{name}"),
        Kind::VpcConnector => format!(
            "arn:aws:apprunner:us-east-1:{account}:vpcconnector/{name}/1/0123456789abcdef0123456789abcdef"
        ),
        Kind::AutoScaling => format!(
            "arn:aws:apprunner:us-east-1:{account}:autoscalingconfiguration/{name}/1/0123456789abcdef0123456789abcdef"
        ),
        Kind::Service => format!(
            "arn:aws:apprunner:us-east-1:{account}:service/{name}/0123456789abcdef0123456789abcdef"
        ),
    };
    let mut outputs = BTreeMap::new();
    outputs.insert("arn".to_string(), json!(arn));
    outputs.insert("name".to_string(), json!(name));
    match address.kind {
        Kind::Repository => {
            outputs.insert(
                "uri".into(),
                json!(format!("{account}.dkr.ecr.us-east-1.amazonaws.com/{name}")),
            );
        }
        Kind::Service => {
            outputs.insert(
                "url".into(),
                json!(format!("{name}.us-east-1.awsapprunner.com")),
            );
            outputs.insert("id".into(), json!("0123456789abcdef0123456789abcdef"));
        }
        _ => {}
    }
    outputs
}

/// Writes a state for `stack_file` on `target` as if it had been applied.
pub fn fake_applied_state(stack_file: &Path, target: &str) -> LocalStore {
    let text = std::fs::read_to_string(stack_file).unwrap();
    let stack = apprun_schema::load(&text, &VarInputs::new()).unwrap();
    let store = LocalStore::for_stack(stack_file, &stack.stack.value, target).unwrap();
    let mut snapshot = Snapshot::fresh().unwrap();
    let resources = desired(&stack);
    let graph = Graph::from_desired(&resources);
    let mut known = BTreeMap::new();
    for address in graph.topological() {
        let resource = resources.iter().find(|r| r.address == address).unwrap();
        let resolved = resolve_references(&resource.attributes, &known);
        let outputs = fake_outputs(&address, &resource.name);
        let arn = outputs["arn"].as_str().unwrap().to_string();
        snapshot.upsert(recorded(
            resource,
            &resolved,
            &arn,
            outputs.clone(),
            &snapshot.digest_key.clone(),
        ));
        known.insert(address, Some(outputs));
    }
    snapshot.serial = 1;
    store.write(&snapshot, None).unwrap();
    store
}
