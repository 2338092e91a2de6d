//! Waiting on App Runner's asynchronous operations.
//!
//! Every mutation returns an `OperationId`; we poll `ListOperations` (newest
//! first) for that id, not only the service status, because a failed
//! deployment is rolled back and the service returns to `RUNNING`
//! (APPRUNNER.md). The wait has a deadline, doubling poll intervals and a
//! progress line ("Still creating services.web... [1m10s elapsed]").
//! `ROLLBACK_SUCCEEDED`, `ROLLBACK_FAILED` and `FAILED` are failures.

use std::time::{Duration, Instant};

use apprun_engine::provider::{Progress, ProviderError};
use apprun_schema::Address;
use aws_sdk_apprunner::types::{OperationStatus, OperationSummary, Service, ServiceStatus};

use crate::config::{Clients, Settings};
use crate::error::{ApiFailure, Class, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry::{self, Backoff};

/// Who is waiting, for progress lines and messages.
#[derive(Clone)]
pub(crate) struct Waiting<'a> {
    /// `creating`, `updating`, `deleting`, `pausing`, `resuming`.
    pub verb: &'static str,
    /// The resource.
    pub address: &'a Address,
    /// Where progress goes.
    pub progress: &'a Progress,
}

/// `1m10s`, `45s`.
pub(crate) fn elapsed_text(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// Polls with a deadline, doubling intervals and progress output.
pub(crate) struct Poller<'a> {
    settings: &'a Settings,
    waiting: Waiting<'a>,
    start: Instant,
    last_report: Instant,
    interval: Backoff,
    /// Polls issued so far.
    pub polls: u32,
}

impl<'a> Poller<'a> {
    pub(crate) fn new(settings: &'a Settings, waiting: Waiting<'a>) -> Self {
        let now = Instant::now();
        Poller {
            settings,
            waiting,
            start: now,
            last_report: now,
            interval: Backoff::new(settings.poll_interval, settings.max_poll_interval),
            polls: 0,
        }
    }

    /// Sleeps before the next poll, or fails past the deadline.
    pub(crate) async fn tick(&mut self, what: &str) -> Result<(), ProviderError> {
        let elapsed = self.start.elapsed();
        if elapsed >= self.settings.operation_deadline {
            return Err(ProviderError::Timeout {
                what: what.to_owned(),
                seconds: elapsed.as_secs(),
            });
        }
        if self.last_report.elapsed() >= self.settings.progress_every {
            self.last_report = Instant::now();
            let line = format!(
                "Still {} {}... [{} elapsed]",
                self.waiting.verb,
                self.waiting.address,
                elapsed_text(elapsed)
            );
            (self.waiting.progress)(self.waiting.address, &line);
        }
        let delay = self
            .interval
            .next_delay()
            .min(self.settings.operation_deadline.saturating_sub(elapsed));
        tokio::time::sleep(delay).await;
        self.polls += 1;
        Ok(())
    }
}

/// Finds operation `id` of `service_arn` (newest first, paginated).
async fn find_operation(
    clients: &Clients,
    settings: &Settings,
    service_arn: &str,
    id: Option<&str>,
) -> Result<Option<OperationSummary>, ApiFailure> {
    let mut pages = Pages::new(settings, "ListOperations", |token| {
        paginator!(
            clients
                .apprunner
                .list_operations()
                .service_arn(service_arn)
                .max_results(20)
                .set_next_token(token)
        )
    });
    while let Some(page) = pages.next().await? {
        let ops = page.operation_summary_list();
        match id {
            // The newest operation.
            None => return Ok(ops.first().cloned()),
            Some(id) => {
                if let Some(op) = ops.iter().find(|o| o.id() == Some(id)) {
                    return Ok(Some(op.clone()));
                }
            }
        }
    }
    Ok(None)
}

/// The newest operation of a service (to adopt a create found by a
/// reconcile read, or to explain a `CREATE_FAILED`).
pub(crate) async fn newest_operation(
    clients: &Clients,
    settings: &Settings,
    service_arn: &str,
) -> Result<Option<OperationSummary>, ApiFailure> {
    find_operation(clients, settings, service_arn, None).await
}

