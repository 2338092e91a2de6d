//! IAM roles: the App Runner trust policy, managed and inline policies,
//! description, tags.
//!
//! Policies read back percent-encoded (like real AWS, and moto): they are
//! decoded, parsed and re-serialized the way `desired.rs` writes them
//! (`serde_json::to_string_pretty`), so an unchanged role diffs empty.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use apprun_engine::attributes::{RoleAttributes, RoleKind};
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::Address;
use aws_sdk_iam::types::{Role, Tag};
use serde_json::{Map, Value, json};

use crate::attrs::{applied_by_arn, arn_tail, invalid, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry::{self, Backoff, Created};
use crate::tags;

/// Decodes `%XX` escapes (IAM returns policy documents URL-encoded).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document as the desired attributes hold it: pretty JSON.
pub(crate) fn normalize_policy(text: &str) -> String {
    let parse = |t: &str| serde_json::from_str::<Value>(t).ok();
    let value = parse(text).or_else(|| parse(&percent_decode(text)));
    match value.and_then(|v| serde_json::to_string_pretty(&v).ok()) {
        Some(pretty) => pretty,
        None => text.to_owned(),
    }
}

/// A permissions policy (an inline policy) as the desired attributes hold
/// it: pretty JSON whose `Statement` is a list and whose `Action` /
/// `Resource` (and `Not…`) are lists, as the stack language writes them;
/// IAM takes either form for one element, so both mean the same.
pub(crate) fn normalize_permissions(text: &str) -> String {
    let pretty = normalize_policy(text);
    let Ok(mut doc) = serde_json::from_str::<Value>(&pretty) else {
        return pretty;
    };
    if let Some(statement) = doc.get_mut("Statement")
        && statement.is_object()
    {
        *statement = Value::Array(vec![statement.take()]);
    }
    if let Some(statements) = doc.get_mut("Statement").and_then(Value::as_array_mut) {
        for statement in statements.iter_mut().filter_map(Value::as_object_mut) {
            for key in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(one) = statement.get_mut(key)
                    && one.is_string()
                {
                    *one = Value::Array(vec![one.take()]);
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or(pretty)
}

/// The `kind` of a role: from its trust policy's principal, else as recorded.
fn kind_of(trust: &str, recorded: &Value) -> Value {
    let kind = [RoleKind::Access, RoleKind::Instance]
        .into_iter()
        .find(|k| trust.contains(k.principal()))
        .or_else(|| RoleAttributes::from_value(recorded).ok()?.kind);
    kind.and_then(|k| serde_json::to_value(k).ok())
        .unwrap_or(Value::Null)
}

/// The physical id and outputs of a role.
fn applied(role: &Role) -> Applied {
    applied_by_arn(&role.arn, [("name", json!(role.role_name))])
}

/// The role `name`; `None` when it is gone.
async fn get_role(ctx: &Ctx, name: &str) -> Result<Option<Role>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .classify("GetRole")
    })
    .await
    .found()?
    .and_then(|out| out.role))
}

/// The tags of role `name`.
pub(crate) async fn role_tags(ctx: &Ctx, name: &str) -> Result<Vec<Tag>, ApiFailure> {
    Pages::new(&ctx.settings, "ListRoleTags", |marker| {
        paginator!(
            ctx.clients
                .iam
                .list_role_tags()
                .role_name(name)
                .set_marker(marker)
        )
    })
    .all(|page| page.tags)
    .await
}

/// The ARNs of the managed policies attached to role `name`.
async fn attached(ctx: &Ctx, name: &str) -> Result<BTreeSet<String>, ApiFailure> {
    let policies = Pages::new(&ctx.settings, "ListAttachedRolePolicies", |marker| {
        paginator!(
            ctx.clients
                .iam
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker)
        )
    })
    .all(|page| page.attached_policies.unwrap_or_default())
    .await?;
    Ok(policies.into_iter().filter_map(|p| p.policy_arn).collect())
}

