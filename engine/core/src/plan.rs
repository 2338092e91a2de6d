//! The planner: desired state, recorded state and (optionally) observations
//! in; a deterministic list of changes out. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use apprun_schema::{Address, Kind, Stack};
use apprun_state::{DigestKey, PendingAction, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desired::{DesiredResource, desired};
use crate::diff::{AttributeChange, diff, top_level};
use crate::graph::Graph;
use crate::kinds::rules;
use crate::target::Target;
use crate::values::{is_unknown, seal_with, unknown, unseal_matching};

/// Version of the plan JSON format (README documents it).
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Create it.
    Create,
    /// Change it in place.
    Update,
    /// Delete it and create it again (see [`ReplaceOrder`]).
    Replace,
    /// Delete it.
    Delete,
}

impl Action {
    /// The symbol Terraform users know.
    pub fn symbol(self, order: Option<ReplaceOrder>) -> &'static str {
        match (self, order) {
            (Action::NoOp, _) => " ",
            (Action::Create, _) => "+",
            (Action::Update, _) => "~",
            (Action::Replace, Some(ReplaceOrder::CreateBeforeDestroy)) => "+/-",
            (Action::Replace, _) => "-/+",
            (Action::Delete, _) => "-",
        }
    }

    /// The operation's name, for what happened to it ("create failed").
    pub fn name(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "destroy",
        }
    }

    /// The verb for summaries ("will be created").
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "is unchanged",
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
        }
    }
}

/// How a replacement is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// The new one is created first, dependents are repointed, then the old
    /// one is deleted (possible when both can exist at once).
    CreateBeforeDestroy,
    /// The old one is deleted first (its name must be free for the new one).
    DeleteFirst,
}

/// The planned change of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource address.
    pub address: Address,
    /// Its kind.
    pub kind: Kind,
    /// Its physical name (after the change).
    pub name: String,
    /// What happens.
    pub action: Action,
    /// For a replacement, its order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
    /// Why, in words (e.g. "`kms_key` cannot change in place").
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub reasons: Vec<String>,
    /// The attributes that change (updates and replacements).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attributes: Vec<AttributeChange>,
    /// The attributes before (sealed: no secret values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The attributes after (sealed; unknown values marked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// What it depends on.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub depends_on: Vec<Address>,
}

/// An operation a previous apply started and never finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupted {
    /// The resource.
    pub address: String,
    /// What was being done (`create`, `update`, `delete`, `replace`).
    pub action: String,
    /// When it started.
    pub started_at: String,
}

/// Counts in the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creations, including the create half of replacements.
    pub add: usize,
    /// In-place updates.
    pub change: usize,
    /// Deletions, including the delete half of replacements.
    pub destroy: usize,
    /// Replacements (counted in `add` and `destroy` too).
    pub replace: usize,
    /// Resources with nothing to do.
    pub unchanged: usize,
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack name.
    pub stack: String,
    /// The target.
    pub target: Target,
    /// The state lineage the plan was made against (`None`: no state yet).
    pub lineage: Option<String>,
    /// The state serial the plan was made against (0: no state yet).
    pub serial: u64,
    /// Digest of the stack text and variable values the plan was made from.
    pub stack_digest: String,
    /// Every resource with something to do, in address order.
    pub changes: Vec<Change>,
    /// The order apply will start them in (dependencies first, deletions last
    /// in reverse dependency order).
    pub apply_order: Vec<Address>,
    /// Operations interrupted by a crash of an earlier apply.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub interrupted: Vec<Interrupted>,
    /// The counts.
    pub summary: Summary,
}

impl Plan {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// What a provider saw of one resource when refreshing.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// It exists; attributes normalized like desired ones, secrets sealed.
    Present {
        /// The attributes.
        attributes: Value,
        /// Set when the resource is in a state it cannot leave but by
        /// deletion (App Runner `CREATE_FAILED`), with the reason.
        failed: Option<String>,
    },
    /// It no longer exists.
    Absent,
}

/// Options of a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan only these resources and what they depend on (empty: all).
    pub targets: Vec<Address>,
    /// Replace these resources even if nothing changed.
    pub replace: Vec<Address>,
    /// Plan the destruction of everything in state.
    pub destroy: bool,
}

