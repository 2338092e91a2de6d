//! Control of a running emulator, from Rust ([`Admin`]) and over HTTP
//! (`/_emulator/*` on the same port). Both drive the same operations:
//!
//! | HTTP | Rust | Effect |
//! |---|---|---|
//! | `GET /_emulator/health` | | `{"status":"ok","clock":…,"now_ms":…}` |
//! | `GET /_emulator/requests` | [`Admin::requests`] | the request log (JSON array) |
//! | `DELETE /_emulator/requests` | [`Admin::clear_requests`] | empties the log |
//! | `GET /_emulator/faults` | [`Admin::faults`] | active rules with counters |
//! | `POST /_emulator/faults` | [`Admin::add_fault`] | adds one rule or an array; answers `{"ids":[…]}` |
//! | `DELETE /_emulator/faults` | [`Admin::clear_faults`] | removes every rule |
//! | `DELETE /_emulator/faults/{id}` | [`Admin::remove_fault`] | removes one rule |
//! | `POST /_emulator/clock/advance` | [`Admin::advance`] | `{"ms": n}` or `{"seconds": n}` |
//! | `GET /_emulator/clock` | [`Admin::now_ms`] | `{"mode":…,"now_ms":…}` |
//! | `POST /_emulator/config` | [`Admin::set_operation_duration`], [`Admin::set_domain_validation`], [`Admin::set_route53_endpoint`] | any of `{"operation_duration_ms": n, "domain_validation_ms": n\|null, "route53_endpoint": "http://127.0.0.1:PORT"\|null}` (null unsets); answers the three current values |
//! | `POST /_emulator/connections/handshake` | [`Admin::complete_handshake`] | `{"name": "…", "status": "AVAILABLE"\|"ERROR"}`: ends the console handshake of the connection of that name (in every region); answers `{"connections": n}`, 404 when none |
//! | `POST /_emulator/reset` | [`Admin::reset`] | empties resources, faults and the log |
//!
//! Custom domain validation: with `domain_validation_ms` set, a domain in
//! `pending_certificate_dns_validation` validates that long (emulator
//! clock) after it became pending; with `route53_endpoint` set, a task
//! polls that Route 53 API every 200 ms and validates a domain once all its
//! validation CNAMEs are in a hosted zone that is a suffix of it (see
//! `route53`). With neither, domains stay pending, as AWS does without the
//! records. A validated domain is `binding_certificate`, then `active` one
//! operation duration later.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::ClockMode;
use crate::connections::{self, Handshake};
use crate::faults::{ActiveFault, FaultRule};
use crate::operations;
use crate::request_log::RequestLogEntry;
use crate::server::{Shared, lock};
use crate::state::Regions;
use crate::wire::{self, Body};

