//! Opening a stack's state store (local file beside the stack, or S3 when
//! the stack says so).

use std::path::Path;

use apprun_schema::Stack;
use apprun_schema::model::StateBackend;
use apprun_state::{LocalStore, StateError, StateStore};

use crate::cli::Target;
use crate::error::CliError;

/// The state store for `stack` (read from `stack_file`) on `target`.
pub fn open(
    stack_file: &Path,
    stack: &Stack,
    target: Target,
) -> Result<Box<dyn StateStore>, CliError> {
    let config = stack.state.as_ref();
    if config
        .and_then(|c| c.backend.as_ref())
        .is_some_and(|b| b.value == StateBackend::S3)
    {
        return Err(CliError::Unsupported {
            what: "the s3 state backend".to_string(),
            help: "this build of apprun keeps state in local files; remove `state.backend: s3` or use a build with the AWS target".to_string(),
        });
    }
    let store = match config.and_then(|c| c.path.as_ref()) {
        Some(path) => {
            let dir = stack_file
                .parent()
                .unwrap_or(Path::new("."))
                .join(&path.value);
            let name = LocalStore::file_name(&stack.stack.value, target.name())
                .map_err(CliError::State)?;
            LocalStore::new(dir.join(name))
        }
        None => LocalStore::for_stack(stack_file, &stack.stack.value, target.name())
            .map_err(CliError::State)?,
    };
    Ok(Box::new(store))
}

/// Reads the current snapshot, if any.
pub fn read(store: &dyn StateStore) -> Result<Option<apprun_state::Snapshot>, CliError> {
    store.read().map_err(|e: StateError| CliError::State(e))
}
