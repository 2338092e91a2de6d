//! Building the provider for a target. `dispatch!` runs one generic body
//! with the concrete provider of the chosen target, so commands stay
//! generic over `Provider` without trait objects.

/// Runs `$body` with `$p` bound to an `Arc` of the target's provider.
macro_rules! dispatch {
    ($target:expr, $dir:expr, |$p:ident| $body:expr) => {
        match $target {
            $crate::cli::Target::Docker => {
                let $p = std::sync::Arc::new($crate::targets::docker($dir).await?);
                $body
            }
            $crate::cli::Target::Aws => {
                let $p = std::sync::Arc::new($crate::targets::aws().await?);
                $body
            }
        }
    };
}
pub(crate) use dispatch;

use std::path::Path;

use apprun_engine::provider::{
    Applied, Observed, Progress, Provider, ProviderError, ResourceRequest,
};
use apprun_schema::{Address, Kind};
use serde_json::Value;

use crate::error::CliError;

/// A target whose provider is not built into this binary yet.
pub struct Unavailable(&'static str);

impl Unavailable {
    fn error(&self) -> ProviderError {
        ProviderError::Fatal {
            message: format!("the {} target is not available in this build", self.0),
            help: "use `apprun plan`, which needs no provider".to_string(),
        }
    }
}

impl Provider for Unavailable {
    fn target(&self) -> &str {
        self.0
    }

    async fn read(&self, _: Kind, _: &str, _: &Value) -> Result<Option<Observed>, ProviderError> {
        Err(self.error())
    }

    async fn find_owned(
        &self,
        _: &str,
        _: &Address,
        _: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        Err(self.error())
    }

    async fn create(&self, _: &ResourceRequest<'_>) -> Result<Applied, ProviderError> {
        Err(self.error())
    }

    async fn update(
        &self,
        _: &str,
        _: &ResourceRequest<'_>,
        _: &[String],
    ) -> Result<Applied, ProviderError> {
        Err(self.error())
    }

    async fn delete(&self, _: Kind, _: &str, _: &Value, _: Progress) -> Result<(), ProviderError> {
        Err(self.error())
    }
}

/// The Docker provider for a stack in `dir` (build contexts are relative to
/// it). Secret values come from `APPRUN_SECRET_<NAME>` variables or the file
/// named by `APPRUN_SECRETS_FILE`.
pub async fn docker(dir: &Path) -> Result<apprun_docker::DockerProvider, CliError> {
    let provider = apprun_docker::DockerProvider::connect(dir.to_path_buf())
        .await
        .map_err(CliError::Provider)?;
    Ok(match std::env::var_os("APPRUN_SECRETS_FILE") {
        Some(path) => provider.with_secrets_file(std::path::PathBuf::from(path)),
        None => provider,
    })
}

/// The AWS provider from the standard configuration chain.
pub async fn aws() -> Result<Unavailable, CliError> {
    Ok(Unavailable("aws"))
}
