//! State journal benchmark (issue 16 item 7): the bytes an apply writes to
//! its local state, with the append-only journal and with the old
//! whole-document rewrite per batch, in the same run.
//!
//! For N = 100, 1,000 and 3,000 resources (`BENCH_SIZES=100,1000` to
//! choose), an apply is journaled as the engine journals it: a begin and a
//! complete per resource, in batches of the CLI's default `--parallelism`
//! (8 begins, then their 8 completions), each resource record about the
//! size of a service's, then the journal is finished (folded). The baseline
//! runs the same batches through a store whose `append` is the trait's
//! default, a whole-document compare-and-swap write per batch: what every
//! batch cost before the journal, and what the S3 backend still does.
//!
//! "written" is what the process passed to `write(2)` (`wchar` of
//! `/proc/self/io`, Linux), which includes temporary files and the backup
//! copy; "stored" adds up the files' growth (journal lines, documents) and
//! is printed where `/proc` is missing. Per resource, the journal's bytes
//! must stay roughly constant (linear total): the benchmark fails if the
//! largest N costs more than 1.5x per resource than the smallest.
//! Run: `cargo bench -p apprun-state --bench journal`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apprun_state::batch::Batch;
use apprun_state::{
    Entry, Generation, Journal, LocalStore, OpId, Outcome, PendingAction, PendingOp, Resource,
    Snapshot, StateError, Storage,
};

/// The CLI's default `--parallelism`: how many changes run (and so how many
/// entries arrive together) at once.
const PARALLELISM: usize = 8;
const SIZES: [usize; 3] = [100, 1_000, 3_000];
/// How much more per resource the largest N may cost than the smallest.
const FLAT: f64 = 1.5;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Journal,
    WholeDocument,
}

/// Counts the bytes each call adds to the state's files, and makes `append`
/// a whole write in the baseline mode.
struct Counting {
    store: LocalStore,
    mode: Mode,
    stored: AtomicU64,
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

impl Counting {
    fn add(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }

    fn document(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }
}

impl Storage for Counting {
    fn location(&self) -> String {
        self.store.location()
    }

    fn read(&self) -> Result<Option<Snapshot>, StateError> {
        self.store.read()
    }

    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        self.store.write(snapshot, expected)?;
        self.add(len(&self.document()));
        Ok(())
    }

    fn append(
        &self,
        batch: &Batch,
        next: &Snapshot,
        expected: &Generation,
    ) -> Result<(), StateError> {
        match self.mode {
            Mode::WholeDocument => self.write(next, Some(expected)),
            Mode::Journal => {
                let before = len(&self.store.journal_path());
                self.store.append(batch, next, expected)?;
                self.add(len(&self.store.journal_path()).saturating_sub(before));
                Ok(())
            }
        }
    }

    fn fold(&self) -> Result<(), StateError> {
        if self.mode == Mode::WholeDocument {
            return Ok(());
        }
        let had_journal = self.store.journal_path().exists();
        self.store.fold()?;
        if had_journal {
            self.add(len(&self.document()));
        }
        Ok(())
    }
}

/// Bytes this process has passed to `write(2)` so far, where Linux says.
fn wchar() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A service-sized record (about 800 bytes of JSON), depending on the
/// resource completed one wave before it.
fn record(i: usize) -> Resource {
    let mut r = Resource::new(format!("services.web{i}"), "service");
    r.physical_id = Some(format!(
        "arn:aws:apprunner:us-east-1:111122223333:service/bench-web{i}/0123456789abcdef0123456789abcdef"
    ));
    r.attributes = serde_json::json!({
        "name": format!("bench-web{i}"),
        "image": format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/bench-repo{i}:v1"),
        "cpu": "1024", "memory": "2048", "port": 8080,
        "access_role": format!("arn:aws:iam::111122223333:role/bench-pull{i}"),
        "instance_role": format!("arn:aws:iam::111122223333:role/bench-app{i}"),
        "env": {"APP": {"$sensitive": "6b1f0c3d2e4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"},
                "LEVEL": {"$sensitive": "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff"}},
        "health_check": {"protocol": "HTTP", "path": "/health", "interval": 10, "timeout": 5,
                         "healthy_threshold": 1, "unhealthy_threshold": 5},
        "auto_deploy": false,
        "tags": {"apprun:stack": "bench", "apprun:address": format!("services.web{i}")},
    });
    r.outputs.insert(
        "url".into(),
        format!("https://bench-web{i}.us-east-1.awsapprunner.com").into(),
    );
    r.outputs.insert("arn".into(), r.physical_id.clone().into());
    if i >= PARALLELISM {
        r.dependencies = vec![format!("services.web{}", i - PARALLELISM)];
    }
    r
}

