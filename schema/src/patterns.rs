//! The API's naming and identifier rules, as anchored regular expressions.
//!
//! The upstream patterns are unanchored alternations (APPRUNNER.md); these
//! are anchored so a valid prefix cannot smuggle in a bad suffix.

use std::sync::OnceLock;

use regex::Regex;

/// A rule: a pattern plus the words used to explain it.
pub struct Rule {
    /// What the rule is for ("App Runner service name").
    pub what: &'static str,
    /// The anchored pattern.
    pub pattern: &'static str,
    /// The rule in words, for help text.
    pub help: &'static str,
    regex: OnceLock<Option<Regex>>,
}

impl Rule {
    const fn new(what: &'static str, pattern: &'static str, help: &'static str) -> Self {
        Self {
            what,
            pattern,
            help,
            regex: OnceLock::new(),
        }
    }

    /// Whether `text` follows the rule. (A pattern that fails to compile
    /// matches nothing; a unit test proves every pattern compiles.)
    pub fn matches(&self, text: &str) -> bool {
        self.regex
            .get_or_init(|| Regex::new(self.pattern).ok())
            .as_ref()
            .is_some_and(|regex| regex.is_match(text))
    }
}

macro_rules! rules {
    ($($name:ident = ($what:literal, $pattern:literal, $help:literal);)+) => {
        $(
            #[doc = concat!("Rule: ", $what, ".")]
            pub static $name: Rule = Rule::new($what, $pattern, $help);
        )+
        /// Every rule, for the test that they all compile.
        pub fn all() -> Vec<&'static Rule> {
            vec![$(&$name),+]
        }
    };
}

