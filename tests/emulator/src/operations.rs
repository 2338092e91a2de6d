//! Asynchronous service operations: starting one, letting the clock finish
//! it (success, failure, rollback), and `ListOperations`.
//!
//! Operations settle lazily: before each request the dispatcher calls
//! [`settle_all`] with the current time, and every operation whose end time
//! has passed is completed *at its end time*, not at the time it is noticed.
//! The result is identical whether the clock is virtual or real.

use serde_json::{Value, json};

use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::ListOperationsInput;
use crate::state::{
    Operation, OperationStatus, OperationType, Outcome, Pending, Phase, Service, ServiceSpec,
    ServiceStatus, Settings, State, paginate, strip_nulls,
};
use crate::validate::Violations;

/// The env var that makes a deployment of the service's configuration fail
/// (`true` or `rollback_failed`): a create ends `CREATE_FAILED`, an update
/// or deployment rolls back.
pub const FAIL_DEPLOYMENT_ENV: &str = "EMULATOR_FAIL_DEPLOYMENT";

/// Completes every operation whose end time is at or before `now`: of
/// services, VPC ingress connections and custom domains.
pub(crate) fn settle_all(state: &mut State, settings: &Settings, now: u64) {
    for service in &mut state.services {
        settle(service, now);
    }
    crate::vpc_ingress::settle(state, now);
    crate::custom_domains::settle(state, settings, now);
}

fn settle(service: &mut Service, now: u64) {
    while let Some(pending) = service.pending.clone() {
        if now < pending.phase_ends_at {
            break;
        }
        let at = pending.phase_ends_at;
        service.updated_at = at;
        let rolls_back = pending.kind.deploys() && pending.kind != OperationType::CreateService;
        let finish = |service: &mut Service, status: OperationStatus| {
            if let Some(op) = service
                .operations
                .iter_mut()
                .find(|o| o.id == pending.operation_id)
            {
                op.status = status;
                op.updated_at = at;
                if status != OperationStatus::RollbackInProgress {
                    op.ended_at = Some(at);
                }
            }
        };
        match (pending.phase, pending.outcome) {
            (Phase::Main, Outcome::Succeed) => {
                finish(service, OperationStatus::Succeeded);
                service.status = success_status(pending.kind, pending.previous_status);
                if pending.kind == OperationType::DeleteService {
                    service.deleted_at = Some(at);
                }
                service.pending = None;
            }
            (Phase::Main, Outcome::Fail | Outcome::RollbackFailed) if rolls_back => {
                finish(service, OperationStatus::RollbackInProgress);
                service.pending = Some(Pending {
                    phase: Phase::RollingBack,
                    phase_ends_at: at.saturating_add(pending.duration_ms),
                    ..pending
                });
            }
            (Phase::Main, Outcome::Fail | Outcome::RollbackFailed) => {
                finish(service, OperationStatus::Failed);
                service.status = match pending.kind {
                    OperationType::CreateService => ServiceStatus::CreateFailed,
                    OperationType::DeleteService => ServiceStatus::DeleteFailed,
                    _ => pending.previous_status,
                };
                service.pending = None;
            }
            (Phase::RollingBack, outcome) => {
                let status = if outcome == Outcome::RollbackFailed {
                    OperationStatus::RollbackFailed
                } else {
                    OperationStatus::RollbackSucceeded
                };
                finish(service, status);
                if let Some(previous) = pending.previous_spec {
                    service.spec = previous;
                }
                service.status = pending.previous_status;
                service.pending = None;
            }
        }
    }
}

fn success_status(kind: OperationType, previous: ServiceStatus) -> ServiceStatus {
    match kind {
        OperationType::CreateService
        | OperationType::StartDeployment
        | OperationType::ResumeService => ServiceStatus::Running,
        OperationType::UpdateService if previous == ServiceStatus::Paused => ServiceStatus::Paused,
        OperationType::UpdateService => ServiceStatus::Running,
        OperationType::PauseService => ServiceStatus::Paused,
        OperationType::DeleteService => ServiceStatus::Deleted,
    }
}

