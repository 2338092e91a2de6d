//! Hostile and random input: never a panic, never a hang, and every
//! diagnostic points inside the input.

#![allow(clippy::unwrap_used, missing_docs)]

use apprun_schema::{SchemaError, VarInputs};
use miette::Diagnostic;
use proptest::prelude::*;

fn codes(text: &str) -> Vec<String> {
    match apprun_schema::load(text, &VarInputs::new()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(SchemaError::code_str).collect(),
    }
}

fn assert_spans_inside(text: &str) {
    if let Err(errors) = apprun_schema::load(text, &VarInputs::new()) {
        assert!(!errors.is_empty());
        for error in errors {
            for label in error.labels().into_iter().flatten() {
                assert!(
                    label.offset() + label.len() <= text.len(),
                    "{error} at {label:?} in {text:?}"
                );
            }
        }
    }
}

#[test]
fn billion_laughs_is_refused() {
    let mut text = String::from(
        "stack: s\nregion: us-east-1\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..10 {
        let prev = format!("*l{}", level - 1);
        text.push_str(&format!(
            "l{level}: &l{level} [{}]\n",
            vec![prev; 9].join(", ")
        ));
    }
    assert_eq!(codes(&text), ["schema::limit_exceeded"]);
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!(
        "stack: s\nregion: us-east-1\ntags: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(codes(&text), ["schema::limit_exceeded"]);
    let block: String = (0..5_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    assert_spans_inside(&block);
    assert!(!codes(&block).is_empty());
}

#[test]
fn huge_file_is_refused_before_parsing() {
    let text = format!(
        "stack: s\nregion: us-east-1\n#{}\n",
        "x".repeat(5 * 1024 * 1024)
    );
    assert_eq!(codes(&text), ["schema::limit_exceeded"]);
}

#[test]
fn many_resources_are_fine() {
    let mut text = String::from("stack: s\nregion: us-east-1\nservices:\n");
    for i in 0..2_000 {
        text.push_str(&format!("  svc{i}:\n    image: public.ecr.aws/a/b:{i}\n"));
    }
    assert_eq!(codes(&text), Vec::<String>::new());
}

fn example_texts() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path().join("apprun.yaml")).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        assert_spans_inside(&text);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..8),
    ) {
        let examples = example_texts();
        let mut text: Vec<char> = examples[which % examples.len()].chars().collect();
        for (index, op, ch) in edits {
            if text.is_empty() { break; }
            let at = index.index(text.len());
            match op {
                0 => { text.remove(at); }
                1 => text.insert(at, ch),
                2 => text[at] = ch,
                _ => { let tail: Vec<char> = text[at..].to_vec(); text.extend(tail.into_iter().take(40)); }
            }
        }
        let text: String = text.into_iter().collect();
        assert_spans_inside(&text);
    }
}