/// The inline policies of role `name`, normalized, by name.
async fn inline(ctx: &Ctx, name: &str) -> Result<BTreeMap<String, String>, ApiFailure> {
    let names = Pages::new(&ctx.settings, "ListRolePolicies", |marker| {
        paginator!(
            ctx.clients
                .iam
                .list_role_policies()
                .role_name(name)
                .set_marker(marker)
        )
    })
    .all(|page| page.policy_names)
    .await?;
    let mut out = BTreeMap::new();
    for policy in names {
        let policy_ref = &policy;
        let doc = retry::read(&ctx.settings, || async move {
            ctx.clients
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy_ref)
                .send()
                .await
                .classify("GetRolePolicy")
        })
        .await?;
        out.insert(policy, normalize_permissions(&doc.policy_document));
    }
    Ok(out)
}

/// Retries `call` while IAM has not yet propagated a just-created role
/// (`NoSuchEntity` about the role right after `CreateRole`); a policy that
/// does not exist is an answer at once.
async fn propagated<T, F: std::future::Future<Output = Result<T, ApiFailure>>>(
    ctx: &Ctx,
    mut call: impl FnMut() -> F,
) -> Result<T, ApiFailure> {
    let start = Instant::now();
    let mut backoff = Backoff::for_retries(&ctx.settings);
    loop {
        match call().await {
            Err(f)
                if f.class == Class::NotFound
                    && !about_a_policy(&f)
                    && start.elapsed() < ctx.settings.iam_propagation =>
            {
                backoff.sleep().await;
            }
            other => return other,
        }
    }
}

/// Whether a not-found says the policy is missing (IAM: "Policy ARN does
/// not exist or is not attachable"), not the role.
fn about_a_policy(f: &ApiFailure) -> bool {
    let message = f.message.to_ascii_lowercase();
    let text = message
        .split_once(": ")
        .map_or(message.as_str(), |(_, m)| m);
    text.starts_with("policy ")
}

/// Reads a role by ARN; `None` when it is gone.
pub(crate) async fn read(
    ctx: &Ctx,
    arn: &str,
    recorded: &Value,
) -> Result<Option<Observed>, ProviderError> {
    let name = arn_tail(arn);
    let what = format!("role {name}");
    let gone = |f: ApiFailure| f.class == Class::NotFound;
    let Some(role) = crate::fresh::read_settled(ctx, arn, || get_role(ctx, name))
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let (live_tags, managed, inline) = match (
        role_tags(ctx, name).await,
        attached(ctx, name).await,
        inline(ctx, name).await,
    ) {
        (Ok(t), Ok(m), Ok(i)) => (t, m, i),
        (Err(f), _, _) | (_, Err(f), _) | (_, _, Err(f)) => {
            return if gone(f.clone()) {
                Ok(None)
            } else {
                Err(f.into_provider(&what))
            };
        }
    };
    let trust = normalize_policy(role.assume_role_policy_document.as_deref().unwrap_or("{}"));
    let mut map = Map::new();
    map.insert("name".into(), json!(role.role_name));
    map.insert("kind".into(), kind_of(&trust, recorded));
    map.insert("trust_policy".into(), json!(trust));
    map.insert("managed_policies".into(), json!(managed));
    map.insert("inline_policies".into(), json!(inline));
    if let Some(d) = role.description.as_deref().filter(|d| !d.is_empty()) {
        map.insert("description".into(), json!(d));
    }
    map.insert("tags".into(), tags::observed(&live_tags));
    let a = applied(&role);
    Ok(Some(Observed {
        attributes: Value::Object(map),
        outputs: a.outputs,
        failed: None,
    }))
}

/// Finds the role `name` if it carries this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let Some(role) = get_role(ctx, name).await? else {
            return Ok(None);
        };
        let live = role_tags(ctx, name).await;
        Ok(tags::owned_by_answer(live, stack, address)?.then(|| applied(&role)))
    })
    .await
}

