//! Architecture invariants, checked on the real dependency graph
//! (`cargo metadata`), not in reviewers' heads:
//! - `apprun-schema` and `apprun-engine` never depend on an AWS SDK crate or
//!   bollard, directly or transitively;
//! - only `apprun-aws` depends on `aws-sdk-*` at run time (the emulator's
//!   tests use the App Runner client as a dev-dependency to test the wire);
//! - only `apprun-docker` depends on bollard;
//! - the CLI's commands are thin shells over the engine's operations: no
//!   file in `src/commands/` imports another command, and none is longer
//!   than [`MAX_COMMAND_LINES`] lines (workflows belong in
//!   `engine/core/src/ops/`).

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The host's target triple (`rustc -vV`).
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .unwrap()
}

/// The dependency graph for this host. Filtering by platform keeps
/// `--offline` working on a machine that never downloaded the crates of
/// other platforms (a fresh CI machine).
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let host = host_triple();
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Package name -> names of its normal (non-dev, non-build) dependencies.
fn normal_graph(meta: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dep| names[dep["pkg"].as_str().unwrap()].to_string())
                .collect();
            (names[node["id"].as_str().unwrap()].to_string(), deps)
        })
        .collect()
}

fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_string()];
    while let Some(name) = stack.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen
}

fn forbidden(name: &str) -> bool {
    name.starts_with("aws-sdk-") || name == "aws-config" || name == "bollard"
}

#[test]
fn schema_and_engine_core_stay_free_of_sdk_crates() {
    let graph = normal_graph(&metadata());
    for krate in ["apprun-schema", "apprun-engine"] {
        assert!(
            graph.contains_key(krate),
            "{krate} missing from the workspace"
        );
        let bad: Vec<String> = closure(&graph, krate)
            .into_iter()
            .filter(|d| forbidden(d))
            .collect();
        assert!(bad.is_empty(), "{krate} depends on {bad:?}");
    }
}

#[test]
fn only_the_target_crates_import_their_sdk() {
    let graph = normal_graph(&metadata());
    for (krate, deps) in &graph {
        for dep in deps {
            if dep.starts_with("aws-sdk-") || dep == "aws-config" {
                assert!(
                    krate == "apprun-aws" || dep_is_transitive(krate),
                    "{krate} imports {dep}; only apprun-aws may"
                );
            }
            if dep == "bollard" {
                assert_eq!(
                    krate, "apprun-docker",
                    "{krate} imports bollard; only apprun-docker may"
                );
            }
        }
    }
}

/// SDK crates depend on each other (aws-config on aws-sdk-sso...).
fn dep_is_transitive(krate: &str) -> bool {
    krate.starts_with("aws-")
}

/// The longest a command file may be: parse arguments, call one operation,
/// render, map the exit code. A command that needs more is doing the
/// engine's work.
const MAX_COMMAND_LINES: usize = 120;

/// Every `src/commands/*.rs` file but `mod.rs`, with its text.
fn command_files() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter(|path| path.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "found only {files:?} in {dir:?}");
    files
}

#[test]
fn no_command_imports_another() {
    let files = command_files();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    for (name, text) in &files {
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let other = names.iter().find(|other| {
                *other != name
                    && (code.contains(&format!("super::{other}"))
                        || code.contains(&format!("commands::{other}")))
            });
            assert!(
                other.is_none() && !code.contains("super::"),
                "src/commands/{name}.rs reaches into another command: `{}`; shared logic belongs in an engine operation (apprun_engine::ops) or a CLI module outside commands/",
                line.trim()
            );
        }
    }
}

#[test]
fn commands_stay_thin() {
    for (name, text) in command_files() {
        let lines = text.lines().count();
        assert!(
            lines <= MAX_COMMAND_LINES,
            "src/commands/{name}.rs has {lines} lines (at most {MAX_COMMAND_LINES}): move the workflow into engine/core/src/ops/"
        );
    }
}

#[test]
fn every_command_calls_the_engines_operations_not_the_internals() {
    // The internals a workflow is made of: a command that calls them is
    // running the workflow itself.
    let internals = [
        "apprun_engine::apply::",
        "apprun_engine::drift::drift",
        "apprun_engine::plan::plan",
        "Journal::open",
        "LockRequest",
    ];
    for (name, text) in command_files() {
        for internal in internals {
            assert!(
                !text.contains(internal),
                "src/commands/{name}.rs uses `{internal}`: call an apprun_engine::ops operation instead"
            );
        }
    }
}
