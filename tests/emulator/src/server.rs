//! The HTTP server: binds 127.0.0.1, serves each connection with hyper's
//! HTTP/1 server, and routes `POST /` App Runner requests through the fault
//! plan and the dispatcher, and `/_emulator/*` to the admin endpoint.
//!
//! Each connection runs in its own task next to a [`Notify`]; a request
//! whose fault is "drop" (or "commit then drop") signals it, and the task
//! drops the connection without writing a response.

use std::convert::Infallible;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::admin::{self, Admin};
use crate::arn::Scope;
use crate::clock::{Clock, ClockMode};
use crate::dispatch::{self, Ctx};
use crate::error::{ApiError, EmulatorError};
use crate::faults::{Action, FaultPlan, FaultRule};
use crate::operations;
use crate::request_log::{RequestLog, RequestLogEntry, redact};
use crate::signing;
use crate::state::{Regions, Settings};
use crate::wire::{self, Body};

/// The largest request body accepted (the real limit is not published).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Everything the requests share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub clock: Clock,
    pub settings: Mutex<Settings>,
    /// Each signed-for region's resources.
    pub state: Mutex<Regions>,
    pub faults: Mutex<FaultPlan>,
    pub log: Mutex<RequestLog>,
    pub seed: u64,
}

/// Locks a mutex, ignoring poisoning (no handler panics while holding one,
/// and a poisoned emulator should keep answering).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Entry point of the library: `Emulator::builder()…start().await`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the test defaults: virtual clock, 30 s operations,
    /// us-east-1, account 123456789012, any free port.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    port: u16,
    region: String,
    account_id: String,
    clock: ClockMode,
    operation_duration: Duration,
    seed: u64,
    faults: Vec<FaultRule>,
    max_services: usize,
    max_vpc_connectors: usize,
    max_asc_names: usize,
    request_log_file: Option<std::path::PathBuf>,
    domain_validation: Option<Duration>,
    route53_endpoint: Option<String>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            port: 0,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            clock: ClockMode::Virtual,
            operation_duration: Duration::from_secs(30),
            seed: 0,
            faults: Vec::new(),
            max_services: 30,
            max_vpc_connectors: 50,
            max_asc_names: 10,
            request_log_file: None,
            domain_validation: None,
            route53_endpoint: None,
        }
    }
}

impl EmulatorBuilder {
    /// The port on 127.0.0.1 (0 = any free port, the default).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The region in ARNs and service URLs of unsigned requests (default
    /// `us-east-1`); a signed request's ARNs and URLs carry the region of
    /// its SigV4 credential scope.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The 12-digit account id in ARNs (default `123456789012`).
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = account_id.into();
        self
    }

    /// Virtual (default) or real time.
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }

    /// How long each asynchronous operation (and each rollback) stays in progress (default 30 s).
    pub fn operation_duration(mut self, duration: Duration) -> Self {
        self.operation_duration = duration;
        self
    }

    /// The seed of ids, URLs and fault probabilities (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Adds a fault rule active from the start.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// The service quota: services not deleted, `CREATE_FAILED` included (default 30).
    pub fn max_services(mut self, n: usize) -> Self {
        self.max_services = n;
        self
    }

    /// The VPC connector quota (default 50).
    pub fn max_vpc_connectors(mut self, n: usize) -> Self {
        self.max_vpc_connectors = n;
        self
    }

    /// Auto scaling configuration name quota (default 10, App Runner's);
    /// revisions per name stay at 5.
    pub fn max_autoscaling_names(mut self, n: usize) -> Self {
        self.max_asc_names = n;
        self
    }

    /// Also appends every request log entry, as a JSON line, to `path`.
    pub fn request_log_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.request_log_file = Some(path.into());
        self
    }

    /// Custom domains pending DNS validation validate this long after they
    /// became pending, whatever DNS holds (default: never by time).
    pub fn domain_validation(mut self, delay: Duration) -> Self {
        self.domain_validation = Some(delay);
        self
    }

    /// A Route 53 endpoint (`http://host:port`, e.g. moto server) to poll
    /// for the validation records of custom domains (default: none).
    pub fn route53_endpoint(mut self, url: impl Into<String>) -> Self {
        self.route53_endpoint = Some(url.into());
        self
    }

    /// Binds 127.0.0.1 and starts serving in the current tokio runtime.
    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EmulatorError::InvalidSetting(format!(
                "account id `{}` is not 12 digits",
                self.account_id
            )));
        }
        let region_ok = !self.region.is_empty()
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(EmulatorError::InvalidSetting(format!(
                "region `{}` is malformed",
                self.region
            )));
        }
        for rule in &self.faults {
            rule.check().map_err(EmulatorError::InvalidSetting)?;
        }
        if let Some(url) = &self.route53_endpoint {
            crate::route53::authority(url).map_err(EmulatorError::InvalidSetting)?;
        }
        let file = match &self.request_log_file {
            Some(path) => Some(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        EmulatorError::InvalidSetting(format!(
                            "request log {}: {e}",
                            path.display()
                        ))
                    })?,
            ),
            None => None,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .await
            .map_err(|source| EmulatorError::Bind {
                port: self.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: self.port,
                source,
            })?;
        let scope = Scope {
            region: self.region,
            account_id: self.account_id,
        };
        let clock = Clock::new(self.clock);
        let state = Regions::new(&scope, self.seed, clock.now_ms());
        let mut faults = FaultPlan::new(self.seed);
        for rule in self.faults {
            faults.add(rule);
        }
        let shared = Arc::new(Shared {
            settings: Mutex::new(Settings {
                scope,
                operation_duration_ms: u64::try_from(self.operation_duration.as_millis())
                    .unwrap_or(u64::MAX),
                max_services: self.max_services,
                max_asc_names: self.max_asc_names,
                max_asc_revisions: 5,
                max_vpc_connectors: self.max_vpc_connectors,
                domain_validation_ms: self
                    .domain_validation
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                route53_endpoint: self.route53_endpoint,
            }),
            clock,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            log: Mutex::new(RequestLog::new(file)),
            seed: self.seed,
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, shared.clone(), shutdown_rx));
        let poller = crate::route53::spawn(&shared);
        Ok(RunningEmulator {
            addr,
            admin: Admin::new(shared),
            shutdown: Some(shutdown_tx),
            task: Some(task),
            poller,
        })
    }
}

