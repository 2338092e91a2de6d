//! Scheduling: the DAG of steps built from a plan, the order in which ready
//! steps start (critical-path list scheduling, [`start_order`]), and where
//! each step stands: running, done, failed, or skipped because something it
//! waits for failed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use apprun_schema::Address;
use apprun_state::{Snapshot, StateError};
use tokio::task::JoinError;

use super::ChangeOutcome;
use super::job::TaskError;
use super::start::Finished;
use crate::plan::{Action, Change, Plan, ReplaceOrder};
use crate::provider::ProviderError;

/// What one node does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Step {
    /// Create a new resource.
    Create,
    /// Change a resource in place.
    Update,
    /// Delete-first replacement: delete, then create.
    DeleteThenCreate,
    /// Create-before-destroy replacement, first half: create the new one.
    CreateReplacement,
    /// Create-before-destroy replacement, second half: delete the old one.
    DeleteOld,
    /// Delete a removed resource.
    Delete,
}

impl Step {
    /// What a progress line says when the step starts and when it is done
    /// (Terraform's "Creating..." / "Creation complete after 2s").
    pub(super) fn words(self) -> (&'static str, &'static str) {
        match self {
            Step::Create => ("creating...", "created"),
            Step::Update => ("updating in place...", "updated"),
            Step::DeleteThenCreate => ("replacing (delete first)...", "replaced"),
            Step::CreateReplacement => ("creating the replacement...", "replacement created"),
            Step::DeleteOld => ("deleting the replaced one...", "replaced one deleted"),
            Step::Delete => ("destroying...", "destroyed"),
        }
    }

    /// The step a change starts with (`None`: nothing to do).
    fn of(change: &Change) -> Option<Step> {
        Some(match (change.action, change.replace_order) {
            (Action::Create, _) => Step::Create,
            (Action::Update, _) => Step::Update,
            (Action::Delete, _) => Step::Delete,
            (Action::Replace, Some(ReplaceOrder::CreateBeforeDestroy)) => Step::CreateReplacement,
            (Action::Replace, _) => Step::DeleteThenCreate,
            (Action::NoOp, _) => return None,
        })
    }
}

/// One step of an apply and the steps it waits for.
pub(super) struct Node {
    /// The resource it changes.
    pub(super) address: Address,
    /// The planned action it belongs to.
    pub(super) action: Action,
    /// What it does.
    pub(super) step: Step,
    /// The indices of the nodes it waits for.
    pub(super) deps: BTreeSet<usize>,
}

/// The nodes of one apply and where each stands.
pub(super) struct Schedule {
    nodes: Vec<Node>,
    /// Node indices, in the order ready nodes start.
    order: Vec<usize>,
    /// Per node, how it ended (`None`: not yet).
    status: Vec<Option<ChangeOutcome>>,
    running: BTreeSet<usize>,
    parallelism: usize,
}

impl Schedule {
    /// The schedule of `plan`'s changes, at most `parallelism` at once;
    /// `snapshot` (the state the plan was made against) tells what a
    /// deleted resource's dependents were.
    pub(super) fn new(plan: &Plan, snapshot: &Snapshot, parallelism: usize) -> Self {
        let nodes = build_nodes(plan, &recorded_dependencies(snapshot));
        Schedule {
            order: start_order(&nodes),
            status: vec![None; nodes.len()],
            running: BTreeSet::new(),
            parallelism: parallelism.max(1),
            nodes,
        }
    }

    /// Marks as skipped every node that waits, directly or not, for a
    /// failed one.
    pub(super) fn skip_dependents_of_failures(&mut self) {
        loop {
            let mut changed_any = false;
            for i in 0..self.nodes.len() {
                if self.status[i].is_some() || self.running.contains(&i) {
                    continue;
                }
                if let Some(because) = self.failed_dependency(i) {
                    self.status[i] = Some(ChangeOutcome::Skipped { because });
                    changed_any = true;
                }
            }
            if !changed_any {
                break;
            }
        }
    }

