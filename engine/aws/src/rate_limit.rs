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

/// Client-side request-rate limits, per AWS service (`--max-rps`): one
/// rate for every service, and/or one per service. Written `19` (every
/// service), `apprunner=19` (App Runner only) or `5,apprunner=19`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimits {
    /// The rate of every service that has none of its own.
    pub default: Option<f64>,
    /// App Runner's own rate.
    pub apprunner: Option<f64>,
    /// IAM's own rate.
    pub iam: Option<f64>,
    /// EC2's own rate.
    pub ec2: Option<f64>,
    /// ECR's own rate.
    pub ecr: Option<f64>,
    /// Route 53's own rate (custom domain records).
    pub route53: Option<f64>,
    /// CloudWatch Logs' own rate (`apprun logs`).
    pub logs: Option<f64>,
}

/// A `--max-rps` value that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateLimitsError {
    /// A rate that is not a positive number.
    #[error("`{0}` is not a positive number of requests per second")]
    NotARate(String),
    /// A service apprun does not call.
    #[error("`{0}` is not a service apprun calls (apprunner, iam, ec2, ecr, route53, logs)")]
    UnknownService(String),
}

impl RateLimits {
    /// The same rate for every service.
    pub fn all(per_second: f64) -> Self {
        RateLimits {
            default: Some(per_second),
            ..RateLimits::default()
        }
    }

    /// The rate of `service` (`apprunner`, `iam`, `ec2`, `ecr`, `route53`,
    /// `logs`), if any.
    pub fn of(&self, service: &str) -> Option<f64> {
        let own = match service {
            "apprunner" => self.apprunner,
            "iam" => self.iam,
            "ec2" => self.ec2,
            "ecr" => self.ecr,
            "route53" => self.route53,
            "logs" => self.logs,
            _ => None,
        };
        own.or(self.default)
    }
}

impl std::str::FromStr for RateLimits {
    type Err = RateLimitsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rate = |t: &str| -> Result<f64, RateLimitsError> {
            match t.trim().parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
                _ => Err(RateLimitsError::NotARate(t.trim().to_owned())),
            }
        };
        let mut limits = RateLimits::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                None => limits.default = Some(rate(part)?),
                Some((service, value)) => {
                    let slot = match service.trim().to_ascii_lowercase().as_str() {
                        "apprunner" => &mut limits.apprunner,
                        "iam" => &mut limits.iam,
                        "ec2" => &mut limits.ec2,
                        "ecr" => &mut limits.ecr,
                        "route53" => &mut limits.route53,
                        "logs" => &mut limits.logs,
                        _ => {
                            return Err(RateLimitsError::UnknownService(service.trim().to_owned()));
                        }
                    };
                    *slot = Some(rate(value)?);
                }
            }
        }
        Ok(limits)
    }
}

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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_one_rate_or_per_service_rates() {
        let all: RateLimits = "19".parse().unwrap();
        assert_eq!(all, RateLimits::all(19.0));
        assert_eq!(all.of("iam"), Some(19.0));
        let some: RateLimits = "apprunner=19, IAM=2.5".parse().unwrap();
        assert_eq!(some.of("apprunner"), Some(19.0));
        assert_eq!(some.of("iam"), Some(2.5));
        assert_eq!(some.of("ecr"), None);
        let mixed: RateLimits = "5,apprunner=19".parse().unwrap();
        assert_eq!(mixed.of("apprunner"), Some(19.0));
        assert_eq!(mixed.of("ec2"), Some(5.0));
        let newer: RateLimits = "2,route53=1,logs=10".parse().unwrap();
        assert_eq!(newer.of("route53"), Some(1.0));
        assert_eq!(newer.of("logs"), Some(10.0));
        assert_eq!(newer.of("apprunner"), Some(2.0));
    }

    #[test]
    fn rate_limits_refuse_what_is_not_a_rate_or_a_service() {
        for bad in ["0", "-1", "fast", "apprunner=", "NaN", "inf"] {
            assert!(
                matches!(bad.parse::<RateLimits>(), Err(RateLimitsError::NotARate(_))),
                "{bad}"
            );
        }
        assert_eq!(
            "s3=4".parse::<RateLimits>(),
            Err(RateLimitsError::UnknownService("s3".to_owned()))
        );
    }

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
