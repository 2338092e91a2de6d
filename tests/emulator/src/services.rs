//! Service operations: `CreateService`, `DescribeService`, `ListServices`,
//! `UpdateService`, `DeleteService`, `PauseService`, `ResumeService`,
//! `StartDeployment`, and the rendering of a `Service`.
//!
//! Status rules (API docs and community reports, see APPRUNNER.md):
//! update needs `RUNNING`, `PAUSED` or `CREATE_FAILED`; pause needs
//! `RUNNING`; resume needs `PAUSED`; a deployment needs `RUNNING`; delete is
//! refused while an operation is in progress, and while the service has a
//! VPC ingress connection (not `DELETED` or `FAILED_CREATION`). A `DELETED` service is
//! visible to `DescribeService` and `ListOperations` only.

use serde_json::{Value, json};

use crate::arn::{Resource, Scope};
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{CreateServiceInput, PageInput, ServiceArnInput, UpdateServiceInput};
use crate::operations::begin;
use crate::service_spec::{self, Members};
use crate::state::{OperationType, Service, ServiceStatus, State, paginate, strip_nulls};
use crate::validate::{self, Violations};

/// Finds a service by ARN (any status, deleted included).
pub(crate) fn find<'s>(
    state: &'s State,
    scope: &Scope,
    arn: &str,
) -> Result<&'s Service, ApiError> {
    find_index(state, scope, arn).map(|i| &state.services[i])
}

/// The index of a service by ARN (any status, deleted included).
pub(crate) fn find_index(state: &State, scope: &Scope, arn: &str) -> Result<usize, ApiError> {
    let not_found = || ApiError::not_found(format!("Service not found: {arn}"));
    match scope.parse(arn) {
        Some(Resource::Service { .. }) => {}
        _ => return Err(not_found()),
    }
    // Most recent first: a name can be reused after a deletion, ids never.
    state
        .services
        .iter()
        .rposition(|s| s.arn == arn)
        .ok_or_else(not_found)
}

/// Finds a service a mutation may target: deleted services are gone.
fn find_live(ctx: &Ctx<'_>, arn: &str) -> Result<usize, ApiError> {
    let i = find_index(ctx.state, &ctx.settings.scope, arn)?;
    if ctx.state.services[i].status == ServiceStatus::Deleted {
        return Err(ApiError::not_found(format!(
            "Service not found: {arn} (deleted)"
        )));
    }
    Ok(i)
}

fn check_service_arn(arn: Option<&String>) -> Result<String, ApiError> {
    let mut v = Violations::new();
    if v.required(arn, "serviceArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "serviceArn");
    }
    v.finish()?;
    Ok(arn.cloned().unwrap_or_default())
}

/// `CreateService`.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateServiceInput = parse(body)?;
    let members = Members {
        source: input.source_configuration,
        instance: input.instance_configuration,
        health: input.health_check_configuration,
        auto_scaling_arn: input.auto_scaling_configuration_arn,
        network: input.network_configuration,
        observability: input.observability_configuration,
        encryption: input.encryption_configuration,
    };
    let mut v = Violations::new();
    if v.required(input.service_name.as_ref(), "serviceName")
        && let Some(name) = &input.service_name
    {
        v.string(name, "serviceName", 4, 40, &validate::SERVICE_NAME);
    }
    v.required(members.source.as_ref(), "sourceConfiguration");
    service_spec::check_shapes(&mut v, &members);
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;

    let name = input.service_name.unwrap_or_default();
    let spec = service_spec::build(ctx.state, &ctx.settings.scope, members, None)?;
    let live = ctx
        .state
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Deleted);
    if live.clone().any(|s| s.name == name) {
        return Err(ApiError::invalid(format!(
            "Service with the provided name already exists: {name}"
        )));
    }
    if live.count() >= ctx.settings.max_services {
        return Err(ApiError::QuotaExceeded(format!(
            "You have reached the maximum number of services ({}) in this account and region",
            ctx.settings.max_services
        )));
    }
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.service_arn(&name, &id);
    let url = ctx.state.service_url(&ctx.settings.scope.region);
    ctx.state.services.push(Service {
        name,
        id,
        arn: arn.clone(),
        url,
        created_at: ctx.now,
        updated_at: ctx.now,
        deleted_at: None,
        status: ServiceStatus::OperationInProgress,
        spec,
        operations: Vec::new(),
        pending: None,
    });
    crate::tags::set(ctx.state, &arn, &tags);
    let index = ctx.state.services.len() - 1;
    let operation_id = begin(ctx, index, OperationType::CreateService, None);
    Ok(
        json!({ "Service": render(ctx.state, &ctx.state.services[index]), "OperationId": operation_id }),
    )
}

/// `DescribeService`.
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ServiceArnInput = parse(body)?;
    let arn = check_service_arn(input.service_arn.as_ref())?;
    let service = find(ctx.state, &ctx.settings.scope, &arn)?;
    Ok(json!({ "Service": render(ctx.state, service) }))
}

