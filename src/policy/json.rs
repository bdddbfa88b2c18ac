//! Walking a `serde_json::Value` while keeping the JSON path of every node.
//!
//! The loader reads Graph JSON through these helpers instead of serde structs for two
//! reasons: errors must name the exact path (`conditions.users.includeGroups[2]`), and every
//! key must be accounted for, so that a field the simulator does not know is reported as a
//! warning rather than dropped silently (issue 3). [`Obj`] records which keys were read;
//! [`Walker::finish`] lists the others.

use std::cell::RefCell;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::InputError;

/// Context for one policy being read: its file, a label naming it, and the warnings so far.
pub(crate) struct Walker<'a> {
    pub file: &'a Path,
    /// `"displayName"` in quotes, or a positional description when the policy has no name.
    pub label: String,
    pub warnings: &'a mut Vec<String>,
}

/// A value and its path in the document.
#[derive(Copy, Clone)]
pub(crate) struct Node<'v, 'p> {
    pub value: &'v Value,
    path: &'p str,
}

/// An owned path plus the value, for children whose path had to be built.
pub(crate) struct Child<'v> {
    pub value: &'v Value,
    pub path: String,
}

impl<'v> Child<'v> {
    pub fn node(&self) -> Node<'v, '_> {
        Node {
            value: self.value,
            path: &self.path,
        }
    }
}

impl<'v, 'p> Node<'v, 'p> {
    pub fn new(value: &'v Value, path: &'p str) -> Self {
        Node { value, path }
    }

    pub fn path(&self) -> &'p str {
        self.path
    }
}

/// A JSON object whose reads are recorded.
pub(crate) struct Obj<'v> {
    map: &'v Map<String, Value>,
    path: String,
    read: RefCell<Vec<&'v str>>,
}

static NULL: Value = Value::Null;

/// `"@odata.type"`, `"@odata.context"`, and annotations such as
/// `"combinationConfigurations@odata.context"` carry no policy meaning.
pub(crate) fn is_annotation(key: &str) -> bool {
    // `#microsoft.graph.restore` and the like are OData action annotations.
    key.starts_with("@odata.") || key.contains("@odata.") || key.starts_with('#')
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Joins a parent path and a key: `conditions` + `users` → `conditions.users`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'v> Obj<'v> {
    /// The value under `key` (JSON `null` when absent), marking the key as read.
    pub fn get(&self, key: &'static str) -> Child<'v> {
        let value = match self.map.get_key_value(key) {
            Some((k, v)) => {
                self.read.borrow_mut().push(k.as_str());
                v
            }
            None => &NULL,
        };
        Child {
            value,
            path: join(&self.path, key),
        }
    }

    /// Marks a key as read without looking at it (metadata the simulator has no use for).
    pub fn skip(&self, key: &'static str) {
        let _ = self.get(key);
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Keys not read yet (and not annotations) with non-empty values, marked read now: for
    /// callers that treat unknown keys themselves rather than warn about them.
    pub fn take_unread(&self) -> Vec<(&'v str, &'v Value)> {
        let unread: Vec<(&'v str, &'v Value)> = self
            .unread()
            .into_iter()
            .filter(|(_, v)| !is_empty_value(v))
            .collect();
        self.read
            .borrow_mut()
            .extend(unread.iter().map(|(k, _)| *k));
        unread
    }

    /// Keys that were never read and are not OData annotations, in document order.
    fn unread(&self) -> Vec<(&'v str, &'v Value)> {
        let read = self.read.borrow();
        self.map
            .iter()
            .filter(|(k, _)| !is_annotation(k) && !read.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }
}

impl<'a> Walker<'a> {
    /// An input error naming the file, the policy and the field.
    pub fn error(&self, path: &str, message: impl AsRef<str>) -> InputError {
        let e = InputError::new(
            self.file,
            format!("policy {}: {}", self.label, message.as_ref()),
        );
        if path.is_empty() {
            e
        } else {
            e.field(path)
        }
    }

    /// Records a warning naming the file, the policy and the field.
    pub fn warn(&mut self, path: &str, message: impl AsRef<str>) {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!("{path}: ")
        };
        // Separated so the loader can group repeated warnings (graph::group_warnings).
        self.warnings.push(format!(
            "{}{sep}{}{sep}{at}{}",
            self.file.display(),
            self.label,
            message.as_ref(),
            sep = super::graph::PART
        ));
    }

    /// Warns about every key of `obj` that was not read. Non-empty unknown values are listed
    /// so the user sees what was ignored; empty ones (`null`, `[]`, `{}`) are harmless, and
    /// new Graph properties usually appear that way first, so they stay quiet.
    pub fn finish(&mut self, obj: &Obj<'_>) {
        for (key, value) in obj.unread() {
            if is_empty_value(value) {
                continue;
            }
            let path = join(obj.path(), key);
            self.warn(
                &path,
                format!(
                    "unknown field ignored (value {}); the simulator does not model it",
                    short(value)
                ),
            );
        }
    }

    /// A condition of a policy (`conditions.locations`, `.users`, ...): as [`Self::object`],
    /// except that an empty array, which some export tools write for a condition left
    /// unset (`"locations": []`), is read as `null` with a warning.
    pub fn condition<'v>(&mut self, node: Node<'v, '_>) -> Result<Option<Obj<'v>>, InputError> {
        if matches!(node.value, Value::Array(items) if items.is_empty()) {
            self.warn(
                node.path,
                "an empty array where Graph has an object: read as not set (null)",
            );
            return Ok(None);
        }
        self.object(node)
    }

    /// `null` → `None`; an object → its reader; anything else is an error.
    pub fn object<'v>(&self, node: Node<'v, '_>) -> Result<Option<Obj<'v>>, InputError> {
        match node.value {
            Value::Null => Ok(None),
            Value::Object(map) => Ok(Some(Obj {
                map,
                path: node.path.to_string(),
                read: RefCell::new(Vec::new()),
            })),
            other => Err(self.error(
                node.path,
                format!("expected an object, found {}", type_name(other)),
            )),
        }
    }

    /// `null` → `None`; a string → `Some`; anything else is an error.
    pub fn string<'v>(&self, node: Node<'v, '_>) -> Result<Option<&'v str>, InputError> {
        match node.value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.as_str())),
            other => Err(self.error(
                node.path,
                format!("expected a string, found {}", type_name(other)),
            )),
        }
    }

    /// `null` → `None`; `true`/`false` → `Some`; anything else is an error.
    pub fn boolean(&self, node: Node<'_, '_>) -> Result<Option<bool>, InputError> {
        match node.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            other => Err(self.error(
                node.path,
                format!("expected true or false, found {}", type_name(other)),
            )),
        }
    }

    /// `null` → `None`; an integer → `Some`; anything else is an error.
    pub fn integer(&self, node: Node<'_, '_>) -> Result<Option<i64>, InputError> {
        match node.value {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| {
                self.error(node.path, format!("expected a whole number, found {n}"))
            }),
            other => Err(self.error(
                node.path,
                format!("expected a whole number, found {}", type_name(other)),
            )),
        }
    }

    /// A string collection: `null` → empty; `null` items are skipped (exports carry them);
    /// each string comes with its own path (`includeGroups[2]`).
    pub fn strings<'v>(&self, node: Node<'v, '_>) -> Result<Vec<(&'v str, String)>, InputError> {
        match node.value {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{}[{i}]", node.path);
                    match item {
                        Value::Null => {}
                        Value::String(s) => out.push((s.as_str(), path)),
                        other => {
                            return Err(self.error(
                                &path,
                                format!("expected a string, found {}", type_name(other)),
                            ))
                        }
                    }
                }
                Ok(out)
            }
            other => Err(self.error(
                node.path,
                format!("expected an array of strings, found {}", type_name(other)),
            )),
        }
    }
}

