//! The one wait loop for taking a state lock, shared by every backend: a
//! backend supplies "try once", this module decides whether to fail at once
//! ([`LockError::Locked`], the default, P1), to wait with backoff and jitter,
//! or to give up at the timeout ([`LockError::Timeout`]).
//!
//! Owns the waiting policy only. Must never touch the file system or the
//! network: the backend's closure does that.

use std::time::{Duration, Instant};

use crate::error::LockError;
use crate::lock::{LockInfo, LockRequest};

/// The first pause between tries; it doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
/// The longest pause between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Jitter is up to this many milliseconds (exclusive), added to each pause.
const JITTER_MS: u32 = 20;

/// The outcome of one try at a lock, as told by a backend to [`wait_for_lock`].
#[derive(Debug)]
pub enum LockAttempt<T> {
    /// The lock is taken; the loop returns this value.
    Acquired(T),
    /// Another holder has the lock: its record, if it could be read.
    Held(Option<Box<LockInfo>>),
    /// Nothing to wait for (the lock was let go in between, or a stale
    /// holder was cleared): try again at once, without a pause.
    Retry,
}

/// Takes a lock by calling `try_once` until it yields
/// [`LockAttempt::Acquired`] or an error, per `request.timeout`:
/// - `None`: the first [`LockAttempt::Held`] fails with [`LockError::Locked`].
/// - `Some(t)`: after a [`LockAttempt::Held`], pauses (25 ms doubling up to
///   2 s, plus up to 20 ms of jitter, never past `t`) and tries again; once
///   `t` has passed since the call, fails with [`LockError::Timeout`].
///
/// Errors name `location` and the last holder seen. An error from
/// `try_once` is returned as it is, at once.
pub fn wait_for_lock<T>(
    request: &LockRequest,
    location: &str,
    try_once: impl FnMut() -> Result<LockAttempt<T>, LockError>,
) -> Result<T, LockError> {
    wait_with(request, location, try_once, &mut RealClock(Instant::now()))
}

/// Time as the wait loop sees it: the real clock, or a simulated one in tests.
trait WaitClock {
    /// How long since the wait began.
    fn elapsed(&self) -> Duration;
    /// Pauses for `pause`.
    fn sleep(&mut self, pause: Duration);
}

/// The real clock, started when the wait began.
struct RealClock(Instant);

