//! The typed stack: what a validated `apprun.yaml` means.
//!
//! Every value keeps the span it was written at. Variables are already
//! substituted; resource references (`${roles.app.arn}`) are kept in the
//! strings and listed in [`Stack::references`]. The JSON Schema of the stack
//! language is generated from these types (see [`crate::json_schema`]), so a
//! field documented here is documented for editors too.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::kind::{Address, Kind};
use crate::span::{Span, Spanned};
use crate::units::{Cpu, Memory};

/// A mapping from names to values that remembers where each name was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SpannedMap<V>(pub BTreeMap<String, Entry<V>>);

/// One entry of a [`SpannedMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<V> {
    /// Where the key was written.
    pub key_span: Span,
    /// The value.
    pub value: V,
}

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<V> SpannedMap<V> {
    /// The entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry<V>)> {
        self.0.iter()
    }

    /// The value for a name.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.get(name).map(|entry| &entry.value)
    }

    /// Whether the name is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for SpannedMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, entry)| (key, &entry.value)))
    }
}

impl<V: JsonSchema> JsonSchema for SpannedMap<V> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let value = generator.subschema_for::<V>();
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": value,
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

/// String-to-string pairs (tags, environment variables).
pub type StringMap = SpannedMap<Spanned<String>>;

/// An apprun stack: everything one `apprun.yaml` declares.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "apprun stack")]
pub struct Stack {
    /// The stack's name: the prefix of every physical name and the key of its
    /// state. 1-32 characters: a letter, then letters, digits and `-`.
    pub stack: Spanned<String>,
    /// The AWS region, e.g. `us-east-1`.
    pub region: Spanned<String>,
    /// Input variables, used as `${var.NAME}` in any string.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub variables: SpannedMap<Variable>,
    /// Tags applied to every resource that supports tags (a resource's own
    /// tags win on conflict).
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
    /// Where state is kept. Default: a local file under `.apprun/` beside the
    /// stack file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateConfig>,
    /// ECR repositories.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub repositories: SpannedMap<Repository>,
    /// IAM roles for App Runner: `access` roles (ECR pull) and `instance`
    /// roles (what the running code may call).
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub roles: SpannedMap<Role>,
    /// App Runner VPC connectors (outbound traffic into a VPC).
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub vpc_connectors: SpannedMap<VpcConnector>,
    /// App Runner auto scaling configurations.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub autoscaling: SpannedMap<AutoScaling>,
    /// App Runner observability configurations (X-Ray tracing).
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub observability: SpannedMap<Observability>,
    /// App Runner connections to GitHub or Bitbucket, for code services.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub connections: SpannedMap<Connection>,
    /// App Runner services.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub services: SpannedMap<Service>,
    /// Custom domains served by a service.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub domains: SpannedMap<Domain>,
    /// VPC ingress connections: how a private service is reached from a VPC.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub vpc_ingress: SpannedMap<VpcIngress>,
    /// Values printed after apply and by `apprun output`.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub outputs: SpannedMap<Output>,
    /// Every `${KIND.NAME.ATTRIBUTE}` reference in the stack, in file order.
    #[serde(skip)]
    #[schemars(skip)]
    pub references: Vec<Reference>,
    /// The field paths whose value is built from a `sensitive: true`
    /// variable (`services.web.env.DB_PASSWORD`, `outputs.dsn.value`):
    /// the engine seals them in plans, state and outputs.
    #[serde(skip)]
    #[schemars(skip)]
    pub sensitive_fields: std::collections::BTreeSet<String>,
}

/// A declared input variable.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Variable {
    /// The value used when none is given with `--var` or `--var-file`.
    /// Without a default the variable is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Spanned<String>>,
    /// What the variable is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Spanned<String>>,
    /// Whether the value is a secret: every value built from it (an `env`
    /// value, a command, an output) is sealed in plans, state, logs and
    /// outputs. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<Spanned<bool>>,
    /// The value in effect (from `--var`, `--var-file` or the default).
    #[serde(skip)]
    #[schemars(skip)]
    pub value: Option<String>,
}

