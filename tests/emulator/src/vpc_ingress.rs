//! VPC ingress connections: `CreateVpcIngressConnection`,
//! `UpdateVpcIngressConnection`, `DeleteVpcIngressConnection`,
//! `DescribeVpcIngressConnection`, `ListVpcIngressConnections`.
//!
//! Status machine (each pending phase lasts the operation duration, and
//! settles lazily like service operations): create `PENDING_CREATION` ->
//! `AVAILABLE`; update `PENDING_UPDATE` -> `AVAILABLE`; delete
//! `PENDING_DELETION` -> `DELETED`. A `fail_operation` fault rule on the
//! call ends the phase in `FAILED_CREATION`, `FAILED_UPDATE` or
//! `FAILED_DELETION` instead. Update is allowed in `AVAILABLE`,
//! `FAILED_CREATION` and `FAILED_UPDATE`; delete in those and
//! `FAILED_DELETION`. A `DELETED` connection stays describable (with
//! `DeletedAt`, like a deleted service) but is no longer listed.
//!
//! A service takes one connection, only when it is private
//! (`IsPubliclyAccessible` false); a service with a connection that is not
//! `DELETED` or `FAILED_CREATION` cannot be deleted.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::arn::Resource;
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{
    CreateVpcIngressConnectionInput, IngressVpcConfiguration, ListVpcIngressConnectionsInput,
    UpdateVpcIngressConnectionInput, VpcIngressConnectionArnInput,
};
use crate::state::{
    IngressStatus, Outcome, ServiceStatus, State, VpcIngress, paginate, strip_nulls,
};
use crate::validate::{self, Violations};

pub(crate) static VPC_ID: LazyLock<Regex> = LazyLock::new(|| validate::re(r"^vpc-[0-9a-f]{8,17}$"));
pub(crate) static VPC_ENDPOINT_ID: LazyLock<Regex> =
    LazyLock::new(|| validate::re(r"^vpce-[0-9a-f]{8,17}$"));

/// Ends every pending phase whose end time is at or before `now`.
pub(crate) fn settle(state: &mut State, now: u64) {
    for c in &mut state.vpc_ingress {
        let Some(at) = c.pending_ends_at else {
            continue;
        };
        if now < at {
            continue;
        }
        let failed = c.outcome != Outcome::Succeed;
        c.status = match (c.status, failed) {
            (IngressStatus::PendingCreation, false) | (IngressStatus::PendingUpdate, false) => {
                IngressStatus::Available
            }
            (IngressStatus::PendingCreation, true) => IngressStatus::FailedCreation,
            (IngressStatus::PendingUpdate, true) => IngressStatus::FailedUpdate,
            (IngressStatus::PendingDeletion, false) => {
                c.deleted_at = Some(at);
                IngressStatus::Deleted
            }
            (IngressStatus::PendingDeletion, true) => IngressStatus::FailedDeletion,
            (other, _) => other,
        };
        c.pending_ends_at = None;
        c.outcome = Outcome::Succeed;
    }
}

/// Whether a connection of the service at `service_arn` blocks deleting it.
pub(crate) fn blocks_service_deletion(state: &State, service_arn: &str) -> Option<String> {
    state
        .vpc_ingress
        .iter()
        .find(|c| {
            c.service_arn == service_arn
                && !matches!(
                    c.status,
                    IngressStatus::Deleted | IngressStatus::FailedCreation
                )
        })
        .map(|c| c.arn.clone())
}

/// The `VpcDNSTargets` of a service: its available connections.
pub(crate) fn dns_targets(state: &State, service_arn: &str) -> Vec<Value> {
    state
        .vpc_ingress
        .iter()
        .filter(|c| c.service_arn == service_arn && c.status == IngressStatus::Available)
        .map(|c| {
            json!({
                "VpcIngressConnectionArn": c.arn,
                "VpcId": c.vpc_id,
                "DomainName": c.domain_name,
            })
        })
        .collect()
}

fn render(c: &VpcIngress, account_id: &str) -> Value {
    strip_nulls(json!({
        "VpcIngressConnectionArn": c.arn,
        "VpcIngressConnectionName": c.name,
        "ServiceArn": c.service_arn,
        "Status": c.status.as_str(),
        "AccountId": account_id,
        "DomainName": c.domain_name,
        "IngressVpcConfiguration": {
            "VpcId": c.vpc_id,
            "VpcEndpointId": c.vpc_endpoint_id,
        },
        "CreatedAt": epoch_seconds(c.created_at),
        "DeletedAt": c.deleted_at.map(epoch_seconds),
    }))
}

fn answer(ctx: &Ctx<'_>, i: usize) -> Value {
    json!({ "VpcIngressConnection": render(&ctx.state.vpc_ingress[i], &ctx.settings.scope.account_id) })
}

