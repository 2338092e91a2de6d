//! The stored form of a journal batch, shared by every backend that keeps an
//! append-only journal beside its state document: one line of JSON per batch.
//!
//! ```text
//! {"format_version":1,"checksum":"sha256:<64 hex>","batch":{"lineage":"…","serial":8,"entries":[…]}}
//! ```
//!
//! A batch is what one [`crate::Journal::record`] call wrote: the entries that
//! applied, and the serial they make. Replaying the batches `serial + 1`,
//! `serial + 2`, ... of a journal onto the document (of `serial`) gives the
//! state the writer had; [`replay`] does that and refuses anything else.
//! [`scan`] reads a journal's bytes: complete lines in order, a torn last
//! line ignored (a batch is acknowledged only once its whole line is durable,
//! so a line cut short was never acknowledged). The checksum covers the exact
//! bytes of `batch`, as the document's covers its body.
//!
//! Owns the line format and the replay rules. Does no I/O; must never panic
//! on any input and never return a state that fails a check.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::error::StateError;
use crate::format::FORMAT_VERSION;
use crate::integrity::verify_integrity;
use crate::journal::{Entry, Outcome, apply_entry};
use crate::snapshot::{Lineage, OpId, PendingOp, Resource, Snapshot};

const CHECKSUM_PREFIX: &str = "sha256:";

/// One batch of journal entries, as a backend stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The lineage of the state it continues.
    pub lineage: Lineage,
    /// The serial the state has once the batch is applied: one more than
    /// the serial it continues.
    pub serial: u64,
    /// The entries, in order; each applied when the batch was written.
    pub entries: Vec<Entry>,
}

/// An entry as stored (the public [`Entry`] keeps its tuple shape).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum WireEntry {
    Begin(PendingOp),
    Complete { id: OpId, outcome: WireOutcome },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum WireOutcome {
    Applied(Resource),
    Deleted,
    Failed,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBatch {
    lineage: Lineage,
    serial: u64,
    entries: Vec<WireEntry>,
}

impl From<&Entry> for WireEntry {
    fn from(entry: &Entry) -> Self {
        match entry {
            Entry::Begin(op) => WireEntry::Begin(op.clone()),
            Entry::Complete(id, outcome) => WireEntry::Complete {
                id: id.clone(),
                outcome: match outcome {
                    Outcome::Applied(r) => WireOutcome::Applied(r.clone()),
                    Outcome::Deleted => WireOutcome::Deleted,
                    Outcome::Failed => WireOutcome::Failed,
                },
            },
        }
    }
}

impl From<WireEntry> for Entry {
    fn from(entry: WireEntry) -> Self {
        match entry {
            WireEntry::Begin(op) => Entry::Begin(op),
            WireEntry::Complete { id, outcome } => Entry::Complete(
                id,
                match outcome {
                    WireOutcome::Applied(r) => Outcome::Applied(r),
                    WireOutcome::Deleted => Outcome::Deleted,
                    WireOutcome::Failed => Outcome::Failed,
                },
            ),
        }
    }
}

/// Encodes `batch` as one journal line, newline included. `location` names
/// the journal in errors.
pub fn encode(batch: &Batch, location: &str) -> Result<Vec<u8>, StateError> {
    let wire = WireBatch {
        lineage: batch.lineage.clone(),
        serial: batch.serial,
        entries: batch.entries.iter().map(WireEntry::from).collect(),
    };
    let body = serde_json::to_string(&wire).map_err(|e| StateError::Encode {
        location: location.to_owned(),
        detail: e.to_string(),
    })?;
    let checksum = hex::encode(Sha256::digest(body.as_bytes()));
    Ok(format!(
        "{{\"format_version\":{FORMAT_VERSION},\"checksum\":\"{CHECKSUM_PREFIX}{checksum}\",\"batch\":{body}}}\n"
    )
    .into_bytes())
}

/// Decodes and verifies one journal line (with or without its newline).
/// `line` is its 1-based number in the journal at `location`, for errors.
pub fn decode(bytes: &[u8], location: &str, line: usize) -> Result<Batch, StateError> {
    let corrupt = |detail: String| StateError::JournalCorrupt {
        location: location.to_owned(),
        line,
        detail,
    };
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope<'a> {
        format_version: u64,
        checksum: String,
        #[serde(borrow)]
        batch: &'a RawValue,
    }
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let envelope: Envelope<'_> =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a journal line: {e}")))?;
    if envelope.format_version != FORMAT_VERSION {
        return Err(StateError::UnknownVersion {
            location: location.to_owned(),
            found: envelope.format_version,
            supported: FORMAT_VERSION,
            backup: None,
        });
    }
    let computed = hex::encode(Sha256::digest(envelope.batch.get().as_bytes()));
    if envelope.checksum.strip_prefix(CHECKSUM_PREFIX) != Some(computed.as_str()) {
        return Err(corrupt(format!(
            "the batch does not hash to its checksum (recorded {:?}, computed {CHECKSUM_PREFIX}{computed})",
            envelope.checksum
        )));
    }
    let wire: WireBatch = serde_json::from_str(envelope.batch.get())
        .map_err(|e| corrupt(format!("the batch: {e}")))?;
    Ok(Batch {
        lineage: wire.lineage,
        serial: wire.serial,
        entries: wire.entries.into_iter().map(Entry::from).collect(),
    })
}

