//! The local file backend: one state file per stack and target, written
//! atomically, with a backup and an OS file lock.
//!
//! Files, all in one directory (by default `.apprun/` beside the stack file):
//!
//! | file | what |
//! |---|---|
//! | `<stack>.<target>.state.json` | the state document ([`crate::format`]) |
//! | `<stack>.<target>.state.json.backup` | the previous version, written before every replace |
//! | `<stack>.<target>.state.json.journal` | batches appended since the document was written ([`crate::batch`]), one line each; folded into the document and removed |
//! | `<stack>.<target>.state.json.lock` | empty; the OS lock (`File::try_lock`) for commands that write |
//! | `<stack>.<target>.state.json.lock.json` | the holder record ([`LockInfo`]) while the lock is held |
//! | `<stack>.<target>.state.json.write-lock` | empty; an OS lock held only for the moment of a compare-and-swap |
//! | `.<name>.tmp-<pid>-<random>` | temporary files, renamed into place or removed |
//!
//! A write: take the write-lock, read and verify the current state, compare
//! lineage and serial with the caller's expectation, write a temporary file
//! and fsync it, write the backup from the current bytes (atomically too),
//! rename the temporary file onto the state, fsync the directory, remove the
//! journal if there is one (the new document contains it). A crash at any
//! point leaves the old or the new state, both complete.
//!
//! The journal (decision, issue 16): an apply's batches ([`Storage::append`])
//! are appended to the journal file, one line per batch, and synced before
//! the batch is answered, instead of rewriting the whole document per batch
//! (O(N) bytes per apply instead of O(N^2)). The compare-and-swap of an
//! append compares the document's and the journal's size, time and inode
//! with what this store last left there, and reads and replays them only
//! when something else changed them. A read replays the journal onto the
//! document in memory and writes nothing. A fold ([`Storage::fold`]: at the
//! end of an apply and when the next writer opens the state) writes the
//! replayed state as the document (same lineage and serial) and then
//! removes the journal; a crash in between leaves a journal whose batches
//! the document already holds, which reads ignore and the next write
//! removes. A last line without its newline, or one that does not decode,
//! is a write cut short: it was never acknowledged, reads ignore it and the
//! next append cuts it off. Any other bad line, or a journal that does not
//! continue its document, is refused (`state::journal_corrupt`,
//! `state::journal_mismatch`).
//!
//! Stale locks (decision): the kernel releases an OS lock when its holder
//! dies, so the OS lock is the truth and the JSON record is only a label. A
//! locker that gets the OS lock and finds a record left behind knows its
//! holder is gone: it takes over, logs a warning ("stale lock record from pid
//! N (not running)") and returns it in [`LockGuard::replaced_stale`] for the
//! CLI to print. `force_unlock(id)` removes such a record explicitly, and
//! refuses while a live process holds the OS lock: nothing can break a kernel
//! lock, and nothing should. A state that is missing while its backup exists
//! is refused (`state::missing`) rather than treated as a fresh store.
//!
//! Owns the paths and the write and lock protocols. Must never overwrite a
//! state it could not read and verify, and never delete the lock file itself
//! (two lockers could then lock two different files).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::batch::{self, Batch};
use crate::error::{LockError, StateError};
use crate::failpoint;
#[cfg(feature = "failpoints")]
use crate::failpoint::{FailAction, FailPoints};
use crate::format::{decode, encode};
use crate::lock::{LockGuard, LockInfo, LockRelease, LockRequest, LockStatus, StaleLock};
use crate::lock_wait::{LockAttempt, wait_for_lock};
use crate::snapshot::{Generation, Snapshot};
use crate::store::{Locker, Storage};

/// The state of one stack and target in a local file.
#[derive(Clone, Debug)]
pub struct LocalStore {
    path: PathBuf,
    /// The bytes and generation of the document this store last wrote: a
    /// write whose file still holds exactly those bytes skips decoding them
    /// again (the compare-and-swap still compares the bytes on disk).
    last_written: Arc<Mutex<Option<Written>>>,
    /// What the files held when this store last appended a batch, so the
    /// next append's compare-and-swap reads nothing it does not have to.
    last_appended: Arc<Mutex<Option<Tail>>>,
    #[cfg(feature = "failpoints")]
    failpoints: FailPoints,
}

