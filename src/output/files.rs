//! Writing a run's folder: staged and swapped in as a unit, so an interrupted run never
//! leaves a half-written file behind; the manifest that records what was run, on what.
//!
//! Owns: file hashes, the manifest, the atomic folder swap. May not compute metrics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::InputError;
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
                "access_tokens": d.effective_tokens(&exp.params),
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
        "start": {
            "mode": if exp.steady_start { "steady" } else { "cold" },
            "warmup_days": exp.warmup_days,
            "rule": if exp.steady_start {
                "users start as in a tenant in operation: a first access finds the session a user has held since before the study (dated back by a uniform share of the interval that renews it), and the warm-up days before day 0 are simulated but not counted"
            } else {
                "users start with no session at all; the warm-up days before day 0 are simulated but not counted"
            },
        },
        "replicates": exp.replicates,
        "prompt_budget": exp.prompt_budget,
        "denied_budget": exp.denied_budget,
        "reference": exp.designs.get(crate::output::compare::reference(exp).0).map(|d| &d.name),
        "precision": exp.precision,
        "max_replicates": exp.max_replicates,
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

/// The files a run or a merge writes. A folder holding only these (and a sessionsim
/// `manifest.json`) is one of ours, and the only kind `--out` replaces.
pub const OWN_FILES: &[&str] = &[
    "summary.csv",
    "replicates.csv",
    "breakdown.csv",
    "comparisons.csv",
    "sensitivity.csv",
    "sensitivity.svg",
    // scripts/render-plots.sh renders the plots beside them.
    "frontier.png",
    "exposure.png",
    "sensitivity.png",
    "manifest.json",
    "frontier.svg",
    "exposure.svg",
    "report.md",
    "signins.csv",
    "signins.parquet",
    "users.csv",
    "accumulators.json",
];

/// Whether `dir` may be replaced by a run's results: it does not exist, is empty, or is a
/// folder this tool wrote (its `manifest.json` says so) holding only the files a run
/// writes; with `force`, such a folder may hold other files too. Anything else (a file, a
/// link, a folder of the user's own files) is refused, naming what would be lost.
pub fn check_replaceable(dir: &Path, force: bool) -> Result<(), InputError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(InputError::new(
                dir,
                format!("cannot inspect the output folder: {e}"),
            ))
        }
    };
    if !meta.is_dir() {
        return Err(InputError::new(
            dir,
            "exists and is not a folder: sessionsim writes its results into a folder of its own and never replaces a file; give another --out",
        )
        .field("--out"));
    }
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| InputError::new(dir, format!("cannot read the output folder: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let ours = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("tool").and_then(|t| t.as_str()) == Some("sessionsim"));
    let mut foreign: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !OWN_FILES.contains(n))
        .collect();
    foreign.sort_unstable();
    let listed = || {
        let shown: Vec<&str> = foreign.iter().take(5).copied().collect();
        let more = foreign.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    if !ours {
        return Err(InputError::new(
            dir,
            format!(
                "holds files sessionsim did not write ({}) and no sessionsim manifest.json: a run replaces the whole folder, so they would be lost; give a new or empty folder as --out",
                if foreign.is_empty() { names.join(", ") } else { listed() }
            ),
        )
        .field("--out"));
    }
    if !foreign.is_empty() && !force {
        return Err(InputError::new(
            dir,
            format!(
                "this earlier sessionsim output folder also holds other files ({}): a run replaces the whole folder, so they would be lost; move them, or give --force to replace it anyway",
                listed()
            ),
        )
        .field("--out"));
    }
    Ok(())
}

/// Staging folders of this process, for [`remove_staging`] when a signal interrupts a
/// run. Held while a folder is swapped in, so an interruption waits for the swap.
static STAGING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes every staging folder of this process (an interrupted run's half-written
/// results). Returns after any swap under way has finished. For signal handlers.
pub fn remove_staging() {
    let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
    for tmp in staging.drain(..) {
        let _ = std::fs::remove_dir_all(&tmp);
    }
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
    /// Stages a new version of `dir`, which must be replaceable ([`check_replaceable`]).
    pub fn create(dir: &Path, force: bool) -> anyhow::Result<OutputDir> {
        check_replaceable(dir, force)?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        recover_abandoned(&parent);
        let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp)?;
        STAGING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tmp.clone());
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

    /// Flushes every staged file to disk and swaps the folder in. Where the system can
    /// exchange two folders in one step (Linux `renameat2`), no moment exists at which
    /// neither version is in place; elsewhere a kill between the two renames leaves the
    /// previous version under a hidden name, which the next run into the same parent puts
    /// back (`recover_abandoned`).
    pub fn commit(mut self) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.tmp)? {
            std::fs::File::open(entry?.path())?.sync_all()?;
        }
        let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
        if !self.tmp.exists() {
            // A signal handler removed it: the run is being interrupted.
            return Err(std::io::Error::other("the run was interrupted"));
        }
        let had_old = std::fs::symlink_metadata(&self.dir).is_ok();
        if had_old && exchange(&self.tmp, &self.dir).is_ok() {
            // `tmp` now holds the previous version.
            self.committed = true;
            staging.retain(|t| *t != self.tmp);
            drop(staging);
            let _ = std::fs::remove_dir_all(&self.tmp);
            return Ok(());
        }
        let old = sibling(&self.dir, "old");
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
        staging.retain(|t| *t != self.tmp);
        drop(staging);
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

/// `.{name}.{what}-{pid}` beside `dir`.
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent.join(format!(".{base}.{what}-{}", std::process::id()))
}

