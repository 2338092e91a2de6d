//! Auto scaling configurations: revisions per name, the account default,
//! the quota of 10 names x 5 revisions, and refusal to delete a revision a
//! service uses (or the default).

use serde_json::{Value, json};

use crate::arn::{Resource, Scope};
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{
    AutoScalingConfigurationArnInput, CreateAutoScalingConfigurationInput,
    ListAutoScalingConfigurationsInput, ListServicesForAutoScalingConfigurationInput,
};
use crate::state::{AutoScaling, DEFAULT_ASC_ID, ServiceStatus, State, paginate, strip_nulls};
use crate::validate::{self, Violations};

/// Resolves an ARN (full, `…/name/revision` or `…/name`) to an active revision.
pub(crate) fn resolve(state: &State, scope: &Scope, arn: &str) -> Result<usize, ApiError> {
    resolve_in(state, scope, arn, false)
}

fn resolve_in(
    state: &State,
    scope: &Scope,
    arn: &str,
    include_inactive: bool,
) -> Result<usize, ApiError> {
    let not_found = || ApiError::not_found(format!("Auto scaling configuration not found: {arn}"));
    let Some(Resource::AutoScaling(r)) = scope.parse(arn) else {
        return Err(not_found());
    };
    let found = match (r.revision, r.id) {
        (Some(_), Some(_)) => state
            .auto_scaling
            .iter()
            .position(|a| a.arn == arn && (include_inactive || a.deleted_at.is_none())),
        (Some(rev), None) => state
            .auto_scaling
            .iter()
            .position(|a| a.name == r.name && a.revision == rev && a.deleted_at.is_none()),
        (None, _) => latest_active(state, r.name),
    };
    found.ok_or_else(not_found)
}

fn latest_active(state: &State, name: &str) -> Option<usize> {
    state
        .auto_scaling
        .iter()
        .enumerate()
        .filter(|(_, a)| a.name == name && a.deleted_at.is_none())
        .max_by_key(|(_, a)| a.revision)
        .map(|(i, _)| i)
}

/// Whether a service (not deleted), or a rollback it may perform, uses `arn`.
fn in_use(state: &State, arn: &str) -> bool {
    state
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Deleted)
        .any(|s| {
            s.spec.auto_scaling_arn == arn
                || s.pending
                    .as_ref()
                    .and_then(|p| p.previous_spec.as_ref())
                    .is_some_and(|p| p.auto_scaling_arn == arn)
        })
}

fn render(state: &State, a: &AutoScaling) -> Value {
    let latest = a.deleted_at.is_none()
        && latest_active(state, &a.name).map(|i| &state.auto_scaling[i].arn) == Some(&a.arn);
    strip_nulls(json!({
        "AutoScalingConfigurationArn": a.arn,
        "AutoScalingConfigurationName": a.name,
        "AutoScalingConfigurationRevision": a.revision,
        "Latest": latest,
        "Status": if a.deleted_at.is_some() { "INACTIVE" } else { "ACTIVE" },
        "MaxConcurrency": a.max_concurrency,
        "MinSize": a.min_size,
        "MaxSize": a.max_size,
        "CreatedAt": epoch_seconds(a.created_at),
        "DeletedAt": a.deleted_at.map(epoch_seconds),
        "HasAssociatedService": in_use(state, &a.arn),
        "IsDefault": state.default_auto_scaling_arn == a.arn,
    }))
}

/// The `AutoScalingConfigurationSummary` of the revision at `arn`.
pub(crate) fn summary_of(state: &State, arn: &str) -> Value {
    match state.auto_scaling.iter().find(|a| a.arn == arn) {
        Some(a) => summary(state, a),
        None => json!({ "AutoScalingConfigurationArn": arn }),
    }
}

fn summary(state: &State, a: &AutoScaling) -> Value {
    strip_nulls(json!({
        "AutoScalingConfigurationArn": a.arn,
        "AutoScalingConfigurationName": a.name,
        "AutoScalingConfigurationRevision": a.revision,
        "Status": if a.deleted_at.is_some() { "INACTIVE" } else { "ACTIVE" },
        "CreatedAt": epoch_seconds(a.created_at),
        "HasAssociatedService": in_use(state, &a.arn),
        "IsDefault": state.default_auto_scaling_arn == a.arn,
    }))
}

