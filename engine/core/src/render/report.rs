//! The end of an apply or destroy: each change that did not get done, then
//! the summary line (`Apply complete: …` or `Destroy complete: …`).

use std::fmt::Write as _;

use crate::apply::{ApplyReport, ChangeOutcome};

/// Which operation a report is of (the summary line names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `apprun apply`.
    Apply,
    /// `apprun destroy`.
    Destroy,
}

impl Operation {
    /// The word that starts the summary line.
    pub fn title(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Destroy => "Destroy",
        }
    }

    /// The lower-case name (lock records, messages).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Apply => "apply",
            Operation::Destroy => "destroy",
        }
    }
}

/// Renders the failed, skipped and unstarted changes of `report` and the
/// summary line; failures as miette diagnostics (coloured when `color`).
pub fn render(report: &ApplyReport, operation: Operation, color: bool) -> String {
    let mut out = String::new();
    let (mut done, mut failed, mut skipped, mut not_started) = (0, 0, 0, 0);
    for (address, action, outcome) in &report.results {
        match outcome {
            ChangeOutcome::Done => done += 1,
            ChangeOutcome::Failed(error) => {
                failed += 1;
                let _ = writeln!(
                    out,
                    "{address}: {} failed\n{}",
                    action.name(),
                    diagnostic(error.clone(), color)
                );
            }
            ChangeOutcome::Skipped { because } => {
                skipped += 1;
                let _ = writeln!(out, "{address}: skipped because {because} failed");
            }
            ChangeOutcome::NotStarted => {
                not_started += 1;
                let _ = writeln!(out, "{address}: not started (stopped)");
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} {}: {done} done, {failed} failed, {skipped} skipped{}.",
        operation.title(),
        if report.succeeded() {
            "complete"
        } else {
            "incomplete"
        },
        if not_started > 0 {
            format!(", {not_started} not started")
        } else {
            String::new()
        }
    );
    out
}

/// A diagnostic as miette's graphical handler draws it.
pub fn diagnostic(error: impl miette::Diagnostic + Send + Sync + 'static, color: bool) -> String {
    let report = miette::Report::new(error);
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let mut text = String::new();
    if miette::GraphicalReportHandler::new_themed(theme)
        .render_report(&mut text, report.as_ref())
        .is_err()
    {
        text = format!("error: {report}");
    }
    text
}

#[cfg(test)]
mod tests {
    use apprun_schema::Address;

    use super::*;
    use crate::plan::Action;
    use crate::provider::ProviderError;

    fn address(text: &str) -> Address {
        Address::parse(text).unwrap_or_else(|| panic!("{text} is an address"))
    }

    #[test]
    fn names_each_unfinished_change_and_counts_them() {
        let report = ApplyReport {
            results: vec![
                (address("roles.a"), Action::Create, ChangeOutcome::Done),
                (
                    address("roles.b"),
                    Action::Create,
                    ChangeOutcome::Failed(ProviderError::NotFound {
                        what: "thing".into(),
                    }),
                ),
                (
                    address("services.web"),
                    Action::Create,
                    ChangeOutcome::Skipped {
                        because: address("roles.b"),
                    },
                ),
            ],
            stopped: false,
            reconciled: Vec::new(),
        };
        let text = render(&report, Operation::Destroy, false);
        assert!(text.contains("roles.b: create failed"), "{text}");
        assert!(text.contains("thing not found"), "{text}");
        assert!(text.contains("services.web: skipped because roles.b failed"));
        assert!(
            text.ends_with("Destroy incomplete: 1 done, 1 failed, 1 skipped.\n"),
            "{text}"
        );
    }
}
