//! Input validation written from the App Runner API model (lengths, anchored
//! patterns, ranges, enums), plus the rules only the service enforces (the
//! CPU/memory pairs). Messages follow the service's
//! `N validation error(s) detected: Value '…' at 'member' failed to satisfy
//! constraint: …` form; sensitive members are named, their values never shown.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::ApiError;

/// Compiles one of the emulator's constant validation patterns.
pub(crate) fn re(pattern: &str) -> Regex {
    // The patterns are constants of the emulator (never client input), and
    // `every_pattern_compiles` compiles every one of them (here and in the
    // modules that keep their own).
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("validation patterns are valid regexes")
}

pub(crate) static SERVICE_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9\-_]{3,39}$"));
pub(crate) static SHORT_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9\-_]{3,31}$"));
pub(crate) static VPC_CONNECTOR_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9\-_]{3,39}$"));
pub(crate) static RESOURCE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^arn:aws(-[A-Za-z0-9_]+)*:[a-z0-9\-\\.]{0,63}:[a-z0-9\-\\.]{0,63}:[0-9]{12}:[A-Za-z0-9_/\-]+$",
    )
});
pub(crate) static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):iam::[0-9]{12}:(role|role/service-role)/[A-Za-z0-9_+=,.@\-/]+$",
    )
});
pub(crate) static KMS_KEY_ARN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^arn:aws(-[A-Za-z0-9_]+)*:kms:[a-z\-]+-[0-9]{1}:[0-9]{12}:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    )
});
pub(crate) static PRIVATE_ECR_IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[0-9]{12}\.dkr\.ecr\.[a-z\-]+-[0-9]{1}\.amazonaws\.com/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:([A-Za-z0-9_+\-=._:/@])+|@([A-Za-z0-9_:]+))?$",
    )
});
pub(crate) static PUBLIC_ECR_IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^public\.ecr\.aws/.+/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:([A-Za-z0-9_+\-=._:/@])+|@([A-Za-z0-9_:]+))?$",
    )
});
static CPU: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(256|512|1024|2048|4096|(0\.25|0\.5|1|2|4) vCPU)$"));
static MEMORY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(512|1024|2048|3072|4096|6144|8192|10240|12288|(0\.5|1|2|3|4|6|8|10|12) GB)$")
});
static NO_NEWLINE: LazyLock<Regex> = LazyLock::new(|| re(r"^[^\n\r]+$"));
pub(crate) static SUBNET_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^subnet-[0-9a-f]{8,17}$"));
pub(crate) static SECURITY_GROUP_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^sg-[0-9a-f]{8,17}$"));

/// The runtimes of the model's `Runtime` enum.
pub(crate) const RUNTIMES: &[&str] = &[
    "PYTHON_3",
    "NODEJS_12",
    "NODEJS_14",
    "CORRETTO_8",
    "CORRETTO_11",
    "NODEJS_16",
    "GO_1",
    "DOTNET_6",
    "PHP_81",
    "RUBY_31",
    "PYTHON_311",
    "NODEJS_18",
    "NODEJS_22",
];

