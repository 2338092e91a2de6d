//! A service's logs from CloudWatch Logs, where App Runner writes them:
//! `/aws/apprunner/<ServiceName>/<ServiceId>/application` (what the
//! application prints) and `.../service` (App Runner's own deployment and
//! health check messages, `--system`). Read with `FilterLogEvents` from a
//! start time, every page, oldest first; each event's source is its log
//! stream (one per instance).

use apprun_engine::live::{LogEvent, LogQuery};
use apprun_engine::provider::ProviderError;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;

use crate::config::Ctx;
use crate::error::Class;
use crate::pages::{Page, Pages, paginator};

impl Page for FilterLogEventsOutput {
    fn next_page(&self) -> Option<&str> {
        self.next_token()
    }
}

/// The name and id of a service ARN
/// (`arn:aws:apprunner:R:A:service/NAME/ID`).
fn name_and_id(arn: &str) -> Option<(&str, &str)> {
    let (_, rest) = arn.split_once(":service/")?;
    let mut parts = rest.split('/');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let id = parts.next().filter(|i| !i.is_empty())?;
    Some((name, id))
}

/// The log group App Runner writes service `arn`'s application log to (or
/// its system log, `system`).
pub(crate) fn log_group(arn: &str, system: bool) -> Result<String, ProviderError> {
    let (name, id) = name_and_id(arn).ok_or_else(|| ProviderError::Invalid {
        operation: "FilterLogEvents".to_owned(),
        message: format!(
            "`{arn}` is not an App Runner service ARN (arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID)"
        ),
    })?;
    let stream = if system { "service" } else { "application" };
    Ok(format!("/aws/apprunner/{name}/{id}/{stream}"))
}

/// A line without its trailing newline.
fn line(message: &str) -> String {
    message.trim_end_matches(['\n', '\r']).to_owned()
}

/// The log events of service `arn` at or after `query.since_ms`, oldest
/// first. A log group that does not exist yet is
/// [`ProviderError::NotFound`].
pub(crate) async fn service_logs(
    ctx: &Ctx,
    arn: &str,
    query: LogQuery,
) -> Result<Vec<LogEvent>, ProviderError> {
    let group = log_group(arn, query.system)?;
    // CloudWatch Logs interleaves the streams of a group in every answer
    // (its `interleaved` member is deprecated and ignored since 2019, so it
    // is not sent); the events are sorted by time below.
    let pages = Pages::new(&ctx.settings, "FilterLogEvents", |token| {
        paginator!(
            ctx.clients
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .set_start_time(query.since_ms)
                .set_next_token(token)
        )
    });
    let mut events = pages
        .all(|page| {
            page.events
                .unwrap_or_default()
                .into_iter()
                .map(|e| LogEvent {
                    at_ms: e.timestamp.unwrap_or_default(),
                    source: e.log_stream_name.unwrap_or_default(),
                    message: line(e.message.as_deref().unwrap_or_default()),
                })
                .collect()
        })
        .await
        .map_err(|f| match f.class {
            Class::NotFound => ProviderError::NotFound {
                what: format!(
                    "the log group {group} (App Runner creates it when the service first runs)"
                ),
            },
            _ => f.into_provider(&group),
        })?;
    // Stable: events of the same millisecond keep the order they came in.
    events.sort_by_key(|e| e.at_ms);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_groups_are_named_from_the_service_arn() {
        let arn = "arn:aws:apprunner:us-east-1:111122223333:service/web/0123abcd";
        assert_eq!(
            log_group(arn, false).ok().as_deref(),
            Some("/aws/apprunner/web/0123abcd/application")
        );
        assert_eq!(
            log_group(arn, true).ok().as_deref(),
            Some("/aws/apprunner/web/0123abcd/service")
        );
        assert!(matches!(
            log_group("arn:aws:apprunner:us-east-1:1:service/web", false),
            Err(ProviderError::Invalid { .. })
        ));
    }

    #[test]
    fn trailing_newlines_are_trimmed() {
        assert_eq!(line("hello\n"), "hello");
        assert_eq!(line("hello\r\n"), "hello");
        assert_eq!(line("  indented  "), "  indented  ");
    }
}
