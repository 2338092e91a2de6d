//! ECR repositories: scan on push, tag mutability, a lifecycle policy built
//! from `keep_last` / `expire_untagged_after_days`, tags.

use std::collections::BTreeMap;

use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::Address;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};
use serde_json::{Map, Value, json};

use crate::attrs::{bool_at, int_at, str_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::retry::{self, Created};
use crate::tags;

fn ecr_tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// The repository name in an ECR ARN (`…:repository/team/web` -> `team/web`).
fn name_of(arn: &str) -> &str {
    arn.split_once(":repository/").map_or(arn, |(_, n)| n)
}

/// The lifecycle policy text for `lifecycle {keep_last, expire_untagged_after_days}`.
pub(crate) fn lifecycle_policy(lifecycle: &Value) -> Option<String> {
    let mut rules = Vec::new();
    if let Some(days) = int_at(lifecycle, "expire_untagged_after_days") {
        rules.push(json!({
            "rulePriority": rules.len() + 1,
            "description": format!("expire untagged images after {days} days"),
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
            "action": {"type": "expire"},
        }));
    }
    if let Some(keep) = int_at(lifecycle, "keep_last") {
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

fn applied(repo: &Repository) -> Applied {
    let mut outputs = BTreeMap::new();
    let arn = repo.repository_arn().unwrap_or_default().to_owned();
    outputs.insert("arn".to_owned(), json!(arn));
    outputs.insert(
        "name".to_owned(),
        json!(repo.repository_name().unwrap_or_default()),
    );
    outputs.insert(
        "uri".to_owned(),
        json!(repo.repository_uri().unwrap_or_default()),
    );
    Applied {
        physical_id: arn,
        outputs,
    }
}

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

async fn list_tags(ctx: &Ctx, arn: &str) -> Result<Vec<Tag>, ApiFailure> {
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
    let live_tags = match list_tags(ctx, repo.repository_arn().unwrap_or(arn)).await {
        Ok(t) => t,
        Err(f) if f.class == Class::NotFound => return Ok(None),
        Err(f) => return Err(f.into_provider(&what)),
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
    map.insert(
        "force_delete".into(),
        json!(bool_at(recorded, "force_delete")),
    );
    map.insert(
        "tags".into(),
        tags::observed(live_tags.iter().map(|t| (t.key(), t.value()))),
    );
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
    let what = address.to_string();
    let Some(repo) = describe(ctx, name)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let live = match list_tags(ctx, repo.repository_arn().unwrap_or_default()).await {
        Ok(t) => t,
        Err(f) if f.class == Class::NotFound => return Ok(None),
        Err(f) => return Err(f.into_provider(&what)),
    };
    Ok(
        tags::owned_by(live.iter().map(|t| (t.key(), t.value())), stack, address)
            .then(|| applied(&repo)),
    )
}

async fn put_lifecycle(ctx: &Ctx, name: &str, attrs: &Value) -> Result<(), ApiFailure> {
    match attrs.get("lifecycle").and_then(lifecycle_policy) {
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
        None => match ctx
            .clients
            .ecr
            .delete_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .classify("DeleteLifecyclePolicy")
        {
            Ok(_) => Ok(()),
            Err(f) if f.class == Class::NotFound => Ok(()),
            Err(f) => Err(f),
        },
    }
}

fn mutability(attrs: &Value) -> ImageTagMutability {
    ImageTagMutability::from(str_at(attrs, "image_tag_mutability").unwrap_or("MUTABLE"))
}

/// Creates the repository and its lifecycle policy.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let attrs = request.attributes;
    let name = request.name;
    let what = request.address.to_string();
    let owned = &tags::with_ownership(attrs, request.stack, request.address);
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
                        .scan_on_push(bool_at(attrs, "scan_on_push"))
                        .build(),
                )
                .image_tag_mutability(mutability(attrs))
                .set_tags(Some(ecr_tags(owned)))
                .send()
                .await
                .classify("CreateRepository")
        },
        || find_owned(ctx, request.stack, request.address, name),
    )
    .await?;
    if attrs.get("lifecycle").is_some() {
        put_lifecycle(ctx, name, attrs)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    match created {
        Created::New(out) => match out.repository {
            Some(repo) => Ok(applied(&repo)),
            None => {
                Err(crate::error::missing("CreateRepository", "repository").into_provider(&what))
            }
        },
        Created::Found(found) => Ok(found),
    }
}

/// Changes what `changed` names, in place.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let attrs = request.attributes;
    let name = name_of(arn);
    let what = request.address.to_string();
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
                    .scan_on_push(bool_at(attrs, "scan_on_push"))
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
        let repo_arn = repo.repository_arn().unwrap_or(arn);
        let live = list_tags(ctx, repo_arn).await.map_err(err)?;
        let before = live
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        let (set, remove) = tags::tag_changes(&before, &tags::user_tags(attrs));
        if !set.is_empty() {
            ctx.clients
                .ecr
                .tag_resource()
                .resource_arn(repo_arn)
                .set_tags(Some(ecr_tags(&set)))
                .send()
                .await
                .classify("TagResource")
                .map_err(err)?;
        }
        if !remove.is_empty() {
            ctx.clients
                .ecr
                .untag_resource()
                .resource_arn(repo_arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .classify("UntagResource")
                .map_err(err)?;
        }
    }
    Ok(applied(&repo))
}

/// Deletes the repository (with its images if `force_delete`); `Ok` when
/// already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str, recorded: &Value) -> Result<(), ProviderError> {
    let name = name_of(arn);
    match ctx
        .clients
        .ecr
        .delete_repository()
        .repository_name(name)
        .force(bool_at(recorded, "force_delete"))
        .send()
        .await
        .classify("DeleteRepository")
    {
        Ok(_) => Ok(()),
        Err(f) if f.class == Class::NotFound => Ok(()),
        Err(f) => Err(f.into_provider(&format!("repository {name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trips_through_the_policy_text() {
        let l = json!({"keep_last": 10, "expire_untagged_after_days": 7});
        let text = lifecycle_policy(&l).unwrap_or_default();
        assert_eq!(lifecycle_from_policy(&text), Some(l));
        let only = json!({"keep_last": 3});
        assert_eq!(
            lifecycle_from_policy(&lifecycle_policy(&only).unwrap_or_default()),
            Some(only)
        );
        assert_eq!(lifecycle_policy(&json!({})), None);
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            name_of("arn:aws:ecr:us-east-1:1:repository/team/web"),
            "team/web"
        );
    }
}
