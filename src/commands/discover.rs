//! `apprun discover`: bring running App Runner services (or what a
//! Terraform state manages) under a new stack: `ops::discover` reads and
//! composes, this writes `DIR/apprun.yaml`, then records its state.

use std::io::Write;

use apprun_engine::ops::OpError;
use apprun_engine::ops::discover::{self, DiscoverRequest, Filters, Scope};
use apprun_engine::render;

use crate::cli::{DiscoverArgs, StackArgs, Target};
use crate::error::{CliError, exit};
use crate::hooks::Terminal;
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `discover`: 0 once stack and state are written.
pub fn run(args: &DiscoverArgs, out: &Output) -> Result<u8, CliError> {
    let region = args
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .ok_or_else(|| CliError::Unsupported {
            what: "discover without a region".into(),
            help: "pass --region R (or set AWS_REGION)".into(),
        })?;
    let (scope, inventory) = match &args.from_terraform {
        Some(path) => {
            let inventory = discover::read_terraform_file(path)?;
            (Scope::Terraform(inventory.clone()), Some(inventory))
        }
        None => (
            Scope::Live(Filters {
                name_prefix: args.name_prefix.clone(),
                tags: args.tags.iter().map(|t| split_tag(t)).collect(),
                services: args.services.clone(),
            }),
            None,
        ),
    };
    let request = DiscoverRequest {
        stack: args.stack.clone(),
        region: region.clone(),
        scope,
        include_managed: args.include_managed,
    };
    discover::check_request(&request)?;
    discover::Destination::check(&args.out, &args.stack, args.force)?;
    let hooks = Terminal::new(*out, "discover", true);
    let runtime = targets::runtime()?;
    let provider = std::sync::Arc::new(runtime.block_on(targets::aws_in(&region))?);
    let found = runtime.block_on(discover::discover(provider.clone(), &request, &hooks))?;
    std::fs::create_dir_all(&args.out).map_err(CliError::Write)?;
    let destination = discover::Destination::prepare(&args.out, &args.stack, args.force)?;
    let file = destination.file.clone();
    let written = std::fs::write(&file, found.draft.text())
        .map_err(|source| {
            CliError::from(OpError::WriteFile {
                path: file.clone(),
                source,
            })
        })
        .and_then(|()| {
            let stack_args = StackArgs {
                stack: file.clone(),
                stack_flag: None,
                vars: Default::default(),
            };
            let session = Session::open(&stack_args, Target::Aws, out)?;
            if args.tag_now {
                runtime.block_on(discover::claim_now(
                    provider.as_ref(),
                    &args.stack,
                    &found.draft,
                ))?;
            }
            Ok(discover::record(
                &session.workspace(),
                &found,
                args.tag_now,
                &hooks,
            )?)
        });
    let count = match written {
        Ok(count) => count,
        Err(error) => {
            // Nothing half-written: what was there comes back.
            destination.undo();
            return Err(error);
        }
    };
    for aside in destination.moved_aside() {
        eprintln!("Moved {} aside (--force).", aside.display());
    }
    let summary = render::discover::summary(&found, &file, count, args.tag_now, inventory.as_ref());
    std::io::stdout().lock().write_all(summary.as_bytes())?;
    Ok(exit::OK)
}

/// `KEY=VALUE` as a pair (clap checked the form).
fn split_tag(tag: &str) -> (String, String) {
    let (k, v) = tag.split_once('=').unwrap_or((tag, ""));
    (k.to_owned(), v.to_owned())
}
