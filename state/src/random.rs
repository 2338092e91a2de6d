//! Random identifiers (lineages, lock ids, operation ids) and keys, from the
//! operating system's random source.
//!
//! Owns only randomness. Must never fall back to a predictable source: a
//! failure is reported, because a guessable digest key would weaken
//! [`crate::secret_digest`].

use std::io;

/// Fills an array with random bytes from the OS.
pub(crate) fn bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(buf)
}

/// 128 random bits as 32 lowercase hex digits.
pub(crate) fn hex_id() -> io::Result<String> {
    Ok(hex::encode(bytes::<16>()?))
}

/// Defines a string newtype for a random id (a lineage, a lock id, an
/// operation id): serialized as the bare string, with `random()` (128 bits,
/// hex), `new()`, `as_str()` and `Display`. The attributes and doc before
/// `struct` go on the type; `random` and `new` take their own doc lines.
macro_rules! random_id_type {
    (
        $(#[$type_attr:meta])*
        pub struct $name:ident;
        random: $random_doc:literal,
        new: $new_doc:literal,
        as_str: $as_str_doc:literal $(,)?
    ) => {
        $(#[$type_attr])*
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = $random_doc]
            pub fn random() -> std::io::Result<Self> {
                Ok($name($crate::random::hex_id()?))
            }

            #[doc = $new_doc]
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            #[doc = $as_str_doc]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use random_id_type;
