//! The errors of the state crate, each a miette diagnostic with a stable code,
//! the location of the state in its message, and help that says what to do.
//!
//! This module owns wording and codes only. It must never decide anything:
//! the stores and the format decide, and pick a variant here. Codes are a
//! stable API (scripts and docs match on them): never rename one.

use std::fmt;
use std::io;
use std::time::Duration;

use miette::Diagnostic;

use crate::integrity::Violation;
use crate::lock::LockInfo;

/// A failure to read, verify or write a state document.
///
/// Every variant names the location (a path for the local store, a URL for a
/// remote one). Read-side variants also carry `backup`: the location of the
/// previous version when the backend keeps one, so help can point at it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The document is not a state document (bad JSON, missing or unknown fields).
    #[error("state at {location} is corrupt: {detail}")]
    Corrupt {
        /// Where the state lives.
        location: String,
        /// What is wrong, for humans.
        detail: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// The document ends early: a torn or partial copy.
    #[error("state at {location} is truncated: {detail}")]
    Truncated {
        /// Where the state lives.
        location: String,
        /// What is wrong, for humans.
        detail: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// The body does not hash to the recorded checksum: edited or damaged.
    #[error("state at {location} fails its checksum (recorded {recorded}, computed {computed})")]
    ChecksumMismatch {
        /// Where the state lives.
        location: String,
        /// The checksum recorded in the document.
        recorded: String,
        /// The checksum of the body as stored.
        computed: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// The document has a format version this build does not know.
    #[error(
        "state at {location} has format version {found}; this apprun reads version {supported}"
    )]
    UnknownVersion {
        /// Where the state lives.
        location: String,
        /// The version found in the document.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// A write would replace a state of another lineage (another stack, or a re-created state).
    #[error(
        "state at {location} belongs to lineage {stored}, not {given}; refusing to overwrite it"
    )]
    ForeignLineage {
        /// Where the state lives.
        location: String,
        /// The lineage stored at the location.
        stored: String,
        /// The lineage of the write.
        given: String,
    },
    /// A write is based on an older serial than the one stored (a lost update).
    #[error("state at {location} is at serial {stored}; refusing a write based on serial {given}")]
    StaleSerial {
        /// Where the state lives.
        location: String,
        /// The serial stored at the location (0: none).
        stored: u64,
        /// The serial the write was based on (0: an empty store).
        given: u64,
    },
    /// The state is absent where it was expected (deleted out of band).
    #[error("state at {location} is missing: {detail}")]
    Missing {
        /// Where the state lives.
        location: String,
        /// What was expected, for humans.
        detail: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// Two resource records share one address.
    #[error("state at {location} records address {address} more than once")]
    DuplicateAddress {
        /// Where the state lives.
        location: String,
        /// The repeated address.
        address: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// A resource depends on an address that has no record.
    #[error("state at {location}: {address} depends on {dependency}, which has no record")]
    DanglingDependency {
        /// Where the state lives.
        location: String,
        /// The resource with the dependency.
        address: String,
        /// The missing dependency.
        dependency: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// Resource dependencies form a cycle.
    #[error("state at {location} has a dependency cycle: {}", cycle.join(" -> "))]
    DependencyCycle {
        /// Where the state lives.
        location: String,
        /// The addresses on the cycle, the first repeated at the end.
        cycle: Vec<String>,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// A resource record is not well formed (e.g. an empty address or kind).
    #[error("state at {location}: record {address:?} is invalid: {reason}")]
    InvalidRecord {
        /// Where the state lives.
        location: String,
        /// The address of the record.
        address: String,
        /// What is wrong.
        reason: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// A pending operation in the journal is not well formed.
    #[error("state at {location}: pending operation {id:?} is malformed: {reason}")]
    MalformedPendingOp {
        /// Where the state lives.
        location: String,
        /// The operation id.
        id: String,
        /// What is wrong.
        reason: String,
        /// Where the previous version is kept, if it exists.
        backup: Option<String>,
    },
    /// `complete` named an operation that is not pending.
    #[error("state at {location} has no pending operation {id:?}")]
    UnknownPendingOp {
        /// Where the state lives.
        location: String,
        /// The operation id asked for.
        id: String,
    },
    /// A stack or target name cannot be used in a state file name.
    #[error("cannot name a state file after {what} {name:?}: {reason}")]
    InvalidName {
        /// "stack" or "target".
        what: &'static str,
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A snapshot could not be encoded.
    #[error("cannot encode state for {location}: {detail}")]
    Encode {
        /// Where the state lives.
        location: String,
        /// What failed.
        detail: String,
    },
    /// An operating-system error while reading or writing.
    #[error("cannot {action} {location}: {source}")]
    Io {
        /// The path (or other resource) involved.
        location: String,
        /// What was being done, as a verb phrase ("read", "rename a temporary file onto").
        action: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A line of the journal beside the state document is damaged (not the
    /// last line, which a crash may cut short and is then ignored).
    #[error("state journal at {location} is corrupt at line {line}: {detail}")]
    JournalCorrupt {
        /// Where the journal lives.
        location: String,
        /// The 1-based line (batch) number.
        line: usize,
        /// What is wrong, for humans.
        detail: String,
    },
    /// The journal does not continue the state document beside it (another
    /// lineage, or a document replaced since the journal was written).
    #[error("state journal at {location} does not continue its state document: {detail}")]
    JournalMismatch {
        /// Where the journal lives.
        location: String,
        /// What does not match, for humans.
        detail: String,
    },
    /// A remote backend failed (for backends in other crates).
    #[error("state backend at {location} failed: {detail}")]
    Backend {
        /// Where the state lives.
        location: String,
        /// What failed.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// The given variants, each with `location` and `backup` fields, as one
/// pattern binding `$location` and `$backup`.
macro_rules! location_and_backup {
    ($location:pat, $backup:pat, [$($variant:ident),+ $(,)?]) => {
        $(StateError::$variant {
            location: $location,
            backup: $backup,
            ..
        })|+
    };
}

/// The variants for a stored document apprun will neither use nor overwrite
/// (unreadable, damaged or breaking an invariant), as one pattern.
macro_rules! unusable_state {
    ($location:pat, $backup:pat) => {
        location_and_backup!(
            $location,
            $backup,
            [
                Corrupt,
                Truncated,
                ChecksumMismatch,
                DuplicateAddress,
                DanglingDependency,
                DependencyCycle,
                InvalidRecord,
                MalformedPendingOp,
            ]
        )
    };
}

/// Every read-side variant (those that carry `backup`), as one pattern: the
/// one list of them.
macro_rules! read_side {
    ($location:pat, $backup:pat) => {
        unusable_state!($location, $backup)
            | location_and_backup!($location, $backup, [UnknownVersion, Missing])
    };
}

impl StateError {
    /// The stable diagnostic code, e.g. `state::checksum_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            StateError::Corrupt { .. } => "state::corrupt",
            StateError::Truncated { .. } => "state::truncated",
            StateError::ChecksumMismatch { .. } => "state::checksum_mismatch",
            StateError::UnknownVersion { .. } => "state::unknown_version",
            StateError::ForeignLineage { .. } => "state::foreign_lineage",
            StateError::StaleSerial { .. } => "state::stale_serial",
            StateError::Missing { .. } => "state::missing",
            StateError::DuplicateAddress { .. } => "state::duplicate_address",
            StateError::DanglingDependency { .. } => "state::dangling_dependency",
            StateError::DependencyCycle { .. } => "state::dependency_cycle",
            StateError::InvalidRecord { .. } => "state::invalid_record",
            StateError::MalformedPendingOp { .. } => "state::malformed_pending_op",
            StateError::UnknownPendingOp { .. } => "state::unknown_pending_op",
            StateError::InvalidName { .. } => "state::invalid_name",
            StateError::Encode { .. } => "state::encode",
            StateError::Io { .. } => "state::io",
            StateError::JournalCorrupt { .. } => "state::journal_corrupt",
            StateError::JournalMismatch { .. } => "state::journal_mismatch",
            StateError::Backend { .. } => "state::backend",
        }
    }

    /// Turns an integrity violation into the error for the state at `location`.
    pub fn from_violation(location: &str, backup: Option<String>, violation: Violation) -> Self {
        let location = location.to_owned();
        match violation {
            Violation::DuplicateAddress { address } => StateError::DuplicateAddress {
                location,
                address,
                backup,
            },
            Violation::DanglingDependency {
                address,
                dependency,
            } => StateError::DanglingDependency {
                location,
                address,
                dependency,
                backup,
            },
            Violation::DependencyCycle { cycle } => StateError::DependencyCycle {
                location,
                cycle,
                backup,
            },
            Violation::InvalidRecord { address, reason } => StateError::InvalidRecord {
                location,
                address,
                reason,
                backup,
            },
            Violation::MalformedPendingOp { id, reason } => StateError::MalformedPendingOp {
                location,
                id,
                reason,
                backup,
            },
        }
    }

    /// Rewrites every location in the error, e.g. to show paths relative to
    /// the working directory, or to make test output deterministic.
    pub fn map_locations(mut self, f: impl Fn(&str) -> String) -> Self {
        match &mut self {
            read_side!(location, backup) => {
                *location = f(location);
                if let Some(b) = backup {
                    *b = f(b);
                }
            }
            StateError::ForeignLineage { location, .. }
            | StateError::StaleSerial { location, .. }
            | StateError::UnknownPendingOp { location, .. }
            | StateError::Encode { location, .. }
            | StateError::Io { location, .. }
            | StateError::JournalCorrupt { location, .. }
            | StateError::JournalMismatch { location, .. }
            | StateError::Backend { location, .. } => *location = f(location),
            StateError::InvalidName { .. } => {}
        }
        self
    }

    /// The backup location named by a read-side error, if any.
    pub fn backup(&self) -> Option<&str> {
        match self {
            read_side!(_, backup) => backup.as_deref(),
            _ => None,
        }
    }

    fn help_text(&self) -> String {
        match self {
            unusable_state!(location, backup) => format!(
                "apprun will neither use nor overwrite this state. {} Do not edit state by hand.",
                backup_advice(location, backup.as_deref())
            ),
            StateError::UnknownVersion {
                location,
                found,
                supported,
                backup,
            } => {
                if found > supported {
                    format!(
                        "It was written by a newer apprun: upgrade apprun to read it. {}",
                        backup_advice(location, backup.as_deref())
                    )
                } else {
                    format!(
                        "No apprun writes format version {found}. {}",
                        backup_advice(location, backup.as_deref())
                    )
                }
            }
            StateError::Missing {
                location, backup, ..
            } => format!(
                "apprun will not start a new state where one existed, as that would lose track \
                 of every resource. {} To start from nothing on purpose, remove the backup too.",
                backup_advice(location, backup.as_deref())
            ),
            StateError::ForeignLineage { .. } => {
                "The stored state was created separately (another \
                 stack or target, or a re-initialised state). Check the stack name and --target; \
                 apprun never replaces a state of another lineage."
                    .to_owned()
            }
            StateError::StaleSerial { .. } => "Another apprun run wrote this state after this one \
                 read it. Run `apprun plan` again to plan against the current state."
                .to_owned(),
            StateError::UnknownPendingOp { .. } => "The operation was completed already or never \
                 begun; this is a bug in the caller."
                .to_owned(),
            StateError::InvalidName { .. } => {
                "Use letters, digits, '-' and '_' in stack and target names.".to_owned()
            }
            StateError::Encode { .. } => {
                "This is a bug in apprun; the stored state was not changed.".to_owned()
            }
            StateError::Io { location, .. } => format!(
                "Check that {location} and its directory exist, are readable and writable, and \
                 that the disk has room. A failed write leaves the previous state intact."
            ),
            StateError::JournalCorrupt { .. } | StateError::JournalMismatch { .. } => {
                "The journal holds changes made after the state document was written; apprun \
                 will neither use nor remove it. Moving it aside makes the state forget those \
                 changes (resources they created would exist without a record): inspect it \
                 first. Do not edit state by hand."
                    .to_owned()
            }
            StateError::Backend { .. } => {
                "Check the backend's connectivity and permissions, then retry.".to_owned()
            }
        }
    }
}

fn backup_advice(location: &str, backup: Option<&str>) -> String {
    match backup {
        Some(b) => format!(
            "The previous version is kept at {b}: inspect it, and if it is good, copy it over \
             {location} to restore it."
        ),
        None => "No backup of a previous version exists for it.".to_owned(),
    }
}

impl Diagnostic for StateError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(StateError::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.help_text()))
    }
}

/// A failure to take, release or inspect the lock on a state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds the lock (fail-fast: no timeout was asked for).
    #[error("state at {location} is locked by {}", holder_text(holder.as_deref()))]
    Locked {
        /// Where the state lives.
        location: String,
        /// The holder's record, if it could be read.
        holder: Option<Box<LockInfo>>,
    },
    /// The lock stayed held for the whole timeout.
    #[error("timed out after {} waiting for the lock on {location}, held by {}", secs(waited), holder_text(holder.as_deref()))]
    Timeout {
        /// Where the state lives.
        location: String,
        /// How long we waited.
        waited: Duration,
        /// The holder's record, if it could be read.
        holder: Option<Box<LockInfo>>,
    },
    /// `force_unlock` refused: the lock is held by a process that is still running.
    #[error("refusing to force-unlock {location}: the lock is held by a running process ({})", holder_text(holder.as_deref()))]
    HolderRunning {
        /// Where the state lives.
        location: String,
        /// The holder's record, if it could be read.
        holder: Option<Box<LockInfo>>,
    },
    /// `force_unlock` named another lock id than the one recorded.
    #[error("lock on {location} is {}, not {given}", holder.as_ref().map_or("unreadable".to_owned(), |h| format!("id {}", h.id)))]
    IdMismatch {
        /// Where the state lives.
        location: String,
        /// The id given.
        given: String,
        /// The record found, if readable.
        holder: Option<Box<LockInfo>>,
    },
    /// `force_unlock` found no lock.
    #[error("state at {location} is not locked")]
    NotLocked {
        /// Where the state lives.
        location: String,
    },
    /// An operating-system error on the lock file or record.
    #[error("cannot {action} {location}: {source}")]
    Io {
        /// The path involved.
        location: String,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A remote backend failed (for backends in other crates).
    #[error("lock backend at {location} failed: {detail}")]
    Backend {
        /// Where the state lives.
        location: String,
        /// What failed.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

fn secs(d: &Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn holder_text(holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) => h.to_string(),
        None => "an unknown holder (its lock record is missing or unreadable)".to_owned(),
    }
}

impl LockError {
    /// The stable diagnostic code, e.g. `state::locked`.
    pub fn code(&self) -> &'static str {
        match self {
            LockError::Locked { .. } => "state::locked",
            LockError::Timeout { .. } => "state::lock_timeout",
            LockError::HolderRunning { .. } => "state::lock_holder_running",
            LockError::IdMismatch { .. } => "state::lock_id_mismatch",
            LockError::NotLocked { .. } => "state::not_locked",
            LockError::Io { .. } => "state::lock_io",
            LockError::Backend { .. } => "state::lock_backend",
        }
    }

    /// The holder named by the error, if any.
    pub fn holder(&self) -> Option<&LockInfo> {
        match self {
            LockError::Locked { holder, .. }
            | LockError::Timeout { holder, .. }
            | LockError::HolderRunning { holder, .. }
            | LockError::IdMismatch { holder, .. } => holder.as_deref(),
            _ => None,
        }
    }

    /// Rewrites the location in the error (see [`StateError::map_locations`]).
    pub fn map_locations(mut self, f: impl Fn(&str) -> String) -> Self {
        match &mut self {
            LockError::Locked { location, .. }
            | LockError::Timeout { location, .. }
            | LockError::HolderRunning { location, .. }
            | LockError::IdMismatch { location, .. }
            | LockError::NotLocked { location }
            | LockError::Io { location, .. }
            | LockError::Backend { location, .. } => *location = f(location),
        }
        self
    }

    fn help_text(&self) -> String {
        let unlock = |h: Option<&LockInfo>| match h {
            Some(h) => format!("apprun state unlock --force {}", h.id),
            None => "apprun state unlock --force <ID>".to_owned(),
        };
        match self {
            LockError::Locked { holder, .. } => format!(
                "Another apprun command is using this state. Wait for it to finish, or pass \
                 --lock-timeout to wait for it. If that process is gone and its lock remains, \
                 run `{}`.",
                unlock(holder.as_deref())
            ),
            LockError::Timeout { holder, .. } => format!(
                "The holder kept the lock for the whole timeout. Check that it is still making \
                 progress; if that process is gone and its lock remains, run `{}`.",
                unlock(holder.as_deref())
            ),
            LockError::HolderRunning { .. } => "The operating system still holds the lock for a \
                 live process: stop that process (or let it finish) instead of unlocking."
                .to_owned(),
            LockError::IdMismatch { holder, .. } => format!(
                "Force-unlock takes the id of the lock to remove, so that a lock taken since \
                 cannot be removed by mistake. The current one would be `{}`.",
                unlock(holder.as_deref())
            ),
            LockError::NotLocked { .. } => "Nothing to unlock.".to_owned(),
            LockError::Io { location, .. } => format!(
                "Check that {location} and its directory exist and are readable and writable."
            ),
            LockError::Backend { .. } => {
                "Check the backend's connectivity and permissions, then retry.".to_owned()
            }
        }
    }
}

impl Diagnostic for LockError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(LockError::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.help_text()))
    }
}
