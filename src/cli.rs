//! The command line: every command, flag and its documentation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Infrastructure as code for AWS App Runner, with a local Docker target.
#[derive(Debug, Parser)]
#[command(name = "apprun", version, about, propagate_version = true)]
pub struct Cli {
    /// When to use colour: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Output format for results and diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Docker target: a YAML or JSON file mapping secret ARNs (or names) to
    /// local values. Values also come from APPRUN_SECRET_<NAME> variables.
    #[arg(long, global = true, value_name = "FILE", env = "APPRUN_SECRETS_FILE")]
    pub secrets_file: Option<PathBuf>,

    /// AWS target: at most N requests per second to each AWS service, retries
    /// included; `apprunner=N` (also iam, ec2, ecr, route53, logs) limits one service, and
    /// `5,apprunner=19` combines both. Default: no client-side limit.
    #[arg(
        long,
        global = true,
        value_name = "N|SERVICE=N,...",
        env = "APPRUN_MAX_RPS"
    )]
    pub max_rps: Option<apprun_aws::RateLimits>,

    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack file and report every problem in it (exit 0 valid, 1 invalid).
    Validate(StackArgs),
    /// Show what apply would change (exit 0; with --detailed-exitcode: 0 no changes, 2 changes, 1 error).
    Plan(PlanArgs),
    /// Make the world match the stack (or apply a plan saved with `plan --out`).
    Apply(ApplyArgs),
    /// Delete every resource the stack's state records, dependents first.
    Destroy(ApplyArgs),
    /// Compare the live world with the state (exit 0 in sync; with --detailed-exitcode 2 drifted; 1 error).
    Drift(DriftArgs),
    /// Read every resource and record what is there now in the state.
    Refresh(StateArgs),
    /// Adopt an existing resource into the state.
    Import {
        /// The address it gets, e.g. services.web (must be declared in the stack).
        address: String,
        /// Its id: an ARN on AWS, the local ARN on Docker.
        id: String,
        /// Which state.
        #[command(flatten)]
        state: StateArgs,
    },
    /// Render a plan saved with `plan --out`.
    Show {
        /// The saved plan file.
        planfile: PathBuf,
    },
    /// Print the dependency graph as Graphviz DOT.
    Graph(StackArgs),
    /// Inspect and repair state.
    #[command(subcommand)]
    State(StateCommand),
    /// Print the stack's outputs from state.
    Output(OutputArgs),
    /// Deploy services again as declared (a new image under the same tag), waiting like apply.
    Deploy(DeployArgs),
    /// Show each resource's live status, and each service's last operations
    /// (exit 0; with --detailed-exitcode 2 when a service is not running).
    Status(StatusArgs),
    /// Print a service's logs (App Runner's CloudWatch Logs, or every Docker replica).
    Logs(LogsArgs),
    /// Write a stack and its state for App Runner services that already run
    /// (or for what a Terraform state manages), so apprun manages them from now on.
    Discover(DiscoverArgs),
    /// Print the JSON Schema of the stack language (for editors and CI).
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Folds every `--stack FILE` into the positional STACK it stands for.
    pub fn normalize(&mut self) {
        match self {
            Command::Validate(args) | Command::Graph(args) => args.normalize(),
            Command::Plan(args) => args.stack.normalize(),
            Command::Apply(args) | Command::Destroy(args) => args.stack.normalize(),
            Command::Output(args) => {
                // `apprun output STACK`: a lone positional naming a stack
                // file is the stack, not an output's name.
                if let Some(name) = &args.name
                    && args.state.stack_flag.is_none()
                    && is_stack_file(name)
                {
                    args.state.stack_flag = Some(PathBuf::from(name));
                    args.name = None;
                }
                let state = &mut args.state;
                if let Some(file) = state.stack_flag.take() {
                    state.stack = file;
                }
            }
            Command::Refresh(state)
            | Command::Import { state, .. }
            | Command::Status(StatusArgs { state, .. })
            | Command::Logs(LogsArgs { state, .. })
            | Command::State(
                StateCommand::List(state)
                | StateCommand::Show { state, .. }
                | StateCommand::Rm { state, .. }
                | StateCommand::Migrate { state, .. }
                | StateCommand::Unlock { state, .. },
            ) => {
                if let Some(file) = state.stack_flag.take() {
                    state.stack = file;
                }
            }
            Command::Deploy(args) => args.normalize(),
            Command::Drift(_)
            | Command::Discover(_)
            | Command::Show { .. }
            | Command::Schema
            | Command::Completions { .. } => {}
        }
    }
}

impl StackArgs {
    fn normalize(&mut self) {
        if let Some(file) = self.stack_flag.take() {
            self.stack = file;
        }
    }
}

