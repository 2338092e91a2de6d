//! App Runner observability configurations: immutable revisions under one
//! name, like auto scaling configurations. A change is planned as
//! create-new (a new revision; its ARN is the new physical id) then
//! delete-old; only tags change in place. The tracing vendor `AWSXRAY`
//! reads as the stack's `awsxray`.

use apprun_engine::attributes::{ObservabilityAttributes, TRACING_AWSXRAY};
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{
    ObservabilityConfiguration, ObservabilityConfigurationStatus, TraceConfiguration, TracingVendor,
};
use serde_json::{Map, Value, json};

use crate::attrs::{applied_by_arn, arn_name, invalid};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;

/// The physical id and outputs (`arn`, `name`, `revision`) of a revision.
fn applied(c: &ObservabilityConfiguration) -> Applied {
    applied_by_arn(
        c.observability_configuration_arn().unwrap_or_default(),
        [
            (
                "name",
                json!(c.observability_configuration_name().unwrap_or_default()),
            ),
            ("revision", json!(c.observability_configuration_revision())),
        ],
    )
}

/// Whether a revision is not `INACTIVE` (deleted).
fn active(c: &ObservabilityConfiguration) -> bool {
    c.status() != Some(&ObservabilityConfigurationStatus::Inactive)
}

/// The stack's tracing vendor of a revision (`awsxray`), if any.
fn tracing_of(c: &ObservabilityConfiguration) -> Option<String> {
    c.trace_configuration().map(|t| match t.vendor() {
        TracingVendor::Awsxray => TRACING_AWSXRAY.to_owned(),
        other => other.as_str().to_ascii_lowercase(),
    })
}

/// The revision `arn`; `None` when it is gone or inactive.
async fn describe(ctx: &Ctx, arn: &str) -> Result<Option<ObservabilityConfiguration>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_observability_configuration()
            .observability_configuration_arn(arn)
            .send()
            .await
            .classify("DescribeObservabilityConfiguration")
    })
    .await
    .found()?
    .and_then(|out| out.observability_configuration.filter(active)))
}

/// Reads one revision by ARN; `None` when it is gone or inactive.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = format!("observability configuration {arn}");
    let read = describe(ctx, arn).await;
    let Some((c, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let mut attributes = Map::new();
    attributes.insert(
        "name".into(),
        json!(c.observability_configuration_name().unwrap_or_default()),
    );
    if let Some(t) = tracing_of(&c) {
        attributes.insert("tracing".into(), json!(t));
    }
    attributes.insert("tags".into(), tags::observed(&live_tags));
    Ok(Some(Observed {
        attributes: Value::Object(attributes),
        outputs: applied(&c).outputs,
        failed: None,
    }))
}

/// The active revisions of `name`, newest first.
async fn revisions(ctx: &Ctx, name: &str) -> Result<Vec<(i32, String)>, ApiFailure> {
    let pages = Pages::new(&ctx.settings, "ListObservabilityConfigurations", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_observability_configurations()
                .observability_configuration_name(name)
                .latest_only(false)
                .max_results(100)
                .set_next_token(token)
        )
    });
    let mut out = pages
        .all(|page| {
            page.observability_configuration_summary_list()
                .iter()
                .filter(|s| s.observability_configuration_name() == Some(name))
                .filter_map(|s| {
                    let arn = s.observability_configuration_arn()?;
                    Some((s.observability_configuration_revision(), arn.to_owned()))
                })
                .collect()
        })
        .await?;
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(out)
}

/// The newest owned revision of `name` (with `tracing` when given).
async fn find(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
    tracing: Option<Option<String>>,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let candidates = revisions(ctx, name)
            .await?
            .into_iter()
            .map(|(_, a)| (a, ()));
        let tracing = &tracing;
        let adopt = |arn: String, ()| async move {
            let c = describe(ctx, &arn).await?;
            Ok(
                c.filter(|c| tracing.as_ref().is_none_or(|t| &tracing_of(c) == t))
                    .map(|c| applied(&c)),
            )
        };
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

/// The `TraceConfiguration` for the stack's vendor.
fn trace(what: &str, vendor: Option<&str>) -> Result<Option<TraceConfiguration>, ProviderError> {
    let Some(vendor) = vendor else {
        return Ok(None);
    };
    if !vendor.eq_ignore_ascii_case(TRACING_AWSXRAY) {
        return Err(ProviderError::Invalid {
            operation: "CreateObservabilityConfiguration".to_owned(),
            message: format!("{what}: tracing vendor `{vendor}` is not `awsxray`"),
        });
    }
    TraceConfiguration::builder()
        .vendor(TracingVendor::Awsxray)
        .build()
        .map(Some)
        .map_err(|e| ProviderError::Invalid {
            operation: "CreateObservabilityConfiguration".to_owned(),
            message: format!("{what}: {e}"),
        })
}

/// Creates a revision (the first, or a new one of an existing name).
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        ObservabilityAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let trace = &trace(&what, attrs.tracing.as_deref())?;
    let tracing = attrs.tracing.map(|_| TRACING_AWSXRAY.to_owned());
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .create_observability_configuration()
                .observability_configuration_name(request.name)
                .set_trace_configuration(trace.clone())
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateObservabilityConfiguration")
        },
        // Only a revision with this tracing is the one we created.
        || {
            find(
                ctx,
                request.stack,
                request.address,
                request.name,
                Some(tracing.clone()),
            )
        },
    )
    .await?;
    let member = (
        "CreateObservabilityConfiguration",
        "ObservabilityConfiguration",
    );
    created.applied(&what, member, |out| {
        out.observability_configuration.as_ref().map(applied)
    })
}

/// Only tags change in place; anything else is a new revision.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let immutable = tags::Immutable {
        operation: "UpdateObservabilityConfiguration",
        why: "revisions are immutable",
    };
    let described = (arn, describe(ctx, arn).await);
    let c = tags::update_only_tags(ctx, described, request, changed, immutable).await?;
    Ok(applied(&c))
}

/// Deletes one revision; `Ok` when already gone. App Runner refuses it
/// while a service uses it (the service is repointed first by the plan).
pub(crate) async fn delete(ctx: &Ctx, arn: &str) -> Result<(), ProviderError> {
    let name = arn_name(arn, "observabilityconfiguration");
    let what = Address::new(Kind::Observability, name).to_string();
    let out = ctx
        .clients
        .apprunner
        .delete_observability_configuration()
        .observability_configuration_arn(arn)
        .send()
        .await
        .classify("DeleteObservabilityConfiguration");
    match out {
        Ok(_) => Ok(()),
        Err(f) if f.class == Class::NotFound => Ok(()),
        // Already deleted (INACTIVE) revisions may be refused as invalid.
        Err(f) => match describe(ctx, arn).await {
            Ok(None) => Ok(()),
            _ => Err(f.into_provider(&what)),
        },
    }
}