/// Everything the planner reads.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The validated stack.
    pub stack: &'a Stack,
    /// Where the stack is deployed.
    pub target: Target,
    /// The recorded state, if any.
    pub state: Option<&'a Snapshot>,
    /// What a refresh saw, if one ran.
    pub observed: Option<&'a BTreeMap<Address, Observation>>,
    /// The options.
    pub options: &'a PlanOptions,
    /// Digest of the stack text and variables (see [`stack_digest`]).
    pub stack_digest: &'a str,
}

/// Digest of a stack's text and the variable values in effect, recorded in a
/// saved plan so a later apply can tell the stack changed.
pub fn stack_digest(text: &str, stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    for (name, variable) in stack.variables.iter() {
        hasher.update(b"\0var\0");
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(
            variable
                .value
                .value
                .as_deref()
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The outputs a resource will have after apply, where known now.
pub type KnownOutputs = BTreeMap<Address, Option<BTreeMap<String, Value>>>;

/// The outputs of every resource `snapshot` records, as references resolve
/// against them.
pub fn recorded_known_outputs(snapshot: &Snapshot) -> KnownOutputs {
    snapshot
        .resources
        .iter()
        .filter_map(|r| Some((Address::parse(&r.address)?, Some(r.outputs.clone()))))
        .collect()
}

/// The outputs of what `desired` depends on, for those recorded.
pub(crate) fn dependency_outputs(
    desired: &DesiredResource,
    known: &KnownOutputs,
) -> BTreeMap<Address, BTreeMap<String, Value>> {
    desired
        .dependencies
        .iter()
        .filter_map(|a| Some((a.clone(), known.get(a)?.clone()?)))
        .collect()
}

/// Replaces `${KIND.NAME.ATTR}` in every string of `value` with the
/// referenced output, or the whole string with the unknown marker when the
/// output is not known yet.
pub fn resolve_references(value: &Value, known: &KnownOutputs) -> Value {
    match value {
        Value::String(text) if text.contains("${") => {
            let resolved = apprun_schema::expr::resolve(text, |expr| match expr {
                apprun_schema::expr::Expr::Attr {
                    kind,
                    name,
                    attribute,
                } => {
                    let address = Address::new(Kind::from_section(kind)?, *name);
                    let outputs = known.get(&address)?.as_ref()?;
                    match outputs.get(*attribute)? {
                        Value::String(s) => Some(s.clone()),
                        other if !other.is_null() => Some(other.to_string()),
                        _ => None,
                    }
                }
                apprun_schema::expr::Expr::Var(_) => None,
            });
            resolved.map_or_else(unknown, Value::String)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve_references(v, known)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_references(v, known)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn recorded_outputs(
    state: Option<&Snapshot>,
    address: &Address,
) -> Option<BTreeMap<String, Value>> {
    state
        .and_then(|s| s.resource(&address.to_string()))
        .map(|r| r.outputs.clone())
}

/// Computes the plan.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let zero_key = DigestKey::from_bytes([0; 32]);
    let key = input.state.map_or(&zero_key, |s| &s.digest_key);
    let desired_list = desired(input.stack);
    let graph = Graph::from_desired(&desired_list);
    let by_address: BTreeMap<&Address, &DesiredResource> =
        desired_list.iter().map(|d| (&d.address, d)).collect();
    let pending: BTreeMap<String, &apprun_state::PendingOp> = input
        .state
        .map(|s| s.pending.iter().map(|p| (p.address.clone(), p)).collect())
        .unwrap_or_default();

    let mut known: KnownOutputs = BTreeMap::new();
    let mut changes: BTreeMap<Address, Change> = BTreeMap::new();
    let mut order: Vec<Address> = Vec::new();

    if !input.options.destroy {
        for address in graph.topological() {
            let Some(resource) = by_address.get(&address) else {
                continue;
            };
            let change = plan_one(
                &input,
                resource,
                key,
                &known,
                &graph,
                pending.get(&address.to_string()).copied(),
            );
            let stable = matches!(change.action, Action::NoOp | Action::Update);
            known.insert(
                address.clone(),
                if stable {
                    recorded_outputs(input.state, &address)
                } else {
                    None
                },
            );
            order.push(address.clone());
            changes.insert(address, change);
        }
    }

    // Recorded resources the stack no longer declares (or all, to destroy).
    let mut deletions: Vec<&apprun_state::Resource> = input
        .state
        .map(|s| {
            s.resources
                .iter()
                .filter(|r| {
                    input.options.destroy
                        || Address::parse(&r.address).is_none_or(|a| !by_address.contains_key(&a))
                })
                .collect()
        })
        .unwrap_or_default();
    deletions.sort_by(|a, b| a.address.cmp(&b.address));
    let delete_order = reverse_dependency_order(&deletions);
    for record in &deletions {
        let Some(address) = Address::parse(&record.address) else {
            continue;
        };
        let name = record
            .attributes
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut reasons = Vec::new();
        if !input.options.destroy {
            reasons.push("no longer in the stack".to_string());
        }
        changes.insert(
            address.clone(),
            Change {
                kind: address.kind,
                address: address.clone(),
                name,
                action: Action::Delete,
                replace_order: None,
                reasons,
                attributes: Vec::new(),
                before: Some(record.attributes.clone()),
                after: None,
                depends_on: record
                    .dependencies
                    .iter()
                    .filter_map(|d| Address::parse(d))
                    .collect(),
            },
        );
    }
    order.extend(delete_order);

    apply_targets(&mut changes, &mut order, &graph, input.options);

    let mut summary = Summary::default();
    for change in changes.values() {
        match change.action {
            Action::NoOp => summary.unchanged += 1,
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Delete => summary.destroy += 1,
            Action::Replace => {
                summary.replace += 1;
                summary.add += 1;
                summary.destroy += 1;
            }
        }
    }
    let interrupted = input
        .state
        .map(|s| {
            s.pending
                .iter()
                .map(|p| Interrupted {
                    address: p.address.clone(),
                    action: pending_word(&p.action).to_string(),
                    started_at: p.started_at.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let apply_order: Vec<Address> = order
        .into_iter()
        .filter(|a| changes.get(a).is_some_and(|c| c.action != Action::NoOp))
        .collect();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: input.stack.stack.value.clone(),
        target: input.target,
        lineage: input.state.map(|s| s.lineage.to_string()),
        serial: input.state.map_or(0, |s| s.serial),
        stack_digest: input.stack_digest.to_string(),
        changes: changes
            .into_values()
            .filter(|c| c.action != Action::NoOp)
            .collect(),
        apply_order,
        interrupted,
        summary,
    }
}

fn pending_word(action: &PendingAction) -> &'static str {
    match serde_json::to_value(action)
        .ok()
        .as_ref()
        .and_then(Value::as_str)
    {
        Some("create") => "create",
        Some("update") => "update",
        Some("delete") => "delete",
        Some("replace") => "replace",
        _ => "change",
    }
}

fn plan_one(
    input: &PlanInput<'_>,
    resource: &DesiredResource,
    key: &DigestKey,
    known: &KnownOutputs,
    graph: &Graph,
    pending: Option<&apprun_state::PendingOp>,
) -> Change {
    let address = &resource.address;
    let kind_rules = rules(address.kind);
    let after = seal_with(
        &kind_rules,
        &resolve_references(&resource.attributes, known),
        key,
        &resource.sensitive,
    );
    let recorded = input.state.and_then(|s| s.resource(&address.to_string()));
    let mut reasons = Vec::new();
    if let Some(op) = pending {
        reasons.push(format!(
            "interrupted while {} (started {}); apply first looks it up by its ownership tags",
            match pending_word(&op.action) {
                "create" => "creating",
                "update" => "updating",
                "delete" => "deleting",
                "replace" => "replacing",
                _ => "changing",
            },
            op.started_at
        ));
    }
    let mut change = Change {
        address: address.clone(),
        kind: address.kind,
        name: resource.name.clone(),
        action: Action::NoOp,
        replace_order: None,
        reasons,
        attributes: Vec::new(),
        before: None,
        after: Some(after.clone()),
        depends_on: graph.dependencies(address),
    };
    let (baseline, failed) = match (input.observed.and_then(|o| o.get(address)), recorded) {
        (_, None) => {
            change.action = Action::Create;
            if let Some(note) = input.target.kind_note(address.kind) {
                change.reasons.push(note.to_string());
            }
            return change;
        }
        (Some(Observation::Absent), Some(_)) => {
            change.action = Action::Create;
            change
                .reasons
                .push("deleted outside apprun; it will be created again".to_string());
            return change;
        }
        (Some(Observation::Present { attributes, failed }), Some(_)) => {
            (attributes.clone(), failed.clone())
        }
        (None, Some(record)) => (record.attributes.clone(), None),
    };
    // What the stack now calls sensitive is sealed on both sides; what it
    // no longer does compares by digest with an older sealed record.
    let baseline = unseal_matching(
        &seal_with(&kind_rules, &baseline, key, &resource.sensitive),
        &after,
        key,
    );
    change.before = Some(baseline.clone());
    let mut attributes = diff(&baseline, &after);
    let mut forced: BTreeSet<String> = BTreeSet::new();
    for attribute in &mut attributes {
        let field = top_level(&attribute.path);
        // An unknown value (a dependency being replaced) forces a replacement
        // only if the field itself does.
        if kind_rules.forces_replacement(field) {
            attribute.forces_replacement = true;
            forced.insert(field.to_string());
        }
    }
    let requested = input.options.replace.contains(address);
    let incomplete = recorded.and_then(|r| r.incomplete.as_deref());
    if let Some(reason) = incomplete {
        change
            .reasons
            .push(format!("its create did not finish ({reason})"));
    }
    if let Some(reason) = failed {
        change.reasons.push(reason);
        change.action = Action::Replace;
    } else if requested {
        change
            .reasons
            .push("replacement requested with --replace".to_string());
        change.action = Action::Replace;
    } else if !forced.is_empty() {
        for field in &forced {
            change
                .reasons
                .push(format!("`{field}` cannot change in place"));
        }
        change.action = Action::Replace;
    } else if !attributes.is_empty() || incomplete.is_some() {
        // An incomplete resource is updated even when nothing differs: the
        // update finishes it and records it as complete.
        change.action = Action::Update;
    }
    if change.action == Action::Replace {
        let renamed = attributes
            .iter()
            .any(|a| a.path == "name" && !a.after.as_ref().is_some_and(is_unknown));
        change.replace_order = Some(if kind_rules.coexist_same_name || renamed {
            ReplaceOrder::CreateBeforeDestroy
        } else {
            ReplaceOrder::DeleteFirst
        });
        if address.kind == Kind::VpcConnector
            && change.replace_order == Some(ReplaceOrder::DeleteFirst)
        {
            // App Runner keeps one connector per name, so a connector whose
            // name stays must go before its replacement exists, and App
            // Runner refuses to delete one that a service uses.
            change.reasons.push(
                "App Runner allows one connector per name and refuses to delete one in use: drop or change `name` to replace it create-before-destroy".to_string(),
            );
        }
    }
    change.attributes = attributes;
    if change.action != Action::NoOp
        && let Some(note) = input.target.kind_note(address.kind)
    {
        change.reasons.push(note.to_string());
    }
    change
}

/// Deletions ordered so a resource goes before what it depends on.
fn reverse_dependency_order(records: &[&apprun_state::Resource]) -> Vec<Address> {
    let addresses: BTreeSet<&str> = records.iter().map(|r| r.address.as_str()).collect();
    let mut remaining: Vec<&apprun_state::Resource> = records.to_vec();
    let mut out = Vec::new();
    while !remaining.is_empty() {
        // A record is ready when no remaining record depends on it.
        let ready: Vec<usize> = (0..remaining.len())
            .filter(|i| {
                let address = remaining[*i].address.as_str();
                !remaining
                    .iter()
                    .any(|r| r.dependencies.iter().any(|d| d == address))
            })
            .collect();
        let take: Vec<usize> = if ready.is_empty() {
            (0..remaining.len()).collect()
        } else {
            ready
        };
        for &i in take.iter().rev() {
            let record = remaining.remove(i);
            if addresses.contains(record.address.as_str())
                && let Some(address) = Address::parse(&record.address)
            {
                out.push(address);
            }
        }
    }
    // Within one batch, keep address order for determinism.
    out
}

/// Restricts the plan to the targets and what they depend on.
fn apply_targets(
    changes: &mut BTreeMap<Address, Change>,
    order: &mut Vec<Address>,
    graph: &Graph,
    options: &PlanOptions,
) {
    if options.targets.is_empty() {
        return;
    }
    let mut keep: BTreeSet<Address> = BTreeSet::new();
    for target in &options.targets {
        keep.insert(target.clone());
        keep.extend(graph.transitive_dependencies(target));
    }
    changes.retain(|address, _| keep.contains(address));
    order.retain(|address| keep.contains(address));
}
