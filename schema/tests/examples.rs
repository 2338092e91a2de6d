//! Every stack under `examples/` is valid, and its normalized model is
//! snapshotted so a change in defaults or normalization shows up in review.

#![allow(clippy::unwrap_used, missing_docs)]

use apprun_schema::{VarInputs, VarOrigin};

/// Variables an example needs from outside (named in its header comment).
fn inputs_for(path: &std::path::Path) -> VarInputs {
    let mut inputs = VarInputs::new();
    if path.to_string_lossy().contains("preview") {
        inputs.set("pr", "42", VarOrigin::Flag);
    }
    inputs
}

#[test]
fn every_example_validates() {
    let mut count = 0;
    insta::glob!("../../examples", "*/apprun.yaml", |path| {
        count += 1;
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} lacks the schema header",
            path.display()
        );
        let stack = match apprun_schema::load(&text, &inputs_for(path)) {
            Ok(stack) => stack,
            Err(errors) => panic!("{}: {errors:#?}", path.display()),
        };
        insta::assert_json_snapshot!(stack);
    });
    assert!(count >= 4, "found only {count} examples");
}

#[test]
fn references_are_exposed_as_data() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/private-api/apprun.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let stack = apprun_schema::load(&text, &VarInputs::new()).unwrap();
    let edges: Vec<String> = stack
        .references
        .iter()
        .map(|r| {
            let from = r
                .from
                .as_ref()
                .map_or("(stack)".to_string(), ToString::to_string);
            format!("{from} -> {}.{} @ {}", r.to, r.attribute, r.field)
        })
        .collect();
    insta::assert_snapshot!(edges.join("\n"));
    let first = &stack.references[0];
    assert_eq!(
        &text[first.span.offset..first.span.end()],
        "${repositories.api.arn}"
    );
}

#[test]
fn preview_names_derive_from_the_pr_variable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/preview/apprun.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut inputs = VarInputs::new();
    inputs.set("pr", "7", VarOrigin::Flag);
    let stack = apprun_schema::load(&text, &inputs).unwrap();
    let web = apprun_schema::Address::new(apprun_schema::Kind::Service, "web");
    assert_eq!(
        stack.physical_name(&web).as_deref(),
        Some("preview-pr-7-web")
    );
    let image = &stack
        .services
        .get("web")
        .unwrap()
        .image
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(
        image,
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:pr-7"
    );
}
