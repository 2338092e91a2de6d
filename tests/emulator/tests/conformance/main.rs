//! Conformance of the emulator through the real `aws-sdk-apprunner` client:
//! every implemented operation, its success and each modelled error.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod autoscaling;
mod connections;
mod custom_domains;
mod in_use;
mod observability_tags;
mod regions;
mod services;
mod vpc_connectors;
mod vpc_ingress;
mod wire;
