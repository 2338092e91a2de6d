//! ECR repositories: scan on push, tag mutability, a lifecycle policy built
//! from `keep_last` / `expire_untagged_after_days`, tags.

use apprun_engine::attributes::{LifecycleAttributes, RepositoryAttributes};
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::Address;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};
use serde_json::{Map, Value, json};

use crate::attrs::{applied_by_arn, invalid, str_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, FoundExt, SdkResultExt};
use crate::retry;
use crate::tags;

/// The repository name in an ECR ARN (`…:repository/team/web` -> `team/web`).
fn name_of(arn: &str) -> &str {
    arn.split_once(":repository/").map_or(arn, |(_, n)| n)
}

/// The lifecycle policy text for `lifecycle {keep_last, expire_untagged_after_days}`.
pub(crate) fn lifecycle_policy(lifecycle: &LifecycleAttributes) -> Option<String> {
    let mut rules = Vec::new();
    if let Some(days) = lifecycle.expire_untagged_after_days {
        rules.push(json!({
            "rulePriority": rules.len() + 1,
            "description": format!("expire untagged images after {days} days"),
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
            "action": {"type": "expire"},
        }));
    }
    if let Some(keep) = lifecycle.keep_last {
        // A rule on `any` must come last.
        rules.push(json!({
            "rulePriority": rules.len() + 1,
            "description": format!("keep the last {keep} images"),
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
            "action": {"type": "expire"},
        }));
    }
    (!rules.is_empty()).then(|| json!({ "rules": rules }).to_string())
}

/// `lifecycle {…}` back from a policy text (only the rules we write).
pub(crate) fn lifecycle_from_policy(text: &str) -> Option<Value> {
    let policy: Value = serde_json::from_str(text).ok()?;
    let mut l = Map::new();
    for rule in policy.get("rules")?.as_array()? {
        let sel = rule.get("selection")?;
        match (str_at(sel, "tagStatus"), str_at(sel, "countType")) {
            (Some("untagged"), Some("sinceImagePushed")) => {
                l.insert(
                    "expire_untagged_after_days".into(),
                    sel.get("countNumber")?.clone(),
                );
            }
            (Some("any"), Some("imageCountMoreThan")) => {
                l.insert("keep_last".into(), sel.get("countNumber")?.clone());
            }
            _ => {}
        }
    }
    (!l.is_empty()).then_some(Value::Object(l))
}

/// The physical id and outputs of a repository.
fn applied(repo: &Repository) -> Applied {
    applied_by_arn(
        repo.repository_arn().unwrap_or_default(),
        [
            ("name", json!(repo.repository_name().unwrap_or_default())),
            ("uri", json!(repo.repository_uri().unwrap_or_default())),
        ],
    )
}

/// The repository `name`; `None` when it is gone.
async fn describe(ctx: &Ctx, name: &str) -> Result<Option<Repository>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .classify("DescribeRepositories")
    })
    .await
    .found()?
    .and_then(|out| {
        out.repositories()
            .iter()
            .find(|r| r.repository_name() == Some(name))
            .cloned()
    }))
}

/// The tags of repository `arn`.
pub(crate) async fn list_tags(ctx: &Ctx, arn: &str) -> Result<Vec<Tag>, ApiFailure> {
    retry::read(&ctx.settings, || async move {
        ctx.clients
            .ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .classify("ListTagsForResource")
    })
    .await
    .map(|o| o.tags.unwrap_or_default())
}

/// The `lifecycle` attribute read from the repository's policy.
async fn lifecycle(ctx: &Ctx, name: &str) -> Result<Option<Value>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .ecr
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .classify("GetLifecyclePolicy")
    })
    .await
    .found()?
    .and_then(|out| out.lifecycle_policy_text().and_then(lifecycle_from_policy)))
}

/// Reads a repository by ARN; `None` when it is gone.
pub(crate) async fn read(
    ctx: &Ctx,
    arn: &str,
    recorded: &Value,
) -> Result<Option<Observed>, ProviderError> {
    let name = name_of(arn);
    let what = format!("repository {name}");
    let Some(repo) = describe(ctx, name)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let Some(live_tags) = list_tags(ctx, repo.repository_arn().unwrap_or(arn))
        .await
        .found()
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let lifecycle = lifecycle(ctx, name)
        .await
        .map_err(|f| f.into_provider(&what))?;
    let mut map = Map::new();
    map.insert("name".into(), json!(name));
    map.insert(
        "scan_on_push".into(),
        json!(
            repo.image_scanning_configuration()
                .is_some_and(|c| c.scan_on_push())
        ),
    );
    map.insert(
        "image_tag_mutability".into(),
        json!(
            repo.image_tag_mutability()
                .map_or("MUTABLE", |m| m.as_str())
        ),
    );
    if let Some(l) = lifecycle {
        map.insert("lifecycle".into(), l);
    }
    // Not a property of the repository: how apprun deletes it.
    map.insert("force_delete".into(), json!(force_delete(recorded)));
    map.insert("tags".into(), tags::observed(&live_tags));
    let a = applied(&repo);
    Ok(Some(Observed {
        attributes: Value::Object(map),
        outputs: a.outputs,
        failed: None,
    }))
}

/// Finds the repository `name` if it carries this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let Some(repo) = describe(ctx, name).await? else {
            return Ok(None);
        };
        let live = list_tags(ctx, repo.repository_arn().unwrap_or_default()).await;
        Ok(tags::owned_by_answer(live, stack, address)?.then(|| applied(&repo)))
    })
    .await
}

