//! From what discover read to a stack file: keys from names, references
//! wired as a person writes them, values at their default left out, and
//! what the stack language cannot say kept as comments.
//!
//! A value is left out only when the stack without it means exactly the
//! same resource: each candidate is checked by parsing the entry (with the
//! entries it references) and comparing the desired documents, so the
//! file is short and the plan against the recorded live values stays
//! empty.

use std::collections::{BTreeMap, BTreeSet};

use apprun_schema::expr::escape;
use apprun_schema::patterns::LOGICAL_NAME;
use apprun_schema::{Address, Kind, Stack, VarInputs};
use serde_json::{Map, Value};

use super::yaml::{Entries, Entry, Node, write_map};
use crate::desired::{ECR_ACCESS_POLICY, desired};
use crate::provider::Observed;

/// One live resource discover read, by its physical id.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its kind.
    pub kind: Kind,
    /// The physical id to record (the form a create records).
    pub id: String,
    /// What the read saw.
    pub observed: Observed,
    /// What the stack language cannot say about it, found while reading.
    pub notes: Vec<String>,
}

/// One resource of the composed stack.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Its address in the stack.
    pub address: Address,
    /// Its physical id.
    pub physical_id: String,
    /// The attributes to record: what was read, as the stack manages them.
    pub attributes: Value,
    /// Its outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Its entry in the stack file.
    entry: Entries,
    /// Comments above its entry: what the language cannot say.
    pub notes: Vec<String>,
}

/// A composed stack: its resources, and the file that declares them.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The stack's name.
    pub stack: String,
    /// Its region.
    pub region: String,
    /// Comment lines at the top of the file.
    pub header: Vec<String>,
    /// The resources, in address order.
    pub resources: Vec<Composed>,
}

impl Draft {
    /// Adds a note (a comment above its entry) to the resource at
    /// `address`.
    pub fn note(&mut self, address: &Address, message: String) {
        if let Some(r) = self.resources.iter_mut().find(|r| &r.address == address)
            && !r.notes.contains(&message)
        {
            r.notes.push(message);
        }
    }

    /// The stack file.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
        }
        let top = vec![
            Entry::new("stack", Node::Str(self.stack.clone())),
            Entry::new("region", Node::Str(self.region.clone())),
        ];
        write_map(&mut out, &top, 0);
        for kind in Kind::ALL {
            let entries: Entries = self
                .resources
                .iter()
                .filter(|r| r.address.kind == kind)
                .map(|r| Entry {
                    key: r.address.name.clone(),
                    value: Node::Map(r.entry.clone()),
                    comments: r.notes.clone(),
                })
                .collect();
            if !entries.is_empty() {
                out.push('\n');
                write_map(
                    &mut out,
                    &[Entry::new(kind.section(), Node::Map(entries))],
                    0,
                );
            }
        }
        out
    }

    /// The stack the file declares, parsed as `validate` parses it.
    pub fn parse(&self) -> Result<Stack, Vec<apprun_schema::SchemaError>> {
        apprun_schema::load(&self.text(), &VarInputs::new())
    }
}

/// The name a resource of `kind` has: its physical name.
fn name_of(found: &Found) -> String {
    let attr = |k: &str| found.observed.attributes.get(k).and_then(Value::as_str);
    match found.kind {
        Kind::Domain => attr("domain"),
        _ => attr("name"),
    }
    .unwrap_or(&found.id)
    .to_owned()
}

/// A resource key from a physical name: letters, digits, `-` and `_`,
/// starting with a letter.
fn key_from(name: &str) -> String {
    let mut key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        key.insert(0, 'r');
    }
    key.chars().take(63).collect()
}

/// `name` without the `-<8 hex digits>` suffix apprun gives connectors.
fn hashless(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((base, hash))
            if hash.len() == 8
                && hash.chars().all(|c| c.is_ascii_hexdigit())
                && !base.is_empty() =>
        {
            base
        }
        _ => name,
    }
}

/// Keys for every found resource (parallel to `found`), and whether its
/// name is the default one the key gives (so `name:` is left out).
fn assign_keys(stack: &str, found: &[Found]) -> Vec<(String, bool)> {
    let mut taken: BTreeSet<(Kind, String)> = BTreeSet::new();
    found
        .iter()
        .map(|f| {
            let name = name_of(f);
            let short = name
                .strip_prefix(&format!("{stack}-"))
                .filter(|rest| LOGICAL_NAME.matches(rest));
            let default = short.is_some_and(|rest| {
                f.kind.default_physical_name(stack, rest) == name
                    && !matches!(f.kind, Kind::VpcConnector | Kind::Domain)
            });
            let base = match short {
                // apprun names a connector `<stack>-<key>-<8 hex>`.
                Some(rest) if f.kind == Kind::VpcConnector => hashless(rest).to_owned(),
                Some(rest) => rest.to_owned(),
                None => key_from(&name),
            };
            let mut key = base.clone();
            let mut n = 2;
            while taken.contains(&(f.kind, key.clone())) {
                key = format!("{}-{n}", base.chars().take(58).collect::<String>());
                n += 1;
            }
            taken.insert((f.kind, key.clone()));
            let default = default && key == base;
            (key, default)
        })
        .collect()
}

