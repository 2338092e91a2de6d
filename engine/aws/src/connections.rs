//! App Runner connections to GitHub or Bitbucket: immutable (only tags
//! change in place). A new connection is `PENDING_HANDSHAKE` until a person
//! completes the handshake in the console: create reports that step through
//! `progress` and returns (it never waits for a person), and `read` reports
//! the live `status` output, so plan and drift show it. App Runner has no
//! Describe call: a connection is read through `ListConnections` filtered
//! by its name (the name is in its ARN).
//!
//! [`check_usable`] is what services call before a create or an update
//! that names a connection: a connection that is not `AVAILABLE` fails at
//! once with the console step, instead of a refusal or an endless wait.

use apprun_engine::attributes::{CONNECTION_AVAILABLE, ConnectionAttributes};
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{ConnectionStatus, ConnectionSummary, ProviderType};
use serde_json::json;

use crate::attrs::{applied_by_arn, arn_name, invalid};
use crate::config::Ctx;
use crate::error::{ApiFailure, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;

/// A connection as `ListConnections` answers it.
#[derive(Debug, Clone)]
struct Listed {
    arn: String,
    name: String,
    provider: String,
    status: String,
}

impl Listed {
    fn of(s: &ConnectionSummary) -> Option<Self> {
        Some(Listed {
            arn: s.connection_arn()?.to_owned(),
            name: s.connection_name().unwrap_or_default().to_owned(),
            provider: s
                .provider_type()
                .map(|p| p.as_str())
                .unwrap_or("")
                .to_owned(),
            status: s.status().map(|p| p.as_str()).unwrap_or("").to_owned(),
        })
    }

    /// The physical id and outputs: `arn`, `name`, `status`.
    fn applied(&self) -> Applied {
        applied_by_arn(
            &self.arn,
            [("name", json!(self.name)), ("status", json!(self.status))],
        )
    }
}

/// The console step that makes a connection `AVAILABLE`.
fn console_step(name: &str, provider: &str) -> String {
    let site = match provider.to_ascii_uppercase().as_str() {
        "BITBUCKET" => "Bitbucket",
        "GITHUB" => "GitHub",
        _ => "GitHub/Bitbucket",
    };
    format!("App Runner console > {site} connections > select {name} > Complete handshake")
}

/// The connections named `name` that are not `DELETED`.
async fn named(ctx: &Ctx, name: &str) -> Result<Vec<Listed>, ApiFailure> {
    let pages = Pages::new(&ctx.settings, "ListConnections", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_connections()
                .connection_name(name)
                .max_results(100)
                .set_next_token(token)
        )
    });
    pages
        .all(|page| {
            page.connection_summary_list()
                .iter()
                .filter(|s| {
                    s.connection_name() == Some(name)
                        && s.status() != Some(&ConnectionStatus::Deleted)
                })
                .filter_map(Listed::of)
                .collect()
        })
        .await
}

/// The handshake status of connection `arn` (`PENDING_HANDSHAKE`,
/// `AVAILABLE`, ...); `None` when it is gone. One listing, no tag call.
pub(crate) async fn status(ctx: &Ctx, arn: &str) -> Result<Option<String>, ProviderError> {
    lookup(ctx, arn)
        .await
        .map(|c| c.map(|c| c.status))
        .map_err(|f| f.into_provider(&format!("connection {arn}")))
}

/// The connection `arn`; `None` when it is gone.
async fn lookup(ctx: &Ctx, arn: &str) -> Result<Option<Listed>, ApiFailure> {
    let name = arn_name(arn, "connection");
    Ok(named(ctx, name).await?.into_iter().find(|c| c.arn == arn))
}

/// Reads a connection by ARN; `None` when it is gone.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = format!("connection {arn}");
    let read = lookup(ctx, arn).await;
    let Some((c, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    Ok(Some(Observed {
        attributes: json!({
            "provider": c.provider,
            "name": c.name,
            "tags": tags::observed(&live_tags),
        }),
        outputs: c.applied().outputs,
        failed: None,
    }))
}

/// Finds the connection `name` carrying this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let candidates = named(ctx, name)
            .await?
            .into_iter()
            .map(|c| (c.arn.clone(), c.applied()));
        let adopt = |_, listed| std::future::ready(Ok(Some(listed)));
        tags::first_owned(ctx, candidates, (stack, address), adopt).await
    })
    .await
}

