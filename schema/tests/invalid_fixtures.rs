//! Every file under `fixtures/invalid/` breaks one rule. Each must be
//! rejected with the code its first line names (`# expect: schema::...`),
//! every label must lie inside the file, and the rendered diagnostics are
//! snapshotted (uncoloured) so a change in wording, line or column shows up
//! in review.

#![allow(clippy::unwrap_used, missing_docs)]

use apprun_schema::diagnostics::{Report, Style};
use apprun_schema::{SchemaError, VarInputs, VarOrigin};
use miette::Diagnostic;

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .find_map(|line| line.strip_prefix(&format!("# {key}: ")))
}

fn inputs(text: &str) -> VarInputs {
    let mut inputs = VarInputs::new();
    for pair in header(text, "vars").into_iter().flat_map(|v| v.split(',')) {
        let (name, value) = pair.split_once('=').unwrap();
        inputs.set(name, value, VarOrigin::Flag);
    }
    inputs
}

#[test]
fn every_invalid_fixture_fails_with_its_code() {
    let mut count = 0;
    insta::glob!("fixtures/invalid/*.yaml", |path| {
        count += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let expected = header(&text, "expect").expect("fixture names its expected code");
        let errors: Vec<SchemaError> = match apprun_schema::load(&text, &inputs(&text)) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(errors) => errors,
        };
        let codes: Vec<String> = errors.iter().map(SchemaError::code_str).collect();
        assert!(
            codes.iter().any(|c| c == expected),
            "{}: expected {expected}, got {codes:?}",
            path.display()
        );
        for error in &errors {
            for label in error.labels().into_iter().flatten() {
                assert!(
                    label.offset() + label.len() <= text.len(),
                    "{}: label outside the file: {error}",
                    path.display()
                );
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let report = Report {
            file: &name,
            text: &text,
            diagnostics: &errors,
        };
        insta::assert_snapshot!(report.render_text(Style::Plain, 100));
    });
    assert!(count >= 40, "only {count} invalid fixtures");
}

#[test]
fn multiple_problems_are_reported_at_once() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invalid/multiple_errors.yaml"
    ))
    .unwrap();
    let errors = apprun_schema::load(&text, &VarInputs::new()).unwrap_err();
    let codes: Vec<String> = errors.iter().map(SchemaError::code_str).collect();
    assert_eq!(
        codes,
        [
            "schema::missing_source",
            "schema::unknown_key",
            "schema::cpu_memory_mismatch",
            "schema::out_of_range"
        ]
    );
}

#[test]
fn json_diagnostics_carry_line_and_column() {
    let text = "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:1\n    prot: 80\n";
    let errors = apprun_schema::load(text, &VarInputs::new()).unwrap_err();
    let report = Report {
        file: "apprun.yaml",
        text,
        diagnostics: &errors,
    };
    let json = serde_json::to_value(report.to_json()).unwrap();
    insta::assert_json_snapshot!(json);
    assert_eq!(json["diagnostics"][0]["labels"][0]["line"], 6);
    assert_eq!(json["diagnostics"][0]["labels"][0]["column"], 5);
}
