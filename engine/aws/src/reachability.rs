//! Preflight: the endpoints the calls will go to accept connections. An
//! endpoint that refuses them, or a host name that does not resolve, is a
//! configuration error told at once, naming the endpoint, instead of every
//! call retrying into a timeout minutes later.
//!
//! Only endpoints set by the user (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_<SERVICE>`, the settings) are checked here; the SDK's
//! own regional endpoints are reached through the same classification at
//! call time ([`crate::error::unreachable_reason`]).

use std::time::Duration;

use apprun_engine::provider::ProviderError;
use aws_config::SdkConfig;

use crate::config::Settings;

/// How long one endpoint may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One endpoint to check: the service's name for people, its variable's
/// suffix, and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// "App Runner", "IAM", ...
    pub service: &'static str,
    /// The URL the client sends to.
    pub url: String,
}

/// The user-set endpoint of each service: the settings' override, else
/// `AWS_ENDPOINT_URL_<SERVICE>`, else the configuration's
/// (`AWS_ENDPOINT_URL`, a profile's `endpoint_url`).
pub(crate) fn configured(config: &SdkConfig, settings: &Settings) -> Vec<Endpoint> {
    let e = &settings.endpoints;
    let general = config.endpoint_url().map(str::to_owned);
    let env = |suffix: &str| std::env::var(format!("AWS_ENDPOINT_URL_{suffix}")).ok();
    [
        ("App Runner", "APPRUNNER", &e.apprunner),
        ("IAM", "IAM", &e.iam),
        ("EC2", "EC2", &e.ec2),
        ("ECR", "ECR", &e.ecr),
        ("Route 53", "ROUTE_53", &e.route53),
        ("CloudWatch Logs", "CLOUDWATCH_LOGS", &e.logs),
    ]
    .into_iter()
    .filter_map(|(service, suffix, own)| {
        let url = own
            .clone()
            .or_else(|| env(suffix))
            .or_else(|| general.clone())?;
        Some(Endpoint { service, url })
    })
    .collect()
}

/// Checks that each endpoint accepts a TCP connection (each distinct
/// host and port once, all at once).
pub(crate) async fn check(endpoints: &[Endpoint]) -> Result<(), ProviderError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut checks = tokio::task::JoinSet::new();
    for endpoint in endpoints {
        let Some(authority) = authority(&endpoint.url) else {
            return Err(ProviderError::Fatal {
                message: format!(
                    "the {} endpoint `{}` is not a URL",
                    endpoint.service, endpoint.url
                ),
                help: "write it as http://HOST:PORT or https://HOST".to_owned(),
            });
        };
        if seen.insert(authority.clone()) {
            let endpoint = endpoint.clone();
            checks.spawn(async move { connect(&authority).await.map_err(|why| (endpoint, why)) });
        }
    }
    let mut failures = Vec::new();
    while let Some(joined) = checks.join_next().await {
        if let Ok(Err(failure)) = joined {
            failures.push(failure);
        }
    }
    failures.sort_by(|a, b| a.0.url.cmp(&b.0.url));
    match failures.into_iter().next() {
        None => Ok(()),
        Some((endpoint, why)) => Err(ProviderError::Fatal {
            message: format!(
                "cannot reach the {} endpoint {}: {why}",
                endpoint.service, endpoint.url
            ),
            help: "check AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (or start the local \
                   stand-ins with `scripts/local-aws up`); nothing was sent"
                .to_owned(),
        }),
    }
}

/// `host:port` of a URL (port 443 for https, 80 for http when absent).
fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host_port = rest.split(['/', '?', '#']).next()?;
    let host_port = host_port.rsplit('@').next()?;
    if host_port.is_empty() {
        return None;
    }
    let has_port = match host_port.rfind(':') {
        // An IPv6 literal's colons are inside brackets.
        Some(i) => !host_port[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    })
}

/// Opens and drops one connection to `authority`: why it failed, if it did.
async fn connect(authority: &str) -> Result<(), String> {
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let addresses: Vec<_> = tokio::net::lookup_host(authority)
            .await
            .map_err(|_| "the host name does not resolve".to_owned())?
            .collect();
        let mut last = "the host name resolves to no address".to_owned();
        for address in addresses {
            match tokio::net::TcpStream::connect(address).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = "connection refused".to_owned();
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    })
    .await;
    match attempt {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no connection within {} s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_take_the_scheme_default_port() {
        assert_eq!(
            authority("http://127.0.0.1:5000").as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            authority("https://example.com/x").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(authority("http://[::1]:9/").as_deref(), Some("[::1]:9"));
        assert_eq!(authority("http://[::1]").as_deref(), Some("[::1]:80"));
        assert_eq!(authority("localhost:5000"), None);
        assert_eq!(authority("ftp://host"), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_named() {
        // Bind, learn the port, close: nothing listens there now.
        let port = {
            let listener =
                std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let endpoints = [Endpoint {
            service: "App Runner",
            url: format!("http://127.0.0.1:{port}"),
        }];
        let error = check(&endpoints).await.err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(format!("cannot reach the App Runner endpoint http://127.0.0.1:{port}: connection refused").as_str())
        );
    }

    #[tokio::test]
    async fn a_listening_endpoint_passes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let endpoints = [Endpoint {
            service: "IAM",
            url: format!("http://127.0.0.1:{port}"),
        }];
        assert_eq!(check(&endpoints).await, Ok(()));
    }
}