/// Collects every violation of one request, then fails with all of them.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("'{}'", truncate(v)),
            None => "null".to_owned(),
        };
        self.0.push(format!(
            "Value {shown} at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records a violation of a sensitive member: the value is never shown.
    fn push_sensitive(&mut self, member: &str, constraint: &str) {
        self.0.push(format!(
            "Value '***' at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records a violation of a constraint the model states in words.
    pub(crate) fn constraint(&mut self, value: &str, member: &str, constraint: &str) {
        self.push(Some(value), member, constraint);
    }

    /// The member must be present.
    pub(crate) fn required<T>(&mut self, value: Option<&T>, member: &str) -> bool {
        if value.is_none() {
            self.push(None, member, "Member must not be null");
            return false;
        }
        true
    }

    /// Length bounds (in characters) of a non-sensitive string.
    pub(crate) fn length(&mut self, value: &str, member: &str, min: usize, max: usize) -> bool {
        let n = value.chars().count();
        if n < min {
            self.push(
                Some(value),
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
            return false;
        }
        if n > max {
            self.push(
                Some(value),
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
            return false;
        }
        true
    }

    /// Length bounds of a sensitive string.
    pub(crate) fn sensitive_length(
        &mut self,
        value: &str,
        member: &str,
        min: usize,
        max: usize,
    ) -> bool {
        let n = value.chars().count();
        if n < min || n > max {
            self.push_sensitive(
                member,
                &format!("Member must have length between {min} and {max}"),
            );
            return false;
        }
        true
    }

    /// An anchored pattern over a non-sensitive string.
    pub(crate) fn pattern(&mut self, value: &str, member: &str, re: &Regex) -> bool {
        if !re.is_match(value) {
            self.push(
                Some(value),
                member,
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    re.as_str()
                ),
            );
            return false;
        }
        true
    }

    /// Length and pattern of a non-sensitive string.
    pub(crate) fn string(
        &mut self,
        value: &str,
        member: &str,
        min: usize,
        max: usize,
        re: &Regex,
    ) -> bool {
        self.length(value, member, min, max) && self.pattern(value, member, re)
    }

    /// A sensitive single-line command (`BuildCommand`, `StartCommand`).
    pub(crate) fn command(&mut self, value: &str, member: &str) {
        if !NO_NEWLINE.is_match(value) {
            self.push_sensitive(
                member,
                "Member must satisfy regular expression pattern: [^\\x0a\\x0d]+",
            );
        }
    }

    /// An integer range.
    pub(crate) fn range(&mut self, value: i64, member: &str, min: i64, max: Option<i64>) -> bool {
        if value < min {
            self.push(
                Some(&value.to_string()),
                member,
                &format!("Member must have value greater than or equal to {min}"),
            );
            return false;
        }
        if let Some(max) = max
            && value > max
        {
            self.push(
                Some(&value.to_string()),
                member,
                &format!("Member must have value less than or equal to {max}"),
            );
            return false;
        }
        true
    }

    /// An enum member.
    pub(crate) fn one_of(&mut self, value: &str, member: &str, allowed: &[&str]) -> bool {
        if !allowed.contains(&value) {
            self.push(
                Some(value),
                member,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            return false;
        }
        true
    }

    /// An App Runner resource ARN (`AppRunnerResourceArn`).
    pub(crate) fn resource_arn(&mut self, value: &str, member: &str) -> bool {
        self.string(value, member, 1, 1011, &RESOURCE_ARN)
    }

    /// Tags: key 1–128 not starting with `aws:`, value 0–256.
    pub(crate) fn tags(&mut self, tags: &[crate::model::Tag], member: &str) {
        for (i, tag) in tags.iter().enumerate() {
            let key_member = format!("{member}.{}.member.key", i + 1);
            match &tag.key {
                None => {
                    self.required::<String>(None, &key_member);
                }
                Some(key) => {
                    if self.length(key, &key_member, 1, 128) && key.starts_with("aws:") {
                        self.push(
                            Some(key),
                            &key_member,
                            "Member must satisfy regular expression pattern: ^(?!aws:).+",
                        );
                    }
                }
            }
            if let Some(value) = &tag.value {
                self.length(value, &format!("{member}.{}.member.value", i + 1), 0, 256);
            }
        }
    }

    /// A `MaxResults` member.
    pub(crate) fn max_results(&mut self, value: Option<i64>, max: i64) {
        if let Some(v) = value {
            self.range(v, "maxResults", 1, Some(max));
        }
    }

    /// Fails with every violation found, if any.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::invalid(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ApiError::invalid(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

fn truncate(v: &str) -> String {
    if v.chars().count() > 200 {
        let head: String = v.chars().take(200).collect();
        format!("{head}...")
    } else {
        v.to_owned()
    }
}

/// Normalises a `Cpu` value to CPU units (`1 vCPU` -> `1024`); `None` if invalid.
pub(crate) fn cpu_units(value: &str) -> Option<u32> {
    if !CPU.is_match(value) {
        return None;
    }
    Some(match value {
        "256" | "0.25 vCPU" => 256,
        "512" | "0.5 vCPU" => 512,
        "1024" | "1 vCPU" => 1024,
        "2048" | "2 vCPU" => 2048,
        "4096" | "4 vCPU" => 4096,
        _ => return None,
    })
}

/// Normalises a `Memory` value to MB (`2 GB` -> `2048`); `None` if invalid.
pub(crate) fn memory_mb(value: &str) -> Option<u32> {
    if !MEMORY.is_match(value) {
        return None;
    }
    if let Some(gb) = value.strip_suffix(" GB") {
        return match gb {
            "0.5" => Some(512),
            whole => whole.parse::<u32>().ok().map(|g| g * 1024),
        };
    }
    value.parse().ok()
}

/// Whether App Runner accepts this CPU/memory pair (CDK `Memory` documentation).
pub(crate) fn cpu_memory_pair_ok(cpu: u32, memory: u32) -> bool {
    let allowed: &[u32] = match cpu {
        256 => &[512, 1024],
        512 => &[1024],
        1024 => &[2048, 3072, 4096],
        2048 => &[4096, 6144],
        4096 => &[8192, 10240, 12288],
        _ => &[],
    };
    allowed.contains(&memory)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for r in [
            &SERVICE_NAME,
            &SHORT_NAME,
            &VPC_CONNECTOR_NAME,
            &RESOURCE_ARN,
            &ROLE_ARN,
            &KMS_KEY_ARN,
            &PRIVATE_ECR_IMAGE,
            &PUBLIC_ECR_IMAGE,
            &CPU,
            &MEMORY,
            &NO_NEWLINE,
            &SUBNET_ID,
            &SECURITY_GROUP_ID,
            &crate::custom_domains::DOMAIN_NAME,
            &crate::vpc_ingress::VPC_ID,
            &crate::vpc_ingress::VPC_ENDPOINT_ID,
            &crate::service_spec::CPU_PATTERN,
            &crate::service_spec::MEMORY_PATTERN,
            &crate::service_spec::SECRET_ARN,
            &crate::service_spec::SSM_NAME,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn patterns_are_anchored() {
        assert!(SERVICE_NAME.is_match("api-1"));
        assert!(!SERVICE_NAME.is_match("-api"));
        assert!(!SERVICE_NAME.is_match("api!x"));
        assert!(cpu_units("1 vCPU").is_some());
        assert!(cpu_units("1 vCPUs").is_none());
        assert!(cpu_units("0x25 vCPU").is_none());
        assert!(PUBLIC_ECR_IMAGE.is_match("public.ecr.aws/nginx/nginx:latest"));
        assert!(PRIVATE_ECR_IMAGE.is_match("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"));
        assert!(!PRIVATE_ECR_IMAGE.is_match("docker.io/library/nginx"));
        assert!(
            ROLE_ARN.is_match("arn:aws:iam::123456789012:role/service-role/AppRunnerECRAccessRole")
        );
    }

    #[test]
    fn normalises_units() {
        assert_eq!(cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(memory_mb("0.5 GB"), Some(512));
        assert_eq!(memory_mb("12 GB"), Some(12288));
        assert_eq!(memory_mb("3072"), Some(3072));
        assert!(cpu_memory_pair_ok(1024, 2048));
        assert!(!cpu_memory_pair_ok(256, 2048));
        assert!(!cpu_memory_pair_ok(4096, 4096));
    }

    #[test]
    fn sensitive_values_never_appear() {
        let mut v = Violations::new();
        v.command("echo top-secret\nrm", "startCommand");
        let err = v.finish().unwrap_err();
        assert!(!err.message().contains("top-secret"));
    }
}
