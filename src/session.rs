//! What a command that works on a deployed stack opens: the validated
//! stack, its state store on the chosen target, and the engine
//! [`Workspace`] over both.

use std::path::{Path, PathBuf};

use apprun_engine::ops::Workspace;
use apprun_schema::model::StateBackend;
use apprun_state::{LocalStore, StateStore};

use crate::cli::{StackArgs, Target};
use crate::error::CliError;
use crate::output::Output;
use crate::stack_input::{self, ValidStack};

/// A loaded stack with its open state store.
pub struct Session {
    /// The stack, its file name and text.
    pub loaded: ValidStack,
    /// Where the stack is deployed.
    pub target: Target,
    /// The folder of the stack file (build contexts are relative to it).
    pub dir: PathBuf,
    store: Box<dyn StateStore>,
}

impl Session {
    /// Loads and validates the stack (printing its diagnostics when it is
    /// invalid) and opens its state store.
    pub fn open(args: &StackArgs, target: Target, out: &Output) -> Result<Self, CliError> {
        let loaded = stack_input::load_valid(args, out)?;
        let store = open_store(&args.stack, &loaded, target)?;
        Ok(Self {
            loaded,
            target,
            dir: args
                .stack
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            store,
        })
    }

    /// The engine's view of this session.
    pub fn workspace(&self) -> Workspace<'_> {
        Workspace {
            stack: &self.loaded.stack,
            text: &self.loaded.text,
            file: &self.loaded.file,
            target: self.target.into(),
            store: self.store.as_ref(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The state store for the stack in `stack_file` on `target`: a local
/// file beside the stack (or under `state.path`).
fn open_store(
    stack_file: &Path,
    loaded: &ValidStack,
    target: Target,
) -> Result<Box<dyn StateStore>, CliError> {
    let stack = &loaded.stack;
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
    let target = apprun_engine::Target::from(target).name();
    let store = match config.and_then(|c| c.path.as_ref()) {
        Some(path) => {
            let dir = stack_file
                .parent()
                .unwrap_or(Path::new("."))
                .join(&path.value);
            LocalStore::new(dir.join(LocalStore::file_name(&stack.stack.value, target)?))
        }
        None => LocalStore::for_stack(stack_file, &stack.stack.value, target)?,
    };
    Ok(Box::new(store))
}
