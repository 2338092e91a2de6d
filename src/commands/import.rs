//! `apprun import ADDRESS ID`: adopt an existing resource into the state
//! (`ops::import`).

use std::io::Write;

use apprun_engine::ops;

use crate::cli::StateArgs;
use crate::error::{CliError, exit};
use crate::hooks::Terminal;
use crate::output::Output;
use crate::session::Session;
use crate::targets;

/// Runs `import ADDRESS ID`.
pub fn run(address: &str, id: &str, args: &StateArgs, out: &Output) -> Result<u8, CliError> {
    let session = Session::open(&args.stack_args(), args.target, out)?;
    let ws = session.workspace();
    let hooks = Terminal::new(*out, "import", false);
    let imported = targets::runtime()?.block_on(async {
        targets::dispatch!(args.target, &session, |provider| {
            Ok::<_, CliError>(ops::import::import(&ws, provider, address, id, &hooks).await?)
        })
    })?;
    writeln!(
        std::io::stdout().lock(),
        "Imported {} as {}. Run `apprun plan` to see how it differs from the stack.",
        imported.id,
        imported.address
    )?;
    Ok(exit::OK)
}
