//! Writing a run's folder: staged and swapped in as a unit, so an interrupted run never
//! leaves a half-written file behind; the manifest that records what was run, on what.
//!
//! Owns: file hashes, the manifest, the atomic folder swap. May not compute metrics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::study::experiment::Experiment;
use crate::study::runner::RunResult;

/// SHA-256 of a file, hex; `None` when it cannot be read.
pub fn file_sha256(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of a policy file or of every JSON file of a folder (names and contents).
pub fn path_sha256(path: &Path) -> Option<String> {
    if !path.is_dir() {
        return file_sha256(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.file_name()?.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).ok()?);
    }
    Some(hex(&h.finalize()))
}

/// Timings and counters of one run: the only part of the manifest that changes between
/// runs of the same inputs.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub threads: usize,
    pub wall_seconds: f64,
    pub user_days_per_second: f64,
    pub events_per_second: f64,
}

/// `manifest.json`: what was run, on what, and with which parameters.
pub fn manifest_json(
    exp: &Experiment,
    result: &RunResult,
    shard: Option<(u32, u32)>,
    run: &RunInfo,
) -> Result<Vec<u8>, serde_json::Error> {
    let designs: Vec<serde_json::Value> = exp
        .designs
        .iter()
        .map(|d| {
            serde_json::json!({
                "name": d.name,
                "policies": d.policies_path.as_ref().map(|p| p.display().to_string()),
                "policies_sha256": d.policies_path.as_ref().and_then(|p| path_sha256(p)),
                "policy_count": d.policies.len(),
                "sign_in_frequency": d.sign_in_frequency.map(|s| s.to_string()),
                "persistent_browser": d.persistent_browser.map(|p| p.name()),
                "tenant": d.tenant,
                "access_tokens": d.tokens,
            })
        })
        .collect();
    let value = serde_json::json!({
        "tool": "sessionsim",
        "version": env!("CARGO_PKG_VERSION"),
        "experiment": {
            "name": exp.name,
            "path": exp.path.display().to_string(),
            "sha256": file_sha256(&exp.path),
        },
        "population": {
            "name": exp.population.name,
            "path": exp.population.path.display().to_string(),
            "sha256": file_sha256(&exp.population.path),
        },
        "seed": exp.seed,
        "users": exp.users,
        "days": exp.days,
        "replicates": exp.replicates,
        "shard": shard.map(|(k, n)| format!("{k}/{n}")),
        "designs": designs,
        "parameters": exp.params,
        "remediation": exp.population.remediation,
        "threat": exp.population.threat,
        "attack_sampling": crate::model::Mechanism::ALL
            .iter()
            .zip(exp.sampling())
            .map(|(m, f)| (m.name().to_string(), f))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "counters": {
            "users_simulated": result.users_simulated,
            "user_days_simulated": result.user_days_simulated,
            "events_simulated": result.events_simulated,
            "wall_seconds": run.wall_seconds,
        },
        "run": run,
    });
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// An output folder written as one unit: files go into a fresh sibling folder, which
/// replaces `dir` on [`OutputDir::commit`]. Readers see either the previous complete
/// results or the new ones, never a mix and never a truncated file. Dropping it without
/// committing (an error, a panic) removes the temporary folder.
pub struct OutputDir {
    dir: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl OutputDir {
    pub fn create(dir: &Path) -> std::io::Result<OutputDir> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        remove_abandoned(&parent, &base);
        let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp)?;
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Where a file of the folder is written before the commit.
    pub fn staged(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::write(self.staged(name), bytes)
    }

    /// Flushes every staged file to disk and swaps the folder in.
    pub fn commit(mut self) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.tmp)? {
            std::fs::File::open(entry?.path())?.sync_all()?;
        }
        let parent = self
            .tmp
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = parent.join(format!(".{base}.old-{}", std::process::id()));
        let had_old = self.dir.exists();
        if had_old {
            std::fs::rename(&self.dir, &old)?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.dir) {
            if had_old {
                let _ = std::fs::rename(&old, &self.dir);
            }
            return Err(e);
        }
        self.committed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

/// Removes staging folders of earlier runs into the same folder that were killed before
/// they could clean up (their process no longer exists). Only where `/proc` tells.
fn remove_abandoned(parent: &Path, base: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(&format!(".{base}.tmp-"))
            .or_else(|| name.strip_prefix(&format!(".{base}.old-")));
        if let Some(pid) = pid.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            if !proc.join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Writes `files` into `dir` as one unit (see [`OutputDir`]).
pub fn write_dir_atomically(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let out = OutputDir::create(dir)?;
    for (name, bytes) in files {
        out.write(name, bytes)?;
    }
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_whole_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        write_dir_atomically(
            &dir,
            &[
                ("a.csv".into(), b"1".to_vec()),
                ("b.csv".into(), b"2".to_vec()),
            ],
        )
        .unwrap();
        write_dir_atomically(&dir, &[("a.csv".into(), b"3".to_vec())]).unwrap();
        assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), b"3");
        assert!(
            !dir.join("b.csv").exists(),
            "old files do not mix with new ones"
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary folders left behind");
    }
}
