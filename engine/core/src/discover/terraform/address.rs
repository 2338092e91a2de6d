//! Terraform resource addresses: parsed from the `module` paths Terraform
//! writes, printed exactly as Terraform prints them (string keys quoted the
//! way HCL reads them back, integer keys bare).

use std::fmt;

/// The key of one instance of a resource or module with `count`
/// (`Int`) or `for_each` (`Str`). Ordered as Terraform orders them:
/// integers before strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    /// A `count` index: `[0]`.
    Int(i64),
    /// A `for_each` key: `["blue"]`.
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(index) => write!(f, "[{index}]"),
            InstanceKey::Str(key) => write!(f, "[{}]", hcl_quoted(key)),
        }
    }
}

/// One `module.NAME[KEY]` step of a module path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleStep {
    /// The module call's name.
    pub name: String,
    /// The instance of a module call with `count` or `for_each`.
    pub key: Option<InstanceKey>,
}

/// The address of one resource instance, e.g.
/// `module.app.aws_apprunner_service.web["blue"]`. Ordered as Terraform
/// sorts its state: by module path, type, name, then key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TerraformAddress {
    /// The module path, empty for the root module.
    pub module: Vec<ModuleStep>,
    /// The resource type, e.g. `aws_apprunner_service`.
    pub type_: String,
    /// The resource name, e.g. `web`.
    pub name: String,
    /// The instance key, for a resource with `count` or `for_each`.
    pub key: Option<InstanceKey>,
}

impl TerraformAddress {
    /// The resource's configuration address: the same without any instance
    /// key, module keys included (`module.app.aws_apprunner_service.web`),
    /// which is what a `removed` block's `from` takes.
    pub fn config_address(&self) -> String {
        let mut out = String::new();
        for step in &self.module {
            out.push_str("module.");
            out.push_str(&step.name);
            out.push('.');
        }
        out.push_str(&self.type_);
        out.push('.');
        out.push_str(&self.name);
        out
    }
}

impl fmt::Display for TerraformAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.module {
            write!(f, "module.{}", step.name)?;
            if let Some(key) = &step.key {
                write!(f, "{key}")?;
            }
            f.write_str(".")?;
        }
        write!(f, "{}.{}", self.type_, self.name)?;
        if let Some(key) = &self.key {
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

/// Parses a module path as Terraform writes it (`module.app`,
/// `module.app["blue"].module.db[0]`; empty for the root module). The
/// error says what is wrong, for a message.
pub fn parse_module_path(text: &str) -> Result<Vec<ModuleStep>, String> {
    let mut steps = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if !steps.is_empty() {
            rest = rest
                .strip_prefix('.')
                .ok_or_else(|| format!("expected `.` before `{rest}`"))?;
        }
        rest = rest
            .strip_prefix("module.")
            .ok_or_else(|| format!("expected `module.` at `{rest}`"))?;
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        if name.is_empty() {
            return Err("a module call without a name".to_string());
        }
        rest = after;
        let key = match rest.strip_prefix('[') {
            Some(inner) => {
                let (key, after) = parse_key(inner)?;
                rest = after;
                Some(key)
            }
            None => None,
        };
        steps.push(ModuleStep {
            name: name.to_string(),
            key,
        });
    }
    Ok(steps)
}

/// Parses an instance key after its `[` up to and including its `]`,
/// returning the rest.
fn parse_key(text: &str) -> Result<(InstanceKey, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let (key, rest) = unquote(quoted)?;
        let rest = rest
            .strip_prefix(']')
            .ok_or_else(|| "expected `]` after a string key".to_string())?;
        return Ok((InstanceKey::Str(key), rest));
    }
    let end = text
        .find(']')
        .ok_or_else(|| "an instance key without `]`".to_string())?;
    let (digits, rest) = text.split_at(end);
    let index = digits
        .parse::<i64>()
        .map_err(|_| format!("`[{digits}]` is neither an integer nor a quoted string key"))?;
    Ok((InstanceKey::Int(index), &rest[1..]))
}

/// Reads an HCL quoted string after its opening quote, returning the value
/// and what follows the closing quote.
fn unquote(text: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &text[at + 1..])),
            '\\' => {
                let (_, escaped) = chars
                    .next()
                    .ok_or_else(|| "a string key ending in `\\`".to_string())?;
                match escaped {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'u' | 'U' => {
                        let width = if escaped == 'u' { 4 } else { 8 };
                        let mut hex = String::new();
                        for _ in 0..width {
                            let (_, digit) = chars
                                .next()
                                .ok_or_else(|| "a short `\\u` escape".to_string())?;
                            hex.push(digit);
                        }
                        let code = u32::from_str_radix(&hex, 16)
                            .map_err(|_| format!("`\\{escaped}{hex}` is not a character"))?;
                        out.push(
                            char::from_u32(code)
                                .ok_or_else(|| format!("`\\{escaped}{hex}` is not a character"))?,
                        );
                    }
                    other => return Err(format!("unknown escape `\\{other}` in a string key")),
                }
            }
            '$' | '%' if text[at + 1..].starts_with(c) && text[at + 2..].starts_with('{') => {
                // `$${` and `%%{` are an escaped template introducer.
                out.push(c);
                chars.next();
            }
            other => out.push(other),
        }
    }
    Err("a string key without its closing quote".to_string())
}

/// Quotes a string as Terraform quotes an instance key (its
/// `toHCLQuotedString`): backslash escapes, doubled template introducers
/// (`$${`, `%%{`), `\uXXXX` for characters that do not print.
fn hcl_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for (at, c) in text.char_indices() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' | '%' => {
                out.push(c);
                if text[at + c.len_utf8()..].starts_with('{') {
                    out.push(c);
                }
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let code = u32::from(c);
                if code < 0x1_0000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_round_trip() {
        for text in [
            "",
            "module.app",
            "module.app[0]",
            "module.app[\"blue\"].module.db[3]",
            "module.x[\"a\\\"b$${c}\\n\"]",
        ] {
            let steps = parse_module_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let address = TerraformAddress {
                module: steps,
                type_: "t".into(),
                name: "n".into(),
                key: None,
            };
            let printed = address.to_string();
            let expected = if text.is_empty() {
                "t.n".to_string()
            } else {
                format!("{text}.t.n")
            };
            assert_eq!(printed, expected);
        }
    }

    #[test]
    fn bad_module_paths_are_refused() {
        for text in [
            "app",
            "module.",
            "module.a[",
            "module.a[x]",
            "module.a[\"x]",
            "module.a.b",
            "module.a]",
            "module.a[\"\\u12\"]",
        ] {
            assert!(parse_module_path(text).is_err(), "{text}");
        }
    }

    #[test]
    fn keys_print_as_terraform_prints_them() {
        assert_eq!(InstanceKey::Int(2).to_string(), "[2]");
        assert_eq!(InstanceKey::Str("blue".into()).to_string(), "[\"blue\"]");
        assert_eq!(
            InstanceKey::Str("a\"b\\c\n${x}%{y}$z\u{7}".into()).to_string(),
            "[\"a\\\"b\\\\c\\n$${x}%%{y}$z\\u0007\"]"
        );
    }
}
