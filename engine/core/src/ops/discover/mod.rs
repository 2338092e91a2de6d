//! `discover`: read the App Runner services in scope (or the resources a
//! Terraform state names) and everything they use, compose a stack that
//! declares exactly that ([`crate::discover::compose`]), and record it as
//! the stack's state, so plan and drift are empty at once. Adopted
//! resources get apprun's ownership tags at once (`--tag-now`) or on the
//! next apply ([`claim_adopted`]).

mod claim;
mod files;
mod reading;
mod scope;

use std::collections::BTreeMap;
use std::sync::Arc;

use apprun_schema::{Address, Kind};
use serde_json::{Value, json};

use super::{Hooks, OpError, Workspace};
use crate::desired::desired;
use crate::discover::terraform::TerraformInventory;
use crate::discover::{Draft, Found, compose};
use crate::plan::{Action, PlanInput, PlanOptions, plan as make_plan};
use crate::provider::{Provider, ProviderError};
use crate::record::recorded;
use crate::target::Target;

pub use claim::{claim_adopted, claim_now, unclaimed};
pub use files::Destination;
pub use scope::{CLOUDFORMATION_TAG, read_terraform_file};

use reading::{Read, read_many};
use scope::{
    account, is_default_configuration, not_ours, repository_of, services_in_scope, terraform_seeds,
    used_by,
};

/// Which services to bring in.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only services whose name starts with this.
    pub name_prefix: Option<String>,
    /// Only services carrying every one of these tags.
    pub tags: Vec<(String, String)>,
    /// Only these services (ARNs); all of the region when empty.
    pub services: Vec<String>,
}

/// Where what to adopt comes from.
#[derive(Debug, Clone)]
pub enum Scope {
    /// The services of the region that pass the filters, and what they use.
    Live(Filters),
    /// The resources a Terraform state names.
    Terraform(TerraformInventory),
}

/// What to discover.
#[derive(Debug, Clone)]
pub struct DiscoverRequest {
    /// The stack to write.
    pub stack: String,
    /// The region read.
    pub region: String,
    /// What to adopt.
    pub scope: Scope,
    /// Adopt resources CloudFormation (or Copilot) manages too.
    pub include_managed: bool,
}

/// A resource found and not adopted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// What it is (kind and name or id).
    pub what: String,
    /// Why it was left alone.
    pub why: String,
}

/// What discover found and composed.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The stack to write and the records of its state.
    pub draft: Draft,
    /// Resources found and left alone.
    pub skipped: Vec<Skipped>,
    /// What the stack language cannot say or apprun could not read, each
    /// also a comment in the file.
    pub warnings: Vec<String>,
}

/// Who uses a resource discover follows: the service and its field.
type Users = Vec<(String, &'static str)>;

/// What discover has gathered so far.
#[derive(Default)]
struct Gathering {
    /// Read and adopted.
    adopted: Vec<Read>,
    /// To read next, with the services that use each.
    wanted: BTreeMap<(Kind, String), Users>,
    /// Found and left alone.
    skipped: Vec<Skipped>,
    /// Comments for the entries, by physical id.
    notes: BTreeMap<String, Vec<String>>,
}

impl Gathering {
    /// Adopts `read` unless it is another owner's (or can only be
    /// deleted); `true` when adopted.
    fn adopt(&mut self, read: Read, request: &DiscoverRequest) -> bool {
        let name = read
            .observed
            .attributes
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&read.id);
        let what = format!("{} {name}", read.kind.noun());
        let why = not_ours(&read.tags, &request.stack, request.include_managed).or_else(|| {
            read.observed
                .failed
                .clone()
                .map(|f| format!("{f}: it can only be deleted"))
        });
        if let Some(why) = why {
            self.skipped.push(Skipped { what, why });
            return false;
        }
        self.adopted.push(read);
        true
    }

    /// Wants `id` of `kind`, used by `service` as `field`.
    fn want(&mut self, kind: Kind, id: String, user: Option<(&str, &'static str)>) {
        let users = self.wanted.entry((kind, id)).or_default();
        if let Some((service, field)) = user {
            users.push((service.to_owned(), field));
        }
    }

    /// Notes on each user of `id` that it stays as found, because it could
    /// not be read.
    fn unread(&mut self, kind: Kind, id: &str, error: &ProviderError) -> Result<(), OpError> {
        let users = self
            .wanted
            .get(&(kind, id.to_owned()))
            .cloned()
            .unwrap_or_default();
        if users.is_empty() {
            return Err(OpError::NotRead {
                count: 1,
                details: format!("{id}: {error}"),
            });
        }
        let why = if matches!(error, ProviderError::AccessDenied { .. }) {
            "reading it was denied, so it is not adopted"
        } else {
            "it could not be read, so it is not adopted"
        };
        for (service, field) in users {
            let message = format!("`{field}` stays as found ({id}): {why} ({error})");
            self.notes.entry(service).or_default().push(message);
        }
        Ok(())
    }
}

/// The services to read and the other resources to read by themselves.
async fn seeds<P: Provider + 'static>(
    provider: &Arc<P>,
    request: &DiscoverRequest,
    hooks: &dyn Hooks,
) -> Result<(Vec<String>, Vec<(Kind, String)>), OpError> {
    let (services, others) = match &request.scope {
        Scope::Live(filters) => {
            hooks.notice(&format!(
                "Listing App Runner services in {}...",
                request.region
            ));
            (services_in_scope(provider, filters).await?, Vec::new())
        }
        Scope::Terraform(inventory) => {
            let (s, o): (Vec<_>, Vec<_>) = terraform_seeds(inventory)
                .into_iter()
                .partition(|(k, _)| *k == Kind::Service);
            (s.into_iter().map(|(_, id)| id).collect(), o)
        }
    };
    if services.is_empty() && others.is_empty() {
        return Err(OpError::NothingFound {
            region: request.region.clone(),
            filters: describe_scope(&request.scope),
        });
    }
    Ok((services, others))
}

