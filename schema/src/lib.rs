//! apprun's stack language: the YAML model with a source span on every
//! value, validation that reports every problem at once as a diagnostic, and
//! the JSON Schema editors use.
//!
//! Architecture invariant: this crate does no I/O beyond the text it is
//! handed, and nothing async. It knows nothing of state, providers, AWS or
//! Docker.
//!
//! Entry point: [`load`] (text + variable values -> [`Stack`] or diagnostics).

pub mod build_paths;
mod decode;
pub mod diagnostics;
pub mod error;
pub mod expr;
pub mod json_schema;
pub mod kind;
mod load;
pub mod model;
pub mod node;
pub mod patterns;
pub mod span;
mod suggest;
pub mod targets;
pub mod units;
mod validate;
pub mod variables;
pub mod warnings;

pub use error::SchemaError;
pub use kind::{Address, Kind};
pub use load::{VarInputs, VarOrigin, load};
pub use model::Stack;
pub use span::{Span, Spanned};
pub use warnings::{SchemaWarning, warnings};
