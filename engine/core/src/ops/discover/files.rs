//! The files `discover` writes beside each other: the stack file and its
//! local state. Existing ones are refused, or with `--force` moved aside
//! (never deleted) and put back when discover fails.

use std::path::{Path, PathBuf};

use apprun_state::LocalStore;

use crate::ops::OpError;

/// The suffix of a file `--force` moved aside.
const ASIDE: &str = "before-discover";

/// Where discover writes the stack `stack` in `dir`: `dir/apprun.yaml`
/// and its AWS state beside it.
#[derive(Debug)]
pub struct Destination {
    /// The stack file.
    pub file: PathBuf,
    /// The state store of the stack on AWS, beside it.
    pub store: LocalStore,
    /// Files moved aside, as (original, aside).
    moved: Vec<(PathBuf, PathBuf)>,
}

impl Destination {
    /// The destination in `dir`, and the files of it that exist.
    fn at(dir: &Path, stack: &str) -> Result<(Self, Vec<PathBuf>), OpError> {
        let file = dir.join("apprun.yaml");
        let store = LocalStore::for_stack(&file, stack, "aws")?;
        let existing = [
            file.clone(),
            store.path().to_path_buf(),
            store.journal_path(),
        ]
        .into_iter()
        .filter(|p| p.exists())
        .collect();
        let destination = Destination {
            file,
            store,
            moved: Vec::new(),
        };
        Ok((destination, existing))
    }

    /// Refuses a destination whose files exist, unless `force` (checked
    /// before discover reads anything).
    pub fn check(dir: &Path, stack: &str, force: bool) -> Result<(), OpError> {
        let (_, existing) = Self::at(dir, stack)?;
        match existing.into_iter().next() {
            Some(path) if !force => Err(OpError::Exists { path }),
            _ => Ok(()),
        }
    }

    /// The destination in `dir`; with `force`, what is there is moved
    /// aside (`FILE.before-discover`), else refused.
    pub fn prepare(dir: &Path, stack: &str, force: bool) -> Result<Self, OpError> {
        Self::check(dir, stack, force)?;
        let (mut destination, existing) = Self::at(dir, stack)?;
        for path in existing {
            let mut aside = path.clone().into_os_string();
            aside.push(format!(".{ASIDE}"));
            let aside = PathBuf::from(aside);
            std::fs::rename(&path, &aside).map_err(|source| OpError::WriteFile {
                path: aside.clone(),
                source,
            })?;
            destination.moved.push((path, aside));
        }
        Ok(destination)
    }

    /// The files moved aside.
    pub fn moved_aside(&self) -> Vec<&Path> {
        self.moved
            .iter()
            .map(|(_, aside)| aside.as_path())
            .collect()
    }

    /// Undoes what discover wrote: removes the stack file and the state it
    /// began, and puts back what was moved aside.
    pub fn undo(self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_file(self.store.path());
        let _ = std::fs::remove_file(self.store.journal_path());
        for (original, aside) in self.moved {
            let _ = std::fs::rename(aside, original);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_files_are_refused_or_moved_aside_and_put_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("apprun.yaml");
        std::fs::write(&file, "# mine\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Destination::prepare(dir.path(), "shop", false),
            Err(OpError::Exists { .. })
        ));
        let destination =
            Destination::prepare(dir.path(), "shop", true).unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.exists());
        assert_eq!(destination.moved_aside().len(), 1);
        std::fs::write(&file, "# discovered\n").unwrap_or_else(|e| panic!("{e}"));
        destination.undo();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_default(),
            "# mine\n"
        );
    }
}
