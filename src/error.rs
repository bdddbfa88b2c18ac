//! Errors the library reports.
//!
//! [`InputError`] is the user's fault (a bad file or argument): the binary exits with code 2
//! and prints it as `file:line:col: field: message`. Everything else is an internal or
//! environmental failure (exit code 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// Bad input: names the file and, where known, the line/column and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    /// `line:col` or `line N`, when the position is known.
    pub position: Option<String>,
    /// The field, as a path into the document (`step[3].at`, `conditions.users`).
    pub field: Option<String>,
    pub message: String,
}

impl InputError {
    pub fn new(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        InputError {
            file: file.as_ref().to_path_buf(),
            position: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn position(mut self, position: impl Into<String>) -> Self {
        self.position = Some(position.into());
        self
    }

    /// Converts a `toml` parse or deserialize error, keeping its line and column.
    pub fn from_toml(file: impl AsRef<Path>, source: &str, err: &toml::de::Error) -> Self {
        let mut e = InputError::new(file, err.message().trim_end().replace('\n', "; "));
        if let Some(span) = err.span() {
            let (line, col) = line_col(source, span.start);
            e.position = Some(format!("{line}:{col}"));
        }
        e
    }
}

/// `1 user`, `2 users`: a count with its noun, singular when it is one.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'o']))
    {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

/// Longest message printed whole: values echoed from hostile input (a 10 MB display name,
/// a 30,000-comparison filter) are cut, so one error stays one readable line.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `text` cut to `max` characters, saying how much was left out.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more characters)",
            &text[..cut],
            text[cut..].chars().count()
        )),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = &self.position {
            write!(f, ":{p}")?;
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{}: ", clip(field, 200))?;
        }
        f.write_str(&clip(&self.message, MAX_MESSAGE_CHARS))
    }
}

impl std::error::Error for InputError {}

/// Largest input file read: policy exports, populations, scenarios and experiments are
/// kilobytes to a few megabytes; anything far bigger is a mistake (or `/dev/zero`).
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Reads an input file as text, as an [`InputError`] when it is missing, unreadable, not
/// a regular file (a FIFO would block forever, a device may never end) or too big.
///
/// Detects the encoding from a byte-order mark: UTF-8 with BOM and UTF-16 LE/BE (what
/// Windows PowerShell 5.1 writes, MODEL.md §7) are accepted besides plain UTF-8.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    use std::io::Read;
    let (file, len) = open_regular(path)?;
    if len > MAX_INPUT_BYTES {
        return Err(too_big(path));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big(path));
    }
    decode_text(&bytes).map_err(|m| InputError::new(path, m))
}

fn cannot_read(path: &Path, e: std::io::Error) -> InputError {
    let hint = if e.kind() == std::io::ErrorKind::NotFound {
        "file not found".to_string()
    } else {
        format!("cannot read: {e}")
    };
    InputError::new(path, hint)
}

/// Opens an input that must be a regular file, with its length. Inputs of any size (sign-in
/// logs) are read through this; a folder, pipe or device is refused by name.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, u64), InputError> {
    // Looking before opening: opening a FIFO with no writer blocks.
    let meta = std::fs::metadata(path).map_err(|e| cannot_read(path, e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a pipe, a socket or a device)"
        };
        return Err(InputError::new(
            path,
            format!("{what}: give the path of a file"),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| cannot_read(path, e))?;
    Ok((file, meta.len()))
}

fn too_big(path: &Path) -> InputError {
    InputError::new(
        path,
        format!(
            "larger than {} MiB: not an input this tool reads",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

impl InputError {
    /// Names the field of `file` that pointed to the file this error is about, when the
    /// error is about that file as a whole (missing, unreadable, not a file).
    pub fn referenced_by(mut self, file: &Path, field: &str) -> Self {
        if self.position.is_none() && self.field.is_none() {
            self.message = format!(
                "{} (the file `{field}` names in {})",
                self.message,
                file.display()
            );
        }
        self
    }
}

/// Decodes file bytes by their byte-order mark (UTF-8 when there is none).
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |body: &[u8], le: bool| -> Result<String, String> {
        if !body.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes".into());
        }
        let units = body.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| format!("invalid UTF-16 text: {e}"))
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|e| format!("invalid UTF-8 text: {e}")),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|e| format!("not UTF-8 text (and no byte-order mark): {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFhi").unwrap(), "hi");
        assert_eq!(decode_text(b"\xFF\xFEh\0i\0").unwrap(), "hi");
        assert_eq!(decode_text(b"\xFE\xFF\0h\0i").unwrap(), "hi");
        assert_eq!(decode_text(b"plain").unwrap(), "plain");
        assert!(decode_text(b"\xFF\xFEh").is_err());
        assert!(decode_text(b"\xC3\x28").is_err());
    }

    #[test]
    fn long_echoed_values_are_clipped() {
        // Regression: errors echoed 10 MB values into one stderr line.
        let huge = "x".repeat(10_000_000);
        let e = InputError::new("p.json", format!("bad value `{huge}`"));
        let text = e.to_string();
        assert!(text.len() < 3000, "{}", text.len());
        assert!(text.ends_with("more characters)"));
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééé", 2), "éé… (1 more characters)");
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        let e = InputError::new("x.toml", "bad")
            .position("2:2")
            .field("step[0].at");
        assert_eq!(e.to_string(), "x.toml:2:2: step[0].at: bad");
    }
}
