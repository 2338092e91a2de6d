//! `apprun show PLANFILE`: render a saved plan.

use std::path::Path;

use apprun_engine::planfile::SavedPlan;

use crate::error::{CliError, exit};
use crate::output::Output;

/// Runs `show`.
pub fn run(path: &Path, out: &Output) -> Result<u8, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        what: "plan file",
        path: path.to_path_buf(),
        source,
        help: "pass a file written by `apprun plan --out FILE`".to_string(),
    })?;
    let saved = SavedPlan::from_json(&text)?;
    super::plan::print_plan(&saved.plan, out)?;
    Ok(exit::OK)
}
