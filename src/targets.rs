//! Building the provider for a target. `dispatch!` runs one generic body
//! with the concrete provider of the chosen target, so commands stay
//! generic over `Provider` without trait objects.

/// Runs `$body` with `$p` bound to an `Arc` of the target's provider.
macro_rules! dispatch {
    ($target:expr, $session:expr, |$p:ident| $body:expr) => {
        match $target {
            $crate::cli::Target::Docker => {
                let session = $session;
                let location = session.state_location();
                let $p =
                    std::sync::Arc::new($crate::targets::docker(&session.dir, &location).await?);
                $body
            }
            $crate::cli::Target::Aws => {
                let $p = std::sync::Arc::new($crate::targets::aws(&$session.loaded.stack).await?);
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

/// The Docker provider for a stack in `dir` (build contexts are relative to
/// it), bound to the stack's state `location` (its session's), so that two folders
/// with the same stack name never see each other's containers. Secret
/// values come from `APPRUN_SECRET_<NAME>` variables or the
/// `--secrets-file` (`APPRUN_SECRETS_FILE`).
pub async fn docker(dir: &Path, location: &str) -> Result<apprun_docker::DockerProvider, CliError> {
    let provider = apprun_docker::DockerProvider::connect(dir.to_path_buf())
        .await
        .map_err(CliError::from)?
        .with_state_location(location);
    Ok(match SECRETS_FILE.get().cloned().flatten() {
        Some(path) => provider.with_secrets_file(path),
        None => provider,
    })
}

/// The AWS provider from the standard configuration chain: credentials,
/// profile, region, and `AWS_ENDPOINT_URL[_<SERVICE>]` endpoints.
pub async fn aws(stack: &apprun_schema::Stack) -> Result<apprun_aws::AwsProvider, CliError> {
    aws_in(&stack.region.value).await
}

/// The AWS provider of [`aws`] in `region`.
pub async fn aws_in(region: &str) -> Result<apprun_aws::AwsProvider, CliError> {
    let settings = apprun_aws::Settings {
        rate_limits: MAX_RPS.get().cloned().flatten().unwrap_or_default(),
        region: Some(region.to_owned()),
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
