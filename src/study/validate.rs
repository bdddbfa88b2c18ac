//! `sessionsim validate`: recognises a file's kind and checks it fully without running it.

use std::path::Path;

use crate::error::{read_text, InputError};
use crate::study::scenario::Scenario;

/// What `validate` found: the kind of file and any warnings.
pub struct Validated {
    pub description: String,
    pub warnings: Vec<String>,
}

/// The kinds of input file sessionsim reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    Scenario,
    Policy,
    Experiment,
    Population,
}

/// Tells a file's kind from its extension and, for TOML, its top-level tables.
pub fn detect(path: &Path) -> Result<FileKind, InputError> {
    if path.is_dir()
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return Ok(FileKind::Policy);
    }
    let text = read_text(path)?;
    let value: toml::Table =
        toml::from_str(&text).map_err(|e| InputError::from_toml(path, &text, &e))?;
    if value.contains_key("design") || value.contains_key("sweep") {
        Ok(FileKind::Experiment)
    } else if value.contains_key("persona") {
        Ok(FileKind::Population)
    } else if value.contains_key("step") || value.contains_key("device") {
        Ok(FileKind::Scenario)
    } else {
        Err(InputError::new(
            path,
            "cannot tell what kind of file this is: a scenario has `device` and `[[step]]`, an experiment `[[design]]`, a population `[[persona]]`; policies are `.json`",
        ))
    }
}

/// Checks one file of any kind.
pub fn validate_file(path: &Path) -> anyhow::Result<Validated> {
    match detect(path)? {
        FileKind::Scenario => {
            let s = Scenario::load(path)?;
            Ok(Validated {
                description: format!("scenario, {} steps", s.steps.len()),
                warnings: s.warnings,
            })
        }
        FileKind::Policy => {
            let options = crate::policy::LoadOptions {
                skip_invalid: crate::policy::skip_invalid(),
            };
            let (set, mut warnings, report) = crate::policy::PolicySet::load_with(path, options)?;
            let mut description = format!("Conditional Access policies, {} loaded", set.len());
            if path.is_dir() {
                // A folder of exports: what each file came to.
                description = format!(
                    "{description} from {} files; {} authentication-strength files; {} files skipped; {} failed",
                    report.loaded,
                    report.strengths,
                    report.skipped.len(),
                    report.failed.len()
                );
                for (file, what) in &report.skipped {
                    warnings.push(format!("{}: skipped: {what}", file.display()));
                }
                for e in &report.failed {
                    warnings.push(format!("failed: {e}"));
                }
            }
            Ok(Validated {
                description,
                warnings,
            })
        }
        FileKind::Population => {
            let p = crate::world::population::Population::load(path)?;
            Ok(Validated {
                description: format!("population `{}`, {} personas", p.name, p.personas.len()),
                warnings: Vec::new(),
            })
        }
        FileKind::Experiment => {
            let e = crate::study::experiment::Experiment::load(path)?;
            Ok(Validated {
                description: format!(
                    "experiment `{}`: {} designs x {} replicates x {} users x {} days",
                    e.name,
                    e.designs.len(),
                    e.replicates,
                    e.users,
                    e.days
                ),
                warnings: e.warnings,
            })
        }
    }
}
