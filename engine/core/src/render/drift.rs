//! Drift renderings: terminal text, JSON for programs, Markdown for an
//! issue or a pull request. Deterministic, no secrets (values arrive sealed).

use std::fmt::Write as _;

use super::show;
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
                p.expected
                    .as_ref()
                    .map_or_else(|| "(absent)".to_string(), show),
                p.actual
                    .as_ref()
                    .map_or_else(|| "(absent)".to_string(), show)
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
    let mut text = serde_json::to_string_pretty(&document(report)).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON document of a report: the report, typed values, and a summary
/// count by status (for alerts: `summary.drifted`).
pub fn document(report: &DriftReport) -> serde_json::Value {
    let mut document = serde_json::to_value(report).unwrap_or_default();
    let count = |verdict: Verdict| {
        report
            .resources
            .iter()
            .filter(|r| r.status == verdict)
            .count()
    };
    document["summary"] = serde_json::json!({
        "resources": report.resources.len(),
        "in_sync": count(Verdict::InSync),
        "modified": count(Verdict::Modified),
        "deleted": count(Verdict::Deleted),
        "not_checked": count(Verdict::NotChecked),
        "drifted": report.drifted(),
    });
    document
}

/// The hidden first line of a drift report in Markdown: `<!-- apprun:drift
/// stack=NAME target=T -->`. A workflow finds its own issue or comment by it.
pub fn marker(report: &DriftReport) -> String {
    format!(
        "<!-- apprun:drift stack={} target={} -->",
        report.stack, report.target
    )
}

/// The Markdown rendering, for an issue or a pull request: the marker,
/// "N of M resources drifted", a table of what differs with the expected
/// and actual values, and the resources in sync folded. It stays under
/// GitHub's comment limit: in-sync rows go first, then drifted properties,
/// with a note.
pub fn markdown(report: &DriftReport) -> String {
    let budget = super::markdown::GITHUB_COMMENT_LIMIT - super::markdown::POSTER_ROOM - 400;
    let drifted = report
        .resources
        .iter()
        .filter(|r| matches!(r.status, Verdict::Modified | Verdict::Deleted))
        .count();
    let unchecked = report
        .resources
        .iter()
        .filter(|r| r.status == Verdict::NotChecked)
        .count();
    let mut out = format!(
        "{}\n### apprun drift for `{}` ({})\n\n**{drifted} of {} resources drifted.**",
        marker(report),
        report.stack,
        report.target,
        report.resources.len()
    );
    if unchecked > 0 {
        let _ = write!(
            out,
            " **{unchecked} could not be checked** (exit 1: this report is incomplete)."
        );
    }
    out.push_str("\n\n");
    let mut rows = Vec::new();
    let mut in_sync = Vec::new();
    for r in &report.resources {
        match r.status {
            Verdict::InSync => in_sync.push(format!("| `{}` | IN_SYNC |\n", r.address)),
            Verdict::Modified if !r.properties.is_empty() => {
                for p in &r.properties {
                    rows.push(format!(
                        "| `{}` | MODIFIED | `{}` | {} | {} |\n",
                        r.address,
                        p.property,
                        value_cell(p.expected.as_ref().map(show).as_deref()),
                        value_cell(p.actual.as_ref().map(show).as_deref())
                    ));
                }
            }
            Verdict::Deleted => rows.push(format!(
                "| `{}` | DELETED | | exists | _(absent)_ |\n",
                r.address
            )),
            status => rows.push(format!(
                "| `{}` | {} | {} | | |\n",
                r.address,
                status_name(status),
                r.reason.as_deref().map(cell).unwrap_or_default()
            )),
        }
    }
    let mut left_out = 0;
    let mut fitting = Fitting {
        len: out.chars().count(),
        out,
        budget,
    };
    if !rows.is_empty() {
        fitting.push(
            "| Resource | Status | Property | Expected | Actual |\n|---|---|---|---|---|\n",
            0,
        );
        for row in rows {
            if !fitting.push(&row, 0) {
                left_out += 1;
            }
        }
        fitting.push("\n", 0);
    }
    if !in_sync.is_empty() {
        let head = format!(
            "<details><summary>{} resource{} in sync</summary>\n\n| Resource | Status |\n|---|---|\n",
            in_sync.len(),
            if in_sync.len() == 1 { "" } else { "s" }
        );
        let tail = "\n</details>\n";
        if fitting.push(&head, tail.len()) {
            for row in &in_sync {
                if !fitting.push(row, tail.len()) {
                    left_out += 1;
                }
            }
            fitting.push(tail, 0);
        } else {
            left_out += in_sync.len();
        }
    }
    let mut out = fitting.out;
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> {left_out} more row{} not shown, to keep this under GitHub's \
             character limit. `apprun drift --format text` (or `json`) prints them all.",
            if left_out == 1 { " is" } else { "s are" }
        );
    }
    out
}

/// Text that grows only while it stays within a budget of characters.
struct Fitting {
    out: String,
    len: usize,
    budget: usize,
}

impl Fitting {
    /// Appends `text` if it fits with `keep` characters to spare.
    fn push(&mut self, text: &str, keep: usize) -> bool {
        let size = text.chars().count();
        if self.len + size + keep > self.budget {
            return false;
        }
        self.out.push_str(text);
        self.len += size;
        true
    }
}

/// The status as the JSON and text renderings name it (`NOT_CHECKED`).
fn status_name(status: Verdict) -> String {
    format!("{status:?}").to_uppercase_words()
}

