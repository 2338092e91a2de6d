//! `logs`: a service's log events, oldest first, from `--since`; with
//! `follow`, the new ones as they come until the stop signal (Ctrl-C).
//! Read-only: no lock.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::deploy::services;
use super::{OpError, Workspace};
use crate::live::{LogEvent, LogQuery};
use crate::provider::Provider;

/// What to read.
#[derive(Debug, Clone)]
pub struct LogsRequest {
    /// The service (`services.web`).
    pub address: String,
    /// Only events at or after this time (epoch milliseconds).
    pub since_ms: Option<i64>,
    /// The service's system log instead of the application's.
    pub system: bool,
    /// Keep reading new events until `stop` says so.
    pub follow: bool,
    /// How long to wait between reads when following.
    pub poll: Duration,
}

/// Writes each event of the request's service to `sink`, oldest first;
/// returns how many were written. Following ends when `stop` turns true
/// (or its sender is dropped).
pub async fn logs<P: Provider + 'static>(
    ws: &Workspace<'_>,
    provider: Arc<P>,
    request: &LogsRequest,
    mut stop: watch::Receiver<bool>,
    sink: &mut (dyn FnMut(&LogEvent) -> Result<(), OpError> + Send),
) -> Result<usize, OpError> {
    let address = services(ws, std::slice::from_ref(&request.address), "logs")?
        .remove(0)
        .to_string();
    let state = ws.read_state()?;
    let record = state
        .as_ref()
        .and_then(|s| s.resource(&address))
        .filter(|r| r.physical_id.is_some())
        .ok_or_else(|| OpError::NotApplied {
            address: address.clone(),
        })?;
    let physical_id = record.physical_id.clone().unwrap_or_default();
    provider.preflight().await?;
    let mut cursor = Cursor::new(request.since_ms);
    let mut written = 0;
    loop {
        let query = LogQuery {
            since_ms: cursor.since_ms,
            system: request.system,
        };
        let events = provider
            .logs(&physical_id, &record.attributes, query)
            .await?;
        for event in cursor.fresh(events) {
            sink(&event)?;
            written += 1;
        }
        if !request.follow || *stop.borrow() {
            return Ok(written);
        }
        tokio::select! {
            () = tokio::time::sleep(request.poll) => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return Ok(written);
                }
            }
        }
    }
}

/// Where the next read starts, and what was already written at that very
/// millisecond (a read from `since` returns those again).
struct Cursor {
    since_ms: Option<i64>,
    seen_at_since: BTreeSet<(String, String)>,
}

impl Cursor {
    fn new(since_ms: Option<i64>) -> Self {
        Cursor {
            since_ms,
            seen_at_since: BTreeSet::new(),
        }
    }

    /// The events not written yet, oldest first; moves the cursor past them.
    fn fresh(&mut self, mut events: Vec<LogEvent>) -> Vec<LogEvent> {
        events.sort_by_key(|e| e.at_ms);
        let mut out = Vec::new();
        for event in events {
            if self.since_ms.is_some_and(|since| event.at_ms < since) {
                continue;
            }
            if Some(event.at_ms) == self.since_ms
                && !self
                    .seen_at_since
                    .insert((event.source.clone(), event.message.clone()))
            {
                continue;
            }
            if Some(event.at_ms) != self.since_ms {
                self.since_ms = Some(event.at_ms);
                self.seen_at_since.clear();
                self.seen_at_since
                    .insert((event.source.clone(), event.message.clone()));
            }
            out.push(event);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: i64, message: &str) -> LogEvent {
        LogEvent {
            at_ms,
            source: "app".into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_followed_read_writes_each_event_once_and_in_time_order() {
        let mut cursor = Cursor::new(Some(100));
        let first = cursor.fresh(vec![event(150, "b"), event(90, "old"), event(120, "a")]);
        assert_eq!(first, [event(120, "a"), event(150, "b")]);
        // The next read starts at 150 and returns it again with a new line
        // written in the same millisecond.
        let second = cursor.fresh(vec![event(150, "b"), event(150, "c"), event(200, "d")]);
        assert_eq!(second, [event(150, "c"), event(200, "d")]);
        assert!(cursor.fresh(vec![event(200, "d")]).is_empty());
    }
}