/// Where the stack's state is stored.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StateConfig {
    /// `local` (default) or `s3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Spanned<StateBackend>>,
    /// Local backend: the directory, relative to the stack file. Default `.apprun`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Spanned<String>>,
    /// S3 backend: the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Spanned<String>>,
    /// S3 backend: the object key. Default `apprun/<stack>/<target>.state.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Spanned<String>>,
    /// S3 backend: the bucket's region. Default: the stack's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Spanned<String>>,
}

/// A state backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// A JSON file beside the stack, locked with an OS file lock.
    Local,
    /// An S3 object, locked with a conditional create.
    S3,
}

/// An ECR repository.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Repository {
    /// Physical repository name. Default `<stack>-<key>` in lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// Scan images for vulnerabilities on push. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_on_push: Option<Spanned<bool>>,
    /// `MUTABLE` (default) or `IMMUTABLE` tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability: Option<Spanned<TagMutability>>,
    /// Image expiry rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Delete the repository even if it holds images. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_delete: Option<Spanned<bool>>,
    /// Tags for this repository.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// ECR tag mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TagMutability {
    /// Tags can be moved to another image.
    Mutable,
    /// A tag, once pushed, always names the same image.
    Immutable,
}

/// ECR lifecycle rules, turned into a lifecycle policy.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Lifecycle {
    /// Keep only this many most recent images (1-10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<Spanned<i64>>,
    /// Expire untagged images after this many days (1-3650).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_untagged_after_days: Option<Spanned<i64>>,
}

/// An IAM role for App Runner.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Role {
    /// Physical role name. Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// `access`: trusted by `build.apprunner.amazonaws.com`, gets the ECR pull
    /// policy. `instance`: trusted by `tasks.apprunner.amazonaws.com`, the
    /// identity of the running code.
    pub kind: Spanned<RoleKind>,
    /// Managed policy ARNs and inline policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(default)]
    pub policies: Vec<Policy>,
    /// A description for the IAM console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Spanned<String>>,
    /// Tags for this role.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// What an App Runner role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    /// Lets App Runner pull images from private ECR.
    Access,
    /// The identity of the service's running code.
    Instance,
}

/// A policy attached to a role.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Policy {
    /// A managed policy ARN, e.g. `arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess`.
    Managed(Spanned<String>),
    /// An inline policy.
    Inline(InlinePolicy),
}

/// An inline IAM policy.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InlinePolicy {
    /// The policy's name within the role. Default `inline-<index>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// The policy statements.
    pub statements: Vec<Statement>,
}

/// One IAM policy statement.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Statement {
    /// `Allow` (default) or `Deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<Spanned<Effect>>,
    /// Actions, `service:Action` (wildcards allowed).
    pub actions: Vec<Spanned<String>>,
    /// Resource ARNs (references allowed). Default `["*"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(default)]
    pub resources: Vec<Spanned<String>>,
}

/// An IAM statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Denies the actions.
    Deny,
}

/// An App Runner VPC connector. Immutable: any change replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VpcConnector {
    /// Physical connector name (4-40). Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// Subnet IDs (`subnet-...`), at least one.
    pub subnets: Vec<Spanned<String>>,
    /// Security group IDs (`sg-...`). Default: the VPC's default group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(default)]
    pub security_groups: Vec<Spanned<String>>,
    /// Tags for this connector.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// An App Runner auto scaling configuration. Immutable: a change creates a
/// new revision.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AutoScaling {
    /// Physical configuration name (4-32). Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// Minimum provisioned instances, 1-25. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<Spanned<i64>>,
    /// Maximum instances, 1-25 (higher needs a quota increase). Default 25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size: Option<Spanned<i64>>,
    /// Concurrent requests per instance before scaling out, 1-200. Default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<Spanned<i64>>,
    /// Make this the account's default configuration (the one services
    /// without `autoscaling` get) while the stack has it; removing the flag
    /// or the configuration restores the previous default. At most one per
    /// stack. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Spanned<bool>>,
    /// Tags for this configuration.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// An App Runner observability configuration. Immutable: a change creates
