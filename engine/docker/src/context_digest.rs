//! A digest of a build context's files, so a changed source tree is drift
//! even though the stack (which only names the directory) did not change.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Most files a context may hold for its digest to be computed.
const MAX_FILES: usize = 20_000;

/// SHA-256 over every file's relative path and contents under `dir`, in
/// path order (symbolic links by their target path, not followed). `None`
/// when the directory cannot be read or holds more than `MAX_FILES` files.
pub fn context_digest(dir: &Path) -> Option<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).ok()? {
            let entry = entry.ok()?;
            let kind = entry.file_type().ok()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                files.push((entry.path(), kind.is_symlink()));
            }
            if files.len() > MAX_FILES {
                return None;
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for (path, symlink) in files {
        let relative = path.strip_prefix(dir).ok()?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        if symlink {
            hasher.update(std::fs::read_link(&path).ok()?.to_string_lossy().as_bytes());
        } else {
            hasher.update(std::fs::read(&path).ok()?);
        }
        hasher.update([0]);
    }
    Some(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_any_file_and_only_then() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let write = |name: &str, text: &str| {
            std::fs::create_dir_all(dir.path().join(name).parent().unwrap_or(dir.path()))
                .unwrap_or_default();
            std::fs::write(dir.path().join(name), text).unwrap_or_default();
        };
        write("Dockerfile", "FROM scratch\n");
        write("src/app.txt", "v1");
        let first = context_digest(dir.path());
        assert!(first.is_some());
        assert_eq!(context_digest(dir.path()), first, "stable");
        write("src/app.txt", "v2");
        let second = context_digest(dir.path());
        assert_ne!(second, first);
        write("src/new.txt", "");
        assert_ne!(context_digest(dir.path()), second);
        assert_eq!(context_digest(&dir.path().join("missing")), None);
    }
}
