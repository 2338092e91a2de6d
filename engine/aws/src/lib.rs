//! The AWS target: implements the engine's [`Provider`](apprun_engine::provider::Provider)
//! trait with the official aws-sdk-rust crates, and the S3 state backend. It
//! is the only crate allowed to import `aws-sdk-*`.
//!
//! Map:
//! - [`AwsProvider`] (`provider`): dispatch by resource kind to `services`
//!   (CRUD; `services::shape` maps attributes to and from the SDK), `roles`,
//!   `repositories`, `vpc_connectors`, `autoscaling` (the account default:
//!   `default_autoscaling`), `observability`, `connections`, `domains`
//!   (Route 53 records: `domains::dns`), `vpc_ingress`.
//! - [`Settings`] (`config`): retries, waits and endpoint overrides; the SDK
//!   clients.
//! - `error`: SDK errors classified into [`ProviderError`](apprun_engine::provider::ProviderError).
//! - `retry`: creates that never duplicate (no blind retry after an
//!   ambiguous outcome), jittered backoff.
//! - `wait`: waiting on App Runner operations with a deadline and progress.
//! - `day2`: `deploy` (`StartDeployment`, waited for as an update) and the
//!   live status of services, connections and custom domains; `logs`: a
//!   service's log events from CloudWatch Logs.
//! - `discover`: listing services, every tag of a resource, what is
//!   attached to a service, tagging adopted resources (`apprun discover`).
//! - `tags`: the ownership tags `apprun:stack` / `apprun:address`, tag
//!   reads and syncs for every SDK, App Runner's tag calls.
//! - `pages`: listings through the SDK's paginators, each page retried like
//!   a read.
//! - [`RateLimits`] (`rate_limit`): the client-side per-service request pacer
//!   (`--max-rps`).
//! - `network_checks`: subnet / security group checks asked once per process.
//! - `fresh`: what this process created and when, so a read soon after a
//!   create retries "not found" (eventual consistency).
//! - [`S3Store`] (`s3_store`): the state backend on S3 with conditional writes.
//!
//! Architecture invariant: env values, start and build commands are secrets:
//! they never appear in logs, errors or `Debug` output of this crate.

mod attrs;
mod autoscaling;
mod config;
mod connections;
mod day2;
mod default_autoscaling;
mod discover;
mod domains;
mod error;
mod fresh;
mod logs;
mod network_checks;
mod observability;
mod pages;
mod provider;
mod rate_limit;
mod reachability;
mod repositories;
mod retry;
mod roles;
mod s3_store;
mod services;
mod tags;
mod vpc_connectors;
mod vpc_ingress;
mod wait;

pub use config::{Endpoints, Settings};
pub use default_autoscaling::PREVIOUS_DEFAULT_TAG;
pub use provider::AwsProvider;
pub use rate_limit::{RateLimits, RateLimitsError};
pub use s3_store::S3Store;
pub use tags::{ADDRESS_TAG, STACK_TAG};
