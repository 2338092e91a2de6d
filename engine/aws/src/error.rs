//! SDK errors, classified by what the provider should do about them, then
//! turned into the engine's [`ProviderError`].
//!
//! Messages carry the operation, the error code and the service's message,
//! never a request member (env values and commands are secrets).

use std::error::Error as StdError;
use std::future::Future;

use apprun_engine::provider::ProviderError;
use apprun_schema::Address;
use aws_sdk_apprunner::config::http::HttpResponse;
use aws_sdk_apprunner::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What kind of failure an API call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Throttled after the SDK's retries.
    Throttled,
    /// 5xx or an unparseable answer after the SDK's retries.
    Transient,
    /// The request may have been applied (timeout, dropped connection).
    Ambiguous,
    /// The resource does not exist.
    NotFound,
    /// A resource of that name exists already.
    AlreadyExists,
    /// App Runner `InvalidStateException`: an operation is in progress.
    InvalidState,
    /// The request was refused as invalid.
    Invalid,
    /// The credentials may not make this call (`AccessDenied`).
    AccessDenied,
    /// Credentials, a request that could not be built.
    Fatal,
    /// The endpoint could not be reached at all (connection refused, no
    /// such host): the request was never sent, and retrying will not help.
    Unreachable,
}

/// One classified API failure.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    /// The API operation (`CreateService`).
    pub operation: &'static str,
    /// Its class.
    pub class: Class,
    /// A message safe to show.
    pub message: String,
    /// What the call was about when that is not the resource itself (the
    /// policy ARN of an `AttachRolePolicy`): named in the error, and a
    /// not-found about it is not the resource's.
    pub subject: Option<String>,
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "RepositoryNotFoundException",
    "LifecyclePolicyNotFoundException",
    "RepositoryPolicyNotFoundException",
    "NoSuchKey",
    "NotFound",
    "NoSuchBucket",
];

const ALREADY_EXISTS: &[&str] = &[
    "EntityAlreadyExists",
    "RepositoryAlreadyExistsException",
    "AlreadyExists",
    "ResourceAlreadyExistsException",
];

