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