/// Creates the role, attaches its policies.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let name = request.name;
    let what = request.address.to_string();
    let attrs = &RoleAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let trust = attrs.trust_policy.as_str();
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .iam_once
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .set_description(attrs.description.clone())
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateRole")
        },
        || find_owned(ctx, request.stack, request.address, name),
    )
    .await?;
    let role_arn = match created {
        Created::New(out) => out.role.map(|r| r.arn),
        Created::Found(found) => Some(found.physical_id),
    };
    // Recorded before the follow-ups: a policy IAM refuses leaves the role
    // in state, never only in IAM.
    if let Some(arn) = &role_arn {
        let made = applied_by_arn(arn, [("name", json!(name))]);
        request.created.report(&made).await?;
    }
    for policy in &attrs.managed_policies {
        attach(ctx, name, policy)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    for (policy, document) in &attrs.inline_policies {
        put_inline(ctx, name, policy, document)
            .await
            .map_err(|f| f.into_provider(&what))?;
    }
    // The outputs (ARN and name) are known from the create: no read-back,
    // which IAM may not answer yet anyway (eventual consistency). Whoever
    // uses the role first retries the propagation delay.
    if let Some(arn) = role_arn {
        ctx.fresh.created(&arn);
        return Ok(applied_by_arn(&arn, [("name", json!(name))]));
    }
    // CreateRole answered without the role: read it back, allowing for a
    // role just created not being visible yet.
    let start = Instant::now();
    let mut backoff = Backoff::for_retries(&ctx.settings);
    loop {
        match get_role(ctx, name)
            .await
            .map_err(|f| f.into_provider(&what))?
        {
            Some(role) => return Ok(applied(&role)),
            None if start.elapsed() < ctx.settings.read_after_create => backoff.sleep().await,
            None => return Err(ProviderError::NotFound { what }),
        }
    }
}

/// Attaches managed policy `policy`, allowing for a role just created.
async fn attach(ctx: &Ctx, name: &str, policy: &str) -> Result<(), ApiFailure> {
    propagated(ctx, || async move {
        ctx.clients
            .iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy)
            .send()
            .await
            .classify("AttachRolePolicy")
            .map_err(|f| f.about(policy))
    })
    .await
    .map(|_| ())
}

/// Puts inline policy `policy`, allowing for a role just created.
async fn put_inline(ctx: &Ctx, name: &str, policy: &str, document: &str) -> Result<(), ApiFailure> {
    propagated(ctx, || async move {
        ctx.clients
            .iam
            .put_role_policy()
            .role_name(name)
            .policy_name(policy)
            .policy_document(document)
            .send()
            .await
            .classify("PutRolePolicy")
            .map_err(|f| f.about(policy))
    })
    .await
    .map(|_| ())
}

/// Detaches managed policy `policy` from role `name`.
async fn detach(ctx: &Ctx, name: &str, policy: &str) -> Result<(), ApiFailure> {
    ctx.clients
        .iam
        .detach_role_policy()
        .role_name(name)
        .policy_arn(policy)
        .send()
        .await
        .classify("DetachRolePolicy")
        .map_err(|f| f.about(policy))
        .map(|_| ())
}

/// Deletes inline policy `policy` of role `name`.
async fn delete_inline(ctx: &Ctx, name: &str, policy: &str) -> Result<(), ApiFailure> {
    ctx.clients
        .iam
        .delete_role_policy()
        .role_name(name)
        .policy_name(policy)
        .send()
        .await
        .classify("DeleteRolePolicy")
        .map_err(|f| f.about(policy))
        .map(|_| ())
}

