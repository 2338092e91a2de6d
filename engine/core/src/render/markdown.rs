//! The Markdown rendering for a pull-request comment, as GitHub's
//! cmark-gfm renders it: a hidden marker line a workflow finds its own
//! comment by, the summary, a table of every change, and each change's
//! attributes folded in `<details>` as a `diff` block. The whole stays under
//! GitHub's 65,536-character comment limit: when it would not, the largest
//! details are dropped first, then table rows (deletions and replacements
//! are kept longest), with a note saying what is missing and where the
//! full plan is.

use std::fmt::Write as _;

use serde_json::Value;

use super::report::Operation;
use super::{flatten, is_multiline, show_at};
use crate::apply::{ApplyReport, ChangeOutcome};
use crate::plan::{Action, Change, Plan, ReplaceOrder};
use crate::target::Target;

/// GitHub's limit on a comment (and issue) body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room a rendering leaves under its limit for what the tool posting it
/// adds (sticky-comment actions add a hidden marker of their own).
pub const POSTER_ROOM: usize = 256;

/// Where the note about a shortened plan sends the reader.
const FULL_PLAN_AT: &str = "The full plan is in the CI job's log (`apprun plan` without \
                            `--format markdown` prints it).";

/// The largest share of the budget the summary table may take, in
/// percent: the rest keeps room for details.
const TABLE_SHARE_PERCENT: usize = 60;

/// Room kept for the note on what was left out.
const NOTE_ROOM: usize = 400;

/// The hidden first line of a plan comment: `<!-- apprun:plan stack=NAME
/// target=T -->`. A workflow finds and updates its own comment by it.
pub fn marker(plan: &Plan) -> String {
    format!(
        "<!-- apprun:plan stack={} target={} -->",
        plan.stack, plan.target
    )
}

/// Renders the plan as Markdown of at most `limit - POSTER_ROOM`
/// characters (the summary and as many rows and details as fit).
pub fn render(plan: &Plan, limit: usize) -> String {
    let budget = limit.saturating_sub(POSTER_ROOM);
    let mut head = String::new();
    let _ = writeln!(head, "{}", marker(plan));
    let _ = writeln!(
        head,
        "### apprun plan for `{}` ({})\n",
        plan.stack, plan.target
    );
    if !plan.has_changes() {
        let _ = writeln!(head, "{}", no_changes(plan));
        if !plan.interrupted.is_empty() {
            head.push('\n');
            interrupted(&mut head, plan);
        }
        return head;
    }
    let s = &plan.summary;
    let _ = writeln!(
        head,
        "**Plan: {} to add, {} to change, {} to destroy.**\n",
        s.add, s.change, s.destroy
    );
    destructive(&mut head, plan);
    interrupted(&mut head, plan);

    let rows: Vec<String> = plan.changes.iter().map(row).collect();
    let sections: Vec<String> = plan.changes.iter().map(details).collect();
    let fixed = chars(&head) + NOTE_ROOM;
    let table_budget = budget.saturating_sub(fixed) * TABLE_SHARE_PERCENT / 100;
    let listed = rows_that_fit(plan, &rows, table_budget);
    let table_size = TABLE_HEAD.len() + listed.iter().map(|&i| chars(&rows[i])).sum::<usize>();
    let detail_budget = budget.saturating_sub(fixed + table_size);
    let shown = details_that_fit(&listed, &sections, detail_budget);

    let mut out = head;
    out.push_str(TABLE_HEAD);
    for &i in &listed {
        out.push_str(&rows[i]);
    }
    let unlisted = rows.len() - listed.len();
    if unlisted > 0 {
        let _ = writeln!(out, "| | _{unlisted} more_ | | |");
    }
    out.push('\n');
    for &i in &shown {
        out.push_str(&sections[i]);
    }
    let folded_away = listed.len() - shown.len();
    if unlisted > 0 || folded_away > 0 {
        let _ = writeln!(out, "{}", note(unlisted, folded_away));
    }
    out
}

const TABLE_HEAD: &str = "| | Resource | Name | Action |\n|---|---|---|---|\n";

/// Characters, as GitHub counts a comment's length.
fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The table row of one change.
fn row(change: &Change) -> String {
    let reasons = if change.reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", cell(&change.reasons.join("; ")))
    };
    format!(
        "| `{}` | `{}` | `{}` | {}{reasons} |\n",
        change.action.symbol(change.replace_order),
        change.address,
        change.name,
        change.action.verb(),
    )
}

