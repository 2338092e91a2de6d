//! The local store's append-only journal (issue 16 item 7): batches are
//! appended beside the document and folded into it at the end and on
//! recovery; reads replay them in memory; a torn last line is never used.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};

use apprun_state::batch::Batch;
use apprun_state::failpoint::{FailAction, JOURNAL_MID_APPEND};
use apprun_state::{
    DigestKey, Entry, Generation, Journal, Lineage, LocalStore, OpId, Outcome, PendingAction,
    PendingOp, Resource, Snapshot, StateError, Storage,
};

/// The old way: every batch rewrites the whole document (`Storage::append`'s
/// default, what a backend without a journal does).
struct WholeDocument(LocalStore);

impl Storage for WholeDocument {
    fn location(&self) -> String {
        self.0.location()
    }
    fn read(&self) -> Result<Option<Snapshot>, StateError> {
        self.0.read()
    }
    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        self.0.write(snapshot, expected)
    }
}

fn op(id: &str, address: &str, action: PendingAction) -> PendingOp {
    PendingOp {
        id: OpId::new(id),
        address: address.to_owned(),
        action,
        started_at: "2026-11-22T00:00:00Z".to_owned(),
        detail: serde_json::json!({"name": address}),
    }
}

fn record(address: &str, i: usize) -> Resource {
    let mut r = Resource::new(address, "service");
    r.physical_id = Some(format!(
        "arn:aws:apprunner:us-east-1:1:service/{address}/{i}"
    ));
    r.attributes = serde_json::json!({
        "cpu": 1024, "memory": 2048, "ratio": 0.1 + i as f64, "env": {"A": {"$sensitive": "ab"}},
    });
    r.outputs
        .insert("url".into(), format!("https://{i}.example").into());
    r
}

/// A written state of serial 1 with one resource, the same in every store.
fn initial() -> Snapshot {
    let mut s = Snapshot::with_identity(Lineage::new("lin-1"), DigestKey::from_bytes([7; 32]));
    s.serial = 1;
    s.resources.push(record("repositories.web", 0));
    s
}

/// An apply's batches: begins, then completions (one fails, one deletes,
/// one records an incomplete resource), then a delete of the repository.
fn batches() -> Vec<Vec<Entry>> {
    let mut incomplete = record("services.c", 3);
    incomplete.incomplete = Some("a follow-up call failed".into());
    vec![
        vec![
            Entry::Begin(op("a", "services.a", PendingAction::Create)),
            Entry::Begin(op("b", "services.b", PendingAction::Create)),
        ],
        vec![
            Entry::Complete(OpId::new("a"), Outcome::Applied(record("services.a", 1))),
            Entry::Begin(op("c", "services.c", PendingAction::Create)),
        ],
        vec![Entry::Complete(OpId::new("b"), Outcome::Failed)],
        vec![Entry::Complete(
            OpId::new("c"),
            Outcome::Applied(incomplete),
        )],
        vec![Entry::Begin(op(
            "d",
            "repositories.web",
            PendingAction::Delete,
        ))],
        vec![Entry::Complete(OpId::new("d"), Outcome::Deleted)],
    ]
}

fn local(dir: &std::path::Path) -> LocalStore {
    let store = LocalStore::new(dir.join(".apprun/shop.aws.state.json"));
    store.write(&initial(), None).unwrap();
    store
}

fn run<S: Storage + ?Sized>(journal: &mut Journal<'_, S>, batches: Vec<Vec<Entry>>) {
    for batch in batches {
        let results = journal.record(batch);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
}

#[test]
fn append_then_fold_equals_the_old_whole_document_write() {
    let dir = tempfile::tempdir().unwrap();
    let appending = local(&dir.path().join("a"));
    let whole = WholeDocument(local(&dir.path().join("b")));
    let document_before = std::fs::read(appending.path()).unwrap();

    let mut a = Journal::open(&appending).unwrap();
    let mut b = Journal::open(&whole).unwrap();
    for batch in batches() {
        run(&mut a, vec![batch.clone()]);
        run(&mut b, vec![batch]);
        // Before folding, every read sees the same state either way.
        assert_eq!(appending.read().unwrap(), whole.read().unwrap());
        assert_eq!(appending.read().unwrap().as_ref(), Some(a.snapshot()));
    }
    // Appending left the document alone and wrote one line per batch.
    assert_eq!(std::fs::read(appending.path()).unwrap(), document_before);
    let journal = std::fs::read_to_string(appending.journal_path()).unwrap();
    assert_eq!(journal.lines().count(), batches().len());
    assert!(!whole.0.journal_path().exists());

    let a = a.finish().unwrap();
    let b = b.finish().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.serial, 1 + batches().len() as u64, "one serial per batch");
    assert!(!appending.journal_path().exists(), "folded and removed");
    assert_eq!(
        std::fs::read(appending.path()).unwrap(),
        std::fs::read(whole.0.path()).unwrap(),
        "the folded document is byte for byte the one whole writes leave"
    );
    // The backup is the document before the fold.
    assert_eq!(
        std::fs::read(appending.backup_path()).unwrap(),
        document_before
    );
}

