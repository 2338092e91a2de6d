//! Retrying what the SDK must not retry by itself.
//!
//! The SDK's standard retry mode handles throttling and 5xx for reads and
//! idempotent writes (configured in `config`). Creates are different: a
//! create whose outcome is unknown (timeout, dropped connection, 5xx) may
//! have been applied, so it is never repeated blindly. [`create`] first
//! reconciles by reading (name + ownership tags) and adopts what it finds;
//! only if nothing is there does it try again.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apprun_engine::provider::{Applied, ProviderError};

use crate::config::Settings;
use crate::error::{ApiFailure, Class};

/// Jittered exponential backoff.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `first`, doubles up to `max`.
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            next: first,
            max: max.max(first),
        }
    }

    /// The retry backoff of `settings`.
    pub(crate) fn for_retries(settings: &Settings) -> Self {
        Backoff::new(settings.initial_backoff, settings.max_backoff)
    }

    /// The next delay: uniformly in [d/2, d], then doubles d.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = d / 2;
        half + half.mul_f64(random_unit())
    }

    /// Sleeps for the next delay.
    pub(crate) async fn sleep(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }
}

/// A pseudo-random number in [0, 1) (for jitter only).
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let h = RandomState::new().hash_one(n);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// What a create ended with.
#[derive(Debug)]
pub(crate) enum Created<T, R> {
    /// The create call succeeded.
    New(T),
    /// An earlier attempt had been applied after all: the reconcile read
    /// found the resource.
    Found(R),
}

impl<T> Created<T, Applied> {
    /// What the create reports: the resource in the new answer (`new`
    /// picks it; an answer without it is a failure naming `member` of
    /// `operation`), or the one the reconcile read found.
    pub(crate) fn applied(
        self,
        what: &str,
        (operation, member): (&'static str, &str),
        new: impl FnOnce(T) -> Option<Applied>,
    ) -> Result<Applied, ProviderError> {
        match self {
            Created::New(out) => {
                new(out).ok_or_else(|| crate::error::missing(operation, member).into_provider(what))
            }
            Created::Found(found) => Ok(found),
        }
    }
}

/// Runs a non-idempotent create (`attempt`, a client without SDK retries).
/// Throttling is retried after a backoff (nothing was applied). After an
/// ambiguous outcome or a 5xx, `reconcile` reads first: a found resource is
/// adopted, an absent one is created again, and a read that fails leaves the
/// create `Ambiguous`.
pub(crate) async fn create<T, R, A, B>(
    settings: &Settings,
    what: &str,
    mut attempt: impl FnMut() -> A,
    mut reconcile: impl FnMut() -> B,
) -> Result<Created<T, R>, ProviderError>
where
    A: Future<Output = Result<T, ApiFailure>>,
    B: Future<Output = Result<Option<R>, ProviderError>>,
{
    let mut backoff = Backoff::for_retries(settings);
    let max = settings.max_attempts.max(1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let failure = match attempt().await {
            Ok(t) => return Ok(Created::New(t)),
            Err(f) => f,
        };
        match failure.class {
            Class::Throttled if attempts < max => {
                tracing::debug!(operation = failure.operation, "throttled; retrying");
                backoff.sleep().await;
            }
            Class::Transient | Class::Ambiguous => {
                tracing::debug!(
                    operation = failure.operation,
                    "outcome unknown; reading before any retry"
                );
                match reconcile().await {
                    Ok(Some(found)) => return Ok(Created::Found(found)),
                    Ok(None) if attempts < max => backoff.sleep().await,
                    Ok(None) => return Err(failure.into_provider(what)),
                    Err(read) => {
                        return Err(ProviderError::Ambiguous {
                            operation: failure.operation.to_owned(),
                            message: format!(
                                "{}; reading {what} back to settle it also failed: {read}",
                                failure.message
                            ),
                        });
                    }
                }
            }
            _ => return Err(failure.into_provider(what)),
        }
    }
}

/// Runs an idempotent call `attempt` whose classified failures of class
/// `Throttled` or `Transient` deserve more tries than the SDK gave them
/// (used by the waiters' reads). Other failures return at once.
pub(crate) async fn read<T, A>(
    settings: &Settings,
    mut attempt: impl FnMut() -> A,
) -> Result<T, ApiFailure>
where
    A: Future<Output = Result<T, ApiFailure>>,
{
    let mut backoff = Backoff::for_retries(settings);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(t) => return Ok(t),
            Err(f) if read_again(settings, attempts, &f) => backoff.sleep().await,
            Err(f) => return Err(f.read_side()),
        }
    }
}

/// Whether a read that failed with `f` at try number `attempts` deserves
/// another try (throttled, transient or ambiguous, tries left).
pub(crate) fn read_again(settings: &Settings, attempts: u32, f: &ApiFailure) -> bool {
    attempts < settings.max_attempts.max(1)
        && matches!(
            f.class,
            Class::Throttled | Class::Transient | Class::Ambiguous
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_doubling_and_capped() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let delays: Vec<Duration> = (0..5).map(|_| b.next_delay()).collect();
        let caps = [100, 200, 400, 400, 400];
        for (d, cap) in delays.iter().zip(caps) {
            assert!(*d >= Duration::from_millis(cap / 2) && *d <= Duration::from_millis(cap));
        }
    }

    #[tokio::test]
    async fn create_reconciles_before_retrying_after_an_ambiguous_outcome() {
        let settings = Settings::fast();
        let mut calls = 0;
        let mut reads = 0;
        let out = create(
            &settings,
            "services.web",
            || {
                calls += 1;
                async move {
                    Err::<(), _>(ApiFailure::new(
                        "CreateService",
                        Class::Ambiguous,
                        "dropped",
                    ))
                }
            },
            || {
                reads += 1;
                async move { Ok(Some("arn:found")) }
            },
        )
        .await;
        assert!(matches!(out, Ok(Created::Found("arn:found"))));
        assert_eq!(
            (calls, reads),
            (1, 1),
            "one create, one read, no blind retry"
        );
    }

    #[tokio::test]
    async fn create_retries_throttling_and_never_reads_for_it() {
        let settings = Settings::fast();
        let mut calls = 0;
        let mut reads = 0;
        let out = create(
            &settings,
            "x",
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(ApiFailure::new("CreateRole", Class::Throttled, "slow down"))
                    } else {
                        Ok(n)
                    }
                }
            },
            || {
                reads += 1;
                async move { Ok(None::<()>) }
            },
        )
        .await;
        assert!(matches!(out, Ok(Created::New(3))));
        assert_eq!(reads, 0);
    }

    #[tokio::test]
    async fn a_failed_reconcile_read_is_ambiguous() {
        let settings = Settings::fast();
        let out = create(
            &settings,
            "x",
            || async move {
                Err::<(), _>(ApiFailure::new(
                    "CreateService",
                    Class::Ambiguous,
                    "timeout",
                ))
            },
            || async move {
                Err::<Option<()>, _>(ProviderError::Transient {
                    operation: "ListServices".into(),
                    message: "503".into(),
                })
            },
        )
        .await;
        assert!(matches!(out, Err(ProviderError::Ambiguous { .. })));
    }
}
