//! Variable values from outside the stack: `--var NAME=VALUE` flags and
//! `--var-file` YAML files.

use crate::error::SchemaError;
use crate::load::{VarInputs, VarOrigin};
use crate::node::{self, Value};

/// Parses one `--var NAME=VALUE` flag.
pub fn parse_flag(flag: &str) -> Result<(String, String), String> {
    match flag.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{flag}` is not NAME=VALUE")),
    }
}

/// Reads a var file: a YAML mapping of names to scalar values. Adds the
/// values to `inputs`; returns every problem, located in the var file.
pub fn read_var_file(
    path: &str,
    text: &str,
    inputs: &mut VarInputs,
) -> Result<(), Vec<SchemaError>> {
    let root = node::parse(text).map_err(|error| {
        vec![SchemaError::YamlSyntax {
            message: error.message,
            span: error.span.clamp(text.len()).into(),
        }]
    })?;
    let entries = match root.value {
        Value::Map(entries) => entries,
        Value::Null => Vec::new(),
        other => {
            return Err(vec![SchemaError::WrongType {
                field: "a var file".to_string(),
                expected: "a mapping".to_string(),
                found: other.kind_name().to_string(),
                help: "write one `NAME: VALUE` per line".to_string(),
                span: root.span.into(),
            }]);
        }
    };
    let mut errors = Vec::new();
    for (key, value) in entries {
        let Value::Str(name) = &key.value else {
            errors.push(SchemaError::WrongType {
                field: "a variable name".to_string(),
                expected: "a name".to_string(),
                found: key.value.kind_name().to_string(),
                help: "write one `NAME: VALUE` per line".to_string(),
                span: key.span.into(),
            });
            continue;
        };
        let text_value = match &value.value {
            Value::Str(s) => s.clone(),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => text
                .get(value.span.offset..value.span.end())
                .unwrap_or_default()
                .to_string(),
            other => {
                errors.push(SchemaError::WrongType {
                    field: format!("variable `{name}`"),
                    expected: "a single value".to_string(),
                    found: other.kind_name().to_string(),
                    help: "variables hold text, numbers or booleans".to_string(),
                    span: value.span.into(),
                });
                continue;
            }
        };
        inputs.set(name.clone(), text_value, VarOrigin::File(path.to_string()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_at_the_first_equals() {
        assert_eq!(parse_flag("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_flag("novalue").is_err());
        assert!(parse_flag("=x").is_err());
    }

    #[test]
    fn var_files_take_scalars() {
        let mut inputs = VarInputs::new();
        let result = read_var_file("v.yaml", "pr: 42\nenv: dev\n", &mut inputs);
        assert!(result.is_ok());
        assert_eq!(inputs.get("pr"), Some("42"));
        let mut inputs = VarInputs::new();
        let errors = read_var_file("v.yaml", "pr: [1]\n", &mut inputs)
            .err()
            .unwrap_or_default();
        assert_eq!(errors.len(), 1);
    }
}