/// A started emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    admin: Admin,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// The Route 53 polling task.
    poller: JoinHandle<()>,
}

impl RunningEmulator {
    /// The bound address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`, for `endpoint_url` / `--endpoint-url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The control handle: clock, faults, request log, reset.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(mut self) {
        self.poller.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.poller.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    // Dropping the set on shutdown aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(shared.clone(), stream));
                }
                while connections.try_join_next().is_some() {}
            }
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let dropper = Arc::new(Notify::new());
    let for_service = dropper.clone();
    let service = service_fn(move |request: Request<Incoming>| {
        let shared = shared.clone();
        let dropper = for_service.clone();
        async move { Ok::<_, Infallible>(handle(shared, request, dropper).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = dropper.notified() => {
            // The connection (and its socket) is dropped here, unanswered.
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    dropper: Arc<Notify>,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_emulator") {
        let method = request.method().clone();
        let body = read_body(request.into_body()).await.unwrap_or_default();
        return admin::handle(&shared, &method, &path, &body);
    }
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_post = request.method() == http::Method::POST;
    let region = signing::signed_region(request.headers(), request.uri().query());
    let Some(body) = read_body(request.into_body()).await else {
        return wire::error(&ApiError::Serialization(
            "The request body is too large or unreadable".to_owned(),
        ));
    };
    let at_ms = shared.clock.now_ms();
    let mut entry = RequestLogEntry {
        seq: 0,
        at_ms,
        operation: target.clone().unwrap_or_default(),
        parameters: Value::Null,
        status: None,
        error: None,
        fault: None,
        committed: false,
        operation_id: None,
        resource_arn: None,
    };
    if !is_post || path != "/" {
        let err =
            ApiError::UnknownOperation(format!("App Runner requests are POST / (got {path})"));
        return finish(&shared, entry, Err(err));
    }
    let operation = match dispatch::operation_of(target.as_deref()) {
        Ok(op) => op,
        Err(err) => return finish(&shared, entry, Err(err)),
    };
    entry.operation = operation.clone();
    let region = match region {
        Ok(region) => region,
        Err(err) => return finish(&shared, entry, Err(err)),
    };
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                let err = ApiError::Serialization(format!(
                    "Malformed JSON request body at line {} column {}",
                    e.line(),
                    e.column()
                ));
                return finish(&shared, entry, Err(err));
            }
        }
    };
    entry.parameters = redact(&params);

    let decision = lock(&shared.faults).evaluate(&operation, Instant::now());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    entry.fault = decision.action.as_ref().map(|a| a.name().to_owned());
    match decision.action {
        Some(Action::Throttle {
            status,
            retry_after_ms,
        }) => {
            let err = ApiError::Throttling {
                message: "Rate exceeded".to_owned(),
                status,
                retry_after_ms,
            };
            finish(&shared, entry, Err(err))
        }
        Some(Action::ServerError { status }) => {
            let err = ApiError::Server {
                status,
                message: "Internal service error (injected)".to_owned(),
            };
            finish(&shared, entry, Err(err))
        }
        Some(Action::NotFound) => {
            let err =
                ApiError::not_found("the resource does not exist (injected: not visible yet)");
            finish(&shared, entry, Err(err))
        }
        Some(Action::RoleNotAssumable) => {
            let err = ApiError::InvalidRequest(
                "Error in assuming instance role: the role cannot be assumed yet (injected: IAM propagation)"
                    .to_owned(),
            );
            finish(&shared, entry, Err(err))
        }
        Some(Action::Drop) => {
            lock(&shared.log).push(entry);
            dropper.notify_one();
            std::future::pending().await
        }
        Some(Action::CommitThenDrop) => {
            let result = run(
                &shared,
                &operation,
                params.clone(),
                region,
                decision.scripted,
            );
            note_result(&mut entry, &params, &result);
            entry.status = None;
            lock(&shared.log).push(entry);
            dropper.notify_one();
            std::future::pending().await
        }
        None => {
            let result = run(
                &shared,
                &operation,
                params.clone(),
                region,
                decision.scripted,
            );
            note_result(&mut entry, &params, &result);
            finish(&shared, entry, result)
        }
    }
}

