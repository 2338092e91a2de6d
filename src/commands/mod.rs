//! One module per command: parse its arguments, call one engine
//! operation (`apprun_engine::ops`), render the report, map the exit code.
//! No command imports another (`tests/architecture.rs` checks), and each
//! file stays short.

pub mod apply;
pub mod completions;
pub mod deploy;
pub mod discover;
pub mod drift;
pub mod graph;
pub mod import;
pub mod logs;
pub mod output;
pub mod plan;
pub mod refresh;
pub mod schema;
pub mod show;
pub mod state;
pub mod status;
pub mod validate;
