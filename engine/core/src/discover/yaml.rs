//! A small YAML writer for the stacks `discover` writes: ordered maps,
//! lists, scalars quoted only where YAML would read them otherwise, and
//! comments above entries. The stack parser reads back every text it
//! writes (the composition checks that).

use serde_json::Value;

/// One YAML value, with the order of its keys kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Node>),
    /// A map, in the order written.
    Map(Entries),
}

/// The entries of a map: key, value and the comment lines above it.
pub type Entries = Vec<Entry>;

/// One entry of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Node,
    /// Comment lines written above it (without `#`).
    pub comments: Vec<String>,
}

impl Entry {
    /// An entry without comments.
    pub fn new(key: impl Into<String>, value: Node) -> Self {
        Entry {
            key: key.into(),
            value,
            comments: Vec::new(),
        }
    }
}

impl Node {
    /// A string as found live: written so the stack reads it back
    /// literally (`${` escaped as `$${`, never taken for a reference).
    pub fn text(s: &str) -> Node {
        Node::Str(apprun_schema::expr::escape(s))
    }

    /// A JSON value (as found live, so its strings are [`Node::text`]) as a node (object keys in their order; a number that
    /// is not an integer as text).
    pub fn from_json(value: &Value) -> Node {
        match value {
            Value::String(s) => Node::text(s),
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Node::Str(n.to_string()), Node::Int),
            Value::Array(items) => Node::List(items.iter().map(Node::from_json).collect()),
            Value::Object(map) => Node::Map(
                map.iter()
                    .map(|(k, v)| Entry::new(k.clone(), Node::from_json(v)))
                    .collect(),
            ),
            Value::Null => Node::Str(String::new()),
        }
    }

    /// Whether this is an empty map or list (not written).
    pub fn is_empty(&self) -> bool {
        match self {
            Node::List(items) => items.is_empty(),
            Node::Map(entries) => entries.is_empty(),
            _ => false,
        }
    }
}

/// Words YAML 1.1 or 1.2 reads as something else than a string.
const SPECIAL: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
];

/// A string as a YAML scalar: plain when YAML reads it back as the same
/// string, else double-quoted (JSON's escapes are YAML's).
pub fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+=".contains(c) || c == ' ')
        && (text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
            // `0.25 vCPU`: a number then words is no number to YAML.
            || (text.starts_with(|c: char| c.is_ascii_digit())
                && text.contains(' ')
                && text.chars().any(|c| c.is_ascii_alphabetic())))
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.contains(" #")
        && !SPECIAL.contains(&text.to_ascii_lowercase().as_str());
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
    }
}

/// A map key as YAML.
fn key(text: &str) -> String {
    scalar(text)
}

/// Writes a scalar node inline; `None` for lists and maps.
fn inline(node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(scalar(s)),
        Node::Int(i) => Some(i.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::List(items) if items.iter().all(|i| inline(i).is_some()) => Some(format!(
            "[{}]",
            items
                .iter()
                .filter_map(inline)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Node::Map(entries) if entries.is_empty() => Some("{}".to_owned()),
        _ => None,
    }
}

/// Writes `entries` as a block map at `indent` spaces.
pub fn write_map(out: &mut String, entries: &[Entry], indent: usize) {
    let pad = " ".repeat(indent);
    for entry in entries {
        for line in &entry.comments {
            if line.is_empty() {
                out.push_str(&format!("{pad}#\n"));
            } else {
                out.push_str(&format!("{pad}# {line}\n"));
            }
        }
        let k = key(&entry.key);
        match inline(&entry.value) {
            Some(v) => out.push_str(&format!("{pad}{k}: {v}\n")),
            None => {
                out.push_str(&format!("{pad}{k}:\n"));
                write_block(out, &entry.value, indent + 2);
            }
        }
    }
}

/// Writes a list or map that cannot be inline, at `indent` spaces.
fn write_block(out: &mut String, node: &Node, indent: usize) {
    match node {
        Node::Map(entries) => write_map(out, entries, indent),
        Node::List(items) => {
            let pad = " ".repeat(indent);
            for item in items {
                match (item, inline(item)) {
                    (_, Some(v)) => out.push_str(&format!("{pad}- {v}\n")),
                    (Node::Map(entries), None) => {
                        // The first entry on the dash's line, the rest under it.
                        let mut nested = String::new();
                        write_map(&mut nested, entries, indent + 2);
                        let body = nested.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {body}"));
                    }
                    (other, None) => {
                        out.push_str(&format!("{pad}-\n"));
                        write_block(out, other, indent + 2);
                    }
                }
            }
        }
        other => {
            let pad = " ".repeat(indent);
            out.push_str(&format!("{pad}{}\n", inline(other).unwrap_or_default()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_yaml_would_misread_are_quoted() {
        assert_eq!(scalar("web"), "web");
        assert_eq!(scalar("arn:aws:iam::123:role/x"), "arn:aws:iam::123:role/x");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("8080"), "\"8080\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("${roles.app.arn}"), "\"${roles.app.arn}\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn maps_lists_and_comments_are_written_as_blocks() {
        let doc = vec![Entry {
            key: "services".into(),
            value: Node::Map(vec![Entry::new(
                "web",
                Node::Map(vec![
                    Entry::new("port", Node::Int(80)),
                    Entry::new(
                        "policies",
                        Node::List(vec![Node::Map(vec![
                            Entry::new("name", Node::Str("p".into())),
                            Entry::new("actions", Node::List(vec![Node::Str("s3:Get".into())])),
                        ])]),
                    ),
                ]),
            )]),
            comments: vec!["note".into()],
        }];
        let mut out = String::new();
        write_map(&mut out, &doc, 0);
        assert_eq!(
            out,
            "# note\nservices:\n  web:\n    port: 80\n    policies:\n      - name: p\n        actions: [s3:Get]\n"
        );
    }
}
