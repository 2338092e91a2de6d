//! Why a Terraform file could not be read: each says what was found and
//! what was expected, with what to do.

use miette::Diagnostic;
use thiserror::Error;

/// What `apprun discover --from-terraform` reads, for the messages.
pub(crate) const EXPECTED: &str =
    "a Terraform state of format version 4 or the output of `terraform show -json`";

/// A Terraform file that cannot be read as a state or `terraform show
/// -json` output.
#[derive(Debug, Error, Diagnostic)]
pub enum TerraformError {
    /// The text is not JSON at all.
    #[error("the Terraform file is not JSON ({message}); expected {EXPECTED}")]
    #[diagnostic(
        code(discover::terraform_json),
        help(
            "pass the state as JSON (`terraform state pull > state.json`) or `terraform show -json > show.json`; HCL (.tf) files and plan files are not read"
        )
    )]
    NotJson {
        /// serde_json's message, with line and column.
        message: String,
    },
    /// A state file of another format version than 4.
    #[error("the Terraform state has format version {found}; expected {EXPECTED}")]
    #[diagnostic(
        code(discover::terraform_format),
        help(
            "a state of version 3 or older was written by Terraform 0.11 or earlier: run `terraform apply -refresh-only` with Terraform 1.x to rewrite it as version 4, or pass `terraform show -json` output"
        )
    )]
    StateVersion {
        /// The `version` found, as written.
        found: String,
    },
    /// `terraform show -json` output of a format version apprun does not
    /// read (only `1.x`).
    #[error(
        "the `terraform show -json` output has format version {found}; expected {EXPECTED} (format version 1.x)"
    )]
    #[diagnostic(
        code(discover::terraform_format),
        help(
            "run `terraform show -json` with Terraform 1.x, or pass the state itself (`terraform state pull`)"
        )
    )]
    ShowVersion {
        /// The `format_version` found, as written.
        found: String,
    },
    /// The output of `terraform show -json PLANFILE`: a plan, not a state.
    #[error(
        "the Terraform file is a plan (`terraform show -json PLANFILE` output, with `{key}`), not a state; expected {EXPECTED}"
    )]
    #[diagnostic(
        code(discover::terraform_plan),
        help(
            "run `terraform show -json` without a plan file, which shows the state, or pass the state itself (`terraform state pull`)"
        )
    )]
    Plan {
        /// The plan key that gave it away (`planned_values`, ...).
        key: String,
    },
    /// JSON that is neither a state nor `terraform show -json` output.
    #[error("the Terraform file is {found}; expected {EXPECTED}")]
    #[diagnostic(
        code(discover::terraform_format),
        help(
            "pass the state (`terraform state pull > state.json`) or `terraform show -json > show.json`"
        )
    )]
    Unrecognized {
        /// What was found, e.g. `a JSON array` or `a JSON object with
        /// keys a, b`.
        found: String,
    },
    /// A state or `show -json` output with a part that is not shaped as
    /// Terraform writes it.
    #[error("`{path}` in the Terraform file is {found}; expected {expected}")]
    #[diagnostic(
        code(discover::terraform_shape),
        help(
            "pass the file as Terraform wrote it (`terraform state pull` or `terraform show -json`), without editing it"
        )
    )]
    Malformed {
        /// Where, as a JSON path (`resources[2].instances[0]`).
        path: String,
        /// What is there.
        found: String,
        /// What Terraform writes there.
        expected: String,
    },
    /// A module path that is not a Terraform module address.
    #[error("`{path}` in the Terraform file is not a module address (`{module}`: {reason})")]
    #[diagnostic(
        code(discover::terraform_address),
        help(
            "module paths look like `module.app` or `module.app[\"blue\"].module.db[0]`; pass the file as Terraform wrote it"
        )
    )]
    BadModule {
        /// Where, as a JSON path.
        path: String,
        /// The module path found.
        module: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A resource of a mapped type without the attribute it is read by.
    #[error("`{address}` has no `{attribute}` to read it by")]
    #[diagnostic(
        code(discover::terraform_missing_id),
        help(
            "run `terraform apply -refresh-only` so the state records `{attribute}`, then run discover again; or remove `{address}` from what Terraform manages another way"
        )
    )]
    MissingId {
        /// The resource instance's address.
        address: String,
        /// The attribute that is missing, null or not a non-empty string.
        attribute: String,
    },
}