/// A cloneable handle on a running emulator's clock, faults and request log.
#[derive(Debug, Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl Admin {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Admin { shared }
    }

    /// The emulator clock, in epoch milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    /// The clock mode.
    pub fn clock_mode(&self) -> ClockMode {
        self.shared.clock.mode()
    }

    /// Moves the clock forward; operations whose end time passes complete.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
        let now = self.shared.clock.now_ms();
        let settings = lock(&self.shared.settings).clone();
        for state in lock(&self.shared.state).all_mut() {
            operations::settle_all(state, &settings, now);
        }
    }

    /// Sets how long operations started from now on take.
    pub fn set_operation_duration(&self, duration: Duration) {
        lock(&self.shared.settings).operation_duration_ms =
            u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    }

    /// Makes custom domains pending DNS validation validate `delay` after
    /// they became pending (`None`: only DNS validates them).
    pub fn set_domain_validation(&self, delay: Option<Duration>) {
        lock(&self.shared.settings).domain_validation_ms =
            delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }

    /// Sets (or, with `None`, unsets) the Route 53 endpoint
    /// (`http://host:port`) polled for custom domain validation records.
    pub fn set_route53_endpoint(&self, url: Option<&str>) -> Result<(), String> {
        if let Some(url) = url {
            crate::route53::authority(url)?;
        }
        lock(&self.shared.settings).route53_endpoint = url.map(str::to_owned);
        Ok(())
    }

    /// Polls the Route 53 endpoint once now (the background task does so
    /// every 200 ms); returns how many domains validated.
    pub async fn poll_route53(&self) -> Result<usize, String> {
        crate::route53::poll_once(&self.shared).await
    }

    /// Tags resource `arn` with `key` = `value` as AWS itself would (a
    /// CloudFormation stack's `aws:cloudformation:stack-name`, which the
    /// API refuses from callers). An error when no region knows the ARN.
    pub fn tag_as_aws(&self, arn: &str, key: &str, value: &str) -> Result<(), String> {
        let mut tagged = false;
        for state in lock(&self.shared.state).all_mut() {
            let known = state.services.iter().any(|s| s.arn == arn)
                || state.auto_scaling.iter().any(|a| a.arn == arn)
                || state.vpc_connectors.iter().any(|c| c.arn == arn)
                || state.observability.iter().any(|o| o.arn == arn);
            if known {
                state
                    .tags
                    .entry(arn.to_owned())
                    .or_default()
                    .insert(key.to_owned(), value.to_owned());
                tagged = true;
            }
        }
        if tagged {
            Ok(())
        } else {
            Err(format!("no resource {arn}"))
        }
    }

    /// Ends the console handshake of the connection named `name` (in every
    /// region): `AVAILABLE` or `ERROR`. Returns how many connections
    /// changed; an error when there is no such connection.
    pub fn complete_handshake(&self, name: &str, result: Handshake) -> Result<usize, String> {
        let mut changed = 0;
        for state in lock(&self.shared.state).all_mut() {
            if connections::handshake(state, name, result) {
                changed += 1;
            }
        }
        if changed == 0 {
            return Err(format!("no connection named {name}"));
        }
        Ok(changed)
    }

    /// Adds a fault rule; returns its id.
    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, String> {
        rule.check()?;
        Ok(lock(&self.shared.faults).add(rule))
    }

    /// Removes one fault rule; `false` if there was none with that id.
    pub fn remove_fault(&self, id: u64) -> bool {
        lock(&self.shared.faults).remove(id)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The active fault rules with their counters.
    pub fn faults(&self) -> Vec<ActiveFault> {
        lock(&self.shared.faults).list()
    }

    /// A copy of the request log, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        lock(&self.shared.log).entries()
    }

    /// How many logged requests were for `operation`.
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.shared.log)
            .entries()
            .iter()
            .filter(|e| e.operation == operation)
            .count()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Forgets every resource (in every region), fault rule and logged
    /// request (the clock keeps its time).
    pub fn reset(&self) {
        let scope = lock(&self.shared.settings).scope.clone();
        *lock(&self.shared.state) =
            Regions::new(&scope, self.shared.seed, self.shared.clock.now_ms());
        self.clear_faults();
        self.clear_requests();
    }
}

#[derive(Debug, Deserialize)]
struct Advance {
    ms: Option<u64>,
    seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct ConfigUpdate {
    operation_duration_ms: Option<u64>,
    /// Absent: unchanged; `null`: unset; a number: set.
    #[serde(default, deserialize_with = "present")]
    domain_validation_ms: Option<Option<u64>>,
    /// Absent: unchanged; `null`: unset; a URL: set.
    #[serde(default, deserialize_with = "present")]
    route53_endpoint: Option<Option<String>>,
}

/// Tells a member sent as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct HandshakeRequest {
    name: String,
    status: Handshake,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<FaultRule>),
    One(FaultRule),
}

fn admin_json(status: u16, value: &Value) -> Response<Body> {
    wire::json_response(status, value, "application/json")
}

fn bad(message: impl std::fmt::Display) -> Response<Body> {
    admin_json(400, &json!({ "error": message.to_string() }))
}

