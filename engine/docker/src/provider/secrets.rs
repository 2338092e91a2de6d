//! Local secret values for `secrets:` entries (whose values are Secrets
//! Manager or SSM ARNs in the stack).
//!
//! For an entry `NAME: <arn>`, the value is, in this order:
//! 1. the environment variable `APPRUN_SECRET_<NAME>` of the apprun process;
//! 2. the secrets file's entry for the ARN;
//! 3. the secrets file's entry for `NAME`.
//!
//! The secrets file (`DockerProvider::with_secrets_file`) is a YAML or JSON
//! map of strings. A missing value is a `ProviderError::Invalid` naming the
//! secret and its ARN, never a value; so is an unreadable file (its parser's
//! message is not shown, since it may quote the file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use apprun_engine::provider::ProviderError;

use crate::spec::Secret;

/// The prefix of the environment variables that hold secret values.
pub const ENV_PREFIX: &str = "APPRUN_SECRET_";

/// Where secret values come from.
#[derive(Clone, Default)]
pub(crate) struct SecretSource {
    /// The secrets file, if any.
    pub(crate) file: Option<PathBuf>,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSource")
            .field("file", &self.file)
            .finish()
    }
}

/// The environment variable consulted for secret `name`.
pub fn env_var_name(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_PREFIX}{upper}")
}

impl SecretSource {
    fn file_values(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let Some(path) = &self.file else {
            return Ok(BTreeMap::new());
        };
        let invalid = |message: String| ProviderError::Invalid {
            operation: "read the secrets file".to_string(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        serde_saphyr::from_str::<BTreeMap<String, String>>(&text).map_err(|_| {
            invalid(format!(
                "{} is not a YAML or JSON map of strings (ARN or secret name -> value)",
                path.display()
            ))
        })
    }

    /// Resolves every `NAME -> ARN` entry, or names all that have no value.
    pub(crate) fn resolve(
        &self,
        address: &str,
        secrets: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Secret>, ProviderError> {
        if secrets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let file = self.file_values()?;
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, arn) in secrets {
            let value = std::env::var(env_var_name(name))
                .ok()
                .or_else(|| file.get(arn).cloned())
                .or_else(|| file.get(name).cloned());
            match value {
                Some(v) => {
                    out.insert(name.clone(), Secret::new(v));
                }
                None => missing.push((format!("{name} ({arn})"), env_var_name(name))),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let where_ = match &self.file {
            Some(p) => format!("the secrets file {}", p.display()),
            None => "a secrets file (--secrets-file)".to_string(),
        };
        Err(ProviderError::Invalid {
            operation: format!("resolve the secrets of {address}"),
            message: format!(
                "no local value for secret {}: the Docker target cannot read Secrets Manager or SSM; \
                 set {} in apprun's environment, or put the ARN or the name in {where_}",
                missing
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                missing
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_by_arn_then_name_and_missing_names_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.yaml");
        std::fs::write(
            &path,
            "arn:aws:secretsmanager:us-east-1:1:secret:db: by-arn-value\nAPI_KEY: by-name-value\n",
        )
        .unwrap();
        let source = SecretSource {
            file: Some(path.clone()),
        };
        let mut wanted = BTreeMap::new();
        wanted.insert(
            "DB_PASSWORD_APPRUN_TEST_X".to_string(),
            "arn:aws:secretsmanager:us-east-1:1:secret:db".to_string(),
        );
        wanted.insert(
            "API_KEY".to_string(),
            "arn:aws:ssm:us-east-1:1:parameter/k".to_string(),
        );
        let got = source.resolve("services.web", &wanted).unwrap();
        assert_eq!(got["DB_PASSWORD_APPRUN_TEST_X"].expose(), "by-arn-value");
        assert_eq!(got["API_KEY"].expose(), "by-name-value");

        wanted.insert(
            "NOPE_APPRUN_TEST_X".to_string(),
            "arn:aws:ssm:us-east-1:1:parameter/nope".to_string(),
        );
        let err = source.resolve("services.web", &wanted).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("NOPE_APPRUN_TEST_X"), "{text}");
        assert!(text.contains("APPRUN_SECRET_NOPE_APPRUN_TEST_X"), "{text}");
        assert!(!text.contains("by-arn-value") && !text.contains("by-name-value"));
    }

    #[test]
    fn a_malformed_file_is_invalid_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "{\"A\": [\"leaky-value\"]}").unwrap();
        let source = SecretSource { file: Some(path) };
        let mut wanted = BTreeMap::new();
        wanted.insert("A".to_string(), "arn:x".to_string());
        let err = source.resolve("services.web", &wanted).unwrap_err();
        assert!(matches!(err, ProviderError::Invalid { .. }));
        assert!(!format!("{err:?}").contains("leaky-value"));
    }

    #[test]
    fn env_var_names_are_upper_case() {
        assert_eq!(env_var_name("db-pass"), "APPRUN_SECRET_DB_PASS");
    }
}
