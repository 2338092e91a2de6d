//! The apply journal: record intent before a mutating call, and its result
//! after it, each durably, so a crash at any point leaves a state that says
//! what was interrupted (P4, P5).
//!
//! [`Journal`] keeps the current snapshot of one [`Storage`]. Each change
//! is one compare-and-swap with the serial incremented: `begin` records the
//! pending operation; `complete` removes it and updates the resource record
//! in the same durable step. A batch of begins and completions
//! ([`Journal::record`]) goes to [`Storage::append`]: a store with an
//! append-only journal (the local store) stores just the batch, so an apply
//! of N resources writes O(N) bytes, not the whole document per batch
//! (O(N^2)); other stores write the whole document. The journal is folded
//! into the document ([`Storage::fold`]) when it is opened (recovering what
//! a crashed run left), finished ([`Journal::finish`]) or dropped, and by
//! every whole write ([`Journal::update`]). Owns the order of those writes.
//! Must never skip a write to save time: the journal is only as good as its
//! durability. It does not take the lock: the caller holds a
//! [`crate::LockGuard`] for the whole command.

use crate::batch::Batch;
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

/// Applies one entry to `snapshot` (no write), checking it as
/// [`Journal::begin`] / [`Journal::complete`] would.
pub(crate) fn apply_entry(
    snapshot: &mut Snapshot,
    location: &str,
    entry: Entry,
) -> Result<(), StateError> {
    apply_undoable(snapshot, location, entry).map(|_| ())
}

/// How to take back one applied entry, so that a batch is applied in place
/// (O(batch), not a copy of the whole snapshot) and undone if its write fails.
enum Undo {
    /// A begin pushed a pending operation.
    Begin,
    /// A completion removed a pending operation and changed the records.
    Complete(Box<CompleteUndo>),
}

/// What a completion did: removed the pending operation `op` from `index`,
/// and changed the resource records as `resource` says.
struct CompleteUndo {
    index: usize,
    op: PendingOp,
    resource: ResourceUndo,
}

/// What a completion did to the resource records.
enum ResourceUndo {
    /// Nothing.
    Unchanged,
    /// Appended a new record.
    Appended,
    /// Replaced this record at this index.
    Replaced(usize, Resource),
    /// Removed this record from this index.
    Removed(usize, Resource),
}

/// Applies one entry to `snapshot`, returning how to take it back.
fn apply_undoable(
    snapshot: &mut Snapshot,
    location: &str,
    entry: Entry,
) -> Result<Undo, StateError> {
    let (id, outcome) = match entry {
        Entry::Begin(op) => {
            snapshot.pending.push(op);
            return Ok(Undo::Begin);
        }
        Entry::Complete(id, outcome) => (id, outcome),
    };
    let Some(index) = snapshot.pending.iter().position(|p| p.id == id) else {
        return Err(StateError::UnknownPendingOp {
            location: location.to_owned(),
            id: id.to_string(),
        });
    };
    let address = snapshot.pending[index].address.clone();
    if let Outcome::Applied(r) = &outcome
        && r.address != address
    {
        return Err(StateError::InvalidRecord {
            location: location.to_owned(),
            address: r.address.clone(),
            reason: format!("it completes operation {id} on {address}"),
            backup: None,
        });
    }
    let op = snapshot.pending.remove(index);
    let position = snapshot.resources.iter().position(|r| r.address == address);
    let resource = match (outcome, position) {
        (Outcome::Applied(r), Some(i)) => {
            ResourceUndo::Replaced(i, std::mem::replace(&mut snapshot.resources[i], r))
        }
        (Outcome::Applied(r), None) => {
            snapshot.resources.push(r);
            ResourceUndo::Appended
        }
        (Outcome::Deleted, Some(i)) => ResourceUndo::Removed(i, snapshot.resources.remove(i)),
        (Outcome::Deleted, None) | (Outcome::Failed, _) => ResourceUndo::Unchanged,
    };
    Ok(Undo::Complete(Box::new(CompleteUndo {
        index,
        op,
        resource,
    })))
}

