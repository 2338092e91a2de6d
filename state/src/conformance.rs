//! The conformance suite every [`StateStore`] must pass, in the manner of
//! Terraform's `statemgr.TestFull` and `backend.TestBackendStateLocks`.
//!
//! Run it from a backend's tests with [`run_all`], giving a factory that
//! returns two handles on one fresh, empty state (two handles, so that
//! locking and re-opening are tested across handles, as two processes
//! would). Each case panics with a message on failure, like an assertion.
//! This module only observes a store through the traits; it must never reach
//! into a backend's files or objects (backend-specific cases, such as stale
//! locks of dead processes, live in that backend's own tests).

#![allow(clippy::panic)]

use std::fmt::Display;
use std::time::Duration;

use crate::batch::Batch;
use crate::{
    Entry, Journal, LockError, LockRequest, LockStatus, Outcome, PendingAction, PendingOp,
    Resource, Snapshot, StateError, StateStore,
};

/// One named case: it gets two handles on one fresh, empty state.
pub type Case<S> = (&'static str, fn(&S, &S));

/// Every case, in order.
pub fn cases<S: StateStore>() -> Vec<Case<S>> {
    vec![
        ("read_of_empty_store", read_of_empty_store::<S>),
        ("write_read_round_trip", write_read_round_trip::<S>),
        ("serial_increments", serial_increments::<S>),
        ("cas_refuses_stale_serial", cas_refuses_stale_serial::<S>),
        (
            "cas_refuses_foreign_lineage",
            cas_refuses_foreign_lineage::<S>,
        ),
        (
            "write_refuses_integrity_violations",
            write_refuses_integrity_violations::<S>,
        ),
        (
            "lock_excludes_second_locker",
            lock_excludes_second_locker::<S>,
        ),
        ("lock_released_on_drop", lock_released_on_drop::<S>),
        (
            "lock_timeout_waits_then_fails",
            lock_timeout_waits_then_fails::<S>,
        ),
        (
            "force_unlock_needs_the_right_id",
            force_unlock_needs_the_right_id::<S>,
        ),
        (
            "journal_begin_complete_round_trip",
            journal_begin_complete_round_trip::<S>,
        ),
        (
            "pending_ops_survive_reopen",
            pending_ops_survive_reopen::<S>,
        ),
        (
            "journal_batches_read_back_and_fold_keeps_the_state",
            journal_batches_read_back_and_fold_keeps_the_state::<S>,
        ),
        (
            "append_refuses_a_stale_generation",
            append_refuses_a_stale_generation::<S>,
        ),
    ]
}

/// Runs every case, each on a fresh state from `make`.
pub fn run_all<S: StateStore>(make: impl Fn() -> (S, S)) {
    for (name, case) in cases::<S>() {
        let (a, b) = make();
        eprintln!("state store conformance: {name}");
        case(&a, &b);
    }
}

fn ok<T, E: Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

/// A snapshot of serial 1 with two related resources.
pub fn sample_snapshot() -> Snapshot {
    let mut s = ok(Snapshot::fresh(), "fresh snapshot");
    s.serial = 1;
    let mut repo = Resource::new("repositories.web", "repository");
    repo.physical_id = Some("arn:aws:ecr:us-east-1:111122223333:repository/web".into());
    repo.attributes =
        serde_json::json!({"scan_on_push": true, "image_tag_mutability": "IMMUTABLE"});
    repo.outputs.insert(
        "uri".into(),
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/web".into(),
    );
    let mut web = Resource::new("services.web", "service");
    web.physical_id = Some("arn:aws:apprunner:us-east-1:111122223333:service/web/1".into());
    web.attributes = serde_json::json!({"port": 8080, "cpu": "1 vCPU", "ratio": 0.25});
    web.outputs
        .insert("url".into(), "https://web.example".into());
    web.dependencies = vec!["repositories.web".into()];
    s.resources = vec![repo, web];
    s
}

/// The store reads as empty and unlocked.
pub fn read_of_empty_store<S: StateStore>(a: &S, b: &S) {
    assert_eq!(
        ok(a.read(), "read empty"),
        None,
        "a fresh store must read as None"
    );
    assert_eq!(ok(b.read(), "read empty"), None);
    assert_eq!(ok(a.lock_status(), "lock status"), LockStatus::Free);
}

/// What one handle writes, another reads back equal.
pub fn write_read_round_trip<S: StateStore>(a: &S, b: &S) {
    let s = sample_snapshot();
    ok(a.write(&s, None), "first write");
    assert_eq!(ok(b.read(), "read back"), Some(s.clone()));
    let mut s2 = s.clone();
    s2.serial = 2;
    s2.remove("services.web");
    ok(a.write(&s2, Some(&s.generation())), "second write");
    assert_eq!(ok(b.read(), "read back"), Some(s2));
}

/// Each journal change writes serial + 1; a no-op change writes nothing.
pub fn serial_increments<S: StateStore>(a: &S, b: &S) {
    let mut j = ok(Journal::open(a), "open");
    for (i, addr) in ["roles.a", "roles.b", "roles.c"].iter().enumerate() {
        ok(
            j.update(|s| s.upsert(Resource::new(*addr, "role"))),
            "update",
        );
        let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("state missing after write"));
        assert_eq!(stored.serial, i as u64 + 1, "serial after write {}", i + 1);
    }
    ok(j.update(|_| ()), "no-op update");
    let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("state missing"));
    assert_eq!(stored.serial, 3, "a no-op must not bump the serial");
}