/// Arguments of every command that reads a stack.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The stack file.
    #[arg(default_value = "apprun.yaml")]
    pub stack: PathBuf,

    /// The stack file (the same as the positional STACK).
    #[arg(long = "stack", value_name = "FILE", conflicts_with = "stack")]
    pub stack_flag: Option<PathBuf>,

    /// The stack's variables.
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Variables for the stack (for several stacks: every stack gets them).
#[derive(Debug, Clone, Default, Args)]
pub struct VarArgs {
    /// Set a variable: NAME=VALUE (repeatable; wins over --var-file).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Read variables from a YAML file of NAME: VALUE pairs (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

/// Where a stack is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// AWS App Runner (and IAM, ECR, EC2 through the official SDK).
    Aws,
    /// The local Docker Engine.
    Docker,
}

impl From<Target> for apprun_engine::Target {
    fn from(target: Target) -> Self {
        match target {
            Target::Aws => apprun_engine::Target::Aws,
            Target::Docker => apprun_engine::Target::Docker,
        }
    }
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack and its variables.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Where the stack is deployed.
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// Save the plan to FILE, for `apprun apply FILE` (refused later if the state or stack moved on).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this resource and what it depends on (repeatable), like Terraform's -target.
    #[arg(long = "only", value_name = "ADDRESS")]
    pub only: Vec<String>,
    /// Replace this resource even if nothing changed (repeatable), like Terraform's -replace.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Plan the destruction of every resource in state.
    #[arg(long)]
    pub destroy: bool,
    /// Plan against the state alone, without reading the live resources
    /// first (by default a plan reads them, like apply; a stack with
    /// nothing in state needs no call either way).
    #[arg(long, conflicts_with = "refresh")]
    pub no_refresh: bool,
    /// Read the live resources first (the default; kept for scripts).
    #[arg(long, hide = true)]
    pub refresh: bool,
}

/// Arguments of `apply` and `destroy`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The stack file, or a plan file saved with `plan --out`.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Where the stack is deployed.
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many resources may change at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Wait up to this many seconds for the state lock instead of failing at once.
    #[arg(long, value_name = "SECONDS")]
    pub lock_timeout: Option<u64>,
    /// Plan against the state alone, without reading the live resources first.
    #[arg(long)]
    pub no_refresh: bool,
    /// Only this resource and what it depends on (repeatable).
    #[arg(long = "only", value_name = "ADDRESS")]
    pub only: Vec<String>,
    /// Replace this resource even if nothing changed (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

/// Arguments of `drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The stack files to check (default: apprun.yaml); one combined report.
    #[arg(value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
    /// A stack file to check (repeatable; the same as a positional STACK).
    #[arg(long = "stack", value_name = "FILE")]
    pub stack_flags: Vec<PathBuf>,
    /// The target whose state to use.
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// The stack's variables.
    #[command(flatten)]
    pub vars: VarArgs,
    /// Exit 2 when something drifted, 0 when in sync, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

impl DriftArgs {
    /// The stack arguments of each stack to check, in the order given.
    pub fn stack_args(&self) -> Vec<StackArgs> {
        let mut files: Vec<PathBuf> = self
            .stacks
            .iter()
            .chain(&self.stack_flags)
            .cloned()
            .collect();
        if files.is_empty() {
            files.push(PathBuf::from("apprun.yaml"));
        }
        files
            .into_iter()
            .map(|stack| StackArgs {
                stack,
                stack_flag: None,
                vars: self.vars.clone(),
            })
            .collect()
    }
}

/// Which stack's state a command works on.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The stack file (its state lives beside it, under .apprun/, unless
    /// its `state:` says otherwise).
    #[arg(value_name = "STACK", default_value = "apprun.yaml")]
    pub stack: PathBuf,
    /// The stack file (the same as the positional STACK).
    #[arg(long = "stack", value_name = "FILE", conflicts_with = "stack")]
    pub stack_flag: Option<PathBuf>,
    /// The target whose state to use.
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// The stack's variables.
    #[command(flatten)]
    pub vars: VarArgs,
}

impl StateArgs {
    /// The stack arguments these imply.
    pub fn stack_args(&self) -> StackArgs {
        StackArgs {
            stack: self
                .stack_flag
                .clone()
                .unwrap_or_else(|| self.stack.clone()),
            stack_flag: None,
            vars: self.vars.clone(),
        }
    }
}

/// Whether a positional argument names a stack file rather than an address.
fn is_stack_file(text: &str) -> bool {
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| text.ends_with(ext))
}

/// `apprun deploy ADDRESS... [STACK]`
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The services to deploy (`services.web`), then optionally the stack
    /// file (default: apprun.yaml).
    #[arg(value_name = "ADDRESS", required = true)]
    pub addresses: Vec<String>,
    /// The stack file (the same as a trailing STACK).
    #[arg(long = "stack", value_name = "FILE")]
    pub stack_flag: Option<PathBuf>,
    /// The target to deploy on.
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// The stack's variables.
    #[command(flatten)]
    pub vars: VarArgs,
}

