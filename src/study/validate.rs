//! `sessionsim validate`: recognises a file's kind and checks it fully without running it.

use std::path::Path;

use crate::error::{plural, read_text, InputError};
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
    let value: toml::Table = toml::from_str(&text).map_err(|e| {
        // Not TOML at all (a README, a CSV): say so before the parser's detail.
        let mut err = InputError::from_toml(path, &text, &e);
        err.message = format!(
            "not a scenario, population, experiment or policy file: it is not TOML ({})",
            err.message
        );
        err
    })?;
    if value.contains_key("design") || value.contains_key("sweep") {
        Ok(FileKind::Experiment)
    } else if value.contains_key("persona") {
        Ok(FileKind::Population)
    } else if value.contains_key("step") || value.contains_key("device") {
        Ok(FileKind::Scenario)
    } else {
        Err(InputError::new(
            path,
            "not a scenario, population, experiment or policy file: a scenario has `device` and `[[step]]`, an experiment `[[design]]`, a population `[[persona]]`; policies are `.json`",
        ))
    }
}

impl FileKind {
    /// `a scenario`, `an experiment`, ...
    pub fn article(self) -> &'static str {
        match self {
            FileKind::Scenario => "a scenario",
            FileKind::Policy => "a policy file",
            FileKind::Experiment => "an experiment",
            FileKind::Population => "a population",
        }
    }

    /// The command that reads this kind of file.
    fn hint(self) -> &'static str {
        match self {
            FileKind::Scenario => "`sessionsim trace` runs a scenario (models/scenarios/*.toml)",
            FileKind::Policy => "policies go to `--policies` or to an experiment's designs",
            FileKind::Experiment => "`sessionsim run` runs an experiment (experiments/*.toml)",
            FileKind::Population => {
                "a population is named by an experiment's `population` key, or given to calibrate as --template"
            }
        }
    }
}

/// Says "FILE is an experiment, not a scenario" (or "not a scenario file: it is not
/// TOML") when a file of another kind was given where `expected` was wanted; otherwise
/// returns `err`, the loader's own error, unchanged.
pub fn wrong_kind(path: &Path, expected: FileKind, err: InputError) -> InputError {
    if err.file != path {
        return err;
    }
    match detect(path) {
        Ok(kind) if kind != expected => InputError::new(
            path,
            format!(
                "is {}, not {}: {}",
                kind.article(),
                expected.article(),
                kind.hint()
            ),
        ),
        Ok(_) => err,
        Err(e) if e.message.contains("it is not TOML") => {
            let mut e = e;
            e.message = e.message.replacen(
                "not a scenario, population, experiment or policy file",
                &format!("not {}", expected.article()),
                1,
            );
            e
        }
        Err(_) => err,
    }
}

/// Checks one file of any kind.
pub fn validate_file(path: &Path) -> anyhow::Result<Validated> {
    match detect(path)? {
        FileKind::Scenario => {
            let s = Scenario::load(path)?;
            Ok(Validated {
                description: format!("scenario, {}", plural(s.steps.len() as u64, "step")),
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
                    "{description} from {}; {}; {} skipped; {} failed",
                    plural(report.loaded as u64, "file"),
                    plural(report.strengths as u64, "authentication-strength file"),
                    plural(report.skipped.len() as u64, "file"),
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
                description: format!(
                    "population `{}`, {}",
                    p.name,
                    plural(p.personas.len() as u64, "persona")
                ),
                warnings: Vec::new(),
            })
        }
        FileKind::Experiment => {
            let e = crate::study::experiment::Experiment::load(path)?;
            Ok(Validated {
                description: format!(
                    "experiment `{}`: {} x {} x {} x {}",
                    e.name,
                    plural(e.designs.len() as u64, "design"),
                    plural(e.replicates as u64, "replicate"),
                    plural(e.users, "user"),
                    plural(e.days as u64, "day")
                ),
                warnings: e.warnings,
            })
        }
    }
}
