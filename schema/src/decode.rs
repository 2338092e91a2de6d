//! Typed decoding of the YAML tree, collecting every problem.
//!
//! Each field is read through a [`MapReader`], which remembers the keys it
//! was asked for; [`MapReader::finish`] then reports every other key as
//! unknown, with a "did you mean". A value of the wrong type is reported and
//! skipped, so decoding always goes on to the end of the file.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::SchemaError;
use crate::expr::{self, Expr, Piece};
use crate::kind::{Address, Kind};
use crate::model::{Entry, SpannedMap};
use crate::node::{Node, Value};
use crate::span::{Span, Spanned};
use crate::suggest;
use crate::units::{Cpu, Memory};

/// A `${KIND.NAME.ATTRIBUTE}` seen while decoding, before the resources it
/// names are known.
#[derive(Debug, Clone)]
pub(crate) struct RawReference {
    pub from: Option<Address>,
    pub field: String,
    pub kind: Kind,
    pub name: String,
    pub attribute: String,
    pub span: Span,
}

/// The decoding context: the source, the variables in effect, and what has
/// been found so far.
pub(crate) struct Decoder<'a> {
    text: &'a str,
    /// Declared variables and their values (`None`: declared, no value).
    variables: BTreeMap<String, Option<String>>,
    /// Problems found, in file order.
    pub errors: Vec<SchemaError>,
    /// References found, in file order.
    pub references: Vec<RawReference>,
    /// The resource being decoded, for references.
    pub owner: Option<Address>,
    /// Variables declared `sensitive: true`.
    sensitive_variables: BTreeSet<String>,
    /// The fields whose value uses a sensitive variable.
    pub sensitive_fields: BTreeSet<String>,
    /// Where each sensitive variable is used: field, variable, span.
    pub sensitive_uses: Vec<(String, String, Span)>,
}

impl<'a> Decoder<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            variables: BTreeMap::new(),
            errors: Vec::new(),
            references: Vec::new(),
            owner: None,
            sensitive_variables: BTreeSet::new(),
            sensitive_fields: BTreeSet::new(),
            sensitive_uses: Vec::new(),
        }
    }

    /// Marks a declared variable as sensitive.
    pub fn declare_sensitive(&mut self, name: &str) {
        self.sensitive_variables.insert(name.to_string());
    }

    /// Whether the value of `field` uses a sensitive variable.
    pub fn is_sensitive_field(&self, field: &str) -> bool {
        self.sensitive_fields.contains(field)
    }

    /// Declares a variable with its value in effect.
    pub fn declare_variable(&mut self, name: &str, value: Option<String>) {
        self.variables.insert(name.to_string(), value);
    }

    pub fn error(&mut self, error: SchemaError) {
        self.errors.push(error);
    }

    fn source(&self, span: Span) -> &str {
        self.text.get(span.offset..span.end()).unwrap_or("")
    }

    /// The span of bytes `offset..offset+len` of a string value, when the
    /// value is written verbatim (plain or simply quoted); else the whole
    /// value's span.
    fn inner_span(&self, node_span: Span, value: &str, offset: usize, len: usize) -> Span {
        let written = self.source(node_span);
        if written == value {
            return Span::new(node_span.offset + offset, len);
        }
        let quoted = written.len() == value.len() + 2
            && (written.starts_with('"') || written.starts_with('\''))
            && written.get(1..written.len() - 1) == Some(value);
        if quoted {
            return Span::new(node_span.offset + 1 + offset, len);
        }
        if let Some(start) = written.find(value.get(offset..offset + len).unwrap_or("\u{0}")) {
            return Span::new(node_span.offset + start, len);
        }
        node_span
    }

    /// Substitutes `${var.NAME}` in a string value and records
    /// `${KIND.NAME.ATTRIBUTE}` references (kept in the text). Returns `None`
    /// when an expression is malformed or a variable is undefined (reported).
    pub fn substitute(&mut self, raw: &str, span: Span, field: &str) -> Option<String> {
        if !raw.contains('$') {
            return Some(raw.to_string());
        }
        let pieces = match expr::pieces(raw) {
            Ok(pieces) => pieces,
            Err(error) => {
                let span = self.inner_span(span, raw, error.offset, error.len);
                let text = raw
                    .get(error.offset..error.offset + error.len)
                    .unwrap_or(raw);
                self.error(SchemaError::InvalidExpression {
                    text: text.to_string(),
                    reason: error.reason,
                    span: span.into(),
                });
                return None;
            }
        };
        let mut out = String::with_capacity(raw.len());
        let mut ok = true;
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(&expr::escape(&text)),
                Piece::Expr { inner, offset, len } => {
                    let expr_span = self.inner_span(span, raw, offset, len);
                    let whole = raw.get(offset..offset + len).unwrap_or(inner);
                    match expr::parse_expr(inner) {
                        Err(reason) => {
                            self.error(SchemaError::InvalidExpression {
                                text: whole.to_string(),
                                reason,
                                span: expr_span.into(),
                            });
                            ok = false;
                        }
                        Ok(Expr::Var(name)) => match self.variables.get(name) {
                            Some(Some(value)) => {
                                out.push_str(&expr::escape(value));
                                if self.sensitive_variables.contains(name) {
                                    self.sensitive_fields.insert(field.to_string());
                                    self.sensitive_uses.push((
                                        field.to_string(),
                                        name.to_string(),
                                        expr_span,
                                    ));
                                }
                            }
                            // Declared without a value: reported once, at the declaration.
                            Some(None) => ok = false,
                            None => {
                                let help = match suggest::closest(name, self.variables.keys()) {
                                    Some(close) => format!("did you mean `${{var.{close}}}`?"),
                                    None => format!(
                                        "declare it: `variables: {{ {name}: {{ default: ... }} }}`"
                                    ),
                                };
                                self.error(SchemaError::UndefinedVariable {
                                    name: name.to_string(),
                                    help,
                                    span: expr_span.into(),
                                });
                                ok = false;
                            }
                        },
                        Ok(Expr::Attr {
                            kind,
                            name,
                            attribute,
                        }) => {
                            let Some(kind_value) = Kind::from_section(kind) else {
                                let sections = Kind::ALL.map(Kind::section);
                                let help = match suggest::closest(kind, sections.iter()) {
                                    Some(close) => format!("did you mean `{close}`?"),
                                    None => format!("resource kinds are: {}", sections.join(", ")),
                                };
                                self.error(SchemaError::UnknownKind {
                                    kind: kind.to_string(),
                                    help,
                                    span: expr_span.into(),
                                });
                                ok = false;
                                continue;
                            };
                            self.references.push(RawReference {
                                from: self.owner.clone(),
                                field: field.to_string(),
                                kind: kind_value,
                                name: name.to_string(),
                                attribute: attribute.to_string(),
                                span: expr_span,
                            });
                            out.push_str(&format!("${{{kind}.{name}.{attribute}}}"));
                        }
                    }
                }
            }
        }
        ok.then_some(out)
    }

    fn wrong_type(&mut self, node: &Node, field: &str, expected: &str, help: String) {
        self.error(SchemaError::WrongType {
            field: field.to_string(),
            expected: expected.to_string(),
            found: node.value.kind_name().to_string(),
            help,
            span: node.span.into(),
        });
    }
}

