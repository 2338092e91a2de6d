//! The day-2 calls on a live stack: [`deploy`] (App Runner
//! `StartDeployment`, waited for exactly as an update is, through
//! `wait::operation`) and the live status of each kind for `apprun status`
//! (services: `DescribeService` and their last operations; connections and
//! custom domains: the status their reads report). The service logs are in
//! `logs`.
//!
//! Every call goes through the retrying App Runner client, so reads are
//! paced by the rate limiter and retried like every other call.

use std::collections::BTreeMap;

use apprun_engine::attributes::{CONNECTION_AVAILABLE, DOMAIN_ACTIVE};
use apprun_engine::live::{Deployment, LiveStatus, OperationInfo};
use apprun_engine::provider::{Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::primitives::DateTime;
use aws_sdk_apprunner::types::{OperationSummary, Service, ServiceStatus};
use serde_json::Value;

use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::retry;
use crate::wait::{self, Waiting};

/// How many operations `status` shows (newest first).
const OPERATIONS_SHOWN: usize = 5;

/// The address a service ARN stands for
/// (`arn:aws:apprunner:R:A:service/NAME/ID` -> `services.NAME`).
fn service_address(arn: &str) -> Address {
    Address::new(Kind::Service, crate::attrs::arn_name(arn, "service"))
}

/// The newest operations of service `arn` (one page of `ListOperations`,
/// which lists newest first); `None` when the service is gone.
async fn recent_operations(
    ctx: &Ctx,
    arn: &str,
) -> Result<Option<Vec<OperationSummary>>, ApiFailure> {
    let out = retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .list_operations()
            .service_arn(arn)
            .max_results(20)
            .send()
            .await
            .classify("ListOperations")
    })
    .await;
    Ok(out.found()?.map(|o| {
        o.operation_summary_list
            .unwrap_or_default()
            .into_iter()
            .take(OPERATIONS_SHOWN)
            .collect()
    }))
}

/// The digest of the image a service runs, when its image identifier names
/// one (`repo@sha256:...`). App Runner does not report the digest of an
/// image it pulled by tag (an image repository's `DescribeService` answer
/// only repeats the identifier the service was given), so a tagged image
/// has none here.
fn image_digest(service: &Service) -> Option<String> {
    let identifier = service
        .source_configuration()?
        .image_repository()?
        .image_identifier();
    identifier
        .split_once('@')
        .map(|(_, digest)| digest.to_owned())
        .filter(|d| !d.is_empty())
}

/// The help of a failed deployment: where its reason is written.
fn deployment_help(address: &Address) -> String {
    format!(
        "read why in the service's deployment log, `apprun logs {address} --system`, and in \
         its application log, `apprun logs {address}` (a failed health check, an image that \
         does not start); fix the cause and deploy again"
    )
}

