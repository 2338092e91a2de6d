//! Observability configurations: revisions per name (the name
//! `DefaultConfiguration` is reserved), describe, list and delete (refused
//! while a service, or a rollback it may perform, uses the revision).

use serde_json::{Value, json};

use crate::arn::{Resource, Scope};
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{
    CreateObservabilityConfigurationInput, ListObservabilityConfigurationsInput,
    ObservabilityConfigurationArnInput,
};
use crate::state::{Observability, ServiceStatus, State, paginate, strip_nulls};
use crate::validate::{self, Violations};

/// Resolves an ARN (full, `…/name/revision` or `…/name`) to an active revision; returns its full ARN.
pub(crate) fn resolve(state: &State, scope: &Scope, arn: &str) -> Result<String, ApiError> {
    resolve_in(state, scope, arn, false).map(|i| state.observability[i].arn.clone())
}

fn resolve_in(
    state: &State,
    scope: &Scope,
    arn: &str,
    include_inactive: bool,
) -> Result<usize, ApiError> {
    let not_found = || ApiError::not_found(format!("Observability configuration not found: {arn}"));
    let Some(Resource::Observability(r)) = scope.parse(arn) else {
        return Err(not_found());
    };
    let found = match (r.revision, r.id) {
        (Some(_), Some(_)) => state
            .observability
            .iter()
            .position(|o| o.arn == arn && (include_inactive || o.deleted_at.is_none())),
        (Some(rev), None) => state
            .observability
            .iter()
            .position(|o| o.name == r.name && o.revision == rev && o.deleted_at.is_none()),
        (None, _) => latest_active(state, r.name),
    };
    found.ok_or_else(not_found)
}

fn latest_active(state: &State, name: &str) -> Option<usize> {
    state
        .observability
        .iter()
        .enumerate()
        .filter(|(_, o)| o.name == name && o.deleted_at.is_none())
        .max_by_key(|(_, o)| o.revision)
        .map(|(i, _)| i)
}

/// Whether a service (not deleted), or a rollback it may perform, uses `arn`.
fn in_use(state: &State, arn: &str) -> bool {
    let uses = |spec: &crate::state::ServiceSpec| {
        spec.observability
            .observability_configuration_arn
            .as_deref()
            == Some(arn)
    };
    state
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Deleted)
        .any(|s| {
            uses(&s.spec)
                || s.pending
                    .as_ref()
                    .and_then(|p| p.previous_spec.as_ref())
                    .is_some_and(uses)
        })
}

fn render(state: &State, o: &Observability) -> Value {
    let latest = o.deleted_at.is_none()
        && latest_active(state, &o.name).map(|i| &state.observability[i].arn) == Some(&o.arn);
    strip_nulls(json!({
        "ObservabilityConfigurationArn": o.arn,
        "ObservabilityConfigurationName": o.name,
        "TraceConfiguration": o.trace_vendor.as_ref().map(|v| json!({ "Vendor": v })),
        "ObservabilityConfigurationRevision": o.revision,
        "Latest": latest,
        "Status": if o.deleted_at.is_some() { "INACTIVE" } else { "ACTIVE" },
        "CreatedAt": epoch_seconds(o.created_at),
        "DeletedAt": o.deleted_at.map(epoch_seconds),
    }))
}

fn check_arn(arn: Option<&String>) -> Result<String, ApiError> {
    let mut v = Violations::new();
    if v.required(arn, "observabilityConfigurationArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "observabilityConfigurationArn");
    }
    v.finish()?;
    Ok(arn.cloned().unwrap_or_default())
}

/// `CreateObservabilityConfiguration`.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateObservabilityConfigurationInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(
        input.observability_configuration_name.as_ref(),
        "observabilityConfigurationName",
    ) && let Some(name) = &input.observability_configuration_name
    {
        v.string(
            name,
            "observabilityConfigurationName",
            4,
            32,
            &validate::SHORT_NAME,
        );
    }
    if let Some(trace) = &input.trace_configuration
        && v.required(trace.vendor.as_ref(), "traceConfiguration.vendor")
        && let Some(vendor) = &trace.vendor
    {
        v.one_of(vendor, "traceConfiguration.vendor", &["AWSXRAY"]);
    }
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;
    let name = input.observability_configuration_name.unwrap_or_default();
    if name == "DefaultConfiguration" {
        return Err(ApiError::invalid(
            "The name DefaultConfiguration is reserved for the default observability configuration",
        ));
    }
    let counter = ctx
        .state
        .observability_revisions
        .entry(name.clone())
        .or_insert(0);
    *counter += 1;
    let revision = *counter;
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.observability_arn(&name, revision, &id);
    ctx.state.observability.push(Observability {
        arn: arn.clone(),
        name,
        revision,
        trace_vendor: input.trace_configuration.and_then(|t| t.vendor),
        created_at: ctx.now,
        deleted_at: None,
    });
    crate::tags::set(ctx.state, &arn, &tags);
    let created = &ctx.state.observability[ctx.state.observability.len() - 1];
    Ok(json!({ "ObservabilityConfiguration": render(ctx.state, created) }))
}

/// `DescribeObservabilityConfiguration` (inactive revisions too, by full ARN).
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ObservabilityConfigurationArnInput = parse(body)?;
    let arn = check_arn(input.observability_configuration_arn.as_ref())?;
    let i = resolve_in(ctx.state, &ctx.settings.scope, &arn, true)?;
    Ok(json!({ "ObservabilityConfiguration": render(ctx.state, &ctx.state.observability[i]) }))
}

/// `ListObservabilityConfigurations`: active revisions, latest only by default.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListObservabilityConfigurationsInput = parse(body)?;
    let mut v = Violations::new();
    if let Some(name) = &input.observability_configuration_name {
        v.string(
            name,
            "observabilityConfigurationName",
            4,
            32,
            &validate::SHORT_NAME,
        );
    }
    v.max_results(input.max_results, 100);
    v.finish()?;
    let latest_only = input.latest_only.unwrap_or(true);
    let items: Vec<Value> = ctx
        .state
        .observability
        .iter()
        .enumerate()
        .filter(|(_, o)| o.deleted_at.is_none())
        .filter(|(_, o)| {
            input
                .observability_configuration_name
                .as_ref()
                .is_none_or(|n| *n == o.name)
        })
        .filter(|(i, o)| !latest_only || latest_active(ctx.state, &o.name) == Some(*i))
        .map(|(_, o)| {
            json!({
                "ObservabilityConfigurationArn": o.arn,
                "ObservabilityConfigurationName": o.name,
                "ObservabilityConfigurationRevision": o.revision,
            })
        })
        .collect();
    let (page, next) = paginate(&items, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "ObservabilityConfigurationSummaryList": page, "NextToken": next }),
    ))
}

/// `DeleteObservabilityConfiguration`.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ObservabilityConfigurationArnInput = parse(body)?;
    let arn = check_arn(input.observability_configuration_arn.as_ref())?;
    let i = resolve_in(ctx.state, &ctx.settings.scope, &arn, false)?;
    let full = ctx.state.observability[i].arn.clone();
    if in_use(ctx.state, &full) {
        return Err(ApiError::invalid(format!(
            "You can't delete observability configuration {full} because one or more services use it"
        )));
    }
    ctx.state.observability[i].deleted_at = Some(ctx.now);
    Ok(json!({ "ObservabilityConfiguration": render(ctx.state, &ctx.state.observability[i]) }))
}