/// `null`, `[]`, `{}` (ignoring annotations) and `""`.
pub(crate) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().all(Value::is_null),
        Value::Object(m) => m.iter().all(|(k, v)| is_annotation(k) || is_empty_value(v)),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A value shortened for a one-line message.
pub(crate) fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Parses JSON text, turning a syntax error into an [`InputError`] with line and column.
pub(crate) fn parse_document(file: &Path, text: &str) -> Result<Value, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::new(
            file,
            "the file is empty: expected a policy, an array of policies or a list response {\"value\": [...]}",
        ));
    }
    serde_json::from_str::<Value>(text).map_err(|e| {
        // serde_json's message ends with " at line L column C"; the position goes in its
        // own slot so the error prints as `file:L:C: message`.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        InputError::new(file, format!("malformed JSON: {message}")).position(format!(
            "{}:{}",
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_document(Path::new("p.json"), "{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert_eq!(err.position.as_deref(), Some("3:8"));
        assert!(
            err.message.starts_with("malformed JSON: "),
            "{}",
            err.message
        );
        assert!(!err.message.contains("at line"), "{}", err.message);
    }

    #[test]
    fn empty_files_are_named_as_such() {
        let err = parse_document(Path::new("p.json"), "  \n").unwrap_err();
        assert!(err.message.contains("empty"), "{}", err.message);
    }

    #[test]
    fn annotations_are_recognised() {
        assert!(is_annotation("@odata.type"));
        assert!(is_annotation("combinationConfigurations@odata.context"));
        assert!(!is_annotation("odata"));
    }

    #[test]
    fn unknown_keys_become_warnings_with_paths() {
        let v: Value =
            serde_json::json!({"known": 1, "extra": [1], "empty": null, "@odata.type": "x"});
        let mut warnings = Vec::new();
        let mut w = Walker {
            file: Path::new("p.json"),
            label: "\"P\"".into(),
            warnings: &mut warnings,
        };
        let obj = w.object(Node::new(&v, "conditions")).unwrap().unwrap();
        obj.skip("known");
        w.finish(&obj);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("conditions.extra"), "{}", warnings[0]);
    }

    #[test]
    fn string_lists_report_the_bad_index() {
        let v: Value = serde_json::json!(["a", null, 3]);
        let mut warnings = Vec::new();
        let w = Walker {
            file: Path::new("p.json"),
            label: "\"P\"".into(),
            warnings: &mut warnings,
        };
        let err = w.strings(Node::new(&v, "includeGroups")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("includeGroups[2]"));
        assert!(err.message.contains("policy \"P\""), "{}", err.message);
    }
}
