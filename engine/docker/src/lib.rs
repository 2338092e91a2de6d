//! The local Docker target: implements the engine's `Provider` trait against
//! the Docker Engine API through bollard. It is the only crate allowed to
//! import bollard.
//!
//! Status: placeholder; the Docker target issue fills it.