/// What references stand for: a value an output holds, to the reference
/// that yields it.
#[derive(Default)]
struct Wiring {
    /// An ARN to `${section.key.arn}`.
    arns: BTreeMap<String, String>,
    /// A repository URI to `${repositories.key.uri}`.
    uris: Vec<(String, String)>,
}

impl Wiring {
    fn new(found: &[Found], keys: &[(String, bool)]) -> Self {
        let mut wiring = Wiring::default();
        for (f, (key, _)) in found.iter().zip(keys) {
            let section = f.kind.section();
            if let Some(arn) = f.observed.outputs.get("arn").and_then(Value::as_str) {
                wiring
                    .arns
                    .insert(arn.to_owned(), format!("${{{section}.{key}.arn}}"));
            }
            if let Some(uri) = f.observed.outputs.get("uri").and_then(Value::as_str) {
                wiring
                    .uris
                    .push((uri.to_owned(), format!("${{repositories.{key}.uri}}")));
            }
        }
        wiring
    }

    /// `value` as a reference when an output holds it.
    fn arn(&self, value: &str) -> String {
        self.arns
            .get(value)
            .cloned()
            .unwrap_or_else(|| escape(value))
    }

    /// An image as `${repositories.KEY.uri}:TAG` when its repository was
    /// found.
    fn image(&self, image: &str) -> String {
        for (uri, reference) in &self.uris {
            if let Some(rest) = image.strip_prefix(uri.as_str())
                && (rest.starts_with(':') || rest.starts_with('@'))
            {
                return format!("{reference}{}", escape(rest));
            }
        }
        escape(image)
    }
}

/// The stack language's words for cpu units and memory sizes.
fn friendly_units(key: &str, n: i64) -> Option<&'static str> {
    match (key, n) {
        ("cpu", 256) => Some("0.25 vCPU"),
        ("cpu", 512) => Some("0.5 vCPU"),
        ("cpu", 1024) => Some("1 vCPU"),
        ("cpu", 2048) => Some("2 vCPU"),
        ("cpu", 4096) => Some("4 vCPU"),
        ("memory", 512) => Some("0.5 GB"),
        ("memory", 1024) => Some("1 GB"),
        ("memory", 2048) => Some("2 GB"),
        ("memory", 3072) => Some("3 GB"),
        ("memory", 4096) => Some("4 GB"),
        ("memory", 6144) => Some("6 GB"),
        ("memory", 8192) => Some("8 GB"),
        ("memory", 10240) => Some("10 GB"),
        ("memory", 12288) => Some("12 GB"),
        _ => None,
    }
}

/// The order a person writes a service's fields in.
const SERVICE_ORDER: &[&str] = &[
    "image",
    "code",
    "access_role",
    "instance_role",
    "autoscaling",
    "vpc_connector",
    "observability",
    "port",
    "cpu",
    "memory",
    "start_command",
    "env",
    "secrets",
    "health_check",
    "auto_deploy",
    "ingress",
    "ip_address_type",
    "kms_key",
    "paused",
];

/// The order a person writes a code source's fields in (every field the
/// attributes have).
const CODE_ORDER: &[&str] = &[
    "repository",
    "branch",
    "connection",
    "source_directory",
    "configuration_source",
    "runtime",
    "build_command",
    "start_command",
];

/// Fields that are never written: what the key or the kind says already.
fn unwritten(kind: Kind, field: &str) -> bool {
    match kind {
        Kind::Service => matches!(field, "name" | "source_type" | "build"),
        Kind::Role => matches!(
            field,
            "name" | "trust_policy" | "managed_policies" | "inline_policies"
        ),
        Kind::Domain => field == "route53_zone",
        _ => field == "name",
    }
}