/// Adds (or changes) `tags` on role `name` (TagRole).
pub(crate) async fn tag(
    ctx: &Ctx,
    name: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiFailure> {
    ctx.clients
        .iam
        .tag_role()
        .role_name(name)
        .set_tags(Some(tags::sdk_tags(tags)))
        .send()
        .await
        .classify("TagRole")
        .map(|_| ())
}

/// Makes the user tags of role `name` those of `attrs`.
async fn sync_tags(ctx: &Ctx, name: &str, attrs: &Value) -> Result<(), ApiFailure> {
    let live = role_tags(ctx, name).await?;
    let client = &ctx.clients.iam;
    tags::sync(
        &live,
        attrs,
        |set| async move { tag(ctx, name, &set).await },
        |keys| async move {
            client
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .classify("UntagRole")
                .map(|_| ())
        },
    )
    .await
}

/// Changes what `changed` names, in place.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let name = arn_tail(arn);
    let what = request.address.to_string();
    let attrs = &RoleAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let err = |f: ApiFailure| f.into_provider(&what);
    let Some(role) = get_role(ctx, name).await.map_err(err)? else {
        return Err(ProviderError::NotFound { what });
    };
    let fields = top_level(changed);
    if fields.contains("trust_policy") || fields.contains("kind") {
        ctx.clients
            .iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(attrs.trust_policy.as_str())
            .send()
            .await
            .classify("UpdateAssumeRolePolicy")
            .map_err(err)?;
    }
    if fields.contains("description") {
        ctx.clients
            .iam
            .update_role()
            .role_name(name)
            .description(attrs.description.as_deref().unwrap_or_default())
            .send()
            .await
            .classify("UpdateRole")
            .map_err(err)?;
    }
    if fields.contains("managed_policies") || fields.contains("kind") {
        let live = attached(ctx, name).await.map_err(err)?;
        let want: &BTreeSet<String> = &attrs.managed_policies;
        for p in want.difference(&live) {
            attach(ctx, name, p).await.map_err(err)?;
        }
        for p in live.difference(want) {
            detach(ctx, name, p).await.map_err(err)?;
        }
    }
    if fields.contains("inline_policies") {
        let live = inline(ctx, name).await.map_err(err)?;
        let want = &attrs.inline_policies;
        for (p, doc) in want {
            if live.get(p).map(String::as_str) != Some(normalize_permissions(doc).as_str()) {
                put_inline(ctx, name, p, doc).await.map_err(err)?;
            }
        }
        for p in live.keys().filter(|p| !want.contains_key(*p)) {
            delete_inline(ctx, name, p).await.map_err(err)?;
        }
    }
    if fields.contains("tags") {
        sync_tags(ctx, name, request.attributes)
            .await
            .map_err(err)?;
    }
    Ok(applied(&role))
}

/// Detaches and deletes the policies, then the role; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str) -> Result<(), ProviderError> {
    ctx.fresh.forget(arn);
    let name = arn_tail(arn);
    let what = format!("role {name}");
    let result: Result<(), ApiFailure> = async {
        for p in attached(ctx, name).await? {
            detach(ctx, name, &p).await?;
        }
        for p in inline(ctx, name).await?.keys() {
            delete_inline(ctx, name, p).await?;
        }
        let profiles = ctx
            .clients
            .iam
            .list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
            .classify("ListInstanceProfilesForRole")?;
        for profile in profiles.instance_profiles() {
            ctx.clients
                .iam
                .remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(&profile.instance_profile_name)
                .send()
                .await
                .classify("RemoveRoleFromInstanceProfile")?;
        }
        ctx.clients
            .iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .classify("DeleteRole")?;
        Ok(())
    }
    .await;
    result
        .found()
        .map(|_| ())
        .map_err(|f| f.into_provider(&what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_follows_the_trust_principal() {
        assert_eq!(
            kind_of("build.apprunner.amazonaws.com", &Value::Null),
            json!("access")
        );
        assert_eq!(
            kind_of("tasks.apprunner.amazonaws.com", &Value::Null),
            json!("instance")
        );
    }

    #[test]
    fn policies_are_decoded_and_pretty_printed_like_desired() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]});
        let pretty = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let compact = serde_json::to_string(&doc).unwrap_or_default();
        let encoded: String = compact
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(normalize_policy(&encoded), pretty);
        assert_eq!(normalize_policy(&compact), pretty);
    }

    #[test]
    fn one_statement_action_or_resource_reads_as_a_list() {
        let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;
        let listed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#;
        assert_eq!(normalize_permissions(one), normalize_permissions(listed));
        assert_eq!(normalize_permissions(listed), normalize_policy(listed));
        assert_eq!(percent_decode("a%20b%"), "a b%");
    }
}
