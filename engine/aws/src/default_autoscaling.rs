//! The account's default auto scaling configuration, for the `default`
//! flag of `autoscaling.*`.
//!
//! Setting the flag first remembers the account's current default, as the
//! tag [`PREVIOUS_DEFAULT_TAG`] on the configuration that becomes the
//! default (the `previous_default` output shows it; `apprun:` tags are
//! never synced away nor shown as drift). A new revision of a configuration
//! that already is the default (a replacement) inherits that revision's
//! tag instead. Clearing the flag, or deleting the default, restores the
//! remembered configuration, or when it is gone the latest revision of
//! App Runner's own `DefaultConfiguration`.

use apprun_engine::provider::ProviderError;
use aws_sdk_apprunner::types::Tag;

use crate::attrs::arn_name;
use crate::config::Ctx;
use crate::error::{ApiFailure, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::tags::{self, SdkTag};

/// The tag holding the ARN of the default an apprun default replaced.
pub const PREVIOUS_DEFAULT_TAG: &str = "apprun:previous-default";

/// The name of App Runner's own default configuration.
const APP_RUNNER_DEFAULT: &str = "DefaultConfiguration";

/// The ARN of the account's current default configuration, if any.
pub(crate) async fn current(ctx: &Ctx) -> Result<Option<String>, ApiFailure> {
    let mut pages = Pages::new(&ctx.settings, "ListAutoScalingConfigurations", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_auto_scaling_configurations()
                .latest_only(false)
                .max_results(100)
                .set_next_token(token)
        )
    });
    while let Some(page) = pages.next().await? {
        if let Some(arn) = page
            .auto_scaling_configuration_summary_list()
            .iter()
            .find(|s| s.is_default() == Some(true))
            .and_then(|s| s.auto_scaling_configuration_arn())
        {
            return Ok(Some(arn.to_owned()));
        }
    }
    Ok(None)
}

/// The value of [`PREVIOUS_DEFAULT_TAG`] among `live` tags.
pub(crate) fn previous_of(live: &[Tag]) -> Option<String> {
    live.iter()
        .filter_map(SdkTag::pair)
        .find(|(k, _)| *k == PREVIOUS_DEFAULT_TAG)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// What the configuration `name` (ARN `own`, when it exists) should
/// remember as the previous default before it becomes the default: the
/// current default, or what an older revision of the same name remembered.
pub(crate) async fn remember(
    ctx: &Ctx,
    name: &str,
    own: Option<&str>,
) -> Result<Option<String>, ApiFailure> {
    let Some(current) = current(ctx).await? else {
        return Ok(None);
    };
    let same_name = arn_name(&current, "autoscalingconfiguration") == name;
    if Some(current.as_str()) == own || same_name {
        return Ok(previous_of(&tags::list_apprunner(ctx, &current).await?));
    }
    Ok(Some(current))
}

/// Makes `arn` the account's default.
pub(crate) async fn set(ctx: &Ctx, arn: &str) -> Result<(), ApiFailure> {
    ctx.clients
        .apprunner
        .update_default_auto_scaling_configuration()
        .auto_scaling_configuration_arn(arn)
        .send()
        .await
        .classify("UpdateDefaultAutoScalingConfiguration")
        .map(|_| ())
}

/// Whether revision `arn` exists and is active.
async fn exists(ctx: &Ctx, arn: &str) -> Result<bool, ApiFailure> {
    use aws_sdk_apprunner::types::AutoScalingConfigurationStatus as S;
    let out = ctx
        .clients
        .apprunner
        .describe_auto_scaling_configuration()
        .auto_scaling_configuration_arn(arn)
        .send()
        .await
        .classify("DescribeAutoScalingConfiguration");
    match out {
        Ok(o) => Ok(o
            .auto_scaling_configuration
            .is_some_and(|c| c.status() != Some(&S::Inactive))),
        Err(f)
            if matches!(
                f.class,
                crate::error::Class::NotFound | crate::error::Class::Invalid
            ) =>
        {
            Ok(false)
        }
        Err(f) => Err(f),
    }
}

/// The latest active revision of App Runner's `DefaultConfiguration`.
async fn app_runner_default(ctx: &Ctx) -> Result<Option<String>, ApiFailure> {
    let pages = Pages::new(&ctx.settings, "ListAutoScalingConfigurations", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_auto_scaling_configurations()
                .auto_scaling_configuration_name(APP_RUNNER_DEFAULT)
                .latest_only(true)
                .max_results(100)
                .set_next_token(token)
        )
    });
    let mut found = pages
        .all(|page| {
            page.auto_scaling_configuration_summary_list()
                .iter()
                .filter(|s| s.auto_scaling_configuration_name() == Some(APP_RUNNER_DEFAULT))
                .filter_map(|s| {
                    let arn = s.auto_scaling_configuration_arn()?.to_owned();
                    Some((s.auto_scaling_configuration_revision(), arn))
                })
                .collect()
        })
        .await?;
    found.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(found.into_iter().next().map(|(_, arn)| arn))
}

/// Makes the default that `arn` (whose tags are `live`) replaced the
/// default again; falls back to the latest `DefaultConfiguration`.
/// Returns the ARN restored.
pub(crate) async fn restore(ctx: &Ctx, arn: &str, live: &[Tag]) -> Result<String, ProviderError> {
    let what = format!("auto scaling configuration {arn}");
    let err = |f: ApiFailure| f.into_provider(&what);
    let remembered = match previous_of(live) {
        Some(p) if p != arn && exists(ctx, &p).await.map_err(err)? => Some(p),
        _ => None,
    };
    let target = match remembered {
        Some(p) => p,
        None => app_runner_default(ctx)
            .await
            .map_err(err)?
            .filter(|d| d != arn)
            .ok_or_else(|| ProviderError::OperationFailed {
                what: format!("restoring the default before changing {what}"),
                message: "the previous default no longer exists and there is no \
                          DefaultConfiguration revision to fall back to"
                    .to_owned(),
                help: "make another auto scaling configuration the account's default \
                       (UpdateDefaultAutoScalingConfiguration), then apply again"
                    .to_owned(),
            })?,
    };
    set(ctx, &target).await.map_err(err)?;
    Ok(target)
}
