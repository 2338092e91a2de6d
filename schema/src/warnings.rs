//! Advice about a valid stack: what `validate` reports as warnings (exit 0).
//!
//! Each warning has a stable code (`schema::<rule>`) like the errors of
//! [`crate::error`], a label on its span and help.

use miette::{Diagnostic, SourceSpan};
use thiserror::Error;

use crate::model::Stack;

/// Something a valid stack probably does not mean.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
#[non_exhaustive]
pub enum SchemaWarning {
    /// An `env` value shown in plans whose name says it is a secret.
    #[error("`{name}` of service `{service}` looks like a secret but its value is shown in plans")]
    #[diagnostic(
        code(schema::secret_in_env),
        severity(Warning),
        help(
            "put the secret in AWS Secrets Manager or SSM and name it under `secrets:` (`{name}: arn:...`), or build the value from a variable declared `sensitive: true`"
        )
    )]
    SecretInEnv {
        /// The service.
        service: String,
        /// The environment variable.
        name: String,
        /// The variable's key.
        #[label("a literal value, shown in plans and state")]
        span: SourceSpan,
    },
}

/// Whether an environment variable's name says it holds a secret:
/// `*PASSWORD*`, `*TOKEN*`, `*SECRET*` or `*_KEY` (any case).
pub fn secret_looking(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.contains("PASSWORD")
        || upper.contains("TOKEN")
        || upper.contains("SECRET")
        || upper.ends_with("_KEY")
}

/// The warnings of a valid stack, in file order.
pub fn warnings(stack: &Stack) -> Vec<SchemaWarning> {
    let mut out: Vec<(usize, SchemaWarning)> = Vec::new();
    for (service, entry) in stack.services.iter() {
        for (name, value) in entry.value.env.iter() {
            let field = format!("services.{service}.env.{name}");
            if secret_looking(name)
                && !value.value.value.is_empty()
                && !stack.sensitive_fields.contains(&field)
            {
                out.push((
                    value.key_span.offset,
                    SchemaWarning::SecretInEnv {
                        service: service.clone(),
                        name: name.clone(),
                        span: value.key_span.into(),
                    },
                ));
            }
        }
    }
    out.sort_by_key(|(offset, _)| *offset);
    out.into_iter().map(|(_, warning)| warning).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VarInputs, VarOrigin, load};

    const STACK: &str = r#"
stack: shop
region: us-east-1
variables:
  db_password: { sensitive: true }
services:
  web:
    image: public.ecr.aws/nginx/nginx:1
    env:
      LOG_LEVEL: info
      API_TOKEN: abc123
      stripe_secret: sk
      SIGNING_KEY: k
      KEYBOARD: qwerty
      DB_PASSWORD: ${var.db_password}
"#;

    #[test]
    fn literal_env_values_with_secret_looking_names_warn() {
        let mut vars = VarInputs::new();
        vars.set("db_password", "hunter2", VarOrigin::Flag);
        let stack = load(STACK, &vars).unwrap_or_else(|errors| panic!("{errors:?}"));
        let named: Vec<String> = warnings(&stack)
            .iter()
            .map(|w| match w {
                SchemaWarning::SecretInEnv { name, .. } => name.clone(),
            })
            .collect();
        assert_eq!(named, ["API_TOKEN", "stripe_secret", "SIGNING_KEY"]);
        let warning = &warnings(&stack)[0];
        assert_eq!(
            warning.code().map(|c| c.to_string()).as_deref(),
            Some("schema::secret_in_env")
        );
        assert_eq!(warning.severity(), Some(miette::Severity::Warning));
        assert!(
            warning
                .help()
                .is_some_and(|h| h.to_string().contains("secrets:"))
        );
    }
}