fn check_arn(v: &mut Violations, arn: Option<&String>) {
    if v.required(arn, "autoScalingConfigurationArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "autoScalingConfigurationArn");
    }
}

/// `CreateAutoScalingConfiguration`: the same name makes a new revision.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateAutoScalingConfigurationInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(
        input.auto_scaling_configuration_name.as_ref(),
        "autoScalingConfigurationName",
    ) && let Some(name) = &input.auto_scaling_configuration_name
    {
        v.string(
            name,
            "autoScalingConfigurationName",
            4,
            32,
            &validate::SHORT_NAME,
        );
    }
    if let Some(n) = input.max_concurrency {
        v.range(n, "maxConcurrency", 1, Some(200));
    }
    if let Some(n) = input.min_size {
        v.range(n, "minSize", 1, Some(25));
    }
    if let Some(n) = input.max_size {
        v.range(n, "maxSize", 1, None);
    }
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;
    let name = input.auto_scaling_configuration_name.unwrap_or_default();
    let (min, max) = (input.min_size.unwrap_or(1), input.max_size.unwrap_or(25));
    if min > max {
        return Err(ApiError::invalid(format!(
            "MinSize ({min}) must be less than or equal to MaxSize ({max})"
        )));
    }
    let user = |a: &&AutoScaling| a.deleted_at.is_none() && !a.arn.ends_with(DEFAULT_ASC_ID);
    let revisions = ctx
        .state
        .auto_scaling
        .iter()
        .filter(user)
        .filter(|a| a.name == name)
        .count();
    if revisions == 0 {
        let mut names: Vec<&str> = ctx
            .state
            .auto_scaling
            .iter()
            .filter(user)
            .map(|a| a.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.len() >= ctx.settings.max_asc_names {
            return Err(ApiError::QuotaExceeded(format!(
                "You can have up to {} unique auto scaling configuration names; delete one and then create another one",
                ctx.settings.max_asc_names
            )));
        }
    } else if revisions >= ctx.settings.max_asc_revisions {
        return Err(ApiError::QuotaExceeded(format!(
            "You can have up to {} revisions of auto scaling configuration {name}; delete one and then create another one",
            ctx.settings.max_asc_revisions
        )));
    }
    let counter = ctx
        .state
        .auto_scaling_revisions
        .entry(name.clone())
        .or_insert(0);
    *counter += 1;
    let revision = *counter;
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.auto_scaling_arn(&name, revision, &id);
    ctx.state.auto_scaling.push(AutoScaling {
        arn: arn.clone(),
        name,
        revision,
        max_concurrency: input.max_concurrency.unwrap_or(100),
        min_size: min,
        max_size: max,
        created_at: ctx.now,
        deleted_at: None,
    });
    crate::tags::set(ctx.state, &arn, &tags);
    let created = &ctx.state.auto_scaling[ctx.state.auto_scaling.len() - 1];
    Ok(json!({ "AutoScalingConfiguration": render(ctx.state, created) }))
}

/// `DescribeAutoScalingConfiguration` (inactive revisions too, by full ARN).
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: AutoScalingConfigurationArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.auto_scaling_configuration_arn.as_ref());
    v.finish()?;
    let arn = input.auto_scaling_configuration_arn.unwrap_or_default();
    let i = resolve_in(ctx.state, &ctx.settings.scope, &arn, true)?;
    Ok(json!({ "AutoScalingConfiguration": render(ctx.state, &ctx.state.auto_scaling[i]) }))
}

