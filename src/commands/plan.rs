//! `apprun plan`: compute and render a plan; optionally save it.

use std::io::Write;

use apprun_engine::planfile::SavedPlan;
use apprun_engine::render;
use apprun_engine::{Plan, PlanInput, PlanOptions, plan, stack_digest};
use apprun_schema::Address;

use crate::cli::{Format, PlanArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::{stack_input, state_access};

/// Parses `--only`/`--replace` addresses.
pub fn addresses(list: &[String]) -> Result<Vec<Address>, CliError> {
    list.iter()
        .map(|a| Address::parse(a).ok_or_else(|| CliError::InvalidAddress { address: a.clone() }))
        .collect()
}

/// Runs `plan`.
pub fn run(args: &PlanArgs, out: &Output) -> Result<u8, CliError> {
    let loaded = stack_input::load_valid(&args.stack, out)?;
    let store = state_access::open(&args.stack.stack, &loaded.stack, args.target)?;
    let state = state_access::read(store.as_ref())?;
    let options = PlanOptions {
        targets: addresses(&args.only)?,
        replace: addresses(&args.replace)?,
        destroy: args.destroy,
    };
    for address in options.targets.iter().chain(&options.replace) {
        if !loaded.stack.addresses().contains(address)
            && state
                .as_ref()
                .and_then(|s| s.resource(&address.to_string()))
                .is_none()
        {
            return Err(CliError::NotInState {
                address: address.to_string(),
            });
        }
    }
    let digest = stack_digest(&loaded.text, &loaded.stack);
    let observed = match (&state, args.refresh) {
        (Some(snapshot), true) => {
            let dir = args
                .stack
                .stack
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let runtime = crate::targets::runtime()?;
            Some(runtime.block_on(async {
                crate::targets::dispatch!(args.target, &dir, &loaded.stack, |provider| {
                    super::drift::observe(provider, snapshot).await
                })
            })?)
        }
        _ => None,
    };
    let plan = plan(PlanInput {
        stack: &loaded.stack,
        target: args.target.name(),
        state: state.as_ref(),
        observed: observed.as_ref(),
        options: &options,
        stack_digest: &digest,
    });
    print_plan(&plan, out)?;
    if let Some(path) = &args.out {
        let saved = SavedPlan::new(plan.clone(), &loaded.file, env!("CARGO_PKG_VERSION"));
        std::fs::write(path, saved.to_json()).map_err(|source| CliError::WriteFile {
            path: path.clone(),
            source,
        })?;
        if out.format == Format::Text {
            eprintln!(
                "Saved the plan to {}; apply it with `apprun apply {}`.",
                path.display(),
                path.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Prints a plan in the chosen format.
pub fn print_plan(plan: &Plan, out: &Output) -> Result<(), CliError> {
    let text = match out.format {
        Format::Text => render::text::render(plan, out.color),
        Format::Json => render::json::render(plan),
        Format::Markdown => render::markdown::render(plan, render::markdown::GITHUB_COMMENT_LIMIT),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}