impl DeployArgs {
    /// Moves a trailing stack file among the addresses to `--stack`.
    fn normalize(&mut self) {
        if let Some(position) = self.addresses.iter().position(|a| is_stack_file(a)) {
            let file = PathBuf::from(self.addresses.remove(position));
            self.stack_flag.get_or_insert(file);
        }
    }

    /// The state these name.
    pub fn state(&self) -> StateArgs {
        StateArgs {
            stack: self
                .stack_flag
                .clone()
                .unwrap_or_else(|| PathBuf::from("apprun.yaml")),
            stack_flag: None,
            target: self.target,
            vars: self.vars.clone(),
        }
    }
}

/// A `KEY=VALUE` tag filter.
fn parse_tag(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("write KEY=VALUE, not `{text}`")),
    }
}

/// `apprun discover --region R --stack NAME [--out DIR] [filters]`
#[derive(Debug, Clone, Args)]
pub struct DiscoverArgs {
    /// The region to read (default: AWS_REGION, then AWS_DEFAULT_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// The name of the stack to write.
    #[arg(long = "stack", value_name = "NAME")]
    pub stack: String,
    /// The directory to write `apprun.yaml` and its state in.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Only services whose name starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,
    /// Only services with this tag (repeatable: every one).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<String>,
    /// Only this service (repeatable).
    #[arg(long = "service", value_name = "ARN")]
    pub services: Vec<String>,
    /// Take what a Terraform state (format 4) or `terraform show -json`
    /// output manages instead (`-`: standard input), and print the
    /// `removed` blocks that make Terraform forget it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name_prefix", "tags", "services"])]
    pub from_terraform: Option<PathBuf>,
    /// Adopt resources CloudFormation (and so Copilot) manages too.
    #[arg(long)]
    pub include_managed: bool,
    /// Put apprun's ownership tags on what is adopted now, instead of on
    /// the first apply.
    #[arg(long)]
    pub tag_now: bool,
    /// Replace an existing `apprun.yaml` and its state in DIR.
    #[arg(long)]
    pub force: bool,
}

/// `apprun status [STACK]`
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Which state.
    #[command(flatten)]
    pub state: StateArgs,
    /// Exit 2 when a service is not running (or could not be read), 0 when
    /// every one is, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `apprun logs ADDRESS [STACK]`
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The service (`services.web`).
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// Which state.
    #[command(flatten)]
    pub state: StateArgs,
    /// Only events from this long ago: `30s`, `10m`, `2h`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub since: Option<std::time::Duration>,
    /// Keep printing new events until Ctrl-C.
    #[arg(long, short)]
    pub follow: bool,
    /// App Runner's system log of the service (deployments, health checks)
    /// instead of the application's.
    #[arg(long)]
    pub system: bool,
}

/// Parses `30s`, `10m`, `2h`, `1d` (a number and a unit).
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write a number and a unit, e.g. 10m"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit must be s, m, h or d, e.g. 10m")),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(seconds),
    ))
}

/// `apprun state ...`
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in state.
    List(StateArgs),
    /// Show one resource's recorded attributes and outputs (secrets sealed).
    Show {
        /// The resource address, e.g. services.web.
        address: String,
        /// Which state.
        #[command(flatten)]
        state: StateArgs,
    },
    /// Forget a resource without deleting it (it stays in AWS or Docker).
    Rm {
        /// The resource address.
        address: String,
        /// Which state.
        #[command(flatten)]
        state: StateArgs,
    },
    /// Copy the stack's state between its local file and the backend its
    /// `state:` names (S3), keeping lineage and serial.
    Migrate {
        /// Copy the local file (beside the stack) to the configured backend.
        #[arg(
            long,
            required_unless_present = "to_local",
            conflicts_with = "to_local"
        )]
        from_local: bool,
        /// Copy the configured backend's state to the local file.
        #[arg(long)]
        to_local: bool,
        /// Which state.
        #[command(flatten)]
        state: StateArgs,
    },
    /// Remove a lock left by a crashed apply.
    Unlock {
        /// Confirm that the lock's holder is gone.
        #[arg(long)]
        force: bool,
        /// The lock id printed in the lock error.
        lock_id: String,
        /// Which state.
        #[command(flatten)]
        state: StateArgs,
    },
}

/// Arguments of `output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print only this output's value.
    pub name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Which state.
    #[command(flatten)]
    pub state: StateArgs,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs: a stable, versioned JSON document.
    Json,
    /// For pull-request comments (plans; other output falls back to text).
    Markdown,
}

impl From<Format> for apprun_engine::render::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Text => apprun_engine::render::Format::Text,
            Format::Json => apprun_engine::render::Format::Json,
            Format::Markdown => apprun_engine::render::Format::Markdown,
        }
    }
}
