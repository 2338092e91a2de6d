//! Tags of services, auto scaling configurations, VPC connectors, VPC
//! ingress connections, connections and observability configurations: `TagResource`, `UntagResource`,
//! `ListTagsForResource`. A deleted or inactive resource cannot be tagged.

use serde_json::{Value, json};

use crate::arn::Resource;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{ResourceArnInput, Tag, TagResourceInput, UntagResourceInput};
use crate::state::{ServiceStatus, State};
use crate::validate::Violations;

/// Sets `tags` on `arn` (later keys win).
pub(crate) fn set(state: &mut State, arn: &str, tags: &[Tag]) {
    let entry = state.tags.entry(arn.to_owned()).or_default();
    for tag in tags {
        if let Some(key) = &tag.key {
            entry.insert(key.clone(), tag.value.clone().unwrap_or_default());
        }
    }
}

/// Whether `arn` names an existing resource; `Err(InvalidState)` if it is deleted.
fn check_taggable(ctx: &Ctx<'_>, arn: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::not_found(format!("Resource not found: {arn}"));
    let deleted = match ctx.settings.scope.parse(arn).ok_or_else(not_found)? {
        Resource::Service { .. } => {
            let s = ctx
                .state
                .services
                .iter()
                .rfind(|s| s.arn == arn)
                .ok_or_else(not_found)?;
            s.status == ServiceStatus::Deleted
        }
        Resource::AutoScaling(_) => ctx
            .state
            .auto_scaling
            .iter()
            .find(|a| a.arn == arn)
            .ok_or_else(not_found)?
            .deleted_at
            .is_some(),
        Resource::VpcConnector(_) => ctx
            .state
            .vpc_connectors
            .iter()
            .find(|c| c.arn == arn)
            .ok_or_else(not_found)?
            .deleted_at
            .is_some(),
        Resource::Observability(_) => ctx
            .state
            .observability
            .iter()
            .find(|o| o.arn == arn)
            .ok_or_else(not_found)?
            .deleted_at
            .is_some(),
        Resource::VpcIngressConnection { .. } => {
            crate::vpc_ingress::is_deleted(ctx.state, arn).ok_or_else(not_found)?
        }
        Resource::Connection { .. } => {
            crate::connections::is_deleted(ctx.state, arn).ok_or_else(not_found)?
        }
    };
    if deleted {
        return Err(ApiError::state(format!(
            "You can't perform this action when the resource is in its current state: {arn} is deleted"
        )));
    }
    Ok(())
}

fn check_arn(v: &mut Violations, arn: Option<&String>) {
    if v.required(arn, "resourceArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "resourceArn");
    }
}

/// `TagResource`.
pub(crate) fn tag(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: TagResourceInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.resource_arn.as_ref());
    if v.required(input.tags.as_ref(), "tags")
        && let Some(tags) = &input.tags
    {
        v.tags(tags, "tags");
    }
    v.finish()?;
    let arn = input.resource_arn.unwrap_or_default();
    check_taggable(ctx, &arn)?;
    set(ctx.state, &arn, &input.tags.unwrap_or_default());
    Ok(json!({}))
}

/// `UntagResource`.
pub(crate) fn untag(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: UntagResourceInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.resource_arn.as_ref());
    if v.required(input.tag_keys.as_ref(), "tagKeys")
        && let Some(keys) = &input.tag_keys
    {
        for (i, key) in keys.iter().enumerate() {
            v.length(key, &format!("tagKeys.{}.member", i + 1), 1, 128);
        }
    }
    v.finish()?;
    let arn = input.resource_arn.unwrap_or_default();
    check_taggable(ctx, &arn)?;
    if let Some(entry) = ctx.state.tags.get_mut(&arn) {
        for key in input.tag_keys.iter().flatten() {
            entry.remove(key);
        }
    }
    Ok(json!({}))
}

/// `ListTagsForResource`.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ResourceArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.resource_arn.as_ref());
    v.finish()?;
    let arn = input.resource_arn.unwrap_or_default();
    check_taggable(ctx, &arn)?;
    let tags: Vec<Value> = ctx
        .state
        .tags
        .get(&arn)
        .into_iter()
        .flatten()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    Ok(json!({ "Tags": tags }))
}