/// A value in a table cell: code, on one line, at most 200 characters, HTML
/// and table syntax escaped; an absent value is `(absent)`.
fn value_cell(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "_(absent)_".to_string();
    };
    let one_line = value.replace(['\n', '\r'], " ");
    let short: String = if one_line.chars().count() > 200 {
        one_line.chars().take(199).chain(['…']).collect()
    } else {
        one_line
    };
    format!("<code>{}</code>", html(&short))
}

/// Text for a table cell: escaped, on one line.
fn cell(text: &str) -> String {
    html(&text.replace(['\n', '\r'], " "))
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "&#124;")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{PropertyDrift, ResourceDrift};

    fn resource(address: &str, status: Verdict) -> ResourceDrift {
        ResourceDrift {
            address: address.into(),
            physical_id: None,
            status,
            properties: Vec::new(),
            reason: None,
        }
    }

    fn report(resources: Vec<ResourceDrift>) -> DriftReport {
        DriftReport {
            format_version: crate::drift::DRIFT_FORMAT_VERSION,
            stack: "shop".into(),
            target: crate::Target::Aws,
            resources,
        }
    }

    #[test]
    fn json_values_are_typed_secrets_are_marked_and_a_summary_counts_each_status() {
        let mut web = resource("services.web", Verdict::Modified);
        web.properties.push(PropertyDrift {
            property: "port".into(),
            expected: Some(serde_json::json!(8080)),
            actual: Some(serde_json::json!(9090)),
            difference: "NOT_EQUAL",
        });
        let sealed = serde_json::json!({ crate::values::SENSITIVE: "digest-of-the-value" });
        web.properties.push(PropertyDrift {
            property: "env.DB_PASSWORD".into(),
            expected: Some(sealed.clone()),
            actual: Some(sealed),
            difference: "NOT_EQUAL",
        });
        let doc = document(&report(vec![
            web,
            resource("roles.app", Verdict::InSync),
            resource("repositories.app", Verdict::NotChecked),
        ]));
        let properties = &doc["resources"][0]["properties"];
        assert_eq!(
            properties[0]["expected"],
            serde_json::json!(8080),
            "{doc:#}"
        );
        assert_eq!(properties[0]["actual"], serde_json::json!(9090));
        assert_eq!(
            properties[1]["expected"],
            serde_json::json!({ "sensitive": true })
        );
        assert!(!doc.to_string().contains("digest-of-the-value"), "{doc:#}");
        assert_eq!(doc["resources"][0]["status"], "MODIFIED");
        assert_eq!(
            doc["summary"],
            serde_json::json!({ "resources": 3, "in_sync": 1, "modified": 1, "deleted": 0,
                                "not_checked": 1, "drifted": true })
        );
    }

    #[test]
    fn markdown_leads_with_the_marker_and_the_count_and_shows_both_values() {
        let mut web = resource("services.web", Verdict::Modified);
        web.properties.push(PropertyDrift {
            property: "cpu".into(),
            expected: Some(serde_json::json!(1024)),
            actual: Some(serde_json::json!(2048)),
            difference: "NOT_EQUAL",
        });
        web.properties.push(PropertyDrift {
            property: "tags.team".into(),
            expected: Some(serde_json::json!("a|b<c>")),
            actual: None,
            difference: "REMOVE",
        });
        let mut broken = resource("roles.broken", Verdict::NotChecked);
        broken.reason = Some("AccessDenied | no\nread".into());
        let text = markdown(&report(vec![
            resource("repositories.app", Verdict::InSync),
            resource("roles.gone", Verdict::Deleted),
            broken,
            web,
        ]));
        assert!(
            text.starts_with(
                "<!-- apprun:drift stack=shop target=aws -->\n### apprun drift for `shop` (aws)\n\n**2 of 4 resources drifted.** **1 could not be checked**"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| `services.web` | MODIFIED | `cpu` | <code>1024</code> | <code>2048</code> |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| `tags.team` | <code>\"a&#124;b&lt;c&gt;\"</code> | _(absent)_ |"),
            "{text}"
        );
        assert!(text.contains("| `roles.gone` | DELETED | | exists | _(absent)_ |"));
        assert!(
            text.contains("| `roles.broken` | NOT_CHECKED | AccessDenied &#124; no read | | |")
        );
        assert!(
            text.contains("<details><summary>1 resource in sync</summary>\n\n| Resource | Status |\n|---|---|\n| `repositories.app` | IN_SYNC |\n\n</details>"),
            "{text}"
        );
    }

    #[test]
    fn markdown_of_a_huge_report_fits_a_comment_and_says_what_it_left_out() {
        let resources = (0..5000)
            .map(|i| {
                let mut r = resource(&format!("services.svc{i:04}"), Verdict::InSync);
                if i % 2 == 0 {
                    r.status = Verdict::Modified;
                    r.properties.push(PropertyDrift {
                        property: "image".into(),
                        expected: Some(serde_json::json!("x".repeat(300))),
                        actual: Some(serde_json::json!("y".repeat(300))),
                        difference: "NOT_EQUAL",
                    });
                }
                r
            })
            .collect();
        let text = markdown(&report(resources));
        assert!(text.chars().count() <= crate::render::markdown::GITHUB_COMMENT_LIMIT);
        assert!(text.contains("**2500 of 5000 resources drifted.**"));
        assert!(text.contains("more rows are not shown"), "no note");
        assert!(text.contains("| `services.svc0000` | MODIFIED | `image` |"));
        assert!(text.contains('…'), "long values are cut");
    }
}