#[test]
fn recovery_after_a_crash_keeps_the_acknowledged_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut all = batches();
    let last = all.split_off(3);
    let mut journal = Journal::open(&store).unwrap();
    run(&mut journal, all);
    let acknowledged = journal.snapshot().clone();
    // A crash: no fold, and half of the next batch's line on disk.
    std::mem::forget(journal);
    let line = {
        let other = tempfile::tempdir().unwrap();
        let twin = local(other.path());
        let mut j = Journal::open(&twin).unwrap();
        let mut first = batches();
        let next = first.split_off(3);
        run(&mut j, first);
        let len = std::fs::read(twin.journal_path()).unwrap().len();
        run(&mut j, vec![next[0].clone()]);
        let bytes = std::fs::read(twin.journal_path()).unwrap();
        std::mem::forget(j);
        bytes[len..].to_vec()
    };
    let mut torn = std::fs::read(store.journal_path()).unwrap();
    torn.extend_from_slice(&line[..line.len() / 2]);
    std::fs::write(store.journal_path(), &torn).unwrap();
    let document = std::fs::read(store.path()).unwrap();

    // Read-only: the folded view, acknowledged batches only, nothing written.
    for _ in 0..2 {
        assert_eq!(store.read().unwrap().as_ref(), Some(&acknowledged));
    }
    assert_eq!(std::fs::read(store.path()).unwrap(), document);
    assert_eq!(std::fs::read(store.journal_path()).unwrap(), torn);

    // The next writer folds on open and carries on.
    let mut journal = Journal::open(&store).unwrap();
    assert!(!store.journal_path().exists());
    assert_eq!(journal.snapshot(), &acknowledged);
    let stored = apprun_state::format::decode(&std::fs::read(store.path()).unwrap(), "s", None);
    assert_eq!(stored.unwrap(), acknowledged);
    run(&mut journal, last);
    let end = journal.finish().unwrap();
    assert_eq!(end.serial, 1 + batches().len() as u64);
    assert_eq!(store.read().unwrap(), Some(end));
}

#[test]
fn an_append_cuts_off_a_torn_line_and_a_stale_journal_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut journal = Journal::open(&store).unwrap();
    let mut all = batches().into_iter();
    run(&mut journal, vec![all.next().unwrap()]);
    // Junk after the last line, under an open journal (as a crashed
    // append of another handle would leave it).
    let good = std::fs::read(store.journal_path()).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"format_version\":1,\"chec");
    std::fs::write(store.journal_path(), &torn).unwrap();
    run(&mut journal, vec![all.next().unwrap()]);
    let lines = std::fs::read(store.journal_path()).unwrap();
    assert!(lines.starts_with(&good) && lines.ends_with(b"\n"));
    assert_eq!(String::from_utf8(lines).unwrap().lines().count(), 2);
    assert_eq!(store.read().unwrap().as_ref(), Some(journal.snapshot()));

    // A fold, then its journal put back (a crash before the removal): the
    // next append starts the journal afresh.
    let stale = std::fs::read(store.journal_path()).unwrap();
    store.fold().unwrap();
    std::fs::write(store.journal_path(), &stale).unwrap();
    assert_eq!(store.read().unwrap().as_ref(), Some(journal.snapshot()));
    run(&mut journal, vec![all.next().unwrap()]);
    let text = std::fs::read_to_string(store.journal_path()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(store.read().unwrap().as_ref(), Some(journal.snapshot()));
    run(&mut journal, all.collect());
    let end = journal.finish().unwrap();
    assert_eq!(end.serial, 1 + batches().len() as u64);
}

/// Appends through `good`, or through `failing` while `fail` is set.
struct Switch {
    good: LocalStore,
    failing: LocalStore,
    fail: AtomicBool,
}

impl Storage for Switch {
    fn location(&self) -> String {
        self.good.location()
    }
    fn read(&self) -> Result<Option<Snapshot>, StateError> {
        self.good.read()
    }
    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        self.good.write(snapshot, expected)
    }
    fn append(
        &self,
        batch: &Batch,
        next: &Snapshot,
        expected: &Generation,
    ) -> Result<(), StateError> {
        if self.fail.load(Ordering::SeqCst) {
            self.failing.append(batch, next, expected)
        } else {
            self.good.append(batch, next, expected)
        }
    }
    fn fold(&self) -> Result<(), StateError> {
        self.good.fold()
    }
}