/// The entry of a resource (before defaults are left out), and the notes
/// on what could not be written.
fn entry_of(f: &Found, wiring: &Wiring, usage: Option<&str>) -> (Entries, Vec<String>) {
    let empty = Map::new();
    let attrs = f.observed.attributes.as_object().unwrap_or(&empty);
    let mut notes = Vec::new();
    let mut fields: Vec<&String> = attrs.keys().collect();
    if f.kind == Kind::Service {
        fields.sort_by_key(|k| SERVICE_ORDER.iter().position(|o| o == k).unwrap_or(99));
    }
    // Tags last.
    fields.sort_by_key(|k| *k == "tags");
    let mut entry = Entries::new();
    if f.kind == Kind::Role {
        role_fields(attrs, usage, &mut entry, &mut notes);
    }
    for field in fields {
        let value = &attrs[field];
        if unwritten(f.kind, field) || value.is_null() {
            continue;
        }
        let node = match (f.kind, field.as_str(), value) {
            (Kind::Service, "image", Value::String(s)) => Node::Str(wiring.image(s)),
            (Kind::Service, "cpu" | "memory", Value::Number(n)) => {
                match n.as_i64().and_then(|n| friendly_units(field, n)) {
                    Some(words) => Node::Str(words.to_owned()),
                    None => Node::from_json(value),
                }
            }
            (Kind::Service, "code", Value::Object(code)) => Node::Map(
                CODE_ORDER
                    .iter()
                    .filter_map(|k| {
                        let value = match code.get(*k)? {
                            Value::String(c) if *k == "connection" => Node::Str(wiring.arn(c)),
                            other => Node::from_json(other),
                        };
                        Some(Entry::new(*k, value))
                    })
                    .collect(),
            ),
            (Kind::Observability, "tracing", Value::String(s)) => Node::Str(s.to_ascii_lowercase()),
            (Kind::Role, "kind", _) => continue,
            (_, _, Value::String(s)) => Node::Str(wiring.arn(s)),
            _ => Node::from_json(value),
        };
        if !node.is_empty() {
            entry.push(Entry::new(field.clone(), node));
        }
    }
    notes.extend(f.notes.iter().cloned());
    (entry, notes)
}

/// A role's `kind`, `policies` (managed ARNs, then inline policies as
/// statements); notes what a statement holds that the language cannot
/// write.
fn role_fields(
    attrs: &Map<String, Value>,
    usage: Option<&str>,
    entry: &mut Entries,
    notes: &mut Vec<String>,
) {
    let kind = attrs
        .get("kind")
        .and_then(Value::as_str)
        .or(usage)
        .unwrap_or("instance");
    entry.push(Entry::new("kind", Node::Str(kind.to_owned())));
    let mut policies = Vec::new();
    for arn in attrs
        .get("managed_policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !(kind == "access" && arn == ECR_ACCESS_POLICY) {
            policies.push(Node::text(arn));
        }
    }
    for (name, text) in attrs
        .get("inline_policies")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match inline_policy(name, text.as_str().unwrap_or_default()) {
            Ok(node) => policies.push(node),
            Err(why) => notes.push(format!(
                "inline policy `{name}` {why}, which the stack language cannot write: left out (the plan shows its removal)"
            )),
        }
    }
    if !policies.is_empty() {
        entry.push(Entry::new("policies", Node::List(policies)));
    }
}

