//! The invariants of a [`Snapshot`], checked after every read and before every
//! write: unique addresses, well-formed records, every dependency present, no
//! dependency cycle, well-formed pending operations.
//!
//! The format version and the checksum are properties of the stored document
//! and are checked by [`crate::format::decode`], which then calls
//! [`verify_integrity`]. This module only judges; it must never repair a
//! snapshot (P10: refuse, never silently fix).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::clock::looks_like_rfc3339;
use crate::snapshot::Snapshot;

/// The first invariant a snapshot breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Two records share an address.
    DuplicateAddress {
        /// The repeated address.
        address: String,
    },
    /// A dependency has no record.
    DanglingDependency {
        /// The dependent.
        address: String,
        /// The missing dependency.
        dependency: String,
    },
    /// Dependencies form a cycle (first address repeated at the end).
    DependencyCycle {
        /// The addresses on the cycle.
        cycle: Vec<String>,
    },
    /// A record is not well formed.
    InvalidRecord {
        /// The record's address.
        address: String,
        /// What is wrong.
        reason: String,
    },
    /// A pending operation is not well formed.
    MalformedPendingOp {
        /// The operation's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::DuplicateAddress { address } => write!(f, "duplicate address {address}"),
            Violation::DanglingDependency {
                address,
                dependency,
            } => write!(f, "{address} depends on {dependency}, which has no record"),
            Violation::DependencyCycle { cycle } => {
                write!(f, "dependency cycle {}", cycle.join(" -> "))
            }
            Violation::InvalidRecord { address, reason } => {
                write!(f, "record {address:?}: {reason}")
            }
            Violation::MalformedPendingOp { id, reason } => {
                write!(f, "pending operation {id:?}: {reason}")
            }
        }
    }
}

/// Checks every invariant of `snapshot`; returns the first violation found.
pub fn verify_integrity(snapshot: &Snapshot) -> Result<(), Violation> {
    if snapshot.lineage.as_str().is_empty() {
        return Err(Violation::InvalidRecord {
            address: String::new(),
            reason: "the lineage is empty".to_owned(),
        });
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in snapshot.resources.iter().enumerate() {
        if r.address.trim().is_empty() || r.address.chars().any(char::is_whitespace) {
            return Err(Violation::InvalidRecord {
                address: r.address.clone(),
                reason: "the address is empty or contains whitespace".to_owned(),
            });
        }
        if r.kind.trim().is_empty() {
            return Err(Violation::InvalidRecord {
                address: r.address.clone(),
                reason: "the kind is empty".to_owned(),
            });
        }
        if index.insert(r.address.as_str(), i).is_some() {
            return Err(Violation::DuplicateAddress {
                address: r.address.clone(),
            });
        }
    }
    for r in &snapshot.resources {
        for d in &r.dependencies {
            if !index.contains_key(d.as_str()) {
                return Err(Violation::DanglingDependency {
                    address: r.address.clone(),
                    dependency: d.clone(),
                });
            }
        }
    }
    if let Some(cycle) = find_cycle(snapshot, &index) {
        return Err(Violation::DependencyCycle { cycle });
    }
    verify_pending(snapshot, &index)
}

fn verify_pending(snapshot: &Snapshot, index: &BTreeMap<&str, usize>) -> Result<(), Violation> {
    let mut ids = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for op in &snapshot.pending {
        let bad = |reason: &str| Violation::MalformedPendingOp {
            id: op.id.as_str().to_owned(),
            reason: reason.to_owned(),
        };
        if op.id.as_str().trim().is_empty() {
            return Err(bad("the id is empty"));
        }
        if !ids.insert(op.id.as_str()) {
            return Err(bad("the id is used twice"));
        }
        if op.address.trim().is_empty() {
            return Err(bad("the address is empty"));
        }
        // The deletion of a replaced ("deposed") object may run beside the
        // operation on its replacement; anything else is one at a time.
        let deposed = op
            .detail
            .get("replaced")
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        if !addresses.insert((op.address.as_str(), deposed)) {
            return Err(bad(&format!(
                "a second pending operation on {} (one at a time per address)",
                op.address
            )));
        }
        if !looks_like_rfc3339(&op.started_at) {
            return Err(bad("started_at is not an RFC 3339 timestamp"));
        }
        if op.action.needs_record() && !index.contains_key(op.address.as_str()) {
            return Err(bad(&format!(
                "{} of {}, which has no record",
                op.action.gerund(),
                op.address
            )));
        }
    }
    Ok(())
}

/// An iterative depth-first search (no recursion: a hostile state cannot
/// overflow the stack) for a cycle among dependencies.
fn find_cycle(snapshot: &Snapshot, index: &BTreeMap<&str, usize>) -> Option<Vec<String>> {
    const WHITE: u8 = 0;
    const GREY: u8 = 1;
    const BLACK: u8 = 2;
    let n = snapshot.resources.len();
    let mut colour = vec![WHITE; n];
    let deps: Vec<Vec<usize>> = snapshot
        .resources
        .iter()
        .map(|r| {
            r.dependencies
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    for start in 0..n {
        if colour[start] != WHITE {
            continue;
        }
        // Stack of (node, next edge to visit).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = GREY;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            if let Some(&next) = deps[node].get(*edge) {
                *edge += 1;
                match colour[next] {
                    WHITE => {
                        colour[next] = GREY;
                        stack.push((next, 0));
                    }
                    GREY => {
                        let from = stack.iter().position(|&(v, _)| v == next).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..]
                            .iter()
                            .map(|&(v, _)| snapshot.resources[v].address.clone())
                            .collect();
                        cycle.push(snapshot.resources[next].address.clone());
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node] = BLACK;
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::secret_digest::DigestKey;
    use crate::snapshot::{Lineage, Resource};

    fn snap(resources: &[(&str, &[&str])]) -> Snapshot {
        let mut s = Snapshot::with_identity(Lineage::new("l"), DigestKey::from_bytes([0; 32]));
        for (a, deps) in resources {
            let mut r = Resource::new(*a, "service");
            r.dependencies = deps.iter().map(|d| d.to_string()).collect();
            s.resources.push(r);
        }
        s
    }

    #[test]
    fn accepts_a_dag() {
        verify_integrity(&snap(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])])).unwrap();
    }

    #[test]
    fn finds_cycles_and_self_loops() {
        let e = verify_integrity(&snap(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])]));
        assert_eq!(
            e,
            Err(Violation::DependencyCycle {
                cycle: vec!["a".into(), "c".into(), "b".into(), "a".into()]
            })
        );
        assert!(matches!(
            verify_integrity(&snap(&[("a", &["a"])])),
            Err(Violation::DependencyCycle { .. })
        ));
    }
}
