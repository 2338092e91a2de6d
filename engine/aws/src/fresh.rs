//! Resources this process created, and when. AWS reads are eventually
//! consistent: right after a create, a describe may answer "not found". A
//! read of a resource created moments ago that finds nothing retries for
//! `Settings::read_after_create` instead of reporting it deleted; any other
//! read believes "not found" at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Ctx;
use crate::error::ApiFailure;
use crate::retry::Backoff;

/// Physical ids created by this process, with their creation time (clones
/// share them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fresh(Arc<Mutex<HashMap<String, Instant>>>);

impl Fresh {
    /// Notes that `id` was just created.
    pub(crate) fn created(&self, id: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), Instant::now());
    }

    /// Forgets `id` (deleted: "not found" is now the truth).
    pub(crate) fn forget(&self, id: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// How much longer a "not found" for `id` may be eventual consistency
    /// (`None`: it was not created recently by this process).
    fn window(&self, id: &str, settle: Duration) -> Option<Duration> {
        let created = *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)?;
        settle.checked_sub(created.elapsed())
    }
}

/// Reads `id` with `read`; while it answers `None` within the window after
/// this process created it, waits and reads again.
pub(crate) async fn read_settled<T, F, Fut>(
    ctx: &Ctx,
    id: &str,
    mut read: F,
) -> Result<Option<T>, ApiFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ApiFailure>>,
{
    let mut backoff = Backoff::for_retries(&ctx.settings);
    loop {
        match read().await? {
            None if ctx
                .fresh
                .window(id, ctx.settings.read_after_create)
                .is_some() =>
            {
                backoff.sleep().await
            }
            other => return Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_recent_create_of_this_process_opens_a_window() {
        let fresh = Fresh::default();
        assert_eq!(fresh.window("arn:a", Duration::from_secs(30)), None);
        fresh.created("arn:a");
        assert!(fresh.window("arn:a", Duration::from_secs(30)).is_some());
        assert_eq!(fresh.window("arn:a", Duration::ZERO), None);
        assert_eq!(fresh.window("arn:b", Duration::from_secs(30)), None);
        fresh.forget("arn:a");
        assert_eq!(fresh.window("arn:a", Duration::from_secs(30)), None);
    }
}
