//! Ownership tags: every resource apprun creates carries the stack and the
//! address it was created for, so an interrupted or ambiguous create is found
//! again (`find_owned`) instead of duplicated. The schema forbids users the
//! `apprun:` prefix, so these never collide with user tags.

use std::collections::BTreeMap;

use apprun_schema::Address;
use serde_json::Value;

/// The tag naming the stack that owns a resource.
pub const STACK_TAG: &str = "apprun:stack";
/// The tag naming the address (`services.web`) a resource was created for.
pub const ADDRESS_TAG: &str = "apprun:address";

const PREFIX: &str = "apprun:";

/// The user tags of an attribute document (`tags`), in key order.
pub(crate) fn user_tags(attributes: &Value) -> BTreeMap<String, String> {
    attributes
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
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

/// Whether `tags` say the resource belongs to `stack` / `address`.
pub(crate) fn owned_by<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    stack: &str,
    address: &Address,
) -> bool {
    let address = address.to_string();
    let (mut s, mut a) = (false, false);
    for (k, v) in tags {
        s |= k == STACK_TAG && v == stack;
        a |= k == ADDRESS_TAG && v == address;
    }
    s && a
}

/// The tags a read reports: everything but the ownership tags, as JSON.
pub(crate) fn observed<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let map: BTreeMap<&str, &str> = tags
        .into_iter()
        .filter(|(k, _)| !k.starts_with(PREFIX))
        .collect();
    serde_json::json!(map)
}

/// What to add or change and what to remove to go from `before` to `after`
/// (user tags only; ownership tags are never touched).
pub(crate) fn tag_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = after
        .iter()
        .filter(|(k, v)| !k.starts_with(PREFIX) && before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = before
        .keys()
        .filter(|k| !k.starts_with(PREFIX) && !after.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
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
        assert!(owned_by(
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            "shop",
            &address
        ));
        assert!(!owned_by(
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            "other",
            &address
        ));
        assert_eq!(
            observed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            json!({"team": "a"})
        );
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
