//! Errors of the Docker target.
//!
//! One `#[non_exhaustive]` enum with stable miette codes. `Display` is one
//! line and never contains a secret value: messages are built from names,
//! addresses and Docker's own error text, never from a service's env.

use std::time::Duration;

/// Everything that can go wrong talking to the Docker Engine.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum DockerError {
    /// The Docker Engine could not be reached (no socket, daemon stopped,
    /// permission denied).
    #[error("Docker Engine not reachable at {endpoint}: {reason}")]
    #[diagnostic(
        code(docker::unreachable),
        help("start the Docker Engine, or set DOCKER_HOST to where it listens")
    )]
    Unreachable {
        /// Where we tried to connect (the DOCKER_HOST value or the default socket).
        endpoint: String,
        /// Why the connection failed.
        reason: String,
    },

    /// Building an image failed; `log_tail` holds the last lines of build output.
    #[error("building image {tag} failed: {reason}")]
    #[diagnostic(code(docker::image_build_failed))]
    ImageBuildFailed {
        /// The tag that was being built.
        tag: String,
        /// The builder's error message.
        reason: String,
        /// The last lines of the build output.
        log_tail: Vec<String>,
    },

    /// An image named by a service does not exist locally (nothing can be
    /// pulled: there is no registry).
    #[error("image {reference} is not present on the local Docker Engine")]
    #[diagnostic(
        code(docker::image_not_found),
        help(
            "build it first (use `build:` in the service) or `docker load` it; the local target never pulls"
        )
    )]
    ImageNotFound {
        /// The image reference.
        reference: String,
    },

    /// A build context could not be read from disk.
    #[error("cannot read build context {path}: {reason}")]
    #[diagnostic(code(docker::build_context))]
    BuildContext {
        /// The context directory.
        path: String,
        /// The I/O error.
        reason: String,
    },

    /// Replicas did not pass their health checks.
    #[error("health check failed for {address}: {reason}")]
    #[diagnostic(code(docker::health_check_failed))]
    HealthCheckFailed {
        /// The service address.
        address: String,
        /// What the last check saw.
        reason: String,
    },

    /// A deployment's new replicas failed their health checks; they were
    /// removed and the previous replicas keep serving.
    #[error("deployment {generation} of {address} failed and was rolled back: {reason}")]
    #[diagnostic(
        code(docker::deployment_failed),
        help("the previous version keeps serving; check the service's health check and logs")
    )]
    DeploymentFailed {
        /// The service address.
        address: String,
        /// The failed generation.
        generation: String,
        /// Why it failed.
        reason: String,
        /// How many old replicas are still running and serving.
        previous_kept: usize,
    },

    /// A container, network or image that must exist is gone (HTTP 404).
    #[error("{kind} {name} not found")]
    #[diagnostic(code(docker::not_found))]
    NotFound {
        /// `container`, `network` or `image`.
        kind: &'static str,
        /// Its name or id.
        name: String,
    },

    /// A name is taken by something apprun did not create (HTTP 409 or a
    /// label mismatch). apprun never touches it.
    #[error("{kind} {name} exists and is not owned by apprun stack {stack}")]
    #[diagnostic(
        code(docker::not_owned),
        help("remove or rename it by hand; apprun never touches what it did not create")
    )]
    NotOwned {
        /// `container` or `network`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The stack that wanted it.
        stack: String,
    },

    /// The front door could not be started or did not accept a command.
    #[error("front door for {address}: {reason}")]
    #[diagnostic(code(docker::front_door))]
    FrontDoor {
        /// The service address.
        address: String,
        /// What failed.
        reason: String,
    },

    /// The spec handed to this crate is not usable.
    #[error("invalid service spec for {address}: {reason}")]
    #[diagnostic(code(docker::invalid_spec))]
    InvalidSpec {
        /// The service address.
        address: String,
        /// What is wrong.
        reason: String,
    },

    /// An operation did not finish in time.
    #[error("{operation} timed out after {elapsed:?}")]
    #[diagnostic(code(docker::timeout))]
    Timeout {
        /// What was being waited for.
        operation: String,
        /// How long we waited.
        elapsed: Duration,
    },

    /// Any other answer from the Docker Engine.
    #[error("Docker Engine error during {operation}: {message}")]
    #[diagnostic(code(docker::api))]
    Api {
        /// What apprun was doing.
        operation: String,
        /// The HTTP status, when the engine answered one.
        status: Option<u16>,
        /// The engine's message.
        message: String,
    },
}

impl DockerError {
    /// Wrap a bollard error with the operation that failed.
    pub(crate) fn api(operation: impl Into<String>, err: bollard::errors::Error) -> Self {
        let operation = operation.into();
        match err {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::Api {
                operation,
                status: Some(status_code),
                message,
            },
            other => DockerError::Api {
                operation,
                status: None,
                message: other.to_string(),
            },
        }
    }

    /// The HTTP status of an engine answer, if this error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            DockerError::Api { status, .. } => *status,
            _ => None,
        }
    }
}

/// The status code of a bollard error, if the engine answered.
pub(crate) fn status_of(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Result alias for this crate.
pub type Result<T, E = DockerError> = std::result::Result<T, E>;