/// Reads the services, adopts those that are not another owner's, and
/// wants what each uses.
async fn gather_services<P: Provider + 'static>(
    provider: &Arc<P>,
    request: &DiscoverRequest,
    services: Vec<String>,
    hooks: &dyn Hooks,
    g: &mut Gathering,
) -> Result<(), OpError> {
    hooks.notice(&format!("Reading {} service(s)...", services.len()));
    // A service read with a record naming some other configuration reports
    // the one it uses, which discover follows.
    let hint = json!({ "autoscaling": "?" });
    let items = services
        .into_iter()
        .map(|arn| (Kind::Service, arn, hint.clone()))
        .collect();
    let live = matches!(request.scope, Scope::Live(_));
    let (read, failed) = read_many(provider, items, live, hooks).await;
    if let Some((_, id, error)) = failed.into_iter().next() {
        return Err(OpError::NotRead {
            count: 1,
            details: format!("{id}: {error}"),
        });
    }
    for mut s in read {
        let attrs = &mut s.observed.attributes;
        if attrs
            .get("autoscaling")
            .and_then(Value::as_str)
            .is_some_and(is_default_configuration)
            && let Some(map) = attrs.as_object_mut()
        {
            // App Runner's own default: not the stack's to manage.
            map.remove("autoscaling");
        }
        let id = s.id.clone();
        let attached = std::mem::take(&mut s.attached);
        let mut uses: Vec<(Kind, String, &'static str)> = used_by(attrs);
        if let (Some(image), Some(acct)) =
            (attrs.get("image").and_then(Value::as_str), account(&id))
            && let Some(repo) = repository_of(image, acct)
        {
            uses.push((Kind::Repository, repo.to_owned(), "image"));
        }
        if !g.adopt(s, request) {
            continue;
        }
        for (kind, used, field) in uses {
            g.want(kind, used, Some((&id, field)));
        }
        for (kind, other) in attached {
            g.want(kind, other, None);
        }
    }
    Ok(())
}

/// Reads what the services use (and a Terraform state's other resources)
/// and adopts what is not another owner's.
async fn gather_used<P: Provider + 'static>(
    provider: &Arc<P>,
    request: &DiscoverRequest,
    hooks: &dyn Hooks,
    g: &mut Gathering,
) -> Result<(), OpError> {
    let items = g
        .wanted
        .keys()
        .map(|(kind, id)| (*kind, id.clone(), Value::Null))
        .collect();
    hooks.notice(&format!(
        "Reading {} resource(s) the services use...",
        g.wanted.len()
    ));
    let (read, failed) = read_many(provider, items, false, hooks).await;
    for (kind, id, error) in failed {
        g.unread(kind, &id, &error)?;
    }
    for r in read {
        g.adopt(r, request);
    }
    Ok(())
}

/// Refuses a stack name or region the stack language would refuse, before
/// anything is read.
pub fn check_request(request: &DiscoverRequest) -> Result<(), OpError> {
    use apprun_schema::patterns::{REGION, STACK_NAME};
    for (rule, value) in [(&STACK_NAME, &request.stack), (&REGION, &request.region)] {
        if !rule.matches(value) {
            return Err(OpError::InvalidName {
                what: rule.what,
                value: value.clone(),
                rule: rule.help,
            });
        }
    }
    Ok(())
}