/// Creates the connection; returns while it waits for its handshake,
/// after saying through `progress` what a person must do.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        ConnectionAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let provider = &ProviderType::from(attrs.provider.as_str());
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .create_connection()
                .connection_name(request.name)
                .provider_type(provider.clone())
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateConnection")
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await?;
    let member = ("CreateConnection", "Connection");
    let applied = created.applied(&what, member, |out| {
        let c = out.connection?;
        Some(
            Listed {
                arn: c.connection_arn()?.to_owned(),
                name: c.connection_name().unwrap_or_default().to_owned(),
                provider: attrs.provider.clone(),
                status: c.status().map(|s| s.as_str()).unwrap_or("").to_owned(),
            }
            .applied(),
        )
    })?;
    request.created.report(&applied).await?;
    let status = applied.outputs.get("status").and_then(|s| s.as_str());
    if status != Some(CONNECTION_AVAILABLE) {
        let line = format!(
            "connection {} is {}: complete its handshake in the {} (services that use it cannot be created until then)",
            request.name,
            status.unwrap_or("not available"),
            console_step(request.name, &attrs.provider)
        );
        (request.progress)(request.address, &line);
    }
    Ok(applied)
}

/// Only tags change in place; anything else is a replacement.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let immutable = tags::Immutable {
        operation: "UpdateConnection",
        why: "connections are immutable",
    };
    let described = (arn, lookup(ctx, arn).await);
    let c = tags::update_only_tags(ctx, described, request, changed, immutable).await?;
    Ok(c.applied())
}

/// Deletes the connection; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str) -> Result<(), ProviderError> {
    let what = Address::new(Kind::Connection, arn_name(arn, "connection")).to_string();
    ctx.clients
        .apprunner
        .delete_connection()
        .connection_arn(arn)
        .send()
        .await
        .classify("DeleteConnection")
        .found()
        .map(|_| ())
        .map_err(|f| f.into_provider(&what))
}

/// Fails unless connection `arn` is `AVAILABLE`: `OperationFailed` naming
/// the connection, its status and the console step. A connection that
/// cannot be listed (another account's, or none) is left to App Runner.
pub(crate) async fn check_usable(
    ctx: &Ctx,
    arn: &str,
    operation: &str,
    what: &str,
) -> Result<(), ProviderError> {
    let Some(c) = lookup(ctx, arn).await.map_err(|f| f.into_provider(what))? else {
        return Ok(());
    };
    if c.status == CONNECTION_AVAILABLE {
        return Ok(());
    }
    Err(not_available(
        operation,
        what,
        &c.name,
        &c.status,
        &c.provider,
    ))
}

/// The error for a service whose connection `name` is in `status`.
fn not_available(
    operation: &str,
    what: &str,
    name: &str,
    status: &str,
    provider: &str,
) -> ProviderError {
    ProviderError::OperationFailed {
        what: format!("{operation} of {what}"),
        message: format!(
            "connection {name} is {status} (a service needs it AVAILABLE): App Runner cannot read the repository until its handshake is complete"
        ),
        help: format!(
            "complete the handshake ({}), then apply again",
            console_step(name, provider)
        ),
    }
}

/// The same error from App Runner's own refusal of a service whose
/// connection is not available (`None`: another refusal).
pub(crate) fn refusal(
    error: &ProviderError,
    connection_arn: &str,
    operation: &str,
    what: &str,
) -> Option<ProviderError> {
    let ProviderError::Invalid { message, .. } = error else {
        return None;
    };
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("connection") && lower.contains("available")) {
        return None;
    }
    let name = arn_name(connection_arn, "connection");
    Some(not_available(operation, what, name, "not AVAILABLE", ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:apprunner:us-east-1:111122223333:connection/gh/0123";

    #[test]
    fn app_runner_refusals_name_the_connection_and_the_console_step() {
        let refused = ProviderError::Invalid {
            operation: "CreateService".into(),
            message: format!(
                "InvalidRequestException: Connection {ARN} is not in AVAILABLE status (it is PENDING_HANDSHAKE)"
            ),
        };
        let Some(e @ ProviderError::OperationFailed { .. }) =
            refusal(&refused, ARN, "CreateService", "services.site")
        else {
            panic!("a refusal about the connection is translated");
        };
        let ProviderError::OperationFailed { message, help, .. } = &e else {
            unreachable!()
        };
        assert!(message.contains("connection gh"), "{message}");
        assert!(help.contains("select gh > Complete handshake"), "{help}");
        let other = ProviderError::Invalid {
            operation: "CreateService".into(),
            message: "Invalid Cpu value".into(),
        };
        assert!(refusal(&other, ARN, "CreateService", "services.site").is_none());
    }

    #[test]
    fn the_console_step_names_the_provider() {
        assert!(console_step("gh", "GITHUB").contains("GitHub connections > select gh"));
        assert!(console_step("bb", "BITBUCKET").contains("Bitbucket connections"));
    }
}
