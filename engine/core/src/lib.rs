//! The engine core: dependency graph, diff, plan, apply scheduler, drift and
//! the `Provider` trait both targets implement.
//!
//! Architecture invariant: this crate never depends on an AWS SDK crate or on
//! bollard. It gets prior state and refreshed observations as plain data.
