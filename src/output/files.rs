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

/// SHA-256 of a file, hex; `None` when it cannot be read. Streamed: a file of any size
/// costs a 64 KiB buffer.
pub fn file_sha256(path: &Path) -> Option<String> {
    let mut h = Sha256::new();
    hash_file(path, &mut h).ok()?;
    Some(hex(&h.finalize()))
}

fn hash_file(path: &Path, h: &mut Sha256) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of a policy file, or of a folder: of every file the policy loader reads in it
/// (its `.json` files, in sub-folders too, in the loader's order), each as its path
/// within the folder and its contents, streamed. Files the loader does not read are left
/// out (issue 35: sub-folders were left out, so shards that ran different policies
/// merged; an unrelated 1 GB file was read whole). For a folder of top-level files the
/// value is what it always was.
pub fn path_sha256(path: &Path) -> Option<String> {
    if !path.is_dir() {
        return file_sha256(path);
    }
    let files = crate::policy::folder_files(path).ok()?;
    let mut h = Sha256::new();
    for f in files {
        let rel = f.strip_prefix(path).ok()?;
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        h.update(name.join("/").as_bytes());
        hash_file(&f, &mut h).ok()?;
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
                "policy_files_left_out": d.policies_left_out,
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
            return Err(
                InputError::new(dir, format!("cannot inspect the output folder: {e}"))
                    .field("--out"),
            )
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
        .map_err(|e| {
            InputError::new(dir, format!("cannot read the output folder: {e}")).field("--out")
        })?
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
        .filter(|n| !OWN_FILES.contains(n) && *n != STAGING_MARKER)
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

/// The file that marks a folder beside `--out` as sessionsim's own staging (or an output
/// moved aside during a swap). The process writing the folder holds it locked with
/// `flock` for as long as it runs; only a folder bearing it, unlocked, and holding
/// nothing but the files a run writes is ever removed or put back by a later run
/// ([`recover_abandoned`]). Issue 35: folders were recognised by name alone and their
/// owner's liveness by a process number, which another node or namespace does not share.
pub const STAGING_MARKER: &str = ".sessionsim-staging";

/// What a hidden sibling of `--out` is: `.{name}.sessionsim-{kind}-{token}`.
const STAGED_TAG: &str = ".sessionsim-";

/// 16 hex digits no other run, here or on another node, will pick: the standard
/// library's per-process random hash keys, with the process id and the time.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    format!("{:016x}", h.finish())
}

/// Creates `folder/STAGING_MARKER`, saying whose it is, and locks it.
fn write_marker(folder: &Path, output: &str) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let path = folder.join(STAGING_MARKER);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    writeln!(
        f,
        "sessionsim staging folder for `{output}`; process {} on {}; removed or put back by a later run once this file is unlocked",
        std::process::id(),
        host.trim()
    )?;
    match try_lock(&f) {
        Ok(true) => Ok(f),
        Ok(false) => Err(std::io::Error::other("the new marker is locked already")),
        // No lock on this file system (NFS without a lock manager): the run goes on.
        // Another run cannot take the lock either, so it leaves this folder alone.
        Err(_) => Ok(f),
    }
}

/// Takes an exclusive `flock` without waiting: `Ok(false)` when another open file (of
/// this process or any other, on NFS with lockd on any node) holds it.
#[cfg(unix)]
fn try_lock(f: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: a valid open descriptor; flock only changes the lock on it.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_lock(_f: &std::fs::File) -> std::io::Result<bool> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The names in a folder (none when it does not exist).
fn entry_names(dir: &Path) -> std::io::Result<std::collections::BTreeSet<String>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(e) => Err(e),
    }
}

/// Whether a folder holds only what a run writes (and the marker), all regular files.
fn only_own_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.into_iter().all(|e| {
        e.is_ok_and(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (OWN_FILES.contains(&name.as_str()) || name == STAGING_MARKER)
                && e.file_type().is_ok_and(|t| t.is_file())
        })
    })
}

/// An output folder written as one unit: files go into a fresh sibling folder, which
/// replaces `dir` on [`OutputDir::commit`]. Readers see either the previous complete
/// results or the new ones, never a mix and never a truncated file. Dropping it without
/// committing (an error, a panic) removes the temporary folder.
pub struct OutputDir {
    dir: PathBuf,
    tmp: PathBuf,
    token: String,
    /// The staging folder's marker, held locked while this process lives.
    _marker: std::fs::File,
    /// What `dir` held when the run began: anything else found there at the swap was put
    /// there during the run, and is never replaced.
    names_at_start: std::collections::BTreeSet<String>,
    committed: bool,
}

