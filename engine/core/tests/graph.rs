//! Graph snapshots: the deterministic text form and DOT of every example.

#![allow(clippy::unwrap_used, missing_docs)]

use apprun_engine::desired::desired;
use apprun_engine::graph::Graph;
use apprun_schema::{VarInputs, VarOrigin};

#[test]
fn example_graphs() {
    for example in ["hello", "flask-lab", "private-api", "preview"] {
        let path = format!(
            "{}/../../examples/{example}/apprun.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut vars = VarInputs::new();
        vars.set("pr", "7", VarOrigin::Flag);
        let vars = if example == "preview" {
            vars
        } else {
            VarInputs::new()
        };
        let stack = apprun_schema::load(&text, &vars).unwrap();
        let graph = Graph::from_desired(&desired(&stack));
        let order: Vec<String> = graph
            .topological()
            .iter()
            .map(ToString::to_string)
            .collect();
        insta::assert_snapshot!(
            format!("{example}"),
            format!(
                "{}\norder: {}\n\n{}",
                graph.to_text(),
                order.join(", "),
                graph.to_dot()
            )
        );
    }
}
