//! Fault injection: per-operation rules that add latency, throttle (at a
//! rate or above a requests-per-second limit), answer 5xx, drop the
//! connection, commit then drop the response, or script how the
//! asynchronous operation a request starts will end.
//!
//! Rules are evaluated in the order they were added. Latency rules add up;
//! the first pre-commit rule that fires (throttle, 5xx, drop, commit-then-
//! drop) decides the answer; outcome rules (`fail_operation`,
//! `rollback_failed`) apply only to requests that start an operation and
//! reach the handler.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dispatch::ASYNC_OPERATIONS;
use crate::state::Outcome;

/// One fault rule, as given to `POST /_emulator/faults` or [`crate::Admin::add_fault`].
///
/// JSON: `{"operation": "CreateService", "fault": "throttle", "probability": 0.5,
/// "times": 3, "after": 1}`; every member but `fault` is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The operation it applies to (`CreateService`); absent = every operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub fault: Fault,
    /// Chance (0.0–1.0) that a matching request is affected; absent = always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// How many requests it affects before it retires; absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// How many matching requests pass untouched before it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
}

impl FaultRule {
    /// A rule that always applies `fault` to `operation` (`None` = every operation).
    pub fn new(operation: Option<&str>, fault: Fault) -> Self {
        FaultRule {
            operation: operation.map(str::to_owned),
            fault,
            probability: None,
            times: None,
            after: None,
        }
    }

    /// Limits the rule to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Lets `n` matching requests through before the rule starts.
    pub fn after(mut self, n: u32) -> Self {
        self.after = Some(n);
        self
    }

    /// Applies the rule to a matching request with probability `p` (0.0–1.0).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Checks the rule's numbers.
    pub(crate) fn check(&self) -> Result<(), String> {
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability {p} is outside 0.0–1.0"));
        }
        if let Some(op) = &self.operation
            && !crate::dispatch::ALL_OPERATIONS.contains(&op.as_str())
        {
            return Err(format!("unknown operation `{op}`"));
        }
        match &self.fault {
            Fault::ServerError { status } if !(500..=599).contains(status) => {
                Err(format!("server_error status {status} is not 5xx"))
            }
            Fault::Throttle {
                status: Some(s), ..
            } if !(400..=499).contains(s) => Err(format!("throttle status {s} is not 4xx")),
            Fault::ThrottleAboveRps { rps } if *rps <= 0.0 => {
                Err("rps must be positive".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// A kind of fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// Delay the answer by `latency_ms` (real time).
    Latency {
        /// Milliseconds of delay.
        latency_ms: u64,
    },
    /// Answer `ThrottlingException` (status 400 unless set, e.g. 429).
    Throttle {
        /// HTTP status (4xx); default 400.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// An `x-amz-retry-after` header in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Answer `ThrottlingException` to requests above `rps` per second (real time).
    ThrottleAboveRps {
        /// The admitted requests per second.
        rps: f64,
    },
    /// Answer a 5xx (`InternalServiceErrorException` for 500).
    ServerError {
        /// HTTP status (5xx); default 500.
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// Close the connection without answering; nothing is committed.
    DropConnection,
    /// Run the request (state changes), then close the connection without answering.
    CommitThenDrop,
    /// The operation this request starts fails (create: `CREATE_FAILED`;
    /// update or deployment: rolled back, `ROLLBACK_SUCCEEDED`; delete:
    /// `DELETE_FAILED`; pause or resume: `FAILED`; a VPC ingress
    /// connection's create, update or delete: `FAILED_CREATION`,
    /// `FAILED_UPDATE`, `FAILED_DELETION`).
    FailOperation,
    /// The deployment this request starts fails and its rollback fails (`ROLLBACK_FAILED`).
    RollbackFailed,
    /// Answer `ResourceNotFoundException` without looking: eventual
    /// consistency right after a create (RELIABILITY T15), e.g. on
    /// `DescribeService` with `times: 3`.
    NotFound,
    /// Answer `InvalidRequestException` "Error in assuming instance role"
    /// without looking: IAM propagation, a role created moments ago is not
    /// assumable yet (e.g. on `CreateService` with `times: 3`).
    RoleNotAssumable,
}

fn default_server_status() -> u16 {
    500
}

/// A rule with its counters, as `GET /_emulator/faults` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActiveFault {
    /// The id to remove it with.
    pub id: u64,
    /// The rule.
    pub rule: FaultRule,
    /// Matching requests seen.
    pub seen: u32,
    /// Requests it affected.
    pub applied: u32,
    #[serde(skip)]
    window: VecDeque<Instant>,
}

/// What the fault plan decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    pub latency: Duration,
    pub action: Option<Action>,
    pub scripted: Option<Outcome>,
}

/// A pre-commit answer chosen by a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Throttle {
        status: u16,
        retry_after_ms: Option<u64>,
    },
    ServerError {
        status: u16,
    },
    Drop,
    CommitThenDrop,
    NotFound,
    RoleNotAssumable,
}

impl Action {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Throttle { .. } => "throttle",
            Action::ServerError { .. } => "server_error",
            Action::Drop => "drop_connection",
            Action::CommitThenDrop => "commit_then_drop",
            Action::NotFound => "not_found",
            Action::RoleNotAssumable => "role_not_assumable",
        }
    }
}

/// The active rules.
#[derive(Debug)]
pub(crate) struct FaultPlan {
    rules: Vec<ActiveFault>,
    next_id: u64,
    rng: fastrand::Rng,
}

impl FaultPlan {
    pub(crate) fn new(seed: u64) -> Self {
        FaultPlan {
            rules: Vec::new(),
            next_id: 1,
            rng: fastrand::Rng::with_seed(seed ^ 0x9e37_79b9),
        }
    }

