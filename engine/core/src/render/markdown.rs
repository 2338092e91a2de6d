//! The Markdown rendering for a pull-request comment: the summary and a
//! table first, each resource's details folded in `<details>`, and the whole
//! kept under GitHub's 65,536-character comment limit.

use std::fmt::Write as _;

use crate::plan::{Action, Plan};

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Renders the plan as Markdown of at most `limit` characters.
pub fn render(plan: &Plan, limit: usize) -> String {
    let mut head = String::new();
    let s = &plan.summary;
    let _ = writeln!(
        head,
        "### apprun plan for `{}` ({})\n",
        plan.stack, plan.target
    );
    if !plan.has_changes() {
        let _ = writeln!(head, "**No changes.** The stack matches its state.");
        return head;
    }
    let _ = writeln!(
        head,
        "**Plan: {} to add, {} to change, {} to destroy.**\n",
        s.add, s.change, s.destroy
    );
    for interrupted in &plan.interrupted {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> `{}` was interrupted while running `{}`; apply reconciles it first.\n",
            interrupted.address, interrupted.action
        );
    }
    let _ = writeln!(head, "| | Resource | Name | Action |\n|---|---|---|---|");
    for change in &plan.changes {
        let _ = writeln!(
            head,
            "| `{}` | `{}` | `{}` | {}{} |",
            change.action.symbol(change.replace_order),
            change.address,
            change.name,
            change.action.verb(),
            if change.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", change.reasons.join("; ").replace('|', "\\|"))
            }
        );
    }
    head.push('\n');
    let footer_room = 200;
    let mut body = String::new();
    let mut omitted = 0;
    for change in &plan.changes {
        let text = super::text::render(
            &Plan {
                changes: vec![change.clone()],
                interrupted: Vec::new(),
                ..plan.clone()
            },
            false,
        );
        // Keep only the resource block (drop the intro and summary lines).
        let block: String = text
            .lines()
            .skip_while(|l| !l.starts_with("  # "))
            .take_while(|l| !l.starts_with("Plan: "))
            .collect::<Vec<_>>()
            .join("\n");
        let mut section = String::new();
        let _ = writeln!(
            section,
            "<details><summary><code>{}</code> {}</summary>\n\n```diff\n{}\n```\n\n</details>\n",
            change.address,
            change.action.verb(),
            block.trim_end().replace("```", "`\u{200b}``")
        );
        if omitted == 0
            && head.chars().count() + body.chars().count() + section.chars().count() + footer_room
                <= limit
        {
            body.push_str(&section);
        } else {
            omitted += 1;
        }
    }
    let mut out = head + &body;
    if omitted > 0 {
        let _ = writeln!(
            out,
            "_{omitted} more resource{} not shown: the comment would exceed GitHub's limit. Run `apprun plan` for the full plan._",
            if omitted == 1 { "" } else { "s" }
        );
    }
    if plan
        .changes
        .iter()
        .any(|c| c.action == Action::Replace || c.action == Action::Delete)
    {
        let _ = writeln!(out, "\n:warning: This plan deletes or replaces resources.");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Summary};
    use apprun_schema::{Address, Kind};

    fn big_plan(changes: usize) -> Plan {
        let change = |i: usize| Change {
            address: Address::new(Kind::Service, format!("svc{i}")),
            kind: Kind::Service,
            name: format!("stack-svc{i}"),
            action: Action::Create,
            replace_order: None,
            reasons: Vec::new(),
            attributes: Vec::new(),
            before: None,
            after: Some(serde_json::json!({ "image": "x".repeat(400), "port": 8080 })),
            depends_on: Vec::new(),
        };
        Plan {
            format_version: 1,
            stack: "big".into(),
            target: crate::Target::Aws,
            lineage: None,
            serial: 0,
            stack_digest: String::new(),
            changes: (0..changes).map(change).collect(),
            apply_order: Vec::new(),
            interrupted: Vec::new(),
            summary: Summary {
                add: changes,
                ..Summary::default()
            },
        }
    }

    #[test]
    fn a_plan_too_big_for_a_comment_is_truncated_with_a_note() {
        let text = render(&big_plan(400), GITHUB_COMMENT_LIMIT);
        assert!(
            text.chars().count() <= GITHUB_COMMENT_LIMIT,
            "{} characters",
            text.chars().count()
        );
        assert!(
            text.contains("more resources not shown"),
            "no truncation note"
        );
        // The summary table is complete even when details are cut.
        assert!(text.contains("`services.svc399`"));
    }

    #[test]
    fn a_small_plan_is_complete() {
        let text = render(&big_plan(3), GITHUB_COMMENT_LIMIT);
        assert!(!text.contains("not shown"));
        assert_eq!(text.matches("<details>").count(), 3);
    }
}