/// Whether the record says to delete the repository with its images. A
/// record that does not decode (or none, on import) says no: the safe side.
fn force_delete(recorded: &Value) -> bool {
    RepositoryAttributes::from_value(recorded).is_ok_and(|r| r.force_delete)
}

/// Puts the lifecycle policy of `attrs`, or deletes the policy when there
/// is none.
async fn put_lifecycle(
    ctx: &Ctx,
    name: &str,
    attrs: &RepositoryAttributes,
) -> Result<(), ApiFailure> {
    match attrs.lifecycle.as_ref().and_then(lifecycle_policy) {
        Some(text) => ctx
            .clients
            .ecr
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(text)
            .send()
            .await
            .classify("PutLifecyclePolicy")
            .map(|_| ()),
        None => ctx
            .clients
            .ecr
            .delete_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .classify("DeleteLifecyclePolicy")
            .found()
            .map(|_| ()),
    }
}

/// The `image_tag_mutability` of `attrs`.
fn mutability(attrs: &RepositoryAttributes) -> ImageTagMutability {
    ImageTagMutability::from(attrs.image_tag_mutability.as_str())
}

/// Creates the repository and its lifecycle policy.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let name = request.name;
    let what = request.address.to_string();
    let attrs =
        &RepositoryAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .ecr_once
                .create_repository()
                .repository_name(name)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(attrs.scan_on_push)
                        .build(),
                )
                .image_tag_mutability(mutability(attrs))
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateRepository")
        },
        || find_owned(ctx, request.stack, request.address, name),
    )
    .await?;
    let member = ("CreateRepository", "repository");
    let made = created.applied(&what, member, |out| out.repository.as_ref().map(applied))?;
    // Recorded before the follow-up: a lifecycle policy ECR refuses leaves
    // the repository in state, never only in ECR.
    request.created.report(&made).await?;
    if attrs.lifecycle.is_some() {
        put_lifecycle(ctx, name, attrs)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    Ok(made)
}

/// Changes what `changed` names, in place.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let name = name_of(arn);
    let what = request.address.to_string();
    let attrs =
        &RepositoryAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let err = |f: ApiFailure| f.into_provider(&what);
    let Some(repo) = describe(ctx, name).await.map_err(err)? else {
        return Err(ProviderError::NotFound { what });
    };
    let fields = top_level(changed);
    if fields.contains("scan_on_push") {
        ctx.clients
            .ecr
            .put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(attrs.scan_on_push)
                    .build(),
            )
            .send()
            .await
            .classify("PutImageScanningConfiguration")
            .map_err(err)?;
    }
    if fields.contains("image_tag_mutability") {
        ctx.clients
            .ecr
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(mutability(attrs))
            .send()
            .await
            .classify("PutImageTagMutability")
            .map_err(err)?;
    }
    if fields.contains("lifecycle") {
        put_lifecycle(ctx, name, attrs).await.map_err(err)?;
    }
    if fields.contains("tags") {
        sync_tags(
            ctx,
            repo.repository_arn().unwrap_or(arn),
            request.attributes,
        )
        .await
        .map_err(err)?;
    }
    Ok(applied(&repo))
}

/// Adds (or changes) `tags` on repository `arn` (TagResource).
pub(crate) async fn tag(
    ctx: &Ctx,
    arn: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiFailure> {
    ctx.clients
        .ecr
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags::sdk_tags(tags)))
        .send()
        .await
        .classify("TagResource")
        .map(|_| ())
}

/// Makes the user tags of repository `arn` those of `attrs`.
async fn sync_tags(ctx: &Ctx, arn: &str, attrs: &Value) -> Result<(), ApiFailure> {
    let live = list_tags(ctx, arn).await?;
    let client = &ctx.clients.ecr;
    tags::sync(
        &live,
        attrs,
        |set| async move { tag(ctx, arn, &set).await },
        |keys| async move {
            client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .classify("UntagResource")
                .map(|_| ())
        },
    )
    .await
}

/// Deletes the repository (with its images if `force_delete`); `Ok` when
/// already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str, recorded: &Value) -> Result<(), ProviderError> {
    let name = name_of(arn);
    ctx.clients
        .ecr
        .delete_repository()
        .repository_name(name)
        .force(force_delete(recorded))
        .send()
        .await
        .classify("DeleteRepository")
        .found()
        .map(|_| ())
        .map_err(|f| f.into_provider(&format!("repository {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trips_through_the_policy_text() {
        let both = LifecycleAttributes {
            keep_last: Some(10),
            expire_untagged_after_days: Some(7),
        };
        let text = lifecycle_policy(&both).unwrap_or_default();
        assert_eq!(
            lifecycle_from_policy(&text),
            Some(json!({"keep_last": 10, "expire_untagged_after_days": 7}))
        );
        let only = LifecycleAttributes {
            keep_last: Some(3),
            expire_untagged_after_days: None,
        };
        assert_eq!(
            lifecycle_from_policy(&lifecycle_policy(&only).unwrap_or_default()),
            Some(json!({"keep_last": 3}))
        );
        assert_eq!(lifecycle_policy(&LifecycleAttributes::default()), None);
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            name_of("arn:aws:ecr:us-east-1:1:repository/team/web"),
            "team/web"
        );
    }
}