    pub(crate) fn add(&mut self, rule: FaultRule) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.rules.push(ActiveFault {
            id,
            rule,
            seen: 0,
            applied: 0,
            window: VecDeque::new(),
        });
        id
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        before != self.rules.len()
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn list(&self) -> Vec<ActiveFault> {
        self.rules.clone()
    }

    /// Decides the faults for one request to `operation` arriving at `now`.
    pub(crate) fn evaluate(&mut self, operation: &str, now: Instant) -> Decision {
        let mut decision = Decision::default();
        let starts_operation = ASYNC_OPERATIONS.contains(&operation);
        for active in &mut self.rules {
            let rule = &active.rule;
            if rule.operation.as_deref().is_some_and(|op| op != operation) {
                continue;
            }
            let is_outcome = matches!(rule.fault, Fault::FailOperation | Fault::RollbackFailed);
            let is_latency = matches!(rule.fault, Fault::Latency { .. });
            if (is_outcome
                && (!starts_operation || decision.action.is_some() || decision.scripted.is_some()))
                || (!is_outcome && !is_latency && decision.action.is_some())
            {
                continue;
            }
            if let Fault::ThrottleAboveRps { rps } = rule.fault {
                active.seen += 1;
                while active
                    .window
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                {
                    active.window.pop_front();
                }
                if (active.window.len() as f64) < rps {
                    active.window.push_back(now);
                } else {
                    active.applied += 1;
                    decision.action = Some(Action::Throttle {
                        status: 400,
                        retry_after_ms: None,
                    });
                }
                continue;
            }
            active.seen += 1;
            if active.seen <= rule.after.unwrap_or(0) {
                continue;
            }
            if rule.times.is_some_and(|t| active.applied >= t) {
                continue;
            }
            if let Some(p) = rule.probability
                && self.rng.f64() >= p
            {
                continue;
            }
            active.applied += 1;
            match &rule.fault {
                Fault::Latency { latency_ms } => {
                    decision.latency += Duration::from_millis(*latency_ms);
                }
                Fault::Throttle {
                    status,
                    retry_after_ms,
                } => {
                    decision.action = Some(Action::Throttle {
                        status: status.unwrap_or(400),
                        retry_after_ms: *retry_after_ms,
                    });
                }
                Fault::ServerError { status } => {
                    decision.action = Some(Action::ServerError { status: *status });
                }
                Fault::DropConnection => decision.action = Some(Action::Drop),
                Fault::CommitThenDrop => decision.action = Some(Action::CommitThenDrop),
                Fault::FailOperation => decision.scripted = Some(Outcome::Fail),
                Fault::RollbackFailed => decision.scripted = Some(Outcome::RollbackFailed),
                Fault::NotFound => decision.action = Some(Action::NotFound),
                Fault::RoleNotAssumable => decision.action = Some(Action::RoleNotAssumable),
                Fault::ThrottleAboveRps { .. } => {}
            }
        }
        // A request that never reaches the handler starts no operation.
        if matches!(
            decision.action,
            Some(
                Action::Throttle { .. }
                    | Action::ServerError { .. }
                    | Action::Drop
                    | Action::NotFound
                    | Action::RoleNotAssumable
            )
        ) {
            decision.scripted = None;
        }
        decision
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"operation":"CreateService","fault":"server_error","status":503,"times":2}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, Fault::ServerError { status: 503 });
        assert_eq!(rule.times, Some(2));
        let rule: FaultRule = serde_json::from_str(r#"{"fault":"drop_connection"}"#).unwrap();
        assert_eq!(rule, FaultRule::new(None, Fault::DropConnection));
    }

    #[test]
    fn times_and_after_count_matching_requests() {
        let mut plan = FaultPlan::new(1);
        plan.add(
            FaultRule::new(Some("ListServices"), Fault::ServerError { status: 500 })
                .after(1)
                .times(2),
        );
        let now = Instant::now();
        let fired: Vec<bool> = (0..5)
            .map(|_| plan.evaluate("ListServices", now).action.is_some())
            .collect();
        assert_eq!(fired, vec![false, true, true, false, false]);
        assert!(plan.evaluate("DescribeService", now).action.is_none());
    }

    #[test]
    fn rps_limit_admits_only_the_limit_per_second() {
        let mut plan = FaultPlan::new(1);
        plan.add(FaultRule::new(None, Fault::ThrottleAboveRps { rps: 3.0 }));
        let now = Instant::now();
        let throttled = (0..10)
            .filter(|_| plan.evaluate("ListServices", now).action.is_some())
            .count();
        assert_eq!(throttled, 7);
        let later = now + Duration::from_millis(1001);
        assert!(plan.evaluate("ListServices", later).action.is_none());
    }

    #[test]
    fn probability_is_roughly_honoured() {
        let mut plan = FaultPlan::new(42);
        plan.add(
            FaultRule::new(
                None,
                Fault::Throttle {
                    status: None,
                    retry_after_ms: None,
                },
            )
            .probability(0.5),
        );
        let now = Instant::now();
        let n = (0..1000)
            .filter(|_| plan.evaluate("ListServices", now).action.is_some())
            .count();
        assert!((400..600).contains(&n), "{n}");
    }

    #[test]
    fn outcome_rules_skip_requests_that_start_nothing() {
        let mut plan = FaultPlan::new(1);
        plan.add(FaultRule::new(None, Fault::FailOperation).times(1));
        let now = Instant::now();
        assert_eq!(plan.evaluate("ListServices", now).scripted, None);
        assert_eq!(
            plan.evaluate("UpdateService", now).scripted,
            Some(Outcome::Fail)
        );
        assert_eq!(plan.evaluate("UpdateService", now).scripted, None);
    }
}