/// A document's bytes and the generation they hold.
type Written = (Vec<u8>, Generation);

/// What identifies one version of a file without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    /// Device and inode: a file replaced by a rename is another file.
    #[cfg(unix)]
    file: (u64, u64),
}

/// The document and journal as an append left them, and the generation
/// they hold together.
#[derive(Clone, Debug)]
struct Tail {
    document: Fingerprint,
    journal: Fingerprint,
    generation: Generation,
}

/// Everything stored: the document's bytes, what the journal holds, and the
/// state they make together.
#[derive(Default)]
struct Stored {
    document: Option<Vec<u8>>,
    journal: Option<JournalFile>,
    state: Option<Snapshot>,
}

/// The journal file as read.
struct JournalFile {
    /// Its size.
    len: u64,
    /// How many leading bytes to keep when appending: its complete
    /// batches, or 0 when the document holds them all already.
    keep: u64,
    /// How many batches it adds to the document.
    applied: usize,
}

/// An I/O failure at a path, before it becomes a [`StateError`] or [`LockError`].
struct IoFail {
    path: PathBuf,
    action: &'static str,
    source: io::Error,
}

impl IoFail {
    fn at(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> IoFail + use<> {
        let path = path.to_path_buf();
        move |source| IoFail {
            path,
            action,
            source,
        }
    }
}

impl From<IoFail> for StateError {
    fn from(e: IoFail) -> Self {
        StateError::Io {
            location: e.path.display().to_string(),
            action: e.action,
            source: e.source,
        }
    }
}

impl From<IoFail> for LockError {
    fn from(e: IoFail) -> Self {
        LockError::Io {
            location: e.path.display().to_string(),
            action: e.action,
            source: e.source,
        }
    }
}

/// Where fail points can be set; a no-op without the `failpoints` feature.
trait FailPointHost {
    fn fail_point(&self, name: &str) -> io::Result<()>;
}

#[cfg(feature = "failpoints")]
impl FailPointHost for FailPoints {
    fn fail_point(&self, name: &str) -> io::Result<()> {
        self.hit(name)
    }
}

#[derive(Clone, Debug, Default)]
#[cfg(not(feature = "failpoints"))]
struct NoFailPoints;

#[cfg(not(feature = "failpoints"))]
impl FailPointHost for NoFailPoints {
    fn fail_point(&self, _name: &str) -> io::Result<()> {
        Ok(())
    }
}

impl LocalStore {
    /// The directory, beside the stack file, that holds local state.
    pub const DIR: &'static str = ".apprun";

