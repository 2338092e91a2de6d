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
    /// The stack file.
    stack_file: PathBuf,
    store: Box<dyn StateStore>,
}

impl Session {
    /// Loads and validates the stack (printing its diagnostics when it is
    /// invalid) and opens its state store.
    pub fn open(args: &StackArgs, target: Target, out: &Output) -> Result<Self, CliError> {
        let loaded = stack_input::load_valid(args, out)?;
        if target == Target::Aws {
            // What only the AWS target needs (a `build:`-only service).
            let errors = apprun_schema::targets::aws(&loaded.stack);
            if !errors.is_empty() {
                out.diagnostics(&[stack_input::FileDiagnostics {
                    file: loaded.file.clone(),
                    text: loaded.text.clone(),
                    errors,
                }])?;
                return Err(CliError::InvalidStack);
            }
        }
        let store = open_store(&args.stack, &loaded, target)?;
        Ok(Self {
            stack_file: args.stack.clone(),
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

    /// The local state file of this stack on its target, whatever its
    /// `state:` says (where `state migrate` copies from or to).
    pub fn local_store(&self) -> Result<LocalStore, CliError> {
        let target = apprun_engine::Target::from(self.target).name();
        local_store(&self.stack_file, &self.loaded.stack, target)
    }

    /// Where this stack's state lives (a path, an `s3://` URL): on Docker,
    /// part of the stack's identity.
    pub fn state_location(&self) -> String {
        self.store.location()
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

/// The S3 store `state:` names: `bucket`, `key` (default
/// `apprun/<stack>/<target>.state.json`) in `state.region` (default: the
/// stack's region), with the standard credential chain and
/// `AWS_ENDPOINT_URL[_S3]`.
fn s3_store(
    stack: &apprun_schema::Stack,
    config: &apprun_schema::model::StateConfig,
    target: &str,
) -> Result<apprun_aws::S3Store, CliError> {
    let Some(bucket) = config.bucket.as_ref() else {
        return Err(CliError::Unsupported {
            what: "an s3 state without a bucket".to_string(),
            help: "add `bucket: NAME` under `state:`".to_string(),
        });
    };
    let key = config.key.as_ref().map_or_else(
        || format!("apprun/{}/{target}.state.json", stack.stack.value),
        |k| k.value.clone(),
    );
    let region = config
        .region
        .as_ref()
        .map_or_else(|| stack.region.value.clone(), |r| r.value.clone());
    Ok(apprun_aws::S3Store::from_env_in_region(
        bucket.value.clone(),
        key,
        Some(region),
    )?)
}

/// The state store for the stack in `stack_file` on `target`: the S3
/// object its `state:` names, or a local file beside the stack (or under
/// `state.path`).
fn open_store(
    stack_file: &Path,
    loaded: &ValidStack,
    target: Target,
) -> Result<Box<dyn StateStore>, CliError> {
    let stack = &loaded.stack;
    let config = stack.state.as_ref();
    let target = apprun_engine::Target::from(target).name();
    if let Some(config) = config
        && config
            .backend
            .as_ref()
            .is_some_and(|b| b.value == StateBackend::S3)
    {
        return Ok(Box::new(s3_store(stack, config, target)?));
    }
    Ok(Box::new(local_store(stack_file, stack, target)?))
}

/// The local state file of `stack` on `target`: beside the stack file,
/// under `.apprun/` (or `state.path`).
fn local_store(
    stack_file: &Path,
    stack: &apprun_schema::Stack,
    target: &str,
) -> Result<LocalStore, CliError> {
    let config = stack.state.as_ref();
    Ok(match config.and_then(|c| c.path.as_ref()) {
        Some(path) => {
            let dir = stack_file
                .parent()
                .unwrap_or(Path::new("."))
                .join(&path.value);
            LocalStore::new(dir.join(LocalStore::file_name(&stack.stack.value, target)?))
        }
        None => LocalStore::for_stack(stack_file, &stack.stack.value, target)?,
    })
}
