//! `apprun output [NAME] [--json]`: the stack's outputs, resolved from state.

use std::collections::BTreeMap;
use std::io::Write;

use apprun_engine::plan::resolve_references;
use apprun_engine::values::is_unknown;
use apprun_schema::Address;
use serde_json::Value;

use crate::cli::OutputArgs;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::{stack_input, state_access};

/// Every stack output resolved from state: (name, value as text, sensitive).
/// Values not known yet read `(not known until applied)`.
pub fn resolved(
    state: &apprun_state::Snapshot,
    stack: &apprun_schema::Stack,
) -> Vec<(String, String, bool)> {
    let known: BTreeMap<Address, Option<BTreeMap<String, Value>>> = state
        .resources
        .iter()
        .filter_map(|r| Some((Address::parse(&r.address)?, Some(r.outputs.clone()))))
        .collect();
    stack
        .outputs
        .iter()
        .map(|(name, output)| {
            let value =
                resolve_references(&Value::String(output.value.value.value.clone()), &known);
            let text = if is_unknown(&value) {
                "(not known until applied)".to_string()
            } else {
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string)
            };
            (
                name.clone(),
                text,
                output.value.sensitive.as_ref().is_some_and(|s| s.value),
            )
        })
        .collect()
}

/// Runs `output`.
pub fn run(args: &OutputArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(&args.state.stack_args(), out)?;
    let store = state_access::open(&args.state.stack, &loaded.stack, args.state.target)?;
    let state = state_access::read(store.as_ref())?;
    let known: BTreeMap<Address, Option<BTreeMap<String, Value>>> = state
        .iter()
        .flat_map(|s| s.resources.iter())
        .filter_map(|r| Some((Address::parse(&r.address)?, Some(r.outputs.clone()))))
        .collect();
    let mut values: BTreeMap<String, (Value, bool)> = BTreeMap::new();
    for (name, output) in loaded.stack.outputs.iter() {
        let value = resolve_references(&Value::String(output.value.value.value.clone()), &known);
        let sensitive = output.value.sensitive.as_ref().is_some_and(|s| s.value);
        values.insert(
            name.clone(),
            (
                if is_unknown(&value) {
                    Value::Null
                } else {
                    value
                },
                sensitive,
            ),
        );
    }
    let mut stdout = std::io::stdout().lock();
    if let Some(name) = &args.name {
        let (value, _) = values.get(name).ok_or_else(|| CliError::UnknownOutput {
            name: name.clone(),
            help: format!(
                "the stack defines: {}",
                values.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        // Asking for one output by name prints it even if sensitive, like Terraform.
        if args.json {
            writeln!(stdout, "{value}")?;
        } else {
            writeln!(
                stdout,
                "{}",
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string)
            )?;
        }
        return Ok(exit::OK);
    }
    if args.json {
        let map: BTreeMap<&String, Value> = values
            .iter()
            .map(|(k, (v, sensitive))| {
                (k, serde_json::json!({ "value": if *sensitive { Value::Null } else { v.clone() }, "sensitive": sensitive }))
            })
            .collect();
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&map).unwrap_or_default()
        )?;
    } else {
        for (name, (value, sensitive)) in &values {
            let shown = if *sensitive {
                "(sensitive value)".to_string()
            } else if value.is_null() {
                "(not known until applied)".to_string()
            } else {
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string)
            };
            writeln!(stdout, "{name} = {shown}")?;
        }
    }
    Ok(exit::OK)
}
