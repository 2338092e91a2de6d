//! Tests with real processes: OS lock semantics (two processes racing for
//! the lock, RELIABILITY.md T8) and crash safety of the journal (SIGKILL and
//! abort at each journal point, T6). In-process threads would not exercise
//! either.
//!
//! The test binary re-runs itself as the child: `child_entry` does nothing
//! unless `APPRUN_STATE_CHILD` is set, and then acts out the named role.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use apprun_state::{
    Journal, LocalStore, LockError, LockRequest, Locker, Outcome, PendingAction, PendingOp,
    Resource, Storage,
};

const ROLE: &str = "APPRUN_STATE_CHILD";
const PATH: &str = "APPRUN_STATE_CHILD_PATH";
const PREFIX: &str = "@@ ";

/// The child side. A no-op when run as an ordinary test.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let path = std::env::var(PATH).unwrap();
    let store = LocalStore::new(path);
    match role.as_str() {
        "lock_race" => lock_race_child(&store),
        journal_point => journal_child(&store, journal_point),
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{PREFIX}{line}").unwrap();
    out.flush().unwrap();
}

fn lock_race_child(store: &LocalStore) {
    let mut guard = None;
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("try"), Some(round)) => {
                match store.lock(&LockRequest::new(format!("race {round}"))) {
                    Ok(g) => {
                        say(&format!("held {round} {} {}", g.id(), std::process::id()));
                        guard = Some(g);
                    }
                    Err(LockError::Locked {
                        holder: Some(h), ..
                    }) => say(&format!("busy {round} {} {} {}", h.id, h.pid, h.operation)),
                    Err(e) => say(&format!("error {round} {e}")),
                }
            }
            (Some("release"), Some(round)) => {
                guard.take().unwrap().unlock().unwrap();
                say(&format!("released {round}"));
            }
            _ => return,
        }
    }
}

fn journal_child(store: &LocalStore, point: &str) {
    let _guard = store.lock(&LockRequest::new("apply")).unwrap();
    let mut journal = Journal::open(store).unwrap();
    let op = PendingOp::new("services.api", PendingAction::Create)
        .unwrap()
        .with_detail(serde_json::json!({"name": "api"}));
    match point {
        "before_begin" => {}
        "after_begin" | "abort_in_begin_write" => journal.begin(op).unwrap(),
        "after_complete" | "finish" => {
            journal.begin(op.clone()).unwrap();
            let mut api = Resource::new("services.api", "service");
            api.physical_id = Some("arn:aws:apprunner:us-east-1:1:service/api/1".into());
            api.dependencies = vec!["repositories.web".into()];
            journal.complete(&op.id, Outcome::Applied(api)).unwrap();
            if point == "finish" {
                journal.finish().unwrap();
                say("ready");
                std::thread::sleep(Duration::from_secs(120));
                std::process::exit(3);
            }
        }
        "update" => journal
            .update(|s| s.upsert(Resource::new("roles.extra", "role")))
            .unwrap(),
        other => panic!("unknown child role {other}"),
    }
    say("ready");
    // Wait to be killed; give up after a while so a failed parent leaves no
    // process behind for long.
    std::thread::sleep(Duration::from_secs(120));
    std::process::exit(3);
}

fn spawn_child(role: &str, path: &Path, dir: &Path, envs: &[(&str, &str)]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(PATH, path)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The next line the child said (skipping the test harness's own output).
fn next_said(out: &mut BufReader<ChildStdout>) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        // libtest prints "test child_entry ... " without a newline first.
        if let Some(at) = line.find(PREFIX) {
            return Some(line[at + PREFIX.len()..].trim_end().to_owned());
        }
    }
}

struct Racer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[test]
fn two_processes_race_for_the_lock_200_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".apprun/shop.aws.state.json");
    let mut racers: Vec<Racer> = (0..2)
        .map(|_| {
            let mut child = spawn_child("lock_race", &path, dir.path(), &[]);
            let stdin = child.stdin.take().unwrap();
            let stdout = BufReader::new(child.stdout.take().unwrap());
            Racer {
                child,
                stdin,
                stdout,
            }
        })
        .collect();
    let mut wins = [0u32; 2];
    for round in 0..200 {
        // Alternate who is told first, so both get to win.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            writeln!(racers[i].stdin, "try {round}").unwrap();
            racers[i].stdin.flush().unwrap();
        }
        let said: Vec<String> = racers
            .iter_mut()
            .map(|r| next_said(&mut r.stdout).unwrap())
            .collect();
        let holders: Vec<usize> = (0..2).filter(|&i| said[i].starts_with("held ")).collect();
        assert_eq!(
            holders.len(),
            1,
            "round {round}: exactly one holder: {said:?}"
        );
        let (winner, loser) = (holders[0], 1 - holders[0]);
        wins[winner] += 1;
        let held: Vec<&str> = said[winner].split_whitespace().collect();
        let busy: Vec<&str> = said[loser].split_whitespace().collect();
        assert_eq!(
            busy[0], "busy",
            "round {round}: loser said {:?}",
            said[loser]
        );
        assert_eq!(busy[1], round.to_string());
        assert_eq!(
            busy[2], held[2],
            "round {round}: loser names the holder's lock id"
        );
        assert_eq!(
            busy[3], held[3],
            "round {round}: loser names the holder's pid"
        );
        assert_eq!(busy[3], racers[winner].child.id().to_string());
        assert_eq!(busy[4..].join(" "), format!("race {round}"));
        writeln!(racers[winner].stdin, "release {round}").unwrap();
        racers[winner].stdin.flush().unwrap();
        assert_eq!(
            next_said(&mut racers[winner].stdout).unwrap(),
            format!("released {round}")
        );
    }
    for mut r in racers {
        drop(r.stdin);
        r.child.wait().unwrap();
    }
    eprintln!("lock race: wins per process {wins:?} over 200 rounds");
    // The state directory holds no leftover record.
    assert!(!LocalStore::new(&path).lock_record_path().exists());
}