/// A write based on an older serial is refused and changes nothing.
pub fn cas_refuses_stale_serial<S: StateStore>(a: &S, b: &S) {
    let s1 = sample_snapshot();
    ok(a.write(&s1, None), "write 1");
    let seen_by_b = ok(b.read(), "b reads").unwrap_or_else(|| panic!("missing"));
    let mut s2 = s1.clone();
    s2.serial = 2;
    s2.upsert(Resource::new("roles.x", "role"));
    ok(a.write(&s2, Some(&s1.generation())), "write 2");

    let mut late = seen_by_b.clone();
    late.serial = 2;
    late.upsert(Resource::new("roles.y", "role"));
    match b.write(&late, Some(&seen_by_b.generation())) {
        Err(StateError::StaleSerial {
            stored: 2,
            given: 1,
            ..
        }) => {}
        other => panic!("expected stale_serial 2 vs 1, got {other:?}"),
    }
    let mut same = s2.clone();
    same.upsert(Resource::new("roles.z", "role"));
    assert!(
        matches!(
            b.write(&same, Some(&s2.generation())),
            Err(StateError::StaleSerial { .. })
        ),
        "a snapshot whose serial is not newer than expected must be refused"
    );
    match b.write(&s1, None) {
        Err(StateError::StaleSerial { .. }) => {}
        other => panic!("creating over an existing state must be refused, got {other:?}"),
    }
    assert_eq!(
        ok(a.read(), "read"),
        Some(s2),
        "a refused write changed the state"
    );
}

/// A write from another lineage is refused and changes nothing.
pub fn cas_refuses_foreign_lineage<S: StateStore>(a: &S, b: &S) {
    let s1 = sample_snapshot();
    ok(a.write(&s1, None), "write 1");
    let other = sample_snapshot();
    assert_ne!(other.lineage, s1.lineage);
    assert!(
        matches!(
            b.write(&other, None),
            Err(StateError::ForeignLineage { .. })
        ),
        "creating a foreign lineage over a state must be refused"
    );
    let mut other2 = other.clone();
    other2.serial = 2;
    assert!(
        matches!(
            b.write(&other2, Some(&other.generation())),
            Err(StateError::ForeignLineage { .. })
        ),
        "a write expecting another lineage must be refused"
    );
    assert!(
        matches!(
            b.write(&other2, Some(&s1.generation())),
            Err(StateError::ForeignLineage { .. })
        ),
        "a snapshot of another lineage must be refused"
    );
    assert_eq!(
        ok(a.read(), "read"),
        Some(s1),
        "a refused write changed the state"
    );
}

/// Snapshots that break an invariant are never written.
pub fn write_refuses_integrity_violations<S: StateStore>(a: &S, _b: &S) {
    let s1 = sample_snapshot();
    ok(a.write(&s1, None), "write 1");
    let mut dup = s1.clone();
    dup.serial = 2;
    dup.resources.push(Resource::new("services.web", "service"));
    assert!(matches!(
        a.write(&dup, Some(&s1.generation())),
        Err(StateError::DuplicateAddress { .. })
    ));
    let mut dangling = s1.clone();
    dangling.serial = 2;
    dangling.remove("repositories.web");
    assert!(matches!(
        a.write(&dangling, Some(&s1.generation())),
        Err(StateError::DanglingDependency { .. })
    ));
    assert_eq!(ok(a.read(), "read"), Some(s1));
}

