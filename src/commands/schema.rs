//! `apprun schema`: print the JSON Schema of the stack language.

use std::io::Write;

use crate::error::{CliError, exit};

/// Prints the schema to stdout.
pub fn run() -> Result<u8, CliError> {
    std::io::stdout()
        .lock()
        .write_all(apprun_schema::json_schema::generate().as_bytes())?;
    Ok(exit::OK)
}
