//! VPC connectors: immutable, one revision per name, full ARNs only, and no
//! deletion while a service's egress uses one.

use serde_json::{Value, json};

use crate::arn::Resource;
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{CreateVpcConnectorInput, PageInput, VpcConnectorArnInput};
use crate::state::{ServiceStatus, State, VpcConnector, paginate, strip_nulls};
use crate::validate::{self, Violations};

fn render(c: &VpcConnector) -> Value {
    strip_nulls(json!({
        "VpcConnectorName": c.name,
        "VpcConnectorArn": c.arn,
        "VpcConnectorRevision": c.revision,
        "Subnets": c.subnets,
        "SecurityGroups": c.security_groups,
        "Status": if c.deleted_at.is_some() { "INACTIVE" } else { "ACTIVE" },
        "CreatedAt": epoch_seconds(c.created_at),
        "DeletedAt": c.deleted_at.map(epoch_seconds),
    }))
}

fn in_use(state: &State, arn: &str) -> bool {
    let uses = |spec: &crate::state::ServiceSpec| {
        spec.network
            .egress_configuration
            .as_ref()
            .and_then(|e| e.vpc_connector_arn.as_deref())
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

/// Finds a connector by its full ARN (`…/name/revision/id`).
fn find(ctx: &Ctx<'_>, arn: &str) -> Result<usize, ApiError> {
    let not_found = || ApiError::not_found(format!("VPC connector not found: {arn}"));
    match ctx.settings.scope.parse(arn) {
        Some(Resource::VpcConnector(r)) if r.id.is_some() => {}
        Some(Resource::VpcConnector(_)) => {
            return Err(ApiError::invalid(format!(
                "A full VPC connector ARN (…/name/revision/id) is required: {arn}"
            )));
        }
        _ => return Err(not_found()),
    }
    ctx.state
        .vpc_connectors
        .iter()
        .position(|c| c.arn == arn)
        .ok_or_else(not_found)
}

fn check_arn(arn: Option<&String>) -> Result<String, ApiError> {
    let mut v = Violations::new();
    if v.required(arn, "vpcConnectorArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "vpcConnectorArn");
    }
    v.finish()?;
    Ok(arn.cloned().unwrap_or_default())
}

/// `CreateVpcConnector`.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateVpcConnectorInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(input.vpc_connector_name.as_ref(), "vpcConnectorName")
        && let Some(name) = &input.vpc_connector_name
    {
        v.string(
            name,
            "vpcConnectorName",
            4,
            40,
            &validate::VPC_CONNECTOR_NAME,
        );
    }
    if v.required(input.subnets.as_ref(), "subnets")
        && let Some(subnets) = &input.subnets
    {
        for (i, s) in subnets.iter().enumerate() {
            v.pattern(
                s,
                &format!("subnets.{}.member", i + 1),
                &validate::SUBNET_ID,
            );
        }
    }
    for (i, g) in input.security_groups.iter().flatten().enumerate() {
        v.pattern(
            g,
            &format!("securityGroups.{}.member", i + 1),
            &validate::SECURITY_GROUP_ID,
        );
    }
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;
    let name = input.vpc_connector_name.unwrap_or_default();
    let subnets = input.subnets.unwrap_or_default();
    if subnets.is_empty() {
        return Err(ApiError::invalid(
            "Subnets must contain at least one subnet ID",
        ));
    }
    let active = ctx
        .state
        .vpc_connectors
        .iter()
        .filter(|c| c.deleted_at.is_none());
    if active.clone().any(|c| c.name == name) {
        return Err(ApiError::invalid(format!(
            "A VPC connector named {name} already exists"
        )));
    }
    if active.count() >= ctx.settings.max_vpc_connectors {
        return Err(ApiError::QuotaExceeded(format!(
            "You have reached the maximum number of VPC connectors ({})",
            ctx.settings.max_vpc_connectors
        )));
    }
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.vpc_connector_arn(&name, 1, &id);
    let connector = VpcConnector {
        arn: arn.clone(),
        name,
        revision: 1,
        subnets,
        security_groups: input.security_groups.unwrap_or_default(),
        created_at: ctx.now,
        deleted_at: None,
    };
    let out = render(&connector);
    ctx.state.vpc_connectors.push(connector);
    crate::tags::set(ctx.state, &arn, &tags);
    Ok(json!({ "VpcConnector": out }))
}

/// `DescribeVpcConnector` (inactive connectors too).
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: VpcConnectorArnInput = parse(body)?;
    let arn = check_arn(input.vpc_connector_arn.as_ref())?;
    let i = find(ctx, &arn)?;
    Ok(json!({ "VpcConnector": render(&ctx.state.vpc_connectors[i]) }))
}

/// `ListVpcConnectors`: active connectors, oldest first.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: PageInput = parse(body)?;
    let mut v = Violations::new();
    v.max_results(input.max_results, 100);
    v.finish()?;
    let items: Vec<Value> = ctx
        .state
        .vpc_connectors
        .iter()
        .filter(|c| c.deleted_at.is_none())
        .map(render)
        .collect();
    let (page, next) = paginate(&items, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "VpcConnectors": page, "NextToken": next }),
    ))
}

/// `DeleteVpcConnector`: refused while a service uses the connector.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: VpcConnectorArnInput = parse(body)?;
    let arn = check_arn(input.vpc_connector_arn.as_ref())?;
    let i = find(ctx, &arn)?;
    if ctx.state.vpc_connectors[i].deleted_at.is_some() {
        return Err(ApiError::not_found(format!(
            "VPC connector not found: {arn} (deleted)"
        )));
    }
    if in_use(ctx.state, &arn) {
        return Err(ApiError::invalid(format!(
            "You can't delete VPC connector {arn} because one or more services use it"
        )));
    }
    ctx.state.vpc_connectors[i].deleted_at = Some(ctx.now);
    Ok(json!({ "VpcConnector": render(&ctx.state.vpc_connectors[i]) }))
}
