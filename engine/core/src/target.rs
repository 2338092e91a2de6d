//! Where a stack is deployed, and what each kind means there.
//!
//! The planner is target-neutral; the few facts that differ by target (what
//! a kind amounts to on the local Docker engine) live here, so the plan can
//! show them without knowing any target itself.

use std::fmt;

use apprun_schema::Kind;
use serde::{Deserialize, Serialize};

/// A deployment target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// AWS App Runner (and IAM, ECR, EC2).
    Aws,
    /// The local Docker Engine.
    Docker,
}

impl Target {
    /// The name used in state file names, plans and reports (`aws`, `docker`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Aws => "aws",
            Target::Docker => "docker",
        }
    }

    /// What `kind` amounts to on this target, where it differs from what
    /// the stack language promises (shown on every planned change of it).
    pub fn kind_note(self, kind: Kind) -> Option<&'static str> {
        match (self, kind) {
            (Target::Aws, _) | (Target::Docker, Kind::Service) => None,
            (Target::Docker, Kind::Role) => {
                Some("recorded only: IAM roles have no effect on the Docker target")
            }
            (Target::Docker, Kind::Repository) => {
                Some("recorded only: a local image namespace on the Docker target")
            }
            (Target::Docker, Kind::AutoScaling) => Some(
                "recorded only: its sizes set the replica count and concurrency of services on the Docker target",
            ),
            (Target::Docker, Kind::VpcConnector) => {
                Some("a user-defined Docker network on the Docker target")
            }
            (Target::Docker, Kind::Observability) => Some(
                "recorded only: no tracing on the Docker target (the services run without X-Ray)",
            ),
            (Target::Docker, Kind::Connection) => Some(
                "recorded only: the Docker target builds from the local `build:` folder, not from a connection",
            ),
            (Target::Docker, Kind::Domain) => Some(
                "served by the local front door for this Host header on the Docker target (no certificate, no DNS)",
            ),
            (Target::Docker, Kind::VpcIngress) => Some(
                "recorded only: every local service is reachable on 127.0.0.1 on the Docker target",
            ),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for target in [Target::Aws, Target::Docker] {
            let json = serde_json::to_string(&target).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", target.name()));
            let back: Result<Target, _> = serde_json::from_str(&json);
            assert_eq!(back.ok(), Some(target));
        }
    }

    #[test]
    fn only_docker_notes_kinds_and_never_services() {
        for kind in Kind::ALL {
            assert_eq!(Target::Aws.kind_note(kind), None);
            assert_eq!(
                Target::Docker.kind_note(kind).is_some(),
                kind != Kind::Service
            );
        }
    }
}