fn body_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// Serves one admin request.
pub(crate) fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response<Body> {
    let admin = Admin::new(shared.clone());
    let path = path.trim_end_matches('/');
    let result =
        match (method.as_str(), path) {
            ("GET", "/_emulator/health") => Ok(admin_json(
                200,
                &json!({
                    "status": "ok",
                    "clock": admin.clock_mode(),
                    "now_ms": admin.now_ms(),
                }),
            )),
            ("GET", "/_emulator/requests") => Ok(admin_json(200, &json!(admin.requests()))),
            ("DELETE", "/_emulator/requests") => {
                admin.clear_requests();
                Ok(admin_json(200, &json!({})))
            }
            ("GET", "/_emulator/faults") => Ok(admin_json(200, &json!(admin.faults()))),
            ("POST", "/_emulator/faults") => body_json::<OneOrMany>(body).and_then(|rules| {
                let rules = match rules {
                    OneOrMany::One(r) => vec![r],
                    OneOrMany::Many(rs) => rs,
                };
                if let Some(err) = rules.iter().find_map(|r| r.check().err()) {
                    return Err(err);
                }
                let ids: Vec<u64> = rules
                    .into_iter()
                    .filter_map(|r| admin.add_fault(r).ok())
                    .collect();
                Ok(admin_json(200, &json!({ "ids": ids })))
            }),
            ("DELETE", "/_emulator/faults") => {
                admin.clear_faults();
                Ok(admin_json(200, &json!({})))
            }
            ("GET", "/_emulator/clock") => Ok(admin_json(
                200,
                &json!({
                    "mode": admin.clock_mode(),
                    "now_ms": admin.now_ms(),
                }),
            )),
            ("POST", "/_emulator/clock/advance") => body_json::<Advance>(body).and_then(|a| {
                let by = match (a.ms, a.seconds) {
                    (Some(ms), None) => Duration::from_millis(ms),
                    (None, Some(s)) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
                    _ => {
                        return Err(
                            "give exactly one of `ms` (integer) or `seconds` (non-negative)"
                                .to_owned(),
                        );
                    }
                };
                admin.advance(by);
                Ok(admin_json(200, &json!({ "now_ms": admin.now_ms() })))
            }),
            ("POST", "/_emulator/config") => body_json::<ConfigUpdate>(body).and_then(|c| {
                if let Some(url) = &c.route53_endpoint {
                    admin.set_route53_endpoint(url.as_deref())?;
                }
                if let Some(ms) = c.operation_duration_ms {
                    admin.set_operation_duration(Duration::from_millis(ms));
                }
                if let Some(ms) = c.domain_validation_ms {
                    admin.set_domain_validation(ms.map(Duration::from_millis));
                }
                let current = lock(&shared.settings).clone();
                Ok(admin_json(
                    200,
                    &json!({
                        "operation_duration_ms": current.operation_duration_ms,
                        "domain_validation_ms": current.domain_validation_ms,
                        "route53_endpoint": current.route53_endpoint,
                    }),
                ))
            }),
            ("POST", "/_emulator/connections/handshake") => body_json::<HandshakeRequest>(body)
                .map(|h| match admin.complete_handshake(&h.name, h.status) {
                    Ok(n) => admin_json(200, &json!({ "connections": n })),
                    Err(e) => admin_json(404, &json!({ "error": e })),
                }),
            ("POST", "/_emulator/reset") => {
                admin.reset();
                Ok(admin_json(200, &json!({})))
            }
            ("DELETE", p) if p.starts_with("/_emulator/faults/") => {
                match p.trim_start_matches("/_emulator/faults/").parse::<u64>() {
                    Ok(id) if admin.remove_fault(id) => Ok(admin_json(200, &json!({}))),
                    Ok(id) => Ok(admin_json(
                        404,
                        &json!({ "error": format!("no fault rule {id}") }),
                    )),
                    Err(_) => Err("fault ids are integers".to_owned()),
                }
            }
            _ => Ok(admin_json(
                404,
                &json!({ "error": format!("no admin endpoint {method} {path}") }),
            )),
        };
    result.unwrap_or_else(bad)
}
