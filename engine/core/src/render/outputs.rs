//! The stack's outputs: `name = value` lines, or the JSON document of
//! `apprun output --json`. Sensitive values are never shown in a listing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::ops::output::OutputValue;

/// What a sensitive output shows in a listing.
const SENSITIVE: &str = "(sensitive value)";
/// What an output not known yet shows.
const UNKNOWN: &str = "(not known until applied)";

/// `name = value` lines, each prefixed with `indent`.
pub fn lines(outputs: &[OutputValue], indent: &str) -> String {
    let mut out = String::new();
    for output in outputs {
        let _ = writeln!(out, "{indent}{} = {}", output.name, shown(output));
    }
    out
}

/// The JSON document: `{name: {value, sensitive}}`, sensitive values null.
pub fn json(outputs: &[OutputValue]) -> String {
    let map: BTreeMap<&str, Value> = outputs
        .iter()
        .map(|o| {
            let value = if o.sensitive {
                Value::Null
            } else {
                o.value.clone().unwrap_or(Value::Null)
            };
            (
                o.name.as_str(),
                serde_json::json!({ "value": value, "sensitive": o.sensitive }),
            )
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&map).unwrap_or_default();
    text.push('\n');
    text
}

/// One output's value alone (`apprun output NAME`), shown even if
/// sensitive, as Terraform does when asked by name: raw text, or JSON.
pub fn single(output: &OutputValue, as_json: bool) -> String {
    let value = output.value.clone().unwrap_or(Value::Null);
    if as_json {
        format!("{value}\n")
    } else {
        format!("{}\n", text(&value))
    }
}

fn shown(output: &OutputValue) -> String {
    match (&output.value, output.sensitive) {
        (_, true) => SENSITIVE.to_string(),
        (None, false) => UNKNOWN.to_string(),
        (Some(value), false) => text(value),
    }
}

/// A string as itself, anything else as JSON.
fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(name: &str, value: Option<Value>, sensitive: bool) -> OutputValue {
        OutputValue {
            name: name.to_string(),
            value,
            sensitive,
        }
    }

    #[test]
    fn listing_hides_sensitive_values_and_marks_unknown_ones() {
        let outputs = [
            output("url", Some(Value::String("http://x".into())), false),
            output("token", Some(Value::String("s3cret".into())), true),
            output("later", None, false),
        ];
        let text = lines(&outputs, "  ");
        assert_eq!(
            text,
            "  url = http://x\n  token = (sensitive value)\n  later = (not known until applied)\n"
        );
        let doc = json(&outputs);
        assert!(!doc.contains("s3cret"), "{doc}");
        let parsed: Value = serde_json::from_str(&doc).unwrap_or_default();
        assert_eq!(parsed["token"]["sensitive"], Value::Bool(true));
        assert_eq!(parsed["token"]["value"], Value::Null);
        assert_eq!(parsed["later"]["value"], Value::Null);
        assert_eq!(parsed["url"]["value"], Value::String("http://x".into()));
    }

    #[test]
    fn asking_by_name_shows_the_value() {
        let token = output("token", Some(Value::String("s3cret".into())), true);
        assert_eq!(single(&token, false), "s3cret\n");
        assert_eq!(single(&token, true), "\"s3cret\"\n");
    }
}