/// Runs the operation against the state of the region the request was
/// signed for (the configured region when unsigned), at the clock's
/// current time.
fn run(
    shared: &Shared,
    operation: &str,
    params: Value,
    region: Option<String>,
    scripted: Option<crate::state::Outcome>,
) -> Result<Value, ApiError> {
    let mut settings = lock(&shared.settings).clone();
    if let Some(region) = region {
        settings.scope.region = region;
    }
    let now = shared.clock.now_ms();
    let mut regions = lock(&shared.state);
    let state = regions.get(&settings.scope, now);
    operations::settle_all(state, &settings, now);
    let mut ctx = Ctx {
        state,
        settings: &settings,
        now,
        scripted,
    };
    dispatch::dispatch(operation, &mut ctx, params)
}

fn note_result(entry: &mut RequestLogEntry, params: &Value, result: &Result<Value, ApiError>) {
    match result {
        Ok(out) => {
            entry.committed = true;
            entry.status = Some(200);
            entry.operation_id = out
                .get("OperationId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            entry.resource_arn = resource_arn(out).or_else(|| resource_arn(params));
        }
        Err(err) => {
            entry.status = Some(err.status());
            entry.error = Some(err.type_name().to_owned());
            entry.resource_arn = resource_arn(params);
        }
    }
}

fn finish(
    shared: &Shared,
    mut entry: RequestLogEntry,
    result: Result<Value, ApiError>,
) -> Response<Body> {
    let response = match &result {
        Ok(value) => wire::ok(value),
        Err(err) => {
            entry.status = Some(err.status());
            entry.error = Some(err.type_name().to_owned());
            wire::error(err)
        }
    };
    lock(&shared.log).push(entry);
    response
}

/// The ARN a request or answer is about.
fn resource_arn(v: &Value) -> Option<String> {
    const PATHS: &[&[&str]] = &[
        &["Service", "ServiceArn"],
        &["AutoScalingConfiguration", "AutoScalingConfigurationArn"],
        &["VpcConnector", "VpcConnectorArn"],
        &["VpcIngressConnection", "VpcIngressConnectionArn"],
        &["Connection", "ConnectionArn"],
        &[
            "ObservabilityConfiguration",
            "ObservabilityConfigurationArn",
        ],
        &["ServiceArn"],
        &["ResourceArn"],
        &["AutoScalingConfigurationArn"],
        &["VpcConnectorArn"],
        &["VpcIngressConnectionArn"],
        &["ConnectionArn"],
        &["ObservabilityConfigurationArn"],
    ];
    PATHS.iter().find_map(|path| {
        let mut cur = v;
        for key in *path {
            cur = cur.get(key)?;
        }
        cur.as_str().map(str::to_owned)
    })
}

async fn read_body(body: Incoming) -> Option<Bytes> {
    Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}