/// Waits until operation `operation_id` of `service_arn` ends; `Ok` only for
/// `SUCCEEDED`.
pub(crate) async fn operation(
    clients: &Clients,
    settings: &Settings,
    service_arn: &str,
    operation_id: &str,
    waiting: Waiting<'_>,
) -> Result<u32, ProviderError> {
    let address = waiting.address.to_string();
    let verb = waiting.verb;
    let what = format!("{verb} {address} (operation {operation_id})");
    let mut poller = Poller::new(settings, waiting);
    let started = Instant::now();
    loop {
        let op = match find_operation(clients, settings, service_arn, Some(operation_id)).await {
            Ok(op) => op,
            // Eventual consistency: a service just created may not be
            // visible yet. Not gone: look again, within a budget (T15).
            Err(f)
                if f.class == Class::NotFound && started.elapsed() < settings.read_after_create =>
            {
                None
            }
            Err(f) => return Err(f.into_provider(&address)),
        };
        let status = op.as_ref().and_then(|o| o.status().cloned());
        match status {
            Some(OperationStatus::Succeeded) => return Ok(poller.polls),
            Some(
                s @ (OperationStatus::Failed
                | OperationStatus::RollbackSucceeded
                | OperationStatus::RollbackFailed),
            ) => {
                return Err(operation_failed(verb, &address, operation_id, &s));
            }
            // Pending, in progress, rolling back, not listed yet.
            _ => poller.tick(&what).await?,
        }
    }
}

/// The error for an operation that ended in `status`.
pub(crate) fn operation_failed(
    verb: &str,
    address: &str,
    operation_id: &str,
    status: &OperationStatus,
) -> ProviderError {
    let (message, help) = match status {
        OperationStatus::RollbackSucceeded => (
            format!(
                "operation {operation_id} ended ROLLBACK_SUCCEEDED: App Runner rolled the deployment back; the service runs its previous configuration"
            ),
            "look at the service's deployment logs (health check, image, start command), fix the stack and apply again",
        ),
        OperationStatus::RollbackFailed => (
            format!(
                "operation {operation_id} ended ROLLBACK_FAILED: the deployment failed and so did its rollback"
            ),
            "inspect the service in the App Runner console; it may need a manual deployment or a replacement",
        ),
        _ if verb == "creating" => (
            format!(
                "operation {operation_id} ended FAILED: the service is CREATE_FAILED and can only be deleted"
            ),
            "fix the stack and apply again: apprun plans a replacement of a CREATE_FAILED service",
        ),
        other => (
            format!("operation {operation_id} ended {}", other.as_str()),
            "look at the service's event log, fix the cause and apply again",
        ),
    };
    ProviderError::OperationFailed {
        what: format!("{verb} {address}"),
        message,
        help: help.to_owned(),
    }
}

/// Waits until the service is not `OPERATION_IN_PROGRESS` (after an
/// `InvalidStateException`); returns it, or `None` if it is gone.
pub(crate) async fn idle(
    clients: &Clients,
    settings: &Settings,
    service_arn: &str,
    waiting: Waiting<'_>,
) -> Result<Option<Service>, ProviderError> {
    let address = waiting.address.to_string();
    let what = format!("the operation in progress on {address} to end");
    let mut poller = Poller::new(settings, waiting);
    loop {
        let described = retry::read(settings, || async move {
            clients
                .apprunner
                .describe_service()
                .service_arn(service_arn)
                .send()
                .await
                .classify("DescribeService")
        })
        .await;
        match described {
            Ok(out) => match out.service {
                Some(s) if s.status == ServiceStatus::OperationInProgress => {
                    poller.tick(&what).await?;
                }
                Some(s) => return Ok(Some(s)),
                None => return Ok(None),
            },
            Err(f) if f.class == Class::NotFound => return Ok(None),
            Err(f) => return Err(f.into_provider(&address)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_like_terraform() {
        assert_eq!(elapsed_text(Duration::from_secs(70)), "1m10s");
        assert_eq!(elapsed_text(Duration::from_secs(9)), "9s");
    }

    #[test]
    fn rollbacks_are_failures_with_clear_messages() {
        let e = operation_failed(
            "updating",
            "services.web",
            "op-1",
            &OperationStatus::RollbackSucceeded,
        );
        let text = e.to_string();
        assert!(
            text.contains("ROLLBACK_SUCCEEDED") && text.contains("services.web"),
            "{text}"
        );
        let e = operation_failed("creating", "services.web", "op-1", &OperationStatus::Failed);
        assert!(e.to_string().contains("CREATE_FAILED"));
    }
}
