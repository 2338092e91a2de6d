//! Torn writes (RELIABILITY.md T11): a failure between writing the temporary
//! file and renaming it leaves the previous state intact and readable, and
//! the error names the path.
#![allow(clippy::unwrap_used)]

use apprun_state::failpoint::{AFTER_TEMP_WRITE, BEFORE_RENAME, FailAction};
use apprun_state::{Journal, LocalStore, Resource, StateError, Storage};

fn prepared(dir: &std::path::Path) -> LocalStore {
    let store = LocalStore::new(dir.join(".apprun/shop.aws.state.json"));
    let mut j = Journal::open(&store).unwrap();
    j.update(|s| s.upsert(Resource::new("repositories.web", "repository")))
        .unwrap();
    j.update(|s| s.upsert(Resource::new("roles.web", "role")))
        .unwrap();
    drop(j);
    store
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn failure_between_temp_write_and_rename_keeps_the_previous_state() {
    for point in [AFTER_TEMP_WRITE, BEFORE_RENAME] {
        let dir = tempfile::tempdir().unwrap();
        let good = prepared(dir.path());
        let before = std::fs::read(good.path()).unwrap();
        let backup_before = std::fs::read(good.backup_path()).unwrap();

        let failing = LocalStore::new(good.path()).with_failpoint(point, FailAction::Error);
        let mut j = Journal::open(&failing).unwrap();
        let serial = j.snapshot().serial;
        // A whole-document write (journal batches append instead: see
        // state/tests/journal_file.rs).
        let err = j
            .update(|s| s.upsert(Resource::new("services.web", "service")))
            .unwrap_err();
        assert!(matches!(err, StateError::Io { .. }), "{point}: {err:?}");
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("injected failure"), "{err}");

        // The state is byte-for-byte the previous one, and reads back.
        assert_eq!(std::fs::read(good.path()).unwrap(), before, "{point}");
        let snap = good.read().unwrap().unwrap();
        assert_eq!(snap.serial, serial);
        assert!(snap.pending.is_empty());
        // The journal did not advance either: it still writes against the stored serial.
        assert_eq!(j.snapshot().serial, serial);
        assert!(
            temp_files(&dir.path().join(".apprun")).is_empty(),
            "{point}: temp removed"
        );
        if point == AFTER_TEMP_WRITE {
            // The failure came before the backup was rewritten.
            assert_eq!(std::fs::read(good.backup_path()).unwrap(), backup_before);
        }

        // A healthy writer carries on from the intact state.
        let mut j = Journal::open(&good).unwrap();
        j.update(|s| s.upsert(Resource::new("services.web", "service")))
            .unwrap();
        assert_eq!(good.read().unwrap().unwrap().serial, serial + 1);
        // The backup now holds the previous version.
        assert_eq!(std::fs::read(good.backup_path()).unwrap(), before);
    }
}

#[test]
fn leftover_temp_files_of_a_crashed_writer_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared(dir.path());
    let junk = dir
        .path()
        .join(".apprun/.shop.aws.state.json.tmp-1-deadbeef0000");
    std::fs::write(&junk, b"{ half a st").unwrap();
    let mut j = Journal::open(&store).unwrap();
    j.update(|s| s.upsert(Resource::new("roles.x", "role")))
        .unwrap();
    assert!(!junk.exists());
}
