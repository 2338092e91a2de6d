//! Errors: the modelled App Runner errors a request can end in
//! ([`ApiError`], rendered on the wire by `wire`), and the errors of starting
//! the emulator itself ([`EmulatorError`]).
//!
//! Invariant: no message built here ever contains a sensitive value
//! (environment variables, secrets, build or start commands); validation
//! names the member, never its value.

use std::io;

/// An error answered to an App Runner client, as the real service names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// `InvalidRequestException` (400): the request failed validation.
    #[error("InvalidRequestException: {0}")]
    InvalidRequest(String),
    /// `InvalidStateException` (400): the resource is not in a state that allows the call.
    #[error("InvalidStateException: {0}")]
    InvalidState(String),
    /// `ResourceNotFoundException` (400): no such resource in this account and region.
    #[error("ResourceNotFoundException: {0}")]
    NotFound(String),
    /// `ServiceQuotaExceededException` (400): a quota would be exceeded.
    #[error("ServiceQuotaExceededException: {0}")]
    QuotaExceeded(String),
    /// `ThrottlingException` (400 by default, or the status a fault rule chose).
    #[error("ThrottlingException: {message}")]
    Throttling {
        /// The human message.
        message: String,
        /// The HTTP status to answer with (400 or 429).
        status: u16,
        /// An `x-amz-retry-after` value in milliseconds, if any.
        retry_after_ms: Option<u64>,
    },
    /// A 5xx answer: `InternalServiceErrorException` for 500, `ServiceUnavailableException` otherwise.
    #[error("server error {status}: {message}")]
    Server {
        /// The HTTP status (500–599).
        status: u16,
        /// The human message.
        message: String,
    },
    /// `UnknownOperationException` (400): the `X-Amz-Target` names no operation.
    #[error("UnknownOperationException: {0}")]
    UnknownOperation(String),
    /// `SerializationException` (400): the body is not the JSON the operation expects.
    #[error("SerializationException: {0}")]
    Serialization(String),
    /// `IncompleteSignatureException` (400): the request's SigV4 signature
    /// is missing a part or is not SigV4.
    #[error("IncompleteSignatureException: {0}")]
    IncompleteSignature(String),
    /// `InvalidSignatureException` (403): the credential scope names an
    /// invalid region or another service.
    #[error("InvalidSignatureException: {0}")]
    InvalidSignature(String),
}

impl ApiError {
    /// The `__type` the wire carries.
    pub fn type_name(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "InvalidRequestException",
            ApiError::InvalidState(_) => "InvalidStateException",
            ApiError::NotFound(_) => "ResourceNotFoundException",
            ApiError::QuotaExceeded(_) => "ServiceQuotaExceededException",
            ApiError::Throttling { .. } => "ThrottlingException",
            ApiError::Server { status: 500, .. } => "InternalServiceErrorException",
            ApiError::Server { .. } => "ServiceUnavailableException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::Serialization(_) => "SerializationException",
            ApiError::IncompleteSignature(_) => "IncompleteSignatureException",
            ApiError::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    /// The HTTP status the wire carries.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Throttling { status, .. } | ApiError::Server { status, .. } => *status,
            ApiError::InvalidSignature(_) => 403,
            _ => 400,
        }
    }

    /// The human message (the `Message` member).
    pub fn message(&self) -> &str {
        match self {
            ApiError::InvalidRequest(m)
            | ApiError::InvalidState(m)
            | ApiError::NotFound(m)
            | ApiError::QuotaExceeded(m)
            | ApiError::UnknownOperation(m)
            | ApiError::Serialization(m)
            | ApiError::IncompleteSignature(m)
            | ApiError::InvalidSignature(m) => m,
            ApiError::Throttling { message, .. } | ApiError::Server { message, .. } => message,
        }
    }

    /// Shorthand for an `InvalidRequestException`.
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        ApiError::InvalidRequest(msg.into())
    }

    /// Shorthand for a `ResourceNotFoundException`.
    pub(crate) fn not_found(msg: impl Into<String>) -> Self {
        ApiError::NotFound(msg.into())
    }

    /// Shorthand for an `InvalidStateException`.
    pub(crate) fn state(msg: impl Into<String>) -> Self {
        ApiError::InvalidState(msg.into())
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding 127.0.0.1 on the requested port failed.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// A setting is out of range or malformed.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
}
