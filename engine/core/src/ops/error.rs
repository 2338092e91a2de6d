//! Why an operation could not run. Library errors keep their own codes and
//! help; the rest say what was asked and what to do.

use miette::Diagnostic;
use thiserror::Error;

use crate::planfile::PlanFileError;
use crate::provider::ProviderError;

/// An operation that could not run (per-change failures of an apply are
/// in its report instead). Render it with [`OpError::into_report`], which
/// shows a wrapped library error with its own code and help.
#[derive(Debug, Error, Diagnostic)]
pub enum OpError {
    /// The state store failed.
    #[error(transparent)]
    State(#[from] apprun_state::StateError),
    /// The lock could not be taken or released (holder in the message).
    #[error(transparent)]
    Lock(#[from] apprun_state::LockError),
    /// A saved plan that cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    PlanFile(#[from] PlanFileError),
    /// The target failed outside a change (a read, the preflight).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Provider(#[from] ProviderError),
    /// An address that is not `KIND.NAME`.
    #[error("`{address}` is not a resource address")]
    #[diagnostic(
        code(cli::invalid_address),
        help(
            "write KIND.NAME instead of `{address}`, e.g. services.web; kinds: repositories, roles, vpc_connectors, autoscaling, services"
        )
    )]
    InvalidAddress {
        /// What was given.
        address: String,
    },
    /// An address the state (and, where it counts, the stack) does not hold.
    #[error("`{address}` is not in the state")]
    #[diagnostic(
        code(cli::not_in_state),
        help("`apprun state list` shows what the state holds; `{address}` is not among it")
    )]
    NotInState {
        /// The address.
        address: String,
    },
    /// `deploy` or `logs` of an address that is not a service of the stack.
    #[error("`{address}` is not a service of this stack")]
    #[diagnostic(
        code(cli::not_a_service),
        help("{command} works on services: name one as `services.NAME` ({declared})")
    )]
    NotAService {
        /// The address.
        address: String,
        /// The command.
        command: String,
        /// The services the stack declares, or that it declares none.
        declared: String,
    },
    /// `deploy`, `logs` or `status` of a service the state does not hold.
    #[error("`{address}` has not been applied yet")]
    #[diagnostic(
        code(cli::not_applied),
        help("run `apprun apply` first: it creates the service and deploys it")
    )]
    NotApplied {
        /// The address.
        address: String,
    },
    /// `deploy` of a service whose stack differs from what was applied.
    #[error("`{address}` has changes that are not applied yet: {changes}")]
    #[diagnostic(
        code(cli::unapplied_changes),
        help("run `apprun apply`, which deploys them; `deploy` redeploys what was applied")
    )]
    UnappliedChanges {
        /// The address.
        address: String,
        /// What differs, in a few words.
        changes: String,
    },
    /// `import` of an address the stack does not declare.
    #[error("importing `{address}`, which the stack does not declare, is not available")]
    #[diagnostic(
        code(cli::unsupported),
        help("declare the resource in the stack first, then import it")
    )]
    NotDeclared {
        /// The address.
        address: String,
    },
    /// `import` of an address the state holds already.
    #[error("importing `{address}`: it is already in the state")]
    #[diagnostic(
        code(cli::unsupported),
        help("run `apprun state rm {address}` first if it should point elsewhere")
    )]
    AlreadyInState {
        /// The address.
        address: String,
    },
    /// A refresh could not read every recorded resource: planning against
    /// part of the world would not tell the truth.
    #[error("could not read {count} recorded resource(s), so nothing was planned: {details}")]
    #[diagnostic(
        code(ops::not_read),
        help(
            "check that the target is reachable (endpoint, network, credentials) and run again; to plan against the state alone, apply with --no-refresh (plan without --refresh)"
        )
    )]
    NotRead {
        /// How many reads failed.
        count: usize,
        /// `address: reason` for each, `; `-separated.
        details: String,
    },
    /// The state at the stack's location belongs to another stack.
    #[error("the state at {location} belongs to stack `{recorded}`, not `{stack}`")]
    #[diagnostic(
        code(state::foreign_stack),
        help(
            "nothing was read or written for `{stack}`; give it its own `state.key` or `state.path` (one that includes its name)"
        )
    )]
    ForeignStack {
        /// Where the state is.
        location: String,
        /// The stack it records.
        recorded: String,
        /// The stack that asked.
        stack: String,
    },
    /// `state migrate` would overwrite another state.
    #[error("refusing to copy the state of {from} to {to}: {reason}")]
    #[diagnostic(
        code(state::migrate_refused),
        help(
            "nothing was written; check `state:` in the stack (bucket, key), or move the other state away first"
        )
    )]
    MigrateRefused {
        /// Where the state comes from.
        from: String,
        /// Where it would go.
        to: String,
        /// What is there.
        reason: String,
    },
    /// An output the stack does not define.
    #[error("no output named `{name}`")]
    #[diagnostic(code(cli::unknown_output), help("the stack defines: {defined}"))]
    UnknownOutput {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        defined: String,
    },
    /// Changes need approval and nobody can give it.
    #[error("{operation} without confirmation is not available")]
    #[diagnostic(
        code(cli::unsupported),
        help("stdin is not a terminal: pass --auto-approve to apply without asking")
    )]
    NeedsApproval {
        /// `apply` or `destroy`.
        operation: String,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    #[diagnostic(
        code(cli::write_file),
        help("check that the directory of {path:?} exists and is writable")
    )]
    WriteFile {
        /// The path.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {what} `{path}`: {source}")]
    #[diagnostic(code(cli::read_file), help("{help}"))]
    ReadFile {
        /// What the file is ("plan file").
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
        /// What to do.
        help: String,
    },
    /// A Terraform file `discover --from-terraform` cannot read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Terraform(#[from] crate::discover::terraform::TerraformError),
    /// A name given on the command line that its rule refuses.
    #[error("`{value}` is not a valid {what}")]
    #[diagnostic(code(cli::invalid_name), help("a {what} is {rule}"))]
    InvalidName {
        /// What it names ("stack name").
        what: &'static str,
        /// What was given.
        value: String,
        /// The rule in words.
        rule: &'static str,
    },
    /// `discover` found nothing to adopt.
    #[error("no App Runner service in {region} matches ({filters})")]
    #[diagnostic(
        code(cli::nothing_found),
        help(
            "check the region (--region, AWS_REGION) and the filters; `aws apprunner list-services` lists what there is"
        )
    )]
    NothingFound {
        /// The region read.
        region: String,
        /// The filters, as given.
        filters: String,
    },
    /// `discover` found resources, and every one belongs elsewhere.
    #[error("nothing to adopt: {details}")]
    #[diagnostic(
        code(cli::nothing_to_adopt),
        help(
            "what another apprun stack owns stays there; pass --include-managed to adopt what CloudFormation or Copilot manages"
        )
    )]
    NothingAdopted {
        /// What was found and why each was left alone.
        details: String,
    },
    /// `discover` composed a stack the parser refuses (a bug: nothing was
    /// written).
    #[error("the stack discover composed does not validate: {details}")]
    #[diagnostic(
        code(cli::discover_composed_invalid),
        help(
            "nothing was written; report this with the message, and narrow the scope (--service) to go on"
        )
    )]
    Composed {
        /// The parser's diagnostics.
        details: String,
    },
    /// `discover` would overwrite a stack file or state.
    #[error("{path} exists already")]
    #[diagnostic(
        code(cli::discover_exists),
        help("choose another --out directory, or pass --force to replace it (its state too)")
    )]
    Exists {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Output for the person could not be written.
    #[error("cannot write output: {0}")]
    #[diagnostic(code(cli::write))]
    Output(#[from] std::io::Error),
}

impl OpError {
    /// The diagnostic to show: a wrapped state or lock error as itself
    /// (their `Diagnostic` impls are hand-written, so the derive cannot
    /// forward to them), everything else as is.
    pub fn into_report(self) -> miette::Report {
        match self {
            OpError::State(error) => miette::Report::new(error),
            OpError::Lock(error) => miette::Report::new(error),
            other => miette::Report::new(other),
        }
    }
}