/// Deploys service `arn` again (`StartDeployment`) and waits for the
/// operation as an update does. A rolled-back or failed deployment is
/// [`ProviderError::OperationFailed`] naming the operation and its status.
pub(crate) async fn deploy(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
) -> Result<Deployment, ProviderError> {
    let what = request.address.to_string();
    let waiting = Waiting {
        verb: "deploying",
        address: request.address,
        progress: &request.progress,
    };
    for _ in 0..ctx.settings.max_attempts.max(2) {
        let out = ctx
            .clients
            .apprunner
            .start_deployment()
            .service_arn(arn)
            .send()
            .await
            .classify("StartDeployment");
        match out {
            Ok(o) => {
                let id = o.operation_id;
                wait::operation(&ctx.clients, &ctx.settings, arn, &id, waiting.clone())
                    .await
                    .map_err(|e| match e {
                        ProviderError::OperationFailed { what, message, .. } => {
                            ProviderError::OperationFailed {
                                what,
                                message,
                                help: deployment_help(request.address),
                            }
                        }
                        other => other,
                    })?;
                // The deployment succeeded: a digest is a detail, so a
                // failed read of it is not the deployment's failure.
                let image_digest = crate::services::describe(ctx, arn)
                    .await
                    .ok()
                    .flatten()
                    .as_ref()
                    .and_then(image_digest);
                return Ok(Deployment {
                    operation_id: Some(id),
                    image_digest,
                });
            }
            Err(f) if f.class == Class::NotFound => {
                return Err(ProviderError::NotFound { what });
            }
            Err(f) if f.class == Class::InvalidState => {
                // Another operation is in progress, or the service is not
                // RUNNING: wait for it to settle, then deploy if it runs.
                let Some(service) =
                    wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone()).await?
                else {
                    return Err(ProviderError::NotFound { what });
                };
                if service.status != ServiceStatus::Running {
                    return Err(ProviderError::Invalid {
                        operation: "StartDeployment".to_owned(),
                        message: format!(
                            "{what} is {}; App Runner deploys only a RUNNING service (a paused \
                             one is resumed by `paused: false` and apply)",
                            service.status.as_str()
                        ),
                    });
                }
            }
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    Err(ProviderError::Transient {
        operation: "StartDeployment".to_owned(),
        message: format!("{what} stayed busy with other operations"),
    })
}

/// A time of App Runner's as RFC 3339; `None` before the epoch.
fn rfc3339(at: Option<&DateTime>) -> Option<String> {
    let secs = u64::try_from(at?.secs()).ok()?;
    Some(apprun_state::format_rfc3339(secs))
}

/// One operation as `status` shows it.
fn operation_info(op: &OperationSummary) -> OperationInfo {
    OperationInfo {
        id: op.id().unwrap_or_default().to_owned(),
        kind: op
            .r#type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        status: op
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        started_at: rfc3339(op.started_at()),
        ended_at: rfc3339(op.ended_at()),
    }
}

/// The named facts of a service: `url`, `image` (and `image_digest` when
/// the identifier names one) or `repository` and `branch`, `cpu`,
/// `memory`, `auto_deploy`.
fn service_details(service: &Service) -> BTreeMap<String, String> {
    let mut details = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            details.insert(key.to_owned(), value);
        }
    };
    put(
        "url",
        service.service_url().map(|host| format!("https://{host}")),
    );
    if let Some(source) = service.source_configuration() {
        if let Some(image) = source.image_repository() {
            put("image", Some(image.image_identifier().to_owned()));
        }
        if let Some(code) = source.code_repository() {
            put("repository", Some(code.repository_url().to_owned()));
            put(
                "branch",
                code.source_code_version().map(|v| v.value().to_owned()),
            );
        }
        put(
            "auto_deploy",
            source.auto_deployments_enabled().map(|b| b.to_string()),
        );
    }
    put("image_digest", image_digest(service));
    if let Some(instance) = service.instance_configuration() {
        put("cpu", instance.cpu().map(str::to_owned));
        put("memory", instance.memory().map(str::to_owned));
    }
    details
}

/// The live status of service `arn`: its status (healthy when
/// `RUNNING`), details and last operations; `None` when it is gone.
pub(crate) async fn service_status(
    ctx: &Ctx,
    arn: &str,
) -> Result<Option<LiveStatus>, ProviderError> {
    let what = service_address(arn).to_string();
    let Some(service) = crate::services::describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let Some(operations) = recent_operations(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    Ok(Some(LiveStatus {
        status: service.status.as_str().to_owned(),
        healthy: service.status == ServiceStatus::Running,
        details: service_details(&service),
        operations: operations.iter().map(operation_info).collect(),
    }))
}

/// A string output of a read.
fn output<'a>(observed: &'a Observed, key: &str) -> Option<&'a str> {
    observed.outputs.get(key).and_then(Value::as_str)
}

/// The live status of connection `arn` (`PENDING_HANDSHAKE`, `AVAILABLE`,
/// `ERROR`; healthy when `AVAILABLE`), from its read.
pub(crate) async fn connection_status(
    ctx: &Ctx,
    arn: &str,
) -> Result<Option<LiveStatus>, ProviderError> {
    let Some(status) = crate::connections::status(ctx, arn).await? else {
        return Ok(None);
    };
    Ok(Some(LiveStatus {
        healthy: status == CONNECTION_AVAILABLE,
        status,
        ..LiveStatus::default()
    }))
}

