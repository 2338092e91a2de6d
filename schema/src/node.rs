//! The untyped YAML tree with a span on every node.
//!
//! serde-saphyr parses the text (with its alias, depth and size budgets on);
//! this module turns the result into a plain tree that the typed decoder
//! walks. Decoding from a tree instead of straight into structs is what lets
//! apprun report every unknown key and wrong type at once, instead of stopping
//! at the first one as serde would.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::span::Span;

/// Largest stack file apprun reads, in bytes. Real stacks are a few
/// kilobytes; the limit keeps a hostile file from costing time or memory.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// One YAML node and the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: Value,
    /// Where the node was written (for an alias, where the alias is used).
    pub span: Span,
}

/// The value of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (plain or quoted scalar).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short noun for error messages: "a string", "a mapping", ...
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax or limit error, with the place it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What is wrong, as the parser said it.
    pub message: String,
    /// Where (zero length at the offending position).
    pub span: Span,
    /// Whether a safety budget (aliases, nesting, size) was exceeded rather
    /// than the syntax being wrong.
    pub limit: bool,
}

/// Parses YAML text into a tree. An empty document parses as `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.len() > MAX_SOURCE_BYTES {
        return Err(SyntaxError {
            message: format!(
                "the stack file is {} bytes; apprun reads at most {} bytes",
                text.len(),
                MAX_SOURCE_BYTES
            ),
            span: Span::new(0, 0),
            limit: true,
        });
    }
    match serde_saphyr::from_str::<Option<Node>>(text) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Ok(Node {
            value: Value::Null,
            span: Span::new(0, 0),
        }),
        Err(error) => Err(syntax_error(text, &error)),
    }
}

fn syntax_error(text: &str, error: &serde_saphyr::Error) -> SyntaxError {
    let plain = error.without_snippet().to_string();
    let (message, limit) = friendly_message(strip_location_suffix(&plain));
    let span = error
        .location()
        .map(|location| location_span(text, location))
        .unwrap_or_default();
    SyntaxError {
        message,
        span,
        limit,
    }
}

/// Rewords the parser's messages that name its internals.
fn friendly_message(message: &str) -> (String, bool) {
    if message.starts_with("budget breached") {
        let what = if message.contains("Alias") || message.contains("Nodes") {
            "the document expands to too many nodes through aliases (an alias bomb?)"
        } else {
            "the document exceeds apprun's size limits"
        };
        return (what.to_string(), true);
    }
    if message.contains("recursion limit") {
        return ("the document nests too deeply".to_string(), true);
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (format!("duplicate key `{key}` in a mapping"), false);
    }
    (message.to_string(), false)
}

/// serde-saphyr appends " at line L column C"; apprun prints the position
/// itself, so the suffix is dropped.
fn strip_location_suffix(message: &str) -> &str {
    match message.find(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

fn location_span(text: &str, location: serde_saphyr::Location) -> Span {
    let span = location.span();
    if let (Some(offset), Some(len)) = (span.byte_offset(), span.byte_len()) {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let len = usize::try_from(len).unwrap_or(0);
        return Span::new(offset, len).clamp(text.len());
    }
    offset_of_line_column(text, location.line(), location.column())
}

fn offset_of_line_column(text: &str, line: u64, column: u64) -> Span {
    let mut offset = 0;
    for (index, content) in text.split_inclusive('\n').enumerate() {
        if index as u64 + 1 == line {
            let within: usize = content
                .chars()
                .take(usize::try_from(column.saturating_sub(1)).unwrap_or(0))
                .map(char::len_utf8)
                .sum();
            return Span::new(offset + within, 0).clamp(text.len());
        }
        offset += content.len();
    }
    Span::new(text.len(), 0)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(deserializer)?;
        let location = spanned.referenced.span();
        let span = match (location.byte_offset(), location.byte_len()) {
            (Some(offset), Some(len)) => Span::new(
                usize::try_from(offset).unwrap_or(usize::MAX),
                usize::try_from(len).unwrap_or(0),
            ),
            _ => Span::default(),
        };
        Ok(Node {
            value: spanned.value,
            span,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let text = "stack: shop\nservices:\n  web:\n    port: 8080\n";
        let node = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        let Value::Map(entries) = &node.value else {
            panic!("not a map")
        };
        let (key, value) = &entries[0];
        assert_eq!(&text[key.span.offset..key.span.end()], "stack");
        assert_eq!(&text[value.span.offset..value.span.end()], "shop");
        let Value::Map(services) = &entries[1].1.value else {
            panic!("not a map")
        };
        let Value::Map(web) = &services[0].1.value else {
            panic!("not a map")
        };
        assert_eq!(web[0].1.value, Value::Int(8080));
        assert_eq!(&text[web[0].1.span.offset..web[0].1.span.end()], "8080");
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").map(|n| n.value), Ok(Value::Null));
        assert_eq!(
            parse("# only a comment\n").map(|n| n.value),
            Ok(Value::Null)
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let text = "stack: shop\nservices: [a, b\n";
        let error = parse(text).err().unwrap_or_else(|| panic!("parsed"));
        assert!(error.span.offset > 0, "{error:?}");
        assert!(!error.message.contains(" at line "), "{}", error.message);
    }
}
