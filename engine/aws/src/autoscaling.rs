//! App Runner auto scaling configurations: immutable revisions under one
//! name. A change is planned as create-new (a new revision; its ARN is the
//! new physical id) then delete-old; deleting also garbage-collects older,
//! unused revisions of the same name that this stack owns (App Runner
//! allows only 5 revisions per name).

use std::collections::BTreeMap;

use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{AutoScalingConfiguration, AutoScalingConfigurationStatus};
use serde_json::{Value, json};

use crate::attrs::{arn_name, int_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::retry::{self, Created};
use crate::services::{aws_tags, list_tags, sync_tags, tags_observed, tags_owned};
use crate::tags;

fn applied(c: &AutoScalingConfiguration) -> Applied {
    let arn = c
        .auto_scaling_configuration_arn()
        .unwrap_or_default()
        .to_owned();
    let mut outputs = BTreeMap::new();
    outputs.insert("arn".to_owned(), json!(arn));
    outputs.insert(
        "name".to_owned(),
        json!(c.auto_scaling_configuration_name().unwrap_or_default()),
    );
    outputs.insert(
        "revision".to_owned(),
        json!(c.auto_scaling_configuration_revision().unwrap_or(0)),
    );
    Applied {
        physical_id: arn,
        outputs,
    }
}

fn active(c: &AutoScalingConfiguration) -> bool {
    c.status() != Some(&AutoScalingConfigurationStatus::Inactive)
}

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

fn settings_of(c: &AutoScalingConfiguration) -> (i64, i64, i64) {
    (
        i64::from(c.min_size().unwrap_or(1)),
        i64::from(c.max_size().unwrap_or(25)),
        i64::from(c.max_concurrency().unwrap_or(100)),
    )
}

fn wanted(attrs: &Value) -> (i64, i64, i64) {
    (
        int_at(attrs, "min_size").unwrap_or(1),
        int_at(attrs, "max_size").unwrap_or(25),
        int_at(attrs, "max_concurrency").unwrap_or(100),
    )
}

/// Reads one revision by ARN; `None` when it is gone or inactive.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = format!("auto scaling configuration {arn}");
    let Some(c) = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let live_tags = match list_tags(ctx, arn).await {
        Ok(t) => t,
        Err(f) if f.class == Class::NotFound => return Ok(None),
        Err(f) => return Err(f.into_provider(&what)),
    };
    let (min, max, concurrency) = settings_of(&c);
    Ok(Some(Observed {
        attributes: json!({
            "name": c.auto_scaling_configuration_name().unwrap_or_default(),
            "min_size": min,
            "max_size": max,
            "max_concurrency": concurrency,
            "tags": tags_observed(&live_tags),
        }),
        outputs: applied(&c).outputs,
        failed: None,
    }))
}

/// The active revisions of `name`, newest first.
async fn revisions(ctx: &Ctx, name: &str) -> Result<Vec<(i32, String)>, ApiFailure> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let token_now = &token;
        let page = retry::read(&ctx.settings, || async move {
            ctx.clients
                .apprunner
                .list_auto_scaling_configurations()
                .auto_scaling_configuration_name(name)
                .latest_only(false)
                .max_results(100)
                .set_next_token(token_now.clone())
                .send()
                .await
                .classify("ListAutoScalingConfigurations")
        })
        .await?;
        for s in page.auto_scaling_configuration_summary_list() {
            if s.auto_scaling_configuration_name() == Some(name)
                && s.status() != Some(&AutoScalingConfigurationStatus::Inactive)
                && let Some(arn) = s.auto_scaling_configuration_arn()
            {
                out.push((s.auto_scaling_configuration_revision(), arn.to_owned()));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
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
    let what = address.to_string();
    let err = |f: ApiFailure| f.into_provider(&what);
    for (_, arn) in revisions(ctx, name).await.map_err(err)? {
        let owned = match list_tags(ctx, &arn).await {
            Ok(t) => tags_owned(&t, stack, address),
            Err(f) if f.class == Class::NotFound => false,
            Err(f) => return Err(err(f)),
        };
        if !owned {
            continue;
        }
        if let Some(c) = describe(ctx, &arn).await.map_err(err)?
            && filter.is_none_or(|w| settings_of(&c) == w)
        {
            return Ok(Some(applied(&c)));
        }
    }
    Ok(None)
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
    let attrs = request.attributes;
    let what = request.address.to_string();
    let (min, max, concurrency) = wanted(attrs);
    let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let owned = &tags::with_ownership(attrs, request.stack, request.address);
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
                .set_tags(Some(aws_tags(owned)))
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
    match created {
        Created::New(out) => match out.auto_scaling_configuration {
            Some(c) => Ok(applied(&c)),
            None => Err(crate::error::missing(
                "CreateAutoScalingConfiguration",
                "AutoScalingConfiguration",
            )
            .into_provider(&what)),
        },
        Created::Found(found) => Ok(found),
    }
}

/// Only tags change in place; anything else is a new revision.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let Some(c) = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Err(ProviderError::NotFound { what });
    };
    if let Some(field) = top_level(changed).into_iter().find(|f| *f != "tags") {
        return Err(ProviderError::Invalid {
            operation: "UpdateAutoScalingConfiguration".to_owned(),
            message: format!("{what}: `{field}` cannot change in place (revisions are immutable)"),
        });
    }
    sync_tags(ctx, arn, request.attributes)
        .await
        .map_err(|f| f.into_provider(&what))?;
    Ok(applied(&c))
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
    let owner = match list_tags(ctx, arn).await {
        Ok(t) => {
            let get = |k: &str| {
                t.iter()
                    .find(|x| x.key() == Some(k))
                    .and_then(|x| x.value())
                    .map(str::to_owned)
            };
            get(tags::STACK_TAG).zip(get(tags::ADDRESS_TAG))
        }
        Err(f) if f.class == Class::NotFound => return Ok(()),
        Err(f) => return Err(err(f)),
    };
    delete_one(ctx, arn).await.map_err(err)?;
    let Some((stack, address)) = owner else {
        return Ok(());
    };
    let Some(address) = Address::parse(&address) else {
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
        let ours = matches!(list_tags(ctx, &old).await, Ok(t) if tags_owned(&t, &stack, &address));
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

async fn delete_one(ctx: &Ctx, arn: &str) -> Result<(), ApiFailure> {
    match ctx
        .clients
        .apprunner
        .delete_auto_scaling_configuration()
        .auto_scaling_configuration_arn(arn)
        .send()
        .await
        .classify("DeleteAutoScalingConfiguration")
    {
        Ok(_) => Ok(()),
        Err(f) if f.class == Class::NotFound => Ok(()),
        Err(f) => Err(f),
    }
}
