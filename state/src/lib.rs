//! Durable state for apprun: the state document format, the local file
//! backend with its lock, and the interfaces a remote backend (S3, in
//! apprun-aws) implements.
//!
//! Map:
//! - [`Snapshot`] (`snapshot`): one stack's state for one target: lineage,
//!   serial, opaque [`Resource`] records and the journal of [`PendingOp`]s.
//! - [`format`](mod@format): bytes <-> snapshot, with format version and checksum.
//! - [`batch`]: one journal batch as stored (a line of JSON), and replaying a
//!   journal onto its document.
//! - [`verify_integrity`] (`integrity`): the invariants of a snapshot.
//! - [`Storage`], [`Locker`], [`StateStore`] (`store`): what a backend implements.
//! - [`LocalStore`] (`local`): atomic file writes, backup, OS file lock.
//! - [`LockGuard`], [`LockInfo`], [`LockRequest`] (`lock`): the lock, backend-independent.
//! - [`wait_for_lock`], [`LockAttempt`] (`lock_wait`): the one retry, backoff
//!   and timeout loop every backend takes its lock with.
//! - [`Journal`] (`journal`): begin/complete of mutating operations for apply,
//!   appended in batches ([`Storage::append`]) and folded into the document
//!   ([`Storage::fold`]) at the end of a run and on recovery.
//! - [`DigestKey`], [`SecretDigest`] (`secret_digest`): secrets only as keyed digests.
//! - `conformance` (feature `conformance`): the suite every backend passes.
//!
//! Architecture invariant: this crate knows nothing of resource kinds beyond
//! an opaque record, and never holds a secret value. It never overwrites a
//! state it cannot read and verify, nor one of another lineage or a newer
//! serial. All APIs are synchronous.

pub mod batch;
mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod failpoint;
pub mod format;
mod integrity;
mod journal;
mod local;
mod lock;
mod lock_wait;
mod random;
mod secret_digest;
mod snapshot;
mod store;

pub use clock::{format_rfc3339, now_rfc3339};
pub use error::{LockError, StateError};
pub use integrity::{Violation, verify_integrity};
pub use journal::{Entry, Journal, Outcome};
pub use local::LocalStore;
pub use lock::{LockGuard, LockId, LockInfo, LockRelease, LockRequest, LockStatus, StaleLock};
pub use lock_wait::{LockAttempt, wait_for_lock};
pub use secret_digest::{DigestKey, SecretDigest};
pub use snapshot::{Generation, Lineage, OpId, PendingAction, PendingOp, Resource, Snapshot};
pub use store::{Locker, StateStore, Storage, check_next, check_stored, prepare_write};