    /// A store for the state file at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalStore {
            path: path.into(),
            last_written: Arc::new(Mutex::new(None)),
            last_appended: Arc::new(Mutex::new(None)),
            #[cfg(feature = "failpoints")]
            failpoints: FailPoints::from_env(),
        }
    }

    /// The default store for `stack` on `target`:
    /// `<dir of stack_file>/.apprun/<stack>.<target>.state.json`.
    pub fn for_stack(stack_file: &Path, stack: &str, target: &str) -> Result<Self, StateError> {
        let dir = stack_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join(Self::DIR);
        Ok(Self::new(dir.join(Self::file_name(stack, target)?)))
    }

    /// The state file name for `stack` on `target`: `<stack>.<target>.state.json`.
    /// Both names must be non-empty and use only ASCII letters, digits, `-` and `_`.
    pub fn file_name(stack: &str, target: &str) -> Result<String, StateError> {
        for (what, name) in [("stack", stack), ("target", target)] {
            let reason = if name.is_empty() {
                Some("it is empty")
            } else if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                Some("only ASCII letters, digits, '-' and '_' are allowed")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(StateError::InvalidName {
                    what,
                    name: name.to_owned(),
                    reason,
                });
            }
        }
        Ok(format!("{stack}.{target}.state.json"))
    }

    /// Sets a fail point on this store (feature `failpoints`).
    #[cfg(feature = "failpoints")]
    pub fn with_failpoint(mut self, name: &str, action: FailAction) -> Self {
        self.failpoints.set(name, action);
        self
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The previous version of the state file.
    pub fn backup_path(&self) -> PathBuf {
        self.sibling(".backup")
    }

    /// The journal: batches appended since the document was last written.
    pub fn journal_path(&self) -> PathBuf {
        self.sibling(".journal")
    }

    /// The file the OS lock is taken on.
    pub fn lock_path(&self) -> PathBuf {
        self.sibling(".lock")
    }

    /// The holder record of the lock.
    pub fn lock_record_path(&self) -> PathBuf {
        self.sibling(".lock.json")
    }

    /// The file locked for the moment of each compare-and-swap write.
    pub fn write_lock_path(&self) -> PathBuf {
        self.sibling(".write-lock")
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut s: OsString = self.path.clone().into_os_string();
        s.push(suffix);
        PathBuf::from(s)
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    #[cfg(feature = "failpoints")]
    fn fail_points(&self) -> FailPoints {
        self.failpoints.clone()
    }

    #[cfg(not(feature = "failpoints"))]
    fn fail_points(&self) -> NoFailPoints {
        NoFailPoints
    }

    fn fail_point(&self, name: &'static str, path: &Path) -> Result<(), IoFail> {
        self.fail_points()
            .fail_point(name)
            .map_err(IoFail::at(path, "write"))
    }

    fn backup_location(&self) -> Option<String> {
        let b = self.backup_path();
        b.exists().then(|| b.display().to_string())
    }

    /// Reads and verifies the current state, keeping its bytes for the backup.
    fn read_current(&self) -> Result<Option<(Vec<u8>, Snapshot)>, StateError> {
        let location = self.location();
        let backup = self.backup_location();
        match fs::read(&self.path) {
            Ok(bytes) => {
                let snapshot = decode(&bytes, &location, backup.as_deref())?;
                Ok(Some((bytes, snapshot)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match backup {
                Some(backup) => Err(StateError::Missing {
                    location,
                    detail: "the file is gone but its backup remains".to_owned(),
                    backup: Some(backup),
                }),
                None => Ok(None),
            },
            Err(e) => Err(IoFail::at(&self.path, "read")(e).into()),
        }
    }

    /// Reads the journal (first: a fold that runs meanwhile then makes it
    /// stale, never lost) and the document, and replays one onto the other.
    fn read_stored(&self) -> Result<Stored, StateError> {
        let journal_path = self.journal_path();
        let journal = match fs::read(&journal_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(IoFail::at(&journal_path, "read")(e).into()),
        };
        let Some((document, snapshot)) = self.read_current()? else {
            return match journal {
                Some(_) => Err(StateError::Missing {
                    location: self.location(),
                    detail: "the file is gone but its journal remains".to_owned(),
                    backup: self.backup_location(),
                }),
                None => Ok(Stored::default()),
            };
        };
        let Some(journal) = journal else {
            return Ok(Stored {
                document: Some(document),
                journal: None,
                state: Some(snapshot),
            });
        };
        let location = journal_path.display().to_string();
        let scan = batch::scan(&journal, &location)?;
        if let Some(why) = &scan.torn {
            tracing::info!(
                "ignoring the end of {location}: {why} (an append cut short, never acknowledged)"
            );
        }
        let replayed = batch::replay(snapshot, scan.batches, &location)?;
        Ok(Stored {
            document: Some(document),
            journal: Some(JournalFile {
                len: journal.len() as u64,
                keep: if replayed.stale {
                    0
                } else {
                    scan.good_len as u64
                },
                applied: replayed.applied,
            }),
            state: Some(replayed.snapshot),
        })
    }

    /// Whether the journal file exists.
    fn has_journal(&self) -> Result<bool, IoFail> {
        let path = self.journal_path();
        path.try_exists().map_err(IoFail::at(&path, "look for"))
    }

    /// Takes the write-lock, held for the moment of one write, append or fold.
    fn write_lock(&self) -> Result<File, IoFail> {
        let path = self.write_lock_path();
        let file = self.open_lock_file(&path)?;
        file.lock().map_err(IoFail::at(&path, "lock"))?;
        Ok(file)
    }

    /// Replaces the document with `bytes` (holding `generation`), keeping
    /// `old`, the current document, as the backup. Under the write-lock.
    fn replace_document(
        &self,
        dir: &Path,
        bytes: Vec<u8>,
        old: Option<&[u8]>,
        generation: Generation,
    ) -> Result<(), StateError> {
        *self
            .last_appended
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let tmp = write_temp(&self.path, &bytes)?;
        let replaced = (|| {
            self.fail_point(failpoint::AFTER_TEMP_WRITE, &tmp)?;
            if let Some(old) = old {
                self.keep_backup(dir, old)?;
            }
            self.fail_point(failpoint::BEFORE_RENAME, &tmp)?;
            fs::rename(&tmp, &self.path)
                .map_err(IoFail::at(&self.path, "rename a temporary file onto"))?;
            self.fail_point(failpoint::AFTER_RENAME, &self.path)?;
            sync_dir(dir)
        })();
        let mut last = self
            .last_written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = match &replaced {
            Ok(()) => Some((bytes, generation)),
            Err(_) => None,
        };
        drop(last);
        if replaced.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(replaced?)
    }

    /// Removes the journal once the document holds it. Under the write-lock.
    fn remove_journal(&self, dir: &Path) -> Result<(), IoFail> {
        let path = self.journal_path();
        self.fail_point(failpoint::FOLD_BEFORE_REMOVE, &path)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(IoFail::at(&path, "remove")(e)),
        }
    }

    /// Appends `line` to the journal, which holds `len` bytes of which the
    /// first `keep` are kept, and syncs it. Under the write-lock.
    fn append_line(&self, line: &[u8], len: Option<u64>, keep: u64) -> Result<(), IoFail> {
        let path = self.journal_path();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(IoFail::at(&path, "open"))?;
        if len.is_some_and(|len| len > keep) {
            // A torn line, or batches the document already holds.
            file.set_len(keep)
                .and_then(|()| file.sync_data())
                .map_err(IoFail::at(&path, "cut the unused end of"))?;
        }
        let written = (|| {
            let (first, second) = line.split_at(line.len() / 2);
            file.write_all(first)
                .map_err(IoFail::at(&path, "append to"))?;
            self.fail_point(failpoint::JOURNAL_MID_APPEND, &path)?;
            file.write_all(second)
                .map_err(IoFail::at(&path, "append to"))?;
            self.fail_point(failpoint::JOURNAL_BEFORE_SYNC, &path)?;
            file.sync_data().map_err(IoFail::at(&path, "sync"))?;
            if len.is_none() {
                sync_dir(&self.dir())?;
            }
            self.fail_point(failpoint::JOURNAL_AFTER_SYNC, &path)
        })();
        if written.is_err() {
            // The batch is refused: leave no part of it behind.
            let _ = file.set_len(keep).and_then(|()| file.sync_data());
        }
        written
    }

    /// The stored document's bytes and generation. The bytes are decoded
    /// (and so verified) unless they are exactly what this store last wrote.
    fn current_generation(&self) -> Result<Option<Written>, StateError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return self
                    .read_current()
                    .map(|c| c.map(|(b, s)| (b, s.generation())));
            }
            Err(e) => return Err(IoFail::at(&self.path, "read")(e).into()),
        };
        let known = self
            .last_written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(written, _)| *written == bytes)
            .map(|(_, generation)| generation.clone());
        let generation = match known {
            Some(generation) => generation,
            None => {
                decode(&bytes, &self.location(), self.backup_location().as_deref())?.generation()
            }
        };
        Ok(Some((bytes, generation)))
    }

    /// Makes the current document (holding `old`) the backup: a hard link
    /// to it (its bytes are already on disk), or a copy where links are not
    /// supported. The directory is synced by the caller.
    fn keep_backup(&self, dir: &Path, old: &[u8]) -> Result<(), IoFail> {
        let backup = self.backup_path();
        let Ok(id) = crate::random::hex_id() else {
            return replace_atomically(&backup, dir, old);
        };
        let mut name = OsString::from(".");
        name.push(backup.file_name().unwrap_or_default());
        name.push(format!(".tmp-{}-{}", std::process::id(), &id[..12]));
        let link = backup.with_file_name(name);
        if fs::hard_link(&self.path, &link).is_err() {
            return replace_atomically(&backup, dir, old);
        }
        fs::rename(&link, &backup).map_err(|e| {
            let _ = fs::remove_file(&link);
            IoFail::at(&backup, "rename a temporary file onto")(e)
        })
    }

    /// Removes temporary files of the state and backup left by a crashed
    /// writer. Called only under the write-lock, when no write is in flight.
    fn remove_stale_temps(&self) {
        let Some(name) = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return;
        };
        let prefixes = [format!(".{name}.tmp-"), format!(".{name}.backup.tmp-")];
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if prefixes.iter().any(|p| file.starts_with(p.as_str())) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn open_lock_file(&self, path: &Path) -> Result<File, IoFail> {
        let dir = self.dir();
        fs::create_dir_all(&dir).map_err(IoFail::at(&dir, "create directory"))?;
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(IoFail::at(path, "open lock file"))
    }

    /// The holder record: `None` if absent, `Some(Err)` if unreadable.
    fn read_record(&self) -> Result<Option<Result<LockInfo, String>>, LockError> {
        let path = self.lock_record_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice::<LockInfo>(&bytes).map_err(|e| e.to_string()),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoFail::at(&path, "read lock record")(e).into()),
        }
    }

    fn stale_from(record: Option<Result<LockInfo, String>>) -> Option<StaleLock> {
        match record? {
            Ok(rec) => Some(StaleLock {
                holder_running: rec.holder_running(),
                record: Some(rec),
            }),
            Err(_) => Some(StaleLock {
                record: None,
                holder_running: None,
            }),
        }
    }
}

