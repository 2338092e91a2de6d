//! Settings (retries, waits, endpoint overrides) and the SDK clients built
//! from one `SdkConfig`.
//!
//! Endpoints normally come from the standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, which `aws-config` reads; the
//! [`Endpoints`] overrides exist for in-process tests that build an
//! `SdkConfig` by hand.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Per-service endpoint overrides (`None`: the SDK's resolution, which
/// honours `AWS_ENDPOINT_URL_<SERVICE>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// App Runner.
    pub apprunner: Option<String>,
    /// IAM.
    pub iam: Option<String>,
    /// EC2 (subnet and security group checks).
    pub ec2: Option<String>,
    /// ECR.
    pub ecr: Option<String>,
    /// Route 53 (custom domain records; the SDK's own variable is
    /// `AWS_ENDPOINT_URL_ROUTE_53`).
    pub route53: Option<String>,
    /// CloudWatch Logs (service logs; the SDK's own variable is
    /// `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`).
    pub logs: Option<String>,
}

impl Endpoints {
    /// App Runner at `apprunner`, every other service at `others`.
    pub fn split(apprunner: impl Into<String>, others: impl Into<String>) -> Self {
        let others = others.into();
        Endpoints {
            apprunner: Some(apprunner.into()),
            iam: Some(others.clone()),
            ec2: Some(others.clone()),
            ecr: Some(others.clone()),
            route53: Some(others.clone()),
            logs: Some(others),
        }
    }
}

/// How hard the provider retries and how long it waits.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The region every client uses, over the environment's and the
    /// profile's (the stack's `region:`); `None`: the standard resolution.
    pub region: Option<String>,
    /// Attempts per API call (the first one included) for throttling and
    /// transient errors, through the SDK's standard retry mode.
    pub max_attempts: u32,
    /// Use the SDK's adaptive retry mode (a client-side rate limiter that
    /// slows down after throttling) instead of the standard mode.
    pub adaptive_retry: bool,
    /// The first backoff between attempts (jittered, doubling).
    pub initial_backoff: Duration,
    /// The longest backoff between attempts.
    pub max_backoff: Duration,
    /// The timeout of one HTTP attempt (`None`: the SDK default).
    pub attempt_timeout: Option<Duration>,
    /// How long to wait for an App Runner operation before giving up.
    pub operation_deadline: Duration,
    /// The first interval between polls of an operation (doubling).
    pub poll_interval: Duration,
    /// The longest interval between polls.
    pub max_poll_interval: Duration,
    /// How often to report progress while waiting.
    pub progress_every: Duration,
    /// How long to retry a refusal caused by IAM propagation (a role just
    /// created is not yet assumable).
    pub iam_propagation: Duration,
    /// How long a resource just created may read as not found before that
    /// is believed (eventual consistency).
    pub read_after_create: Duration,
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// Client-side limits on requests per second to each AWS service
    /// (retries count). Empty: no limit beyond the SDK's retry budget.
    pub rate_limits: crate::rate_limit::RateLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: None,
            max_attempts: 8,
            adaptive_retry: false,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            attempt_timeout: Some(Duration::from_secs(60)),
            operation_deadline: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(15),
            progress_every: Duration::from_secs(10),
            iam_propagation: Duration::from_secs(120),
            read_after_create: Duration::from_secs(30),
            endpoints: Endpoints::default(),
            rate_limits: crate::rate_limit::RateLimits::default(),
        }
    }
}

impl Settings {
    /// Fast settings for tests against local emulators: millisecond backoff
    /// and polls, one-minute deadlines.
    pub fn fast() -> Self {
        Settings {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(100),
            attempt_timeout: Some(Duration::from_secs(5)),
            operation_deadline: Duration::from_secs(60),
            poll_interval: Duration::from_millis(10),
            max_poll_interval: Duration::from_millis(100),
            progress_every: Duration::from_millis(200),
            iam_propagation: Duration::from_secs(2),
            read_after_create: Duration::from_secs(2),
            ..Settings::default()
        }
    }

