//! App Runner services: create (and wait for `RUNNING` through the
//! operation), read back in the normalized shape, update only the members
//! that changed (one `UpdateService`, never an empty one; tags through
//! Tag/UntagResource; pause/resume), delete. `shape` turns attributes into
//! the SDK's configuration members and a live service back into attributes.
//!
//! Env values, secrets' values are not secret (ARNs), but env values and
//! start/build commands are: they only travel in requests and in the
//! attribute documents, never into messages or logs.

mod shape;

use std::time::Instant;

use apprun_engine::attributes::ServiceAttributes;
use apprun_engine::provider::{Applied, Observed, Progress, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{Service, ServiceStatus, Tag};
use serde_json::{Value, json};

use crate::attrs::{invalid, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry::{self, Backoff, Created};
use crate::tags;
use crate::wait::{self, Waiting};

use shape::{
    applied, encryption, health, instance, network, normalize, observability, outputs, source,
};

/// Members of the service a changed top-level attribute maps to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Members {
    source: bool,
    instance: bool,
    health: bool,
    auto_scaling: bool,
    network: bool,
    observability: bool,
    tags: bool,
    paused: bool,
}

impl Members {
    /// The members behind the changed paths; `Invalid` for a path no
    /// member can change.
    fn of(changed: &[String]) -> Result<Self, ProviderError> {
        let mut m = Members::default();
        for field in top_level(changed) {
            match field {
                "image" | "code" | "port" | "start_command" | "env" | "secrets" | "auto_deploy"
                | "access_role" => m.source = true,
                "cpu" | "memory" | "instance_role" => m.instance = true,
                "health_check" => m.health = true,
                "autoscaling" => m.auto_scaling = true,
                "vpc_connector" | "ingress" | "ip_address_type" => m.network = true,
                "observability" => m.observability = true,
                "tags" => m.tags = true,
                "paused" => m.paused = true,
                // Not an App Runner setting (the Docker target's build).
                "build" => {}
                other => {
                    return Err(ProviderError::Invalid {
                        operation: "UpdateService".to_owned(),
                        message: format!(
                            "`{other}` cannot change in place; the service must be replaced"
                        ),
                    });
                }
            }
        }
        Ok(m)
    }

    /// Whether any member of the `UpdateService` request changes.
    fn any_configuration(&self) -> bool {
        self.source
            || self.instance
            || self.health
            || self.auto_scaling
            || self.network
            || self.observability
    }
}

/// The address a service ARN stands for when the engine gives none (delete).
fn address_of(arn: &str) -> Address {
    // arn:aws:apprunner:region:account:service/name/id
    let name = arn
        .split_once(":service/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn);
    Address::new(Kind::Service, name)
}

/// The service `arn`; `None` when it is gone (or deleted).
pub(crate) async fn describe(ctx: &Ctx, arn: &str) -> Result<Option<Service>, ApiFailure> {
    let out = retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_service()
            .service_arn(arn)
            .send()
            .await
            .classify("DescribeService")
    })
    .await;
    Ok(out
        .found()?
        .and_then(|o| o.service.filter(|s| s.status != ServiceStatus::Deleted)))
}

/// `describe` of a service just created: not found is retried for
/// `read_after_create` before it is believed (T15).
async fn describe_after_create(ctx: &Ctx, arn: &str) -> Result<Option<Service>, ApiFailure> {
    let start = Instant::now();
    let mut backoff = Backoff::for_retries(&ctx.settings);
    loop {
        match describe(ctx, arn).await? {
            None if start.elapsed() < ctx.settings.read_after_create => backoff.sleep().await,
            other => return Ok(other),
        }
    }
}

/// Reads a service; `None` when it is gone.
pub(crate) async fn read(
    ctx: &Ctx,
    arn: &str,
    recorded: &Value,
) -> Result<Option<Observed>, ProviderError> {
    Ok(read_tagged(ctx, arn, recorded)
        .await?
        .map(|(observed, _)| observed))
}

