//! Ownership tags: every resource apprun creates carries the stack and the
//! address it was created for, so an interrupted or ambiguous create is found
//! again (`find_owned`) instead of duplicated. The schema forbids users the
//! `apprun:` prefix, so these never collide with user tags.
//!
//! The tags of App Runner, ECR and IAM answer in one shape ([`SdkTag`]), so
//! ownership, reads and syncs are written once; App Runner's tag calls,
//! shared by services, VPC connectors and auto scaling configurations, are
//! here too.

use std::collections::BTreeMap;
use std::future::Future;

use apprun_engine::provider::{ProviderError, ResourceRequest};
use apprun_schema::Address;
use serde_json::Value;

use crate::attrs::{map_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, SdkResultExt};
use crate::retry;

pub use apprun_engine::provider::{ADDRESS_TAG, STACK_TAG};

const PREFIX: &str = "apprun:";

/// A tag of one of the SDKs (App Runner, ECR, IAM).
pub(crate) trait SdkTag: Sized {
    /// Its key and value; `None` for a tag without a key.
    fn pair(&self) -> Option<(&str, &str)>;
    /// The tag `key` = `value`; `None` when the SDK refuses to build it.
    fn of(key: &str, value: &str) -> Option<Self>;
}

impl SdkTag for aws_sdk_apprunner::types::Tag {
    fn pair(&self) -> Option<(&str, &str)> {
        Some((self.key()?, self.value().unwrap_or("")))
    }

    fn of(key: &str, value: &str) -> Option<Self> {
        Some(Self::builder().key(key).value(value).build())
    }
}

/// [`SdkTag`] for the SDKs whose tags always have a key and a value.
macro_rules! keyed_tags {
    ($($tag:ty),*) => {
        $(impl SdkTag for $tag {
            fn pair(&self) -> Option<(&str, &str)> {
                Some((self.key(), self.value()))
            }

            fn of(key: &str, value: &str) -> Option<Self> {
                Self::builder().key(key).value(value).build().ok()
            }
        })*
    };
}

keyed_tags!(aws_sdk_ecr::types::Tag, aws_sdk_iam::types::Tag);

/// `tags` as tags of an SDK.
pub(crate) fn sdk_tags<T: SdkTag>(tags: &BTreeMap<String, String>) -> Vec<T> {
    tags.iter().filter_map(|(k, v)| T::of(k, v)).collect()
}

/// Tags of an SDK as key/value pairs.
fn pairs<T: SdkTag>(live: &[T]) -> impl Iterator<Item = (&str, &str)> {
    live.iter().filter_map(T::pair)
}

/// The user tags of an attribute document (`tags`), in key order.
fn user_tags(attributes: &Value) -> BTreeMap<String, String> {
    map_at(attributes, "tags")
}

/// User tags plus the ownership tags.
pub(crate) fn with_ownership(
    attributes: &Value,
    stack: &str,
    address: &Address,
) -> BTreeMap<String, String> {
    let mut tags = user_tags(attributes);
    tags.insert(STACK_TAG.to_owned(), stack.to_owned());
    tags.insert(ADDRESS_TAG.to_owned(), address.to_string());
    tags
}

/// Whether `live` tags say the resource belongs to `stack` / `address`.
fn owned_by<T: SdkTag>(live: &[T], stack: &str, address: &Address) -> bool {
    let address = address.to_string();
    let (mut s, mut a) = (false, false);
    for (k, v) in pairs(live) {
        s |= k == STACK_TAG && v == stack;
        a |= k == ADDRESS_TAG && v == address;
    }
    s && a
}

/// [`owned_by`] for tags just asked for: a resource gone before its tags
/// were read is not owned; other failures stay failures.
pub(crate) fn owned_by_answer<T: SdkTag>(
    live: Result<Vec<T>, ApiFailure>,
    stack: &str,
    address: &Address,
) -> Result<bool, ApiFailure> {
    match live {
        Ok(t) => Ok(owned_by(&t, stack, address)),
        Err(f) if f.class == Class::NotFound => Ok(false),
        Err(f) => Err(f),
    }
}

/// The stack and the address whose ownership tags `live` holds, if both.
pub(crate) fn owner<T: SdkTag>(live: &[T]) -> Option<(String, Address)> {
    let get = |key: &str| pairs(live).find(|(k, _)| *k == key).map(|(_, v)| v);
    let (stack, address) = get(STACK_TAG).zip(get(ADDRESS_TAG))?;
    Some((stack.to_owned(), Address::parse(address)?))
}

