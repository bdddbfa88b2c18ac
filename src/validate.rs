//! `sessionsim validate`: recognises a file's kind and checks it fully without running it.
use std::path::Path;

/// What `validate` found: the kind of file and any warnings.
pub struct Validated {
    pub description: String,
    pub warnings: Vec<String>,
}

pub fn validate_file(path: &Path) -> anyhow::Result<Validated> {
    Err(crate::error::InputError::new(path, "validate is being built").into())
}
