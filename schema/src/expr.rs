//! The `${...}` expression language inside string values.
//!
//! Two forms exist: `${var.NAME}` (a variable, substituted when the stack is
//! loaded) and `${KIND.NAME.ATTRIBUTE}` (a resource attribute, a dependency
//! edge, resolved by the engine once the attribute is known). `$${` is a
//! literal `${`. This module is the single definition of that syntax: the
//! engine resolves references through [`resolve`].

use std::fmt;

/// One piece of a string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text (escapes already undone).
    Text(std::borrow::Cow<'a, str>),
    /// A `${...}` expression; `offset` and `len` locate it (including `${`
    /// and `}`) within the string.
    Expr {
        /// The text between `${` and `}`.
        inner: &'a str,
        /// Byte offset of `$` within the string.
        offset: usize,
        /// Byte length of the whole `${...}`.
        len: usize,
    },
}

/// A malformed expression in a string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Byte offset within the string.
    pub offset: usize,
    /// Byte length.
    pub len: usize,
    /// What is wrong.
    pub reason: String,
}

/// Splits a string value into literal text and `${...}` expressions.
pub fn pieces(s: &str) -> Result<Vec<Piece<'_>>, ExprError> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = s;
    let mut consumed = 0;
    while let Some(index) = rest.find('$') {
        literal.push_str(&rest[..index]);
        let after = &rest[index..];
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
            consumed += index + 3;
        } else if after.starts_with("${") {
            let offset = consumed + index;
            let Some(close) = after.find('}') else {
                return Err(ExprError {
                    offset,
                    len: after.len(),
                    reason: "no closing `}`".to_string(),
                });
            };
            if !literal.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut literal).into()));
            }
            out.push(Piece::Expr {
                inner: &after[2..close],
                offset,
                len: close + 1,
            });
            rest = &after[close + 1..];
            consumed = offset + close + 1;
        } else {
            literal.push('$');
            rest = &after[1..];
            consumed += index + 1;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(Piece::Text(literal.into()));
    }
    Ok(out)
}

/// What a `${...}` expression names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr<'a> {
    /// `${var.NAME}`.
    Var(&'a str),
    /// `${KIND.NAME.ATTRIBUTE}`.
    Attr {
        /// The kind section, e.g. `roles`.
        kind: &'a str,
        /// The resource's logical name.
        name: &'a str,
        /// The attribute, e.g. `arn`.
        attribute: &'a str,
    },
}

impl fmt::Display for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Var(name) => write!(f, "var.{name}"),
            Expr::Attr {
                kind,
                name,
                attribute,
            } => write!(f, "{kind}.{name}.{attribute}"),
        }
    }
}

/// Parses the inside of `${...}`.
pub fn parse_expr(inner: &str) -> Result<Expr<'_>, String> {
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        return Err("empty expression".to_string());
    }
    let parts: Vec<&str> = trimmed.split('.').collect();
    if let Some(bad) = parts.iter().find(|part| !is_identifier(part)) {
        return Err(if bad.is_empty() {
            "empty name between dots".to_string()
        } else {
            format!("`{bad}` is not a name (letters, digits, `-` and `_` only)")
        });
    }
    match parts.as_slice() {
        ["var", name] => Ok(Expr::Var(name)),
        ["var", ..] => Err("a variable is written `var.NAME`".to_string()),
        [kind, name, attribute] => Ok(Expr::Attr {
            kind,
            name,
            attribute,
        }),
        _ => Err("expected `var.NAME` or `KIND.NAME.ATTRIBUTE`".to_string()),
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Escapes text so that it is read back literally (`${` becomes `$${`).
pub fn escape(s: &str) -> String {
    s.replace("${", "$${")
}

/// Whether the string contains any `${...}` expression.
pub fn has_expr(s: &str) -> bool {
    pieces(s).is_ok_and(|pieces| pieces.iter().any(|p| matches!(p, Piece::Expr { .. })))
}

/// Resolves every expression in `s` with `lookup`, undoing escapes.
/// Returns `None` when `lookup` does (an attribute not known yet) or the
/// string is malformed (which validation has already reported).
pub fn resolve(s: &str, mut lookup: impl FnMut(&Expr<'_>) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for piece in pieces(s).ok()? {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Expr { inner, .. } => out.push_str(&lookup(&parse_expr(inner).ok()?)?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_expressions() {
        let p = pieces("a-${var.env}:${repositories.web.uri}$").unwrap_or_default();
        assert_eq!(
            p,
            vec![
                Piece::Text("a-".into()),
                Piece::Expr {
                    inner: "var.env",
                    offset: 2,
                    len: 10
                },
                Piece::Text(":".into()),
                Piece::Expr {
                    inner: "repositories.web.uri",
                    offset: 13,
                    len: 23
                },
                Piece::Text("$".into()),
            ]
        );
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(
            pieces("$${literal}").unwrap_or_default(),
            vec![Piece::Text("${literal}".into())]
        );
        assert!(!has_expr("$${x}"));
    }

    #[test]
    fn unterminated_is_an_error() {
        let error = pieces("x ${var.a").err();
        assert_eq!(error.map(|e| (e.offset, e.len)), Some((2, 7)));
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_expr("var.pr"), Ok(Expr::Var("pr")));
        assert_eq!(
            parse_expr(" roles.app.arn "),
            Ok(Expr::Attr {
                kind: "roles",
                name: "app",
                attribute: "arn"
            })
        );
        assert!(parse_expr("roles.app").is_err());
        assert!(parse_expr("var.a.b").is_err());
        assert!(parse_expr("roles..arn").is_err());
        assert!(parse_expr("").is_err());
    }

    #[test]
    fn resolves_and_unescapes() {
        let out = resolve("${roles.a.arn}/$${x}", |e| Some(format!("<{e}>")));
        assert_eq!(out.as_deref(), Some("<roles.a.arn>/${x}"));
        assert_eq!(resolve("${roles.a.arn}", |_| None), None);
    }
}
