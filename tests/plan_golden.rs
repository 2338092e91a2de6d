//! Golden plan cases: each directory under `tests/plan/` holds a stack
//! (`apprun.yaml`), optionally the stack that was applied before
//! (`before.yaml`, applied here through a fake provider to make the state)
//! and `case.yaml` (observations, pending operations, options). The text,
//! JSON and Markdown renderings are snapshotted.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use apprun_engine::render;
use apprun_engine::{Observation, PlanInput, PlanOptions, plan, stack_digest};
use apprun_schema::{Address, Stack, VarInputs};
use apprun_state::{DigestKey, Lineage, OpId, PendingAction, PendingOp, Snapshot};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    replace: Vec<String>,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    destroy: bool,
    #[serde(default)]
    observed: BTreeMap<String, ObservedSpec>,
    #[serde(default)]
    pending: Vec<PendingSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ObservedSpec {
    Absent(String),
    Failed { failed: String },
    Set { set: BTreeMap<String, Value> },
}

#[derive(Debug, Deserialize)]
struct PendingSpec {
    address: String,
    action: String,
}

fn load(path: &Path) -> Stack {
    let text = std::fs::read_to_string(path).unwrap();
    apprun_schema::load(&text, &VarInputs::new())
        .unwrap_or_else(|e| panic!("{}: {e:#?}", path.display()))
}

fn set_path(value: &mut Value, path: &str, new: Value) {
    let mut current = value;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        current = current.get_mut(*part).unwrap();
    }
    current[parts[parts.len() - 1]] = new;
}

fn run_case(dir: &Path) -> (String, String, String) {
    let stack_text = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    let stack = load(&dir.join("apprun.yaml"));
    let case: Case = std::fs::read_to_string(dir.join("case.yaml"))
        .map(|t| serde_saphyr::from_str(&t).unwrap())
        .unwrap_or_default();
    let mut state = dir.join("before.yaml").exists().then(|| {
        support::fake_applied(
            &load(&dir.join("before.yaml")),
            Snapshot::with_identity(
                Lineage::new("golden-lineage"),
                DigestKey::from_bytes([1; 32]),
            ),
            3,
        )
    });
    if let Some(state) = &mut state {
        for (i, p) in case.pending.iter().enumerate() {
            let action: PendingAction = serde_json::from_value(json!(p.action)).unwrap();
            state.pending.push(PendingOp {
                id: OpId::new(format!("op-{i}")),
                address: p.address.clone(),
                action,
                started_at: "2026-11-20T10:00:00Z".to_string(),
                detail: json!({}),
            });
        }
    }
    let mut observed = BTreeMap::new();
    for (address, spec) in &case.observed {
        let parsed = Address::parse(address).unwrap();
        let record = state.as_ref().unwrap().resource(address).unwrap();
        let observation = match spec {
            ObservedSpec::Absent(word) => {
                assert_eq!(word, "absent");
                Observation::Absent
            }
            ObservedSpec::Failed { failed } => Observation::Present {
                attributes: record.attributes.clone(),
                failed: Some(failed.clone()),
            },
            ObservedSpec::Set { set } => {
                let mut attributes = record.attributes.clone();
                let key = &state.as_ref().unwrap().digest_key;
                // A value read back is sealed where its record is.
                let sealed = apprun_engine::values::sealed_paths(&attributes);
                for (path, value) in set {
                    let value = match (sealed.contains(path), value) {
                        (true, Value::String(s)) => {
                            json!({ "$sensitive": key.digest(s.as_bytes()).as_str() })
                        }
                        _ => value.clone(),
                    };
                    set_path(&mut attributes, path, value);
                }
                Observation::Present {
                    attributes,
                    failed: None,
                }
            }
        };
        observed.insert(parsed, observation);
    }
    let options = PlanOptions {
        targets: case
            .targets
            .iter()
            .map(|a| Address::parse(a).unwrap())
            .collect(),
        replace: case
            .replace
            .iter()
            .map(|a| Address::parse(a).unwrap())
            .collect(),
        destroy: case.destroy,
    };
    let digest = stack_digest(&stack_text, &stack);
    let plan = plan(PlanInput {
        stack: &stack,
        target: apprun_engine::Target::Aws,
        state: state.as_ref(),
        observed: (!observed.is_empty()).then_some(&observed),
        options: &options,
        stack_digest: &digest,
    });
    (
        render::text::render(&plan, false),
        render::json::render(&plan),
        render::markdown::render(&plan, render::markdown::GITHUB_COMMENT_LIMIT),
    )
}

#[test]
fn golden_plans() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 15);
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let (text, json, markdown) = run_case(&dir);
        for rendering in [&text, &json, &markdown] {
            assert!(
                !rendering.contains("pa55word"),
                "{name}: a sensitive variable's value reached a plan"
            );
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root.join(&name));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            insta::assert_snapshot!("text", text);
            insta::assert_snapshot!("json", json);
            insta::assert_snapshot!("markdown", markdown);
        });
    }
}