const TRANSIENT: &[&str] = &[
    "InternalServiceErrorException",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceFailure",
    "ServerException",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl ApiFailure {
    /// Classifies an SDK error of operation `operation`.
    pub(crate) fn from_sdk<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_owned);
        let (class, message) = match err {
            SdkError::TimeoutError(_) => (
                Class::Ambiguous,
                "the request timed out; it may have been applied".to_owned(),
            ),
            SdkError::DispatchFailure(d) => {
                let detail = DisplayErrorContext(err).to_string();
                if let Some(reason) = unreachable_reason(&detail) {
                    (Class::Unreachable, reason.to_owned())
                } else {
                    let class = if d.is_io() || d.is_timeout() || d.is_other() {
                        Class::Ambiguous
                    } else {
                        Class::Fatal
                    };
                    (class, format!("the connection failed: {detail}"))
                }
            }
            SdkError::ConstructionFailure(_) => (
                Class::Fatal,
                format!(
                    "the request could not be built: {}",
                    DisplayErrorContext(err)
                ),
            ),
            SdkError::ResponseError(_) => (
                Class::Transient,
                format!(
                    "unreadable answer (HTTP {})",
                    status.map_or_else(|| "?".to_owned(), |s| s.to_string())
                ),
            ),
            SdkError::ServiceError(_) => {
                let message = err.message().unwrap_or("").to_owned();
                let code_str = code.as_deref().unwrap_or("");
                let lower = message.to_ascii_lowercase();
                let class = if THROTTLING.contains(&code_str) || status == Some(429) {
                    Class::Throttled
                } else if code_str == "InvalidStateException" {
                    Class::InvalidState
                } else if NOT_FOUND.contains(&code_str)
                    || code_str.ends_with(".NotFound")
                    || code_str.ends_with("NotFoundException")
                    || status == Some(404)
                {
                    Class::NotFound
                } else if ALREADY_EXISTS.contains(&code_str)
                    || code_str.ends_with("AlreadyExistsException")
                    || ((code_str == "InvalidRequestException" || code_str.is_empty())
                        && lower.contains("already exists"))
                {
                    Class::AlreadyExists
                } else if TRANSIENT.contains(&code_str) || status.is_some_and(|s| s >= 500) {
                    Class::Transient
                } else if matches!(code_str, "AccessDenied" | "AccessDeniedException") {
                    Class::AccessDenied
                } else if matches!(
                    code_str,
                    "UnrecognizedClientException"
                        | "InvalidClientTokenId"
                        | "ExpiredToken"
                        | "ExpiredTokenException"
                        | "SignatureDoesNotMatch"
                        | "AuthFailure"
                ) {
                    Class::Fatal
                } else {
                    Class::Invalid
                };
                let text = match (&code, message.is_empty()) {
                    (Some(c), false) => format!("{c}: {message}"),
                    (Some(c), true) => c.clone(),
                    (None, false) => message,
                    (None, true) => format!(
                        "HTTP {}",
                        status.map_or_else(|| "?".to_owned(), |s| s.to_string())
                    ),
                };
                (class, text)
            }
            _ => (Class::Fatal, DisplayErrorContext(err).to_string()),
        };
        ApiFailure {
            operation,
            class,
            message,
            subject: None,
        }
    }

    /// A failure this crate detects itself.
    pub(crate) fn new(operation: &'static str, class: Class, message: impl Into<String>) -> Self {
        ApiFailure {
            operation,
            class,
            message: message.into(),
            subject: None,
        }
    }

    /// The same failure, about `subject` (a policy ARN, a policy name)
    /// rather than the resource itself.
    pub(crate) fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The engine's error for this failure; `what` names the resource
    /// (`services.web`, a name or an ARN) for not-found and exists errors.
    pub(crate) fn into_provider(self, what: &str) -> ProviderError {
        let operation = match &self.subject {
            Some(subject) => format!("{} {subject}", self.operation),
            None => self.operation.to_owned(),
        };
        match self.class {
            // Not found, but about something else than the resource (the
            // policy an `AttachRolePolicy` names): the request was wrong.
            Class::NotFound if self.subject.is_some() => ProviderError::Invalid {
                operation,
                message: self.message,
            },
            Class::Throttled => ProviderError::Throttled {
                operation,
                message: self.message,
            },
            Class::Transient => ProviderError::Transient {
                operation,
                message: self.message,
            },
            Class::Ambiguous => ProviderError::Ambiguous {
                operation,
                message: self.message,
            },
            Class::NotFound => ProviderError::NotFound {
                what: what.to_owned(),
            },
            Class::AlreadyExists => ProviderError::AlreadyExists {
                what: what.to_owned(),
            },
            Class::InvalidState => ProviderError::Transient {
                operation,
                message: format!("{} (an operation is still in progress)", self.message),
            },
            Class::Invalid => ProviderError::Invalid {
                operation,
                message: self.message,
            },
            Class::AccessDenied => ProviderError::AccessDenied {
                operation,
                message: self.message,
            },
            Class::Fatal => ProviderError::Fatal {
                message: format!("{operation} failed: {}", self.message),
                help: "check the AWS credentials, region, endpoint and permissions".to_owned(),
            },
            Class::Unreachable => ProviderError::Fatal {
                message: format!("{operation} could not reach its endpoint: {}", self.message),
                help: "check the endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the \
                       `endpoints` settings), the region and the network; nothing was sent"
                    .to_owned(),
            },
        }
    }

    /// For reads: an ambiguous read is simply transient (reads change nothing).
    pub(crate) fn read_side(mut self) -> Self {
        if self.class == Class::Ambiguous {
            self.class = Class::Transient;
        }
        self
    }
}

/// Why a connection could not even be made, from the SDK's error chain
/// (`None`: it may have been made, and the request sent).
pub(crate) fn unreachable_reason(detail: &str) -> Option<&'static str> {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("connection refused") {
        Some("connection refused")
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
    {
        Some("the host name does not resolve")
    } else if lower.contains("no route to host") || lower.contains("network is unreachable") {
        Some("no route to the host")
    } else {
        None
    }
}

/// Runs `work`, whose failures become the engine's errors about `address`
/// (what a lookup such as `find_owned` returns).
pub(crate) async fn about<T>(
    address: &Address,
    work: impl Future<Output = Result<T, ApiFailure>>,
) -> Result<T, ProviderError> {
    work.await
        .map_err(|f| f.into_provider(&address.to_string()))
}

/// Classifies an SDK result of operation `operation`.
pub(crate) trait SdkResultExt<T> {
    /// The result with its error classified.
    fn classify(self, operation: &'static str) -> Result<T, ApiFailure>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn classify(self, operation: &'static str) -> Result<T, ApiFailure> {
        self.map_err(|e| ApiFailure::from_sdk(operation, &e))
    }
}

/// Reads "not found" as absence: an answer is `Some`, a not-found error is
/// `None`, any other error stays an error.
pub(crate) trait FoundExt<T> {
    /// See the trait.
    fn found(self) -> Result<Option<T>, ApiFailure>;
}

impl<T> FoundExt<T> for Result<T, ApiFailure> {
    fn found(self) -> Result<Option<T>, ApiFailure> {
        match self {
            Ok(t) => Ok(Some(t)),
            Err(f) if f.class == Class::NotFound => Ok(None),
            Err(f) => Err(f),
        }
    }
}

/// The failure for an answer missing a member we need.
pub(crate) fn missing(operation: &'static str, member: &str) -> ApiFailure {
    ApiFailure::new(
        operation,
        Class::Transient,
        format!("the answer has no {member}"),
    )
}
