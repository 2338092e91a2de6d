//! Named fail points in the local store, for crash and torn-write tests
//! (RELIABILITY.md T6, T11). The names always exist; the table and actions
//! are compiled only with the `failpoints` feature.
//!
//! Set them per store with [`crate::LocalStore::with_failpoint`], or for a
//! whole process with `APPRUN_FAILPOINTS="name=action;name=action"` where an
//! action is `error`, `abort` (`std::process::abort`, which no cleanup code
//! survives, like `kill -9`) or `sleep(MS)`. Owns the table and the actions;
//! must never be reachable in a build without the feature.

#[cfg(feature = "failpoints")]
use std::io;
#[cfg(feature = "failpoints")]
use std::time::Duration;

/// After the temporary file is written and synced, before the backup and rename (T6 `mid_state_write`).
pub const AFTER_TEMP_WRITE: &str = "state.after_temp_write";
/// After the backup is written, before the rename onto the state file.
pub const BEFORE_RENAME: &str = "state.before_rename";
/// After the rename, before the directory is synced.
pub const AFTER_RENAME: &str = "state.after_rename";
/// Half of a journal line is written (not synced): an abort here leaves a torn line.
pub const JOURNAL_MID_APPEND: &str = "state.journal.mid_append";
/// A whole journal line is written, before it is synced.
pub const JOURNAL_BEFORE_SYNC: &str = "state.journal.before_sync";
/// A journal line is durable, before the batch is answered.
pub const JOURNAL_AFTER_SYNC: &str = "state.journal.after_sync";
/// A fold wrote the document, before it removes the journal.
pub const FOLD_BEFORE_REMOVE: &str = "state.fold.before_remove";
/// After the OS lock is taken, before the holder record is written.
pub const AFTER_LOCK: &str = "lock.after_lock";
/// Before the holder record is removed and the OS lock released (T6 `before_unlock`).
pub const BEFORE_UNLOCK: &str = "lock.before_unlock";

/// What a fail point does when reached.
#[cfg(feature = "failpoints")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailAction {
    /// Return an I/O error from the operation.
    Error,
    /// Abort the process at once.
    Abort,
    /// Sleep, then carry on.
    Sleep(Duration),
}

/// A table of fail points.
#[cfg(feature = "failpoints")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailPoints {
    rules: Vec<(String, FailAction)>,
}

#[cfg(feature = "failpoints")]
impl FailPoints {
    /// The table in `APPRUN_FAILPOINTS` (empty if unset; malformed entries are ignored with a warning).
    pub fn from_env() -> Self {
        let mut fp = FailPoints::default();
        let Ok(spec) = std::env::var("APPRUN_FAILPOINTS") else {
            return fp;
        };
        for entry in spec.split(';').filter(|e| !e.trim().is_empty()) {
            let parsed = entry.split_once('=').and_then(|(name, action)| {
                let action = match action.trim() {
                    "error" => FailAction::Error,
                    "abort" => FailAction::Abort,
                    a => {
                        let ms = a.strip_prefix("sleep(")?.strip_suffix(')')?.parse().ok()?;
                        FailAction::Sleep(Duration::from_millis(ms))
                    }
                };
                Some((name.trim().to_owned(), action))
            });
            match parsed {
                Some(rule) => fp.rules.push(rule),
                None => tracing::warn!("ignoring malformed APPRUN_FAILPOINTS entry {entry:?}"),
            }
        }
        fp
    }

    /// Adds (or replaces) a rule.
    pub fn set(&mut self, name: &str, action: FailAction) {
        self.rules.retain(|(n, _)| n != name);
        self.rules.push((name.to_owned(), action));
    }

    /// Runs the rule for `name`, if any.
    pub(crate) fn hit(&self, name: &str) -> io::Result<()> {
        match self.rules.iter().find(|(n, _)| n == name).map(|(_, a)| a) {
            None => Ok(()),
            Some(FailAction::Error) => Err(io::Error::other(format!(
                "injected failure at fail point {name}"
            ))),
            Some(FailAction::Abort) => std::process::abort(),
            Some(FailAction::Sleep(d)) => {
                std::thread::sleep(*d);
                Ok(())
            }
        }
    }
}
