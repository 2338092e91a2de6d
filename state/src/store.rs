//! The storage interfaces every backend implements, split like Terraform's
//! statemgr: [`Storage`] (read and compare-and-swap write of whole
//! snapshots, plus the journal's batches: append and fold) and [`Locker`]
//! (an exclusive lock with a holder record), joined as [`StateStore`].
//!
//! API boundary: these traits are implemented by the local store here and by
//! the S3 store in apprun-aws, and both run [`crate::conformance`]. They must
//! never mention file-system types, and are synchronous (call them from
//! `spawn_blocking` in async code).

use crate::batch::Batch;
use crate::error::{LockError, StateError};
use crate::lock::{LockGuard, LockRequest, LockStatus};
use crate::snapshot::{Generation, Lineage, Snapshot};

/// Whole-snapshot persistence with compare-and-swap writes.
pub trait Storage: Send + Sync {
    /// Where the state lives, for messages (a path, an `s3://` URL).
    fn location(&self) -> String;

    /// The stored snapshot, fully verified (checksum, version, integrity), or
    /// `None` if nothing was ever stored. A state that fails a check is an
    /// error, never `None`. Batches appended and not yet folded are applied
    /// in memory: a read never writes.
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
    /// previous version as a backup where they can. A backend with a journal
    /// removes it after the write: the new document contains its batches.
    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError>;

    /// Durably records one journal batch: `batch` applied to the stored
    /// state (which must still be `expected`) gives `next`, whose lineage and
    /// serial are the batch's (`expected.serial + 1`). Refuses as
    /// [`Storage::write`] does; afterwards [`Storage::read`] returns `next`.
    ///
    /// A backend with an append-only journal stores only the batch (O(batch)
    /// bytes) and folds it later ([`Storage::fold`]); the default writes
    /// `next` whole.
    fn append(
        &self,
        batch: &Batch,
        next: &Snapshot,
        expected: &Generation,
    ) -> Result<(), StateError> {
        let _ = batch;
        self.write(next, Some(expected))
    }

    /// Folds the appended batches into the document and removes them: the
    /// state [`Storage::read`] returns, lineage and serial included, does
    /// not change. Safe to call at any time, by any writer; nothing to do
    /// when there is no journal (and for the default, which never has one).
    fn fold(&self) -> Result<(), StateError> {
        Ok(())
    }
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
/// bytes to write: the new snapshot must continue `expected` (see
/// [`check_next`]) and encode. Backends then compare `expected` with what
/// is stored.
pub fn prepare_write(
    snapshot: &Snapshot,
    expected: Option<&Generation>,
    location: &str,
) -> Result<Vec<u8>, StateError> {
    check_next(snapshot, expected, location)?;
    crate::format::encode(snapshot, location)
}

/// Whether `snapshot` may be stored over `expected`: same lineage, a higher
/// serial (a first write has serial > 0), and it passes the integrity check.
pub fn check_next(
    snapshot: &Snapshot,
    expected: Option<&Generation>,
    location: &str,
) -> Result<(), StateError> {
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
        .map_err(|v| StateError::from_violation(location, None, v))
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
