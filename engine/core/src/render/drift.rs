//! Drift renderings: terminal text, JSON for programs, Markdown for an
//! issue or a pull request. Deterministic, no secrets (values arrive sealed).

use std::fmt::Write as _;

use crate::drift::{DriftReport, Verdict};

/// The terminal rendering.
pub fn text(report: &DriftReport) -> String {
    let mut out = String::new();
    for resource in &report.resources {
        let _ = writeln!(
            out,
            "{:<12} {}",
            format!("{:?}", resource.status).to_uppercase_words(),
            resource.address
        );
        if let Some(reason) = &resource.reason {
            let _ = writeln!(out, "             {reason}");
        }
        for p in &resource.properties {
            let _ = writeln!(
                out,
                "             {}: expected {}, actual {}",
                p.property,
                p.expected.as_deref().unwrap_or("(absent)"),
                p.actual.as_deref().unwrap_or("(absent)")
            );
        }
    }
    let drifted = report
        .resources
        .iter()
        .filter(|r| matches!(r.status, Verdict::Modified | Verdict::Deleted))
        .count();
    let _ = writeln!(
        out,
        "\nDrift: {drifted} of {} resources drifted{}.",
        report.resources.len(),
        if report.incomplete() {
            " (some could not be checked)"
        } else {
            ""
        }
    );
    out
}

/// The JSON rendering.
pub fn json(report: &DriftReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

/// The Markdown rendering.
pub fn markdown(report: &DriftReport) -> String {
    let mut out = format!(
        "### apprun drift for `{}` ({})\n\n",
        report.stack, report.target
    );
    out.push_str("| Resource | Status | Properties |\n|---|---|---|\n");
    for r in &report.resources {
        let props: Vec<String> = r
            .properties
            .iter()
            .map(|p| format!("`{}`", p.property))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {:?} | {} |",
            r.address,
            r.status,
            props.join(", ")
        );
    }
    out
}

trait UpperWords {
    fn to_uppercase_words(&self) -> String;
}

impl UpperWords for String {
    /// `InSync` -> `IN_SYNC`.
    fn to_uppercase_words(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }
}
