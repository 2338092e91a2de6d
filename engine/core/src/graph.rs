//! The dependency graph of a stack's resources (petgraph), its deterministic
//! text form for golden tests, and Graphviz DOT for `apprun graph`.

use std::collections::BTreeMap;

use apprun_schema::Address;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::desired::DesiredResource;

/// Resources and "depends on" edges.
#[derive(Debug, Clone)]
pub struct Graph {
    graph: DiGraph<Address, ()>,
    index: BTreeMap<Address, NodeIndex>,
}

impl Graph {
    /// The graph of the desired resources (edges from references).
    pub fn from_desired(resources: &[DesiredResource]) -> Self {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for resource in resources {
            index.insert(
                resource.address.clone(),
                graph.add_node(resource.address.clone()),
            );
        }
        for resource in resources {
            for dependency in &resource.dependencies {
                if let (Some(from), Some(to)) =
                    (index.get(&resource.address), index.get(dependency))
                {
                    graph.add_edge(*from, *to, ());
                }
            }
        }
        Self { graph, index }
    }

    /// The addresses in dependency order (dependencies first), ties broken by
    /// address so the order is deterministic. The schema rejects cycles; if
    /// one slipped through, the remaining nodes come last in address order.
    pub fn topological(&self) -> Vec<Address> {
        let mut remaining: BTreeMap<&Address, usize> = self
            .index
            .iter()
            .map(|(address, node)| (address, self.graph.neighbors(*node).count()))
            .collect();
        let mut order = Vec::with_capacity(remaining.len());
        while !remaining.is_empty() {
            let ready: Vec<&Address> = remaining
                .iter()
                .filter(|(_, n)| **n == 0)
                .map(|(a, _)| *a)
                .collect();
            let batch = if ready.is_empty() {
                remaining.keys().copied().collect()
            } else {
                ready
            };
            for address in batch {
                remaining.remove(address);
                order.push(address.clone());
                if let Some(node) = self.index.get(address) {
                    for dependent in self
                        .graph
                        .neighbors_directed(*node, petgraph::Direction::Incoming)
                    {
                        if let Some(count) = remaining.get_mut(&self.graph[dependent]) {
                            *count = count.saturating_sub(1);
                        }
                    }
                }
            }
        }
        order
    }

    /// What `address` depends on directly, in address order.
    pub fn dependencies(&self, address: &Address) -> Vec<Address> {
        let mut out: Vec<Address> = self
            .index
            .get(address)
            .map(|node| {
                self.graph
                    .neighbors(*node)
                    .map(|n| self.graph[n].clone())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Everything that depends on `address`, directly or not.
    pub fn dependents(&self, address: &Address) -> Vec<Address> {
        let mut out = Vec::new();
        let Some(start) = self.index.get(address) else {
            return out;
        };
        let mut stack = vec![*start];
        while let Some(node) = stack.pop() {
            for dependent in self
                .graph
                .neighbors_directed(node, petgraph::Direction::Incoming)
            {
                let address = self.graph[dependent].clone();
                if !out.contains(&address) {
                    out.push(address);
                    stack.push(dependent);
                }
            }
        }
        out.sort();
        out
    }

    /// Everything `address` depends on, directly or not.
    pub fn transitive_dependencies(&self, address: &Address) -> Vec<Address> {
        let mut out: Vec<Address> = Vec::new();
        let mut stack = vec![address.clone()];
        while let Some(current) = stack.pop() {
            for dependency in self.dependencies(&current) {
                if !out.contains(&dependency) {
                    out.push(dependency.clone());
                    stack.push(dependency);
                }
            }
        }
        out.sort();
        out
    }

    /// One line per resource: `address -> dep, dep` (no deps: `address`).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for address in self.index.keys() {
            let deps = self.dependencies(address);
            if deps.is_empty() {
                out.push_str(&format!("{address}\n"));
            } else {
                let list: Vec<String> = deps.iter().map(ToString::to_string).collect();
                out.push_str(&format!("{address} -> {}\n", list.join(", ")));
            }
        }
        out
    }

    /// Graphviz DOT, edges pointing from a resource to what it needs.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph apprun {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        for address in self.index.keys() {
            out.push_str(&format!("  \"{address}\";\n"));
        }
        for address in self.index.keys() {
            for dependency in self.dependencies(address) {
                out.push_str(&format!("  \"{address}\" -> \"{dependency}\";\n"));
            }
        }
        out.push_str("}\n");
        out
    }
}