/// A journal as read by [`scan`].
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The complete, verified batches, in order.
    pub batches: Vec<Batch>,
    /// How many leading bytes hold them; anything after is a torn line.
    pub good_len: usize,
    /// Why the bytes after `good_len` were ignored, if there are any.
    pub torn: Option<String>,
}

/// Reads a whole journal. Every line but the last must decode (else
/// `state::journal_corrupt`); a last line that has no newline or does not
/// decode is a write cut short and is reported in [`Scan::torn`], not used.
pub fn scan(bytes: &[u8], location: &str) -> Result<Scan, StateError> {
    let mut batches = Vec::new();
    let mut pos = 0;
    let mut torn = None;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            torn = Some(format!(
                "its last {} byte(s) end without a newline",
                rest.len()
            ));
            break;
        };
        let line = batches.len() + 1;
        match decode(&rest[..end], location, line) {
            Ok(batch) => {
                batches.push(batch);
                pos += end + 1;
            }
            Err(e) if pos + end + 1 == bytes.len() => {
                torn = Some(format!("its last line does not decode ({e})"));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Scan {
        batches,
        good_len: pos,
        torn,
    })
}

/// What [`replay`] made of a document and its journal.
#[derive(Clone, Debug, PartialEq)]
pub struct Replayed {
    /// The state: the document with every batch of the journal applied.
    pub snapshot: Snapshot,
    /// How many batches were applied (0: the journal adds nothing).
    pub applied: usize,
    /// The journal holds only batches the document already contains (a
    /// crash after a fold wrote the document, before it removed the journal).
    pub stale: bool,
}

