//! `apprun plan`: compute and render a plan; optionally save it.

use std::io::Write;

use apprun_engine::ops::{self, Offline};
use apprun_engine::{PlanOptions, render};

use crate::cli::{Format, PlanArgs};
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `plan`.
pub fn run(args: &PlanArgs, out: &Output) -> Result<u8, CliError> {
    let session = Session::open(&args.stack, args.target, out)?;
    let ws = session.workspace();
    let options = PlanOptions {
        targets: ops::addresses(&args.only)?,
        replace: ops::addresses(&args.replace)?,
        destroy: args.destroy,
    };
    let plan = targets::runtime()?.block_on(async {
        if !args.no_refresh {
            targets::dispatch!(args.target, &session, |provider| {
                Ok::<_, CliError>(ops::plan::plan(&ws, &options, Some(provider)).await?)
            })
        } else {
            Ok(ops::plan::plan::<Offline>(&ws, &options, None).await?)
        }
    })?;
    let text = render::plan(&plan, out.format.into(), out.color);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    if out.format == Format::Text {
        let unclaimed = ops::discover::unclaimed(&ws)?;
        if unclaimed > 0 {
            eprintln!(
                "Note: the next apply puts apprun's ownership tags on {unclaimed} resource(s) `apprun discover` adopted (tag updates only)."
            );
        }
    }
    if let Some(path) = &args.out {
        ops::plan::save(&plan, &ws, path)?;
        if out.format == Format::Text {
            eprintln!(
                "Saved the plan to {}; apply it with `apprun apply {}`.",
                path.display(),
                path.display()
            );
        }
    }
    crate::github::Step::plan(&plan).finish(Ok(if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }))
}
