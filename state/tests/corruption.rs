//! Corrupt, tampered and unrelated states (RELIABILITY.md T10, P8, P10): each
//! is refused with a specific diagnostic that names the path and the backup,
//! never a panic, and the file is never overwritten.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use apprun_state::{
    Journal, LocalStore, PendingAction, PendingOp, Resource, Snapshot, StateError, Storage, format,
};
use miette::Diagnostic;

/// A small state written twice (so a backup exists), with its bytes.
fn prepared(dir: &Path) -> (LocalStore, Vec<u8>, Snapshot) {
    let store = LocalStore::new(dir.join(".apprun/shop.aws.state.json"));
    let mut j = Journal::open(&store).unwrap();
    j.update(|s| {
        let mut r = Resource::new("repositories.web", "repository");
        r.physical_id = Some("arn:ecr:web".into());
        r.attributes = serde_json::json!({"scan": true, "n": 1.5});
        s.upsert(r);
    })
    .unwrap();
    j.update(|s| {
        let mut r = Resource::new("services.web", "service");
        r.dependencies = vec!["repositories.web".into()];
        r.outputs.insert("url".into(), "https://w".into());
        s.upsert(r);
    })
    .unwrap();
    let snap = j.into_snapshot();
    (store.clone(), std::fs::read(store.path()).unwrap(), snap)
}

/// Puts `bytes` in place of the state, then checks that a read is refused
/// with one of `codes`, that the error names the state and its backup, and
/// that neither a direct write nor a journal can overwrite the file.
fn assert_refused(store: &LocalStore, bytes: &[u8], base: &Snapshot, codes: &[&str], what: &str) {
    std::fs::write(store.path(), bytes).unwrap();
    let err = match store.read() {
        Ok(s) => panic!("{what}: read accepted a damaged state: {s:?}"),
        Err(e) => e,
    };
    assert!(
        codes.contains(&err.code()),
        "{what}: code {} ({err})",
        err.code()
    );
    let location = store.path().display().to_string();
    assert!(err.to_string().contains(&location), "{what}: {err}");
    let help = err.help().map(|h| h.to_string()).unwrap_or_default();
    let backup = store.backup_path().display().to_string();
    assert!(
        help.contains(&backup),
        "{what}: help must name the backup: {help}"
    );

    let mut next = base.clone();
    next.serial += 1;
    next.upsert(Resource::new("roles.new", "role"));
    assert!(
        store.write(&next, Some(&base.generation())).is_err(),
        "{what}: write"
    );
    assert!(Journal::open(store).is_err(), "{what}: journal");
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        bytes,
        "{what}: file changed"
    );
}

const DAMAGE: &[&str] = &[
    "state::truncated",
    "state::corrupt",
    "state::checksum_mismatch",
    "state::unknown_version",
];

#[test]
fn truncation_at_every_offset_is_refused_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let (store, good, snap) = prepared(dir.path());
    for len in 0..good.len() {
        assert_refused(
            &store,
            &good[..len],
            &snap,
            &["state::truncated"],
            &format!("truncated to {len} of {}", good.len()),
        );
    }
    std::fs::write(store.path(), &good).unwrap();
    assert_eq!(store.read().unwrap(), Some(snap));
}

#[test]
fn a_changed_byte_at_every_offset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, good, snap) = prepared(dir.path());
    for mask in [0x01u8, 0x20, 0xff] {
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= mask;
            assert_refused(
                &store,
                &bad,
                &snap,
                DAMAGE,
                &format!("byte {i} ^ {mask:#04x} ({:?})", good[i] as char),
            );
        }
    }
    std::fs::write(store.path(), &good).unwrap();
    assert_eq!(store.read().unwrap(), Some(snap));
}

#[test]
fn unknown_future_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, good, snap) = prepared(dir.path());
    let text = String::from_utf8(good).unwrap();
    let newer = text.replacen("\"format_version\": 1,", "\"format_version\": 7,", 1);
    assert_refused(
        &store,
        newer.as_bytes(),
        &snap,
        &["state::unknown_version"],
        "v7",
    );
    match store.read() {
        Err(
            e @ StateError::UnknownVersion {
                found: 7,
                supported: 1,
                ..
            },
        ) => {
            assert!(e.help().unwrap().to_string().contains("upgrade apprun"));
        }
        other => panic!("{other:?}"),
    }
}

