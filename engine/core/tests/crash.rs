//! Kill the applying process at each journal point (a real child process
//! aborted by a fail point, which no cleanup survives, like `kill -9`) and
//! show that the state stays readable and the next plan lists the
//! interrupted operation (RELIABILITY P4, P5, T6).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use apprun_engine::render;
use apprun_engine::testing::FakeProvider;
use apprun_engine::{Action, PlanOptions};
use apprun_state::{LocalStore, PendingAction, Storage};
use support::*;

const CHILD_DIR: &str = "APPRUN_TEST_CRASH_CHILD_DIR";

/// Runs in the child: apply the private-api example into the state at
/// `$APPRUN_TEST_CRASH_CHILD_DIR`, with `APPRUN_FAILPOINTS` set by the parent.
#[test]
fn child_entry() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = LocalStore::new(PathBuf::from(dir).join("shop.fake.state.json"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        plan_and_apply(
            &example("private-api"),
            &store,
            Arc::new(FakeProvider::new()),
            &PlanOptions::default(),
        )
        .await;
    });
}

fn crash_at(failpoint: &str) -> (tempfile::TempDir, LocalStore, std::process::ExitStatus) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR, dir.path())
        .env("APPRUN_FAILPOINTS", failpoint)
        .env("APPRUN_TEST_PARALLELISM", "1")
        .status()
        .unwrap();
    let store = LocalStore::new(dir.path().join("shop.fake.state.json"));
    (dir, store, status)
}

#[test]
fn killed_after_the_intent_is_journaled_the_next_plan_lists_it() {
    for nth in 1..=6 {
        let (_dir, store, status) = crash_at(&format!("apply.after_begin=abort@{nth}"));
        assert!(
            !status.success(),
            "the child was not killed at after_begin #{nth}"
        );
        let state = store
            .read()
            .unwrap()
            .unwrap_or_else(|| panic!("no state after kill #{nth}"));
        assert_eq!(state.pending.len(), 1, "kill #{nth}: {:#?}", state.pending);
        assert_eq!(state.pending[0].action, PendingAction::Create);
        assert_eq!(
            state.resources.len(),
            nth - 1,
            "kill #{nth}: every completed create is recorded"
        );
        let plan = make_plan(&example("private-api"), &store, &PlanOptions::default());
        assert_eq!(plan.interrupted.len(), 1);
        assert_eq!(plan.interrupted[0].address, state.pending[0].address);
        let text = render::text::render(&plan, false);
        assert!(
            text.contains("was interrupted while running `create`"),
            "{text}"
        );
    }
}

#[test]
fn killed_after_the_call_the_resource_is_recorded_as_incomplete_and_planned_to_finish() {
    // The create reported its resource before the call returned: it is in
    // state (incomplete) although the run died before journaling the answer.
    let (_dir, store, status) = crash_at("apply.after_call=abort@2");
    assert!(!status.success());
    let state = store.read().unwrap().unwrap();
    assert!(state.pending.is_empty(), "{:#?}", state.pending);
    assert_eq!(state.resources.len(), 2, "{:#?}", state.resources);
    let incomplete: Vec<&str> = state
        .resources
        .iter()
        .filter(|r| r.incomplete.is_some())
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(incomplete.len(), 1, "{:#?}", state.resources);
    let plan = make_plan(&example("private-api"), &store, &PlanOptions::default());
    let change = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == incomplete[0])
        .unwrap();
    assert_eq!(
        change.action,
        Action::Update,
        "finished, never created twice"
    );
    assert_eq!(plan.summary.add, 6);
}

#[test]
fn killed_before_the_intent_nothing_is_pending() {
    let (_dir, store, status) = crash_at("apply.before_begin=abort@3");
    assert!(!status.success());
    let state = store.read().unwrap().unwrap();
    assert!(state.pending.is_empty());
    assert_eq!(state.resources.len(), 2);
    let plan = make_plan(&example("private-api"), &store, &PlanOptions::default());
    assert!(plan.interrupted.is_empty());
    assert_eq!(plan.summary.add, 6);
}
