//! Keyed digests of secret values, so that a change of a secret is detectable
//! without the state ever holding the secret.
//!
//! Scheme: `hmac-sha256:<hex>` = HMAC-SHA256(key, value), where the key is 32
//! random bytes made when the state's lineage is created and stored in the
//! state (`digest_key`). The engine stores only the digest of a secret value
//! (for example in a resource's attributes) and compares digests to decide
//! whether the value changed.
//!
//! What it protects: the value never reaches state, logs or plans; digests of
//! the same value differ between lineages (no cross-stack correlation, no
//! precomputed tables). What it does not: the key sits in the same document,
//! so whoever can read the state can test guesses of a low-entropy secret.
//! Secrets should be high-entropy or live in Secrets Manager / SSM (where
//! apprun stores only the ARN).
//!
//! Owns the key and the digest. Must never log, print or `Debug` a key or a
//! value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

const PREFIX: &str = "hmac-sha256:";

/// The per-lineage HMAC key. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestKey([u8; 32]);

impl DigestKey {
    /// A new random key.
    pub fn random() -> std::io::Result<Self> {
        Ok(DigestKey(crate::random::bytes::<32>()?))
    }

    /// A key from known bytes (tests, migrations).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DigestKey(bytes)
    }

    /// The digest of `value` under this key.
    pub fn digest(&self, value: &[u8]) -> SecretDigest {
        SecretDigest(format!(
            "{PREFIX}{}",
            hex::encode(hmac_sha256(&self.0, value))
        ))
    }

    /// Whether `digest` is the digest of `value` under this key (constant-time compare).
    pub fn matches(&self, value: &[u8], digest: &SecretDigest) -> bool {
        let ours = self.digest(value);
        let (a, b) = (ours.0.as_bytes(), digest.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

impl Serialize for DigestKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for DigestKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|_| serde::de::Error::custom("digest_key must be 64 hex digits"))?;
        Ok(DigestKey(out))
    }
}

/// A keyed digest of a secret value, `hmac-sha256:<64 hex digits>`. Safe to
/// store, print and compare.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretDigest(String);

impl SecretDigest {
    /// The digest as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// HMAC-SHA256 (RFC 2104) for keys of at most one block (64 bytes); longer
/// keys are hashed first, as the RFC says.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn digest_detects_change_and_hides_value() {
        let key = DigestKey::from_bytes([7; 32]);
        let d = key.digest(b"hunter2");
        assert!(key.matches(b"hunter2", &d));
        assert!(!key.matches(b"hunter3", &d));
        assert!(!d.as_str().contains("hunter2"));
        assert!(d.as_str().starts_with(PREFIX));
        let other = DigestKey::from_bytes([8; 32]);
        assert_ne!(other.digest(b"hunter2"), d);
        assert!(!format!("{key:?}").contains("0707"));
    }
}
