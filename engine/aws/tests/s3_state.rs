//! The state conformance suite and S3-specific cases against moto's S3.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use apprun_aws::S3Store;
use apprun_state::{LockError, LockRequest, Locker, Storage};

fn bucket() -> String {
    let moto = support::moto();
    let name = support::unique("state").to_lowercase();
    let config = support::sdk_config(&moto.url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        aws_sdk_s3::Client::new(&config)
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket in moto");
    });
    name
}

fn store(bucket: &str, key: &str) -> S3Store {
    S3Store::new(&support::sdk_config(&support::moto().url()), bucket, key).unwrap()
}

#[test]
fn s3_store_passes_the_state_conformance_suite() {
    let bucket = bucket();
    apprun_state::conformance::run_all(|| {
        let key = format!("{}/state.json", support::unique("case"));
        (store(&bucket, &key), store(&bucket, &key))
    });
}

#[test]
fn the_lock_is_a_conditional_object_naming_its_holder() {
    let bucket = bucket();
    let a = store(&bucket, "shop.json");
    let b = store(&bucket, "shop.json");
    let guard = a.lock(&LockRequest::new("apply")).unwrap();
    match b.lock(&LockRequest::new("destroy")) {
        Err(e @ LockError::Locked { .. }) => {
            let text = e.to_string();
            assert!(text.contains(guard.id().as_str()), "{text}");
            assert!(text.contains("apply"), "{text}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(guard);
    drop(b.lock(&LockRequest::new("destroy")).unwrap());
}

#[test]
fn writes_keep_a_backup_and_a_lost_update_is_refused() {
    let bucket = bucket();
    let a = store(&bucket, "cas.json");
    let mut s1 = apprun_state::conformance::sample_snapshot();
    a.write(&s1, None).unwrap();
    let mut s2 = s1.clone();
    s2.serial = 2;
    a.write(&s2, Some(&s1.generation())).unwrap();
    // The backup holds serial 1.
    let backup = store(&bucket, "cas.json.backup").read().unwrap().unwrap();
    assert_eq!(backup.serial, 1);
    // A writer still based on serial 1 is refused.
    s1.serial = 2;
    assert!(a.write(&s1, Some(&backup.generation())).is_err());
    assert_eq!(a.read().unwrap().unwrap(), s2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_works_from_async_code_and_drops_without_panicking() {
    let bucket = tokio::task::spawn_blocking(bucket).await.unwrap();
    let s = store(&bucket, "async.json");
    // Called directly on a runtime thread and through spawn_blocking.
    assert!(s.read().unwrap().is_none());
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        s2.write(&apprun_state::conformance::sample_snapshot(), None)
    })
    .await
    .unwrap()
    .unwrap();
    let guard = s.lock(&LockRequest::new("apply")).unwrap();
    drop(guard);
    drop(s);
}

#[test]
fn a_corrupted_object_is_refused_not_overwritten() {
    let bucket = bucket();
    let a = store(&bucket, "bad.json");
    a.write(&apprun_state::conformance::sample_snapshot(), None)
        .unwrap();
    let config = support::sdk_config(&support::moto().url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = aws_sdk_s3::Client::new(&config);
        let body = c
            .get_object()
            .bucket(&bucket)
            .key("bad.json")
            .send()
            .await
            .unwrap();
        let mut bytes = body.body.collect().await.unwrap().into_bytes().to_vec();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        c.put_object()
            .bucket(&bucket)
            .key("bad.json")
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    });
    let err = a.read().unwrap_err();
    assert!(err.to_string().contains("s3://"), "{err}");
}

/// Puts a lock record for process `pid` on this host, as a crashed holder
/// would have left it.
fn plant_lock(bucket: &str, key: &str, pid: u32) -> apprun_state::LockInfo {
    let mut info = apprun_state::LockInfo::for_current_process(&LockRequest::new("apply")).unwrap();
    info.pid = pid;
    let body = serde_json::to_vec(&info).unwrap();
    let config = support::sdk_config(&support::moto().url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        aws_sdk_s3::Client::new(&config)
            .put_object()
            .bucket(bucket)
            .key(format!("{key}.lock"))
            .body(body.into())
            .send()
            .await
            .unwrap();
    });
    info
}

#[test]
fn a_dead_holders_lock_is_stale_and_taken_over() {
    let bucket = bucket();
    let a = store(&bucket, "stale.json");
    // A process that has exited: its pid is free.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let planted = plant_lock(&bucket, "stale.json", dead);
    match a.lock_status().unwrap() {
        apprun_state::LockStatus::Stale(s) => assert_eq!(s.record.as_ref(), Some(&planted)),
        other => panic!("expected Stale, got {other:?}"),
    }
    let guard = a.lock(&LockRequest::new("apply")).unwrap();
    let stale = guard
        .replaced_stale()
        .expect("the stale record is reported");
    assert_eq!(stale.record.as_ref(), Some(&planted));
    drop(guard);
    assert_eq!(a.lock_status().unwrap(), apprun_state::LockStatus::Free);
}

#[test]
fn force_unlock_refuses_a_running_holder_and_removes_a_dead_one() {
    let bucket = bucket();
    let a = store(&bucket, "force.json");
    let guard = a.lock(&LockRequest::new("apply")).unwrap();
    let id = guard.id().as_str().to_owned();
    assert!(matches!(
        a.force_unlock(&id),
        Err(LockError::HolderRunning { .. })
    ));
    drop(guard);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let planted = plant_lock(&bucket, "force.json", dead);
    a.force_unlock(planted.id.as_str()).unwrap();
    assert_eq!(a.lock_status().unwrap(), apprun_state::LockStatus::Free);
}

/// Overwrites the lock object of `key` with `info` (a holder's record that
/// changed after it was written, as a takeover between read and delete).
fn rewrite_lock(bucket: &str, key: &str, info: &apprun_state::LockInfo, operation: &str) {
    let mut info = info.clone();
    info.operation = operation.to_owned();
    let body = serde_json::to_value(&info).unwrap();
    let config = support::sdk_config(&support::moto().url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        aws_sdk_s3::Client::new(&config)
            .put_object()
            .bucket(bucket)
            .key(format!("{key}.lock"))
            .body(serde_json::to_vec(&body).unwrap().into())
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn releasing_deletes_only_the_lock_object_this_holder_wrote() {
    let bucket = bucket();
    let a = store(&bucket, "release.json");
    let guard = a.lock(&LockRequest::new("apply")).unwrap();
    let info = guard.info().clone();
    // The object changes after the holder wrote it (same id, other bytes):
    // the conditional delete (If-Match on the ETag written) leaves it.
    rewrite_lock(&bucket, "release.json", &info, "apply (rewritten)");
    drop(guard);
    let b = store(&bucket, "release.json");
    match b.lock(&LockRequest::new("destroy")) {
        Err(e @ LockError::Locked { .. }) => {
            assert!(e.to_string().contains("apply (rewritten)"), "{e}")
        }
        other => panic!("a changed lock object must survive the release: {other:?}"),
    }
    // Unchanged, the holder's own object is removed on release.
    let c = store(&bucket, "release-plain.json");
    drop(c.lock(&LockRequest::new("apply")).unwrap());
    drop(c.lock(&LockRequest::new("apply")).unwrap());
}