/// The live status of VPC ingress connection `arn` (healthy when
/// `AVAILABLE`), with its private `domain_name`.
pub(crate) async fn vpc_ingress_status(
    ctx: &Ctx,
    arn: &str,
) -> Result<Option<LiveStatus>, ProviderError> {
    let what = format!("VPC ingress connection {arn}");
    let Some(connection) = crate::vpc_ingress::describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let status = connection
        .status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let details = connection
        .domain_name()
        .filter(|d| !d.is_empty())
        .map(|d| BTreeMap::from([("domain_name".to_owned(), d.to_owned())]))
        .unwrap_or_default();
    Ok(Some(LiveStatus {
        healthy: status == "AVAILABLE",
        status,
        details,
        ..LiveStatus::default()
    }))
}

/// The live status of custom domain `id` (App Runner's lower-case status;
/// healthy when `active`), with its `dns_target`, from its read.
pub(crate) async fn domain_status(
    ctx: &Ctx,
    id: &str,
    recorded: &Value,
) -> Result<Option<LiveStatus>, ProviderError> {
    let Some(observed) = crate::domains::read(ctx, id, recorded).await? else {
        return Ok(None);
    };
    let status = output(&observed, "status").unwrap_or_default().to_owned();
    let details = output(&observed, "dns_target")
        .filter(|t| !t.is_empty())
        .map(|t| BTreeMap::from([("dns_target".to_owned(), t.to_owned())]))
        .unwrap_or_default();
    Ok(Some(LiveStatus {
        healthy: status == DOMAIN_ACTIVE,
        status,
        details,
        ..LiveStatus::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_apprunner::types::{ImageRepository, ImageRepositoryType, SourceConfiguration};

    fn service_with_image(identifier: &str) -> Option<Service> {
        let image = ImageRepository::builder()
            .image_identifier(identifier)
            .image_repository_type(ImageRepositoryType::EcrPublic)
            .build()
            .ok()?;
        Service::builder()
            .service_name("web")
            .service_id("0123")
            .service_arn("arn:aws:apprunner:us-east-1:111122223333:service/web/0123")
            .service_url("abc.us-east-1.awsapprunner.com")
            .created_at(DateTime::from_secs(0))
            .updated_at(DateTime::from_secs(0))
            .status(ServiceStatus::Running)
            .source_configuration(
                SourceConfiguration::builder()
                    .image_repository(image)
                    .auto_deployments_enabled(false)
                    .build(),
            )
            .build()
            .ok()
    }

    #[test]
    fn a_digest_is_read_only_from_an_identifier_that_names_one() {
        let tagged = service_with_image("public.ecr.aws/nginx/nginx:latest");
        assert_eq!(tagged.as_ref().and_then(image_digest), None);
        let pinned = service_with_image("public.ecr.aws/nginx/nginx@sha256:abc");
        assert_eq!(
            pinned.as_ref().and_then(image_digest).as_deref(),
            Some("sha256:abc")
        );
    }

    #[test]
    fn details_name_the_url_image_and_auto_deploy() {
        let Some(service) = service_with_image("public.ecr.aws/nginx/nginx:latest") else {
            panic!("the test service builds");
        };
        let details = service_details(&service);
        assert_eq!(
            details.get("url").map(String::as_str),
            Some("https://abc.us-east-1.awsapprunner.com")
        );
        assert_eq!(
            details.get("image").map(String::as_str),
            Some("public.ecr.aws/nginx/nginx:latest")
        );
        assert_eq!(
            details.get("auto_deploy").map(String::as_str),
            Some("false")
        );
        assert!(!details.contains_key("image_digest"));
    }

    #[test]
    fn times_are_rfc3339_and_addresses_come_from_arns() {
        assert_eq!(
            rfc3339(Some(&DateTime::from_secs(86_400))).as_deref(),
            Some("1970-01-02T00:00:00Z")
        );
        assert_eq!(rfc3339(Some(&DateTime::from_secs(-1))), None);
        assert_eq!(
            service_address("arn:aws:apprunner:us-east-1:1:service/web/0123").to_string(),
            "services.web"
        );
    }
}
