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
//! | `POST /_emulator/config` | [`Admin::set_operation_duration`] | `{"operation_duration_ms": n}` |
//! | `POST /_emulator/reset` | [`Admin::reset`] | empties resources, faults and the log |

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::ClockMode;
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
        for state in lock(&self.shared.state).all_mut() {
            operations::settle_all(state, now);
        }
    }

    /// Sets how long operations started from now on take.
    pub fn set_operation_duration(&self, duration: Duration) {
        lock(&self.shared.settings).operation_duration_ms =
            u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
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
    let result = match (method.as_str(), path) {
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
                        "give exactly one of `ms` (integer) or `seconds` (non-negative)".to_owned(),
                    );
                }
            };
            admin.advance(by);
            Ok(admin_json(200, &json!({ "now_ms": admin.now_ms() })))
        }),
        ("POST", "/_emulator/config") => body_json::<ConfigUpdate>(body).map(|c| {
            if let Some(ms) = c.operation_duration_ms {
                admin.set_operation_duration(Duration::from_millis(ms));
            }
            let current = lock(&shared.settings).operation_duration_ms;
            admin_json(200, &json!({ "operation_duration_ms": current }))
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