/// A second locker fails at once, naming the holder.
pub fn lock_excludes_second_locker<S: StateStore>(a: &S, b: &S) {
    let guard = ok(a.lock(&LockRequest::new("apply")), "first lock");
    assert_eq!(guard.info().operation, "apply");
    assert_eq!(guard.info().pid, std::process::id());
    let started = std::time::Instant::now();
    match b.lock(&LockRequest::new("destroy")) {
        Err(LockError::Locked {
            holder: Some(h), ..
        }) => assert_eq!(&*h, guard.info(), "the error must name the holder"),
        other => panic!("expected state::locked with the holder, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fail-fast took {:?}",
        started.elapsed()
    );
    assert_eq!(
        ok(b.lock_status(), "status"),
        LockStatus::Held(Some(guard.info().clone()))
    );
    drop(guard);
}

/// Dropping the guard (also on an error path) or unlocking releases the lock.
pub fn lock_released_on_drop<S: StateStore>(a: &S, b: &S) {
    {
        let _g = ok(a.lock(&LockRequest::new("apply")), "lock");
    }
    let g = ok(b.lock(&LockRequest::new("apply")), "lock after drop");
    ok(g.unlock(), "explicit unlock");

    fn fails_while_locked<S: StateStore>(s: &S) -> Result<(), StateError> {
        let _g = s
            .lock(&LockRequest::new("apply"))
            .map_err(|e| StateError::Backend {
                location: s.location(),
                detail: e.to_string(),
                source: None,
            })?;
        Err(StateError::Backend {
            location: s.location(),
            detail: "simulated failure".into(),
            source: None,
        })
    }
    assert!(fails_while_locked(a).is_err());
    let g = ok(b.lock(&LockRequest::new("apply")), "lock after error path");
    drop(g);
    assert_eq!(ok(a.lock_status(), "status"), LockStatus::Free);
}

/// With a timeout, a locker waits for the holder to let go, or times out
/// naming it.
pub fn lock_timeout_waits_then_fails<S: StateStore>(a: &S, b: &S) {
    let g = ok(a.lock(&LockRequest::new("apply")), "lock");
    match b.lock(&LockRequest::new("plan").with_timeout(Duration::from_millis(200))) {
        Err(LockError::Timeout {
            holder: Some(h), ..
        }) => assert_eq!(&*h, g.info()),
        other => panic!("expected state::lock_timeout naming the holder, got {other:?}"),
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(g);
        });
        let waited = b.lock(&LockRequest::new("plan").with_timeout(Duration::from_secs(10)));
        drop(ok(waited, "lock with timeout after the holder let go"));
    });
}

/// Force-unlock with the wrong id is refused and the lock stays.
pub fn force_unlock_needs_the_right_id<S: StateStore>(a: &S, b: &S) {
    let g = ok(a.lock(&LockRequest::new("apply")), "lock");
    assert!(b.force_unlock("not-the-id").is_err());
    assert!(matches!(
        b.lock(&LockRequest::new("plan")),
        Err(LockError::Locked { .. })
    ));
    drop(g);
    assert!(
        matches!(
            b.force_unlock("not-the-id"),
            Err(LockError::NotLocked { .. }) | Err(LockError::IdMismatch { .. })
        ),
        "force-unlock of a free lock must report it"
    );
}

/// begin writes the pending op; complete removes it and updates the record
/// in one write.
pub fn journal_begin_complete_round_trip<S: StateStore>(a: &S, b: &S) {
    let mut j = ok(Journal::open(a), "open");
    let create = ok(PendingOp::new("services.web", PendingAction::Create), "op")
        .with_detail(serde_json::json!({"name": "web", "token": "t-1"}));
    ok(j.begin(create.clone()), "begin create");
    let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("missing after begin"));
    assert_eq!(stored.pending, vec![create.clone()]);
    assert_eq!(stored.serial, 1);

    let mut web = Resource::new("services.web", "service");
    web.physical_id = Some("arn:web".into());
    ok(
        j.complete(&create.id, Outcome::Applied(web.clone())),
        "complete create",
    );
    let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("missing after complete"));
    assert!(stored.pending.is_empty());
    assert_eq!(stored.resource("services.web"), Some(&web));
    assert_eq!(stored.serial, 2);

    assert!(matches!(
        j.complete(&create.id, Outcome::Failed),
        Err(StateError::UnknownPendingOp { .. })
    ));

    let update = ok(PendingOp::new("services.web", PendingAction::Update), "op");
    ok(j.begin(update.clone()), "begin update");
    ok(
        j.complete(&update.id, Outcome::Failed),
        "complete failed update",
    );
    let delete = ok(PendingOp::new("services.web", PendingAction::Delete), "op");
    ok(j.begin(delete.clone()), "begin delete");
    ok(j.complete(&delete.id, Outcome::Deleted), "complete delete");
    let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("missing"));
    assert!(stored.resources.is_empty() && stored.pending.is_empty());
    assert_eq!(stored.serial, 6);
}