/// Reads a service with every tag it carries (ownership and AWS's own
/// included), from the one tag call the read makes anyway.
pub(crate) async fn read_tagged(
    ctx: &Ctx,
    arn: &str,
    recorded: &Value,
) -> Result<Option<(Observed, Vec<Tag>)>, ProviderError> {
    let what = address_of(arn).to_string();
    // The record (env values and commands sealed; none on import) supplies
    // what App Runner cannot show.
    let recorded =
        &ServiceAttributes::from_value(recorded).map_err(|e| ProviderError::Invalid {
            operation: format!("read {what}"),
            message: format!("its state record is not valid: {e}"),
        })?;
    let read = crate::fresh::read_settled(ctx, arn, || describe(ctx, arn)).await;
    let Some((service, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let failed = if service.status == ServiceStatus::CreateFailed {
        let op = wait::newest_operation(&ctx.clients, &ctx.settings, arn)
            .await
            .ok()
            .flatten();
        Some(match op.and_then(|o| o.id) {
            Some(id) => format!("the service is CREATE_FAILED (operation {id} failed)"),
            None => "the service is CREATE_FAILED".to_owned(),
        })
    } else {
        None
    };
    let observed = Observed {
        attributes: normalize(&service, &live_tags, recorded),
        outputs: outputs(&service),
        failed,
    };
    Ok(Some((observed, live_tags)))
}

/// Finds the service named `name` that carries this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let mut pages = Pages::new(&ctx.settings, "ListServices", |token| {
            paginator!(
                ctx.clients
                    .apprunner
                    .list_services()
                    .max_results(20)
                    .set_next_token(token)
            )
        });
        let adopt =
            |arn: String, ()| async move { Ok(describe(ctx, &arn).await?.map(|s| applied(&s))) };
        while let Some(page) = pages.next().await? {
            let named = page
                .service_summary_list()
                .iter()
                .filter(|s| s.service_name() == Some(name))
                .filter_map(|s| Some((s.service_arn()?.to_owned(), ())))
                .collect::<Vec<_>>();
            if let Some(found) = tags::first_owned(ctx, named, (stack, address), adopt).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    })
    .await
}

/// Whether an `InvalidRequestException` is the IAM propagation delay (a
/// role just created is not yet assumable by App Runner).
fn iam_propagation(f: &ApiFailure) -> bool {
    let m = f.message.to_ascii_lowercase();
    f.class == Class::Invalid
        && m.contains("role")
        && (m.contains("assum") || m.contains("not authorized") || m.contains("trust"))
}

/// Runs `call`, retrying refusals caused by IAM propagation for up to
/// `settings.iam_propagation`.
async fn with_iam_propagation<T, F: std::future::Future<Output = Result<T, ApiFailure>>>(
    ctx: &Ctx,
    mut call: impl FnMut() -> F,
) -> Result<T, ApiFailure> {
    let start = Instant::now();
    let mut backoff = Backoff::new(ctx.settings.initial_backoff, ctx.settings.max_backoff);
    loop {
        match call().await {
            Err(f) if iam_propagation(&f) && start.elapsed() < ctx.settings.iam_propagation => {
                tracing::debug!(operation = f.operation, "role not assumable yet; retrying");
                backoff.sleep().await;
            }
            other => return other,
        }
    }
}

/// The connection a code service reads its repository through, if any.
fn connection_of(attrs: &ServiceAttributes) -> Option<&str> {
    attrs
        .code
        .as_ref()
        .map(|c| c.connection.as_str())
        .filter(|c| !c.is_empty())
}

/// App Runner's refusal of a connection that is not available, as the
/// error [`crate::connections::check_usable`] gives; other errors as they are.
fn connection_refusal(
    error: ProviderError,
    connection: Option<&str>,
    operation: &str,
    what: &str,
) -> ProviderError {
    connection
        .and_then(|arn| crate::connections::refusal(&error, arn, operation, what))
        .unwrap_or(error)
}

