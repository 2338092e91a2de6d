//! Reading the stack file and its variables from the command line.

use std::path::{Path, PathBuf};

use apprun_schema::{SchemaError, Stack, VarInputs, VarOrigin, build_paths, variables};

use crate::cli::StackArgs;
use crate::error::CliError;

/// Diagnostics found in one file (the stack or a var file).
pub struct FileDiagnostics {
    /// The file name as shown.
    pub file: String,
    /// Its text.
    pub text: String,
    /// The problems.
    pub errors: Vec<SchemaError>,
}

/// The outcome of reading a stack.
pub enum Loaded {
    /// A valid stack.
    Valid {
        /// The stack.
        stack: Box<Stack>,
        /// The file name as shown.
        file: String,
        /// The stack file's text.
        text: String,
    },
    /// Problems, per file.
    Invalid(Vec<FileDiagnostics>),
}

fn read(what: &'static str, path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        what,
        help: match source.kind() {
            std::io::ErrorKind::NotFound if what == "stack file" => {
                "pass the stack file's path (default: ./apprun.yaml); see examples/ for complete stacks".to_string()
            }
            std::io::ErrorKind::InvalidData => "the file must be UTF-8 text".to_string(),
            _ => "check the path and its permissions".to_string(),
        },
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the var files, the `--var` flags and the stack, and validates.
pub fn load(args: &StackArgs) -> Result<Loaded, CliError> {
    let mut inputs = VarInputs::new();
    let mut invalid = Vec::new();
    for path in &args.vars.var_files {
        let text = read("var file", path)?;
        let file = path.display().to_string();
        if let Err(errors) = variables::read_var_file(&file, &text, &mut inputs) {
            invalid.push(FileDiagnostics { file, text, errors });
        }
    }
    for flag in &args.vars.vars {
        let (name, value) =
            variables::parse_flag(flag).map_err(|message| CliError::InvalidVar { message })?;
        inputs.set(name, value, VarOrigin::Flag);
    }
    let text = read("stack file", &args.stack)?;
    let file = args.stack.display().to_string();
    let folder = match args.stack.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let loaded = apprun_schema::load(&text, &inputs).and_then(|stack| {
        let errors = build_paths_outside(&stack, folder);
        if errors.is_empty() {
            Ok(stack)
        } else {
            Err(errors)
        }
    });
    match loaded {
        Ok(stack) if invalid.is_empty() => Ok(Loaded::Valid {
            stack: Box::new(stack),
            file,
            text,
        }),
        Ok(_) => Ok(Loaded::Invalid(invalid)),
        Err(errors) => {
            invalid.push(FileDiagnostics { file, text, errors });
            Ok(Loaded::Invalid(invalid))
        }
    }
}

/// The `build:` paths that lead out of the stack's `folder` once symbolic
/// links are resolved (the schema already refused what the text alone
/// shows: absolute paths and climbing `..`).
fn build_paths_outside(stack: &Stack, folder: &Path) -> Vec<SchemaError> {
    let paths = build_paths::paths(stack);
    if paths.is_empty() {
        return Vec::new();
    }
    let Ok(root) = folder.canonicalize() else {
        return Vec::new();
    };
    paths
        .iter()
        .filter_map(|path| {
            let resolved = resolve(&root, &path.parts());
            (!resolved.starts_with(&root)).then(|| {
                build_paths::outside(
                    path,
                    format!(
                        "a symbolic link leads to {}, outside {}",
                        resolved.display(),
                        root.display()
                    ),
                )
            })
        })
        .collect()
}

/// `parts` followed from `root` the way the operating system follows them:
/// each existing step with its symbolic links resolved (so a `..` after a
/// link leaves the link's target), the missing rest appended as written.
fn resolve(root: &Path, parts: &[&str]) -> PathBuf {
    let mut at = root.to_path_buf();
    for part in parts {
        match *part {
            "" | "." => {}
            ".." => {
                at.pop();
            }
            name => {
                let next = at.join(name);
                at = next.canonicalize().unwrap_or(next);
            }
        }
    }
    at
}

/// A valid stack with its file name and text.
pub struct ValidStack {
    /// The stack.
    pub stack: Stack,
    /// The file name as shown.
    pub file: String,
    /// The text.
    pub text: String,
}

/// Loads a stack that must be valid: prints the diagnostics and fails with
/// [`CliError::InvalidStack`] otherwise.
pub fn load_valid(args: &StackArgs, out: &crate::output::Output) -> Result<ValidStack, CliError> {
    match load(args)? {
        Loaded::Valid { stack, file, text } => Ok(ValidStack {
            stack: *stack,
            file,
            text,
        }),
        Loaded::Invalid(files) => {
            out.diagnostics(&files)?;
            Err(CliError::InvalidStack)
        }
    }
}
