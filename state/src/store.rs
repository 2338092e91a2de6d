//! The storage interfaces every backend implements, split like Terraform's
//! statemgr: [`Storage`] (read and compare-and-swap write of whole
//! snapshots) and [`Locker`] (an exclusive lock with a holder record), joined
//! as [`StateStore`].
//!
//! API boundary: these traits are implemented by the local store here and by
//! the S3 store in apprun-aws, and both run [`crate::conformance`]. They must
//! never mention file-system types, and are synchronous (call them from
//! `spawn_blocking` in async code).

use crate::error::{LockError, StateError};
use crate::lock::{LockGuard, LockRequest, LockStatus};
use crate::snapshot::{Generation, Lineage, Snapshot};

/// Whole-snapshot persistence with compare-and-swap writes.
pub trait Storage: Send + Sync {
    /// Where the state lives, for messages (a path, an `s3://` URL).
    fn location(&self) -> String;

    /// The stored snapshot, fully verified (checksum, version, integrity), or
    /// `None` if nothing was ever stored. A state that fails a check is an
    /// error, never `None`.
    fn read(&self) -> Result<Option<Snapshot>, StateError>;

    /// Stores `snapshot` if and only if the stored state is still `expected`
    /// (`None`: nothing stored yet). Refuses, leaving the stored state
    /// untouched, when:
    /// - the stored lineage differs from `expected`'s, or `snapshot`'s lineage
    ///   differs from `expected`'s (`state::foreign_lineage`);
    /// - the stored serial differs from `expected`'s, something is stored
    ///   when `expected` is `None`, or `snapshot.serial` is not greater than
    ///   `expected`'s (`state::stale_serial`; 0 when `expected` is `None`);
    /// - nothing is stored when `expected` is `Some` (`state::missing`);
    /// - the stored state cannot be read (its read error);
    /// - `snapshot` fails [`crate::verify_integrity`].
    ///
    /// The write is atomic: a reader sees the old or the new snapshot, never
    /// a mix, even if the process dies during the write. Backends keep the
    /// previous version as a backup where they can.
    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError>;
}

/// An exclusive lock on a state, naming its holder.
pub trait Locker: Send + Sync {
    /// Takes the lock for `request`. When it is held: fails at once with
    /// `state::locked` naming the holder, or with a timeout waits with
    /// backoff and then fails with `state::lock_timeout`. A record left by a
    /// holder that provably no longer holds the lock is replaced and returned
    /// in [`LockGuard::replaced_stale`]. The guard releases the lock on drop.
    fn lock(&self, request: &LockRequest) -> Result<LockGuard, LockError>;

    /// Removes the lock record with id `id`, for `apprun state unlock --force`.
    /// Refuses when the record has another id, and when the backend can tell
    /// that a running process still holds the lock.
    fn force_unlock(&self, id: &str) -> Result<(), LockError>;

    /// Reports whether the lock is free, held (and by whom) or stale, without taking it.
    fn lock_status(&self) -> Result<LockStatus, LockError>;
}

/// A complete backend: storage plus lock.
pub trait StateStore: Storage + Locker {}

impl<T: Storage + Locker + ?Sized> StateStore for T {}

/// The checks every backend makes before a compare-and-swap write, and the
/// bytes to write: the new snapshot must continue `expected` (same lineage,
/// a higher serial; a first write has serial > 0), pass the integrity check,
/// and encode. Backends then compare `expected` with what is stored.
pub fn prepare_write(
    snapshot: &Snapshot,
    expected: Option<&Generation>,
    location: &str,
) -> Result<Vec<u8>, StateError> {
    match expected {
        Some(e) if snapshot.lineage != e.lineage => {
            return Err(StateError::ForeignLineage {
                location: location.to_owned(),
                stored: e.lineage.to_string(),
                given: snapshot.lineage.to_string(),
            });
        }
        Some(e) if snapshot.serial <= e.serial => {
            return Err(StateError::StaleSerial {
                location: location.to_owned(),
                stored: e.serial,
                given: snapshot.serial,
            });
        }
        None if snapshot.serial == 0 => {
            return Err(StateError::StaleSerial {
                location: location.to_owned(),
                stored: 0,
                given: 0,
            });
        }
        _ => {}
    }
    crate::integrity::verify_integrity(snapshot)
        .map_err(|v| StateError::from_violation(location, None, v))?;
    crate::format::encode(snapshot, location)
}

/// The compare half of every backend's compare-and-swap: what is stored
/// (`stored`, `None` if nothing) must be what the write expects. A write
/// with no expectation (a first write) may only create. `lineage` is the
/// lineage of the snapshot being written; `backup` names the backup in a
/// "missing" error.
pub fn check_stored(
    location: &str,
    stored: Option<&Generation>,
    lineage: &Lineage,
    expected: Option<&Generation>,
    backup: Option<String>,
) -> Result<(), StateError> {
    let location = location.to_owned();
    match (stored, expected) {
        (None, None) => Ok(()),
        (None, Some(e)) => Err(StateError::Missing {
            location,
            detail: format!("expected {e}, found nothing"),
            backup,
        }),
        (Some(s), None) if &s.lineage != lineage => Err(StateError::ForeignLineage {
            location,
            stored: s.lineage.to_string(),
            given: lineage.to_string(),
        }),
        (Some(s), None) => Err(StateError::StaleSerial {
            location,
            stored: s.serial,
            given: 0,
        }),
        (Some(s), Some(e)) if s.lineage != e.lineage => Err(StateError::ForeignLineage {
            location,
            stored: s.lineage.to_string(),
            given: e.lineage.to_string(),
        }),
        (Some(s), Some(e)) if s.serial != e.serial => Err(StateError::StaleSerial {
            location,
            stored: s.serial,
            given: e.serial,
        }),
        (Some(_), Some(_)) => Ok(()),
    }
}
