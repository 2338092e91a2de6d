//! Property tests: random valid snapshots round-trip through the format and
//! the local store and pass `verify_integrity`; random bytes never make
//! `decode` panic or succeed.
#![allow(clippy::unwrap_used)]

use apprun_state::{
    DigestKey, Lineage, LocalStore, OpId, PendingAction, PendingOp, Resource, Snapshot, Storage,
    format, now_rfc3339, verify_integrity,
};
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid snapshot: unique addresses, dependencies only on earlier
/// resources (so no cycle), at most one well-formed pending op per address.
fn snapshot() -> impl Strategy<Value = Snapshot> {
    let resource = (
        "[a-z]{1,8}",
        prop::option::of("[ -~]{0,20}"),
        json_value(),
        prop::collection::btree_map("[a-z]{1,5}", json_value(), 0..3),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    );
    (
        "[0-9a-f]{32}",
        1u64..1_000_000,
        any::<[u8; 32]>(),
        prop::collection::vec(resource, 0..8),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..5, json_value()), 0..4),
    )
        .prop_map(|(lineage, serial, key, resources, pending)| {
            let mut s = Snapshot::with_identity(Lineage::new(lineage), DigestKey::from_bytes(key));
            s.serial = serial;
            for (i, (kind, physical_id, attributes, outputs, deps)) in
                resources.into_iter().enumerate()
            {
                let mut r = Resource::new(format!("{kind}.r{i}"), kind);
                r.physical_id = physical_id;
                r.attributes = attributes;
                r.outputs = outputs;
                if i > 0 {
                    let mut d: Vec<String> = deps
                        .iter()
                        .map(|ix| s.resources[ix.index(i)].address.clone())
                        .collect();
                    d.dedup();
                    r.dependencies = d;
                }
                s.resources.push(r);
            }
            let n = s.resources.len();
            for (j, (ix, action, detail)) in pending.into_iter().enumerate() {
                let (address, action) = match (n, action) {
                    (0, _) | (_, 0) => (format!("services.new{j}"), PendingAction::Create),
                    (_, a) => {
                        let action = [
                            PendingAction::Create,
                            PendingAction::Update,
                            PendingAction::Delete,
                            PendingAction::Replace,
                        ][usize::from(a) % 4];
                        (s.resources[ix.index(n)].address.clone(), action)
                    }
                };
                if s.pending.iter().any(|p| p.address == address) {
                    continue;
                }
                s.pending.push(PendingOp {
                    id: OpId::new(format!("op{j}")),
                    address,
                    action,
                    started_at: now_rfc3339(),
                    detail,
                });
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_snapshots_round_trip_through_the_format(s in snapshot()) {
        prop_assert_eq!(verify_integrity(&s), Ok(()));
        let bytes = format::encode(&s, "mem").unwrap();
        let back = format::decode(&bytes, "mem", None).unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(verify_integrity(&back), Ok(()));
        // Canonical: the same snapshot always encodes to the same bytes.
        prop_assert_eq!(format::encode(&back, "mem").unwrap(), bytes);
    }

    #[test]
    fn decode_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(format::decode(&bytes, "mem", None).is_err());
    }

    #[test]
    fn decode_never_panics_on_mutated_documents(
        s in snapshot(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = format::encode(&s, "mem").unwrap();
        let original = bytes.clone();
        for (ix, b) in edits {
            let i = ix.index(bytes.len());
            bytes[i] = b;
        }
        // Either refused, or (a whitespace change in the envelope) the very same snapshot.
        if bytes != original && let Ok(back) = format::decode(&bytes, "mem", None) {
            prop_assert_eq!(back, s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_snapshots_round_trip_through_the_local_store(s in snapshot()) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("s.state.json"));
        store.write(&s, None).unwrap();
        let back = store.read().unwrap().unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(verify_integrity(&back), Ok(()));
    }
}