/// Prepares a state with one resource and a backup, for the crash tests.
fn prepared_state(dir: &Path) -> LocalStore {
    let store = LocalStore::new(dir.join(".apprun/shop.aws.state.json"));
    let mut j = Journal::open(&store).unwrap();
    j.update(|s| s.upsert(Resource::new("repositories.web", "repository")))
        .unwrap();
    j.update(|s| {
        if let Some(r) = s.resources.first_mut() {
            r.physical_id = Some("arn:aws:ecr:us-east-1:1:repository/web".into());
        }
    })
    .unwrap();
    drop(j);
    store
}

/// Runs the journal child up to `point`, then kills it: with SIGKILL once it
/// says it is ready, or lets a fail point abort it. Returns the child's pid.
fn crash_child_at(point: &str, dir: &Path, store: &LocalStore, failpoint: Option<&str>) -> u32 {
    let envs: Vec<(&str, &str)> = failpoint
        .map(|f| vec![("APPRUN_FAILPOINTS", f)])
        .unwrap_or_default();
    let mut child = spawn_child(point, store.path(), dir, &envs);
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    match failpoint {
        None => {
            assert_eq!(next_said(&mut out).as_deref(), Some("ready"), "{point}");
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(9), "{point}: killed by SIGKILL");
        }
        Some(_) => {
            assert_eq!(next_said(&mut out), None, "{point}: aborted before ready");
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(6), "{point}: aborted (SIGABRT)");
        }
    }
    pid
}

fn assert_recovers(store: &LocalStore, pid: u32, pending: &[&str], resources: &[&str]) {
    let snap = store.read().unwrap().expect("state must still exist");
    let got_pending: Vec<String> = snap
        .pending
        .iter()
        .map(|p| p.interrupted_message())
        .collect();
    assert_eq!(got_pending.len(), pending.len(), "{got_pending:?}");
    for (got, want) in got_pending.iter().zip(pending) {
        assert!(got.starts_with(want), "{got} should start with {want}");
    }
    let addrs: Vec<&str> = snap.resources.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(addrs, resources);
    // The dead holder's record is reported as stale and taken over.
    let guard = store.lock(&LockRequest::new("plan")).unwrap();
    let stale = guard
        .replaced_stale()
        .expect("a stale record from the killed child");
    assert_eq!(stale.record.as_ref().unwrap().pid, pid);
    assert_eq!(stale.holder_running, Some(false));
    assert!(
        stale
            .to_string()
            .starts_with(&format!("stale lock record from pid {pid} (not running)")),
        "{stale}"
    );
    drop(guard);
    // Recovery: the next writer folds whatever the journal holds into the
    // document and removes the journal; the state is the one read above.
    let mut j = Journal::open(store).unwrap();
    assert!(!store.journal_path().exists(), "the journal is folded");
    assert_eq!(document_alone(store), snap, "the document holds it all");
    // Stale temporary files (if any) do not stop the next write.
    j.update(|s| s.upsert(Resource::new("roles.next", "role")))
        .unwrap();
}

/// The state the document holds on its own, without the journal.
fn document_alone(store: &LocalStore) -> apprun_state::Snapshot {
    let bytes = std::fs::read(store.path()).unwrap();
    apprun_state::format::decode(&bytes, "state", None).unwrap()
}

#[test]
fn sigkill_before_begin_leaves_no_pending_op() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at("before_begin", dir.path(), &store, None);
    assert_recovers(&store, pid, &[], &["repositories.web"]);
}

#[test]
fn sigkill_after_begin_leaves_the_pending_create() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at("after_begin", dir.path(), &store, None);
    assert_recovers(
        &store,
        pid,
        &["interrupted while creating services.api"],
        &["repositories.web"],
    );
}

#[test]
fn sigkill_after_complete_leaves_the_record_and_no_pending_op() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at("after_complete", dir.path(), &store, None);
    assert_recovers(&store, pid, &[], &["repositories.web", "services.api"]);
}

