//! The day-2 methods of [`DockerProvider`]: `deploy` (a new deployment of
//! what a service declares), `status` (what runs, from labels and
//! `inspect`) and `logs` (the replicas' output through the Engine API).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use apprun_engine::attributes::ServiceAttributes;
use apprun_engine::live::{Deployment, LiveStatus, LogEvent, LogQuery, OperationInfo};
use apprun_engine::provider::{ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use bollard::query_parameters::{InspectContainerOptions, LogsOptionsBuilder};
use futures_util::StreamExt;
use serde_json::Value;

use super::attrs::{health_spec, recorded_name};
use super::errors::to_provider_error;
use super::{DockerProvider, ServiceOperation, arn};
use crate::engine::Owned;
use crate::error::{DockerError, status_of};
use crate::labels;
use crate::spec::HealthSpec;

/// Longest a status health check of one replica may take.
const STATUS_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The help line that sends a person to a service's logs.
fn logs_hint(address: &Address) -> String {
    format!("read its logs with `apprun logs {address} --target docker`")
}

impl DockerProvider {
    /// [`apprun_engine::provider::Provider::deploy`]: the service must
    /// exist on Docker; its image is rebuilt without the cache (`build:`)
    /// or taken again from its tag (`image:`: a re-tagged local image is
    /// picked up; apprun never pulls), then deployed blue/green.
    pub(crate) async fn deploy_again(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> Result<Deployment, ProviderError> {
        let address = request.address;
        if address.kind != Kind::Service {
            return Err(ProviderError::Invalid {
                operation: format!("deploy {address}"),
                message: "only services can be deployed".to_string(),
            });
        }
        Self::own_arn(physical_id, request)?;
        let owned = self
            .engine
            .list_owned(request.stack, Some(&address.to_string()))
            .await
            .map_err(|e| to_provider_error(&format!("deploy {address}"), e))?;
        if owned.is_empty() {
            return Err(ProviderError::NotFound {
                what: format!("{address} (no replica and no front door on Docker)"),
            });
        }
        let arn = Self::arn_of(request)?;
        match self
            .deploy_service(request, &arn, ServiceOperation::StartDeployment)
            .await
        {
            Ok((_, deployment)) => Ok(Deployment {
                operation_id: Some(deployment.generation),
                image_digest: Some(deployment.image_id).filter(|d| !d.is_empty()),
            }),
            Err(ProviderError::OperationFailed {
                what,
                message,
                help,
            }) => Err(ProviderError::OperationFailed {
                what,
                message,
                help: format!("{help}; {}", logs_hint(address)),
            }),
            Err(e) => Err(e),
        }
    }

    /// [`apprun_engine::provider::Provider::status`] of service `key`.
    pub(crate) async fn service_status(
        &self,
        stack: &str,
        key: &str,
        recorded: &Value,
    ) -> Result<Option<LiveStatus>, ProviderError> {
        let address = Address::new(Kind::Service, key);
        let operation = format!("status of {address}");
        let fail = |e: DockerError| to_provider_error(&operation, e);
        let owned = self
            .engine
            .list_owned(stack, Some(&address.to_string()))
            .await
            .map_err(fail)?;
        let replicas = own_replicas(&owned, recorded);
        let front_door = owned.iter().find(|c| c.role == labels::ROLE_FRONT_DOOR);
        if replicas.is_empty() && front_door.is_none() {
            return Ok(None);
        }
        let attributes = ServiceAttributes::from_value(recorded).ok();
        // Newest first (generation ids sort by time).
        let generations: Vec<&str> = replicas
            .iter()
            .map(|r| r.generation.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .rev()
            .collect();
        let current: Vec<&Owned> = replicas
            .iter()
            .copied()
            .filter(|r| generations.first() == Some(&r.generation.as_str()))
            .collect();
        let running: Vec<&Owned> = current.iter().copied().filter(|r| r.running).collect();
        let expected = current
            .iter()
            .find_map(|r| r.labels.get(labels::REPLICAS)?.parse::<usize>().ok())
            .unwrap_or(current.len());

        let mut details = BTreeMap::new();
        if let Some(port) = front_door.and_then(|fd| fd.labels.get(labels::FRONT_DOOR_PORT)) {
            details.insert("url".to_string(), format!("http://127.0.0.1:{port}"));
        }
        if let Some(image) = current.iter().find_map(|r| r.labels.get(labels::IMAGE)) {
            details.insert("image".to_string(), image.clone());
        }
        details.insert("replicas".to_string(), running.len().to_string());
        if let Some(attributes) = &attributes {
            details.insert("cpu".to_string(), attributes.cpu.0.to_string());
            details.insert("memory".to_string(), attributes.memory.0.to_string());
        }

        // The image each running replica runs, and one health check of it.
        let health = attributes
            .as_ref()
            .and_then(|a| health_spec(&address, a).ok())
            .unwrap_or_default();
        let port = attributes.as_ref().map_or(8080, |a| a.port);
        let mut unhealthy = None;
        for r in &running {
            let info = match self
                .engine
                .client()
                .inspect_container(&r.id, None::<InspectContainerOptions>)
                .await
            {
                Ok(info) => info,
                Err(e) if status_of(&e) == Some(404) => {
                    unhealthy = Some(format!("replica {} disappeared", r.name));
                    continue;
                }
                Err(e) => {
                    return Err(fail(DockerError::api(
                        format!("inspect container {}", r.name),
                        e,
                    )));
                }
            };
            if let Some(image) = info.image.filter(|i| !i.is_empty()) {
                details.entry("image_digest".to_string()).or_insert(image);
            }
            if unhealthy.is_none()
                && let Err(reason) = self.check_replica(&r.id, port, &health).await
            {
                unhealthy = Some(format!("replica {}: {reason}", r.name));
            }
        }

        let any_running = replicas.iter().any(|r| r.running);
        let (status, reason) = if !any_running {
            (
                "PAUSED",
                Some(if replicas.is_empty() {
                    "no replica exists".to_string()
                } else {
                    "no replica is running (stopped)".to_string()
                }),
            )
        } else if generations.len() > 1 {
            (
                "OPERATION_IN_PROGRESS",
                Some("replicas of two deployments run".to_string()),
            )
        } else if !front_door.is_some_and(|fd| fd.running) {
            (
                "FAILED",
                Some(match front_door {
                    None => "the front door is missing".to_string(),
                    Some(fd) => format!("the front door is {}", fd.state),
                }),
            )
        } else if running.len() < expected {
            (
                "FAILED",
                Some(format!(
                    "{} of {expected} replicas are running",
                    running.len()
                )),
            )
        } else if let Some(reason) = unhealthy {
            ("FAILED", Some(reason))
        } else {
            ("RUNNING", None)
        };
        if let Some(reason) = reason {
            details.insert("reason".to_string(), reason);
        }

        let operations = generations
            .iter()
            .enumerate()
            .map(|(i, generation)| {
                let kind = replicas
                    .iter()
                    .filter(|r| r.generation == *generation)
                    .find_map(|r| r.labels.get(labels::OPERATION))
                    .cloned()
                    .unwrap_or_else(|| "START_DEPLOYMENT".to_string());
                OperationInfo {
                    id: (*generation).to_string(),
                    kind,
                    status: if i == 0 && generations.len() > 1 {
                        "IN_PROGRESS".to_string()
                    } else {
                        "SUCCEEDED".to_string()
                    },
                    started_at: generation_ms(generation).map(rfc3339_ms),
                    ended_at: None,
                }
            })
            .collect();
        Ok(Some(LiveStatus {
            healthy: status == "RUNNING",
            status: status.to_string(),
            details,
            operations,
        }))
    }

    /// One health check of replica `id` through its published port.
    async fn check_replica(&self, id: &str, port: i64, health: &HealthSpec) -> Result<(), String> {
        let host_port = self
            .engine
            .published_port(id, &format!("{port}/tcp"))
            .await
            .map_err(|e| e.to_string())?;
        let mut once = health.clone();
        once.timeout = once.timeout.min(STATUS_CHECK_TIMEOUT);
        crate::health::check_once(host_port, &once).await
    }

    /// [`apprun_engine::provider::Provider::status`] of custom domain
    /// `key`: `active` when its front door runs as applied, else `FAILED`
    /// with the first drift as `reason`.
    pub(crate) async fn domain_status(
        &self,
        stack: &str,
        key: &str,
        recorded: &Value,
    ) -> Result<Option<LiveStatus>, ProviderError> {
        let Some(observed) = self.read_domain(stack, key, recorded).await? else {
            return Ok(None);
        };
        let mut details = BTreeMap::new();
        if let Some(url) = observed.outputs.get("url").and_then(Value::as_str) {
            details.insert("url".to_string(), url.to_string());
        }
        let drift = observed
            .attributes
            .get(super::DRIFT_ATTRIBUTE)
            .and_then(Value::as_array)
            .and_then(|d| d.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        let healthy = drift.is_none();
        if let Some(reason) = drift {
            details.insert("reason".to_string(), reason);
        }
        Ok(Some(LiveStatus {
            status: if healthy { "active" } else { "FAILED" }.to_string(),
            healthy,
            details,
            operations: Vec::new(),
        }))
    }

    /// [`apprun_engine::provider::Provider::logs`]: the log lines of every
    /// replica of the service (running or stopped), or with `query.system`
    /// of its front door, at or after `query.since_ms`, by time.
    pub(crate) async fn service_logs(
        &self,
        physical_id: &str,
        recorded: &Value,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, ProviderError> {
        let Some(parsed) = arn::parse(physical_id).filter(|a| a.kind == Kind::Service) else {
            return Err(ProviderError::NotFound {
                what: format!("the logs of {physical_id} (not a Docker-target service id)"),
            });
        };
        let address = Address::new(Kind::Service, &parsed.key);
        let operation = format!("read the logs of {address}");
        let owned = self
            .engine
            .list_owned(&parsed.stack, Some(&address.to_string()))
            .await
            .map_err(|e| to_provider_error(&operation, e))?;
        let sources: Vec<(String, &Owned)> = if query.system {
            owned
                .iter()
                .filter(|c| c.role == labels::ROLE_FRONT_DOOR)
                .map(|c| ("front-door".to_string(), c))
                .collect()
        } else {
            source_names(&parsed.key, &own_replicas(&owned, recorded))
        };
        if sources.is_empty() {
            return Err(ProviderError::NotFound {
                what: if query.system {
                    format!("the system logs of {address} (it has no front door)")
                } else {
                    format!("the logs of {address} (no replica is running)")
                },
            });
        }
        let since_secs = query.since_ms.map(|ms| {
            i32::try_from(ms.div_euclid(1000))
                .unwrap_or(i32::MAX)
                .max(0)
        });
        let reads = sources
            .iter()
            .map(|(source, c)| self.container_logs(source, c, since_secs));
        let mut events = Vec::new();
        for read in futures_util::future::join_all(reads).await {
            events.extend(read.map_err(|e| to_provider_error(&operation, e))?);
        }
        if let Some(since) = query.since_ms {
            events.retain(|e| e.at_ms >= since);
        }
        // Stable: one container's lines keep their order within a millisecond.
        events.sort_by_key(|e| e.at_ms);
        Ok(events)
    }

    /// The log lines of one container (stdout and stderr, with Docker's
    /// timestamps), as events of `source`. A container removed meanwhile
    /// has none.
    async fn container_logs(
        &self,
        source: &str,
        container: &Owned,
        since_secs: Option<i32>,
    ) -> crate::error::Result<Vec<LogEvent>> {
        let mut options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(false)
            .tail("all");
        if let Some(since) = since_secs {
            options = options.since(since);
        }
        let mut stream = self
            .engine
            .client()
            .logs(&container.id, Some(options.build()));
        let mut events = Vec::new();
        let mut last_ms = 0;
        while let Some(item) = stream.next().await {
            let output = match item {
                Ok(output) => output,
                Err(e) if status_of(&e) == Some(404) => return Ok(Vec::new()),
                Err(e) => {
                    return Err(DockerError::api(
                        format!("read the logs of container {}", container.name),
                        e,
                    ));
                }
            };
            let text = String::from_utf8_lossy(output.as_ref()).into_owned();
            for line in text.lines() {
                let (at_ms, message) = match line.split_once(' ') {
                    Some((stamp, rest)) => match parse_rfc3339_ms(stamp) {
                        Some(ms) => (ms, rest),
                        None => (last_ms, line),
                    },
                    None => match parse_rfc3339_ms(line) {
                        Some(ms) => (ms, ""),
                        None => (last_ms, line),
                    },
                };
                last_ms = at_ms;
                events.push(LogEvent {
                    at_ms,
                    source: source.to_string(),
                    message: message.trim_end_matches('\r').to_string(),
                });
            }
        }
        Ok(events)
    }
}

/// The replicas among `owned` that belong to the record's physical name
/// (a renamed successor's are not this record's).
fn own_replicas<'a>(owned: &'a [Owned], recorded: &Value) -> Vec<&'a Owned> {
    let name = recorded_name(Kind::Service, recorded).unwrap_or_default();
    owned
        .iter()
        .filter(|c| c.role == labels::ROLE_REPLICA)
        .filter(|c| name.is_empty() || c.labels.get(labels::NAME).is_none_or(|n| *n == name))
        .collect()
}

/// Each replica with a short name: `<key>-<n>` (`web-1` for index 0 of its
/// deployment), or `<key>-<n>@<generation>` when replicas of several
/// deployments are there.
fn source_names<'a>(key: &str, replicas: &[&'a Owned]) -> Vec<(String, &'a Owned)> {
    let generations: BTreeSet<&str> = replicas.iter().map(|r| r.generation.as_str()).collect();
    replicas
        .iter()
        .map(|r| {
            let index = r
                .name
                .rsplit('-')
                .next()
                .and_then(|i| i.parse::<u32>().ok());
            let name = match index {
                Some(i) if generations.len() <= 1 => format!("{key}-{}", i + 1),
                Some(i) => format!("{key}-{}@{}", i + 1, r.generation),
                None => r.name.clone(),
            };
            (name, *r)
        })
        .collect()
}

/// The time a generation id ([`crate::new_generation`]: `g<ms hex><2 hex>`)
/// was made, in epoch milliseconds.
fn generation_ms(generation: &str) -> Option<i64> {
    let hex = generation.strip_prefix('g')?;
    let ms = hex.get(..hex.len().checked_sub(2)?)?;
    i64::from_str_radix(ms, 16).ok()
}

/// Epoch milliseconds as RFC 3339 UTC with milliseconds.
fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Parses Docker's log timestamp (`2026-12-03T16:57:49.123456789Z`, or
/// with an offset) to epoch milliseconds.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        let first3: String = fraction[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = first3.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    Some(secs * 1000 + millis)
}

// Howard Hinnant's civil-from-days and days-from-civil algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps_parse_to_milliseconds_and_back() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T00:00:01.123456789Z"),
            Some(951_782_401_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T02:00:01.5+02:00"),
            Some(951_782_401_500)
        );
        assert_eq!(parse_rfc3339_ms("hello world"), None);
        assert_eq!(rfc3339_ms(951_782_401_123), "2000-02-29T00:00:01.123Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_generation_tells_when_it_was_made() {
        let generation = crate::new_generation();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let made = generation_ms(&generation).unwrap_or_default();
        assert!((now - made).abs() < 5_000, "{generation} {made} {now}");
        assert_eq!(generation_ms("nope"), None);
    }
}
