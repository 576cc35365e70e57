//! Just enough of `Cargo.toml` for `cargo xtask release` (std only, so no TOML crate): tables,
//! `key = value` lines, inline tables on one line, arrays of strings (on one line or several),
//! comments. Edits replace one string value in place and keep every other byte of the file.

use std::ops::Range;

/// One `key = value` of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The table it is in, as written between the brackets (`workspace.package`,
    /// `target.'cfg(unix)'.dependencies`, `bin` for `[[bin]]`); empty before any header.
    pub table: String,
    /// The key as written (`version`, `version.workspace`, `tmio-url`).
    pub key: String,
    /// The value without its comment; the lines of a multi-line array are joined by `\n`.
    pub value: String,
    /// Line number (0-based) where the entry starts.
    pub line: usize,
    /// Byte offset of `value` in that line.
    pub value_offset: usize,
}

impl Entry {
    /// The value as a plain string, when it is a basic string (`"0.1.0"`).
    pub fn string(&self) -> Option<&str> {
        quoted(&self.value)
    }

    /// The fields of an inline table value (`{ path = "x", version = "1" }`), when it is one.
    pub fn inline_table(&self) -> Option<Vec<Field<'_>>> {
        let inner = self.value.strip_prefix('{')?.strip_suffix('}')?;
        let mut fields = Vec::new();
        for range in split_top_level(inner, ',') {
            let part = &inner[range.clone()];
            if part.trim().is_empty() {
                continue;
            }
            let (key, value) = part.split_once('=')?;
            let leading = value.len() - value.trim_start().len();
            let start = 1 + range.start + key.len() + 1 + leading;
            let value = value.trim();
            fields.push(Field {
                key: key.trim(),
                value,
                value_offset: self.value_offset + start,
            });
        }
        Some(fields)
    }

    /// The strings of an array value (`["a", "b"]`), when it is one.
    pub fn strings(&self) -> Option<Vec<&str>> {
        let inner = self.value.strip_prefix('[')?.strip_suffix(']')?;
        split_top_level(inner, ',')
            .into_iter()
            .map(|range| inner[range].trim())
            .filter(|item| !item.is_empty())
            .map(quoted)
            .collect()
    }

    /// Where the content of this entry's string value lies in its line (quotes excluded).
    pub fn string_span(&self) -> Option<Range<usize>> {
        self.string()?;
        let start = self.value_offset + 1;
        Some(start..start + self.value.len() - 2)
    }
}

/// One `key = value` of an inline table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The key.
    pub key: &'a str,
    /// The value, trimmed.
    pub value: &'a str,
    /// Byte offset of `value` in the entry's line.
    pub value_offset: usize,
}

impl Field<'_> {
    /// The value as a plain string.
    pub fn string(&self) -> Option<&str> {
        quoted(self.value)
    }

    /// Where the string's content lies in the entry's line (quotes excluded).
    pub fn string_span(&self) -> Option<Range<usize>> {
        self.string()?;
        let start = self.value_offset + 1;
        Some(start..start + self.value.len() - 2)
    }
}

/// The content of a basic (`"..."`) or literal (`'...'`) string without escapes.
fn quoted(value: &str) -> Option<&str> {
    let inner = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
        })?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

/// Splits `text` at `separator`s outside strings, brackets and braces.
fn split_top_level(text: &str, separator: char) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ if c == separator && depth == 0 => {
                    parts.push(start..index);
                    start = index + c.len_utf8();
                }
                _ => {}
            },
        }
    }
    parts.push(start..text.len());
    parts
}

/// `line` without its `#` comment (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (index, c) in line.char_indices() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..index],
            None => {}
        }
    }
    line
}

/// Bracket depth change of `text` outside strings.
fn bracket_balance(text: &str) -> isize {
    let mut balance = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => balance += 1,
                ']' | '}' => balance -= 1,
                _ => {}
            },
        }
    }
    balance
}