/// Takes back what [`apply_undoable`] did (undo in reverse order).
fn undo(snapshot: &mut Snapshot, undo: Undo) {
    match undo {
        Undo::Begin => {
            snapshot.pending.pop();
        }
        Undo::Complete(complete) => {
            let CompleteUndo {
                index,
                op,
                resource,
            } = *complete;
            match resource {
                ResourceUndo::Unchanged => {}
                ResourceUndo::Appended => {
                    snapshot.resources.pop();
                }
                ResourceUndo::Replaced(i, r) => snapshot.resources[i] = r,
                ResourceUndo::Removed(i, r) => snapshot.resources.insert(i, r),
            }
            snapshot.pending.insert(index, op);
        }
    }
}

/// A writer's view of one state: the last snapshot it read or wrote.
///
/// Dropping it folds the batches it appended into the document (as
/// [`Journal::finish`] does, but a failure is only logged: the state is
/// durable either way, and the next [`Journal::open`] folds it).
#[derive(Debug)]
pub struct Journal<'s, S: Storage + ?Sized> {
    store: &'s S,
    snapshot: Snapshot,
    stored: Option<Generation>,
    /// Batches were appended since the last fold.
    unfolded: bool,
}

impl<'s, S: Storage + ?Sized> Journal<'s, S> {
    /// Folds a journal a crashed run left (recovery), then reads the state
    /// (or starts a fresh one, written on the first change).
    pub fn open(store: &'s S) -> Result<Self, StateError> {
        store.fold()?;
        Ok(match store.read()? {
            Some(snapshot) => Journal {
                store,
                stored: Some(snapshot.generation()),
                snapshot,
                unfolded: false,
            },
            None => Journal {
                store,
                snapshot: Snapshot::fresh()?,
                stored: None,
                unfolded: false,
            },
        })
    }

    /// Names the stack a state not yet stored belongs to: its first write
    /// records the name (a stored state keeps what it has).
    pub fn name_new_state(&mut self, stack: &str) {
        if self.stored.is_none() {
            self.snapshot.stack = Some(stack.to_owned());
        }
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
        self.record(vec![Entry::Begin(op)]).pop().unwrap_or(Ok(()))
    }

