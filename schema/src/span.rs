//! Source positions: byte spans, values that carry one, and the mapping from
//! byte offsets to the line and column a person reads.

use std::fmt;

/// A byte range in the stack file: where a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes (may be zero for an empty value).
    pub len: usize,
}

impl Span {
    /// A span covering `len` bytes from `offset`.
    pub const fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }

    /// The byte just past the end of the span.
    pub const fn end(&self) -> usize {
        self.offset + self.len
    }

    /// This span clamped to a source of `source_len` bytes, so a label never
    /// points outside the file.
    pub fn clamp(self, source_len: usize) -> Self {
        let offset = self.offset.min(source_len);
        let len = self.len.min(source_len - offset);
        Self { offset, len }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.offset.into(), span.len)
    }
}

/// A value together with the place in the stack file it came from.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Attaches a span to a value.
    pub const fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }

    /// Maps the value, keeping the span.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            value: f(self.value),
            span: self.span,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LineColumn {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

/// Maps byte offsets of one source text to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The line and column of byte `offset` in `text` (the text this index was
    /// built from). Offsets past the end map to the end.
    pub fn locate(&self, text: &str, offset: usize) -> LineColumn {
        let offset = offset.min(text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        LineColumn {
            line: line.max(1),
            column: column + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let text = "a: 1\nnäme: x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.locate(text, 0), LineColumn { line: 1, column: 1 });
        let x = text.find('x').unwrap_or_default();
        assert_eq!(index.locate(text, x), LineColumn { line: 2, column: 7 });
        assert_eq!(index.locate(text, 999).line, 3);
    }

    #[test]
    fn clamps_spans_to_the_source() {
        assert_eq!(Span::new(8, 10).clamp(10), Span::new(8, 2));
        assert_eq!(Span::new(20, 1).clamp(10), Span::new(10, 0));
    }
}