/// Every `key = value` of `text`, in order. A line that is neither a header, a comment, blank
/// nor `key = value` is an error naming the line (1-based).
pub fn entries(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    let mut table = String::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, raw)) = lines.next() {
        let line = strip_comment(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('[') {
            table = trimmed
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err((number + 1, raw.to_owned()));
        };
        let value_offset = key.len() + 1 + (value.len() - value.trim_start().len());
        let mut value = value.trim().to_owned();
        let mut balance = bracket_balance(&value);
        while balance > 0 {
            let Some((_, next)) = lines.next() else {
                return Err((number + 1, raw.to_owned()));
            };
            let next = strip_comment(next).trim();
            balance += bracket_balance(next);
            value.push('\n');
            value.push_str(next);
        }
        entries.push(Entry {
            table: table.clone(),
            key: key.trim().to_owned(),
            value,
            line: number,
            value_offset,
        });
    }
    Ok(entries)
}

/// `text` with the bytes `span` of line `line` (0-based) replaced by `replacement`.
pub fn replace_in_line(text: &str, line: usize, span: Range<usize>, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len() + replacement.len());
    for (number, piece) in text.split_inclusive('\n').enumerate() {
        if number == line {
            out.push_str(&piece[..span.start]);
            out.push_str(replacement);
            out.push_str(&piece[span.end..]);
        } else {
            out.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"# a comment = not an entry
[workspace]
members = [
    "crates/a", # the first
    "crates/b",
]

[workspace.package]
version = "0.1.0"   # bumped by xtask release

[workspace.dependencies]
a = { path = "crates/a", version = "0.1.0" }
tokio = { version = "1", features = ["rt", "net"] }
"#;

    #[test]
    fn entries_know_their_table_line_and_value() {
        let entries = entries(MANIFEST).unwrap();
        let keys: Vec<_> = entries
            .iter()
            .map(|entry| (entry.table.as_str(), entry.key.as_str(), entry.line))
            .collect();
        assert_eq!(
            keys,
            [
                ("workspace", "members", 2),
                ("workspace.package", "version", 8),
                ("workspace.dependencies", "a", 11),
                ("workspace.dependencies", "tokio", 12),
            ]
        );
        assert_eq!(entries[0].strings().unwrap(), ["crates/a", "crates/b"]);
        assert_eq!(entries[1].string(), Some("0.1.0"));
        let fields = entries[3].inline_table().unwrap();
        let keys: Vec<_> = fields.iter().map(|field| field.key).collect();
        assert_eq!(keys, ["version", "features"]);
        assert_eq!(fields[1].value, r#"["rt", "net"]"#);
    }

    #[test]
    fn spans_replace_exactly_the_version_and_keep_the_rest() {
        let entries = entries(MANIFEST).unwrap();
        let package_version = &entries[1];
        let text = replace_in_line(
            MANIFEST,
            package_version.line,
            package_version.string_span().unwrap(),
            "0.2.0",
        );
        let dependency = &entries[2];
        let fields = dependency.inline_table().unwrap();
        let version = fields.iter().find(|field| field.key == "version").unwrap();
        let text = replace_in_line(
            &text,
            dependency.line,
            version.string_span().unwrap(),
            "0.2.0",
        );
        assert_eq!(
            text,
            MANIFEST
                .replace("version = \"0.1.0\"   #", "version = \"0.2.0\"   #")
                .replace(
                    "a = { path = \"crates/a\", version = \"0.1.0\" }",
                    "a = { path = \"crates/a\", version = \"0.2.0\" }"
                )
        );
    }

    #[test]
    fn a_line_that_is_not_toml_is_named() {
        let error = entries("[package]\nname = \"x\"\nwhat is this\n").unwrap_err();
        assert_eq!(error, (3, "what is this".to_owned()));
        let error = entries("members = [\n \"a\",\n").unwrap_err();
        assert_eq!(error.0, 1);
    }
}