/// Text made safe for a table cell: a `|` would end the cell, a line
/// break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The rows to list, in plan order: all when they fit in `budget`,
/// else deletions and replacements first, then the others in plan order.
fn rows_that_fit(plan: &Plan, rows: &[String], budget: usize) -> Vec<usize> {
    let total = TABLE_HEAD.len() + rows.iter().map(|r| chars(r)).sum::<usize>();
    if total <= budget {
        return (0..rows.len()).collect();
    }
    // Room for the "N more" row.
    let mut room = budget.saturating_sub(TABLE_HEAD.len() + 40);
    let dangerous = |i: &usize| matches!(plan.changes[*i].action, Action::Delete | Action::Replace);
    let (first, rest): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(dangerous);
    let mut keep = Vec::new();
    for i in first.into_iter().chain(rest) {
        let size = chars(&rows[i]);
        if size > room {
            break;
        }
        room -= size;
        keep.push(i);
    }
    keep.sort_unstable();
    keep
}

/// The details to show among `listed`, in plan order: all when they fit in
/// `budget`, else without the largest ones.
fn details_that_fit(listed: &[usize], sections: &[String], budget: usize) -> Vec<usize> {
    let mut by_size: Vec<usize> = listed.to_vec();
    // Largest first; among equals, the later one first.
    by_size.sort_by_key(|&i| (std::cmp::Reverse(chars(&sections[i])), std::cmp::Reverse(i)));
    let mut total: usize = listed.iter().map(|&i| chars(&sections[i])).sum();
    let mut dropped = std::collections::BTreeSet::new();
    for i in by_size {
        if total <= budget {
            break;
        }
        total -= chars(&sections[i]);
        dropped.insert(i);
    }
    listed
        .iter()
        .copied()
        .filter(|i| !dropped.contains(i))
        .collect()
}

/// The note on what a shortened plan leaves out.
fn note(unlisted: usize, folded_away: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut parts = Vec::new();
    if folded_away > 0 {
        parts.push(format!(
            "the details of {folded_away} resource{} (the largest)",
            plural(folded_away)
        ));
    }
    if unlisted > 0 {
        parts.push(format!(
            "{unlisted} more resource{} (their rows and details)",
            plural(unlisted)
        ));
    }
    format!(
        "> [!NOTE]\n> Not shown: {}, to keep this within GitHub's size limits \
         ({GITHUB_COMMENT_LIMIT} characters for a comment). {FULL_PLAN_AT}\n",
        parts.join(" and ")
    )
}