/// A type that can be read from a YAML node.
pub(crate) trait Decode: Sized {
    /// Reads the value at `node`; `field` is its path for messages.
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self>;
}

impl Decode for Spanned<String> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        match &node.value {
            Value::Str(text) => {
                let value = d.substitute(text, node.span, field)?;
                Some(Spanned::new(value, node.span))
            }
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                let written = d.source(node.span).to_string();
                d.wrong_type(
                    node,
                    field,
                    "a string",
                    format!("quote it to make it a string: \"{written}\""),
                );
                None
            }
            _ => {
                d.wrong_type(
                    node,
                    field,
                    "a string",
                    "write a single text value".to_string(),
                );
                None
            }
        }
    }
}

/// A string value that also accepts numbers and booleans (written as text),
/// for environment variables and tags, where `PORT: 8080` is common.
#[derive(Debug)]
pub(crate) struct Text(pub Spanned<String>);

impl Decode for Text {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let scalar = match &node.value {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Some(d.source(node.span).to_string())
            }
            Value::Null => Some(String::new()),
            _ => None,
        };
        match scalar {
            Some(text) => Some(Text(Spanned::new(text, node.span))),
            None => Spanned::<String>::decode(node, field, d).map(Text),
        }
    }
}

/// Reads a scalar that may be written as a `${var.NAME}` string.
fn scalar_text(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Option<String>> {
    match &node.value {
        Value::Str(text) if expr::has_expr(text) => {
            let value = d.substitute(text, node.span, field)?;
            Some(Some(value))
        }
        _ => Some(None),
    }
}

impl Decode for Spanned<i64> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        match &node.value {
            Value::Int(value) => return Some(Spanned::new(*value, node.span)),
            Value::Str(text) if expr::has_expr(text) => {}
            _ => {
                let help = match &node.value {
                    Value::Str(text) if text.trim().parse::<i64>().is_ok() => {
                        format!("remove the quotes: {}", text.trim())
                    }
                    _ => "write a whole number, e.g. 8080".to_string(),
                };
                d.wrong_type(node, field, "an integer", help);
                return None;
            }
        }
        let text = scalar_text(node, field, d)??;
        match text.trim().parse::<i64>() {
            Ok(value) => Some(Spanned::new(value, node.span)),
            Err(_) => {
                let found = if d.is_sensitive_field(field) {
                    "the value of a sensitive variable".to_string()
                } else {
                    format!("the text `{text}` after variable substitution")
                };
                d.error(SchemaError::WrongType {
                    field: field.to_string(),
                    expected: "an integer".to_string(),
                    found,
                    help: "give the variable a whole number".to_string(),
                    span: node.span.into(),
                });
                None
            }
        }
    }
}

