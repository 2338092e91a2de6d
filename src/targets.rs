//! Building the provider for a target. `dispatch!` runs one generic body
//! with the concrete provider of the chosen target, so commands stay
//! generic over `Provider` without trait objects.

/// Runs `$body` with `$p` bound to an `Arc` of the target's provider.
macro_rules! dispatch {
    ($target:expr, $dir:expr, $stack:expr, |$p:ident| $body:expr) => {
        match $target {
            $crate::cli::Target::Docker => {
                let $p = std::sync::Arc::new($crate::targets::docker($dir).await?);
                $body
            }
            $crate::cli::Target::Aws => {
                let $p = std::sync::Arc::new($crate::targets::aws($stack).await?);
                $body
            }
        }
    };
}
pub(crate) use dispatch;

use std::path::Path;

use crate::error::CliError;

/// The `--secrets-file` given on the command line (set once by `main`).
pub static SECRETS_FILE: std::sync::OnceLock<Option<std::path::PathBuf>> =
    std::sync::OnceLock::new();

/// Where the state of the stack being worked on lives (set once by
/// `Session::open`): the Docker target's stack identity includes it.
pub static STATE_LOCATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The Docker provider for a stack in `dir` (build contexts are relative to
/// it), bound to the stack's state location ([`STATE_LOCATION`]; the
/// state directory in `dir` when none was set), so that two folders
/// with the same stack name never see each other's containers. Secret
/// values come from `APPRUN_SECRET_<NAME>` variables or the
/// `--secrets-file` (`APPRUN_SECRETS_FILE`).
pub async fn docker(dir: &Path) -> Result<apprun_docker::DockerProvider, CliError> {
    let location = STATE_LOCATION.get().cloned().unwrap_or_else(|| {
        dir.join(apprun_state::LocalStore::DIR)
            .display()
            .to_string()
    });
    let provider = apprun_docker::DockerProvider::connect(dir.to_path_buf())
        .await
        .map_err(CliError::from)?
        .with_state_location(&location);
    Ok(match SECRETS_FILE.get().cloned().flatten() {
        Some(path) => provider.with_secrets_file(path),
        None => provider,
    })
}

/// The AWS provider from the standard configuration chain: credentials,
/// profile, region, and `AWS_ENDPOINT_URL[_<SERVICE>]` endpoints.
pub async fn aws(stack: &apprun_schema::Stack) -> Result<apprun_aws::AwsProvider, CliError> {
    let settings = apprun_aws::Settings {
        rate_limits: MAX_RPS.get().cloned().flatten().unwrap_or_default(),
        region: Some(stack.region.value.clone()),
        ..apprun_aws::Settings::default()
    };
    Ok(apprun_aws::AwsProvider::from_env(settings).await)
}

/// The `--max-rps` given on the command line (set once by `main`).
pub static MAX_RPS: std::sync::OnceLock<Option<apprun_aws::RateLimits>> =
    std::sync::OnceLock::new();

/// The multi-threaded runtime commands that talk to a provider run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Write)
}
