//! One module per command; each parses nothing itself and calls one
//! operation, returning the exit code.

pub mod completions;
pub mod schema;
pub mod validate;
