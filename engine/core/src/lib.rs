//! The engine core: desired state, dependency graph, diff, plan, apply,
//! drift, every rendering, and the operations (`ops`) the commands run.
//!
//! Architecture invariant: this crate never depends on an AWS SDK crate or on
//! bollard (`tests/architecture.rs` checks). The planner gets prior state and
//! refreshed observations as plain data and does no I/O; the operations in
//! `ops` reach the state store and a `Provider`, never a target directly.

pub mod apply;
pub mod attributes;
pub mod desired;
pub mod diff;
pub mod discover;
pub mod drift;
pub mod graph;
pub mod kinds;
pub mod live;
pub mod ops;
pub mod plan;
pub mod planfile;
pub mod provider;
pub mod record;
pub mod render;
pub mod target;
#[cfg(feature = "testing")]
pub mod testing;
pub mod values;

pub use plan::{
    Action, Change, Observation, Plan, PlanInput, PlanOptions, ReplaceOrder, plan, stack_digest,
};
pub use provider::{Applied, Observed, Provider, ProviderError, ResourceRequest};
pub use target::Target;