/// Reads what `request` names and composes its stack. Nothing is written.
pub async fn discover<P: Provider + 'static>(
    provider: Arc<P>,
    request: &DiscoverRequest,
    hooks: &dyn Hooks,
) -> Result<Discovery, OpError> {
    check_request(request)?;
    provider.preflight().await?;
    let (services, others) = seeds(&provider, request, hooks).await?;
    let mut g = Gathering::default();
    for (kind, id) in others {
        g.want(kind, id, None);
    }
    gather_services(&provider, request, services, hooks, &mut g).await?;
    gather_used(&provider, request, hooks, &mut g).await?;
    let mut notes = std::mem::take(&mut g.notes);
    let found: Vec<Found> = g
        .adopted
        .into_iter()
        .map(|r| Found {
            notes: notes.remove(&r.id).unwrap_or_default(),
            kind: r.kind,
            id: r.id,
            observed: r.observed,
        })
        .collect();
    if found.is_empty() {
        return Err(OpError::NothingAdopted {
            details: g
                .skipped
                .iter()
                .map(|s| format!("{}: {}", s.what, s.why))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let mut draft = compose(&request.stack, &request.region, &found);
    let changes = check_plan(&mut draft)?;
    draft.header = header(request, &draft, &g.skipped, changes);
    // Every comment in the file is a warning too.
    let warnings = draft
        .resources
        .iter()
        .flat_map(|r| r.notes.iter().map(move |n| format!("{}: {n}", r.address)))
        .collect();
    Ok(Discovery {
        draft,
        skipped: g.skipped,
        warnings,
    })
}

/// The scope in words, for "nothing found".
fn describe_scope(scope: &Scope) -> String {
    match scope {
        Scope::Terraform(_) => "the Terraform file's App Runner, IAM role and ECR resources".into(),
        Scope::Live(f) => {
            let mut parts = Vec::new();
            if let Some(p) = &f.name_prefix {
                parts.push(format!("--name-prefix {p}"));
            }
            parts.extend(f.tags.iter().map(|(k, v)| format!("--tag {k}={v}")));
            parts.extend(f.services.iter().map(|s| format!("--service {s}")));
            if parts.is_empty() {
                "no filters".into()
            } else {
                parts.join(" ")
            }
        }
    }
}

/// The comment at the top of the written file.
fn header(
    request: &DiscoverRequest,
    draft: &Draft,
    skipped: &[Skipped],
    changes: usize,
) -> Vec<String> {
    let plan = if changes == 0 {
        "`apprun plan` against the state it wrote shows no changes; edit from here.".to_owned()
    } else {
        format!(
            "`apprun plan` shows {changes} change(s): what the stack language cannot write, noted where it is."
        )
    };
    let mut lines = vec![
        format!(
            "Written by `apprun discover` from {} ({} resources).",
            request.region,
            draft.resources.len()
        ),
        plan,
    ];
    for s in skipped {
        lines.push(format!("Not adopted: {}: {}.", s.what, s.why));
    }
    lines
}

/// The state records of `draft` under `key`, as apply would write them.
fn records(
    draft: &Draft,
    stack: &apprun_schema::Stack,
    key: &apprun_state::DigestKey,
) -> Vec<apprun_state::Resource> {
    let declared: BTreeMap<Address, _> = desired(stack)
        .into_iter()
        .map(|d| (d.address.clone(), d))
        .collect();
    draft
        .resources
        .iter()
        .filter_map(|c| {
            let d = declared.get(&c.address)?;
            Some(recorded(
                d,
                &c.attributes,
                &c.physical_id,
                c.outputs.clone(),
                key,
            ))
        })
        .collect()
}

/// Plans the composed stack against its records: every change is
/// something the language could not say, noted on its resource (unless a
/// note says it already); returns how many changes the plan has.
fn check_plan(draft: &mut Draft) -> Result<usize, OpError> {
    let stack = draft.parse().map_err(|errors| OpError::Composed {
        details: errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let mut state = super::empty_state();
    for record in records(draft, &stack, &state.digest_key.clone()) {
        state.upsert(record);
    }
    let plan = make_plan(PlanInput {
        stack: &stack,
        target: Target::Aws,
        state: Some(&state),
        observed: None,
        options: &PlanOptions::default(),
        stack_digest: "",
    });
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    for change in &changes {
        let fields: Vec<String> = change
            .attributes
            .iter()
            .map(|a| format!("`{}`", a.path))
            .collect();
        let message = format!(
            "the live value of {} is one the stack language cannot write: `apprun plan` shows the {}{}",
            if fields.is_empty() {
                "it".to_owned()
            } else {
                fields.join(", ")
            },
            change.action.name(),
            if change.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", change.reasons.join("; "))
            }
        );
        // A resource whose notes say already what the language cannot
        // write keeps those.
        let noted = draft
            .resources
            .iter()
            .any(|r| r.address == change.address && !r.notes.is_empty());
        if !noted {
            draft.note(&change.address, message);
        }
    }
    Ok(changes.len())
}

/// Records the discovered resources as the state of the stack in `ws`
/// (written from the draft). With `claimed`, their ownership tags are on
/// them already; else each is marked for the next apply to tag.
pub fn record(
    ws: &Workspace<'_>,
    discovery: &Discovery,
    claimed: bool,
    hooks: &dyn Hooks,
) -> Result<usize, OpError> {
    let _lock = ws.lock("discover", None, hooks)?;
    let mut journal = ws.journal()?;
    if let Some(existing) = journal.snapshot().resources.first() {
        return Err(OpError::AlreadyInState {
            address: existing.address.clone(),
        });
    }
    let key = journal.snapshot().digest_key.clone();
    let mut records = records(&discovery.draft, ws.stack, &key);
    for r in &mut records {
        r.unclaimed = !claimed;
    }
    let count = records.len();
    journal.update(|snapshot| {
        for r in records {
            snapshot.upsert(r);
        }
    })?;
    Ok(count)
}
