//! Images: the two built-in `FROM scratch` images (echo server, front door)
//! built from binaries embedded at compile time, and user builds from a
//! context directory. Everything goes through the Engine API's `/build` with
//! an in-memory tar; nothing is ever pulled.

use std::collections::HashMap;
use std::path::Path;

use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::engine::DockerEngine;
use crate::error::{DockerError, Result, status_of};

/// One of apprun's own images: a static binary packaged `FROM scratch`.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinImage {
    /// Repository part of the tag, e.g. `apprun/echo`.
    pub repository: &'static str,
    /// The binary's file name inside the image.
    pub binary_name: &'static str,
    binary: &'static [u8],
}

/// The echo/health test server (see `engine/docker/bins/echo.rs`).
pub const ECHO: BuiltinImage = BuiltinImage {
    repository: "apprun/echo",
    binary_name: "echo",
    binary: include_bytes!(concat!(env!("OUT_DIR"), "/echo")),
};

/// The front-door proxy (see `engine/docker/bins/front_door.rs`).
pub const FRONT_DOOR: BuiltinImage = BuiltinImage {
    repository: "apprun/front-door",
    binary_name: "front-door",
    binary: include_bytes!(concat!(env!("OUT_DIR"), "/front_door")),
};

impl BuiltinImage {
    /// The content-addressed tag: `<repository>:<first 12 hex of sha256(binary)>`,
    /// so a new apprun build gets a new image and an old one is never reused.
    pub fn tag(&self) -> String {
        let digest = hex::encode(Sha256::digest(self.binary));
        format!("{}:{}", self.repository, &digest[..12])
    }

    /// The stable alias `<repository>:latest` (e.g. `apprun/echo:latest`),
    /// set by [`DockerEngine::ensure_builtin_aliases`].
    pub fn latest_tag(&self) -> String {
        format!("{}:latest", self.repository)
    }

    /// The embedded static binary (e.g. to put into a user build context).
    pub fn binary(&self) -> &'static [u8] {
        self.binary
    }

    fn context_tar(&self) -> Result<Vec<u8>> {
        let dockerfile = format!(
            "FROM scratch\nCOPY {b} /{b}\nUSER 65534:65534\nENTRYPOINT [\"/{b}\"]\n",
            b = self.binary_name
        );
        let mut builder = tar::Builder::new(Vec::new());
        append(&mut builder, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
        append(&mut builder, self.binary_name, self.binary, 0o755)?;
        builder
            .into_inner()
            .map_err(|e| tar_error(self.repository, e))
    }
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], mode: u32) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    b.append_data(&mut header, name, data)
        .map_err(|e| tar_error(name, e))
}

fn tar_error(what: &str, e: std::io::Error) -> DockerError {
    DockerError::BuildContext {
        path: what.to_string(),
        reason: e.to_string(),
    }
}

/// A line of build output, handed to the progress callback as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildProgress {
    /// The tag being built.
    pub tag: String,
    /// One line of the builder's output (trimmed).
    pub line: String,
}

impl DockerEngine {
    /// Whether an image with this reference exists locally.
    pub async fn image_exists(&self, reference: &str) -> Result<bool> {
        Ok(self.image_id(reference).await?.is_some())
    }

