//! What `apprun discover` tells once stack and state are written: what it
//! left alone, its warnings, where it wrote, and for a Terraform source
//! what was not taken and the `removed` blocks.

use std::fmt::Write;
use std::path::Path;

use crate::discover::terraform::{TerraformInventory, removed_blocks};
use crate::ops::discover::Discovery;

/// The summary of a discovery written to `file` with `count` records;
/// `tagged` when the ownership tags went on at once.
pub fn summary(
    discovery: &Discovery,
    file: &Path,
    count: usize,
    tagged: bool,
    terraform: Option<&TerraformInventory>,
) -> String {
    let mut out = String::new();
    for s in &discovery.skipped {
        let _ = writeln!(out, "Not adopted: {}: {}.", s.what, s.why);
    }
    for w in &discovery.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    let _ = writeln!(
        out,
        "Wrote {} ({count} resources) and its state. {}",
        file.display(),
        if tagged {
            "Ownership tags are on them now."
        } else {
            "The first apply puts apprun's ownership tags on them (tag updates only)."
        }
    );
    if let Some(inventory) = terraform {
        for n in &inventory.not_taken {
            let _ = writeln!(
                out,
                "Not taken (not an App Runner, IAM role or ECR resource): {}",
                n.address
            );
        }
        let _ = writeln!(
            out,
            "\nAdd these blocks to the Terraform configuration; `terraform plan` then shows them as forgotten, not destroyed:\n"
        );
        out.push_str(&removed_blocks(&inventory.taken));
    }
    out
}