/// Writes `bytes` to a new temporary file beside `target` and syncs it.
fn write_temp(target: &Path, bytes: &[u8]) -> Result<PathBuf, IoFail> {
    let name = target.file_name().ok_or_else(|| IoFail {
        path: target.to_path_buf(),
        action: "name a temporary file for",
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
    })?;
    let id = crate::random::hex_id().map_err(IoFail::at(target, "name a temporary file for"))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{}", std::process::id(), &id[..12]));
    let tmp = target.with_file_name(tmp_name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(IoFail::at(&tmp, "write temporary file")(e))
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), IoFail> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(IoFail::at(dir, "sync directory"))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Replaces `target` with `bytes` atomically (temp file, fsync, rename, fsync dir).
fn replace_atomically(target: &Path, dir: &Path, bytes: &[u8]) -> Result<(), IoFail> {
    let tmp = write_temp(target, bytes)?;
    if let Err(e) = fs::rename(&tmp, target) {
        let _ = fs::remove_file(&tmp);
        return Err(IoFail::at(target, "rename a temporary file onto")(e));
    }
    sync_dir(dir)
}

impl Storage for LocalStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self) -> Result<Option<Snapshot>, StateError> {
        Ok(self.read_stored()?.state)
    }

    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        let location = self.location();
        let bytes = crate::store::prepare_write(snapshot, expected, &location)?;

        let dir = self.dir();
        let write_lock = self.write_lock()?;
        self.remove_stale_temps();

        let journal = self.has_journal()?;
        let (old, stored) = if journal {
            let stored = self.read_stored()?;
            (stored.document, stored.state.map(|s| s.generation()))
        } else {
            self.current_generation()?.unzip()
        };
        crate::store::check_stored(
            &location,
            stored.as_ref(),
            &snapshot.lineage,
            expected,
            self.backup_location(),
        )?;
        self.replace_document(&dir, bytes, old.as_deref(), snapshot.generation())?;
        if journal && let Err(e) = self.remove_journal(&dir) {
            // The write stands: the document holds every batch, so reads
            // ignore the journal and the next write removes it.
            tracing::warn!("{}", StateError::from(e));
        }
        drop(write_lock);
        Ok(())
    }

    fn append(
        &self,
        batch: &Batch,
        next: &Snapshot,
        expected: &Generation,
    ) -> Result<(), StateError> {
        let location = self.location();
        crate::store::check_next(next, Some(expected), &location)?;
        if batch.lineage != next.lineage || batch.serial != next.serial {
            return Err(StateError::Encode {
                location,
                detail: format!(
                    "batch {} of lineage {} does not make {}",
                    batch.serial,
                    batch.lineage,
                    next.generation()
                ),
            });
        }
        let journal_path = self.journal_path();
        let line = batch::encode(batch, &journal_path.display().to_string())?;

        let write_lock = self.write_lock()?;
        let document = fingerprint(&self.path)?;
        let journal = fingerprint(&journal_path)?;
        let known = self
            .last_appended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|t| Some(&t.document) == document.as_ref())
            .filter(|t| Some(&t.journal) == journal.as_ref())
            .map(|t| t.generation.clone());
        let (stored, len, keep) = match known {
            Some(generation) => {
                let len = journal.as_ref().map(|j| j.len);
                (Some(generation), len, len.unwrap_or(0))
            }
            None => {
                let stored = self.read_stored()?;
                let len = stored.journal.as_ref().map(|j| j.len);
                let keep = stored.journal.as_ref().map_or(0, |j| j.keep);
                (stored.state.map(|s| s.generation()), len, keep)
            }
        };
        crate::store::check_stored(
            &location,
            stored.as_ref(),
            &next.lineage,
            Some(expected),
            self.backup_location(),
        )?;
        let appended = self.append_line(&line, len, keep);
        let mut last = self
            .last_appended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = match (&appended, document, fingerprint(&journal_path)) {
            (Ok(()), Some(document), Ok(Some(journal))) => Some(Tail {
                document,
                journal,
                generation: next.generation(),
            }),
            _ => None,
        };
        drop(last);
        drop(write_lock);
        Ok(appended?)
    }

    fn fold(&self) -> Result<(), StateError> {
        if !self.has_journal()? {
            return Ok(());
        }
        let dir = self.dir();
        let write_lock = self.write_lock()?;
        self.remove_stale_temps();
        let stored = self.read_stored()?;
        let (Some(journal), Some(state)) = (stored.journal, stored.state) else {
            // Folded by another writer meanwhile.
            return Ok(());
        };
        if journal.applied > 0 {
            let bytes = encode(&state, &self.location())?;
            self.replace_document(&dir, bytes, stored.document.as_deref(), state.generation())?;
        }
        self.remove_journal(&dir)?;
        drop(write_lock);
        Ok(())
    }
}