/// Creates a service and waits until it runs (and pauses it if asked).
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        &ServiceAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let owned_tags = &tags::with_ownership(request.attributes, request.stack, request.address);
    let source = &source(attrs, "CreateService").map_err(|f| f.into_provider(&what))?;
    let encryption = &encryption(attrs, "CreateService").map_err(|f| f.into_provider(&what))?;
    let connection = connection_of(attrs);
    if let Some(arn) = connection {
        crate::connections::check_usable(ctx, arn, "CreateService", &what).await?;
    }
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            with_iam_propagation(ctx, || async move {
                ctx.clients
                    .apprunner_once
                    .create_service()
                    .service_name(request.name)
                    .source_configuration(source.clone())
                    .instance_configuration(instance(attrs))
                    .health_check_configuration(health(attrs))
                    .set_auto_scaling_configuration_arn(attrs.autoscaling.clone())
                    .network_configuration(network(attrs))
                    .set_observability_configuration(
                        attrs.observability.as_ref().map(|_| observability(attrs)),
                    )
                    .set_encryption_configuration(encryption.clone())
                    .set_tags(Some(tags::sdk_tags(owned_tags)))
                    .send()
                    .await
                    .classify("CreateService")
            })
            .await
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await
    .map_err(|e| connection_refusal(e, connection, "CreateService", &what))?;
    let waiting = Waiting {
        verb: "creating",
        address: request.address,
        progress: &request.progress,
    };
    let (arn, answered) = match created {
        Created::New(out) => {
            let Some(service) = out.service else {
                return Err(crate::error::missing("CreateService", "Service").into_provider(&what));
            };
            // Recorded before waiting: a service that ends `CREATE_FAILED`,
            // or a wait that fails, leaves it in state (replaced or finished
            // by the next apply), never only in App Runner.
            request.created.report(&applied(&service)).await?;
            wait::operation(
                &ctx.clients,
                &ctx.settings,
                &service.service_arn,
                &out.operation_id,
                waiting.clone(),
            )
            .await?;
            ctx.fresh.created(&service.service_arn);
            (service.service_arn.clone(), Some(service))
        }
        Created::Found(found) => {
            request.created.report(&found).await?;
            // An earlier attempt created it: wait for its creation.
            let op = wait::newest_operation(&ctx.clients, &ctx.settings, &found.physical_id)
                .await
                .map_err(|f| f.into_provider(&what))?;
            if let Some(id) = op.and_then(|o| o.id) {
                wait::operation(
                    &ctx.clients,
                    &ctx.settings,
                    &found.physical_id,
                    &id,
                    waiting.clone(),
                )
                .await?;
            }
            (found.physical_id, None)
        }
    };
    if attrs.paused {
        pause_or_resume(ctx, &arn, true, waiting.clone()).await?;
    } else if let Some(service) = answered {
        // The create's answer already holds every output (ARN, id, name,
        // URL); the operation's success is what was waited for.
        return Ok(applied(&service));
    }
    let service = describe_after_create(ctx, &arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    Ok(applied(&service))
}

