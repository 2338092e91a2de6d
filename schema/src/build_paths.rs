//! The paths a service's `build:` names (its context, and its Dockerfile
//! when given) must stay inside the stack's folder, so a build never sends
//! Docker files from elsewhere on the machine (`/`, `$HOME`, ...).
//!
//! This crate does no I/O: it refuses what the text alone shows (an
//! absolute path, a `..` that climbs out of the folder) during validation;
//! the caller that knows the folder resolves symbolic links and reports
//! with [`outside`] what still leads out ([`paths`] lists what to check).

use crate::error::SchemaError;
use crate::model::Stack;
use crate::span::Spanned;

/// One path of a `build:` section, relative to the stack's folder.
#[derive(Debug, Clone, Copy)]
pub struct BuildPath<'a> {
    /// `services.NAME.build`.
    pub service: &'a str,
    /// `context` or `dockerfile`.
    pub key: &'static str,
    /// The value as written (its span is where a diagnostic points).
    pub value: &'a Spanned<String>,
    /// The context the Dockerfile is relative to (`None` for the context
    /// itself, which is relative to the stack's folder).
    pub within: Option<&'a str>,
}

impl BuildPath<'_> {
    /// The field, e.g. `services.web.build.context`.
    pub fn field(&self) -> String {
        format!("services.{}.build.{}", self.service, self.key)
    }

    /// The path relative to the stack's folder, as `/`-separated parts
    /// (a Dockerfile's follow its context's).
    pub fn parts(&self) -> Vec<&str> {
        self.within
            .into_iter()
            .chain(std::iter::once(self.value.value.as_str()))
            .flat_map(|p| p.split('/'))
            .collect()
    }
}

/// Every context, and every Dockerfile given, in the stack's services.
pub fn paths(stack: &Stack) -> Vec<BuildPath<'_>> {
    let mut out = Vec::new();
    for (name, entry) in stack.services.iter() {
        let Some(build) = &entry.value.build else {
            continue;
        };
        out.push(BuildPath {
            service: name,
            key: "context",
            value: &build.context,
            within: None,
        });
        if let Some(dockerfile) = &build.dockerfile {
            out.push(BuildPath {
                service: name,
                key: "dockerfile",
                value: dockerfile,
                within: Some(&build.context.value),
            });
        }
    }
    out
}

/// Why the text of `path` alone leads out of the stack's folder: an
/// absolute path, or a `..` that climbs above it.
pub fn lexical_problem(path: &BuildPath<'_>) -> Option<String> {
    let absolute = |p: &str| p.starts_with('/') || p.starts_with('\\');
    if absolute(&path.value.value) {
        return Some("an absolute path".to_string());
    }
    if path.within.is_some_and(absolute) {
        // The context is refused on its own; its Dockerfile goes with it.
        return None;
    }
    let mut depth: usize = 0;
    for part in path.parts() {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return Some("`..` climbs out of the stack's folder".to_string()),
            },
            _ => depth += 1,
        }
    }
    None
}

/// The diagnostic for `path`, which leads out of the stack's folder for
/// `reason`.
pub fn outside(path: &BuildPath<'_>, reason: String) -> SchemaError {
    SchemaError::PathOutsideStack {
        field: path.field(),
        path: path.value.value.escape_debug().to_string(),
        reason,
        help:
            "a build's context and Dockerfile must be inside the stack file's folder, so a build \
               sends Docker only the stack's own files; move or copy them under it and write a \
               relative path such as `./app`"
                .to_string(),
        span: path.value.span.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{SchemaError, VarInputs};

    fn codes(build: &str) -> Vec<String> {
        let text = format!(
            "stack: shop\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:1.27\n    build:\n{build}"
        );
        match crate::load(&text, &VarInputs::new()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(SchemaError::code_str).collect(),
        }
    }

    #[test]
    fn paths_that_stay_inside_are_accepted() {
        for build in [
            "      context: .\n",
            "      context: ./app\n",
            "      context: app/../app/\n",
            "      context: app\n      dockerfile: ../Dockerfile\n",
            "      context: app/web\n      dockerfile: ./docker/../Dockerfile.dev\n",
        ] {
            assert_eq!(codes(build), Vec::<String>::new(), "{build}");
        }
    }

    #[test]
    fn absolute_paths_and_climbing_dots_are_refused() {
        for build in [
            "      context: /\n",
            "      context: /home/me/app\n",
            "      context: ..\n",
            "      context: app/../..\n",
            "      context: .\n      dockerfile: ../Dockerfile\n",
            "      context: app\n      dockerfile: /etc/Dockerfile\n",
        ] {
            assert_eq!(codes(build), ["schema::path_outside_stack"], "{build}");
        }
    }
}