#[test]
fn a_failed_append_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let good = local(dir.path());
    let store = Switch {
        failing: LocalStore::new(good.path()).with_failpoint(JOURNAL_MID_APPEND, FailAction::Error),
        good,
        fail: AtomicBool::new(false),
    };
    let mut journal = Journal::open(&store).unwrap();
    run(&mut journal, vec![batches()[0].clone()]);
    let line = std::fs::read(store.good.journal_path()).unwrap();
    let state = journal.snapshot().clone();

    store.fail.store(true, Ordering::SeqCst);
    let results = journal.record(batches()[1].clone());
    assert_eq!(results.len(), 2);
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
    }
    // The half line written before the failure was taken back.
    assert_eq!(std::fs::read(store.good.journal_path()).unwrap(), line);
    assert_eq!(journal.snapshot(), &state);
    assert_eq!(store.read().unwrap().as_ref(), Some(&state));

    store.fail.store(false, Ordering::SeqCst);
    run(&mut journal, vec![batches()[1].clone()]);
    let text = std::fs::read_to_string(store.good.journal_path()).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert_eq!(store.read().unwrap().as_ref(), Some(journal.snapshot()));
    assert_eq!(journal.snapshot().serial, 3);
}

#[test]
fn a_damaged_journal_is_refused_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut journal = Journal::open(&store).unwrap();
    run(&mut journal, batches()[..2].to_vec());
    std::mem::forget(journal);
    let mut bytes = std::fs::read(store.journal_path()).unwrap();
    // A changed byte inside the first of two lines.
    let at = bytes.iter().position(|b| *b == b'\n').unwrap() / 2;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(store.journal_path(), &bytes).unwrap();
    let document = std::fs::read(store.path()).unwrap();

    let err = store.read().unwrap_err();
    assert_eq!(err.code(), "state::journal_corrupt", "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");
    assert!(
        err.to_string()
            .contains(&store.journal_path().display().to_string()),
        "{err}"
    );
    let err = Journal::open(&store).unwrap_err();
    assert_eq!(err.code(), "state::journal_corrupt");
    let mut next = initial();
    next.serial = 2;
    let err = store
        .write(&next, Some(&initial().generation()))
        .unwrap_err();
    assert_eq!(err.code(), "state::journal_corrupt");
    // Nothing was changed or removed.
    assert_eq!(std::fs::read(store.path()).unwrap(), document);
    assert_eq!(std::fs::read(store.journal_path()).unwrap(), bytes);
}

#[test]
fn a_journal_that_does_not_continue_its_document_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut journal = Journal::open(&store).unwrap();
    run(&mut journal, vec![batches()[0].clone()]);
    journal
        .update(|s| s.upsert(Resource::new("roles.x", "role")))
        .unwrap();
    run(&mut journal, vec![batches()[1].clone()]);
    std::mem::forget(journal);
    // The document restored from its backup (one version older) while a
    // journal continuing the newer one is beside it.
    std::fs::copy(store.backup_path(), store.path()).unwrap();
    let err = store.read().unwrap_err();
    assert_eq!(err.code(), "state::journal_mismatch", "{err}");
    assert!(err.to_string().contains("serial"), "{err}");
    let report = format!("{:?}", miette::Report::new(err));
    assert!(report.contains("neither use nor remove it"), "{report}");
}

#[test]
fn a_missing_document_beside_a_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = local(dir.path());
    let mut journal = Journal::open(&store).unwrap();
    run(&mut journal, vec![batches()[0].clone()]);
    std::mem::forget(journal);
    std::fs::remove_file(store.path()).unwrap();
    let err = store.read().unwrap_err();
    assert_eq!(err.code(), "state::missing", "{err}");
    assert!(err.to_string().contains("journal"), "{err}");
}

#[test]
fn each_batch_appends_its_own_bytes_not_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("s.t.state.json"));
    let mut big = initial();
    for i in 0..200 {
        big.resources.push(record(&format!("services.s{i}"), i));
    }
    store.write(&big, None).unwrap();
    let document = std::fs::metadata(store.path()).unwrap().len();
    let mut journal = Journal::open(&store).unwrap();
    let mut sizes = Vec::new();
    for batch in batches() {
        let before = std::fs::metadata(store.journal_path()).map_or(0, |m| m.len());
        run(&mut journal, vec![batch]);
        sizes.push(std::fs::metadata(store.journal_path()).unwrap().len() - before);
    }
    assert!(
        sizes.iter().all(|s| *s * 20 < document),
        "each batch {sizes:?} is small beside the {document}-byte document"
    );
}