/// The fingerprint of the file at `path`, or `None` if there is none.
fn fingerprint(path: &Path) -> Result<Option<Fingerprint>, IoFail> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoFail::at(path, "look at")(e)),
    };
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::MetadataExt as _;
        (meta.dev(), meta.ino())
    };
    Ok(Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        file,
    }))
}

impl Locker for LocalStore {
    fn lock(&self, request: &LockRequest) -> Result<LockGuard, LockError> {
        let lock_path = self.lock_path();
        let file = self.open_lock_file(&lock_path)?;
        let mut unknown_holder_retries = 0;
        wait_for_lock(request, &self.location(), || match file.try_lock() {
            Ok(()) => Ok(LockAttempt::Acquired(())),
            Err(TryLockError::WouldBlock) => {
                let holder = match self.read_record()? {
                    Some(Ok(h)) => Some(Box::new(h)),
                    _ => None,
                };
                // Without a record the holder is between taking the lock
                // and writing its record, or is letting go: look again for
                // a moment before reporting an unknown holder.
                if holder.is_none() && unknown_holder_retries < 50 {
                    unknown_holder_retries += 1;
                    std::thread::sleep(Duration::from_millis(5));
                    return Ok(LockAttempt::Retry);
                }
                Ok(LockAttempt::Held(holder))
            }
            Err(TryLockError::Error(e)) => Err(IoFail::at(&lock_path, "lock")(e).into()),
        })?;
        // The OS lock is ours; dropping `file` on any error below releases it.
        self.fail_point(failpoint::AFTER_LOCK, &lock_path)?;
        let stale = Self::stale_from(self.read_record()?);
        if let Some(s) = &stale {
            tracing::warn!("{s}; taking over the lock on {}", self.location());
        }
        let record_path = self.lock_record_path();
        let info = LockInfo::for_current_process(request)
            .map_err(IoFail::at(&record_path, "make an id for"))?;
        let json = serde_json::to_vec_pretty(&info)
            .map_err(|e| IoFail::at(&record_path, "encode")(io::Error::other(e)))?;
        replace_atomically(&record_path, &self.dir(), &json)?;
        Ok(LockGuard::new(
            info,
            stale,
            Box::new(LocalRelease {
                file,
                record_path,
                #[cfg(feature = "failpoints")]
                failpoints: self.failpoints.clone(),
            }),
        ))
    }

