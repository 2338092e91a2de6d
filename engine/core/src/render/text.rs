//! The terminal rendering, in the style Terraform users read every day.

use std::fmt::Write as _;

use serde_json::Value;

use super::{flatten, is_multiline, show_at};
use crate::plan::{Action, Change, Plan, ReplaceOrder};

const RESET: &str = "\u{1b}[0m";
const GREEN: &str = "\u{1b}[32m";
const YELLOW: &str = "\u{1b}[33m";
const RED: &str = "\u{1b}[31m";
const MAGENTA: &str = "\u{1b}[35m";
const BOLD: &str = "\u{1b}[1m";

struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Writes `text` to `out` as one bold line.
    fn bold_line(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "{}", self.paint(BOLD, text));
    }

    fn for_action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => GREEN,
            Action::Update => YELLOW,
            Action::Delete => RED,
            Action::Replace => MAGENTA,
            Action::NoOp => return text.to_string(),
        };
        self.paint(code, text)
    }
}

/// Renders a plan for a terminal; `color` adds ANSI colours.
pub fn render(plan: &Plan, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    for interrupted in &plan.interrupted {
        let _ = writeln!(
            out,
            "{} {} was interrupted while running `{}` (started {}); apply reconciles it first.",
            p.paint(YELLOW, "Warning:"),
            interrupted.address,
            interrupted.action,
            interrupted.started_at
        );
    }
    if !plan.interrupted.is_empty() {
        out.push('\n');
    }
    if !plan.has_changes() {
        p.bold_line(&mut out, &no_changes(plan));
        return out;
    }
    let _ = writeln!(
        out,
        "apprun will perform these actions on stack `{}` (target {}):",
        plan.stack, plan.target
    );
    out.push('\n');
    for change in &plan.changes {
        render_change(&mut out, &p, change);
    }
    let s = &plan.summary;
    p.bold_line(
        &mut out,
        &format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        ),
    );
    out
}

fn header(change: &Change) -> String {
    let order = match change.replace_order {
        Some(ReplaceOrder::CreateBeforeDestroy) => {
            " (create the new one first, then delete the old one)"
        }
        Some(ReplaceOrder::DeleteFirst) => " (delete first, then create)",
        None => "",
    };
    format!("# {} {}{order}", change.address, change.action.verb())
}

fn render_change(out: &mut String, p: &Paint, change: &Change) {
    let _ = writeln!(out, "  {}", p.paint(BOLD, &header(change)));
    for reason in &change.reasons {
        let _ = writeln!(out, "  # ({reason})");
    }
    let symbol = change.action.symbol(change.replace_order);
    let _ = writeln!(
        out,
        "{} {} \"{}\" {{",
        p.for_action(change.action, &format!("{symbol:>3}")),
        change.address.kind.type_name(),
        change.name
    );
    match change.action {
        Action::Create => leaves(out, p, Action::Create, change.after.as_ref()),
        Action::Delete => leaves(out, p, Action::Delete, change.before.as_ref()),
        Action::Update | Action::Replace => {
            for attribute in &change.attributes {
                let forces = if attribute.forces_replacement {
                    "  # forces replacement"
                } else {
                    ""
                };
                let (action, line) = match (&attribute.before, &attribute.after) {
                    (None, Some(after)) => (
                        Action::Create,
                        format!("+ {} = {}", attribute.path, show_at(&attribute.path, after)),
                    ),
                    (Some(before), None) => (
                        Action::Delete,
                        format!(
                            "- {} = {}",
                            attribute.path,
                            show_at(&attribute.path, before)
                        ),
                    ),
                    (Some(before), Some(after))
                        if is_multiline(Some(before)) && is_multiline(Some(after)) =>
                    {
                        let _ = writeln!(
                            out,
                            "      {} {} = <<-EOT{forces}",
                            p.for_action(Action::Update, "~"),
                            attribute.path
                        );
                        text_diff(out, p, before, after);
                        let _ = writeln!(out, "        EOT");
                        continue;
                    }
                    (before, after) => (
                        Action::Update,
                        format!(
                            "~ {} = {} -> {}",
                            attribute.path,
                            before
                                .as_ref()
                                .map_or("null".to_string(), |v| show_at(&attribute.path, v)),
                            after
                                .as_ref()
                                .map_or("null".to_string(), |v| show_at(&attribute.path, v))
                        ),
                    ),
                };
                let (sigil, rest) = line.split_at(1);
                let _ = writeln!(out, "      {}{rest}{forces}", p.for_action(action, sigil));
            }
        }
        Action::NoOp => {}
    }
    let _ = writeln!(out, "    }}\n");
}

fn leaves(out: &mut String, p: &Paint, action: Action, value: Option<&Value>) {
    let sigil = if action == Action::Create { "+" } else { "-" };
    for (path, leaf) in value.map(flatten).unwrap_or_default() {
        if path == "name" {
            continue;
        }
        if is_multiline(Some(&leaf)) {
            let _ = writeln!(out, "      {} {path} = <<-EOT", p.for_action(action, sigil));
            if let Value::String(text) = &leaf {
                for line in text.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
            let _ = writeln!(out, "        EOT");
        } else {
            let _ = writeln!(
                out,
                "      {} {path} = {}",
                p.for_action(action, sigil),
                show_at(&path, &leaf)
            );
        }
    }
}

fn text_diff(out: &mut String, p: &Paint, before: &Value, after: &Value) {
    let (Value::String(before), Value::String(after)) = (before, after) else {
        return;
    };
    let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str());
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let _ = match change.tag() {
            similar::ChangeTag::Equal => writeln!(out, "          {line}"),
            similar::ChangeTag::Delete => {
                writeln!(out, "        {} {line}", p.for_action(Action::Delete, "-"))
            }
            similar::ChangeTag::Insert => {
                writeln!(out, "        {} {line}", p.for_action(Action::Create, "+"))
            }
        };
    }
}

/// The line for a plan without changes: with no state at all it says so
/// plainly (nothing was applied here, or the state lives elsewhere) rather
/// than that the stack "matches its state".
pub fn no_changes(plan: &Plan) -> String {
    if plan.lineage.is_none() {
        format!(
            "No changes. Stack `{}` ({}) has no state here: nothing has been applied to it, or its state is elsewhere (`state:` in the stack, --target).",
            plan.stack, plan.target
        )
    } else {
        format!(
            "No changes. Stack `{}` ({}) matches its state.",
            plan.stack, plan.target
        )
    }
}