/// a new revision, the services move to it, then the old one is deleted.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Observability {
    /// Physical configuration name (4-32, not `DefaultConfiguration`).
    /// Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// The tracing vendor: `awsxray`. Default: no tracing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Spanned<TracingVendor>>,
    /// Tags for this configuration.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// Tracing vendors of an observability configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TracingVendor {
    /// AWS X-Ray.
    Awsxray,
}

/// An App Runner connection to a source code provider. Created in
/// `PENDING_HANDSHAKE`: a person completes it once in the App Runner
/// console; code services that use it wait for that.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Connection {
    /// Physical connection name (4-32). Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// `GITHUB` or `BITBUCKET`.
    pub provider: Spanned<SourceProvider>,
    /// Tags for this connection.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// Source code providers App Runner connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum SourceProvider {
    /// GitHub.
    GITHUB,
    /// Bitbucket.
    BITBUCKET,
}

/// A custom domain associated with a public service. App Runner only
/// associates and disassociates: any change replaces the association.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Domain {
    /// The service's ARN (`${services.NAME.arn}`).
    pub service: Spanned<String>,
    /// The host name, e.g. `shop.example.com`.
    pub domain: Spanned<String>,
    /// Also serve `www.<domain>`. Default `true` (as App Runner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_www: Option<Spanned<bool>>,
    /// A Route 53 hosted zone ID: apprun writes the certificate validation
    /// records and the domain's CNAME there and waits for the domain to be
    /// active. Without it, apply ends with the domain pending validation and
    /// prints the records to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route53_zone: Option<Spanned<String>>,
}

/// A VPC ingress connection: makes a private service reachable through a
/// VPC interface endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VpcIngress {
    /// Physical connection name (4-40). Default `<stack>-<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// The private service's ARN (`${services.NAME.arn}`). Changing it
    /// replaces the connection.
    pub service: Spanned<String>,
    /// The VPC (`vpc-...`).
    pub vpc: Spanned<String>,
    /// The VPC interface endpoint for App Runner (`vpce-...`).
    pub endpoint: Spanned<String>,
    /// Tags for this connection.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// An App Runner service.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Service {
    /// Physical service name (4-40). Default `<stack>-<key>`. Changing it
    /// replaces the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// Image source: a private ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`,
    /// or `${repositories.NAME.uri}:<tag>`) or ECR Public image, with a tag or digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Spanned<String>>,
    /// Code source: build from a source repository instead of an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeSource>,
    /// Local build (Docker target): build the image from a directory with a
    /// Dockerfile. On AWS, `image` is deployed instead; a service with only
    /// `build` runs on the Docker target only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSource>,
    /// The port the code listens on, 1-65535. Default 8080.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<Spanned<i64>>,
    /// vCPU per instance: `0.25 vCPU`, `0.5 vCPU`, `1 vCPU` (default), `2 vCPU`, `4 vCPU`, or 256-4096 units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Spanned<Cpu>>,
    /// Memory per instance: `0.5 GB` ... `12 GB` (default `2 GB`), or the size in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Spanned<Memory>>,
    /// Command that starts an image service (overrides the image's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Spanned<String>>,
    /// Environment variables. Values are shown in plans unless built from a
    /// `sensitive: true` variable; secret values belong in `secrets`.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub env: StringMap,
    /// Secrets exposed as environment variables: name to Secrets Manager
    /// secret ARN or SSM parameter ARN.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub secrets: StringMap,
    /// How App Runner decides an instance is healthy. Default TCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Deploy automatically when the image tag or branch changes. Default
    /// `true` for private ECR and code, `false` for ECR Public.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_deploy: Option<Spanned<bool>>,
    /// Access role ARN for private ECR (`${roles.NAME.arn}` of an `access` role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_role: Option<Spanned<String>>,
    /// Instance role ARN (`${roles.NAME.arn}` of an `instance` role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_role: Option<Spanned<String>>,
    /// Auto scaling configuration ARN (`${autoscaling.NAME.arn}`). Default:
    /// the account's default configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Spanned<String>>,
    /// VPC connector ARN (`${vpc_connectors.NAME.arn}`): outbound traffic
    /// goes through the VPC. Default: public egress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_connector: Option<Spanned<String>>,
    /// `public` (default) or `private` (reachable only through a VPC
    /// interface endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Spanned<Ingress>>,
    /// `IPV4` (default) or `DUAL_STACK` (public ingress only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<Spanned<IpAddressType>>,
    /// Observability configuration ARN (`${observability.NAME.arn}`, X-Ray
    /// tracing). Default: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observability: Option<Spanned<String>>,
    /// KMS key ARN for encryption at rest. Changing it replaces the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<Spanned<String>>,
    /// Keep the service paused (no compute). Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Spanned<bool>>,
    /// Tags for this service.
    #[serde(skip_serializing_if = "SpannedMap::is_empty")]
    #[schemars(default)]
    pub tags: StringMap,
}