    fn force_unlock(&self, id: &str) -> Result<(), LockError> {
        let lock_path = self.lock_path();
        let file = self.open_lock_file(&lock_path)?;
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => {
                let holder = match self.read_record()? {
                    Some(Ok(h)) => Some(Box::new(h)),
                    _ => None,
                };
                match holder {
                    Some(h) if h.id.as_str() != id => Err(LockError::IdMismatch {
                        location: self.location(),
                        given: id.to_owned(),
                        holder: Some(h),
                    }),
                    holder => Err(LockError::HolderRunning {
                        location: self.location(),
                        holder,
                    }),
                }
            }
            Err(TryLockError::Error(e)) => Err(IoFail::at(&lock_path, "lock")(e).into()),
            Ok(()) => {
                let record_path = self.lock_record_path();
                let result = match self.read_record()? {
                    None => Err(LockError::NotLocked {
                        location: self.location(),
                    }),
                    Some(Ok(rec)) if rec.id.as_str() == id => match fs::remove_file(&record_path) {
                        Ok(()) => Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                        Err(e) => Err(IoFail::at(&record_path, "remove lock record")(e).into()),
                    },
                    Some(rec) => Err(LockError::IdMismatch {
                        location: self.location(),
                        given: id.to_owned(),
                        holder: rec.ok().map(Box::new),
                    }),
                };
                let _ = file.unlock();
                result
            }
        }
    }

    fn lock_status(&self) -> Result<LockStatus, LockError> {
        let lock_path = self.lock_path();
        let file = self.open_lock_file(&lock_path)?;
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => Ok(LockStatus::Held(match self.read_record()? {
                Some(Ok(h)) => Some(h),
                _ => None,
            })),
            Err(TryLockError::Error(e)) => Err(IoFail::at(&lock_path, "lock")(e).into()),
            Ok(()) => {
                let record = self.read_record();
                let _ = file.unlock();
                Ok(match Self::stale_from(record?) {
                    Some(stale) => LockStatus::Stale(stale),
                    None => LockStatus::Free,
                })
            }
        }
    }
}

/// Lets go of a local lock: removes the record while still holding the OS
/// lock (so a new holder's record is never removed), then unlocks.
struct LocalRelease {
    file: File,
    record_path: PathBuf,
    #[cfg(feature = "failpoints")]
    failpoints: FailPoints,
}

impl LockRelease for LocalRelease {
    fn release(self: Box<Self>) -> Result<(), LockError> {
        #[cfg(feature = "failpoints")]
        self.failpoints
            .fail_point(failpoint::BEFORE_UNLOCK)
            .map_err(IoFail::at(&self.record_path, "release"))?;
        let removed = match fs::remove_file(&self.record_path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(IoFail::at(&self.record_path, "remove lock record")(e).into()),
        };
        // Closing the file (when `self` drops) releases the OS lock even if
        // this explicit unlock fails.
        let unlocked = self
            .file
            .unlock()
            .map_err(|e| IoFail::at(&self.record_path, "unlock")(e).into());
        removed.and(unlocked)
    }
}