    /// The failed change node `i` waits for, directly or through a skipped
    /// node.
    fn failed_dependency(&self, i: usize) -> Option<Address> {
        let dep = *self.nodes[i].deps.iter().find(|d| {
            matches!(
                self.status[**d],
                Some(ChangeOutcome::Failed(_)) | Some(ChangeOutcome::Skipped { .. })
            )
        })?;
        Some(match &self.status[dep] {
            Some(ChangeOutcome::Skipped { because }) => because.clone(),
            _ => self.nodes[dep].address.clone(),
        })
    }

    /// Starts ready nodes with `start`, in start order, while fewer than
    /// the parallelism bound run. A node `start` refuses fails with its
    /// error.
    pub(super) fn start_ready(
        &mut self,
        mut start: impl FnMut(usize, &Node) -> Result<(), ProviderError>,
    ) {
        for k in 0..self.order.len() {
            if self.running.len() >= self.parallelism {
                break;
            }
            let i = self.order[k];
            if !self.is_ready(i) {
                continue;
            }
            match start(i, &self.nodes[i]) {
                Ok(()) => {
                    self.running.insert(i);
                }
                Err(error) => self.status[i] = Some(ChangeOutcome::Failed(error)),
            }
        }
    }

    /// Whether node `i` has not started and everything it waits for is done.
    fn is_ready(&self, i: usize) -> bool {
        self.status[i].is_none()
            && !self.running.contains(&i)
            && self.nodes[i]
                .deps
                .iter()
                .all(|d| self.status[*d] == Some(ChangeOutcome::Done))
    }

    /// Whether no node is running.
    pub(super) fn idle(&self) -> bool {
        self.running.is_empty()
    }

    /// Records how a task ended. Returns the state error that must end the
    /// apply, if it ended with one.
    pub(super) fn finished(&mut self, joined: Result<Finished, JoinError>) -> Option<StateError> {
        let (i, result) = match joined {
            Ok(finished) => finished,
            Err(join_error) => {
                self.lose_running(&join_error);
                return None;
            }
        };
        self.running.remove(&i);
        let (outcome, fatal) = match result {
            Ok(()) => (ChangeOutcome::Done, None),
            Err(TaskError::Provider(error)) => (ChangeOutcome::Failed(error), None),
            Err(TaskError::State(error)) => {
                let failed = ChangeOutcome::Failed(ProviderError::Fatal {
                    message: format!("the state could not be written: {error}"),
                    help: "see the state error below".to_string(),
                });
                (failed, Some(error))
            }
        };
        self.status[i] = Some(outcome);
        fatal
    }

    /// A task panicked, and which one is not known: fails every running node.
    fn lose_running(&mut self, join_error: &JoinError) {
        tracing::error!("an apply task ended abnormally: {join_error}");
        for i in std::mem::take(&mut self.running) {
            self.status[i] = Some(ChangeOutcome::Failed(ProviderError::Fatal {
                message: "internal error while applying".to_string(),
                help: "run `apprun plan` to see where things stand".to_string(),
            }));
        }
    }

    /// Per change, in apply order, what became of it. The deletion of a
    /// replaced resource is part of its replacement: a replacement whose
    /// old resource could not be deleted failed (the old one stays
    /// recorded as a pending delete, which the next apply retries).
    pub(super) fn results(self) -> Vec<(Address, Action, ChangeOutcome)> {
        let mut cleanup_failures: BTreeMap<Address, ProviderError> = BTreeMap::new();
        for (node, status) in self.nodes.iter().zip(&self.status) {
            if node.step == Step::DeleteOld
                && let Some(ChangeOutcome::Failed(error)) = status
            {
                cleanup_failures.insert(node.address.clone(), cleanup_failed(&node.address, error));
            }
        }
        self.nodes
            .into_iter()
            .zip(self.status)
            .filter(|(node, _)| node.step != Step::DeleteOld)
            .map(|(node, status)| {
                let outcome = match (status, cleanup_failures.remove(&node.address)) {
                    (Some(ChangeOutcome::Done), Some(error)) => ChangeOutcome::Failed(error),
                    (status, _) => status.unwrap_or(ChangeOutcome::NotStarted),
                };
                (node.address, node.action, outcome)
            })
            .collect()
    }
}