/// A bad `--out`: exit 2, naming it.
fn bad_out(dir: &Path, message: String) -> InputError {
    InputError::new(dir, message).field("--out")
}

impl OutputDir {
    /// Stages a new version of `dir`, which must be replaceable ([`check_replaceable`]).
    pub fn create(dir: &Path, force: bool) -> anyhow::Result<OutputDir> {
        check_replaceable(dir, force)?;
        let names_at_start = entry_names(dir)
            .map_err(|e| bad_out(dir, format!("cannot read the output folder: {e}")))?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| {
            bad_out(
                dir,
                format!(
                    "cannot create the output folder's parent {}: {e}",
                    parent.display()
                ),
            )
        })?;
        let base = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        recover_abandoned(&parent);
        let token = random_token();
        let tmp = parent.join(format!(".{base}{STAGED_TAG}tmp-{token}"));
        std::fs::create_dir(&tmp)
            .map_err(|e| bad_out(dir, format!("cannot write into {}: {e}", parent.display())))?;
        let marker = match write_marker(&tmp, &base) {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(anyhow::Error::new(e).context(format!(
                    "locking the staging folder {} (flock)",
                    tmp.display()
                )));
            }
        };
        STAGING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tmp.clone());
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            tmp,
            token,
            _marker: marker,
            names_at_start,
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
    /// neither version is in place; elsewhere (or on a file system without it, such as
    /// NFS) a kill between the two renames leaves the previous version under a hidden,
    /// marked name, which the next run into the same parent puts back
    /// (`recover_abandoned`). Files that appeared in the output folder during the run
    /// are never replaced: the swap is refused (exit 2), or, when they appear during the
    /// swap itself, the previous version is kept under its hidden name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(&self.tmp)? {
            std::fs::File::open(entry?.path())?.sync_all()?;
        }
        let mut staging = STAGING.lock().unwrap_or_else(|e| e.into_inner());
        if !self.tmp.exists() {
            // A signal handler removed it: the run is being interrupted.
            return Err(std::io::Error::other("the run was interrupted").into());
        }
        let now = entry_names(&self.dir)?;
        let appeared: Vec<&String> = now
            .iter()
            .filter(|n| !self.names_at_start.contains(*n) && n.as_str() != STAGING_MARKER)
            .collect();
        if !appeared.is_empty() {
            let shown: Vec<&str> = appeared.iter().take(5).map(|s| s.as_str()).collect();
            return Err(bad_out(
                &self.dir,
                format!(
                    "files appeared in the output folder while sessionsim was writing ({}{}): they are left in place, and the results were not written; move them and run again",
                    shown.join(", "),
                    if appeared.len() > 5 { ", ..." } else { "" }
                ),
            )
            .into());
        }
        let had_old = std::fs::symlink_metadata(&self.dir).is_ok();
        // The staging folder becomes the output: its marker goes. The previous version,
        // about to be moved aside, gets one, so that a kill before it is removed leaves
        // it recognisable (and, on the two-rename path, put back).
        let _ = std::fs::remove_file(self.tmp.join(STAGING_MARKER));
        let _old_marker = if had_old {
            let _ = std::fs::remove_file(self.dir.join(STAGING_MARKER));
            let base = self
                .dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            write_marker(&self.dir, &base).ok()
        } else {
            None
        };
        if had_old && exchange(&self.tmp, &self.dir).is_ok() {
            // `tmp` now holds the previous version.
            self.committed = true;
            staging.retain(|t| *t != self.tmp);
            drop(staging);
            discard_previous(&self.tmp, &self.names_at_start);
            return Ok(());
        }
        let old = sibling(&self.dir, &format!("old-{}", self.token));
        if had_old {
            std::fs::rename(&self.dir, &old)?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.dir) {
            if had_old {
                let _ = std::fs::rename(&old, &self.dir);
                let _ = std::fs::remove_file(self.dir.join(STAGING_MARKER));
            }
            return Err(e.into());
        }
        self.committed = true;
        staging.retain(|t| *t != self.tmp);
        drop(staging);
        if had_old {
            discard_previous(&old, &self.names_at_start);
        }
        Ok(())
    }
}

