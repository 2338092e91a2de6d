//! Every problem the stack language can report, one variant per rule.
//!
//! Each variant has a stable code (`schema::<rule>`), a one-line message, a
//! label on the offending span and, where a fix is known, help text. Codes
//! are an API: CI jobs match on them, so never rename one.

use miette::{Diagnostic, LabeledSpan, SourceSpan};
use thiserror::Error;

/// A problem found in a stack file.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
#[non_exhaustive]
pub enum SchemaError {
    /// The text is not valid YAML.
    #[error("invalid YAML: {message}")]
    #[diagnostic(
        code(schema::yaml_syntax),
        help("fix the YAML syntax at the marked position")
    )]
    YamlSyntax {
        /// The parser's description.
        message: String,
        /// Where the parser stopped.
        #[label("here")]
        span: SourceSpan,
    },

    /// The document exceeds a safety limit (size, aliases, nesting).
    #[error("stack file rejected: {message}")]
    #[diagnostic(
        code(schema::limit_exceeded),
        help("stack files are small, plain YAML; remove deep nesting and alias chains")
    )]
    LimitExceeded {
        /// Which limit, in words.
        message: String,
        /// Where the limit was hit.
        #[label("limit reached here")]
        span: SourceSpan,
    },

    /// A key that this part of the stack does not define.
    #[error("unknown key `{key}` in {context}")]
    #[diagnostic(code(schema::unknown_key), help("{help}"))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// What it was found in ("service `web`").
        context: String,
        /// A "did you mean" or the list of valid keys.
        help: String,
        /// The key.
        #[label("not a key of {context}")]
        span: SourceSpan,
    },

    /// A value of the wrong type.
    #[error("{field} must be {expected}, found {found}")]
    #[diagnostic(code(schema::wrong_type), help("{help}"))]
    WrongType {
        /// The field, as a path ("services.web.port").
        field: String,
        /// What was expected ("an integer").
        expected: String,
        /// What was found ("a string").
        found: String,
        /// How to write it.
        help: String,
        /// The value.
        #[label("expected {expected}")]
        span: SourceSpan,
    },

    /// A required field is absent.
    #[error("missing required field `{field}` in {context}")]
    #[diagnostic(code(schema::missing_field), help("{help}"))]
    MissingField {
        /// The missing key.
        field: String,
        /// Where it is required ("service `web`").
        context: String,
        /// An example of the field.
        help: String,
        /// The mapping that lacks it (its key).
        #[label("`{field}` is required here")]
        span: SourceSpan,
    },

    /// A value outside a fixed set.
    #[error("invalid value `{value}` for {field}")]
    #[diagnostic(code(schema::invalid_value), help("{help}"))]
    InvalidValue {
        /// The field path.
        field: String,
        /// The value as written.
        value: String,
        /// The allowed values, or a did-you-mean.
        help: String,
        /// The value.
        #[label("not allowed here")]
        span: SourceSpan,
    },

    /// Two fields that cannot be used together.
    #[error("{context} sets both `{first}` and `{second}`")]
    #[diagnostic(code(schema::conflicting_fields), help("{help}"))]
    ConflictingFields {
        /// Where.
        context: String,
        /// The first field.
        first: String,
        /// The second field.
        second: String,
        /// Which to keep.
        help: String,
        /// The first field's key.
        #[label("`{first}` set here")]
        first_span: SourceSpan,
        /// The second field's key.
        #[label("conflicts with `{second}` here")]
        second_span: SourceSpan,
    },

    /// A service with neither an image nor a code source.
    #[error("service `{service}` has no source: set `image`, `code` or `build`")]
    #[diagnostic(
        code(schema::missing_source),
        help(
            "add `image: <ECR image URI>:<tag>` or a `code:` block with `repository` and `connection`"
        )
    )]
    MissingSource {
        /// The service's logical name.
        service: String,
        /// The service's key.
        #[label("this service needs `image`, `code` or `build`")]
        span: SourceSpan,
    },

    /// A service with only `build:` (a local Dockerfile build, which only
    /// the Docker target makes), planned for the AWS target.
    #[error(
        "service `{service}` has no `image` to deploy on AWS: `build` is built only by the Docker target"
    )]
    #[diagnostic(
        code(schema::image_needed_on_aws),
        help(
            "add `image: <ECR image URI>:<tag>` (for example `${{repositories.NAME.uri}}:v1`, pushed by your CI) or a `code:` block; `build` stays for the Docker target. Or use `--target docker`"
        )
    )]
    ImageNeededOnAws {
        /// The service's logical name.
        service: String,
        /// The service's key.
        #[label("only `build` here; the AWS target deploys `image` or `code`")]
        span: SourceSpan,
    },

    /// A resource, stack or output name that breaks the API's naming rule.
    #[error("invalid {what} `{name}`: {reason}")]
    #[diagnostic(code(schema::invalid_name), help("{help}"))]
    InvalidName {
        /// What is named ("App Runner service name").
        what: String,
        /// The name (after defaults and variables).
        name: String,
        /// The broken rule.
        reason: String,
        /// The rule in full.
        help: String,
        /// The name, or the key it is derived from.
        #[label("{reason}")]
        span: SourceSpan,
    },

    /// Two resources of one kind end up with the same physical name.
    #[error("duplicate {what} `{name}`")]
    #[diagnostic(
        code(schema::duplicate_name),
        help(
            "physical names must be unique within a kind; set a distinct `name`, or check the variables the names derive from"
        )
    )]
    DuplicateName {
        /// What is named.
        what: String,
        /// The clashing name, after variable substitution.
        name: String,
        /// The second use.
        #[label("`{name}` again here")]
        span: SourceSpan,
        /// The first use.
        #[label("first used here")]
        first_span: SourceSpan,
    },

    /// A cpu value App Runner does not offer.
    #[error("invalid cpu `{value}`")]
    #[diagnostic(
        code(schema::invalid_cpu),
        help(
            "use one of `0.25 vCPU`, `0.5 vCPU`, `1 vCPU`, `2 vCPU`, `4 vCPU` (or 256, 512, 1024, 2048, 4096 cpu units)"
        )
    )]
    InvalidCpu {
        /// The value as written.
        value: String,
        /// The value.
        #[label("not an App Runner cpu size")]
        span: SourceSpan,
    },

    /// A memory value App Runner does not offer.
    #[error("invalid memory `{value}`")]
    #[diagnostic(
        code(schema::invalid_memory),
        help(
            "use one of `0.5 GB`, `1 GB`, `2 GB`, `3 GB`, `4 GB`, `6 GB`, `8 GB`, `10 GB`, `12 GB` (or the size in MB: 512 ... 12288)"
        )
    )]
    InvalidMemory {
        /// The value as written.
        value: String,
        /// The value.
        #[label("not an App Runner memory size")]
        span: SourceSpan,
    },

    /// A cpu and memory pair App Runner rejects.
    #[error("memory {memory} cannot be combined with cpu {cpu}")]
    #[diagnostic(
        code(schema::cpu_memory_mismatch),
        help("with {cpu}, memory must be one of: {allowed}")
    )]
    CpuMemoryMismatch {
        /// The cpu in vCPU words.
        cpu: String,
        /// The memory in GB words.
        memory: String,
        /// The memory sizes allowed with this cpu.
        allowed: String,
        /// The memory value.
        #[label("not allowed with {cpu}")]
        span: SourceSpan,
        /// The cpu value (absent when the default applies).
        #[label("cpu set here")]
        cpu_span: Option<SourceSpan>,
    },

    /// A number outside the range the API accepts.
    #[error("{field} must be between {min} and {max}, found {value}")]
    #[diagnostic(code(schema::out_of_range), help("{help}"))]
    OutOfRange {
        /// The field path.
        field: String,
        /// The value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
        /// Where the limit comes from.
        help: String,
        /// The value.
        #[label("out of range")]
        span: SourceSpan,
    },

    /// A minimum larger than its maximum.
    #[error("{context}: min_size ({min}) is larger than max_size ({max})")]
    #[diagnostic(code(schema::min_exceeds_max), help("set min_size <= max_size"))]
    MinExceedsMax {
        /// Where.
        context: String,
        /// The minimum.
        min: i64,
        /// The maximum.
        max: i64,
        /// The minimum's value.
        #[label("min_size {min}")]
        min_span: SourceSpan,
        /// The maximum's value.
        #[label("max_size {max}")]
        max_span: SourceSpan,
    },

    /// More than one auto scaling configuration marked `default: true`.
    #[error("two auto scaling configurations are marked `default: true`")]
    #[diagnostic(
        code(schema::two_default_autoscaling),
        help(
            "an account has one default auto scaling configuration: keep `default: true` on one of them"
        )
    )]
    TwoDefaults {
        /// The second `default: true`.
        #[label("a second default")]
        span: SourceSpan,
        /// The first one.
        #[label("first default")]
        first_span: SourceSpan,
    },

    /// A list that must not be empty.
    #[error("{field} must list at least one entry")]
    #[diagnostic(code(schema::empty_list), help("{help}"))]
    EmptyList {
        /// The field path.
        field: String,
        /// What to put there.
        help: String,
        /// The list.
        #[label("empty")]
        span: SourceSpan,
    },

    /// A value that must be an ARN of a given shape and is not.
    #[error("{field} is not a valid {expected}: `{value}`")]
    #[diagnostic(code(schema::invalid_arn), help("expected the form `{example}`"))]
    InvalidArn {
        /// The field path.
        field: String,
        /// What kind of ARN ("IAM role ARN").
        expected: String,
        /// The value.
        value: String,
        /// An example of the right form.
        example: String,
        /// The value.
        #[label("not a {expected}")]
        span: SourceSpan,
    },

    /// A malformed identifier: image URI, subnet, security group, URL...
    #[error("{field} is not a valid {expected}: `{value}`")]
    #[diagnostic(code(schema::invalid_format), help("{help}"))]
    InvalidFormat {
        /// The field path.
        field: String,
        /// What the value should be.
        expected: String,
        /// The value.
        value: String,
        /// The expected form.
        help: String,
        /// The value.
        #[label("not a valid {expected}")]
        span: SourceSpan,
    },

    /// An image that names a repository of this stack but no tag or digest.
    #[error("image `{value}` has no tag or digest")]
    #[diagnostic(
        code(schema::image_missing_tag),
        help(
            "append a tag or digest, e.g. `{value}:v1` or `{value}@sha256:<digest>`; App Runner never guesses `latest` for you"
        )
    )]
    ImageMissingTag {
        /// The image as written.
        value: String,
        /// The image.
        #[label("tag missing")]
        span: SourceSpan,
    },

    /// A tag key or value the API refuses.
    #[error("invalid tag `{key}`: {reason}")]
    #[diagnostic(
        code(schema::invalid_tag),
        help(
            "tag keys are 1-128 characters and must not start with `aws:`; values are at most 256 characters"
        )
    )]
    InvalidTag {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
        /// The key or value.
        #[label("{reason}")]
        span: SourceSpan,
    },

    /// An environment variable or secret name the API refuses.
    #[error("invalid {what} name `{name}`: {reason}")]
    #[diagnostic(code(schema::invalid_env_name), help("{help}"))]
    InvalidEnvName {
        /// "environment variable" or "secret".
        what: String,
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
        /// The rule.
        help: String,
        /// The name.
        #[label("{reason}")]
        span: SourceSpan,
    },

    /// A `build` path (context or Dockerfile) that leaves the stack's folder.
    #[error("{field} `{path}` is outside the stack's folder: {reason}")]
    #[diagnostic(code(schema::path_outside_stack), help("{help}"))]
    PathOutsideStack {
        /// The field, e.g. `services.web.build.context`.
        field: String,
        /// The path as written.
        path: String,
        /// Why it is outside (absolute, `..`, a symbolic link).
        reason: String,
        /// What to do.
        help: String,
        /// The path's value.
        #[label("{reason}")]
        span: SourceSpan,
    },

    /// Two settings that App Runner does not allow together.
    #[error("{message}")]
    #[diagnostic(code(schema::incompatible_settings), help("{help}"))]
    IncompatibleSettings {
        /// What is incompatible.
        message: String,
        /// How to fix it.
        help: String,
        /// The setting that cannot apply.
        #[label("{label}")]
        span: SourceSpan,
        /// The label text.
        label: String,
    },

    /// A malformed `${...}` expression.
    #[error("invalid expression `{text}`: {reason}")]
    #[diagnostic(
        code(schema::invalid_expression),
        help(
            "write `${{var.NAME}}` for a variable or `${{KIND.NAME.ATTRIBUTE}}` for a resource attribute (e.g. `${{roles.app.arn}}`); write `$${{` for a literal `${{`"
        )
    )]
    InvalidExpression {
        /// The expression text.
        text: String,
        /// What is wrong.
        reason: String,
        /// The expression.
        #[label("{reason}")]
        span: SourceSpan,
    },

    /// A reference to a kind that does not exist.
    #[error("unknown resource kind `{kind}` in reference")]
    #[diagnostic(code(schema::unknown_kind), help("{help}"))]
    UnknownKind {
        /// The kind as written.
        kind: String,
        /// The valid kinds, or a did-you-mean.
        help: String,
        /// The reference.
        #[label("no such kind")]
        span: SourceSpan,
    },

    /// A reference to a resource that the stack does not define.
    #[error("reference to undefined resource `{address}`")]
    #[diagnostic(code(schema::unknown_reference), help("{help}"))]
    UnknownReference {
        /// The address as written (`roles.app`).
        address: String,
        /// A did-you-mean or the defined names.
        help: String,
        /// The reference.
        #[label("`{address}` is not defined in this stack")]
        span: SourceSpan,
    },

    /// A reference to an attribute that the kind does not export.
    #[error("`{kind}` resources have no attribute `{attribute}`")]
    #[diagnostic(code(schema::unknown_attribute), help("{kind} export: {allowed}"))]
    UnknownAttribute {
        /// The kind section name.
        kind: String,
        /// The attribute as written.
        attribute: String,
        /// The attributes this kind exports.
        allowed: String,
        /// The reference.
        #[label("unknown attribute")]
        span: SourceSpan,
    },

    /// A reference to the wrong kind of thing for this field.
    #[error("{field} must refer to {expected}, but `{reference}` is {found}")]
    #[diagnostic(code(schema::wrong_reference), help("{help}"))]
    WrongReference {
        /// The field path.
        field: String,
        /// What the field needs.
        expected: String,
        /// The reference as written.
        reference: String,
        /// What it refers to.
        found: String,
        /// How to fix it.
        help: String,
        /// The reference.
        #[label("refers to {found}")]
        span: SourceSpan,
    },

    /// A `${var.NAME}` whose variable is not declared.
    #[error("undefined variable `{name}`")]
    #[diagnostic(code(schema::undefined_variable), help("{help}"))]
    UndefinedVariable {
        /// The variable name.
        name: String,
        /// A did-you-mean, or how to declare it.
        help: String,
        /// The use.
        #[label("not declared under `variables`")]
        span: SourceSpan,
    },

    /// A `sensitive: true` variable used where its value cannot be sealed.
    #[error("sensitive variable `{name}` cannot be used in {field}")]
    #[diagnostic(
        code(schema::sensitive_variable_here),
        help(
            "a sensitive variable may be used only in `env` values, `start_command`, `code.build_command`, `code.start_command` and `outputs`, where apprun seals it; use a variable without `sensitive: true` here"
        )
    )]
    SensitiveVariableHere {
        /// The variable name.
        name: String,
        /// The field it is used in.
        field: String,
        /// The use.
        #[label("a sensitive value cannot be sealed here")]
        span: SourceSpan,
    },

    /// A declared variable without a default that was given no value.
    #[error("variable `{name}` has no value")]
    #[diagnostic(
        code(schema::missing_variable),
        help(
            "pass `--var {name}=VALUE`, put `{name}: VALUE` in a `--var-file`, or give it a `default`"
        )
    )]
    MissingVariable {
        /// The variable name.
        name: String,
        /// The declaration.
        #[label("declared here without a default")]
        span: SourceSpan,
    },

    /// A value given on the command line for a variable the stack does not declare.
    #[error("value given for undeclared variable `{name}`")]
    #[diagnostic(code(schema::undeclared_variable), help("{help}"))]
    UndeclaredVariable {
        /// The variable name.
        name: String,
        /// Where the value came from and what to do.
        help: String,
        /// The stack's `variables` section, if any.
        #[label("declare `{name}` here")]
        span: Option<SourceSpan>,
    },

    /// Resources that depend on each other in a circle.
    #[error("dependency cycle: {cycle}")]
    #[diagnostic(
        code(schema::cycle),
        help(
            "break the cycle: one of these references must go, e.g. pass the value through a variable"
        )
    )]
    Cycle {
        /// The cycle, written `a -> b -> a`.
        cycle: String,
        /// One label per reference that closes the circle.
        #[label(collection)]
        references: Vec<LabeledSpan>,
    },
}

impl SchemaError {
    /// The stable code of this diagnostic (e.g. `schema::unknown_key`).
    pub fn code_str(&self) -> String {
        self.code().map(|code| code.to_string()).unwrap_or_default()
    }
}