impl WaitClock for RealClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep(&mut self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

/// [`wait_for_lock`] on a given clock.
fn wait_with<T>(
    request: &LockRequest,
    location: &str,
    mut try_once: impl FnMut() -> Result<LockAttempt<T>, LockError>,
    clock: &mut impl WaitClock,
) -> Result<T, LockError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let holder = match try_once()? {
            LockAttempt::Acquired(taken) => return Ok(taken),
            LockAttempt::Retry => continue,
            LockAttempt::Held(holder) => holder,
        };
        let Some(timeout) = request.timeout else {
            return Err(LockError::Locked {
                location: location.to_owned(),
                holder,
            });
        };
        let waited = clock.elapsed();
        if waited >= timeout {
            return Err(LockError::Timeout {
                location: location.to_owned(),
                waited,
                holder,
            });
        }
        let jitter = Duration::from_millis(u64::from(waited.subsec_nanos() % JITTER_MS));
        clock.sleep((backoff + jitter).min(timeout - waited));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::lock::LockId;

    /// A simulated clock: sleeping advances it and is recorded.
    #[derive(Default)]
    struct FakeClock {
        now: Duration,
        pauses: Vec<Duration>,
    }

    impl WaitClock for FakeClock {
        fn elapsed(&self) -> Duration {
            self.now
        }

        fn sleep(&mut self, pause: Duration) {
            self.now += pause;
            self.pauses.push(pause);
        }
    }

    type Try = Result<LockAttempt<&'static str>, LockError>;

    /// What one wait did: its result, how many tries and which pauses.
    struct Run {
        result: Result<&'static str, LockError>,
        tries: usize,
        pauses: Vec<Duration>,
    }

    /// Waits on a simulated clock starting at `start` for a backend whose
    /// tries yield `script` in order, then `rest()` for ever.
    fn run(
        timeout: Option<Duration>,
        start: Duration,
        script: Vec<Try>,
        rest: impl Fn() -> Try,
    ) -> Run {
        let mut request = LockRequest::new("apply");
        request.timeout = timeout;
        let mut clock = FakeClock {
            now: start,
            pauses: Vec::new(),
        };
        let mut script = VecDeque::from(script);
        let mut tries = 0;
        let result = wait_with(
            &request,
            "here",
            || {
                tries += 1;
                script.pop_front().unwrap_or_else(&rest)
            },
            &mut clock,
        );
        Run {
            result,
            tries,
            pauses: clock.pauses,
        }
    }

    fn holder() -> Box<LockInfo> {
        Box::new(LockInfo {
            id: LockId::new("0123"),
            operation: "apply".to_owned(),
            user: "ann".to_owned(),
            host: "build-1".to_owned(),
            pid: 4242,
            version: "0.0.0".to_owned(),
            since: "2026-01-01T00:00:00Z".to_owned(),
        })
    }

    fn held() -> Try {
        Ok(LockAttempt::Held(Some(holder())))
    }

    fn acquired() -> Try {
        Ok(LockAttempt::Acquired("guard"))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn without_timeout_a_held_lock_fails_at_once_naming_the_holder() {
        let run = run(None, Duration::ZERO, vec![], held);
        match run.result {
            Err(LockError::Locked { location, holder }) => {
                assert_eq!(location, "here");
                assert_eq!(holder.map(|h| h.pid), Some(4242));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(run.tries, 1);
        assert!(run.pauses.is_empty(), "no wait without a timeout");
    }

    #[test]
    fn gives_up_at_the_timeout_with_the_holders_error() {
        let run = run(Some(secs(5)), Duration::ZERO, vec![], held);
        match run.result {
            Err(LockError::Timeout {
                location,
                waited,
                holder,
            }) => {
                assert_eq!(location, "here");
                assert_eq!(waited, secs(5));
                assert_eq!(holder.map(|h| h.pid), Some(4242));
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        // Doubling from 25 ms, and the last pause cut to end exactly at the
        // timeout. (Whole milliseconds on the simulated clock: no jitter.)
        assert_eq!(run.pauses, [25, 50, 100, 200, 400, 800, 1600, 1825].map(ms));
        assert_eq!(run.tries, 9);
    }

    #[test]
    fn backoff_stops_growing_at_two_seconds() {
        let run = run(Some(secs(10)), Duration::ZERO, vec![], || {
            Ok(LockAttempt::Held(None))
        });
        assert!(matches!(
            run.result,
            Err(LockError::Timeout { holder: None, .. })
        ));
        assert_eq!(
            run.pauses,
            [25, 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000, 825].map(ms),
        );
    }

    #[test]
    fn pauses_carry_jitter_of_under_twenty_milliseconds() {
        // The jitter comes from the clock's sub-millisecond part (7 ns here).
        let run = run(
            Some(secs(1)),
            Duration::from_nanos(7),
            vec![held(), held()],
            acquired,
        );
        assert_eq!(run.result.ok(), Some("guard"));
        assert_eq!(run.pauses, [ms(25 + 7), ms(50 + 7)]);
    }

    #[test]
    fn succeeds_when_the_holder_goes_away() {
        let run = run(
            Some(secs(60)),
            Duration::ZERO,
            vec![held(), held(), held()],
            acquired,
        );
        assert_eq!(run.result.ok(), Some("guard"));
        assert_eq!(run.tries, 4);
        assert_eq!(run.pauses, [25, 50, 100].map(ms));
    }

    #[test]
    fn retry_tries_again_without_a_pause() {
        let script = vec![Ok(LockAttempt::Retry), Ok(LockAttempt::Retry)];
        let run = run(None, Duration::ZERO, script, acquired);
        assert_eq!(run.result.ok(), Some("guard"));
        assert_eq!(run.tries, 3);
        assert!(run.pauses.is_empty());
    }

    #[test]
    fn another_error_ends_the_wait_at_once() {
        let run = run(Some(secs(60)), Duration::ZERO, vec![held()], || {
            Err(LockError::NotLocked {
                location: "there".to_owned(),
            })
        });
        assert!(
            matches!(run.result, Err(LockError::NotLocked { ref location }) if location == "there")
        );
        assert_eq!(run.tries, 2);
        assert_eq!(run.pauses, [ms(25)]);
    }

    #[test]
    fn the_real_clock_waits_out_a_short_timeout() {
        let request = LockRequest::new("apply").with_timeout(ms(60));
        let started = Instant::now();
        let result = wait_for_lock(&request, "here", || {
            Ok(LockAttempt::<()>::Held(Some(holder())))
        });
        let took = started.elapsed();
        match result {
            Err(LockError::Timeout { waited, holder, .. }) => {
                assert!(waited >= ms(60), "waited {waited:?}");
                assert!(holder.is_some());
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        assert!(took >= ms(60), "took {took:?}");
        assert!(took < secs(10), "took {took:?}");
    }
}