/// Pauses or resumes, waiting for the operation; retries after an
/// operation in progress.
async fn pause_or_resume(
    ctx: &Ctx,
    arn: &str,
    pause: bool,
    waiting: Waiting<'_>,
) -> Result<(), ProviderError> {
    let what = waiting.address.to_string();
    let (operation, verb) = if pause {
        ("PauseService", "pausing")
    } else {
        ("ResumeService", "resuming")
    };
    let waiting = Waiting { verb, ..waiting };
    for _ in 0..ctx.settings.max_attempts.max(1) {
        let out = if pause {
            ctx.clients
                .apprunner
                .pause_service()
                .service_arn(arn)
                .send()
                .await
                .classify(operation)
                .map(|o| o.operation_id)
        } else {
            ctx.clients
                .apprunner
                .resume_service()
                .service_arn(arn)
                .send()
                .await
                .classify(operation)
                .map(|o| o.operation_id)
        };
        match out {
            Ok(Some(id)) => {
                wait::operation(&ctx.clients, &ctx.settings, arn, &id, waiting.clone()).await?;
                return Ok(());
            }
            Ok(None) => return Ok(()),
            Err(f) if f.class == Class::InvalidState => {
                let Some(service) =
                    wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone()).await?
                else {
                    return Err(ProviderError::NotFound { what });
                };
                let done = if pause {
                    service.status == ServiceStatus::Paused
                } else {
                    service.status == ServiceStatus::Running
                };
                if done {
                    return Ok(());
                }
            }
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    Err(ProviderError::Transient {
        operation: operation.to_owned(),
        message: "the service stayed busy with other operations".to_owned(),
    })
}

/// One `UpdateService` with exactly the members in `m`.
async fn update_service(
    ctx: &Ctx,
    arn: &str,
    attrs: &ServiceAttributes,
    m: Members,
) -> Result<Option<String>, ApiFailure> {
    let source = &if m.source {
        Some(source(attrs, "UpdateService")?)
    } else {
        None
    };
    with_iam_propagation(ctx, || async move {
        ctx.clients
            .apprunner
            .update_service()
            .service_arn(arn)
            .set_source_configuration(source.clone())
            .set_instance_configuration(m.instance.then(|| instance(attrs)))
            .set_health_check_configuration(m.health.then(|| health(attrs)))
            .set_auto_scaling_configuration_arn(if m.auto_scaling {
                attrs.autoscaling.clone()
            } else {
                None
            })
            .set_network_configuration(m.network.then(|| network(attrs)))
            .set_observability_configuration(m.observability.then(|| observability(attrs)))
            .send()
            .await
            .classify("UpdateService")
    })
    .await
    .map(|o| Some(o.operation_id))
}

/// Changes a service in place: only the members behind `changed`.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let not_found = || ProviderError::NotFound { what: what.clone() };
    let mut members = Members::of(changed)?;
    // The request's document, as JSON (diffed against what is read back)
    // and typed (what the requests are shaped from).
    let mut document = request.attributes.clone();
    let mut typed = ServiceAttributes::from_value(&document).map_err(|e| invalid(&what, &e))?;
    // Removing the auto scaling reference cannot be sent as "none": the
    // service goes back to the account's default configuration.
    if members.auto_scaling && typed.autoscaling.is_none() {
        match crate::default_autoscaling::current(ctx)
            .await
            .map_err(|f| f.into_provider(&what))?
        {
            Some(arn) => {
                document["autoscaling"] = json!(arn);
                typed.autoscaling = Some(arn);
            }
            None => members.auto_scaling = false,
        }
    }
    let (attrs, typed) = (&document, &typed);
    // A connection still waiting for its handshake fails before anything.
    if members.source
        && let Some(arn) = connection_of(typed)
    {
        crate::connections::check_usable(ctx, arn, "UpdateService", &what).await?;
    }
    let waiting = Waiting {
        verb: "updating",
        address: request.address,
        progress: &request.progress,
    };
    let mut service = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(not_found)?;
    let want_paused = typed.paused;
    if service.status == ServiceStatus::Paused && !want_paused {
        pause_or_resume(ctx, arn, false, waiting.clone()).await?;
    }
    let mut attempts = 0;
    while members.any_configuration() {
        attempts += 1;
        match update_service(ctx, arn, typed, members).await {
            Ok(Some(id)) => {
                wait::operation(&ctx.clients, &ctx.settings, arn, &id, waiting.clone()).await?;
                break;
            }
            Ok(None) => break,
            Err(f)
                if f.class == Class::InvalidState
                    && attempts < ctx.settings.max_attempts.max(2) =>
            {
                // Someone else's operation: wait for it, re-read, re-diff.
                let Some(now) =
                    wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone()).await?
                else {
                    return Err(not_found());
                };
                service = now;
                let live_tags = tags::list_apprunner(ctx, arn)
                    .await
                    .map_err(|f| f.into_provider(&what))?;
                let observed = normalize(&service, &live_tags, typed);
                let paths: Vec<String> = apprun_engine::diff::diff(&observed, attrs)
                    .into_iter()
                    .map(|c| c.path)
                    .collect();
                let again = Members::of(&paths).unwrap_or(members);
                members = Members {
                    source: again.source,
                    instance: again.instance,
                    health: again.health,
                    auto_scaling: again.auto_scaling && typed.autoscaling.is_some(),
                    network: again.network,
                    observability: again.observability,
                    ..members
                };
            }
            Err(f) if f.class == Class::NotFound => return Err(not_found()),
            Err(f) => {
                let error = f.into_provider(&what);
                let connection = connection_of(typed);
                return Err(connection_refusal(
                    error,
                    connection,
                    "UpdateService",
                    &what,
                ));
            }
        }
    }
    if members.tags {
        tags::sync_apprunner(ctx, arn, attrs)
            .await
            .map_err(|f| match f.class {
                Class::NotFound => not_found(),
                _ => f.into_provider(&what),
            })?;
    }
    let current = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .ok_or_else(not_found)?;
    if want_paused && current.status != ServiceStatus::Paused {
        pause_or_resume(ctx, arn, true, waiting.clone()).await?;
    }
    Ok(applied(&current))
}