/// The prefix of the tags AWS itself sets (`aws:cloudformation:stack-name`):
/// nobody else may set or remove them, so no stack manages them.
const AWS_PREFIX: &str = "aws:";

/// Whether a stack manages tag `key`: not an ownership tag, not one AWS
/// sets.
fn managed(key: &str) -> bool {
    !key.starts_with(PREFIX) && !key.starts_with(AWS_PREFIX)
}

/// Every tag of a resource, ownership and AWS's own included, as a map.
pub(crate) fn all<T: SdkTag>(live: &[T]) -> BTreeMap<String, String> {
    pairs(live)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The tags a read reports: everything but the ownership tags and the tags
/// AWS sets, as JSON.
pub(crate) fn observed<T: SdkTag>(live: &[T]) -> Value {
    let map: BTreeMap<&str, &str> = pairs(live).filter(|(k, _)| managed(k)).collect();
    serde_json::json!(map)
}

/// What to add or change and what to remove to go from `before` to `after`
/// (user tags only; ownership tags are never touched).
fn tag_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = after
        .iter()
        .filter(|(k, v)| managed(k) && before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = before
        .keys()
        .filter(|k| managed(k) && !after.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Makes the user tags of a resource that has the tags `live` those of
/// `attrs`: `set` gets the tags to add or change, `remove` the keys to
/// remove, each called only when there are some.
pub(crate) async fn sync<T, S, R>(
    live: &[T],
    attrs: &Value,
    set: impl FnOnce(BTreeMap<String, String>) -> S,
    remove: impl FnOnce(Vec<String>) -> R,
) -> Result<(), ApiFailure>
where
    T: SdkTag,
    S: Future<Output = Result<(), ApiFailure>>,
    R: Future<Output = Result<(), ApiFailure>>,
{
    let (to_set, to_remove) = tag_changes(&all(live), &user_tags(attrs));
    if !to_set.is_empty() {
        set(to_set).await?;
    }
    if !to_remove.is_empty() {
        remove(to_remove).await?;
    }
    Ok(())
}

/// The tags of App Runner resource `arn`.
pub(crate) async fn list_apprunner(
    ctx: &Ctx,
    arn: &str,
) -> Result<Vec<aws_sdk_apprunner::types::Tag>, ApiFailure> {
    retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .classify("ListTagsForResource")
    })
    .await
    .map(|o| o.tags.unwrap_or_default())
}

/// Whether App Runner resource `arn` belongs to `stack` / `address` (a
/// resource gone meanwhile does not).
pub(crate) async fn apprunner_owned_by(
    ctx: &Ctx,
    arn: &str,
    stack: &str,
    address: &Address,
) -> Result<bool, ApiFailure> {
    owned_by_answer(list_apprunner(ctx, arn).await, stack, address)
}

/// Makes the user tags of App Runner resource `arn` those of `attrs`
/// (TagResource / UntagResource only for what differs).
pub(crate) async fn sync_apprunner(ctx: &Ctx, arn: &str, attrs: &Value) -> Result<(), ApiFailure> {
    let live = list_apprunner(ctx, arn).await?;
    sync(
        &live,
        attrs,
        |set| async move { tag_apprunner(ctx, arn, &set).await },
        |keys| async move { untag_apprunner(ctx, arn, keys).await },
    )
    .await
}

/// Adds (or changes) `tags` on App Runner resource `arn` (TagResource).
pub(crate) async fn tag_apprunner(
    ctx: &Ctx,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), ApiFailure> {
    ctx.clients
        .apprunner
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(sdk_tags(tags)))
        .send()
        .await
        .classify("TagResource")
        .map(|_| ())
}

/// Removes the tags `keys` from App Runner resource `arn` (UntagResource).
pub(crate) async fn untag_apprunner(
    ctx: &Ctx,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), ApiFailure> {
    ctx.clients
        .apprunner
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .classify("UntagResource")
        .map(|_| ())
}

/// A resource read together with its App Runner tags: `None` when the
/// read found nothing or the resource went away before its tags were read.
pub(crate) async fn with_apprunner_tags<R>(
    ctx: &Ctx,
    arn: &str,
    read: Result<Option<R>, ApiFailure>,
) -> Result<Option<(R, Vec<aws_sdk_apprunner::types::Tag>)>, ApiFailure> {
    let Some(resource) = read? else {
        return Ok(None);
    };
    match list_apprunner(ctx, arn).await {
        Ok(live) => Ok(Some((resource, live))),
        // App Runner refuses the tags of a resource deleted since its read
        // (`InvalidStateException`: "... is deleted"): it is gone.
        Err(f) if matches!(f.class, Class::NotFound | Class::InvalidState) => Ok(None),
        Err(f) => Err(f),
    }
}

