//! The backend conformance suite, run for the local file store.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use apprun_state::LocalStore;

#[test]
fn local_store_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    apprun_state::conformance::run_all(|| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let path = root
            .path()
            .join(format!("case{i}"))
            .join(".apprun/shop.aws.state.json");
        (LocalStore::new(&path), LocalStore::new(&path))
    });
}

#[test]
fn for_stack_puts_state_beside_the_stack_file() {
    let s = LocalStore::for_stack(std::path::Path::new("infra/app.yaml"), "shop", "aws").unwrap();
    assert_eq!(
        s.path(),
        std::path::Path::new("infra/.apprun/shop.aws.state.json")
    );
    assert_eq!(
        s.backup_path(),
        std::path::Path::new("infra/.apprun/shop.aws.state.json.backup")
    );
    let s = LocalStore::for_stack(std::path::Path::new("app.yaml"), "shop", "docker").unwrap();
    assert_eq!(
        s.path(),
        std::path::Path::new(".apprun/shop.docker.state.json")
    );
    assert!(LocalStore::for_stack(std::path::Path::new("a.yaml"), "../x", "aws").is_err());
    assert!(LocalStore::for_stack(std::path::Path::new("a.yaml"), "shop", "").is_err());
}
