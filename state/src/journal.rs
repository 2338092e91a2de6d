//! The apply journal: record intent before a mutating call, and its result
//! after it, each durably, so a crash at any point leaves a state that says
//! what was interrupted (P4, P5).
//!
//! [`Journal`] keeps the current snapshot of one [`Storage`] and turns each
//! change into one compare-and-swap write with the serial incremented.
//! `begin` writes the pending operation; `complete` removes it and updates the
//! resource record in the same atomic write. Owns the order of those writes.
//! Must never skip a write to save time: the journal is only as good as its
//! durability. It does not take the lock: the caller holds a
//! [`crate::LockGuard`] for the whole command.

use crate::error::StateError;
use crate::integrity::verify_integrity;
use crate::snapshot::{Generation, OpId, PendingOp, Resource, Snapshot};
use crate::store::Storage;

/// What became of a pending operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The call took effect: record (or replace) this resource. Its address
    /// must be the operation's.
    Applied(Resource),
    /// The resource is gone: remove its record.
    Deleted,
    /// The call failed with no effect: keep the record as it was.
    Failed,
}

/// One entry of a batch for [`Journal::record`].
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// Like [`Journal::begin`].
    Begin(PendingOp),
    /// Like [`Journal::complete`].
    Complete(OpId, Outcome),
}

/// Completes pending operation `id` in `snapshot` (no write).
fn complete_in(
    snapshot: &mut Snapshot,
    location: &str,
    id: &OpId,
    outcome: Outcome,
) -> Result<(), StateError> {
    let Some(op) = snapshot.pending_op(id).cloned() else {
        return Err(StateError::UnknownPendingOp {
            location: location.to_owned(),
            id: id.to_string(),
        });
    };
    if let Outcome::Applied(r) = &outcome
        && r.address != op.address
    {
        return Err(StateError::InvalidRecord {
            location: location.to_owned(),
            address: r.address.clone(),
            reason: format!("it completes operation {id} on {}", op.address),
            backup: None,
        });
    }
    snapshot.pending.retain(|p| &p.id != id);
    match outcome {
        Outcome::Applied(r) => snapshot.upsert(r),
        Outcome::Deleted => {
            snapshot.remove(&op.address);
        }
        Outcome::Failed => {}
    }
    Ok(())
}

/// A writer's view of one state: the last snapshot it read or wrote.
#[derive(Debug)]
pub struct Journal<'s, S: Storage + ?Sized> {
    store: &'s S,
    snapshot: Snapshot,
    stored: Option<Generation>,
}

impl<'s, S: Storage + ?Sized> Journal<'s, S> {
    /// Reads the state (or starts a fresh one, written on the first change).
    pub fn open(store: &'s S) -> Result<Self, StateError> {
        Ok(match store.read()? {
            Some(snapshot) => Journal {
                store,
                stored: Some(snapshot.generation()),
                snapshot,
            },
            None => Journal {
                store,
                snapshot: Snapshot::fresh()?,
                stored: None,
            },
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The stored generation this journal writes against (`None`: nothing stored yet).
    pub fn generation(&self) -> Option<&Generation> {
        self.stored.as_ref()
    }

    /// Operations begun and never completed, e.g. by a run that crashed.
    pub fn pending(&self) -> &[PendingOp] {
        &self.snapshot.pending
    }

    /// Durably records that `op` is about to run. Call before the mutating call.
    pub fn begin(&mut self, op: PendingOp) -> Result<(), StateError> {
        self.change(|s| s.pending.push(op))
    }

    /// Durably records the outcome of pending operation `id` and removes it, in
    /// one atomic write.
    pub fn complete(&mut self, id: &OpId, outcome: Outcome) -> Result<(), StateError> {
        self.record(vec![Entry::Complete(id.clone(), outcome)])
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Records several begins and completions in ONE atomic write (the apply
    /// loop batches the entries that arrive together, so many concurrent
    /// changes cost one fsync instead of one each). Each entry is checked as
    /// `begin`/`complete` would check it; one result per entry, in order. An
    /// entry that fails its check is left out; a failed write fails them all.
    pub fn record(&mut self, entries: Vec<Entry>) -> Vec<Result<(), StateError>> {
        let location = self.store.location();
        let mut next = self.snapshot.clone();
        let mut results: Vec<Result<(), StateError>> = Vec::with_capacity(entries.len());
        for entry in entries {
            results.push(match entry {
                Entry::Begin(op) => {
                    next.pending.push(op);
                    Ok(())
                }
                Entry::Complete(id, outcome) => complete_in(&mut next, &location, &id, outcome),
            });
        }
        // Every entry that applied changed the snapshot (a begin adds a
        // pending operation, a completion removes one): write unless none did.
        if results.iter().all(Result::is_err) {
            return results;
        }
        next.serial = self.snapshot.serial + 1;
        let written = verify_integrity(&next)
            .map_err(|v| StateError::from_violation(&location, None, v))
            .and_then(|()| self.store.write(&next, self.stored.as_ref()));
        match written {
            Ok(()) => {
                self.stored = Some(next.generation());
                self.snapshot = next;
                results
            }
            Err(error) => {
                let message = error.to_string();
                let mut first = Some(error);
                results
                    .into_iter()
                    .map(|r| {
                        r.and_then(|()| {
                            Err(first.take().unwrap_or_else(|| StateError::Backend {
                                location: location.clone(),
                                detail: message.clone(),
                                source: None,
                            }))
                        })
                    })
                    .collect()
            }
        }
    }

    /// Applies any other change (e.g. a refresh) as one write. Writes nothing
    /// if the snapshot is unchanged: the serial grows only on real change.
    pub fn update<R>(&mut self, f: impl FnOnce(&mut Snapshot) -> R) -> Result<R, StateError> {
        let mut out = None;
        self.change(|s| out = Some(f(s)))?;
        out.ok_or_else(|| StateError::Encode {
            location: self.store.location(),
            detail: "update closure did not run".to_owned(),
        })
    }

    fn change(&mut self, f: impl FnOnce(&mut Snapshot)) -> Result<(), StateError> {
        let mut next = self.snapshot.clone();
        f(&mut next);
        if next == self.snapshot {
            return Ok(());
        }
        next.serial = self.snapshot.serial + 1;
        verify_integrity(&next)
            .map_err(|v| StateError::from_violation(&self.store.location(), None, v))?;
        self.store.write(&next, self.stored.as_ref())?;
        self.stored = Some(next.generation());
        self.snapshot = next;
        Ok(())
    }

    /// The current snapshot, consuming the journal.
    pub fn into_snapshot(self) -> Snapshot {
        self.snapshot
    }
}