/// Build a service from a source code repository.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CodeSource {
    /// The repository URL, e.g. `https://github.com/org/repo`.
    pub repository: Spanned<String>,
    /// The branch to deploy. Default `main`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<Spanned<String>>,
    /// App Runner connection ARN to the source provider
    /// (`${connections.NAME.arn}`).
    pub connection: Spanned<String>,
    /// Directory within the repository to build from. Default `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_directory: Option<Spanned<String>>,
    /// `api` (default): build settings come from this stack; `repository`:
    /// from `apprunner.yaml` in the repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_source: Option<Spanned<ConfigurationSource>>,
    /// The managed runtime (required when `configuration_source` is `api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Spanned<Runtime>>,
    /// Build command (required when `configuration_source` is `api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_command: Option<Spanned<String>>,
    /// Start command (required when `configuration_source` is `api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Spanned<String>>,
}

/// A local image build for the Docker target.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BuildSource {
    /// The build context directory, relative to the stack file.
    pub context: Spanned<String>,
    /// The Dockerfile, relative to the context. Default `Dockerfile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<Spanned<String>>,
}

/// Where a code service's build settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfigurationSource {
    /// From the stack file.
    Api,
    /// From `apprunner.yaml` in the source repository.
    Repository,
}

/// App Runner managed runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[allow(non_camel_case_types, missing_docs)]
pub enum Runtime {
    PYTHON_3,
    PYTHON_311,
    NODEJS_12,
    NODEJS_14,
    NODEJS_16,
    NODEJS_18,
    CORRETTO_8,
    CORRETTO_11,
    GO_1,
    DOTNET_6,
    PHP_81,
    RUBY_31,
}

/// A service health check.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HealthCheck {
    /// `TCP` (default) or `HTTP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Spanned<HealthProtocol>>,
    /// HTTP path, starting with `/`. Default `/`. Only for `HTTP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Spanned<String>>,
    /// Seconds between checks, 1-20. Default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Spanned<i64>>,
    /// Seconds before a check fails, 1-20. Default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<i64>>,
    /// Consecutive successes to become healthy, 1-20. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<Spanned<i64>>,
    /// Consecutive failures to become unhealthy, 1-20. Default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<Spanned<i64>>,
}

/// Health check protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum HealthProtocol {
    /// A TCP connect to the port.
    TCP,
    /// An HTTP GET of `path`, expecting 2xx.
    HTTP,
}

/// Who can reach a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ingress {
    /// Reachable from the internet.
    Public,
    /// Reachable only through a VPC interface endpoint.
    Private,
}