/// An inline policy as the language writes it, or why it cannot be.
fn inline_policy(name: &str, text: &str) -> Result<Node, String> {
    let doc: Value = serde_json::from_str(text).map_err(|_| "is not JSON".to_owned())?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err("has no statements".to_owned()),
    };
    let list = |v: Option<&Value>| -> Option<Vec<Node>> {
        match v? {
            Value::String(s) => Some(vec![Node::text(s)]),
            Value::Array(items) => items.iter().map(|i| i.as_str().map(Node::text)).collect(),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for s in &statements {
        let Some(s) = s.as_object() else {
            return Err("has a statement that is not an object".to_owned());
        };
        if let Some(other) = s
            .keys()
            .find(|k| !matches!(k.as_str(), "Effect" | "Action" | "Resource"))
        {
            return Err(format!("uses `{other}`"));
        }
        let mut statement = Entries::new();
        if s.get("Effect").and_then(Value::as_str) == Some("Deny") {
            statement.push(Entry::new("effect", Node::Str("Deny".into())));
        }
        let actions = list(s.get("Action")).ok_or("has no `Action` list")?;
        statement.push(Entry::new("actions", Node::List(actions)));
        if let Some(resources) = list(s.get("Resource"))
            && resources != vec![Node::Str("*".into())]
        {
            statement.push(Entry::new("resources", Node::List(resources)));
        }
        out.push(Node::Map(statement));
    }
    Ok(Node::Map(vec![
        Entry::new("name", Node::text(name)),
        Entry::new("statements", Node::List(out)),
    ]))
}

/// The addresses an entry references (`${section.key.…}`).
fn referenced(entry: &Entries) -> Vec<Address> {
    let mut text = String::new();
    write_map(&mut text, entry, 0);
    let mut out = Vec::new();
    for part in text.split("${").skip(1) {
        let inner = part.split('}').next().unwrap_or_default();
        let mut pieces = inner.split('.');
        if let (Some(section), Some(key)) = (pieces.next(), pieces.next())
            && let Some(kind) = Kind::from_section(section)
        {
            out.push(Address::new(kind, key));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The desired name and attributes of `address` in a stack holding
/// `entries` (address, entry), or `None` when it does not parse.
fn desired_of(
    stack: &str,
    region: &str,
    entries: &[(&Address, &Entries)],
    address: &Address,
) -> Option<(String, Value)> {
    let draft = Draft {
        stack: stack.to_owned(),
        region: region.to_owned(),
        header: Vec::new(),
        resources: entries
            .iter()
            .map(|(a, e)| Composed {
                address: (*a).clone(),
                physical_id: String::new(),
                attributes: Value::Null,
                outputs: BTreeMap::new(),
                entry: (*e).clone(),
                notes: Vec::new(),
            })
            .collect(),
    };
    let parsed = draft.parse().ok()?;
    desired(&parsed)
        .into_iter()
        .find(|d| &d.address == address)
        .map(|d| (d.name, d.attributes))
}

/// Leaves out of `entry` every field (and field of a nested map) whose
/// absence means the same resource; `context` holds the entries it
/// references.
fn trim(
    stack: &str,
    region: &str,
    address: &Address,
    entry: Entries,
    context: &[(&Address, &Entries)],
) -> Entries {
    let with = |e: &Entries| {
        let mut all: Vec<(&Address, &Entries)> = context.to_vec();
        all.push((address, e));
        desired_of(stack, region, &all, address)
    };
    let Some(baseline) = with(&entry) else {
        return entry;
    };
    let mut entry = entry;
    let mut i = 0;
    while i < entry.len() {
        let mut without = entry.clone();
        without.remove(i);
        if with(&without).as_ref() == Some(&baseline) {
            entry = without;
            continue;
        }
        if let Node::Map(inner) = &entry[i].value {
            let mut inner = inner.clone();
            let mut j = 0;
            while j < inner.len() {
                let mut fewer = inner.clone();
                fewer.remove(j);
                let mut candidate = entry.clone();
                candidate[i].value = Node::Map(fewer.clone());
                if with(&candidate).as_ref() == Some(&baseline) {
                    inner = fewer;
                } else {
                    j += 1;
                }
            }
            entry[i].value = Node::Map(inner);
        }
        i += 1;
    }
    entry
}

/// Composes the stack `stack` in `region` from what was found: one
/// resource per found resource, keyed by its name.
pub fn compose(stack: &str, region: &str, found: &[Found]) -> Draft {
    let keys = assign_keys(stack, found);
    let wiring = Wiring::new(found, &keys);
    // How services use roles: a role without an App Runner trust takes the
    // kind of its use.
    let mut usage: BTreeMap<String, &str> = BTreeMap::new();
    for f in found.iter().filter(|f| f.kind == Kind::Service) {
        for (field, kind) in [("access_role", "access"), ("instance_role", "instance")] {
            if let Some(arn) = f.observed.attributes.get(field).and_then(Value::as_str) {
                usage.insert(arn.to_owned(), kind);
            }
        }
    }
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by_key(|&i| (found[i].kind, keys[i].0.clone()));
    let mut done: Vec<Composed> = Vec::new();
    for i in order {
        let f = &found[i];
        let (key, default_name) = &keys[i];
        let address = Address::new(f.kind, key);
        let arn = f.observed.outputs.get("arn").and_then(Value::as_str);
        let (mut entry, notes) = entry_of(f, &wiring, arn.and_then(|a| usage.get(a).copied()));
        if !default_name && f.kind != Kind::Domain {
            entry.insert(0, Entry::new("name", Node::text(&name_of(f))));
        }
        let wanted = referenced(&entry);
        let context: Vec<(&Address, &Entries)> = done
            .iter()
            .filter(|c| wanted.contains(&c.address))
            .map(|c| (&c.address, &c.entry))
            .collect();
        let entry = trim(stack, region, &address, entry, &context);
        done.push(Composed {
            attributes: f.observed.attributes.clone(),
            outputs: f.observed.outputs.clone(),
            physical_id: f.id.clone(),
            address,
            entry,
            notes,
        });
    }
    done.sort_by(|a, b| a.address.cmp(&b.address));
    Draft {
        stack: stack.to_owned(),
        region: region.to_owned(),
        header: Vec::new(),
        resources: done,
    }
}
