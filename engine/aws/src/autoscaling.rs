//! App Runner auto scaling configurations: immutable revisions under one
//! name. A change is planned as create-new (a new revision; its ARN is the
//! new physical id) then delete-old; deleting also garbage-collects older,
//! unused revisions of the same name that this stack owns (App Runner
//! allows only 5 revisions per name).
//!
//! `default` (whether the configuration is the account's default) changes
//! in place; `default_autoscaling` remembers and restores the default it
//! replaced. Reads report `default` from `IsDefault`, so drift sees someone
//! changing the account's default.

use std::collections::BTreeMap;

use apprun_engine::attributes::{
    AutoScalingAttributes, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE,
};
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{AutoScalingConfiguration, AutoScalingConfigurationStatus};
use serde_json::json;

use crate::attrs::{applied_by_arn, arn_name, invalid};
use crate::config::Ctx;
use crate::default_autoscaling::{self as defaults, PREVIOUS_DEFAULT_TAG};
use crate::error::{ApiFailure, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;

/// The physical id and outputs of a revision.
fn applied(c: &AutoScalingConfiguration) -> Applied {
    applied_by_arn(
        c.auto_scaling_configuration_arn().unwrap_or_default(),
        [
            (
                "name",
                json!(c.auto_scaling_configuration_name().unwrap_or_default()),
            ),
            (
                "revision",
                json!(c.auto_scaling_configuration_revision().unwrap_or(0)),
            ),
        ],
    )
}

/// [`applied`] with the `previous_default` output when there is one.
fn applied_with(c: &AutoScalingConfiguration, previous: Option<String>) -> Applied {
    let mut out = applied(c);
    if let Some(p) = previous {
        out.outputs.insert("previous_default".to_owned(), json!(p));
    }
    out
}

/// Whether a revision is not `INACTIVE` (deleted).
fn active(c: &AutoScalingConfiguration) -> bool {
    c.status() != Some(&AutoScalingConfigurationStatus::Inactive)
}

/// The revision `arn`; `None` when it is gone or inactive.
async fn describe(ctx: &Ctx, arn: &str) -> Result<Option<AutoScalingConfiguration>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_auto_scaling_configuration()
            .auto_scaling_configuration_arn(arn)
            .send()
            .await
            .classify("DescribeAutoScalingConfiguration")
    })
    .await
    .found()?
    .and_then(|out| out.auto_scaling_configuration.filter(active)))
}

/// Min size, max size and max concurrency of a revision (a member the
/// answer lacks at the engine's default).
fn settings_of(c: &AutoScalingConfiguration) -> (i64, i64, i64) {
    (
        c.min_size().map_or(DEFAULT_MIN_SIZE, i64::from),
        c.max_size().map_or(DEFAULT_MAX_SIZE, i64::from),
        c.max_concurrency()
            .map_or(DEFAULT_MAX_CONCURRENCY, i64::from),
    )
}

/// Min size, max size and max concurrency the attributes ask for.
fn wanted(attrs: &AutoScalingAttributes) -> (i64, i64, i64) {
    (attrs.min_size, attrs.max_size, attrs.max_concurrency)
}

/// Reads one revision by ARN; `None` when it is gone or inactive.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = format!("auto scaling configuration {arn}");
    let read = describe(ctx, arn).await;
    let Some((c, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let (min, max, concurrency) = settings_of(&c);
    let mut attributes = json!({
        "name": c.auto_scaling_configuration_name().unwrap_or_default(),
        "min_size": min,
        "max_size": max,
        "max_concurrency": concurrency,
        "tags": tags::observed(&live_tags),
    });
    // Omitted when false, as the document omits it.
    if c.is_default() == Some(true) {
        attributes["default"] = json!(true);
    }
    Ok(Some(Observed {
        attributes,
        outputs: applied_with(&c, defaults::previous_of(&live_tags)).outputs,
        failed: None,
    }))
}

/// The active revisions of `name`, newest first.
async fn revisions(ctx: &Ctx, name: &str) -> Result<Vec<(i32, String)>, ApiFailure> {
    let pages = Pages::new(&ctx.settings, "ListAutoScalingConfigurations", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_auto_scaling_configurations()
                .auto_scaling_configuration_name(name)
                .latest_only(false)
                .max_results(100)
                .set_next_token(token)
        )
    });
    let mut out = pages
        .all(|page| {
            page.auto_scaling_configuration_summary_list()
                .iter()
                .filter(|s| {
                    s.auto_scaling_configuration_name() == Some(name)
                        && s.status() != Some(&AutoScalingConfigurationStatus::Inactive)
                })
                .filter_map(|s| {
                    let arn = s.auto_scaling_configuration_arn()?;
                    Some((s.auto_scaling_configuration_revision(), arn.to_owned()))
                })
                .collect()
        })
        .await?;
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(out)
}

/// The newest owned revision of `name` (with `filter` on its settings).
async fn find(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
    filter: Option<(i64, i64, i64)>,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let newest_first = revisions(ctx, name).await?.into_iter();
        let adopt = |arn: String, ()| async move {
            let c = describe(ctx, &arn).await?;
            Ok(c.filter(|c| filter.is_none_or(|w| settings_of(c) == w))
                .map(|c| applied(&c)))
        };
        let candidates = newest_first.map(|(_, arn)| (arn, ()));
        tags::first_owned(ctx, candidates, (stack, address), adopt).await
    })
    .await
}

/// Finds the newest revision of `name` carrying this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    find(ctx, stack, address, name, None).await
}