    pub(crate) fn retry_config(&self) -> RetryConfig {
        let base = if self.adaptive_retry {
            RetryConfig::adaptive()
        } else {
            RetryConfig::standard()
        };
        base.with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    pub(crate) fn timeout_config(&self) -> TimeoutConfig {
        let mut builder = TimeoutConfig::builder();
        if let Some(t) = self.attempt_timeout {
            builder = builder.operation_attempt_timeout(t);
        }
        builder.build()
    }
}

/// The SDK clients. Each service has a retrying client (reads, idempotent
/// writes) and a `once` client without SDK retries for non-idempotent
/// creates: after an ambiguous outcome those must be reconciled by a read
/// before any retry (see `retry`).
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub apprunner: aws_sdk_apprunner::Client,
    pub apprunner_once: aws_sdk_apprunner::Client,
    pub iam: aws_sdk_iam::Client,
    pub iam_once: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecr_once: aws_sdk_ecr::Client,
    pub route53: aws_sdk_route53::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

macro_rules! client {
    ($sdk:ident, $config:expr, $settings:expr, $endpoint:expr, $retry:expr, $pacer:expr) => {{
        let mut builder = $sdk::config::Builder::from($config)
            .retry_config($retry)
            .timeout_config($settings.timeout_config());
        if let Some(pacer) = $pacer {
            let http = $config
                .http_client()
                .unwrap_or_else(crate::rate_limit::default_https_client);
            builder = builder.http_client(crate::rate_limit::Limited::new(http, pacer.clone()));
        }
        if let Some(url) = $endpoint {
            builder = builder.endpoint_url(url.clone());
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

impl Clients {
    pub(crate) fn new(config: &SdkConfig, settings: &Settings) -> Self {
        let retry = settings.retry_config();
        let once = RetryConfig::disabled();
        let e = &settings.endpoints;
        // One pacer per service, shared by its retrying and its once client.
        let pacer = |service: &str| {
            settings
                .rate_limits
                .of(service)
                .map(crate::rate_limit::Pacer::new)
        };
        let (apprunner, iam, ec2, ecr) =
            (pacer("apprunner"), pacer("iam"), pacer("ec2"), pacer("ecr"));
        let route53 = pacer("route53");
        let logs = pacer("logs");
        Clients {
            apprunner: client!(
                aws_sdk_apprunner,
                config,
                settings,
                &e.apprunner,
                retry.clone(),
                &apprunner
            ),
            apprunner_once: client!(
                aws_sdk_apprunner,
                config,
                settings,
                &e.apprunner,
                once.clone(),
                &apprunner
            ),
            iam: client!(aws_sdk_iam, config, settings, &e.iam, retry.clone(), &iam),
            iam_once: client!(aws_sdk_iam, config, settings, &e.iam, once.clone(), &iam),
            ec2: client!(aws_sdk_ec2, config, settings, &e.ec2, retry.clone(), &ec2),
            ecr: client!(aws_sdk_ecr, config, settings, &e.ecr, retry.clone(), &ecr),
            ecr_once: client!(aws_sdk_ecr, config, settings, &e.ecr, once, &ecr),
            route53: client!(
                aws_sdk_route53,
                config,
                settings,
                &e.route53,
                retry.clone(),
                &route53
            ),
            logs: client!(
                aws_sdk_cloudwatchlogs,
                config,
                settings,
                &e.logs,
                retry,
                &logs
            ),
        }
    }
}

/// What every kind module gets: the clients and the settings.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub clients: Clients,
    pub settings: Settings,
    /// Subnet and security group checks already answered in this process.
    pub network_checks: crate::network_checks::NetworkChecks,
    /// Resources created by this process, for reads soon after.
    pub fresh: crate::fresh::Fresh,
}