/// One change's attributes, folded: a `<details>` block whose summary names
/// the resource, with a `diff` code block (blank lines around it, so
/// cmark-gfm renders it as Markdown inside the HTML).
fn details(change: &Change) -> String {
    let body = diff(change);
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!(
        "<details><summary><code>{}</code> {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
        change.address,
        change.action.verb(),
    )
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// The body of a change's `diff` block: comments (`#`) saying what happens
/// and why, the resource as a hunk header (`@@ ~ service "name" @@`), then
/// one line per attribute with its sigil in the first column (`+` added,
/// `-` removed, `!` changed where both sides read the same, as sensitive
/// values do), so GitHub colours it.
fn diff(change: &Change) -> String {
    let mut out = String::new();
    let order = match change.replace_order {
        Some(ReplaceOrder::CreateBeforeDestroy) => {
            " (create the new one first, then delete the old one)"
        }
        Some(ReplaceOrder::DeleteFirst) => " (delete first, then create)",
        None => "",
    };
    let _ = writeln!(out, "# {} {}{order}", change.address, change.action.verb());
    for reason in &change.reasons {
        let _ = writeln!(out, "# ({})", reason.replace('\n', " "));
    }
    // A hunk header: GitHub shows it as a heading, not as an added or
    // removed line (`-/+` would read as one).
    let _ = writeln!(
        out,
        "@@ {} {} \"{}\" @@",
        change.action.symbol(change.replace_order),
        change.address.kind.type_name(),
        change.name
    );
    match change.action {
        Action::Create => leaves(&mut out, '+', change.after.as_ref()),
        Action::Delete => leaves(&mut out, '-', change.before.as_ref()),
        Action::Update | Action::Replace => {
            for attribute in &change.attributes {
                let forces = if attribute.forces_replacement {
                    "  # forces replacement"
                } else {
                    ""
                };
                attribute_lines(
                    &mut out,
                    &attribute.path,
                    attribute.before.as_ref(),
                    attribute.after.as_ref(),
                    forces,
                );
            }
        }
        Action::NoOp => {}
    }
    out
}

/// The lines of one changed attribute.
fn attribute_lines(
    out: &mut String,
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    forces: &str,
) {
    match (before, after) {
        (Some(before), Some(after)) if is_multiline(Some(before)) && is_multiline(Some(after)) => {
            let _ = writeln!(out, "!   {path} = <<EOT{forces}");
            if let (Value::String(before), Value::String(after)) = (before, after) {
                let text = similar::TextDiff::from_lines(before.as_str(), after.as_str());
                for line in text.iter_all_changes() {
                    let sigil = match line.tag() {
                        similar::ChangeTag::Equal => ' ',
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                    };
                    let _ = writeln!(out, "{sigil}       {}", line.value().trim_end_matches('\n'));
                }
            }
            let _ = writeln!(out, "    EOT");
        }
        (Some(before), Some(after)) => {
            let (old, new) = (show_at(path, before), show_at(path, after));
            if old == new {
                let _ = writeln!(out, "!   {path} = {new} (changed){forces}");
            } else {
                let _ = writeln!(out, "-   {path} = {old}{forces}");
                let _ = writeln!(out, "+   {path} = {new}{forces}");
            }
        }
        (None, Some(after)) => value_lines(out, '+', path, after, forces),
        (Some(before), None) => value_lines(out, '-', path, before, forces),
        (None, None) => {}
    }
}

/// Every leaf of a created or deleted resource (its name is in the header).
fn leaves(out: &mut String, sigil: char, value: Option<&Value>) {
    for (path, leaf) in value.map(flatten).unwrap_or_default() {
        if path != "name" {
            value_lines(out, sigil, &path, &leaf, "");
        }
    }
}

/// One value: a line, or a heredoc for multi-line text (policies).
fn value_lines(out: &mut String, sigil: char, path: &str, value: &Value, forces: &str) {
    match value {
        Value::String(text) if text.contains('\n') => {
            let _ = writeln!(out, "{sigil}   {path} = <<EOT{forces}");
            for line in text.lines() {
                let _ = writeln!(out, "{sigil}       {line}");
            }
            let _ = writeln!(out, "{sigil}   EOT");
        }
        _ => {
            let _ = writeln!(out, "{sigil}   {path} = {}{forces}", show_at(path, value));
        }
    }
}

/// A caution when the plan deletes or replaces anything: a reviewer must
/// not miss it below a long table.
fn destructive(head: &mut String, plan: &Plan) {
    let s = &plan.summary;
    let deletes = s.destroy.saturating_sub(s.replace);
    if deletes == 0 && s.replace == 0 {
        return;
    }
    let mut parts = Vec::new();
    if deletes > 0 {
        parts.push(format!(
            "destroys {deletes} resource{}",
            if deletes == 1 { "" } else { "s" }
        ));
    }
    if s.replace > 0 {
        parts.push(format!(
            "replaces {} resource{} (delete and create)",
            s.replace,
            if s.replace == 1 { "" } else { "s" }
        ));
    }
    let _ = writeln!(head, "> [!CAUTION]\n> This plan {}.\n", parts.join(" and "));
}

/// The paragraph for a plan without changes: with no state at all it says
/// so plainly (as the text rendering does), not that the stack "matches
/// its state".
fn no_changes(plan: &Plan) -> String {
    if plan.lineage.is_none() {
        "**No changes.** The stack has no state here: nothing has been applied to it, or its \
         state is elsewhere (`state:` in the stack, `--target`)."
            .to_string()
    } else {
        "**No changes.** The stack matches its state.".to_string()
    }
}

/// A warning per operation an earlier run left unfinished.
fn interrupted(head: &mut String, plan: &Plan) {
    for interrupted in &plan.interrupted {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> `{}` was interrupted while running `{}`; apply reconciles it first.\n",
            interrupted.address, interrupted.action
        );
    }
}

