//! `deploy`: a new deployment of what the stack already declares for one or
//! more services (App Runner `StartDeployment`: the image pushed again
//! under the same tag, the latest commit; Docker: rebuild or re-pull and
//! roll the replicas). It waits like apply, and records the deployment in
//! the service's outputs (`last_deployment`: time, operation id, image
//! digest), which plans and drift do not compare.
//!
//! A service whose stack differs from what was applied is refused: apply
//! is what deploys a changed declaration.

use std::collections::BTreeMap;
use std::sync::Arc;

use apprun_schema::{Address, Kind};
use apprun_state::Snapshot;
use serde_json::{Value, json};

use super::{Hooks, OpError, Workspace};
use crate::desired::{DesiredResource, desired};
use crate::live::Deployment;
use crate::plan::{
    Action, PlanInput, PlanOptions, dependency_outputs, plan, recorded_known_outputs,
    resolve_references, stack_digest,
};
use crate::provider::{Created, Provider, ProviderError, ResourceRequest};

/// How one service's deployment went.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The service.
    pub address: Address,
    /// What the deployment did, or why it failed.
    pub result: Result<Deployment, ProviderError>,
}

/// Checks that every address names a service of the stack; returns them.
pub fn services(
    ws: &Workspace<'_>,
    addresses: &[String],
    command: &str,
) -> Result<Vec<Address>, OpError> {
    let declared: Vec<String> = ws
        .stack
        .services
        .keys()
        .map(|k| format!("services.{k}"))
        .collect();
    addresses
        .iter()
        .map(|text| match Address::parse(text) {
            Some(address)
                if address.kind == Kind::Service
                    && ws.stack.services.contains_key(&address.name) =>
            {
                Ok(address)
            }
            _ => Err(OpError::NotAService {
                address: text.clone(),
                command: command.to_owned(),
                declared: if declared.is_empty() {
                    "the stack declares none".to_owned()
                } else {
                    format!("the stack declares {}", declared.join(", "))
                },
            }),
        })
        .collect()
}

/// Deploys each of `addresses` (services of the stack) again, concurrently,
/// under the state lock; each result is reported, and recorded when it
/// succeeded.
pub async fn deploy<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    addresses: &[String],
    hooks: &dyn Hooks,
) -> Result<Vec<Deployed>, OpError> {
    let services = services(ws, addresses, "deploy")?;
    let _lock = ws.lock("deploy", None, hooks)?;
    let mut journal = ws.journal()?;
    let state = journal.snapshot().clone();
    let requests = prepare(ws, &state, &services)?;
    provider.preflight().await?;
    let mut tasks = tokio::task::JoinSet::new();
    for prepared in requests {
        let provider = provider.clone();
        let progress = hooks.progress();
        let stack = ws.stack_name().to_owned();
        tasks.spawn(async move {
            let request = ResourceRequest {
                stack: &stack,
                address: &prepared.desired.address,
                name: &prepared.desired.name,
                attributes: &prepared.resolved,
                dependencies: &prepared.dependencies,
                progress,
                created: Created::ignore(),
            };
            let result = provider.deploy(&prepared.physical_id, &request).await;
            Deployed {
                address: prepared.desired.address.clone(),
                result,
            }
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(deployed) = joined {
            results.push(deployed);
        }
    }
    results.sort_by(|a, b| a.address.cmp(&b.address));
    let at = apprun_state::now_rfc3339();
    journal.update(|snapshot| {
        for deployed in &results {
            if let Ok(deployment) = &deployed.result {
                record(snapshot, &deployed.address, deployment, &at);
            }
        }
    })?;
    Ok(results)
}

/// What one deployment sends: the service as apply would send it.
struct Prepared {
    desired: DesiredResource,
    physical_id: String,
    resolved: Value,
    dependencies: BTreeMap<Address, BTreeMap<String, Value>>,
}

/// The request of each service, refusing one not applied or changed since.
fn prepare(
    ws: &Workspace<'_>,
    state: &Snapshot,
    services: &[Address],
) -> Result<Vec<Prepared>, OpError> {
    let digest = stack_digest(ws.text, ws.stack);
    let planned = plan(PlanInput {
        stack: ws.stack,
        target: ws.target,
        state: Some(state),
        observed: None,
        options: &PlanOptions::default(),
        stack_digest: &digest,
    });
    let known = recorded_known_outputs(state);
    let all = desired(ws.stack);
    services
        .iter()
        .map(|address| {
            let record = state
                .resource(&address.to_string())
                .filter(|r| r.physical_id.is_some())
                .ok_or_else(|| OpError::NotApplied {
                    address: address.to_string(),
                })?;
            if let Some(change) = planned
                .changes
                .iter()
                .find(|c| &c.address == address && c.action != Action::NoOp)
            {
                let mut fields: Vec<&str> =
                    change.attributes.iter().map(|a| a.path.as_str()).collect();
                fields.truncate(5);
                return Err(OpError::UnappliedChanges {
                    address: address.to_string(),
                    changes: if fields.is_empty() {
                        format!("apply would {} it", change.action.name())
                    } else {
                        format!("{} differ", fields.join(", "))
                    },
                });
            }
            let desired = all
                .iter()
                .find(|d| &d.address == address)
                .cloned()
                .ok_or_else(|| OpError::NotApplied {
                    address: address.to_string(),
                })?;
            let dependencies = dependency_outputs(&desired, &known);
            Ok(Prepared {
                resolved: resolve_references(&desired.attributes, &known),
                physical_id: record.physical_id.clone().unwrap_or_default(),
                dependencies,
                desired,
            })
        })
        .collect()
}

/// Records a deployment in the service's outputs.
fn record(snapshot: &mut Snapshot, address: &Address, deployment: &Deployment, at: &str) {
    let Some(mut resource) = snapshot.resource(&address.to_string()).cloned() else {
        return;
    };
    resource.outputs.insert(
        "last_deployment".to_owned(),
        json!({
            "at": at,
            "operation_id": deployment.operation_id,
            "image_digest": deployment.image_digest,
        }),
    );
    snapshot.upsert(resource);
}