/// `ListAutoScalingConfigurations`: active revisions, latest only by default.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListAutoScalingConfigurationsInput = parse(body)?;
    let mut v = Violations::new();
    if let Some(name) = &input.auto_scaling_configuration_name {
        v.string(
            name,
            "autoScalingConfigurationName",
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
        .auto_scaling
        .iter()
        .enumerate()
        .filter(|(_, a)| a.deleted_at.is_none())
        .filter(|(_, a)| {
            input
                .auto_scaling_configuration_name
                .as_ref()
                .is_none_or(|n| *n == a.name)
        })
        .filter(|(i, a)| !latest_only || latest_active(ctx.state, &a.name) == Some(*i))
        .map(|(_, a)| summary(ctx.state, a))
        .collect();
    let (page, next) = paginate(&items, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "AutoScalingConfigurationSummaryList": page, "NextToken": next }),
    ))
}

/// `DeleteAutoScalingConfiguration`: one revision, or all with `DeleteAllRevisions`.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: AutoScalingConfigurationArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.auto_scaling_configuration_arn.as_ref());
    v.finish()?;
    let arn = input.auto_scaling_configuration_arn.unwrap_or_default();
    let targets: Vec<usize> = if input.delete_all_revisions == Some(true) {
        let name = match ctx.settings.scope.parse(&arn) {
            Some(Resource::AutoScaling(r)) if r.revision.is_none() => r.name.to_owned(),
            Some(Resource::AutoScaling(_)) => {
                return Err(ApiError::invalid(
                    "When DeleteAllRevisions is true, the ARN must end with the configuration name (…/name), without a revision",
                ));
            }
            _ => {
                return Err(ApiError::not_found(format!(
                    "Auto scaling configuration not found: {arn}"
                )));
            }
        };
        let all: Vec<usize> = ctx
            .state
            .auto_scaling
            .iter()
            .enumerate()
            .filter(|(_, a)| a.name == name && a.deleted_at.is_none())
            .map(|(i, _)| i)
            .collect();
        if all.is_empty() {
            return Err(ApiError::not_found(format!(
                "Auto scaling configuration not found: {arn}"
            )));
        }
        all
    } else {
        vec![resolve(ctx.state, &ctx.settings.scope, &arn)?]
    };
    for &i in &targets {
        let a = &ctx.state.auto_scaling[i];
        if ctx.state.default_auto_scaling_arn == a.arn {
            return Err(ApiError::invalid(format!(
                "You can't delete the default auto scaling configuration {}; make another configuration the default first",
                a.arn
            )));
        }
        if in_use(ctx.state, &a.arn) {
            return Err(ApiError::invalid(format!(
                "You can't delete auto scaling configuration {} because one or more services use it",
                a.arn
            )));
        }
    }
    for &i in &targets {
        ctx.state.auto_scaling[i].deleted_at = Some(ctx.now);
    }
    let shown = targets
        .iter()
        .copied()
        .max_by_key(|&i| ctx.state.auto_scaling[i].revision)
        .unwrap_or(0);
    Ok(json!({ "AutoScalingConfiguration": render(ctx.state, &ctx.state.auto_scaling[shown]) }))
}

/// `UpdateDefaultAutoScalingConfiguration`.
pub(crate) fn update_default(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: AutoScalingConfigurationArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.auto_scaling_configuration_arn.as_ref());
    v.finish()?;
    let arn = input.auto_scaling_configuration_arn.unwrap_or_default();
    let i = resolve(ctx.state, &ctx.settings.scope, &arn)?;
    ctx.state.default_auto_scaling_arn = ctx.state.auto_scaling[i].arn.clone();
    Ok(json!({ "AutoScalingConfiguration": render(ctx.state, &ctx.state.auto_scaling[i]) }))
}

/// `ListServicesForAutoScalingConfiguration`.
pub(crate) fn list_services(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListServicesForAutoScalingConfigurationInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.auto_scaling_configuration_arn.as_ref());
    v.max_results(input.max_results, 100);
    v.finish()?;
    let arn = input.auto_scaling_configuration_arn.unwrap_or_default();
    let i = resolve_in(ctx.state, &ctx.settings.scope, &arn, true)?;
    let target = &ctx.state.auto_scaling[i].arn;
    let arns: Vec<String> = ctx
        .state
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Deleted && &s.spec.auto_scaling_arn == target)
        .map(|s| s.arn.clone())
        .collect();
    let (page, next) = paginate(&arns, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "ServiceArnList": page, "NextToken": next }),
    ))
}