/// The Markdown of a finished apply or destroy, for a step summary: a
/// marker (`<!-- apprun:apply stack=NAME target=T -->`), the summary line
/// and each change with how it ended. (The plan was rendered before.)
pub fn applied(report: &ApplyReport, operation: Operation, stack: &str, target: Target) -> String {
    let mut out = applied_head(operation, stack, target);
    let count = |f: fn(&ChangeOutcome) -> bool| report.results.iter().filter(|r| f(&r.2)).count();
    let done = count(|o| *o == ChangeOutcome::Done);
    let failed = count(|o| matches!(o, ChangeOutcome::Failed(_)));
    let skipped = count(|o| matches!(o, ChangeOutcome::Skipped { .. }));
    let not_started = count(|o| *o == ChangeOutcome::NotStarted);
    let _ = write!(
        out,
        "**{} {}: {done} done, {failed} failed, {skipped} skipped",
        operation.title(),
        if report.succeeded() {
            "complete"
        } else {
            "incomplete"
        }
    );
    if not_started > 0 {
        let _ = write!(out, ", {not_started} not started (stopped)");
    }
    out.push_str(".**\n\n| Resource | Change | Result |\n|---|---|---|\n");
    for (address, action, outcome) in &report.results {
        let result = match outcome {
            ChangeOutcome::Done => "done".to_string(),
            ChangeOutcome::Failed(error) => {
                format!("**failed**: {}", html_cell(&error.to_string()))
            }
            ChangeOutcome::Skipped { because } => format!("skipped: `{because}` failed"),
            ChangeOutcome::NotStarted => "not started".to_string(),
        };
        let _ = writeln!(out, "| `{address}` | {} | {result} |", action.name());
    }
    out
}

/// The Markdown of an apply or destroy that changed nothing: there was
/// nothing to do, or the person `declined`.
pub fn not_applied(operation: Operation, stack: &str, target: Target, declined: bool) -> String {
    let head = applied_head(operation, stack, target);
    if declined {
        format!("{head}**Declined.** Nothing was changed.\n")
    } else {
        format!("{head}**No changes.** Nothing was done.\n")
    }
}

/// The marker (`<!-- apprun:apply stack=NAME target=T -->`) and title of
/// an apply's or destroy's Markdown.
fn applied_head(operation: Operation, stack: &str, target: Target) -> String {
    let name = operation.name();
    format!(
        "<!-- apprun:{name} stack={stack} target={target} -->\n### apprun {name} for `{stack}` ({target})\n\n"
    )
}

