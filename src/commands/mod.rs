//! One module per command; each calls one operation and returns the exit
//! code.

pub mod apply;
pub mod completions;
pub mod drift;
pub mod graph;
pub mod output;
pub mod plan;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;
