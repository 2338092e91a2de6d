//! What discover takes in: the services in scope, what a service uses,
//! what a Terraform state names, and whose a resource is.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use apprun_schema::Kind;
use serde_json::Value;

use super::Filters;
use crate::discover::terraform::{TerraformId, TerraformInventory};
use crate::ops::OpError;
use crate::provider::{Provider, ProviderError, STACK_TAG};

/// The tag CloudFormation (and so Copilot) puts on what it manages.
pub const CLOUDFORMATION_TAG: &str = "aws:cloudformation:stack-name";

/// Why a resource with `tags` is not adopted into `stack`, if it is not.
pub(super) fn not_ours(
    tags: &BTreeMap<String, String>,
    stack: &str,
    include_managed: bool,
) -> Option<String> {
    if let Some(owner) = tags.get(STACK_TAG).filter(|s| *s != stack) {
        return Some(format!(
            "it belongs to the apprun stack `{owner}` (its `{STACK_TAG}` tag)"
        ));
    }
    match tags.get(CLOUDFORMATION_TAG) {
        Some(cfn) if !include_managed => Some(format!(
            "CloudFormation stack `{cfn}` manages it (Copilot's too); --include-managed adopts it anyway"
        )),
        _ => None,
    }
}

/// The account of an ARN.
pub(super) fn account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// The ECR repository name of a private image of `account`, if it is one.
pub(super) fn repository_of<'a>(image: &'a str, account: &str) -> Option<&'a str> {
    let (host, rest) = image.split_once('/')?;
    if !host.starts_with(&format!("{account}.dkr.ecr.")) {
        return None;
    }
    let end = rest.find([':', '@']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether an ARN names App Runner's own `DefaultConfiguration`.
pub(super) fn is_default_configuration(arn: &str) -> bool {
    arn.contains("configuration/DefaultConfiguration/") || arn.ends_with("/DefaultConfiguration")
}

/// The resources a service uses (kind, id to read), from its attributes.
pub(super) fn used_by(service: &Value) -> Vec<(Kind, String, &'static str)> {
    let text = |k: &str| service.get(k).and_then(Value::as_str);
    let mut out = Vec::new();
    for (field, kind) in [
        ("access_role", Kind::Role),
        ("instance_role", Kind::Role),
        ("autoscaling", Kind::AutoScaling),
        ("vpc_connector", Kind::VpcConnector),
        ("observability", Kind::Observability),
    ] {
        if let Some(id) = text(field).filter(|a| !is_default_configuration(a)) {
            out.push((kind, id.to_owned(), field));
        }
    }
    if let Some(c) = service.pointer("/code/connection").and_then(Value::as_str) {
        out.push((Kind::Connection, c.to_owned(), "code.connection"));
    }
    out
}

/// The services in scope: listed and filtered, or named.
pub(super) async fn services_in_scope<P: Provider + 'static>(
    provider: &Arc<P>,
    filters: &Filters,
) -> Result<Vec<String>, OpError> {
    let listed = provider.list_services().await?;
    let mut arns: Vec<String> = listed
        .into_iter()
        .filter(|s| {
            filters
                .name_prefix
                .as_ref()
                .is_none_or(|p| s.name.starts_with(p.as_str()))
        })
        .filter(|s| filters.services.is_empty() || filters.services.contains(&s.id))
        .map(|s| s.id)
        .collect();
    for wanted in &filters.services {
        if !arns.contains(wanted) && filters.name_prefix.is_none() {
            return Err(ProviderError::NotFound {
                what: format!("service {wanted}"),
            }
            .into());
        }
    }
    if filters.tags.is_empty() {
        return Ok(arns);
    }
    // The tags of every listed service, a few at a time.
    let limit = Arc::new(tokio::sync::Semaphore::new(super::reading::CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for arn in arns.drain(..) {
        let (provider, limit) = (provider.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let tags = provider.all_tags(Kind::Service, &arn).await;
            (arn, tags)
        });
    }
    let mut tagged = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((arn, tags)) = joined else {
            continue;
        };
        if filters
            .tags
            .iter()
            .all(|(k, v)| tags.as_ref().ok().and_then(|t| t.get(k)) == Some(v))
        {
            tagged.push(arn);
        } else if let Err(error) = tags {
            return Err(error.into());
        }
    }
    tagged.sort();
    Ok(tagged)
}

/// What a Terraform state's taken resources are read by.
pub(super) fn terraform_seeds(inventory: &TerraformInventory) -> Vec<(Kind, String)> {
    let mut out = BTreeSet::new();
    for r in &inventory.taken {
        let seed = match &r.id {
            TerraformId::Service { arn } => (Kind::Service, arn.clone()),
            TerraformId::AutoScaling { arn } => (Kind::AutoScaling, arn.clone()),
            TerraformId::DefaultAutoScaling {
                auto_scaling_configuration_arn,
            } => (Kind::AutoScaling, auto_scaling_configuration_arn.clone()),
            TerraformId::VpcConnector { arn } => (Kind::VpcConnector, arn.clone()),
            TerraformId::Observability { arn } => (Kind::Observability, arn.clone()),
            TerraformId::Connection { arn } => (Kind::Connection, arn.clone()),
            TerraformId::CustomDomain {
                domain_name,
                service_arn,
            } => (Kind::Domain, format!("{service_arn}#{domain_name}")),
            TerraformId::VpcIngress { arn } => (Kind::VpcIngress, arn.clone()),
            TerraformId::Role { name, arn } => (Kind::Role, arn.clone().unwrap_or(name.clone())),
            TerraformId::RolePolicy { role, .. }
            | TerraformId::RolePolicyAttachment { role, .. } => (Kind::Role, role.clone()),
            TerraformId::Repository { name, arn, .. } => {
                (Kind::Repository, arn.clone().unwrap_or(name.clone()))
            }
        };
        out.insert(seed);
    }
    out.into_iter().collect()
}

/// Reads the Terraform state or `terraform show -json` output at `path`
/// (`-`: standard input).
pub fn read_terraform_file(path: &std::path::Path) -> Result<TerraformInventory, OpError> {
    use std::io::Read;
    let mut text = String::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|source| OpError::ReadFile {
        what: "Terraform file",
        path: path.to_path_buf(),
        source,
        help: "pass a state file (terraform.tfstate) or `terraform show -json` output".into(),
    })?;
    Ok(crate::discover::terraform::read_terraform(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_private_ecr_image_of_the_account_names_its_repository() {
        let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:v1";
        assert_eq!(repository_of(image, "123456789012"), Some("team/web"));
        assert_eq!(repository_of(image, "999999999999"), None);
        assert_eq!(
            repository_of("public.ecr.aws/nginx/nginx:latest", "123456789012"),
            None
        );
    }

    #[test]
    fn cloudformation_and_other_stacks_keep_what_they_manage() {
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(not_ours(&tags(CLOUDFORMATION_TAG, "copilot-app"), "shop", false).is_some());
        assert!(not_ours(&tags(CLOUDFORMATION_TAG, "copilot-app"), "shop", true).is_none());
        assert!(not_ours(&tags(STACK_TAG, "other"), "shop", true).is_some());
        assert!(not_ours(&tags(STACK_TAG, "shop"), "shop", false).is_none());
    }

    #[test]
    fn app_runner_defaults_are_not_followed() {
        let service = json!({
            "autoscaling": "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001",
            "access_role": "arn:aws:iam::123456789012:role/access",
        });
        let used = used_by(&service);
        assert_eq!(used.len(), 1);
        assert_eq!(used[0].0, Kind::Role);
    }
}
