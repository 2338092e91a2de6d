//! An AWS App Runner control-plane emulator, strict enough to test against.
//!
//! It speaks the real wire protocol (awsJson1_0, `X-Amz-Target:
//! AppRunner.<Operation>`) on 127.0.0.1, so the unmodified
//! `aws-sdk-apprunner` client and the AWS CLI talk to it. It models services
//! and their asynchronous operations (in progress, success, failure,
//! rollback), auto scaling configurations (revisions, quotas, in-use
//! refusal), VPC connectors, observability configurations and tags, with the
//! API's validation and errors; it injects faults per operation; and it logs
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
//! Module map: `server` (HTTP, connections, drops), `wire` (awsJson1_0
//! answers), `dispatch` (operation routing), `services`, `service_spec`,
//! `operations`, `autoscaling`, `vpc_connectors`, `observability`, `tags`
//! (the API), `model` and `validate` (shapes and constraints from the API
//! model), `state` (one per region a request was signed for), `signing`
//! (that region, from the SigV4 credential scope), `arn`, `clock`,
//! `faults`, `request_log`, `admin`.

mod admin;
mod arn;
mod autoscaling;
mod clock;
mod dispatch;
mod error;
mod faults;
mod model;
mod observability;
mod operations;
mod request_log;
mod server;
mod service_spec;
mod services;
mod signing;
mod state;
mod tags;
mod validate;
mod vpc_connectors;
mod wire;

pub use admin::Admin;
pub use clock::ClockMode;
pub use error::{ApiError, EmulatorError};
pub use faults::{ActiveFault, Fault, FaultRule};
pub use operations::FAIL_DEPLOYMENT_ENV;
pub use request_log::{REDACTED, RequestLogEntry, redact};
pub use server::{Emulator, EmulatorBuilder, RunningEmulator};
pub use state::Outcome;
