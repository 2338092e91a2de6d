//! The engine core: desired state, dependency graph, diff, plan and its
//! renderings.
//!
//! Architecture invariant: this crate never depends on an AWS SDK crate or on
//! bollard (`tests/architecture.rs` checks). It gets prior state and
//! refreshed observations as plain data, and does no I/O.

pub mod apply;
pub mod desired;
pub mod diff;
pub mod drift;
pub mod graph;
pub mod kinds;
pub mod plan;
pub mod planfile;
pub mod provider;
pub mod record;
pub mod render;
#[cfg(feature = "testing")]
pub mod testing;
pub mod values;

pub use plan::{
    Action, Change, Observation, Plan, PlanInput, PlanOptions, ReplaceOrder, plan, stack_digest,
};
pub use provider::{Applied, Observed, Provider, ProviderError, ResourceRequest};
