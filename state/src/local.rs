//! The local file backend: one state file per stack and target, written
//! atomically, with a backup and an OS file lock.
//!
//! Files, all in one directory (by default `.apprun/` beside the stack file):
//!
//! | file | what |
//! |---|---|
//! | `<stack>.<target>.state.json` | the state document ([`crate::format`]) |
//! | `<stack>.<target>.state.json.backup` | the previous version, written before every replace |
//! | `<stack>.<target>.state.json.lock` | empty; the OS lock (`File::try_lock`) for commands that write |
//! | `<stack>.<target>.state.json.lock.json` | the holder record ([`LockInfo`]) while the lock is held |
//! | `<stack>.<target>.state.json.write-lock` | empty; an OS lock held only for the moment of a compare-and-swap |
//! | `.<name>.tmp-<pid>-<random>` | temporary files, renamed into place or removed |
//!
//! A write: take the write-lock, read and verify the current state, compare
//! lineage and serial with the caller's expectation, write a temporary file
//! and fsync it, write the backup from the current bytes (atomically too),
//! rename the temporary file onto the state, fsync the directory. A crash at
//! any point leaves the old or the new state, both complete.
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
use std::time::Duration;

use crate::error::{LockError, StateError};
use crate::failpoint;
#[cfg(feature = "failpoints")]
use crate::failpoint::{FailAction, FailPoints};
use crate::format::decode;
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
    #[cfg(feature = "failpoints")]
    failpoints: FailPoints,
}

/// A document's bytes and the generation they hold.
type Written = (Vec<u8>, Generation);

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
        Ok(self.read_current()?.map(|(_, s)| s))
    }

    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        let location = self.location();
        let bytes = crate::store::prepare_write(snapshot, expected, &location)?;

        let dir = self.dir();
        let write_lock_path = self.write_lock_path();
        let write_lock = self.open_lock_file(&write_lock_path)?;
        write_lock
            .lock()
            .map_err(IoFail::at(&write_lock_path, "lock"))?;
        self.remove_stale_temps();

        let current = self.current_generation()?;
        crate::store::check_stored(
            &self.location(),
            current.as_ref().map(|(_, g)| g),
            &snapshot.lineage,
            expected,
            self.backup_location(),
        )?;

        let tmp = write_temp(&self.path, &bytes)?;
        let replaced = (|| {
            self.fail_point(failpoint::AFTER_TEMP_WRITE, &tmp)?;
            if let Some((old, _)) = &current {
                self.keep_backup(&dir, old)?;
            }
            self.fail_point(failpoint::BEFORE_RENAME, &tmp)?;
            fs::rename(&tmp, &self.path)
                .map_err(IoFail::at(&self.path, "rename a temporary file onto"))?;
            self.fail_point(failpoint::AFTER_RENAME, &self.path)?;
            sync_dir(&dir)
        })();
        let mut last = self
            .last_written
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = match &replaced {
            Ok(()) => Some((bytes, snapshot.generation())),
            Err(_) => None,
        };
        drop(last);
        if replaced.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        drop(write_lock);
        Ok(replaced?)
    }
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