    /// Durably records the outcome of pending operation `id` and removes it, in
    /// one atomic write.
    pub fn complete(&mut self, id: &OpId, outcome: Outcome) -> Result<(), StateError> {
        self.record(vec![Entry::Complete(id.clone(), outcome)])
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Records several begins and completions in ONE durable step (the apply
    /// loop batches the entries that arrive together, so many concurrent
    /// changes cost one fsync instead of one each): one [`Storage::append`]
    /// of a [`Batch`], or the first write of a fresh state. Each entry is
    /// checked as `begin`/`complete` would check it; one result per entry,
    /// in order. An entry that fails its check is left out; a failed write
    /// fails them all.
    pub fn record(&mut self, entries: Vec<Entry>) -> Vec<Result<(), StateError>> {
        let location = self.store.location();
        let mut results: Vec<Result<(), StateError>> = Vec::with_capacity(entries.len());
        let mut applied = Vec::with_capacity(entries.len());
        let mut undos = Vec::with_capacity(entries.len());
        for entry in entries {
            results.push(
                match apply_undoable(&mut self.snapshot, &location, entry.clone()) {
                    Ok(u) => {
                        undos.push(u);
                        applied.push(entry);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            );
        }
        // Every entry that applied changed the snapshot (a begin adds a
        // pending operation, a completion removes one): write unless none did.
        if applied.is_empty() {
            return results;
        }
        self.snapshot.serial += 1;
        let next = &self.snapshot;
        let written = verify_integrity(next)
            .map_err(|v| StateError::from_violation(&location, None, v))
            .and_then(|()| match &self.stored {
                Some(expected) => {
                    let batch = Batch {
                        lineage: next.lineage.clone(),
                        serial: next.serial,
                        entries: applied,
                    };
                    self.store.append(&batch, next, expected).map(|()| true)
                }
                None => self.store.write(next, None).map(|()| false),
            });
        match written {
            Ok(appended) => {
                self.unfolded |= appended;
                self.stored = Some(self.snapshot.generation());
                results
            }
            Err(error) => {
                // Nothing was stored: back to the snapshot as it was.
                self.snapshot.serial -= 1;
                for u in undos.into_iter().rev() {
                    undo(&mut self.snapshot, u);
                }
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
        // A whole write holds everything the journal did: it is folded.
        self.unfolded = false;
        self.stored = Some(next.generation());
        self.snapshot = next;
        Ok(())
    }

    /// Folds the batches appended so far into the document. The state (and
    /// its generation) stays the same; only where it is kept changes.
    pub fn fold(&mut self) -> Result<(), StateError> {
        if self.unfolded {
            self.unfolded = false;
            if let Err(e) = self.store.fold() {
                self.unfolded = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Folds (see [`Journal::fold`]) and returns the current snapshot: the
    /// end of a run that wrote through this journal.
    pub fn finish(mut self) -> Result<Snapshot, StateError> {
        let folded = self.fold();
        // Tried once: dropping `self` does not try again.
        self.unfolded = false;
        folded?;
        Ok(self.snapshot.clone())
    }

    /// The current snapshot, consuming the journal (which folds as on drop).
    pub fn into_snapshot(self) -> Snapshot {
        self.snapshot.clone()
    }
}

impl<S: Storage + ?Sized> Drop for Journal<'_, S> {
    fn drop(&mut self) {
        if let Err(e) = self.fold() {
            tracing::warn!(
                "could not fold the state journal into {}: {e}; the state is intact and the \
                 next run that writes it folds it",
                self.store.location()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::secret_digest::DigestKey;
    use crate::snapshot::{Lineage, PendingAction};

    fn op(id: &str, address: &str, action: PendingAction) -> PendingOp {
        PendingOp {
            id: OpId::new(id),
            address: address.to_owned(),
            action,
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            detail: serde_json::Value::Null,
        }
    }

    #[test]
    fn undoing_a_batch_in_reverse_restores_the_snapshot_exactly() {
        let mut s = Snapshot::with_identity(Lineage::new("l"), DigestKey::from_bytes([1; 32]));
        for a in ["roles.a", "roles.b", "roles.c"] {
            s.resources.push(Resource::new(a, "role"));
        }
        s.pending = vec![
            op("u", "roles.b", PendingAction::Update),
            op("d", "roles.a", PendingAction::Delete),
            op("f", "roles.c", PendingAction::Update),
            op("n", "roles.new", PendingAction::Create),
        ];
        let before = s.clone();
        let mut changed = Resource::new("roles.b", "role");
        changed.physical_id = Some("arn:b".to_owned());
        let entries = vec![
            Entry::Begin(op("x", "roles.x", PendingAction::Create)),
            Entry::Complete(OpId::new("u"), Outcome::Applied(changed)),
            Entry::Complete(OpId::new("d"), Outcome::Deleted),
            Entry::Complete(OpId::new("f"), Outcome::Failed),
            Entry::Complete(
                OpId::new("n"),
                Outcome::Applied(Resource::new("roles.new", "role")),
            ),
            Entry::Complete(OpId::new("x"), Outcome::Deleted),
        ];
        let mut undos = Vec::new();
        for e in entries {
            undos.push(apply_undoable(&mut s, "mem", e).unwrap());
        }
        assert!(s.pending.is_empty());
        let addresses: Vec<&str> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["roles.b", "roles.c", "roles.new"]);
        assert_eq!(s.resources[0].physical_id.as_deref(), Some("arn:b"));
        for u in undos.into_iter().rev() {
            undo(&mut s, u);
        }
        assert_eq!(s, before);
    }
}
