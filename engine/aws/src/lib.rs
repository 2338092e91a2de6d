//! The AWS target: implements the engine's `Provider` trait with the official
//! aws-sdk-rust crates. It is the only crate allowed to import `aws-sdk-*`.
//!
//! Status: placeholder; the AWS provider issue fills it.