/// Applies `batches` to `document`. They must be of its lineage and either
/// continue it (serials `document.serial + 1`, `+ 2`, ... in order) or all
/// be contained in it already (serials up to `document.serial`: a journal a
/// fold or a whole write did not get to remove). Anything else, an entry
/// that does not apply, or a result that fails [`verify_integrity`] is
/// `state::journal_mismatch` or `state::journal_corrupt` at `location`.
pub fn replay(
    mut document: Snapshot,
    batches: Vec<Batch>,
    location: &str,
) -> Result<Replayed, StateError> {
    let mismatch = |detail: String| StateError::JournalMismatch {
        location: location.to_owned(),
        detail,
    };
    if let Some(b) = batches.iter().find(|b| b.lineage != document.lineage) {
        return Err(mismatch(format!(
            "batch {} belongs to lineage {}, the state document to {}",
            b.serial, b.lineage, document.lineage
        )));
    }
    let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
        return Ok(Replayed {
            snapshot: document,
            applied: 0,
            stale: false,
        });
    };
    if last.serial <= document.serial {
        return Ok(Replayed {
            snapshot: document,
            applied: 0,
            stale: true,
        });
    }
    if first.serial != document.serial + 1 {
        return Err(mismatch(format!(
            "its first batch has serial {}, but the state document is at serial {} (it must \
             continue it at {})",
            first.serial,
            document.serial,
            document.serial + 1
        )));
    }
    let applied = batches.len();
    for (i, batch) in batches.into_iter().enumerate() {
        let line = i + 1;
        if batch.serial != document.serial + 1 {
            return Err(mismatch(format!(
                "line {line} has serial {}, after serial {}",
                batch.serial, document.serial
            )));
        }
        for entry in batch.entries {
            apply_entry(&mut document, location, entry).map_err(|e| {
                StateError::JournalCorrupt {
                    location: location.to_owned(),
                    line,
                    detail: format!("an entry does not apply: {e}"),
                }
            })?;
        }
        document.serial = batch.serial;
    }
    verify_integrity(&document).map_err(|v| StateError::JournalCorrupt {
        location: location.to_owned(),
        line: applied,
        detail: format!("the state it makes is invalid: {v}"),
    })?;
    Ok(Replayed {
        snapshot: document,
        applied,
        stale: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::secret_digest::DigestKey;
    use crate::snapshot::PendingAction;

    fn op(id: &str, address: &str) -> PendingOp {
        PendingOp {
            id: OpId::new(id),
            address: address.to_owned(),
            action: PendingAction::Create,
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            detail: serde_json::json!({"name": "x"}),
        }
    }

    fn doc() -> Snapshot {
        let mut s = Snapshot::with_identity(Lineage::new("l1"), DigestKey::from_bytes([3; 32]));
        s.serial = 4;
        s
    }

    fn batches() -> Vec<Batch> {
        let mut web = Resource::new("services.web", "service");
        web.attributes = serde_json::json!({"ratio": 0.1, "z": [1, "two"]});
        web.incomplete = Some("the run stopped".to_owned());
        vec![
            Batch {
                lineage: Lineage::new("l1"),
                serial: 5,
                entries: vec![
                    Entry::Begin(op("a", "services.web")),
                    Entry::Begin(op("b", "roles.web")),
                ],
            },
            Batch {
                lineage: Lineage::new("l1"),
                serial: 6,
                entries: vec![
                    Entry::Complete(OpId::new("a"), Outcome::Applied(web)),
                    Entry::Complete(OpId::new("b"), Outcome::Failed),
                ],
            },
        ]
    }

    #[test]
    fn a_line_has_the_documented_shape() {
        let line = String::from_utf8(encode(&batches()[0], "j").unwrap()).unwrap();
        assert!(
            line.starts_with("{\"format_version\":1,\"checksum\":\"sha256:"),
            "{line}"
        );
        assert!(
            line.contains(
                "\"batch\":{\"lineage\":\"l1\",\"serial\":5,\"entries\":[{\"begin\":{\"id\":\"a\",\"address\":\"services.web\",\"action\":\"create\""
            ),
            "{line}"
        );
        let line = String::from_utf8(encode(&batches()[1], "j").unwrap()).unwrap();
        assert!(
            line.contains(
                "{\"complete\":{\"id\":\"a\",\"outcome\":{\"applied\":{\"address\":\"services.web\""
            ),
            "{line}"
        );
        assert!(
            line.contains("{\"complete\":{\"id\":\"b\",\"outcome\":\"failed\"}}"),
            "{line}"
        );
    }

    #[test]
    fn lines_round_trip() {
        for b in batches() {
            let line = encode(&b, "j").unwrap();
            assert_eq!(line.iter().filter(|c| **c == b'\n').count(), 1);
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(decode(&line, "j", 1).unwrap(), b);
        }
    }

    #[test]
    fn a_changed_byte_in_a_line_is_refused() {
        let line = encode(&batches()[1], "j").unwrap();
        let at = line.len() / 2;
        for replacement in [b'0', b'x', b'"'] {
            let mut bad = line.clone();
            if bad[at] == replacement {
                continue;
            }
            bad[at] = replacement;
            assert!(decode(&bad, "j", 1).is_err());
        }
    }

    #[test]
    fn scan_ignores_a_torn_last_line_and_refuses_a_bad_middle_one() {
        let mut bytes = Vec::new();
        for b in batches() {
            bytes.extend(encode(&b, "j").unwrap());
        }
        let full = bytes.len();
        let second = encode(&batches()[0], "j").unwrap().len();
        // Every cut inside the second line leaves the first only.
        for cut in second..full {
            let s = scan(&bytes[..cut], "j").unwrap();
            assert_eq!(s.batches.len(), 1);
            assert_eq!(s.good_len, second);
            assert_eq!(s.torn.is_some(), cut > second, "cut {cut}");
        }
        let s = scan(&bytes, "j").unwrap();
        assert_eq!((s.batches.len(), s.good_len, s.torn), (2, full, None));
        // A damaged first line followed by a good one is corruption.
        let mut bad = bytes.clone();
        bad[10] = b'#';
        let err = scan(&bad, "j").unwrap_err();
        assert_eq!(err.code(), "state::journal_corrupt", "{err}");
    }

    #[test]
    fn replay_continues_the_document_or_refuses() {
        let r = replay(doc(), batches(), "j").unwrap();
        assert_eq!((r.applied, r.stale), (2, false));
        assert_eq!(r.snapshot.serial, 6);
        assert!(r.snapshot.pending.is_empty());
        assert_eq!(r.snapshot.resources.len(), 1);

        // Already folded: the document is at the last serial.
        let mut folded = doc();
        folded.serial = 6;
        let r = replay(folded.clone(), batches(), "j").unwrap();
        assert_eq!((r.applied, r.stale), (0, true));
        assert_eq!(r.snapshot, folded);

        // A gap, an overlap, another lineage.
        let mut behind = doc();
        behind.serial = 3;
        let mut overlap = doc();
        overlap.serial = 5;
        let mut foreign = batches();
        foreign[1].lineage = Lineage::new("l2");
        for (d, b) in [(behind, batches()), (overlap, batches()), (doc(), foreign)] {
            let err = replay(d, b, "j").unwrap_err();
            assert_eq!(err.code(), "state::journal_mismatch", "{err}");
        }

        // An entry that does not apply.
        let mut unknown = batches();
        unknown[1].entries[1] = Entry::Complete(OpId::new("nope"), Outcome::Failed);
        let err = replay(doc(), unknown, "j").unwrap_err();
        assert_eq!(err.code(), "state::journal_corrupt", "{err}");
    }
}