/// Pending ops are durable: a new handle sees them, ready to report.
pub fn pending_ops_survive_reopen<S: StateStore>(a: &S, b: &S) {
    let op = ok(PendingOp::new("services.api", PendingAction::Create), "op");
    {
        let mut j = ok(Journal::open(a), "open");
        ok(j.begin(op.clone()), "begin");
    }
    let j = ok(Journal::open(b), "reopen");
    assert_eq!(j.pending(), &[op.clone()][..]);
    assert!(
        j.pending()[0]
            .interrupted_message()
            .starts_with("interrupted while creating services.api")
    );
}

/// Batches of begins and completions (as an apply records them) read back
/// from another handle after each one; folding keeps the state, serial
/// included; a new journal opens on the same state.
pub fn journal_batches_read_back_and_fold_keeps_the_state<S: StateStore>(a: &S, b: &S) {
    ok(a.write(&sample_snapshot(), None), "first write");
    let mut j = ok(Journal::open(a), "open");
    let ops: Vec<PendingOp> = ["roles.a", "roles.b", "roles.c"]
        .iter()
        .map(|addr| ok(PendingOp::new(*addr, PendingAction::Create), "op"))
        .collect();
    let results = j.record(ops.iter().cloned().map(Entry::Begin).collect());
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(ok(b.read(), "read"), Some(j.snapshot().clone()));
    for (i, op) in ops.iter().enumerate() {
        let mut role = Resource::new(op.address.clone(), "role");
        role.physical_id = Some(format!("arn:role/{i}"));
        role.attributes = serde_json::json!({"i": i, "ratio": 0.1 * i as f64});
        let outcome = if i == 1 {
            Outcome::Failed
        } else {
            Outcome::Applied(role)
        };
        let results = j.record(vec![Entry::Complete(op.id.clone(), outcome)]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("missing"));
        assert_eq!(&stored, j.snapshot(), "read after batch {}", i + 2);
    }
    let before = j.snapshot().clone();
    assert_eq!(before.serial, 5, "one serial per batch");
    assert_eq!(before.resources.len(), 4);
    assert!(before.pending.is_empty());
    ok(j.fold(), "fold");
    ok(b.fold(), "a second fold has nothing to do");
    assert_eq!(ok(b.read(), "read after fold"), Some(before.clone()));
    let finished = ok(j.finish(), "finish");
    assert_eq!(finished, before);
    let reopened = ok(Journal::open(b), "reopen");
    assert_eq!(reopened.snapshot(), &before);
    assert_eq!(reopened.generation(), Some(&before.generation()));
}

/// An append based on a generation that is no longer stored is refused and
/// changes nothing, as a whole write would be.
pub fn append_refuses_a_stale_generation<S: StateStore>(a: &S, b: &S) {
    ok(a.write(&sample_snapshot(), None), "first write");
    let mut first = ok(Journal::open(a), "open a");
    let mut second = ok(Journal::open(b), "open b");
    let op = |addr: &str| ok(PendingOp::new(addr, PendingAction::Create), "op");
    let results = first.record(vec![Entry::Begin(op("roles.a"))]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let late = second.record(vec![Entry::Begin(op("roles.b"))]);
    match late.as_slice() {
        [Err(StateError::StaleSerial { .. })] => {}
        other => panic!("expected state::stale_serial, got {other:?}"),
    }
    // A batch of another lineage, or one that skips a serial.
    let stored = ok(b.read(), "read").unwrap_or_else(|| panic!("missing"));
    assert_eq!(
        &stored,
        first.snapshot(),
        "a refused append changed the state"
    );
    let mut foreign = stored.clone();
    foreign.lineage = sample_snapshot().lineage;
    foreign.serial += 1;
    let batch = Batch {
        lineage: foreign.lineage.clone(),
        serial: foreign.serial,
        entries: Vec::new(),
    };
    assert!(matches!(
        b.append(&batch, &foreign, &stored.generation()),
        Err(StateError::ForeignLineage { .. })
    ));
    let mut skipped = stored.clone();
    skipped.serial = stored.serial + 1;
    let mut expected = stored.generation();
    expected.serial -= 1;
    let batch = Batch {
        lineage: skipped.lineage.clone(),
        serial: skipped.serial,
        entries: Vec::new(),
    };
    assert!(matches!(
        b.append(&batch, &skipped, &expected),
        Err(StateError::StaleSerial { .. })
    ));
    assert_eq!(ok(a.read(), "read"), Some(stored));
}
