//! An AWS App Runner control-plane emulator, strict enough to test against.
//!
//! It speaks the real wire protocol (awsJson1_0, `X-Amz-Target:
//! AppRunner.<Operation>`) on 127.0.0.1, so the unmodified
//! `aws-sdk-apprunner` client and the AWS CLI talk to it. It models services
//! and their asynchronous operations (in progress, success, failure,
//! rollback), auto scaling configurations (revisions, quotas, in-use
//! refusal), VPC connectors, VPC ingress connections, custom domains (with
//! certificate validation against a Route 53 endpoint or after a fixed
//! delay), connections (with the console handshake as an admin call),
//! observability configurations and tags, with the API's validation and
//! errors; it injects faults per operation; and it logs
//! every request with secrets redacted.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use apprunner_emulator::{Emulator, Fault, FaultRule};
//!
//! let emu = Emulator::builder().start().await?; // virtual clock, 30 s operations
//! let endpoint = emu.endpoint_url();            // http://127.0.0.1:PORT
//! emu.admin().add_fault(FaultRule::new(Some("CreateService"), Fault::CommitThenDrop).times(1))?;
//! // … call the SDK with `.endpoint_url(endpoint)` …
//! emu.admin().advance(Duration::from_secs(30)); // operations in progress complete
//! let creates = emu.admin().count("CreateService");
//! # let _ = (endpoint, creates); Ok(()) }
//! ```
//!
//! ## VPC ingress connections, custom domains, connections
//!
//! * VPC ingress connections go `PENDING_CREATION` -> `AVAILABLE`,
//!   `PENDING_UPDATE` -> `AVAILABLE`, `PENDING_DELETION` -> `DELETED`, each
//!   phase one operation duration on the emulator clock (a `fail_operation`
//!   fault rule ends it `FAILED_CREATION`/`FAILED_UPDATE`/`FAILED_DELETION`).
//!   Only a private service takes one (one per service), and a service with
//!   one cannot be deleted. A `DELETED` connection stays describable.
//! * Custom domains: `creating` -> `pending_certificate_dns_validation` ->
//!   `binding_certificate` -> `active`; `deleting` -> gone. (Lower case on
//!   the wire, as the service sends it, although the API model spells the
//!   enum in upper case; validation records are `PENDING_VALIDATION` /
//!   `SUCCESS`.) A domain validates by one of:
//!   - `--route53-endpoint http://127.0.0.1:PORT` (builder
//!     [`EmulatorBuilder::route53_endpoint`], admin
//!     `POST /_emulator/config {"route53_endpoint": "…"}`,
//!     [`Admin::set_route53_endpoint`]): a task polls that Route 53 API
//!     (moto server) every 200 ms; a domain validates once all its
//!     validation CNAMEs (name and value) are in a hosted zone that is a
//!     suffix of it;
//!   - `--domain-validation-ms N` (builder
//!     [`EmulatorBuilder::domain_validation`], admin
//!     `{"domain_validation_ms": N}`, [`Admin::set_domain_validation`]): it
//!     validates N ms (emulator clock) after it became pending.
//!
//!   With neither, it stays pending forever, as AWS does without the records.
//! * Connections are `PENDING_HANDSHAKE` until the console handshake, here
//!   `POST /_emulator/connections/handshake {"name": "…", "status":
//!   "AVAILABLE"|"ERROR"}` or [`Admin::complete_handshake`]. A service whose
//!   code repository names a known connection that is not `AVAILABLE` is
//!   refused (`InvalidRequestException`); an ARN the emulator does not know
//!   is accepted.
//!
//! Module map: `server` (HTTP, connections, drops), `wire` (awsJson1_0
//! answers), `dispatch` (operation routing), `services`, `service_spec`,
//! `operations`, `autoscaling`, `vpc_connectors`, `vpc_ingress`,
//! `custom_domains`, `connections`, `observability`, `tags` (the API),
//! `route53` (DNS validation of custom domains), `model` and `validate` (shapes and constraints from the API
//! model), `state` (one per region a request was signed for), `signing`
//! (that region, from the SigV4 credential scope), `arn`, `clock`,
//! `faults`, `request_log`, `admin`.

mod admin;
mod arn;
mod autoscaling;
mod clock;
mod connections;
mod custom_domains;
mod dispatch;
mod error;
mod faults;
mod model;
mod observability;
mod operations;
mod request_log;
mod route53;
mod server;
mod service_spec;
mod services;
mod signing;
mod state;
mod tags;
mod validate;
mod vpc_connectors;
mod vpc_ingress;
mod wire;

pub use admin::Admin;
pub use clock::ClockMode;
pub use connections::Handshake;
pub use error::{ApiError, EmulatorError};
pub use faults::{ActiveFault, Fault, FaultRule};
pub use operations::FAIL_DEPLOYMENT_ENV;
pub use request_log::{REDACTED, RequestLogEntry, redact};
pub use server::{Emulator, EmulatorBuilder, RunningEmulator};
pub use state::Outcome;
