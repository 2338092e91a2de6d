//! App Runner VPC ingress connections: make a private service reachable
//! through a VPC interface endpoint. `name` and `service` cannot change
//! (the plan replaces the connection); `vpc` and `endpoint` change through
//! `UpdateVpcIngressConnection`; tags through Tag/UntagResource. Creates,
//! updates and deletes are asynchronous: each waits for the connection's
//! status (`AVAILABLE`, or gone) under `settings.operation_deadline`.
//!
//! App Runner refuses to delete a service while a connection to it exists,
//! so the plan deletes connections first (they depend on the service).

use apprun_engine::attributes::VpcIngressAttributes;
use apprun_engine::provider::{Applied, Observed, Progress, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{
    IngressVpcConfiguration, VpcIngressConnection, VpcIngressConnectionStatus as Status,
};
use serde_json::json;

use crate::attrs::{applied_by_arn, arn_name, invalid, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;
use crate::wait::{Poller, Waiting};

/// The physical id and outputs (`arn`, `name`, `domain_name`).
fn applied(c: &VpcIngressConnection) -> Applied {
    applied_by_arn(
        c.vpc_ingress_connection_arn().unwrap_or_default(),
        [
            (
                "name",
                json!(c.vpc_ingress_connection_name().unwrap_or_default()),
            ),
            ("domain_name", json!(c.domain_name().unwrap_or_default())),
        ],
    )
}

/// The address a connection ARN stands for when the engine gives none.
fn address_of(arn: &str) -> Address {
    Address::new(Kind::VpcIngress, arn_name(arn, "vpcingressconnection"))
}

/// The connection `arn`; `None` when it is gone or `DELETED`.
pub(crate) async fn describe(
    ctx: &Ctx,
    arn: &str,
) -> Result<Option<VpcIngressConnection>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_vpc_ingress_connection()
            .vpc_ingress_connection_arn(arn)
            .send()
            .await
            .classify("DescribeVpcIngressConnection")
    })
    .await
    .found()?
    .and_then(|out| out.vpc_ingress_connection)
    .filter(|c| c.status() != Some(&Status::Deleted)))
}

/// Reads a connection by ARN; `None` when it is gone.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = address_of(arn).to_string();
    let read = describe(ctx, arn).await;
    let Some((c, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let vpc = c.ingress_vpc_configuration();
    let failed = (c.status() == Some(&Status::FailedCreation))
        .then(|| "the VPC ingress connection is FAILED_CREATION".to_owned());
    Ok(Some(Observed {
        attributes: json!({
            "service": c.service_arn().unwrap_or_default(),
            "vpc": vpc.and_then(|v| v.vpc_id()).unwrap_or_default(),
            "endpoint": vpc.and_then(|v| v.vpc_endpoint_id()).unwrap_or_default(),
            "tags": tags::observed(&live_tags),
            "name": c.vpc_ingress_connection_name().unwrap_or_default(),
        }),
        outputs: applied(&c).outputs,
        failed,
    }))
}

/// Finds the connection `name` carrying this stack's ownership tags (the
/// name is part of the ARN a listing answers).
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let pages = Pages::new(&ctx.settings, "ListVpcIngressConnections", |token| {
            paginator!(
                ctx.clients
                    .apprunner
                    .list_vpc_ingress_connections()
                    .max_results(100)
                    .set_next_token(token)
            )
        });
        let named = pages
            .all(|page| {
                page.vpc_ingress_connection_summary_list()
                    .iter()
                    .filter_map(|s| s.vpc_ingress_connection_arn())
                    .filter(|arn| arn_name(arn, "vpcingressconnection") == name)
                    .map(|arn| (arn.to_owned(), ()))
                    .collect()
            })
            .await?;
        let adopt =
            |arn: String, ()| async move { Ok(describe(ctx, &arn).await?.map(|c| applied(&c))) };
        tags::first_owned(ctx, named, (stack, address), adopt).await
    })
    .await
}

/// The `IngressVpcConfiguration` of `attrs`.
fn vpc_configuration(attrs: &VpcIngressAttributes) -> IngressVpcConfiguration {
    IngressVpcConfiguration::builder()
        .vpc_id(&attrs.vpc)
        .vpc_endpoint_id(&attrs.endpoint)
        .build()
}

/// Waits until the connection is `AVAILABLE`; `failure` is the status
/// that ends the wait as a failed operation.
async fn until_available(
    ctx: &Ctx,
    arn: &str,
    waiting: Waiting<'_>,
    failure: &Status,
) -> Result<VpcIngressConnection, ProviderError> {
    let (verb, what) = (waiting.verb, waiting.address.to_string());
    let mut poller = Poller::new(&ctx.settings, waiting);
    let awaited = format!("{what} to become AVAILABLE");
    loop {
        let c = describe(ctx, arn)
            .await
            .map_err(|f| f.into_provider(&what))?
            .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
        match c.status() {
            Some(Status::Available) => return Ok(c),
            Some(s) if s == failure => {
                return Err(ProviderError::OperationFailed {
                    what: format!("{verb} {what}"),
                    message: format!("the VPC ingress connection is {}", s.as_str()),
                    help: "check that the VPC and the interface endpoint exist, belong to this \
                           account and region, and that the service is private; then apply again"
                        .to_owned(),
                });
            }
            _ => poller.tick(&awaited).await?,
        }
    }
}

