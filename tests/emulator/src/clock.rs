//! The emulator's clock. Every timestamp and every operation deadline reads
//! it; nothing else in the crate looks at the system time.
//!
//! In [`ClockMode::Virtual`] time stands still until a test advances it, so an
//! asynchronous operation of 10 minutes completes in one call. In
//! [`ClockMode::Real`] it follows the system clock, for benchmarks and manual
//! use. Fault latencies and requests-per-second limits always use real time:
//! they act on a real client's sockets.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the emulator's time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Time moves only when advanced (admin endpoint or Rust API).
    Virtual,
    /// Time follows the system clock.
    Real,
}

impl std::str::FromStr for ClockMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "virtual" => Ok(ClockMode::Virtual),
            "real" => Ok(ClockMode::Real),
            other => Err(format!(
                "unknown clock mode `{other}` (expected `virtual` or `real`)"
            )),
        }
    }
}

/// The virtual clock starts here (2024-01-01T00:00:00Z), so runs are reproducible.
const VIRTUAL_EPOCH_MS: u64 = 1_704_067_200_000;

/// A clock in milliseconds since the Unix epoch.
#[derive(Debug)]
pub(crate) struct Clock {
    mode: ClockMode,
    /// Virtual: the current time. Real: an offset added to the system time
    /// (advancing a real clock moves it forward too, which tests may use).
    millis: Mutex<u64>,
}

impl Clock {
    pub(crate) fn new(mode: ClockMode) -> Self {
        let start = match mode {
            ClockMode::Virtual => VIRTUAL_EPOCH_MS,
            ClockMode::Real => 0,
        };
        Clock {
            mode,
            millis: Mutex::new(start),
        }
    }

    pub(crate) fn mode(&self) -> ClockMode {
        self.mode
    }

    /// The current time in epoch milliseconds.
    pub(crate) fn now_ms(&self) -> u64 {
        let stored = *self.millis.lock().unwrap_or_else(|p| p.into_inner());
        match self.mode {
            ClockMode::Virtual => stored,
            ClockMode::Real => system_ms().saturating_add(stored),
        }
    }

    /// Moves time forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut guard = self.millis.lock().unwrap_or_else(|p| p.into_inner());
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        *guard = guard.saturating_add(by_ms);
    }
}

fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Renders epoch milliseconds as the wire's epoch seconds (a JSON number).
pub(crate) fn epoch_seconds(ms: u64) -> serde_json::Value {
    // Millisecond precision, as the real service returns fractional seconds.
    let secs = (ms as f64) / 1000.0;
    serde_json::Number::from_f64(secs)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_moves_only_when_advanced() {
        let clock = Clock::new(ClockMode::Virtual);
        let t0 = clock.now_ms();
        assert_eq!(clock.now_ms(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now_ms(), t0 + 90_000);
    }

    #[test]
    fn timestamps_are_numbers() {
        assert!(epoch_seconds(1_704_067_200_500).is_number());
    }
}
