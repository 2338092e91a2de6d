//! The composition `discover` writes: from live attributes (here, those a
//! stack of every kind would have once applied) to a stack file that means
//! exactly those resources, references wired and defaults left out.

use std::collections::BTreeMap;

use apprun_engine::desired::desired;
use apprun_engine::discover::{Found, compose};
use apprun_engine::plan::{KnownOutputs, resolve_references};
use apprun_engine::provider::Observed;
use apprun_schema::{Address, Kind, VarInputs};
use serde_json::{Value, json};

/// Outputs a target would give each resource of `stack`.
fn outputs(stack: &apprun_schema::Stack) -> KnownOutputs {
    desired(stack)
        .into_iter()
        .map(|d| {
            let a = &d.address;
            let arn = match a.kind {
                Kind::Role => format!("arn:aws:iam::123456789012:role/{}", d.name),
                Kind::Repository => {
                    format!("arn:aws:ecr:us-east-1:123456789012:repository/{}", d.name)
                }
                Kind::Domain => format!("domain/{}", d.name),
                _ => format!(
                    "arn:aws:apprunner:us-east-1:123456789012:{}/{}/1/0123456789abcdef0123456789abcdef",
                    a.kind.section(),
                    d.name
                ),
            };
            let mut out = BTreeMap::from([("arn".to_owned(), json!(arn))]);
            if a.kind == Kind::Repository {
                out.insert(
                    "uri".to_owned(),
                    json!(format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{}", d.name)),
                );
            }
            (a.clone(), Some(out))
        })
        .collect()
}

/// What a target would report for every resource of the stack in `text`.
fn found_from(text: &str) -> (Vec<Found>, KnownOutputs) {
    let stack = apprun_schema::load(text, &VarInputs::new()).expect("the example parses");
    let known = outputs(&stack);
    let found = desired(&stack)
        .into_iter()
        .map(|d| Found {
            kind: d.address.kind,
            id: known[&d.address].as_ref().expect("outputs")["arn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            observed: Observed {
                // What only apprun knows, AWS does not report.
                attributes: as_aws_reports(resolve_references(&d.attributes, &known)),
                outputs: known[&d.address].clone().unwrap_or_default(),
                failed: None,
            },
            notes: Vec::new(),
        })
        .collect();
    (found, known)
}

fn as_aws_reports(mut attributes: Value) -> Value {
    if let Some(map) = attributes.as_object_mut() {
        map.remove("build");
        // The Route 53 zone is apprun's to know, not App Runner's.
        map.remove("route53_zone");
    }
    attributes
}

/// The resolved desired attributes of every resource of a composed stack,
/// by the physical id it was composed from.
fn round_trip(found: &[Found], stack_name: &str) -> (String, BTreeMap<String, Value>) {
    let draft = compose(stack_name, "us-east-1", found);
    let text = draft.text();
    let parsed = match draft.parse() {
        Ok(p) => p,
        Err(errors) => panic!("the composed stack does not parse: {errors:?}\n{text}"),
    };
    let known: KnownOutputs = draft
        .resources
        .iter()
        .map(|c| (c.address.clone(), Some(c.outputs.clone())))
        .collect();
    let ids: BTreeMap<Address, String> = draft
        .resources
        .iter()
        .map(|c| (c.address.clone(), c.physical_id.clone()))
        .collect();
    let attributes = desired(&parsed)
        .into_iter()
        .map(|d| {
            (
                ids[&d.address].clone(),
                resolve_references(&d.attributes, &known),
            )
        })
        .collect();
    (text, attributes)
}

fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("the example exists")
}

#[test]
fn a_stack_of_every_kind_composes_back_to_the_same_resources() {
    for path in [
        "examples/private-api/apprun.yaml",
        "examples/custom-domain/apprun.yaml",
        "examples/hello/apprun.yaml",
    ] {
        let (found, _) = found_from(&example(path));
        let (text, composed) = round_trip(&found, "adopted");
        for f in &found {
            assert_eq!(
                composed.get(&f.id),
                Some(&f.observed.attributes),
                "{path}: {} composes to another resource:\n{text}",
                f.id
            );
        }
        assert_eq!(composed.len(), found.len(), "{text}");
    }
}

#[test]
fn references_are_wired_and_defaults_left_out() {
    let (found, _) = found_from(&example("examples/private-api/apprun.yaml"));
    let (text, _) = round_trip(&found, "private-api");
    insta::assert_snapshot!(text);
}

/// A stack with a code service and a service setting every field away
/// from its default.
const EVERY_SETTING: &str = r#"
stack: every
region: eu-west-1
connections:
  gh: { provider: GITHUB }
roles:
  runner:
    kind: instance
    policies:
      - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
      - name: deny-delete
        statements:
          - effect: Deny
            actions: ["s3:DeleteObject"]
          - actions: ["s3:GetObject"]
            resources: ["arn:aws:s3:::home/$${aws:username}/*"]
services:
  app:
    code:
      repository: https://github.com/example/app
      branch: release
      connection: "${connections.gh.arn}"
      source_directory: /api
      runtime: PYTHON_311
      build_command: pip install -r requirements.txt
      start_command: python app.py
    port: 8000
  api:
    name: legacy-api-name
    image: public.ecr.aws/nginx/nginx:1.27
    instance_role: "${roles.runner.arn}"
    port: 9090
    cpu: 4 vCPU
    memory: 12 GB
    start_command: nginx -g 'daemon off;'
    env: { A: "1", "B_KEY": "two words", HOME_DIR: "$${HOME}/app" }
    health_check: { protocol: HTTP, path: /ready, interval: 7, timeout: 3, healthy_threshold: 4, unhealthy_threshold: 6 }
    ip_address_type: DUAL_STACK
    kms_key: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    paused: true
    tags: { team: "a: b", "odd key": "true" }
"#;

#[test]
fn a_code_service_and_every_service_setting_compose_back() {
    let (found, _) = found_from(EVERY_SETTING);
    let (text, composed) = round_trip(&found, "every");
    for f in &found {
        assert_eq!(
            composed.get(&f.id),
            Some(&f.observed.attributes),
            "{} composes to another resource:\n{text}",
            f.id
        );
    }
    for wanted in [
        "connection: \"${connections.gh.arn}\"",
        "name: legacy-api-name",
        "effect: Deny",
        "cpu: 4 vCPU",
        "HOME_DIR: \"$${HOME}/app\"",
        "odd key: \"true\"",
        "code:\n      repository: https://github.com/example/app\n      branch: release",
    ] {
        assert!(text.contains(wanted), "`{wanted}` missing:\n{text}");
    }
}