/// How the operation will end: a fault rule's scripted outcome wins, then
/// [`FAIL_DEPLOYMENT_ENV`] in the configuration being deployed.
pub(crate) fn outcome_for(
    kind: OperationType,
    scripted: Option<Outcome>,
    spec: &ServiceSpec,
) -> Outcome {
    if let Some(outcome) = scripted {
        return outcome;
    }
    if !kind.deploys() {
        return Outcome::Succeed;
    }
    match fail_env(spec).as_deref() {
        Some("true") => Outcome::Fail,
        Some("rollback_failed") => Outcome::RollbackFailed,
        _ => Outcome::Succeed,
    }
}

fn fail_env(spec: &ServiceSpec) -> Option<String> {
    let image_env = spec
        .source
        .image_repository
        .as_ref()
        .and_then(|i| i.image_configuration.as_ref())
        .and_then(|c| c.runtime_environment_variables.as_ref());
    let code_env = spec
        .source
        .code_repository
        .as_ref()
        .and_then(|c| c.code_configuration.as_ref())
        .and_then(|c| c.code_configuration_values.as_ref())
        .and_then(|v| v.runtime_environment_variables.as_ref());
    image_env
        .or(code_env)
        .and_then(|env| env.get(FAIL_DEPLOYMENT_ENV))
        .map(|v| v.to_ascii_lowercase())
}

/// Starts an operation on `service`; returns its id.
pub(crate) fn begin(
    ctx: &mut Ctx<'_>,
    service_index: usize,
    kind: OperationType,
    previous_spec: Option<ServiceSpec>,
) -> String {
    let id = ctx.state.uuid();
    let now = ctx.now;
    let duration = ctx.settings.operation_duration_ms;
    let Some(service) = ctx.state.services.get_mut(service_index) else {
        return id;
    };
    let outcome = outcome_for(kind, ctx.scripted, &service.spec);
    service.operations.push(Operation {
        id: id.clone(),
        kind,
        status: OperationStatus::InProgress,
        target_arn: service.arn.clone(),
        started_at: now,
        ended_at: None,
        updated_at: now,
    });
    service.pending = Some(Pending {
        operation_id: id.clone(),
        kind,
        phase: Phase::Main,
        phase_ends_at: now.saturating_add(duration),
        duration_ms: duration,
        outcome,
        previous_spec,
        previous_status: service.status,
    });
    service.status = ServiceStatus::OperationInProgress;
    service.updated_at = now;
    id
}

/// `ListOperations`: newest first, for services in any state (deleted too).
pub(crate) fn list_operations(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListOperationsInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(input.service_arn.as_ref(), "serviceArn")
        && let Some(arn) = &input.service_arn
    {
        v.resource_arn(arn, "serviceArn");
    }
    v.max_results(input.max_results, 20);
    v.finish()?;
    let arn = input.service_arn.unwrap_or_default();
    let service = crate::services::find(ctx.state, &ctx.settings.scope, &arn)?;
    let newest_first: Vec<Operation> = service.operations.iter().rev().cloned().collect();
    let (page, next) = paginate(
        &newest_first,
        input.next_token.as_deref(),
        input.max_results,
        20,
    )?;
    let list: Vec<Value> = page.iter().map(render).collect();
    Ok(strip_nulls(
        json!({ "OperationSummaryList": list, "NextToken": next }),
    ))
}

/// An `OperationSummary`.
fn render(op: &Operation) -> Value {
    json!({
        "Id": op.id,
        "Type": op.kind.as_str(),
        "Status": op.status.as_str(),
        "TargetArn": op.target_arn,
        "StartedAt": epoch_seconds(op.started_at),
        "EndedAt": op.ended_at.map(epoch_seconds),
        "UpdatedAt": epoch_seconds(op.updated_at),
    })
}