/// A hand-made document that passes the checksum but breaks an invariant.
fn assert_invariant_refused(edit: impl FnOnce(&mut Snapshot), code: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _good, snap) = prepared(dir.path());
    let mut bad = snap.clone();
    edit(&mut bad);
    let bytes = format::encode(&bad, "x").unwrap();
    assert_refused(&store, &bytes, &snap, &[code], code);
    // And the store refuses to write such a snapshot in the first place.
    std::fs::write(store.path(), format::encode(&snap, "x").unwrap()).unwrap();
    let before = std::fs::read(store.path()).unwrap();
    bad.serial = snap.serial + 1;
    let err = store.write(&bad, Some(&snap.generation())).unwrap_err();
    assert_eq!(err.code(), code);
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
}

#[test]
fn duplicate_address_is_refused() {
    assert_invariant_refused(
        |s| s.resources.push(Resource::new("services.web", "service")),
        "state::duplicate_address",
    );
}

#[test]
fn dangling_dependency_is_refused() {
    assert_invariant_refused(
        |s| {
            s.remove("repositories.web");
        },
        "state::dangling_dependency",
    );
}

#[test]
fn dependency_cycle_is_refused() {
    assert_invariant_refused(
        |s| s.resources[0].dependencies = vec!["services.web".into()],
        "state::dependency_cycle",
    );
}

#[test]
fn malformed_pending_op_is_refused() {
    assert_invariant_refused(
        |s| {
            let op = PendingOp::new("services.ghost", PendingAction::Delete).unwrap();
            s.pending.push(op);
        },
        "state::malformed_pending_op",
    );
    assert_invariant_refused(
        |s| {
            let mut op = PendingOp::new("services.web", PendingAction::Update).unwrap();
            op.started_at = "last tuesday".into();
            s.pending.push(op);
        },
        "state::malformed_pending_op",
    );
}

#[test]
fn a_state_of_another_lineage_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _good, _snap) = prepared(dir.path());
    let mut j = Journal::open(&store).unwrap();
    // Another stack's state is copied over this one out of band.
    let other_dir = tempfile::tempdir().unwrap();
    let (other, other_bytes, _) = prepared(other_dir.path());
    std::fs::copy(other.path(), store.path()).unwrap();
    let err = j
        .update(|s| s.upsert(Resource::new("roles.x", "role")))
        .unwrap_err();
    assert_eq!(err.code(), "state::foreign_lineage", "{err}");
    assert!(
        err.to_string()
            .contains(&store.path().display().to_string())
    );
    assert_eq!(std::fs::read(store.path()).unwrap(), other_bytes);
}

#[test]
fn an_older_serial_is_never_written_over_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _good, snap) = prepared(dir.path());
    let mut slow = Journal::open(&store).unwrap();
    let mut fast = Journal::open(&store).unwrap();
    fast.update(|s| s.upsert(Resource::new("roles.fast", "role")))
        .unwrap();
    let newer = std::fs::read(store.path()).unwrap();
    let err = slow
        .update(|s| s.upsert(Resource::new("roles.slow", "role")))
        .unwrap_err();
    match &err {
        StateError::StaleSerial { stored, given, .. } => {
            assert_eq!((*stored, *given), (snap.serial + 1, snap.serial));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(store.path()).unwrap(), newer);

    // A backup restored over a newer state is refused too (P8).
    std::fs::copy(store.backup_path(), store.path()).unwrap();
    let restored = std::fs::read(store.path()).unwrap();
    let err = fast
        .update(|s| s.upsert(Resource::new("roles.after", "role")))
        .unwrap_err();
    assert_eq!(err.code(), "state::stale_serial");
    assert_eq!(std::fs::read(store.path()).unwrap(), restored);
}

#[test]
fn a_deleted_state_with_a_backup_is_not_mistaken_for_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _good, _snap) = prepared(dir.path());
    std::fs::remove_file(store.path()).unwrap();
    let err = store.read().unwrap_err();
    assert_eq!(err.code(), "state::missing");
    assert!(Journal::open(&store).is_err());
    let fresh = {
        let mut s = Snapshot::fresh().unwrap();
        s.serial = 1;
        s
    };
    assert_eq!(
        store.write(&fresh, None).unwrap_err().code(),
        "state::missing"
    );
    assert!(!store.path().exists());
}