/// Removes the previous version of an output folder after a swap, unless it holds a
/// name it did not hold when the run began (put there during the swap): then it stays,
/// unmarked, under its hidden name.
fn discard_previous(old: &Path, names_at_start: &std::collections::BTreeSet<String>) {
    let names = entry_names(old).unwrap_or_default();
    if names
        .iter()
        .all(|n| names_at_start.contains(n) || n == STAGING_MARKER)
    {
        let _ = std::fs::remove_dir_all(old);
    } else {
        let _ = std::fs::remove_file(old.join(STAGING_MARKER));
    }
}

/// `.{name}.sessionsim-{what}` beside `dir`.
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent.join(format!(".{base}{STAGED_TAG}{what}"))
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

/// Cleans what killed runs into this parent folder left: a staging folder is removed,
/// and a previous version moved aside by an interrupted swap is put back if nothing
/// replaced it. Only hidden `.{name}.sessionsim-tmp-*` / `-old-*` folders are looked at,
/// and one is touched only when it bears [`STAGING_MARKER`] (a regular file), nobody
/// holds the marker's lock (its writer is gone, wherever it ran), and it holds nothing
/// but the files a run writes. Anything else, a folder of the user's included, is left
/// as it is.
fn recover_abandoned(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix('.') else {
            continue;
        };
        let Some((base, tail)) = rest.rsplit_once(STAGED_TAG) else {
            continue;
        };
        let what = if tail.starts_with("tmp-") {
            "tmp"
        } else if tail.starts_with("old-") {
            "old"
        } else {
            continue;
        };
        if base.is_empty() || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let folder = entry.path();
        let marker = folder.join(STAGING_MARKER);
        if !std::fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let Ok(file) = std::fs::File::open(&marker) else {
            continue;
        };
        // Locked: its writer runs (here or on another node). An error (no lock
        // manager): cannot tell, so leave it.
        if !try_lock(&file).unwrap_or(false) || !only_own_files(&folder) {
            continue;
        }
        let target = parent.join(base);
        if what == "old" && std::fs::symlink_metadata(&target).is_err() {
            if std::fs::rename(&folder, &target).is_ok() {
                let _ = std::fs::remove_file(target.join(STAGING_MARKER));
            }
        } else {
            let _ = std::fs::remove_dir_all(&folder);
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
    out.commit()
}

/// Checks, before any work, that `path` may receive a file sessionsim writes (the
/// population of `calibrate`, its `calibration.csv`): its folder exists, and it is new, or
/// a regular file and `force` is given. Anything else (a folder, a link, a pipe, a device)
/// is refused even with `force`: the rename that writes the file would replace it.
/// `flag` names the option in the message.
pub fn check_new_file(path: &Path, force: bool, flag: &str) -> Result<(), InputError> {
    let bad = |m: String| InputError::new(path, m).field(flag.to_string());
    if path.file_name().is_none() || path.as_os_str().to_string_lossy().ends_with('/') {
        return Err(bad(
            "names a folder: give the path of a file to write".into()
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad(format!("{} is not a folder", parent.display()))),
            Err(_) => {
                return Err(bad(format!(
                    "the folder {} does not exist: create it first",
                    parent.display()
                )))
            }
        }
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(bad(format!("cannot inspect it: {e}"))),
        Ok(m) if m.is_file() => {
            if force {
                Ok(())
            } else {
                Err(bad(
                    "exists: sessionsim does not overwrite a file unless --force is given".into(),
                ))
            }
        }
        Ok(m) => {
            let what = if m.is_dir() {
                "a folder"
            } else if m.file_type().is_symlink() {
                "a symbolic link"
            } else {
                "not a regular file (a pipe, a socket or a device)"
            };
            Err(bad(format!(
                "exists and is {what}: sessionsim only replaces regular files, even with --force"
            )))
        }
    }
}

/// Whether two paths name the same existing file or folder (the same device and inode
/// on Unix; the same canonical path elsewhere).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        x.dev() == y.dev() && x.ino() == y.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (x, y);
        std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
    }
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
    let tmp = dir.join(format!(".{name}.sessionsim-{}.tmp", random_token()));
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

    /// A folder as a killed run leaves it: marked, unlocked, holding a run's files.
    fn abandoned(parent: &Path, name: &str, summary: &[u8]) -> PathBuf {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).unwrap();
        drop(write_marker(&dir, "out").unwrap());
        std::fs::write(dir.join("manifest.json"), br#"{"tool": "sessionsim"}"#).unwrap();
        std::fs::write(dir.join("summary.csv"), summary).unwrap();
        dir
    }

    #[test]
    fn a_swap_interrupted_between_renames_is_put_back() {
        // Regression: a kill between the two renames of the final swap could lose both
        // versions. A dead writer's moved-aside version is restored by the next run.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let old = abandoned(
            tmp.path(),
            ".out.sessionsim-old-0123456789abcdef",
            b"previous",
        );
        let half = abandoned(tmp.path(), ".out.sessionsim-tmp-fedcba9876543210", b"half");
        recover_abandoned(tmp.path());
        assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), b"previous");
        assert!(!dir.join(STAGING_MARKER).exists(), "the marker goes");
        assert!(!half.exists() && !old.exists());
    }

    #[test]
    fn folders_sessionsim_did_not_mark_are_never_touched() {
        // Regression (issue 35): any `.NAME.tmp-DIGITS` folder whose number was not a
        // running process was deleted, and any `.NAME.old-DIGITS` renamed to NAME.
        let tmp = tempfile::tempdir().unwrap();
        let mut kept = Vec::new();
        for name in [
            ".out.tmp-999999999",
            ".out.old-999999999",
            ".out.sessionsim-tmp-0000000000000000",
            ".out.sessionsim-old-0000000000000000",
        ] {
            let d = tmp.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("summary.csv"), b"mine").unwrap();
            kept.push(d);
        }
        // Marked, but holding a file a run does not write.
        let foreign = abandoned(tmp.path(), ".data.sessionsim-tmp-1111111111111111", b"x");
        std::fs::write(foreign.join("thesis.docx"), b"years").unwrap();
        kept.push(foreign);
        // Marked, but its writer is alive (another node, as far as we can tell): locked.
        let live = abandoned(tmp.path(), ".shard.sessionsim-tmp-2222222222222222", b"x");
        let lock = std::fs::File::open(live.join(STAGING_MARKER)).unwrap();
        assert!(try_lock(&lock).unwrap());
        kept.push(live);
        // A marker that is a link is not a marker.
        let linked = tmp.path().join(".link.sessionsim-old-3333333333333333");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", linked.join(STAGING_MARKER)).unwrap();
        kept.push(linked);
        recover_abandoned(tmp.path());
        for d in &kept {
            assert!(d.is_dir(), "{} kept", d.display());
        }
        for name in ["out", "data", "shard", "link"] {
            assert!(!tmp.path().join(name).exists(), "{name} not created");
        }
        drop(lock);
    }

    #[test]
    fn a_file_put_into_the_output_folder_during_a_run_is_kept() {
        // Regression (issue 35): the final swap deleted it with the previous version.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let manifest = (
            "manifest.json".to_string(),
            br#"{"tool": "sessionsim"}"#.to_vec(),
        );
        write_dir_atomically(&dir, std::slice::from_ref(&manifest), false).unwrap();
        let staged = OutputDir::create(&dir, false).unwrap();
        staged.write(&manifest.0, &manifest.1).unwrap();
        staged.write("summary.csv", b"new").unwrap();
        std::fs::write(dir.join("notes.txt"), b"written meanwhile").unwrap();
        let err = staged.commit().unwrap_err();
        let input = err.downcast_ref::<InputError>().expect("exit 2");
        assert!(input.message.contains("notes.txt"), "{input}");
        assert_eq!(
            std::fs::read(dir.join("notes.txt")).unwrap(),
            b"written meanwhile"
        );
        assert!(!dir.join("summary.csv").exists(), "the folder is as it was");
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no staging folder left");
        // A folder created where there was none counts too.
        let fresh = tmp.path().join("fresh");
        let staged = OutputDir::create(&fresh, false).unwrap();
        std::fs::create_dir(&fresh).unwrap();
        std::fs::write(fresh.join("mine.txt"), b"x").unwrap();
        assert!(staged.commit().is_err());
        assert!(fresh.join("mine.txt").exists());
    }

    #[test]
    fn a_staging_folder_is_marked_and_locked_while_it_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let staged = OutputDir::create(&dir, false).unwrap();
        let marker = staged.tmp.join(STAGING_MARKER);
        let other = std::fs::File::open(&marker).unwrap();
        assert!(!try_lock(&other).unwrap(), "held by its writer");
        // Another run into the same parent leaves it alone.
        write_dir_atomically(&tmp.path().join("other"), &[], false).unwrap();
        assert!(staged.tmp.is_dir());
        staged.write("summary.csv", b"1").unwrap();
        staged.commit().unwrap();
        assert!(
            !dir.join(STAGING_MARKER).exists(),
            "no marker in the results"
        );
        assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), b"1");
    }
}
