//! `apprun graph`: the dependency graph as Graphviz DOT.

use std::io::Write;

use apprun_engine::desired::desired;
use apprun_engine::graph::Graph;

use crate::cli::StackArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::stack_input;

/// Runs `graph`.
pub fn run(args: &StackArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(args, out)?;
    let graph = Graph::from_desired(&desired(&loaded.stack));
    std::io::stdout()
        .lock()
        .write_all(graph.to_dot().as_bytes())?;
    Ok(exit::OK)
}
