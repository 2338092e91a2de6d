//! Backend-independent lock types: who holds a lock ([`LockInfo`]), what a
//! caller asks for ([`LockRequest`]), and the [`LockGuard`] that releases the
//! lock when dropped, on every exit path (P2).
//!
//! Owns the identity of a holder and the release-on-drop contract. Must never
//! touch the file system or the network: each backend supplies a
//! [`LockRelease`] that knows how to let go.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::now_rfc3339;
use crate::error::LockError;

crate::random::random_id_type! {
    /// The id of one acquisition of a lock (128 random bits, hex).
    pub struct LockId;
    random: "A new random id.",
    new: "An id from a known string (e.g. the argument of `unlock --force`).",
    as_str: "The id as stored.",
}

/// The record of a lock holder, stored beside the lock and shown to anyone
/// who finds the state locked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// The id to pass to `apprun state unlock --force`.
    pub id: LockId,
    /// The command holding the lock (`apply`, `destroy`, ...).
    pub operation: String,
    /// The user name of the holder.
    pub user: String,
    /// The host name of the holder.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's apprun version.
    pub version: String,
    /// When the lock was taken (RFC 3339 UTC).
    pub since: String,
}

impl LockInfo {
    /// The identity of this process holding a lock for `request`, with a new id.
    pub fn for_current_process(request: &LockRequest) -> std::io::Result<Self> {
        Ok(LockInfo {
            id: LockId::random()?,
            operation: request.operation.clone(),
            user: current_user(),
            host: current_host(),
            pid: std::process::id(),
            version: request.version.clone(),
            since: now_rfc3339(),
        })
    }

    /// Whether the holder runs on this host and its process is gone.
    /// `None` when that cannot be told (another host, or no way to check).
    pub fn holder_running(&self) -> Option<bool> {
        if self.host != current_host() {
            return None;
        }
        process_running(self.pid)
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, apprun {}) running `{}` since {}, lock id {}",
            self.user, self.host, self.pid, self.version, self.operation, self.since, self.id
        )
    }
}

/// What a caller asks of [`crate::Locker::lock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRequest {
    /// The command that needs the lock (`apply`, `destroy`, `state push`, ...).
    pub operation: String,
    /// `None`: fail at once if held (the default, P1). `Some(t)`: wait up to
    /// `t`, with backoff.
    pub timeout: Option<Duration>,
    /// The apprun version recorded in the lock.
    pub version: String,
}

impl LockRequest {
    /// A fail-fast request for `operation`, recording this crate's version.
    pub fn new(operation: impl Into<String>) -> Self {
        LockRequest {
            operation: operation.into(),
            timeout: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Waits up to `timeout` for the lock instead of failing at once.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Records another version (the CLI passes its own).
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }
}

/// A lock record left by a holder that no longer holds the lock (it crashed
/// or was killed). Reported as a warning when the next locker takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleLock {
    /// The stale record, or `None` if it was unreadable.
    pub record: Option<LockInfo>,
    /// `Some(false)`: same host and the process is gone. `None`: cannot tell.
    pub holder_running: Option<bool>,
}

impl fmt::Display for StaleLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.record, self.holder_running) {
            (Some(r), Some(false)) => write!(
                f,
                "stale lock record from pid {} (not running) on {}: {}",
                r.pid, r.host, r
            ),
            (Some(r), _) => write!(
                f,
                "stale lock record from pid {} on {} (its lock was released; the process ended \
                 without cleaning up): {}",
                r.pid, r.host, r
            ),
            (None, _) => f.write_str("stale, unreadable lock record"),
        }
    }
}

/// What a store reports about its lock without taking it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockStatus {
    /// Nobody holds the lock.
    Free,
    /// The lock is held; the record if readable.
    Held(Option<LockInfo>),
    /// Nobody holds the lock, but a crashed holder's record remains.
    Stale(StaleLock),
}

/// How a backend lets go of a lock. Called exactly once, by [`LockGuard`].
pub trait LockRelease: Send {
    /// Releases the lock.
    fn release(self: Box<Self>) -> Result<(), LockError>;
}

/// Proof of holding a lock; releases it when dropped (errors are logged) or
/// by [`LockGuard::unlock`] (errors are returned).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    info: LockInfo,
    stale: Option<StaleLock>,
    release: Option<Box<dyn LockRelease>>,
}

impl LockGuard {
    /// A guard for a lock a backend has just taken. `stale` is the crashed
    /// holder's record it replaced, if any.
    pub fn new(info: LockInfo, stale: Option<StaleLock>, release: Box<dyn LockRelease>) -> Self {
        LockGuard {
            info,
            stale,
            release: Some(release),
        }
    }

    /// This holder's record.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// This lock's id.
    pub fn id(&self) -> &LockId {
        &self.info.id
    }

    /// The stale record this lock replaced, if any: print it as a warning.
    pub fn replaced_stale(&self) -> Option<&StaleLock> {
        self.stale.as_ref()
    }

    /// Releases the lock now, reporting failure.
    pub fn unlock(mut self) -> Result<(), LockError> {
        match self.release.take() {
            Some(r) => r.release(),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("info", &self.info)
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(r) = self.release.take()
            && let Err(e) = r.release()
        {
            tracing::warn!(lock_id = %self.info.id, "failed to release state lock: {e}");
        }
    }
}

/// The user name from the environment, or `unknown`.
pub(crate) fn current_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The host name, or `unknown`.
pub(crate) fn current_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether process `pid` exists on this host (`/proc/<pid>`; `None` where
/// there is no `/proc`).
pub(crate) fn process_running(pid: u32) -> Option<bool> {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // The state letter follows the last ')' (the command name may hold
        // spaces and parentheses). A zombie has exited.
        Ok(stat) => Some(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_none_or(|state| !matches!(state, 'Z' | 'X' | 'x')),
        ),
        Err(_) => Some(false),
    }
}
