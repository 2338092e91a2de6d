//! Health checks, run by the engine from the host through each replica's
//! port published on 127.0.0.1 (never a bridge address).

use std::time::Instant;

use crate::engine::{DockerEngine, ReplicaInfo};
use crate::error::{DockerError, Result};
use crate::http;
use crate::spec::{HealthProtocol, HealthSpec};

/// One check of one replica: `Ok` if healthy, `Err(reason)` if not.
pub async fn check_once(host_port: u16, health: &HealthSpec) -> std::result::Result<(), String> {
    match health.protocol {
        HealthProtocol::Tcp => http::tcp_check(host_port, health.timeout).await,
        HealthProtocol::Http => {
            let path = if health.path.starts_with('/') {
                health.path.clone()
            } else {
                format!("/{}", health.path)
            };
            let a = http::request(host_port, "GET", &path, &[], "", health.timeout).await?;
            if (200..400).contains(&a.status) {
                Ok(())
            } else {
                Err(format!("GET {path} answered {}", a.status))
            }
        }
    }
}

/// How often a starting replica is polled during its grace interval.
const STARTUP_POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl DockerEngine {
    /// Wait until every replica has passed `healthy_threshold` consecutive
    /// checks. Fails as soon as one replica fails `unhealthy_threshold`
    /// consecutive checks, or at `deadline`. Checks run every `interval`.
    /// A starting replica's failures during the first interval are retried
    /// every 50 ms and not counted, until its first success.
    pub async fn wait_healthy(
        &self,
        address: &str,
        replicas: &[ReplicaInfo],
        health: &HealthSpec,
        deadline: Instant,
    ) -> Result<()> {
        let started = Instant::now();
        // A starting process gets one interval of grace: until its first
        // success, failures in that window are retried quickly and not
        // counted, so a replica that is up 50 ms after start is not kept
        // waiting a whole interval (10 s in many stacks). Detection of a bad
        // deployment is delayed by at most that one interval.
        let grace_end = started + health.interval;
        let checks = replicas.iter().map(|r| async move {
            let mut ok = 0u32;
            let mut bad = 0u32;
            let mut ever_ok = false;
            loop {
                let round = Instant::now();
                let result = check_once(r.host_port, health).await;
                if result.is_err() && !ever_ok && Instant::now() + STARTUP_POLL < grace_end {
                    tokio::time::sleep(STARTUP_POLL).await;
                    continue;
                }
                match result {
                    Ok(()) => {
                        ever_ok = true;
                        ok += 1;
                        bad = 0;
                        if ok >= health.healthy_threshold.max(1) {
                            return Ok(());
                        }
                    }
                    Err(reason) => {
                        ok = 0;
                        bad += 1;
                        if bad >= health.unhealthy_threshold.max(1) {
                            return Err(DockerError::HealthCheckFailed {
                                address: address.to_string(),
                                reason: format!(
                                    "replica {} failed {bad} consecutive checks; last: {reason}",
                                    r.name
                                ),
                            });
                        }
                    }
                }
                let next = round + health.interval;
                if next >= deadline {
                    return Err(DockerError::Timeout {
                        operation: format!("health checks of {address} (replica {})", r.name),
                        elapsed: started.elapsed(),
                    });
                }
                tokio::time::sleep_until(next.into()).await;
            }
        });
        for r in futures_util::future::join_all(checks).await {
            r?;
        }
        Ok(())
    }
}