/// Swaps two existing paths in one atomic step.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Cleans what runs into this parent folder left when they were killed (their process no
/// longer exists; only where `/proc` tells): half-written staging folders are removed, and
/// a previous version moved aside by an interrupted swap is put back if nothing replaced
/// it.
fn recover_abandoned(parent: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix('.') else {
            continue;
        };
        let Some((base, tail)) = rest.rsplit_once('.') else {
            continue;
        };
        let (what, pid) = match tail.split_once('-') {
            Some(x) => x,
            None => continue,
        };
        if base.is_empty()
            || !matches!(what, "tmp" | "old")
            || pid.is_empty()
            || !pid.bytes().all(|b| b.is_ascii_digit())
            || proc.join(pid).exists()
        {
            continue;
        }
        let target = parent.join(base);
        if what == "old" && std::fs::symlink_metadata(&target).is_err() {
            let _ = std::fs::rename(entry.path(), &target);
        } else {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
            STAGING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|t| *t != self.tmp);
        }
    }
}

/// Writes `files` into `dir` as one unit (see [`OutputDir`]).
pub fn write_dir_atomically(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    force: bool,
) -> anyhow::Result<()> {
    let out = OutputDir::create(dir, force)?;
    for (name, bytes) in files {
        out.write(name, bytes)?;
    }
    Ok(out.commit()?)
}

/// Writes one file through a temporary sibling and a rename, so a reader never sees half
/// of it and an interrupted write leaves the previous file (if any) whole.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.sessionsim-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_whole_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let manifest = (
            "manifest.json".to_string(),
            br#"{"tool": "sessionsim"}"#.to_vec(),
        );
        write_dir_atomically(
            &dir,
            &[
                ("summary.csv".into(), b"1".to_vec()),
                ("users.csv".into(), b"2".to_vec()),
                manifest.clone(),
            ],
            false,
        )
        .unwrap();
        write_dir_atomically(
            &dir,
            &[("summary.csv".into(), b"3".to_vec()), manifest],
            false,
        )
        .unwrap();
        assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), b"3");
        assert!(
            !dir.join("users.csv").exists(),
            "old files do not mix with new ones"
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary folders left behind");
    }

    #[test]
    fn a_folder_of_the_users_own_files_is_never_replaced() {
        // Regression: `run --out DIR` on a folder of the user's files deleted them all.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mine");
        std::fs::create_dir_all(dir.join("photos")).unwrap();
        std::fs::write(dir.join("thesis.docx"), b"years of work").unwrap();
        std::fs::write(dir.join(".hidden"), b"x").unwrap();
        for force in [false, true] {
            let err = write_dir_atomically(&dir, &[("summary.csv".into(), b"1".to_vec())], force)
                .unwrap_err();
            let input = err
                .downcast_ref::<InputError>()
                .expect("an input error (exit 2)");
            assert!(input.message.contains("did not write"), "{input}");
        }
        assert_eq!(
            std::fs::read(dir.join("thesis.docx")).unwrap(),
            b"years of work"
        );
        assert!(dir.join("photos").is_dir() && dir.join(".hidden").exists());
    }

    #[test]
    fn an_existing_file_is_never_replaced() {
        // Regression: an existing file given as --out was moved to a hidden name.
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("report.pdf");
        std::fs::write(&file, b"pdf").unwrap();
        let err = write_dir_atomically(&file, &[], true).unwrap_err();
        assert!(err.downcast_ref::<InputError>().is_some());
        assert_eq!(std::fs::read(&file).unwrap(), b"pdf");
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing moved aside");
    }

    #[test]
    fn force_replaces_an_own_folder_with_extra_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let manifest = (
            "manifest.json".to_string(),
            br#"{"tool": "sessionsim"}"#.to_vec(),
        );
        write_dir_atomically(&dir, std::slice::from_ref(&manifest), false).unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let err = write_dir_atomically(&dir, std::slice::from_ref(&manifest), false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert!(dir.join("notes.txt").exists());
        write_dir_atomically(&dir, &[manifest], true).unwrap();
        assert!(!dir.join("notes.txt").exists());
    }

    #[test]
    fn a_swap_interrupted_between_renames_is_put_back() {
        // Regression: a kill between the two renames of the final swap could lose both
        // versions. A dead process's moved-aside version is restored by the next run.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let dead = "999999999"; // no such process
        let old = tmp.path().join(format!(".out.old-{dead}"));
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("manifest.json"), br#"{"tool": "sessionsim"}"#).unwrap();
        std::fs::write(old.join("summary.csv"), b"previous").unwrap();
        let half = tmp.path().join(format!(".out.tmp-{dead}"));
        std::fs::create_dir(&half).unwrap();
        recover_abandoned(tmp.path());
        assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), b"previous");
        assert!(!half.exists() && !old.exists());
    }
}