impl Decode for Spanned<bool> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        match &node.value {
            Value::Bool(value) => return Some(Spanned::new(*value, node.span)),
            Value::Str(text) if expr::has_expr(text) => {}
            _ => {
                d.wrong_type(
                    node,
                    field,
                    "a boolean",
                    "write `true` or `false`".to_string(),
                );
                return None;
            }
        }
        let text = scalar_text(node, field, d)??;
        match text.trim() {
            "true" => Some(Spanned::new(true, node.span)),
            "false" => Some(Spanned::new(false, node.span)),
            other => {
                let found = if d.is_sensitive_field(field) {
                    "the value of a sensitive variable".to_string()
                } else {
                    format!("the text `{other}` after variable substitution")
                };
                d.error(SchemaError::WrongType {
                    field: field.to_string(),
                    expected: "a boolean".to_string(),
                    found,
                    help: "give the variable the value `true` or `false`".to_string(),
                    span: node.span.into(),
                });
                None
            }
        }
    }
}

/// Text for a cpu or memory value: a string, or an integer written as-is.
fn size_text(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<String> {
    match &node.value {
        Value::Int(_) | Value::Float(_) => Some(d.source(node.span).to_string()),
        Value::Str(_) => Spanned::<String>::decode(node, field, d).map(|s| s.value),
        _ => {
            d.wrong_type(node, field, "a size", "e.g. `1 vCPU` or `2 GB`".to_string());
            None
        }
    }
}

impl Decode for Spanned<Cpu> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let text = size_text(node, field, d)?;
        match Cpu::parse(&text) {
            Some(cpu) => Some(Spanned::new(cpu, node.span)),
            None => {
                d.error(SchemaError::InvalidCpu {
                    value: text,
                    span: node.span.into(),
                });
                None
            }
        }
    }
}

impl Decode for Spanned<Memory> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let text = size_text(node, field, d)?;
        match Memory::parse(&text) {
            Some(memory) => Some(Spanned::new(memory, node.span)),
            None => {
                d.error(SchemaError::InvalidMemory {
                    value: text,
                    span: node.span.into(),
                });
                None
            }
        }
    }
}

/// An enumeration written as one of a fixed set of words.
pub(crate) trait Keyword: Sized + Copy + 'static {
    /// The words and the values they mean.
    const WORDS: &'static [(&'static str, Self)];
}

impl<K: Keyword> Decode for Spanned<K> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let text = Spanned::<String>::decode(node, field, d)?;
        if let Some((_, value)) = K::WORDS.iter().find(|(word, _)| *word == text.value) {
            return Some(Spanned::new(*value, node.span));
        }
        let words: Vec<&str> = K::WORDS.iter().map(|(word, _)| *word).collect();
        let help = match words
            .iter()
            .find(|word| word.eq_ignore_ascii_case(&text.value))
            .copied()
            .or_else(|| suggest::closest(&text.value, words.iter()).copied())
        {
            Some(close) => format!("did you mean `{close}`? allowed: {}", words.join(", ")),
            None => format!("allowed: {}", words.join(", ")),
        };
        d.error(SchemaError::InvalidValue {
            field: field.to_string(),
            value: text.value,
            help,
            span: node.span.into(),
        });
        None
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        match &node.value {
            Value::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| T::decode(item, &format!("{field}[{index}]"), d))
                    .collect(),
            ),
            Value::Null => Some(Vec::new()),
            _ => {
                let written = d.source(node.span).to_string();
                d.wrong_type(node, field, "a list", format!("write a list: [{written}]"));
                None
            }
        }
    }
}

impl<V: Decode> Decode for SpannedMap<V> {
    fn decode(node: &Node, field: &str, d: &mut Decoder<'_>) -> Option<Self> {
        let entries = map_entries(node, field, d)?;
        let mut map = BTreeMap::new();
        for (key, value) in entries {
            let Some(name) = key_text(key, field, d) else {
                continue;
            };
            if let Some(value) = V::decode(value, &format!("{field}.{name}"), d) {
                map.insert(
                    name,
                    Entry {
                        key_span: key.span,
                        value,
                    },
                );
            }
        }
        Some(SpannedMap(map))
    }
}