fn check_arn(v: &mut Violations, arn: Option<&String>, member: &str) {
    if v.required(arn, member)
        && let Some(arn) = arn
    {
        v.resource_arn(arn, member);
    }
}

fn check_config(v: &mut Violations, config: Option<&IngressVpcConfiguration>) {
    if !v.required(config, "ingressVpcConfiguration") {
        return;
    }
    let Some(config) = config else { return };
    if v.required(config.vpc_id.as_ref(), "ingressVpcConfiguration.vpcId")
        && let Some(id) = &config.vpc_id
    {
        v.pattern(id, "ingressVpcConfiguration.vpcId", &VPC_ID);
    }
    if v.required(
        config.vpc_endpoint_id.as_ref(),
        "ingressVpcConfiguration.vpcEndpointId",
    ) && let Some(id) = &config.vpc_endpoint_id
    {
        v.pattern(
            id,
            "ingressVpcConfiguration.vpcEndpointId",
            &VPC_ENDPOINT_ID,
        );
    }
}

/// Finds a connection by ARN (deleted ones too).
fn find(ctx: &Ctx<'_>, arn: &str) -> Result<usize, ApiError> {
    let not_found = || ApiError::not_found(format!("VPC ingress connection not found: {arn}"));
    match ctx.settings.scope.parse(arn) {
        Some(Resource::VpcIngressConnection { .. }) => {}
        _ => return Err(not_found()),
    }
    ctx.state
        .vpc_ingress
        .iter()
        .rposition(|c| c.arn == arn)
        .ok_or_else(not_found)
}

/// Finds a connection a mutation may target: deleted ones are gone.
fn find_live(ctx: &Ctx<'_>, arn: &str) -> Result<usize, ApiError> {
    let i = find(ctx, arn)?;
    if ctx.state.vpc_ingress[i].status == IngressStatus::Deleted {
        return Err(ApiError::not_found(format!(
            "VPC ingress connection not found: {arn} (deleted)"
        )));
    }
    Ok(i)
}

fn begin(ctx: &mut Ctx<'_>, i: usize, status: IngressStatus) {
    let ends = ctx.now.saturating_add(ctx.settings.operation_duration_ms);
    let outcome = ctx.scripted.unwrap_or(Outcome::Succeed);
    let c = &mut ctx.state.vpc_ingress[i];
    c.status = status;
    c.pending_ends_at = Some(ends);
    c.outcome = outcome;
}

/// `CreateVpcIngressConnection`.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateVpcIngressConnectionInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, input.service_arn.as_ref(), "serviceArn");
    if v.required(
        input.vpc_ingress_connection_name.as_ref(),
        "vpcIngressConnectionName",
    ) && let Some(name) = &input.vpc_ingress_connection_name
    {
        v.string(
            name,
            "vpcIngressConnectionName",
            4,
            40,
            &validate::VPC_CONNECTOR_NAME,
        );
    }
    check_config(&mut v, input.ingress_vpc_configuration.as_ref());
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;
    let service_arn = input.service_arn.unwrap_or_default();
    let name = input.vpc_ingress_connection_name.unwrap_or_default();
    let config = input.ingress_vpc_configuration.unwrap_or_default();

    // The operation models no ResourceNotFoundException: a missing or
    // deleted service is an InvalidStateException.
    let service = crate::services::find(ctx.state, &ctx.settings.scope, &service_arn)
        .map_err(|e| ApiError::state(e.message()))?;
    if service.status == ServiceStatus::Deleted {
        return Err(ApiError::state(format!(
            "Service not found: {service_arn} (deleted)"
        )));
    }
    let public = service
        .spec
        .network
        .ingress_configuration
        .as_ref()
        .and_then(|i| i.is_publicly_accessible)
        .unwrap_or(true);
    if public {
        return Err(ApiError::state(format!(
            "You can't create a VPC ingress connection for service {service_arn}: the service is publicly accessible (set NetworkConfiguration.IngressConfiguration.IsPubliclyAccessible to false first)"
        )));
    }
    let live = |c: &&VpcIngress| c.status != IngressStatus::Deleted;
    if let Some(existing) = ctx
        .state
        .vpc_ingress
        .iter()
        .filter(live)
        .find(|c| c.service_arn == service_arn)
    {
        return Err(ApiError::state(format!(
            "Service {service_arn} already has a VPC ingress connection: {}",
            existing.arn
        )));
    }
    if ctx
        .state
        .vpc_ingress
        .iter()
        .filter(live)
        .any(|c| c.name == name)
    {
        return Err(ApiError::invalid(format!(
            "A VPC ingress connection with the provided name already exists: {name}"
        )));
    }
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.vpc_ingress_arn(&name, &id);
    let domain_name = ctx.state.service_url(&ctx.settings.scope.region);
    ctx.state.vpc_ingress.push(VpcIngress {
        arn: arn.clone(),
        name,
        service_arn,
        vpc_id: config.vpc_id.unwrap_or_default(),
        vpc_endpoint_id: config.vpc_endpoint_id.unwrap_or_default(),
        domain_name,
        status: IngressStatus::PendingCreation,
        created_at: ctx.now,
        deleted_at: None,
        pending_ends_at: None,
        outcome: Outcome::Succeed,
    });
    crate::tags::set(ctx.state, &arn, &tags);
    let i = ctx.state.vpc_ingress.len() - 1;
    begin(ctx, i, IngressStatus::PendingCreation);
    Ok(answer(ctx, i))
}