rules! {
    STACK_NAME = ("stack name", r"^[A-Za-z][A-Za-z0-9-]{0,31}$",
        "1-32 characters: a letter, then letters, digits and `-`");
    LOGICAL_NAME = ("resource key", r"^[A-Za-z][A-Za-z0-9_-]{0,62}$",
        "1-63 characters: a letter, then letters, digits, `-` and `_` (it appears in addresses and `${...}` references)");
    REGION = ("AWS region", r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$",
        "an AWS region code such as `us-east-1` or `eu-west-3`");
    SERVICE_NAME = ("App Runner service name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$",
        "4-40 characters: a letter or digit, then letters, digits, `-` and `_`");
    VPC_CONNECTOR_NAME = ("VPC connector name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$",
        "4-40 characters: a letter or digit, then letters, digits, `-` and `_`");
    AUTOSCALING_NAME = ("auto scaling configuration name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,31}$",
        "4-32 characters: a letter or digit, then letters, digits, `-` and `_`");
    OBSERVABILITY_NAME = ("observability configuration name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,31}$",
        "4-32 characters: a letter or digit, then letters, digits, `-` and `_` (not `DefaultConfiguration`)");
    CONNECTION_NAME = ("App Runner connection name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,31}$",
        "4-32 characters: a letter or digit, then letters, digits, `-` and `_`");
    VPC_INGRESS_NAME = ("VPC ingress connection name", r"^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$",
        "4-40 characters: a letter or digit, then letters, digits, `-` and `_`");
    HOSTNAME = ("domain name", r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
        "a lower-case host name such as `shop.example.com` (no scheme, port, path or trailing dot)");
    VPC_ID = ("VPC ID", r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$",
        "`vpc-` followed by 8 or 17 hex digits, e.g. `vpc-0123456789abcdef0`");
    VPC_ENDPOINT_ID = ("VPC endpoint ID", r"^vpce-([0-9a-f]{8}|[0-9a-f]{17})$",
        "`vpce-` followed by 8 or 17 hex digits, e.g. `vpce-0123456789abcdef0`");
    HOSTED_ZONE_ID = ("Route 53 hosted zone ID", r"^[A-Z0-9]{1,32}$",
        "a hosted zone ID such as `Z0123456789ABCDEFGHIJ` (upper-case letters and digits, without `/hostedzone/`)");
    ROLE_NAME = ("IAM role name", r"^[A-Za-z0-9+=,.@_-]{1,64}$",
        "1-64 characters: letters, digits and `+=,.@_-`");
    REPOSITORY_NAME = ("ECR repository name", r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$",
        "2-256 characters: lower-case letters and digits, separated by single `.`, `_`, `-` or `/`");
    ROLE_ARN = ("IAM role ARN", r"^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):iam::[0-9]{12}:(role|role/service-role)/[A-Za-z0-9+=,.@_/-]{1,1000}$",
        "arn:aws:iam::111122223333:role/my-role");
    MANAGED_POLICY_ARN = ("managed policy ARN", r"^arn:aws(-[a-z-]+)?:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]{1,1000}$",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    SECRET_ARN = ("Secrets Manager secret or SSM parameter ARN", r"^arn:aws(-[a-z-]+)?:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(:[A-Za-z0-9_+=.@-]*){0,3}|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-password-AbCdEf");
    KMS_KEY_ARN = ("KMS key ARN", r"^arn:aws(-[a-z-]+)?:kms:[a-z-]+-[0-9]:[0-9]{12}:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    AUTOSCALING_ARN = ("auto scaling configuration ARN", r"^arn:aws(-[a-z-]+)?:apprunner:[a-z0-9-]+:[0-9]{12}:autoscalingconfiguration/[A-Za-z0-9][A-Za-z0-9_-]{3,31}(/[0-9]+(/[0-9a-f]{32})?)?$",
        "arn:aws:apprunner:us-east-1:111122223333:autoscalingconfiguration/high-traffic/1/0123456789abcdef0123456789abcdef");
    VPC_CONNECTOR_ARN = ("VPC connector ARN", r"^arn:aws(-[a-z-]+)?:apprunner:[a-z0-9-]+:[0-9]{12}:vpcconnector/[A-Za-z0-9][A-Za-z0-9_-]{3,39}/[0-9]+/[0-9a-f]{32}$",
        "arn:aws:apprunner:us-east-1:111122223333:vpcconnector/my-connector/1/0123456789abcdef0123456789abcdef");
    OBSERVABILITY_ARN = ("observability configuration ARN", r"^arn:aws(-[a-z-]+)?:apprunner:[a-z0-9-]+:[0-9]{12}:observabilityconfiguration/[A-Za-z0-9][A-Za-z0-9_-]{3,31}(/[0-9]+(/[0-9a-f]{32})?)?$",
        "arn:aws:apprunner:us-east-1:111122223333:observabilityconfiguration/tracing/1/0123456789abcdef0123456789abcdef");
    CONNECTION_ARN = ("App Runner connection ARN", r"^arn:aws(-[a-z-]+)?:apprunner:[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9][A-Za-z0-9_-]{3,31}/[0-9a-f]{32}$",
        "arn:aws:apprunner:us-east-1:111122223333:connection/github/0123456789abcdef0123456789abcdef");
    SERVICE_ARN = ("App Runner service ARN", r"^arn:aws(-[a-z-]+)?:apprunner:[a-z0-9-]+:[0-9]{12}:service/[A-Za-z0-9][A-Za-z0-9_-]{3,39}/[0-9a-f]{32}$",
        "arn:aws:apprunner:us-east-1:111122223333:service/web/0123456789abcdef0123456789abcdef");
    IMAGE = ("image identifier", r"^(([0-9]{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*|public\.ecr\.aws/[a-z0-9._-]+/(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$",
        "`111122223333.dkr.ecr.us-east-1.amazonaws.com/web:v1`, `public.ecr.aws/nginx/nginx:latest`, or `${repositories.NAME.uri}:v1`");
    IMAGE_TAG_SUFFIX = ("image tag or digest", r"^(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$",
        "`:TAG` (letters, digits, `_.-`, at most 128) or `@sha256:<64 hex digits>`");
    SUBNET_ID = ("subnet ID", r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$",
        "`subnet-` followed by 8 or 17 hex digits, e.g. `subnet-0123456789abcdef0`");
    SECURITY_GROUP_ID = ("security group ID", r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$",
        "`sg-` followed by 8 or 17 hex digits, e.g. `sg-0123456789abcdef0`");
    IAM_ACTION = ("IAM action", r"^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$",
        "`service:Action`, wildcards allowed, e.g. `sqs:SendMessage` or `s3:Get*`");
    IAM_RESOURCE = ("IAM resource", r"^(\*|arn:[^\s]+)$",
        "`*` or an ARN");
    SOURCE_REPOSITORY = ("source repository URL", r"^https://(github\.com|bitbucket\.org)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/?$",
        "`https://github.com/ORG/REPO` or `https://bitbucket.org/ORG/REPO`");
    ENV_NAME = ("environment variable name", r"^[A-Za-z_][A-Za-z0-9_]*$",
        "a letter or `_`, then letters, digits and `_` (`[A-Za-z_][A-Za-z0-9_]*`), e.g. `DATABASE_URL`");
    SINGLE_LINE = ("command", r"^[^\n\r]+$",
        "a single line");
    HEALTH_PATH = ("health check path", r"^/[^\s]*$",
        "an absolute HTTP path such as `/health`");
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        for rule in super::all() {
            assert!(regex::Regex::new(rule.pattern).is_ok(), "{}", rule.what);
        }
    }

    #[test]
    fn samples_match() {
        use super::*;
        assert!(SERVICE_NAME.matches("shop-web"));
        assert!(!SERVICE_NAME.matches("web"));
        assert!(IMAGE.matches("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1"));
        assert!(IMAGE.matches("public.ecr.aws/aws-containers/hello-app-runner:latest"));
        assert!(!IMAGE.matches("111122223333.dkr.ecr.us-east-1.amazonaws.com/web"));
        assert!(ROLE_ARN.matches("arn:aws:iam::111122223333:role/app"));
        assert!(SECRET_ARN.matches("arn:aws:secretsmanager:us-east-1:111122223333:secret:db"));
        assert!(SECRET_ARN.matches("arn:aws:ssm:us-east-1:111122223333:parameter/app/db"));
        assert!(REGION.matches("us-east-1") && REGION.matches("us-gov-west-1"));
        assert!(ENV_NAME.matches("DATABASE_URL") && ENV_NAME.matches("_x1"));
        for bad in ["", "A=B", "A B", "A\0B", "1A", "A-B", "A\nB"] {
            assert!(!ENV_NAME.matches(bad), "{bad:?}");
        }
    }
}