/// Reads a string-to-text map (tags, env).
pub(crate) fn text_map(
    node: &Node,
    _anchor: Span,
    field: &str,
    d: &mut Decoder<'_>,
) -> Option<SpannedMap<Spanned<String>>> {
    let map = SpannedMap::<Text>::decode(node, field, d)?;
    Some(SpannedMap(
        map.0
            .into_iter()
            .map(|(key, entry)| {
                (
                    key,
                    Entry {
                        key_span: entry.key_span,
                        value: entry.value.0,
                    },
                )
            })
            .collect(),
    ))
}

fn map_entries<'n>(node: &'n Node, field: &str, d: &mut Decoder<'_>) -> Option<&'n [(Node, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        Value::Null => Some(&[]),
        _ => {
            d.wrong_type(
                node,
                field,
                "a mapping",
                "write `key: value` pairs, indented under the key".to_string(),
            );
            None
        }
    }
}

fn key_text(key: &Node, field: &str, d: &mut Decoder<'_>) -> Option<String> {
    match &key.value {
        Value::Str(text) => Some(text.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(d.source(key.span).to_string()),
        _ => {
            d.wrong_type(
                key,
                &format!("a key of {field}"),
                "a name",
                "keys are plain names".to_string(),
            );
            None
        }
    }
}

/// Reads the fields of one mapping and reports the keys nobody asked for.
pub(crate) struct MapReader<'n> {
    entries: &'n [(Node, Node)],
    /// Where the mapping is named (its key), for "missing field" labels.
    anchor: Span,
    path: String,
    context: String,
    known: Vec<&'static str>,
}

impl<'n> MapReader<'n> {
    /// Starts reading the mapping at `node`. `anchor` is the span of the key
    /// it sits under; `path` the field path; `context` a noun phrase for
    /// messages ("service `web`").
    pub fn new(
        node: &'n Node,
        anchor: Span,
        path: &str,
        context: &str,
        d: &mut Decoder<'_>,
    ) -> Option<Self> {
        let entries = map_entries(node, path, d)?;
        Some(Self {
            entries,
            anchor,
            path: path.to_string(),
            context: context.to_string(),
            known: Vec::new(),
        })
    }

    fn find(&mut self, key: &'static str) -> Option<&'n (Node, Node)> {
        self.known.push(key);
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Str(text) if text == key))
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Reads an optional field. A `null` value counts as absent.
    pub fn opt<T: Decode>(&mut self, key: &'static str, d: &mut Decoder<'_>) -> Option<T> {
        let (_, value) = self.find(key)?;
        if value.value == Value::Null {
            return None;
        }
        T::decode(value, &self.field(key), d)
    }

    /// Reads an optional field that may be null and still matters (a map or
    /// list that may be written empty).
    pub fn opt_or_default<T: Decode + Default>(
        &mut self,
        key: &'static str,
        d: &mut Decoder<'_>,
    ) -> T {
        match self.find(key) {
            Some((_, value)) => T::decode(value, &self.field(key), d).unwrap_or_default(),
            None => T::default(),
        }
    }

    /// Reads a field with a custom reader.
    pub fn with<T>(
        &mut self,
        key: &'static str,
        d: &mut Decoder<'_>,
        read: impl FnOnce(&'n Node, Span, &str, &mut Decoder<'_>) -> Option<T>,
    ) -> Option<T> {
        let (k, value) = self.find(key)?;
        if value.value == Value::Null {
            return None;
        }
        let field = self.field(key);
        read(value, k.span, &field, d)
    }

    /// Reads a required field; reports it missing with an example.
    pub fn req<T: Decode>(
        &mut self,
        key: &'static str,
        example: &str,
        d: &mut Decoder<'_>,
    ) -> Option<T> {
        match self.find(key) {
            Some((_, value)) if value.value != Value::Null => T::decode(value, &self.field(key), d),
            _ => {
                d.error(SchemaError::MissingField {
                    field: key.to_string(),
                    context: self.context.clone(),
                    help: format!("add `{key}: {example}`"),
                    span: self.anchor.into(),
                });
                None
            }
        }
    }

    /// The span of a key, if present.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Str(text) if text == key))
            .map(|(k, _)| k.span)
    }

    /// The span of the key this mapping sits under.
    pub fn anchor(&self) -> Span {
        self.anchor
    }

    /// Reports every key that no read asked for.
    pub fn finish(self, d: &mut Decoder<'_>) {
        for (key, _) in self.entries {
            let Value::Str(text) = &key.value else {
                d.wrong_type(
                    key,
                    &format!("a key of {}", self.context),
                    "a name",
                    "keys are plain names".to_string(),
                );
                continue;
            };
            if self.known.contains(&text.as_str()) {
                continue;
            }
            let help = match suggest::closest(text, self.known.iter()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => {
                    let mut known = self.known.clone();
                    known.sort_unstable();
                    format!("valid keys: {}", known.join(", "))
                }
            };
            d.error(SchemaError::UnknownKey {
                key: text.clone(),
                context: self.context.clone(),
                help,
                span: key.span.into(),
            });
        }
    }
}
