//! Shared helpers for the engine's integration tests.

#![allow(clippy::unwrap_used, dead_code, missing_docs)]

use std::path::Path;
use std::sync::Arc;

use apprun_engine::apply::{ApplyOptions, ApplyReport, apply, reconcile};
use apprun_engine::testing::FakeProvider;
use apprun_engine::{Plan, PlanInput, PlanOptions, plan, stack_digest};
use apprun_schema::{Stack, VarInputs};
use apprun_state::{Journal, LocalStore, Storage};

pub fn stack(text: &str) -> Stack {
    apprun_schema::load(text, &VarInputs::new()).unwrap_or_else(|e| panic!("{e:#?}"))
}

pub fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name)
            .join("apprun.yaml"),
    )
    .unwrap()
}

pub fn make_plan(text: &str, store: &dyn Storage, options: &PlanOptions) -> Plan {
    let stack = stack(text);
    let state = store.read().unwrap();
    plan(PlanInput {
        stack: &stack,
        target: apprun_engine::Target::Aws,
        state: state.as_ref(),
        observed: None,
        options,
        stack_digest: &stack_digest(text, &stack),
    })
}

pub fn options() -> ApplyOptions {
    let (_tx, stop) = tokio::sync::watch::channel(false);
    // Crash tests run their child one change at a time, so the n-th journal
    // point is always the same change.
    let parallelism = std::env::var("APPRUN_TEST_PARALLELISM")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4);
    ApplyOptions {
        parallelism,
        stop,
        progress: Arc::new(|_, _| {}),
    }
}

/// Plans and applies `text` against `store` with `provider`.
pub async fn plan_and_apply(
    text: &str,
    store: &LocalStore,
    provider: Arc<FakeProvider>,
    options_: &PlanOptions,
) -> (Plan, ApplyReport) {
    let storage: &dyn Storage = store;
    let mut journal = Journal::open(storage).unwrap();
    reconcile("shop", provider.as_ref(), &mut journal, Arc::new(|_, _| {}))
        .await
        .unwrap();
    let plan = make_plan(text, storage, options_);
    let report = apply(&plan, &stack(text), provider, &mut journal, options())
        .await
        .unwrap();
    (plan, report)
}
