//! What the rate-limited benchmarks (`drift`, `discover`) share: their
//! settings from the environment, the provider settings the CLI builds
//! for `--max-rps apprunner=N`, and the peak of a request log.

#![allow(dead_code)]

use std::collections::BTreeMap;

use apprun_aws::{RateLimits, Settings};
use apprunner_emulator::RequestLogEntry;

/// The issues' target: elapsed <= this x (calls / rate).
pub const TARGET_RATIO: f64 = 1.1;

/// The environment variable `name` parsed, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The settings `apprun ... --max-rps apprunner=RPS` gives the provider
/// (`src/targets.rs`: the defaults, the region, the rate limits).
pub fn cli_settings(rps: f64) -> Settings {
    Settings {
        region: Some("us-east-1".to_owned()),
        rate_limits: RateLimits {
            apprunner: Some(rps),
            ..RateLimits::default()
        },
        ..Settings::default()
    }
}

/// The largest number of requests that arrived within any one second.
pub fn peak_per_second(log: &[RequestLogEntry]) -> usize {
    let mut at: Vec<u64> = log.iter().map(|r| r.at_ms).collect();
    at.sort_unstable();
    let mut peak = 0;
    let mut start = 0;
    for end in 0..at.len() {
        while at[end] - at[start] >= 1000 {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    peak
}

/// What a measured pass's App Runner request log says against the rate.
pub struct Calls {
    /// Requests made.
    pub calls: usize,
    /// Requests answered without an error.
    pub answered: usize,
    /// Requests refused as throttled.
    pub throttled: usize,
    /// Requests per operation.
    pub by_operation: BTreeMap<String, usize>,
    /// The most requests within any one second.
    pub peak: usize,
    /// calls / rate, in seconds.
    pub bound: f64,
    /// elapsed / bound.
    pub ratio: f64,
    /// `met` or `missed` against [`TARGET_RATIO`].
    pub verdict: &'static str,
}

impl Calls {
    /// The summary of `log`, made in `elapsed` seconds under `rps`.
    pub fn of(log: &[RequestLogEntry], elapsed: f64, rps: f64) -> Calls {
        let calls = log.len();
        let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
        for r in log {
            *by_operation.entry(r.operation.clone()).or_default() += 1;
        }
        let bound = calls as f64 / rps;
        let ratio = if bound > 0.0 {
            elapsed / bound
        } else {
            f64::NAN
        };
        Calls {
            calls,
            answered: log.iter().filter(|r| r.error.is_none()).count(),
            throttled: log
                .iter()
                .filter(|r| r.error.as_deref() == Some("ThrottlingException"))
                .count(),
            by_operation,
            peak: peak_per_second(log),
            bound,
            ratio,
            verdict: if ratio <= TARGET_RATIO {
                "met"
            } else {
                "missed"
            },
        }
    }
}
