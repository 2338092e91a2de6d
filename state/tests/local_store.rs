//! The local store's write path: the backup is the previous document, and a
//! write after another writer's is refused even though this store remembers
//! what it wrote last.
#![allow(clippy::unwrap_used)]

use apprun_state::{LocalStore, Resource, Snapshot, StateError, Storage};

fn with(snapshot: &Snapshot, serial: u64, address: &str) -> Snapshot {
    let mut next = snapshot.clone();
    next.serial = serial;
    next.upsert(Resource::new(address, "role"));
    next
}

#[test]
fn the_backup_holds_the_previous_document_after_each_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("s.aws.state.json"));
    let first = with(&Snapshot::fresh().unwrap(), 1, "roles.a");
    store.write(&first, None).unwrap();
    let first_bytes = std::fs::read(store.path()).unwrap();
    let second = with(&first, 2, "roles.b");
    store.write(&second, Some(&first.generation())).unwrap();
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), first_bytes);
    let second_bytes = std::fs::read(store.path()).unwrap();
    let third = with(&second, 3, "roles.c");
    store.write(&third, Some(&second.generation())).unwrap();
    assert_eq!(std::fs::read(store.backup_path()).unwrap(), second_bytes);
    assert_eq!(store.read().unwrap(), Some(third));
    // No temporary file is left beside the state.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_write_after_another_writers_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.aws.state.json");
    let mine = LocalStore::new(&path);
    let theirs = LocalStore::new(&path);
    let first = with(&Snapshot::fresh().unwrap(), 1, "roles.a");
    mine.write(&first, None).unwrap();
    let second = with(&first, 2, "roles.b");
    theirs.write(&second, Some(&first.generation())).unwrap();
    // `mine` last wrote serial 1; the file now holds serial 2.
    match mine.write(&with(&first, 2, "roles.c"), Some(&first.generation())) {
        Err(StateError::StaleSerial {
            stored: 2,
            given: 1,
            ..
        }) => {}
        other => panic!("expected stale_serial 2 vs 1, got {other:?}"),
    }
    assert_eq!(mine.read().unwrap(), Some(second));
}

#[test]
fn a_document_changed_behind_the_store_is_decoded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("s.aws.state.json"));
    let first = with(&Snapshot::fresh().unwrap(), 1, "roles.a");
    store.write(&first, None).unwrap();
    // Damage the document this store wrote: the next write must not trust
    // its memory of it.
    let mut bytes = std::fs::read(store.path()).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(store.path(), &bytes).unwrap();
    let refused = store.write(&with(&first, 2, "roles.b"), Some(&first.generation()));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        bytes,
        "the file was overwritten"
    );
}
