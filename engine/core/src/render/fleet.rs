//! A drift check over several stacks: each stack's report as `drift`
//! renders it, then one summary (text, Markdown), or one JSON document
//! holding every report. A single checked stack renders exactly as
//! `apprun drift STACK` always did.

use serde_json::json;

use super::{Format, drift_report};
use crate::ops::drift::{FleetDrift, StackDrift};

/// `fleet` in `format`.
pub fn render(fleet: &FleetDrift, format: Format) -> String {
    if let [StackDrift::Checked(report)] = fleet.stacks.as_slice() {
        return drift_report(report, format);
    }
    match format {
        Format::Json => json(fleet),
        Format::Text | Format::Markdown => {
            let mut out = String::new();
            for stack in &fleet.stacks {
                match stack {
                    StackDrift::Checked(report) => out.push_str(&drift_report(report, format)),
                    StackDrift::NotChecked { stack, reason } => {
                        out.push_str(&not_checked(stack, reason, format));
                    }
                }
                out.push('\n');
            }
            out.push_str(&summary(fleet));
            out.push('\n');
            out
        }
    }
}

/// "2 of 20 stacks drifted; 1 could not be checked."
pub fn summary(fleet: &FleetDrift) -> String {
    let unchecked = fleet
        .stacks
        .iter()
        .filter(|s| matches!(s, StackDrift::NotChecked { .. }))
        .count();
    let mut line = format!(
        "{} of {} stacks drifted",
        fleet.drifted_count(),
        fleet.stacks.len()
    );
    if unchecked > 0 {
        line.push_str(&format!("; {unchecked} could not be checked"));
    }
    line.push('.');
    line
}

fn not_checked(stack: &str, reason: &str, format: Format) -> String {
    match format {
        Format::Markdown => {
            format!("### apprun drift for `{stack}`\n\n**NOT_CHECKED**: {reason}\n")
        }
        _ => format!("Stack {stack}: NOT_CHECKED: {reason}\n"),
    }
}

fn json(fleet: &FleetDrift) -> String {
    let stacks: Vec<serde_json::Value> = fleet
        .stacks
        .iter()
        .map(|stack| match stack {
            StackDrift::Checked(report) => super::drift::document(report),
            StackDrift::NotChecked { stack, reason } => {
                json!({ "stack": stack, "status": "NOT_CHECKED", "reason": reason })
            }
        })
        .collect();
    let document = json!({
        "format_version": crate::drift::DRIFT_FORMAT_VERSION,
        "summary": {
            "stacks": fleet.stacks.len(),
            "drifted": fleet.drifted_count(),
            "not_checked": fleet.stacks.iter().filter(|s| matches!(s, StackDrift::NotChecked { .. })).count(),
        },
        "stacks": stacks,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