/// Deletes a service and waits until it is gone; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str, progress: Progress) -> Result<(), ProviderError> {
    ctx.fresh.forget(arn);
    let address = address_of(arn);
    let what = address.to_string();
    let waiting = Waiting {
        verb: "deleting",
        address: &address,
        progress: &progress,
    };
    for _ in 0..ctx.settings.max_attempts.max(2) {
        let out = ctx
            .clients
            .apprunner
            .delete_service()
            .service_arn(arn)
            .send()
            .await
            .classify("DeleteService");
        match out {
            Ok(o) => {
                return wait::operation(&ctx.clients, &ctx.settings, arn, &o.operation_id, waiting)
                    .await
                    .map(|_| ());
            }
            Err(f) if f.class == Class::NotFound => return Ok(()),
            Err(f) if f.class == Class::InvalidState => {
                if wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone())
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
            }
            Err(f) if f.class == Class::Ambiguous => {
                // The delete may have started: read before trying again.
                if describe(ctx, arn)
                    .await
                    .map_err(|f| f.into_provider(&what))?
                    .is_none()
                {
                    return Ok(());
                }
                if wait::idle(&ctx.clients, &ctx.settings, arn, waiting.clone())
                    .await?
                    .is_none()
                {
                    return Ok(());
                }
            }
            Err(f) => return Err(f.into_provider(&what)),
        }
    }
    Err(ProviderError::Transient {
        operation: "DeleteService".to_owned(),
        message: format!("{what} stayed busy with other operations"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_map_to_update_members() {
        let m = Members::of(&["cpu".into(), "env.A".into()]).unwrap_or_default();
        assert!(m.instance && m.source && !m.health && !m.network && !m.tags);
        let t = Members::of(&["tags.team".into()]).unwrap_or_default();
        assert!(!t.any_configuration() && t.tags);
        assert!(Members::of(&["name".into()]).is_err());
    }

    #[test]
    fn iam_propagation_refusals_are_recognized() {
        let f = ApiFailure::new(
            "CreateService",
            Class::Invalid,
            "InvalidRequestException: Error in assuming instance role arn:aws:iam::1:role/x",
        );
        assert!(iam_propagation(&f));
        let other = ApiFailure::new("CreateService", Class::Invalid, "Invalid Cpu value");
        assert!(!iam_propagation(&other));
    }

    #[test]
    fn the_address_is_recovered_from_an_arn() {
        assert_eq!(
            address_of("arn:aws:apprunner:us-east-1:1:service/web/0123").to_string(),
            "services.web"
        );
    }
}
