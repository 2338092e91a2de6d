//! The `removed` blocks that make Terraform forget resources without
//! destroying them, laid out as `terraform fmt` lays them out.

use std::collections::HashSet;

use super::TerraformResource;

/// One `removed { from = ADDRESS  lifecycle { destroy = false } }` block
/// per resource, in the order given, separated by a blank line and laid out
/// as `terraform fmt` writes them. `from` takes a configuration address, so
/// instance keys are dropped (of the resource and of its modules) and
/// instances of one resource share one block. Empty for no resources.
pub fn removed_blocks(resources: &[TerraformResource]) -> String {
    let mut seen = HashSet::new();
    let blocks: Vec<String> = resources
        .iter()
        .map(|resource| resource.address.config_address())
        .filter(|from| seen.insert(from.clone()))
        .map(|from| {
            format!(
                "removed {{\n  from = {from}\n\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
            )
        })
        .collect();
    blocks.join("\n")
}
