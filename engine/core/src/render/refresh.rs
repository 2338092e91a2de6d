//! What `refresh` recorded: one line per resource, then the count.

use std::fmt::Write as _;

use crate::ops::refresh::{RefreshReport, Refreshed};

/// The terminal rendering of a refresh.
pub fn text(report: &RefreshReport) -> String {
    let mut out = String::new();
    for change in &report.changes {
        let _ = match change {
            Refreshed::Removed(address) => writeln!(out, "{address}: gone; removed from state"),
            Refreshed::Updated(address) => {
                writeln!(out, "{address}: updated from the live resource")
            }
            Refreshed::NotRead { address, reason } => {
                writeln!(out, "{address}: not read: {reason}")
            }
        };
    }
    let _ = writeln!(
        out,
        "Refresh complete: {} change(s) recorded.",
        report.recorded()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_recorded_changes_but_not_failed_reads() {
        let report = RefreshReport {
            changes: vec![
                Refreshed::Removed("roles.a".into()),
                Refreshed::NotRead {
                    address: "services.web".into(),
                    reason: "timed out".into(),
                },
            ],
        };
        assert_eq!(
            text(&report),
            "roles.a: gone; removed from state\nservices.web: not read: timed out\nRefresh complete: 1 change(s) recorded.\n"
        );
    }
}
