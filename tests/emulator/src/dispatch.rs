//! Routes an App Runner operation name to its handler, with the request's
//! context (state, settings, time, scripted outcome).

use std::sync::LazyLock;

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::{Outcome, Settings, State};
use crate::{
    autoscaling, connections, custom_domains, observability, operations, services, tags,
    vpc_connectors, vpc_ingress,
};

/// What a handler works with.
pub(crate) struct Ctx<'a> {
    pub state: &'a mut State,
    pub settings: &'a Settings,
    /// The clock's time for this request, in epoch milliseconds.
    pub now: u64,
    /// An outcome a fault rule scripted for the operation this request starts.
    pub scripted: Option<Outcome>,
}

/// Every operation of the App Runner API (2020-05-15).
pub(crate) const ALL_OPERATIONS: &[&str] = &[
    "AssociateCustomDomain",
    "CreateAutoScalingConfiguration",
    "CreateConnection",
    "CreateObservabilityConfiguration",
    "CreateService",
    "CreateVpcConnector",
    "CreateVpcIngressConnection",
    "DeleteAutoScalingConfiguration",
    "DeleteConnection",
    "DeleteObservabilityConfiguration",
    "DeleteService",
    "DeleteVpcConnector",
    "DeleteVpcIngressConnection",
    "DescribeAutoScalingConfiguration",
    "DescribeCustomDomains",
    "DescribeObservabilityConfiguration",
    "DescribeService",
    "DescribeVpcConnector",
    "DescribeVpcIngressConnection",
    "DisassociateCustomDomain",
    "ListAutoScalingConfigurations",
    "ListConnections",
    "ListObservabilityConfigurations",
    "ListOperations",
    "ListServices",
    "ListServicesForAutoScalingConfiguration",
    "ListTagsForResource",
    "ListVpcConnectors",
    "ListVpcIngressConnections",
    "PauseService",
    "ResumeService",
    "StartDeployment",
    "TagResource",
    "UntagResource",
    "UpdateDefaultAutoScalingConfiguration",
    "UpdateService",
    "UpdateVpcIngressConnection",
];

/// The operations that start an asynchronous operation (of a service, or
/// of a VPC ingress connection), whose outcome fault rules may script.
pub(crate) const ASYNC_OPERATIONS: &[&str] = &[
    "CreateVpcIngressConnection",
    "UpdateVpcIngressConnection",
    "DeleteVpcIngressConnection",
    "CreateService",
    "UpdateService",
    "DeleteService",
    "PauseService",
    "ResumeService",
    "StartDeployment",
];

type Handler = fn(&mut Ctx<'_>, Value) -> Result<Value, ApiError>;

fn handler(operation: &str) -> Option<Handler> {
    Some(match operation {
        "CreateService" => services::create,
        "DescribeService" => services::describe,
        "ListServices" => services::list,
        "UpdateService" => services::update,
        "DeleteService" => services::delete,
        "PauseService" => services::pause,
        "ResumeService" => services::resume,
        "StartDeployment" => services::start_deployment,
        "ListOperations" => operations::list_operations,
        "CreateAutoScalingConfiguration" => autoscaling::create,
        "DescribeAutoScalingConfiguration" => autoscaling::describe,
        "ListAutoScalingConfigurations" => autoscaling::list,
        "DeleteAutoScalingConfiguration" => autoscaling::delete,
        "UpdateDefaultAutoScalingConfiguration" => autoscaling::update_default,
        "ListServicesForAutoScalingConfiguration" => autoscaling::list_services,
        "CreateVpcConnector" => vpc_connectors::create,
        "DescribeVpcConnector" => vpc_connectors::describe,
        "ListVpcConnectors" => vpc_connectors::list,
        "DeleteVpcConnector" => vpc_connectors::delete,
        "CreateObservabilityConfiguration" => observability::create,
        "DescribeObservabilityConfiguration" => observability::describe,
        "ListObservabilityConfigurations" => observability::list,
        "DeleteObservabilityConfiguration" => observability::delete,
        "CreateVpcIngressConnection" => vpc_ingress::create,
        "UpdateVpcIngressConnection" => vpc_ingress::update,
        "DeleteVpcIngressConnection" => vpc_ingress::delete,
        "DescribeVpcIngressConnection" => vpc_ingress::describe,
        "ListVpcIngressConnections" => vpc_ingress::list,
        "AssociateCustomDomain" => custom_domains::associate,
        "DescribeCustomDomains" => custom_domains::describe,
        "DisassociateCustomDomain" => custom_domains::disassociate,
        "CreateConnection" => connections::create,
        "ListConnections" => connections::list,
        "DeleteConnection" => connections::delete,
        "TagResource" => tags::tag,
        "UntagResource" => tags::untag,
        "ListTagsForResource" => tags::list,
        _ => return None,
    })
}

/// Resolves the `X-Amz-Target` header to an operation name.
pub(crate) fn operation_of(target: Option<&str>) -> Result<String, ApiError> {
    let target = target.unwrap_or_default();
    match target.strip_prefix("AppRunner.") {
        Some(op) if ALL_OPERATIONS.contains(&op) => Ok(op.to_owned()),
        _ => Err(ApiError::UnknownOperation(format!(
            "Unknown operation: X-Amz-Target `{}`",
            target.chars().take(200).collect::<String>()
        ))),
    }
}

/// Runs one operation. The caller has settled the clock on `ctx.state`.
pub(crate) fn dispatch(operation: &str, ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::Serialization(
            "The request body must be a JSON object".to_owned(),
        ));
    }
    match handler(operation) {
        Some(h) => h(ctx, body),
        None => Err(ApiError::invalid(format!(
            "{operation} is a valid App Runner operation that apprunner-emulator does not implement"
        ))),
    }
}

static QUOTED: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r#""[^"]*"|`[^`]*`"#).ok());

/// Deserialises a request body; type mismatches are `SerializationException`s
/// whose message carries no value from the request.
pub(crate) fn parse<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| {
        let text = e.to_string();
        let safe = match QUOTED.as_ref() {
            Some(re) => re.replace_all(&text, "'***'").into_owned(),
            None => "a member has the wrong type".to_owned(),
        };
        ApiError::Serialization(format!("Failed to deserialize the request: {safe}"))
    })
}