/// `UpdateVpcIngressConnection`: only `IngressVpcConfiguration` changes.
pub(crate) fn update(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: UpdateVpcIngressConnectionInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(
        &mut v,
        input.vpc_ingress_connection_arn.as_ref(),
        "vpcIngressConnectionArn",
    );
    check_config(&mut v, input.ingress_vpc_configuration.as_ref());
    v.finish()?;
    let arn = input.vpc_ingress_connection_arn.unwrap_or_default();
    let i = find_live(ctx, &arn)?;
    let status = ctx.state.vpc_ingress[i].status;
    if !matches!(
        status,
        IngressStatus::Available | IngressStatus::FailedCreation | IngressStatus::FailedUpdate
    ) {
        return Err(ApiError::state(format!(
            "You can't update VPC ingress connection {arn} in status {}; it must be AVAILABLE, FAILED_CREATION or FAILED_UPDATE",
            status.as_str()
        )));
    }
    let config = input.ingress_vpc_configuration.unwrap_or_default();
    let c = &mut ctx.state.vpc_ingress[i];
    c.vpc_id = config.vpc_id.unwrap_or_default();
    c.vpc_endpoint_id = config.vpc_endpoint_id.unwrap_or_default();
    begin(ctx, i, IngressStatus::PendingUpdate);
    Ok(answer(ctx, i))
}

/// `DeleteVpcIngressConnection`.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: VpcIngressConnectionArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(
        &mut v,
        input.vpc_ingress_connection_arn.as_ref(),
        "vpcIngressConnectionArn",
    );
    v.finish()?;
    let arn = input.vpc_ingress_connection_arn.unwrap_or_default();
    let i = find_live(ctx, &arn)?;
    let status = ctx.state.vpc_ingress[i].status;
    if !matches!(
        status,
        IngressStatus::Available
            | IngressStatus::FailedCreation
            | IngressStatus::FailedUpdate
            | IngressStatus::FailedDeletion
    ) {
        return Err(ApiError::state(format!(
            "You can't delete VPC ingress connection {arn} in status {}; it must be AVAILABLE, FAILED_CREATION, FAILED_UPDATE or FAILED_DELETION",
            status.as_str()
        )));
    }
    begin(ctx, i, IngressStatus::PendingDeletion);
    Ok(answer(ctx, i))
}

/// `DescribeVpcIngressConnection` (deleted connections too).
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: VpcIngressConnectionArnInput = parse(body)?;
    let mut v = Violations::new();
    check_arn(
        &mut v,
        input.vpc_ingress_connection_arn.as_ref(),
        "vpcIngressConnectionArn",
    );
    v.finish()?;
    let arn = input.vpc_ingress_connection_arn.unwrap_or_default();
    let i = find(ctx, &arn)?;
    Ok(answer(ctx, i))
}

/// `ListVpcIngressConnections`: connections not deleted, oldest first.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListVpcIngressConnectionsInput = parse(body)?;
    let mut v = Violations::new();
    let filter = input.filter.unwrap_or_default();
    if let Some(arn) = &filter.service_arn {
        v.resource_arn(arn, "filter.serviceArn");
    }
    v.max_results(input.max_results, 100);
    v.finish()?;
    let items: Vec<Value> = ctx
        .state
        .vpc_ingress
        .iter()
        .filter(|c| c.status != IngressStatus::Deleted)
        .filter(|c| {
            filter
                .service_arn
                .as_ref()
                .is_none_or(|a| *a == c.service_arn)
        })
        .filter(|c| {
            filter
                .vpc_endpoint_id
                .as_ref()
                .is_none_or(|e| *e == c.vpc_endpoint_id)
        })
        .map(|c| json!({ "VpcIngressConnectionArn": c.arn, "ServiceArn": c.service_arn }))
        .collect();
    let (page, next) = paginate(&items, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "VpcIngressConnectionSummaryList": page, "NextToken": next }),
    ))
}

/// Whether `arn` names a VPC ingress connection: `Some(deleted)` if it does.
pub(crate) fn is_deleted(state: &State, arn: &str) -> Option<bool> {
    state
        .vpc_ingress
        .iter()
        .rfind(|c| c.arn == arn)
        .map(|c| c.status == IngressStatus::Deleted)
}
