//! `Journal::record`: many begins and completions in one atomic write.

#![allow(clippy::unwrap_used, missing_docs)]

use apprun_state::{
    Entry, Journal, LocalStore, OpId, Outcome, PendingAction, PendingOp, Resource, Storage,
};

fn op(id: &str, address: &str) -> PendingOp {
    PendingOp {
        id: OpId::new(id),
        address: address.to_string(),
        action: PendingAction::Create,
        started_at: "2026-11-22T00:00:00Z".to_string(),
        detail: serde_json::Value::Null,
    }
}

#[test]
fn a_batch_is_one_write_with_one_result_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("s.t.state.json"));
    let mut journal = Journal::open(&store).unwrap();
    let results = journal.record(vec![
        Entry::Begin(op("a", "services.a")),
        Entry::Begin(op("b", "services.b")),
    ]);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        store.read().unwrap().unwrap().serial,
        1,
        "two begins, one write"
    );
    let results = journal.record(vec![
        Entry::Complete(
            OpId::new("a"),
            Outcome::Applied(Resource::new("services.a", "services")),
        ),
        Entry::Complete(OpId::new("nope"), Outcome::Failed),
        Entry::Complete(OpId::new("b"), Outcome::Failed),
    ]);
    assert!(
        results[0].is_ok() && results[1].is_err() && results[2].is_ok(),
        "{results:?}"
    );
    let state = store.read().unwrap().unwrap();
    assert_eq!(state.serial, 2);
    assert!(state.pending.is_empty());
    assert!(state.resource("services.a").is_some());
    assert!(state.resource("services.b").is_none());
}
