//! Helpers shared by the emulator's integration tests: an SDK client pointed
//! at a running emulator, a raw awsJson1_0 client for wire-level checks, and
//! request builders for valid resources.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use apprunner_emulator::{Emulator, RunningEmulator};
use aws_sdk_apprunner::Client;
use aws_sdk_apprunner::config::retry::RetryConfig;
use aws_sdk_apprunner::config::timeout::TimeoutConfig;
use aws_sdk_apprunner::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apprunner::types::{
    ImageConfiguration, ImageRepository, ImageRepositoryType, SourceConfiguration,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The public image every test service runs.
pub const IMAGE: &str = "public.ecr.aws/nginx/nginx:latest";
/// The operation duration the tests start the emulator with.
pub const OP: Duration = Duration::from_secs(30);

/// An emulator with a virtual clock and 30 s operations.
pub async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .operation_duration(OP)
        .seed(7)
        .start()
        .await
        .unwrap()
}

/// An SDK client with retries disabled (conformance tests want the first answer).
pub fn client(emu: &RunningEmulator) -> Client {
    client_with(emu, RetryConfig::disabled(), None)
}

/// An SDK client that signs its requests for `region` (retries disabled).
pub fn client_in(emu: &RunningEmulator, region: &'static str) -> Client {
    build_client(emu, region, RetryConfig::disabled(), None)
}

/// An SDK client with the given retry policy and optional attempt timeout.
pub fn client_with(
    emu: &RunningEmulator,
    retry: RetryConfig,
    attempt_timeout: Option<Duration>,
) -> Client {
    build_client(emu, "us-east-1", retry, attempt_timeout)
}

fn build_client(
    emu: &RunningEmulator,
    region: &'static str,
    retry: RetryConfig,
    attempt_timeout: Option<Duration>,
) -> Client {
    let mut timeouts = TimeoutConfig::builder().connect_timeout(Duration::from_secs(2));
    if let Some(t) = attempt_timeout {
        timeouts = timeouts.operation_attempt_timeout(t);
    }
    let config = aws_sdk_apprunner::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "emulator-tests",
        ))
        .endpoint_url(emu.endpoint_url())
        .retry_config(retry)
        .timeout_config(timeouts.build())
        .build();
    Client::from_conf(config)
}

/// A `SourceConfiguration` for the public test image, with `env`.
pub fn image_source(env: &[(&str, &str)]) -> SourceConfiguration {
    let mut config = ImageConfiguration::builder().port("8080");
    for (k, v) in env {
        config = config.runtime_environment_variables(*k, *v);
    }
    SourceConfiguration::builder()
        .image_repository(
            ImageRepository::builder()
                .image_identifier(IMAGE)
                .image_repository_type(ImageRepositoryType::EcrPublic)
                .image_configuration(config.build())
                .build()
                .unwrap(),
        )
        .auto_deployments_enabled(false)
        .build()
}

/// Creates a service from the test image; returns its ARN.
pub async fn create_service(client: &Client, name: &str) -> String {
    let out = client
        .create_service()
        .service_name(name)
        .source_configuration(image_source(&[]))
        .send()
        .await
        .unwrap();
    out.service().unwrap().service_arn().to_owned()
}

/// The status of a service, as text.
pub async fn status(client: &Client, arn: &str) -> String {
    let out = client
        .describe_service()
        .service_arn(arn)
        .send()
        .await
        .unwrap();
    out.service().unwrap().status().as_str().to_owned()
}

/// The newest operation's (type, status) for a service.
pub async fn last_operation(client: &Client, arn: &str) -> (String, String) {
    let out = client
        .list_operations()
        .service_arn(arn)
        .send()
        .await
        .unwrap();
    let op = &out.operation_summary_list()[0];
    (
        op.r#type().unwrap().as_str().to_owned(),
        op.status().unwrap().as_str().to_owned(),
    )
}

/// POSTs a raw awsJson1_0 request; returns the status and the parsed body.
pub async fn raw(emu: &RunningEmulator, target: &str, body: &str) -> (u16, Value) {
    let (status, text) = http(emu, "POST", "/", Some(target), body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// POSTs a raw awsJson1_0 request with this `Authorization` header (the
/// signature itself is not checked); returns the status and the parsed body.
pub async fn raw_signed(
    emu: &RunningEmulator,
    target: &str,
    authorization: &str,
    body: &str,
) -> (u16, Value) {
    let headers = format!("X-Amz-Target: {target}\r\nAuthorization: {authorization}\r\n");
    let (status, text) = exchange(emu, "POST", "/", &headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A minimal HTTP/1.1 exchange over a fresh connection.
pub async fn http(
    emu: &RunningEmulator,
    method: &str,
    path: &str,
    target: Option<&str>,
    body: &str,
) -> (u16, String) {
    let target = target
        .map(|t| format!("X-Amz-Target: {t}\r\n"))
        .unwrap_or_default();
    exchange(emu, method, path, &target, body).await
}

/// One request with `headers` (each line ending in CRLF) over a fresh connection.
async fn exchange(
    emu: &RunningEmulator,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emu.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
