//! `apprun status`: one line per resource (address, status, what matters
//! about it), each service's last operations under it, and a summary line;
//! or the report as JSON (`format_version` 1).

use std::fmt::Write as _;

use serde_json::json;

use crate::ops::status::{ResourceStatus, Seen, StatusReport};

/// How many of a service's operations the text shows.
const OPERATIONS_SHOWN: usize = 3;

/// The report as text for a terminal.
pub fn text(report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Stack {} on {}", report.stack, report.target);
    if report.resources.is_empty() {
        out.push_str("  nothing is recorded yet: run `apprun apply`\n");
        return out;
    }
    let width = report
        .resources
        .iter()
        .map(|r| r.address.len())
        .max()
        .unwrap_or(0);
    for resource in &report.resources {
        line(&mut out, resource, width);
    }
    let services: Vec<&ResourceStatus> = report
        .resources
        .iter()
        .filter(|r| r.address.starts_with("services."))
        .collect();
    let running = services
        .iter()
        .filter(|r| matches!(&r.seen, Seen::Live(live) if live.healthy))
        .count();
    let _ = writeln!(out, "{running} of {} service(s) running.", services.len());
    out
}

fn line(out: &mut String, resource: &ResourceStatus, width: usize) {
    let address = &resource.address;
    match &resource.seen {
        Seen::Gone => {
            let _ = writeln!(
                out,
                "  {address:<width$}  GONE  (deleted outside apprun: `apprun plan` shows what apply would do)"
            );
        }
        Seen::Unread { error } => {
            let _ = writeln!(
                out,
                "  {address:<width$}  UNKNOWN  (could not read: {error})"
            );
        }
        Seen::Live(live) => {
            let details: Vec<String> = [
                "url",
                "image",
                "image_digest",
                "cpu",
                "memory",
                "domain_name",
            ]
            .iter()
            .filter_map(|key| live.details.get(*key).map(|v| format!("{key} {v}")))
            .collect();
            let _ = write!(out, "  {address:<width$}  {}", live.status);
            if !details.is_empty() {
                let _ = write!(out, "  {}", details.join("  "));
            }
            out.push('\n');
            for op in live.operations.iter().take(OPERATIONS_SHOWN) {
                let _ = writeln!(
                    out,
                    "  {:<width$}    {} {} {} -> {}",
                    "",
                    op.kind,
                    op.status,
                    op.started_at.as_deref().unwrap_or("?"),
                    op.ended_at.as_deref().unwrap_or("(running)"),
                );
            }
        }
    }
}

/// The report as pretty JSON with a trailing newline.
pub fn json(report: &StatusReport) -> String {
    let value = json!({
        "format_version": 1,
        "stack": report.stack,
        "target": report.target,
        "all_services_running": report.all_services_running(),
        "resources": report.resources,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{LiveStatus, OperationInfo};

    fn report() -> StatusReport {
        let running = LiveStatus {
            status: "RUNNING".into(),
            healthy: true,
            details: [("url".to_string(), "https://web.example".to_string())].into(),
            operations: vec![OperationInfo {
                id: "op-1".into(),
                kind: "START_DEPLOYMENT".into(),
                status: "SUCCEEDED".into(),
                started_at: Some("2026-12-03T10:00:00Z".into()),
                ended_at: Some("2026-12-03T10:02:00Z".into()),
            }],
        };
        let paused = LiveStatus {
            status: "PAUSED".into(),
            healthy: false,
            ..LiveStatus::default()
        };
        StatusReport {
            stack: "shop".into(),
            target: "aws".into(),
            resources: vec![
                ResourceStatus {
                    address: "services.api".into(),
                    physical_id: "arn:api".into(),
                    seen: Seen::Live(paused),
                },
                ResourceStatus {
                    address: "services.web".into(),
                    physical_id: "arn:web".into(),
                    seen: Seen::Live(running),
                },
            ],
        }
    }

    #[test]
    fn text_names_each_status_the_operations_and_how_many_run() {
        let text = text(&report());
        assert!(text.contains("services.api  PAUSED"), "{text}");
        assert!(
            text.contains("services.web  RUNNING  url https://web.example"),
            "{text}"
        );
        assert!(
            text.contains(
                "START_DEPLOYMENT SUCCEEDED 2026-12-03T10:00:00Z -> 2026-12-03T10:02:00Z"
            ),
            "{text}"
        );
        assert!(text.ends_with("1 of 2 service(s) running.\n"), "{text}");
    }

    #[test]
    fn json_says_whether_every_service_runs() {
        let value: serde_json::Value = serde_json::from_str(&json(&report())).unwrap_or_default();
        assert_eq!(value["all_services_running"], false);
        assert_eq!(value["resources"][0]["state"], "live");
        assert_eq!(value["resources"][0]["status"], "PAUSED");
        assert_eq!(
            value["resources"][1]["operations"][0]["type"],
            "START_DEPLOYMENT"
        );
    }
}