/// Text for a table cell: one line, no cell separator, no HTML.
fn html_cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "&#124;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::AttributeChange;
    use crate::plan::{Change, Summary};
    use apprun_schema::{Address, Kind};

    fn create(i: usize, image: usize) -> Change {
        Change {
            address: Address::new(Kind::Service, format!("svc{i}")),
            kind: Kind::Service,
            name: format!("stack-svc{i}"),
            action: Action::Create,
            replace_order: None,
            reasons: Vec::new(),
            attributes: Vec::new(),
            before: None,
            after: Some(serde_json::json!({ "image": "x".repeat(image), "port": 8080 })),
            depends_on: Vec::new(),
        }
    }

    fn plan_of(changes: Vec<Change>) -> Plan {
        let add = changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .count();
        let destroy = changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .count();
        Plan {
            format_version: 1,
            stack: "big".into(),
            target: crate::Target::Aws,
            lineage: None,
            serial: 0,
            stack_digest: String::new(),
            changes,
            apply_order: Vec::new(),
            interrupted: Vec::new(),
            summary: Summary {
                add,
                destroy,
                ..Summary::default()
            },
        }
    }

    fn big_plan(changes: usize) -> Plan {
        plan_of((0..changes).map(|i| create(i, 400)).collect())
    }

    #[test]
    fn starts_with_the_hidden_marker() {
        for plan in [big_plan(0), big_plan(2)] {
            let text = render(&plan, GITHUB_COMMENT_LIMIT);
            assert!(
                text.starts_with("<!-- apprun:plan stack=big target=aws -->\n"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_plan_too_big_for_a_comment_drops_details_first_and_says_where_the_rest_is() {
        let text = render(&big_plan(400), GITHUB_COMMENT_LIMIT);
        assert!(chars(&text) <= GITHUB_COMMENT_LIMIT - POSTER_ROOM);
        assert!(text.contains("Not shown: the details of"), "{text}");
        assert!(text.contains("job's log"), "no pointer to the full plan");
        // The summary table is complete when only details are cut.
        assert!(text.contains("`services.svc399`"));
        assert!(!text.contains("more resources (their rows"));
    }

    #[test]
    fn the_largest_details_are_dropped_first() {
        let mut changes: Vec<Change> = (0..50).map(|i| create(i, 100)).collect();
        changes[7] = create(7, 30_000);
        changes[30] = create(30, 20_000);
        let text = render(&plan_of(changes), 40_000);
        assert!(chars(&text) <= 40_000 - POSTER_ROOM);
        assert!(!text.contains("<code>services.svc7</code>"), "largest kept");
        assert!(text.contains("<code>services.svc30</code>"), "{text}");
        assert!(text.contains("<code>services.svc49</code>"));
        assert!(text.contains("the details of 1 resource (the largest)"));
    }

    #[test]
    fn a_huge_plan_keeps_a_table_and_some_details_and_lists_deletions_first() {
        let mut changes: Vec<Change> = (0..3000).map(|i| create(i, 60)).collect();
        changes[2999].action = Action::Delete;
        changes[2999].before = changes[2999].after.take();
        let text = render(&plan_of(changes), GITHUB_COMMENT_LIMIT);
        assert!(chars(&text) <= GITHUB_COMMENT_LIMIT - POSTER_ROOM);
        assert!(
            text.contains("| `-` | `services.svc2999`"),
            "deletion unlisted"
        );
        assert!(text.contains("<details>"));
        assert!(text.contains("more resources (their rows and details)"));
        assert!(text.contains("> [!CAUTION]\n> This plan destroys 1 resource."));
    }

    #[test]
    fn no_changes_without_state_says_there_is_no_state() {
        let text = render(&big_plan(0), GITHUB_COMMENT_LIMIT);
        assert!(text.contains("has no state here"), "{text}");
        assert!(!text.contains("matches its state"), "{text}");
        let applied = Plan {
            lineage: Some("0123".into()),
            ..big_plan(0)
        };
        let text = render(&applied, GITHUB_COMMENT_LIMIT);
        assert!(text.contains("matches its state"), "{text}");
        assert!(!text.contains("no state"), "{text}");
    }

    #[test]
    fn a_small_plan_is_complete() {
        let text = render(&big_plan(3), GITHUB_COMMENT_LIMIT);
        assert!(!text.contains("Not shown"));
        assert_eq!(text.matches("<details>").count(), 3);
    }

    #[test]
    fn diff_lines_put_the_sigil_first_and_fences_outgrow_backticks_in_values() {
        let mut change = create(1, 1);
        change.action = Action::Update;
        change.after = None;
        change.attributes = vec![
            AttributeChange {
                path: "cpu".into(),
                before: Some(1024.into()),
                after: Some(2048.into()),
                forces_replacement: false,
            },
            AttributeChange {
                path: "start_command".into(),
                before: None,
                after: Some("echo ```x```".into()),
                forces_replacement: false,
            },
        ];
        let text = details(&change);
        assert!(
            text.contains("\n-   cpu = 1 vCPU\n+   cpu = 2 vCPU\n"),
            "{text}"
        );
        assert!(text.contains("````diff\n"), "{text}");
        assert!(text.contains("\n````\n\n</details>"), "{text}");
    }

    #[test]
    fn an_apply_lists_each_change_and_how_it_ended() {
        let address = |a: &str| Address::parse(a).unwrap_or_else(|| panic!("{a}"));
        let report = ApplyReport {
            results: vec![
                (address("roles.a"), Action::Create, ChangeOutcome::Done),
                (
                    address("roles.b"),
                    Action::Update,
                    ChangeOutcome::Failed(crate::ProviderError::NotFound {
                        what: "role <b> | x".into(),
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
        let text = applied(&report, Operation::Apply, "shop", crate::Target::Aws);
        assert!(
            text.starts_with(
                "<!-- apprun:apply stack=shop target=aws -->\n### apprun apply for `shop` (aws)\n\n**Apply incomplete: 1 done, 1 failed, 1 skipped.**"
            ),
            "{text}"
        );
        assert!(text.contains("| `roles.a` | create | done |"), "{text}");
        assert!(
            text.contains("| `roles.b` | update | **failed**: role &lt;b&gt; &#124; x not found |"),
            "{text}"
        );
        assert!(text.contains("| `services.web` | create | skipped: `roles.b` failed |"));
    }
}