struct Measure {
    written: Option<u64>,
    stored: u64,
    batches: usize,
    document: u64,
    wall: Duration,
}

/// Journals an apply of `n` resources into a fresh local state.
fn apply(n: usize, mode: Mode) -> Measure {
    let dir = tempfile::tempdir().unwrap();
    let storage = Counting {
        store: LocalStore::new(dir.path().join(".apprun/bench.aws.state.json")),
        mode,
        stored: AtomicU64::new(0),
    };
    let ops: Vec<PendingOp> = (0..n)
        .map(|i| PendingOp {
            id: OpId::new(format!("op-{i:08}")),
            address: format!("services.web{i}"),
            action: PendingAction::Create,
            started_at: "2026-12-04T09:30:00Z".to_owned(),
            detail: serde_json::json!({"name": format!("bench-web{i}"), "token": format!("t-{i}")}),
        })
        .collect();
    let records: Vec<Resource> = (0..n).map(record).collect();
    let mut batches = 0;
    let written_before = wchar();
    let started = Instant::now();
    let mut journal = Journal::open(&storage).unwrap();
    for wave in ops.chunks(PARALLELISM) {
        let begins = wave.iter().cloned().map(Entry::Begin).collect();
        let completes = wave
            .iter()
            .map(|op| {
                let i: usize = op.address["services.web".len()..].parse().unwrap();
                Entry::Complete(op.id.clone(), Outcome::Applied(records[i].clone()))
            })
            .collect();
        for entries in [begins, completes] {
            let results = journal.record(entries);
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            batches += 1;
        }
    }
    let end = journal.finish().unwrap();
    let wall = started.elapsed();
    let written = written_before.zip(wchar()).map(|(a, b)| b - a);
    assert_eq!(end.resources.len(), n);
    assert!(end.pending.is_empty());
    assert_eq!(storage.read().unwrap(), Some(end));
    assert!(!storage.store.journal_path().exists());
    Measure {
        written,
        stored: storage.stored.load(Ordering::Relaxed),
        batches,
        document: len(storage.store.path()),
        wall,
    }
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').map(|n| n.trim().parse().unwrap()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    let measured = wchar().is_some();
    let what = if measured { "written" } else { "stored" };
    println!(
        "state journal benchmark: a begin and a complete per resource, batches of {PARALLELISM}; \
         bytes {what} per apply ({})",
        if measured {
            "write(2) bytes from /proc/self/io"
        } else {
            "file growth; /proc/self/io is missing"
        }
    );
    println!(
        "| resources | batches | final document | journal: {what} | per resource | time | whole document: {what} | per resource | time | whole / journal |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut per_resource = Vec::new();
    for &n in &sizes {
        let j = apply(n, Mode::Journal);
        let w = apply(n, Mode::WholeDocument);
        let bytes = |m: &Measure| m.written.unwrap_or(m.stored);
        let (jb, wb) = (bytes(&j), bytes(&w));
        let (jr, wr) = (jb as f64 / n as f64, wb as f64 / n as f64);
        per_resource.push(jr);
        println!(
            "| {n} | {} | {} | {} | {} | {:.2} s | {} | {} | {:.2} s | {:.0}x |",
            j.batches,
            human(j.document),
            human(jb),
            human(jr as u64),
            j.wall.as_secs_f64(),
            human(wb),
            human(wr as u64),
            w.wall.as_secs_f64(),
            wb as f64 / jb as f64,
        );
        println!(
            "{{\"bench\":\"state_journal\",\"resources\":{n},\"batches\":{},\"journal_bytes\":{jb},\"journal_stored\":{},\"whole_bytes\":{wb},\"whole_stored\":{},\"journal_s\":{:.3},\"whole_s\":{:.3}}}",
            j.batches,
            j.stored,
            w.stored,
            j.wall.as_secs_f64(),
            w.wall.as_secs_f64()
        );
    }
    if let (Some(first), Some(last)) = (per_resource.first(), per_resource.last()) {
        let growth = last / first;
        println!(
            "journal bytes per resource, largest N / smallest N: {growth:.2}x (flat within {FLAT}x: linear total)"
        );
        assert!(
            growth <= FLAT,
            "journal bytes per resource grew {growth:.2}x from N={} to N={}",
            sizes[0],
            sizes[sizes.len() - 1]
        );
    }
}
