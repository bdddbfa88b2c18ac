//! Scripted single-user scenarios and the `trace` command.
use std::path::Path;
pub fn trace_file(path: &Path) -> anyhow::Result<String> {
    Err(crate::error::InputError::new(path, "trace is being built").into())
}
