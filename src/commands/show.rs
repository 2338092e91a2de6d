//! `apprun show PLANFILE`: render a saved plan.

use std::io::Write;
use std::path::Path;

use apprun_engine::{ops, render};

use crate::error::{CliError, exit};
use crate::output::Output;

/// Runs `show`.
pub fn run(path: &Path, out: &Output) -> Result<u8, CliError> {
    let saved = ops::plan::load_saved(path)?;
    let text = render::plan(&saved.plan, out.format.into(), out.color);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}
