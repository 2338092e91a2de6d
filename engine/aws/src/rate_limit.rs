//! A client-side rate limiter per AWS service: every HTTP attempt (retries
//! included) waits for its slot, so apprun stays under a known request rate
//! instead of spending its retry budget on throttling errors.
//!
//! It wraps the SDK's HTTP client (the one aws-config chose), so it applies
//! to every operation of a client without touching call sites.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Spaces requests `1 / rate` apart (a paced token bucket with no burst),
/// shared by every client of one service.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// At most `per_second` requests per second.
    pub fn new(per_second: f64) -> Arc<Self> {
        let interval = Duration::from_secs_f64(1.0 / per_second.max(0.001));
        Arc::new(Self {
            interval,
            next: Mutex::new(Instant::now()),
        })
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc), for configurations
/// that bring none.
pub fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::{Builder, tls};
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https()
}

/// The SDK HTTP client, paced.
pub struct Limited {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl Limited {
    /// Wraps `inner` so that every attempt waits on `pacer`.
    pub fn new(inner: SharedHttpClient, pacer: Arc<Pacer>) -> Self {
        Self { inner, pacer }
    }
}

impl fmt::Debug for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limited")
            .field("pacer", &self.pacer)
            .finish_non_exhaustive()
    }
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let pacer = self.pacer.clone();
        HttpConnectorFuture::new(async move {
            pacer.acquire().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_requests_to_the_rate() {
        let pacer = Pacer::new(10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            pacer.acquire().await;
        }
        // Slots at 0, 100, 200, 300, 400 ms.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(450),
            "{elapsed:?}"
        );
    }
}
