//! The exported JSON Schema: in sync with the committed copy, accepts every
//! example, rejects known-bad stacks.

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::Value;

fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap()
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&apprun_schema::json_schema::generate()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn committed_schema_is_in_sync() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/apprun.schema.json");
    let generated = apprun_schema::json_schema::generate();
    if std::env::var_os("APPRUN_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/apprun.schema.json is stale: run `APPRUN_UPDATE_SCHEMA=1 cargo test -p apprun-schema --test json_schema`"
    );
}

#[test]
fn every_example_matches_the_schema() {
    let validator = validator();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples")).unwrap() {
        let path = entry.unwrap().path().join("apprun.yaml");
        let instance = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn schema_rejects_bad_stacks() {
    let validator = validator();
    let bad = [
        "region: us-east-1\n",                                        // no stack
        "stack: s\nregion: r\nservices:\n  web:\n    imge: x\n",      // unknown key
        "stack: s\nregion: r\nservices:\n  web:\n    port: \"80\"\n", // wrong type
        "stack: s\nregion: r\nroles:\n  a:\n    kind: admin\n",       // bad enum
        "stack: s\nregion: r\nservices:\n  web:\n    cpu: 3 vCPU\n",  // bad cpu
        "stack: s\nregion: r\nvpc_connectors:\n  db:\n    security_groups: []\n", // missing subnets
    ];
    for text in bad {
        assert!(
            !validator.is_valid(&yaml_to_json(text)),
            "schema accepted:\n{text}"
        );
    }
    let good = "stack: s\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/a/b:1\n    cpu: 1 vCPU\n    memory: 2048\n";
    assert!(validator.is_valid(&yaml_to_json(good)));
}