/// Creates a revision (the first, or a new one of an existing name).
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        AutoScalingAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let (min, max, concurrency) = wanted(&attrs);
    let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let mut owned = tags::with_ownership(request.attributes, request.stack, request.address);
    let previous = if attrs.default {
        defaults::remember(ctx, request.name, None)
            .await
            .map_err(|f| f.into_provider(&what))?
    } else {
        None
    };
    if let Some(p) = &previous {
        owned.insert(PREVIOUS_DEFAULT_TAG.to_owned(), p.clone());
    }
    let owned = &owned;
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .create_auto_scaling_configuration()
                .auto_scaling_configuration_name(request.name)
                .min_size(int(min))
                .max_size(int(max))
                .max_concurrency(int(concurrency))
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateAutoScalingConfiguration")
        },
        // Only a revision with exactly these settings is the one we created
        // (an older revision of the same name may be the one replaced).
        || {
            find(
                ctx,
                request.stack,
                request.address,
                request.name,
                Some((min, max, concurrency)),
            )
        },
    )
    .await?;
    let member = ("CreateAutoScalingConfiguration", "AutoScalingConfiguration");
    let previous_out = previous.clone();
    let created = created.applied(&what, member, |out| {
        out.auto_scaling_configuration
            .as_ref()
            .map(|c| applied_with(c, previous_out))
    })?;
    if attrs.default {
        request.created.report(&created).await?;
        defaults::set(ctx, &created.physical_id)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    Ok(created)
}

/// Only tags and `default` change in place; anything else is a new
/// revision.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let err = |f: ApiFailure| f.into_provider(&what);
    let attrs =
        AutoScalingAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let fields = crate::attrs::top_level(changed);
    let immutable = tags::Immutable {
        operation: "UpdateAutoScalingConfiguration",
        why: "revisions are immutable",
    };
    // Everything but `default` goes through the immutable resource's rules.
    let rest: Vec<String> = changed
        .iter()
        .filter(|p| p.split('.').next() != Some("default"))
        .cloned()
        .collect();
    let described = (arn, describe(ctx, arn).await);
    let c = tags::update_only_tags(ctx, described, request, &rest, immutable).await?;
    let mut live = tags::list_apprunner(ctx, arn).await.map_err(err)?;
    if fields.contains("default") {
        let is_default = c.is_default() == Some(true);
        if attrs.default && !is_default {
            let previous = defaults::remember(ctx, request.name, Some(arn))
                .await
                .map_err(err)?;
            if let Some(p) = &previous {
                set_previous_tag(ctx, arn, p).await.map_err(err)?;
            }
            defaults::set(ctx, arn).await.map_err(err)?;
        } else if !attrs.default && is_default {
            defaults::restore(ctx, arn, &live).await?;
            clear_previous_tag(ctx, arn).await.map_err(err)?;
        }
        live = tags::list_apprunner(ctx, arn).await.map_err(err)?;
    }
    Ok(applied_with(&c, defaults::previous_of(&live)))
}

/// Tags `arn` with the default it replaces.
async fn set_previous_tag(ctx: &Ctx, arn: &str, previous: &str) -> Result<(), ApiFailure> {
    let tag = BTreeMap::from([(PREVIOUS_DEFAULT_TAG.to_owned(), previous.to_owned())]);
    tags::tag_apprunner(ctx, arn, &tag).await
}

/// Removes the remembered previous default from `arn`.
async fn clear_previous_tag(ctx: &Ctx, arn: &str) -> Result<(), ApiFailure> {
    tags::untag_apprunner(ctx, arn, vec![PREVIOUS_DEFAULT_TAG.to_owned()]).await
}

/// Deletes one revision, then older unused revisions of the same name that
/// carry the same ownership tags; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str) -> Result<(), ProviderError> {
    let name = arn_name(arn, "autoscalingconfiguration").to_owned();
    let what = Address::new(Kind::AutoScaling, name.as_str()).to_string();
    let err = |f: ApiFailure| f.into_provider(&what);
    let Some(c) = describe(ctx, arn).await.map_err(err)? else {
        return Ok(());
    };
    let revision = c.auto_scaling_configuration_revision().unwrap_or(i32::MAX);
    let Some(live_tags) = tags::list_apprunner(ctx, arn).await.found().map_err(err)? else {
        return Ok(());
    };
    // App Runner refuses to delete the default: restore the one it replaced.
    if c.is_default() == Some(true) {
        defaults::restore(ctx, arn, &live_tags).await?;
    }
    delete_one(ctx, arn).await.map_err(err)?;
    let Some((stack, address)) = tags::owner(&live_tags) else {
        return Ok(());
    };
    // Garbage-collect older revisions: best effort, never failing the delete.
    let older = match revisions(ctx, &name).await {
        Ok(r) => r,
        Err(f) => {
            tracing::warn!("could not list older revisions of {name}: {}", f.message);
            return Ok(());
        }
    };
    for (rev, old) in older.into_iter().filter(|(r, _)| *r < revision) {
        let ours = matches!(
            tags::apprunner_owned_by(ctx, &old, &stack, &address).await,
            Ok(true)
        );
        let unused = matches!(
            describe(ctx, &old).await,
            Ok(Some(c)) if c.has_associated_service() != Some(true)
        );
        if ours && unused {
            match delete_one(ctx, &old).await {
                Ok(()) => tracing::debug!("deleted unused revision {rev} of {name}"),
                Err(f) => {
                    tracing::warn!("could not delete revision {rev} of {name}: {}", f.message)
                }
            }
        }
    }
    Ok(())
}

/// Deletes one revision; `Ok` when already gone.
async fn delete_one(ctx: &Ctx, arn: &str) -> Result<(), ApiFailure> {
    ctx.clients
        .apprunner
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(arn)
        .send()
        .await
        .classify("DeleteAutoScalingConfiguration")
        .found()
        .map(|_| ())
}