/// `ListServices`: every service not deleted, oldest first.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: PageInput = parse(body)?;
    let mut v = Violations::new();
    v.max_results(input.max_results, 20);
    v.finish()?;
    let live: Vec<&Service> = ctx
        .state
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Deleted)
        .collect();
    let (page, next) = paginate(&live, input.next_token.as_deref(), input.max_results, 20)?;
    let list: Vec<Value> = page
        .iter()
        .map(|s| {
            json!({
                "ServiceName": s.name,
                "ServiceId": s.id,
                "ServiceArn": s.arn,
                "ServiceUrl": s.url,
                "CreatedAt": epoch_seconds(s.created_at),
                "UpdatedAt": epoch_seconds(s.updated_at),
                "Status": s.status.as_str(),
            })
        })
        .collect();
    Ok(strip_nulls(
        json!({ "ServiceSummaryList": list, "NextToken": next }),
    ))
}

/// `UpdateService`.
pub(crate) fn update(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: UpdateServiceInput = parse(body)?;
    let members = Members {
        source: input.source_configuration,
        instance: input.instance_configuration,
        health: input.health_check_configuration,
        auto_scaling_arn: input.auto_scaling_configuration_arn,
        network: input.network_configuration,
        observability: input.observability_configuration,
        encryption: None,
    };
    let mut v = Violations::new();
    if v.required(input.service_arn.as_ref(), "serviceArn")
        && let Some(arn) = &input.service_arn
    {
        v.resource_arn(arn, "serviceArn");
    }
    service_spec::check_shapes(&mut v, &members);
    v.finish()?;
    let arn = input.service_arn.unwrap_or_default();
    let index = find_live(ctx, &arn)?;
    if members.is_empty() {
        return Err(ApiError::invalid(
            "No configurations provided in the UpdateService request",
        ));
    }
    let service = &ctx.state.services[index];
    match service.status {
        ServiceStatus::Running | ServiceStatus::Paused | ServiceStatus::CreateFailed => {}
        other => {
            return Err(ApiError::state(format!(
                "Service status must be RUNNING or PAUSED to be updated (service {arn} is {})",
                other.as_str()
            )));
        }
    }
    let previous = service.spec.clone();
    let spec = service_spec::build(ctx.state, &ctx.settings.scope, members, Some(&previous))?;
    ctx.state.services[index].spec = spec;
    let operation_id = begin(ctx, index, OperationType::UpdateService, Some(previous));
    Ok(
        json!({ "Service": render(ctx.state, &ctx.state.services[index]), "OperationId": operation_id }),
    )
}

/// `DeleteService`.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    transition(ctx, body, OperationType::DeleteService)
}

/// `PauseService`.
pub(crate) fn pause(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    transition(ctx, body, OperationType::PauseService)
}

/// `ResumeService`.
pub(crate) fn resume(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    transition(ctx, body, OperationType::ResumeService)
}

/// `StartDeployment`: answers only the `OperationId`.
pub(crate) fn start_deployment(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let mut out = transition(ctx, body, OperationType::StartDeployment)?;
    if let Value::Object(map) = &mut out {
        map.remove("Service");
    }
    Ok(out)
}

fn transition(ctx: &mut Ctx<'_>, body: Value, kind: OperationType) -> Result<Value, ApiError> {
    let input: ServiceArnInput = parse(body)?;
    let arn = check_service_arn(input.service_arn.as_ref())?;
    let index = find_live(ctx, &arn)?;
    let status = ctx.state.services[index].status;
    let allowed = match kind {
        OperationType::DeleteService => status != ServiceStatus::OperationInProgress,
        OperationType::PauseService | OperationType::StartDeployment => {
            status == ServiceStatus::Running
        }
        OperationType::ResumeService => status == ServiceStatus::Paused,
        OperationType::CreateService | OperationType::UpdateService => false,
    };
    if kind == OperationType::DeleteService
        && let Some(ingress) = crate::vpc_ingress::blocks_service_deletion(ctx.state, &arn)
    {
        return Err(ApiError::state(format!(
            "You can't delete service {arn} while it has VPC ingress connection {ingress}; delete the VPC ingress connection first"
        )));
    }
    if !allowed {
        let needed = match kind {
            OperationType::DeleteService => "not OPERATION_IN_PROGRESS",
            OperationType::ResumeService => "PAUSED",
            _ => "RUNNING",
        };
        return Err(ApiError::state(format!(
            "You can't perform this action when the resource is in its current state: service {arn} is {}, and {} needs it {needed}",
            status.as_str(),
            kind.as_str()
        )));
    }
    let operation_id = begin(ctx, index, kind, None);
    Ok(
        json!({ "Service": render(ctx.state, &ctx.state.services[index]), "OperationId": operation_id }),
    )
}

/// A `Service` with every required member (and the defaults the service fills in).
pub(crate) fn render(state: &State, s: &Service) -> Value {
    let summary = crate::autoscaling::summary_of(state, &s.spec.auto_scaling_arn);
    strip_nulls(json!({
        "ServiceName": s.name,
        "ServiceId": s.id,
        "ServiceArn": s.arn,
        "ServiceUrl": s.url,
        "CreatedAt": epoch_seconds(s.created_at),
        "UpdatedAt": epoch_seconds(s.updated_at),
        "DeletedAt": s.deleted_at.map(epoch_seconds),
        "Status": s.status.as_str(),
        "SourceConfiguration": s.spec.source,
        "InstanceConfiguration": s.spec.instance,
        "EncryptionConfiguration": s.spec.encryption,
        "HealthCheckConfiguration": s.spec.health,
        "AutoScalingConfigurationSummary": summary,
        "NetworkConfiguration": s.spec.network,
        "ObservabilityConfiguration": s.spec.observability,
    }))
}