/// The failure of a replacement whose new resource is in place but whose
/// old one could not be deleted.
fn cleanup_failed(address: &Address, error: &ProviderError) -> ProviderError {
    ProviderError::OperationFailed {
        what: format!("deleting the resource {address} replaced"),
        message: error.to_string(),
        help: "the replacement is in place and recorded; the old one stays recorded as a pending delete, which the next apply retries".to_string(),
    }
}

/// What each recorded resource depended on when it was applied.
fn recorded_dependencies(snapshot: &Snapshot) -> BTreeMap<Address, Vec<Address>> {
    snapshot
        .resources
        .iter()
        .filter_map(|r| {
            let dependencies = r.dependencies.iter().filter_map(|d| Address::parse(d));
            Some((Address::parse(&r.address)?, dependencies.collect()))
        })
        .collect()
}

/// The DAG of steps of a plan, being built.
#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    /// Per changed address, its first (or only) node.
    main: BTreeMap<Address, usize>,
    /// Per create-before-destroy replacement, the node deleting the old one.
    old_delete: BTreeMap<Address, usize>,
}

impl Builder {
    fn push(&mut self, address: &Address, action: Action, step: Step) -> usize {
        self.nodes.push(Node {
            address: address.clone(),
            action,
            step,
            deps: BTreeSet::new(),
        });
        self.nodes.len() - 1
    }

    /// One node per change in apply order, two for a create-before-destroy
    /// replacement.
    fn add_steps(&mut self, plan: &Plan) {
        let changes: BTreeMap<&Address, &Change> =
            plan.changes.iter().map(|c| (&c.address, c)).collect();
        for address in &plan.apply_order {
            let Some(change) = changes.get(address) else {
                continue;
            };
            let Some(step) = Step::of(change) else {
                continue;
            };
            let main = self.push(address, change.action, step);
            self.main.insert(address.clone(), main);
            if step == Step::CreateReplacement {
                let old = self.push(address, change.action, Step::DeleteOld);
                self.old_delete.insert(address.clone(), old);
            }
        }
    }

    /// Creates and updates wait for what they depend on.
    fn wait_for_dependencies(&mut self, plan: &Plan) {
        for change in &plan.changes {
            let Some(&index) = self.main.get(&change.address) else {
                continue;
            };
            if self.nodes[index].step == Step::Delete {
                continue;
            }
            for dependency in &change.depends_on {
                if let Some(&dep) = self.main.get(dependency)
                    && self.nodes[dep].step != Step::Delete
                {
                    self.nodes[index].deps.insert(dep);
                }
            }
        }
    }

    /// A deletion (of a removed resource or of a replaced one) waits for
    /// every change of what depended on it, so nothing is deleted while in
    /// use; `state_deps` gives the recorded dependencies of removed ones.
    fn deletions_wait_for_dependents(
        &mut self,
        plan: &Plan,
        state_deps: &BTreeMap<Address, Vec<Address>>,
    ) {
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for change in &plan.changes {
            for dependency in &change.depends_on {
                dependents
                    .entry(dependency)
                    .or_default()
                    .push(&change.address);
            }
        }
        for (from, deps) in state_deps {
            for dependency in deps {
                dependents.entry(dependency).or_default().push(from);
            }
        }
        let deletions: Vec<(Address, usize)> = self
            .main
            .iter()
            .filter(|(_, i)| self.nodes[**i].step == Step::Delete)
            .chain(self.old_delete.iter())
            .map(|(a, i)| (a.clone(), *i))
            .collect();
        for (address, index) in deletions {
            if let Some(&main) = self.main.get(&address)
                && main != index
            {
                self.nodes[index].deps.insert(main);
            }
            for dependent in dependents.get(&address).into_iter().flatten() {
                if let Some(&dep) = self.main.get(*dependent)
                    && dep != index
                {
                    self.nodes[index].deps.insert(dep);
                }
                // A dependent replaced create-before-destroy still uses this
                // one through its old self until that is deleted too.
                if let Some(&old) = self.old_delete.get(*dependent)
                    && old != index
                {
                    self.nodes[index].deps.insert(old);
                }
            }
        }
    }
}