    /// The local image id (`sha256:...`) for a reference, or `None`.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.client().inspect_image(reference).await {
            Ok(img) => Ok(img.id),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect image {reference}"), e)),
        }
    }

    /// Build one built-in image unless it already exists; returns its tag.
    pub async fn ensure_builtin_image(&self, image: BuiltinImage) -> Result<String> {
        let tag = image.tag();
        if self.image_exists(&tag).await? {
            return Ok(tag);
        }
        let tar = image.context_tar()?;
        self.build_tar(tar, "Dockerfile", &tag, false, &mut |_| {})
            .await?;
        Ok(tag)
    }

    /// Build both built-in images (echo server and front door) if missing.
    pub async fn ensure_builtin_images(&self) -> Result<()> {
        self.ensure_builtin_image(ECHO).await?;
        self.ensure_builtin_image(FRONT_DOOR).await?;
        Ok(())
    }

    /// Build both built-in images if missing and tag each also as
    /// [`BuiltinImage::latest_tag`] (`apprun/echo:latest`), so a user
    /// Dockerfile can say `FROM apprun/echo:latest`. The alias always points
    /// at this apprun's binary.
    pub async fn ensure_builtin_aliases(&self) -> Result<()> {
        for image in [ECHO, FRONT_DOOR] {
            let tag = self.ensure_builtin_image(image).await?;
            let opts = bollard::query_parameters::TagImageOptionsBuilder::default()
                .repo(image.repository)
                .tag("latest")
                .build();
            self.client()
                .tag_image(&tag, Some(opts))
                .await
                .map_err(|e| DockerError::api(format!("tag {tag} as {}", image.latest_tag()), e))?;
        }
        Ok(())
    }

    /// Build `context_dir` with `dockerfile` (relative to the context) and tag
    /// the result; each output line goes to `progress` as it arrives.
    ///
    /// The whole directory is sent (no `.dockerignore` support yet); symlinks
    /// are archived as links.
    pub async fn build_image(
        &self,
        context_dir: &Path,
        dockerfile: &str,
        tag: &str,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String> {
        self.build_image_with(context_dir, dockerfile, tag, false, progress)
            .await
    }

    /// [`DockerEngine::build_image`], with `no_cache` set: every step runs
    /// again instead of reusing the builder's cache.
    pub async fn build_image_with(
        &self,
        context_dir: &Path,
        dockerfile: &str,
        tag: &str,
        no_cache: bool,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<String> {
        let ctx = context_dir.to_path_buf();
        let tar = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut b = tar::Builder::new(Vec::new());
            b.follow_symlinks(false);
            b.append_dir_all(".", &ctx)?;
            b.into_inner()
        })
        .await
        .map_err(|e| DockerError::BuildContext {
            path: context_dir.display().to_string(),
            reason: e.to_string(),
        })?
        .map_err(|e| DockerError::BuildContext {
            path: context_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        self.build_tar(tar, dockerfile, tag, no_cache, progress)
            .await?;
        Ok(tag.to_string())
    }

    async fn build_tar(
        &self,
        tar: Vec<u8>,
        dockerfile: &str,
        tag: &str,
        no_cache: bool,
        progress: &mut (dyn FnMut(BuildProgress) + Send),
    ) -> Result<()> {
        let mut labels = HashMap::new();
        labels.insert("apprun.managed", "true");
        let opts = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .t(tag)
            .rm(true)
            .forcerm(true)
            .nocache(no_cache)
            .labels(&labels)
            .build();
        let mut stream =
            self.client()
                .build_image(opts, None, Some(bollard::body_full(tar.into())));
        let mut tail: Vec<String> = Vec::new();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(DockerError::ImageBuildFailed {
                        tag: tag.to_string(),
                        reason: error,
                        log_tail: tail,
                    });
                }
                Err(e) => {
                    let reason = e.to_string();
                    if status_of(&e).is_none() && reason.contains("connect") {
                        return Err(DockerError::api(format!("build {tag}"), e));
                    }
                    return Err(DockerError::ImageBuildFailed {
                        tag: tag.to_string(),
                        reason,
                        log_tail: tail,
                    });
                }
            };
            if let Some(detail) = info.error_detail {
                let reason = detail
                    .message
                    .unwrap_or_else(|| "unknown build error".to_string());
                return Err(DockerError::ImageBuildFailed {
                    tag: tag.to_string(),
                    reason,
                    log_tail: tail,
                });
            }
            for text in [info.stream, info.status].into_iter().flatten() {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    tail.push(line.to_string());
                    if tail.len() > 20 {
                        tail.remove(0);
                    }
                    progress(BuildProgress {
                        tag: tag.to_string(),
                        line: line.to_string(),
                    });
                }
            }
        }
        if self.image_exists(tag).await? {
            Ok(())
        } else {
            Err(DockerError::ImageBuildFailed {
                tag: tag.to_string(),
                reason: "the build finished but the image is missing".to_string(),
                log_tail: tail,
            })
        }
    }
}