/// The first of `candidates` (an ARN and what else it came with) whose App
/// Runner tags say `stack` / `address` own it and that `adopt` turns into an
/// answer; resources gone meanwhile are passed over.
pub(crate) async fn first_owned<T, R, Fut>(
    ctx: &Ctx,
    candidates: impl IntoIterator<Item = (String, T)>,
    (stack, address): (&str, &Address),
    mut adopt: impl FnMut(String, T) -> Fut,
) -> Result<Option<R>, ApiFailure>
where
    Fut: Future<Output = Result<Option<R>, ApiFailure>>,
{
    for (arn, with) in candidates {
        if apprunner_owned_by(ctx, &arn, stack, address).await?
            && let Some(answer) = adopt(arn, with).await?
        {
            return Ok(Some(answer));
        }
    }
    Ok(None)
}

/// An App Runner resource that cannot change in place but for its tags.
pub(crate) struct Immutable {
    /// The operation a refused change is reported under.
    pub operation: &'static str,
    /// Why only tags can change (in the refusal's message).
    pub why: &'static str,
}

/// The in-place update of immutable App Runner resource `arn`, which
/// `described` read: refuses any change but `tags`, then makes its tags
/// those of the request; returns what was described.
pub(crate) async fn update_only_tags<R>(
    ctx: &Ctx,
    (arn, described): (&str, Result<Option<R>, ApiFailure>),
    request: &ResourceRequest<'_>,
    changed: &[String],
    immutable: Immutable,
) -> Result<R, ProviderError> {
    let what = request.address.to_string();
    let Some(resource) = described.map_err(|f| f.into_provider(&what))? else {
        return Err(ProviderError::NotFound { what });
    };
    if let Some(field) = top_level(changed).into_iter().find(|f| *f != "tags") {
        return Err(ProviderError::Invalid {
            operation: immutable.operation.to_owned(),
            message: format!(
                "{what}: `{field}` cannot change in place ({})",
                immutable.why
            ),
        });
    }
    sync_apprunner(ctx, arn, request.attributes)
        .await
        .map_err(|f| f.into_provider(&what))?;
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apprun_schema::Kind;
    use serde_json::json;

    #[test]
    fn ownership_tags_are_added_and_hidden_on_read() {
        let address = Address::new(Kind::Service, "web");
        let tags = with_ownership(&json!({"tags": {"team": "a"}}), "shop", &address);
        assert_eq!(tags.get(STACK_TAG).map(String::as_str), Some("shop"));
        assert_eq!(
            tags.get(ADDRESS_TAG).map(String::as_str),
            Some("services.web")
        );
        let live: Vec<aws_sdk_apprunner::types::Tag> = sdk_tags(&tags);
        assert!(owned_by(&live, "shop", &address));
        assert!(!owned_by(&live, "other", &address));
        assert_eq!(observed(&live), json!({"team": "a"}));
        assert_eq!(owner(&live), Some(("shop".to_owned(), address.clone())));
        let iam: Vec<aws_sdk_iam::types::Tag> = sdk_tags(&tags);
        assert!(owned_by(&iam, "shop", &address));
        assert_eq!(observed(&iam), json!({"team": "a"}));
    }

    #[test]
    fn a_resource_gone_before_its_tags_were_read_is_not_owned() {
        let address = Address::new(Kind::Service, "web");
        let gone = Err::<Vec<aws_sdk_ecr::types::Tag>, _>(ApiFailure::new(
            "ListTagsForResource",
            Class::NotFound,
            "gone",
        ));
        assert!(matches!(owned_by_answer(gone, "shop", &address), Ok(false)));
        let denied = Err::<Vec<aws_sdk_ecr::types::Tag>, _>(ApiFailure::new(
            "ListTagsForResource",
            Class::Fatal,
            "denied",
        ));
        assert!(owned_by_answer(denied, "shop", &address).is_err());
    }

    #[test]
    fn tag_changes_never_touch_ownership_tags() {
        let before: BTreeMap<String, String> = [("a", "1"), ("b", "2"), (STACK_TAG, "s")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let after: BTreeMap<String, String> = [("a", "1"), ("c", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (set, remove) = tag_changes(&before, &after);
        assert_eq!(set.keys().collect::<Vec<_>>(), vec!["c"]);
        assert_eq!(remove, vec!["b".to_string()]);
    }
}