/// Builds the DAG of steps from a plan; `state_deps` are the recorded
/// dependencies of every resource in the state.
fn build_nodes(plan: &Plan, state_deps: &BTreeMap<Address, Vec<Address>>) -> Vec<Node> {
    let mut builder = Builder::default();
    builder.add_steps(plan);
    builder.wait_for_dependencies(plan);
    builder.deletions_wait_for_dependents(plan, state_deps);
    builder.nodes
}

/// The order in which ready steps start when more are ready than may run:
/// critical-path list scheduling. A step with a longer chain of dependents
/// after it starts first; among equals, the step whose first dependent sink
/// (in plan order) comes earliest, so one group's roots finish together and
/// their service starts while later groups' roots are still running.
fn start_order(nodes: &[Node]) -> Vec<usize> {
    let n = nodes.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting_on: Vec<usize> = vec![0; n];
    for (i, node) in nodes.iter().enumerate() {
        for &d in &node.deps {
            if d < n {
                dependents[d].push(i);
                waiting_on[i] += 1;
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|i| waiting_on[*i] == 0).collect();
    let mut topological = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        topological.push(i);
        for &j in &dependents[i] {
            waiting_on[j] -= 1;
            if waiting_on[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    let mut height = vec![0usize; n];
    let mut first_sink: Vec<usize> = (0..n)
        .map(|i| {
            if dependents[i].is_empty() {
                i
            } else {
                usize::MAX
            }
        })
        .collect();
    for &i in topological.iter().rev() {
        for &j in &dependents[i] {
            height[i] = height[i].max(height[j] + 1);
            first_sink[i] = first_sink[i].min(first_sink[j]);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (Reverse(height[i]), first_sink[i], i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use apprun_schema::Kind;

    fn node(kind: Kind, name: &str, deps: &[usize]) -> Node {
        Node {
            address: Address::new(kind, name),
            action: Action::Create,
            step: Step::Create,
            deps: deps.iter().copied().collect(),
        }
    }

    fn names(nodes: &[Node], order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|i| nodes[*i].address.to_string())
            .collect()
    }

    #[test]
    fn roots_start_group_by_group_before_their_services() {
        // Plan order is kind by kind: roles, connectors, then services that
        // each use one role and one connector.
        let nodes = vec![
            node(Kind::Role, "r0", &[]),
            node(Kind::Role, "r1", &[]),
            node(Kind::VpcConnector, "n0", &[]),
            node(Kind::VpcConnector, "n1", &[]),
            node(Kind::Service, "s0", &[0, 2]),
            node(Kind::Service, "s1", &[1, 3]),
        ];
        assert_eq!(
            names(&nodes, &start_order(&nodes)),
            [
                "roles.r0",
                "vpc_connectors.n0",
                "roles.r1",
                "vpc_connectors.n1",
                "services.s0",
                "services.s1"
            ]
        );
    }

    #[test]
    fn the_longest_chain_of_dependents_starts_first() {
        // a -> b -> c is longer than d -> e; f stands alone.
        let nodes = vec![
            node(Kind::Role, "f", &[]),
            node(Kind::Role, "d", &[]),
            node(Kind::Role, "a", &[]),
            node(Kind::Service, "e", &[1]),
            node(Kind::Service, "b", &[2]),
            node(Kind::Service, "c", &[4]),
        ];
        let order = names(&nodes, &start_order(&nodes));
        assert_eq!(order[0], "roles.a");
        let at = |n: &str| order.iter().position(|x| x == n).unwrap_or(usize::MAX);
        assert!(at("services.b") < at("roles.f"), "{order:?}");
        assert!(at("roles.d") < at("roles.f"), "{order:?}");
        assert_eq!(order.len(), 6);
    }
}