/// IP address types of a service's public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[allow(non_camel_case_types)]
pub enum IpAddressType {
    /// IPv4 only.
    IPV4,
    /// IPv4 and IPv6 (public ingress only).
    DUAL_STACK,
}

/// A stack output.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Output {
    /// The value, usually a reference such as `${services.web.url}`.
    pub value: Spanned<String>,
    /// What the output is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Spanned<String>>,
    /// Hide the value in plan and apply output. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<Spanned<bool>>,
}

/// A `${KIND.NAME.ATTRIBUTE}` reference: a dependency edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The resource whose field contains the reference; `None` for outputs
    /// and stack-level values.
    pub from: Option<Address>,
    /// The field path it was found at, e.g. `services.web.env.API_URL`.
    pub field: String,
    /// The referenced resource.
    pub to: Address,
    /// The referenced attribute, e.g. `arn`.
    pub attribute: String,
    /// Where the `${...}` is written.
    pub span: Span,
}

impl Stack {
    /// The physical name of a resource: its `name`, or `<stack>-<key>`.
    pub fn physical_name(&self, address: &Address) -> Option<String> {
        let explicit = match address.kind {
            Kind::Repository => self.repositories.get(&address.name).map(|r| &r.name),
            Kind::Role => self.roles.get(&address.name).map(|r| &r.name),
            Kind::VpcConnector => self.vpc_connectors.get(&address.name).map(|r| &r.name),
            Kind::AutoScaling => self.autoscaling.get(&address.name).map(|r| &r.name),
            Kind::Observability => self.observability.get(&address.name).map(|r| &r.name),
            Kind::Connection => self.connections.get(&address.name).map(|r| &r.name),
            Kind::Service => self.services.get(&address.name).map(|r| &r.name),
            Kind::VpcIngress => self.vpc_ingress.get(&address.name).map(|r| &r.name),
            // A custom domain is named by its host name.
            Kind::Domain => {
                return self
                    .domains
                    .get(&address.name)
                    .map(|d| d.domain.value.clone());
            }
        }?;
        Some(match explicit {
            Some(name) => name.value.clone(),
            None => address
                .kind
                .default_physical_name(&self.stack.value, &address.name),
        })
    }

    /// Every resource address the stack declares, in kind then name order.
    pub fn addresses(&self) -> Vec<Address> {
        fn of<V>(kind: Kind, map: &SpannedMap<V>) -> impl Iterator<Item = Address> + '_ {
            map.keys().map(move |name| Address::new(kind, name))
        }
        of(Kind::Repository, &self.repositories)
            .chain(of(Kind::Role, &self.roles))
            .chain(of(Kind::VpcConnector, &self.vpc_connectors))
            .chain(of(Kind::AutoScaling, &self.autoscaling))
            .chain(of(Kind::Observability, &self.observability))
            .chain(of(Kind::Connection, &self.connections))
            .chain(of(Kind::Service, &self.services))
            .chain(of(Kind::Domain, &self.domains))
            .chain(of(Kind::VpcIngress, &self.vpc_ingress))
            .collect()
    }

    /// Where a resource's key is written.
    pub fn key_span(&self, address: &Address) -> Option<Span> {
        fn span<V>(map: &SpannedMap<V>, name: &str) -> Option<Span> {
            map.0.get(name).map(|entry| entry.key_span)
        }
        match address.kind {
            Kind::Repository => span(&self.repositories, &address.name),
            Kind::Role => span(&self.roles, &address.name),
            Kind::VpcConnector => span(&self.vpc_connectors, &address.name),
            Kind::AutoScaling => span(&self.autoscaling, &address.name),
            Kind::Observability => span(&self.observability, &address.name),
            Kind::Connection => span(&self.connections, &address.name),
            Kind::Service => span(&self.services, &address.name),
            Kind::Domain => span(&self.domains, &address.name),
            Kind::VpcIngress => span(&self.vpc_ingress, &address.name),
        }
    }
}