#[test]
fn abort_mid_begin_append_leaves_a_torn_line_that_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let before = std::fs::read(store.path()).unwrap();
    let pid = crash_child_at(
        "after_begin",
        dir.path(),
        &store,
        Some("state.journal.mid_append=abort"),
    );
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        before,
        "the document is untouched"
    );
    let journal = std::fs::read(store.journal_path()).unwrap();
    assert!(
        !journal.is_empty() && !journal.ends_with(b"\n"),
        "half a line was left: {:?}",
        String::from_utf8_lossy(&journal)
    );
    // The begin was never acknowledged: no pending operation.
    assert_recovers(&store, pid, &[], &["repositories.web"]);
}

#[test]
fn abort_right_after_the_begin_is_synced_keeps_the_pending_create() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let before = std::fs::read(store.path()).unwrap();
    let pid = crash_child_at(
        "after_begin",
        dir.path(),
        &store,
        Some("state.journal.after_sync=abort"),
    );
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    assert_recovers(
        &store,
        pid,
        &["interrupted while creating services.api"],
        &["repositories.web"],
    );
}

#[test]
fn abort_mid_document_write_keeps_the_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let before = std::fs::read(store.path()).unwrap();
    let pid = crash_child_at(
        "update",
        dir.path(),
        &store,
        Some("state.after_temp_write=abort"),
    );
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        before,
        "state untouched"
    );
    assert_recovers(&store, pid, &[], &["repositories.web"]);
}

#[test]
fn abort_right_after_the_document_rename_keeps_the_new_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    // Killed after the rename, before the directory sync: the new state is
    // the one read back.
    let pid = crash_child_at(
        "update",
        dir.path(),
        &store,
        Some("state.after_rename=abort"),
    );
    assert_recovers(&store, pid, &[], &["repositories.web", "roles.extra"]);
}

#[test]
fn abort_mid_fold_keeps_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let before = std::fs::read(store.path()).unwrap();
    let pid = crash_child_at(
        "finish",
        dir.path(),
        &store,
        Some("state.after_temp_write=abort"),
    );
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    assert!(store.journal_path().exists(), "the journal is intact");
    assert_recovers(&store, pid, &[], &["repositories.web", "services.api"]);
}

#[test]
fn abort_between_folding_and_removing_the_journal_reads_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at(
        "finish",
        dir.path(),
        &store,
        Some("state.fold.before_remove=abort"),
    );
    // The document holds every batch; the journal left behind is stale.
    assert!(store.journal_path().exists());
    let state = store.read().unwrap().unwrap();
    assert_eq!(document_alone(&store), state);
    assert_recovers(&store, pid, &[], &["repositories.web", "services.api"]);
}

#[test]
fn a_finished_journal_leaves_the_document_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at("finish", dir.path(), &store, None);
    assert!(!store.journal_path().exists(), "folded and removed");
    let state = document_alone(&store);
    assert_eq!(store.read().unwrap().unwrap(), state);
    assert_eq!(state.serial, 4, "two writes, then a begin and a complete");
    assert_recovers(&store, pid, &[], &["repositories.web", "services.api"]);
}

#[test]
fn a_killed_holder_leaves_a_stale_record_that_force_unlock_removes() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let pid = crash_child_at("before_begin", dir.path(), &store, None);
    let stale = match store.lock_status().unwrap() {
        apprun_state::LockStatus::Stale(s) => s,
        other => panic!("expected a stale lock, got {other:?}"),
    };
    let record = stale.record.clone().unwrap();
    assert_eq!(record.pid, pid);
    assert_eq!(record.operation, "apply");
    assert!(matches!(
        store.force_unlock("wrong-id"),
        Err(LockError::IdMismatch { .. })
    ));
    store.force_unlock(record.id.as_str()).unwrap();
    assert_eq!(store.lock_status().unwrap(), apprun_state::LockStatus::Free);
    assert!(matches!(
        store.force_unlock(record.id.as_str()),
        Err(LockError::NotLocked { .. })
    ));
}

#[test]
fn force_unlock_refuses_while_a_live_process_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = prepared_state(dir.path());
    let mut child = spawn_child("lock_race", store.path(), dir.path(), &[]);
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "try 0").unwrap();
    stdin.flush().unwrap();
    let said = next_said(&mut out).unwrap();
    let id = said.split_whitespace().nth(2).unwrap().to_owned();
    match store.force_unlock(&id) {
        Err(e @ LockError::HolderRunning { .. }) => {
            assert_eq!(e.holder().unwrap().pid, child.id());
        }
        other => panic!("expected state::lock_holder_running, got {other:?}"),
    }
    writeln!(stdin, "release 0").unwrap();
    stdin.flush().unwrap();
    assert_eq!(next_said(&mut out).unwrap(), "released 0");
    drop(stdin);
    child.wait().unwrap();
    assert_eq!(store.lock_status().unwrap(), apprun_state::LockStatus::Free);
}