/// Creates the connection and waits until it is `AVAILABLE`.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        &VpcIngressAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .create_vpc_ingress_connection()
                .vpc_ingress_connection_name(request.name)
                .service_arn(&attrs.service)
                .ingress_vpc_configuration(vpc_configuration(attrs))
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateVpcIngressConnection")
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await?;
    let member = ("CreateVpcIngressConnection", "VpcIngressConnection");
    let first = created.applied(&what, member, |out| {
        out.vpc_ingress_connection.as_ref().map(applied)
    })?;
    request.created.report(&first).await?;
    let waiting = Waiting {
        verb: "creating",
        address: request.address,
        progress: &request.progress,
    };
    let c = until_available(ctx, &first.physical_id, waiting, &Status::FailedCreation).await?;
    Ok(applied(&c))
}

/// Changes `vpc` / `endpoint` (and waits) and tags in place.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        &VpcIngressAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let fields = top_level(changed);
    if let Some(field) = fields
        .iter()
        .find(|f| !matches!(**f, "vpc" | "endpoint" | "tags"))
    {
        return Err(ProviderError::Invalid {
            operation: "UpdateVpcIngressConnection".to_owned(),
            message: format!("{what}: `{field}` cannot change in place; it must be replaced"),
        });
    }
    let waiting = Waiting {
        verb: "updating",
        address: request.address,
        progress: &request.progress,
    };
    let Some(mut current) = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Err(ProviderError::NotFound { what });
    };
    if fields.contains("vpc") || fields.contains("endpoint") {
        for attempt in 1..=ctx.settings.max_attempts.max(2) {
            let out = ctx
                .clients
                .apprunner
                .update_vpc_ingress_connection()
                .vpc_ingress_connection_arn(arn)
                .ingress_vpc_configuration(vpc_configuration(attrs))
                .send()
                .await
                .classify("UpdateVpcIngressConnection");
            match out {
                Ok(_) => break,
                Err(f) if f.class == Class::NotFound => {
                    return Err(ProviderError::NotFound { what });
                }
                // A change in progress: wait for it to settle, then again.
                Err(f) if f.class == Class::InvalidState && attempt < ctx.settings.max_attempts => {
                    until_available(ctx, arn, waiting.clone(), &Status::FailedUpdate).await?;
                }
                Err(f) => return Err(f.into_provider(&what)),
            }
        }
        current = until_available(ctx, arn, waiting, &Status::FailedUpdate).await?;
    }
    if fields.contains("tags") {
        tags::sync_apprunner(ctx, arn, request.attributes)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    Ok(applied(&current))
}

/// Deletes the connection and waits until it is gone; `Ok` when already
/// gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str, progress: Progress) -> Result<(), ProviderError> {
    let address = address_of(arn);
    let what = address.to_string();
    let waiting = Waiting {
        verb: "deleting",
        address: &address,
        progress: &progress,
    };
    let mut poller = Poller::new(&ctx.settings, waiting);
    let awaited = format!("{what} to be deleted");
    let mut asked = false;
    loop {
        let Some(c) = describe(ctx, arn)
            .await
            .map_err(|f| f.into_provider(&what))?
        else {
            return Ok(());
        };
        let status = c.status().cloned();
        let deletable = matches!(
            status,
            Some(
                Status::Available
                    | Status::FailedCreation
                    | Status::FailedUpdate
                    | Status::FailedDeletion
            )
        );
        if status == Some(Status::FailedDeletion) && asked {
            return Err(ProviderError::OperationFailed {
                what: format!("deleting {what}"),
                message: "the VPC ingress connection is FAILED_DELETION".to_owned(),
                help: "look at the connection in the App Runner console, then apply again"
                    .to_owned(),
            });
        }
        if deletable {
            let out = ctx
                .clients
                .apprunner
                .delete_vpc_ingress_connection()
                .vpc_ingress_connection_arn(arn)
                .send()
                .await
                .classify("DeleteVpcIngressConnection");
            match out {
                Ok(_) => asked = true,
                Err(f) if f.class == Class::NotFound => return Ok(()),
                // Pending meanwhile: look again.
                Err(f) if f.class == Class::InvalidState => {}
                Err(f) => return Err(f.into_provider(&what)),
            }
        }
        poller.tick(&awaited).await?;
    }
}
