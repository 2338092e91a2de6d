//! Snapshots of rendered diagnostics (uncoloured graphical handler, fixed
//! width), with the temporary directory replaced by `project`, so that the
//! wording users see is reviewed like code.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use apprun_state::{
    DigestKey, Lineage, LocalStore, LockError, LockId, LockInfo, Resource, Snapshot, StateError,
    Storage, format,
};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, diagnostic)
        .unwrap();
    out
}

fn relative(dir: &Path) -> impl Fn(&str) -> String + '_ {
    move |loc: &str| loc.replace(&dir.display().to_string(), "project")
}

fn fixed_snapshot(lineage: &str, serial: u64) -> Snapshot {
    let mut s = Snapshot::with_identity(Lineage::new(lineage), DigestKey::from_bytes([42; 32]));
    s.serial = serial;
    let mut repo = Resource::new("repositories.web", "repository");
    repo.physical_id = Some("arn:aws:ecr:us-east-1:111122223333:repository/web".into());
    s.resources.push(repo);
    s
}

/// A store in `dir` holding two versions (so a backup exists).
fn store_in(dir: &Path) -> (LocalStore, Snapshot) {
    let store = LocalStore::new(dir.join(".apprun/shop.aws.state.json"));
    let s1 = fixed_snapshot("0123456789abcdef0123456789abcdef", 1);
    store.write(&s1, None).unwrap();
    let mut s2 = s1.clone();
    s2.serial = 2;
    store.write(&s2, Some(&s1.generation())).unwrap();
    (store, s2)
}

fn read_error(dir: &Path, edit: impl FnOnce(String) -> String) -> StateError {
    let (store, _) = store_in(dir);
    let text = std::fs::read_to_string(store.path()).unwrap();
    std::fs::write(store.path(), edit(text)).unwrap();
    store.read().unwrap_err().map_locations(relative(dir))
}

#[test]
fn checksum_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_error(dir.path(), |t| {
        t.replace("repository/web", "repository/wex")
    });
    insta::assert_snapshot!(render(&e));
}

#[test]
fn truncated() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_error(dir.path(), |t| t[..t.len() / 2].to_owned());
    insta::assert_snapshot!(render(&e));
}

#[test]
fn unknown_version() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_error(dir.path(), |t| {
        t.replace("\"format_version\": 1,", "\"format_version\": 2,")
    });
    insta::assert_snapshot!(render(&e));
}

#[test]
fn duplicate_address() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_error(dir.path(), |_| {
        let mut s = fixed_snapshot("0123456789abcdef0123456789abcdef", 3);
        s.resources
            .push(Resource::new("repositories.web", "repository"));
        String::from_utf8(format::encode(&s, "x").unwrap()).unwrap()
    });
    insta::assert_snapshot!(render(&e));
}

#[test]
fn foreign_lineage_and_stale_serial() {
    let dir = tempfile::tempdir().unwrap();
    let (store, s2) = store_in(dir.path());
    let mut other = fixed_snapshot("fedcba9876543210fedcba9876543210", 3);
    other.resources.clear();
    let foreign = store
        .write(
            &other,
            Some(
                &Snapshot {
                    serial: 2,
                    ..other.clone()
                }
                .generation(),
            ),
        )
        .unwrap_err()
        .map_locations(relative(dir.path()));
    let mut stale = s2.clone();
    stale.serial = 2;
    let mut base = s2.generation();
    base.serial = 1;
    let stale = store
        .write(&stale, Some(&base))
        .unwrap_err()
        .map_locations(relative(dir.path()));
    insta::assert_snapshot!(format!("{}\n{}", render(&foreign), render(&stale)));
}

#[test]
fn locked() {
    let e = LockError::Locked {
        location: "project/.apprun/shop.aws.state.json".into(),
        holder: Some(Box::new(LockInfo {
            id: LockId::new("6f1c2a9e0d4b4c7f8a3e5d2b1c0f9e8d"),
            operation: "apply".into(),
            user: "ana".into(),
            host: "build-7".into(),
            pid: 4242,
            version: "0.1.0".into(),
            since: "2026-05-01T09:30:00Z".into(),
        })),
    };
    insta::assert_snapshot!(render(&e));
}
