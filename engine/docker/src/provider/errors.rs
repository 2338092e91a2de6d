//! [`DockerError`] to [`ProviderError`]: classified by what the engine should
//! do about it. Messages are the Docker error's own one-line text, which
//! never holds a secret value.

use apprun_engine::provider::ProviderError;

use crate::error::DockerError;

/// Maps a Docker error of `operation` (e.g. `deploy services.web`).
pub fn to_provider_error(operation: &str, err: DockerError) -> ProviderError {
    let message = err.to_string();
    match err {
        DockerError::Unreachable { .. } => ProviderError::Fatal {
            message,
            help: "start the Docker Engine, or set DOCKER_HOST to where it listens".to_string(),
        },
        DockerError::DeploymentFailed {
            address,
            reason,
            previous_kept,
            generation,
        } => ProviderError::OperationFailed {
            what: format!("deployment of {address}"),
            message: format!("new replicas ({generation}) failed their health checks: {reason}"),
            help: if previous_kept > 0 {
                format!(
                    "the previous version keeps serving ({previous_kept} replica(s), same URL); \
                     fix the service's health check or image and apply again"
                )
            } else {
                "no previous version was running; check the health check (protocol, path, port) \
                 and that the image listens on $PORT, then apply again"
                    .to_string()
            },
        },
        DockerError::HealthCheckFailed { address, reason } => ProviderError::OperationFailed {
            what: format!("health check of {address}"),
            message: reason,
            help:
                "check the health check (protocol, path, port) and that the image listens on $PORT"
                    .to_string(),
        },
        DockerError::ImageBuildFailed {
            tag,
            reason,
            log_tail,
        } => ProviderError::OperationFailed {
            what: format!("build of image {tag}"),
            message: if log_tail.is_empty() {
                reason
            } else {
                format!("{reason}\n{}", log_tail.join("\n"))
            },
            help: "fix the Dockerfile or the build context and apply again".to_string(),
        },
        DockerError::ImageNotFound { reference } => ProviderError::Invalid {
            operation: operation.to_string(),
            message: image_missing(&reference),
        },
        DockerError::BuildContext { .. } | DockerError::InvalidSpec { .. } => {
            ProviderError::Invalid {
                operation: operation.to_string(),
                message,
            }
        }
        DockerError::NotFound { kind, name } => ProviderError::NotFound {
            what: format!("{kind} {name}"),
        },
        DockerError::NotOwned { kind, name, stack } => ProviderError::AlreadyExists {
            what: format!("{kind} {name} (not created by apprun stack {stack})"),
        },
        DockerError::FrontDoor { .. } => ProviderError::Transient {
            operation: operation.to_string(),
            message,
        },
        DockerError::Timeout { operation, elapsed } => ProviderError::Timeout {
            what: operation,
            seconds: elapsed.as_secs(),
        },
        DockerError::Api { status, .. } => match status {
            Some(404) => ProviderError::NotFound { what: message },
            Some(409) => ProviderError::AlreadyExists { what: message },
            Some(s) if s >= 500 => ProviderError::Transient {
                operation: operation.to_string(),
                message,
            },
            Some(_) => ProviderError::Invalid {
                operation: operation.to_string(),
                message,
            },
            // The connection broke mid-call: the request may have landed.
            None => ProviderError::Ambiguous {
                operation: operation.to_string(),
                message,
            },
        },
    }
}

/// The message for an image that is not in the local engine.
pub fn image_missing(reference: &str) -> String {
    format!(
        "image {reference} is not in the local Docker engine and apprun never pulls; \
         add `build:` to the service or build/tag it locally (docker build -t {reference} .)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn classification() {
        let e = to_provider_error(
            "x",
            DockerError::Unreachable {
                endpoint: "unix:///nope".into(),
                reason: "no".into(),
            },
        );
        assert!(matches!(e, ProviderError::Fatal { ref help, .. } if help.contains("DOCKER_HOST")));
        let e = to_provider_error(
            "x",
            DockerError::DeploymentFailed {
                address: "services.web".into(),
                generation: "g1".into(),
                reason: "unhealthy".into(),
                previous_kept: 2,
            },
        );
        assert!(
            matches!(e, ProviderError::OperationFailed { ref help, .. } if help.contains("previous version keeps serving"))
        );
        let e = to_provider_error(
            "x",
            DockerError::NotFound {
                kind: "network",
                name: "n".into(),
            },
        );
        assert!(matches!(e, ProviderError::NotFound { .. }));
        let e = to_provider_error(
            "x",
            DockerError::InvalidSpec {
                address: "a".into(),
                reason: "r".into(),
            },
        );
        assert!(matches!(e, ProviderError::Invalid { .. }));
        let e = to_provider_error(
            "deploy services.web",
            DockerError::ImageNotFound {
                reference: "nope:1".into(),
            },
        );
        assert!(
            matches!(e, ProviderError::Invalid { ref message, .. } if message.contains("never pulls") && message.contains("nope:1"))
        );
        let e = to_provider_error(
            "x",
            DockerError::Timeout {
                operation: "o".into(),
                elapsed: Duration::from_secs(3),
            },
        );
        assert!(matches!(e, ProviderError::Timeout { seconds: 3, .. }));
        for (status, ok) in [
            (Some(404), "not_found"),
            (Some(409), "exists"),
            (Some(500), "transient"),
            (Some(400), "invalid"),
            (None, "ambiguous"),
        ] {
            let e = to_provider_error(
                "x",
                DockerError::Api {
                    operation: "o".into(),
                    status,
                    message: "m".into(),
                },
            );
            let got = match e {
                ProviderError::NotFound { .. } => "not_found",
                ProviderError::AlreadyExists { .. } => "exists",
                ProviderError::Transient { .. } => "transient",
                ProviderError::Invalid { .. } => "invalid",
                ProviderError::Ambiguous { .. } => "ambiguous",
                _ => "other",
            };
            assert_eq!(got, ok, "{status:?}");
        }
    }
}
