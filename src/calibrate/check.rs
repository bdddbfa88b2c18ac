//! The check: the fitted population simulated under the tenant's policies against the
//! log, cell by cell (overall, persona, device type, app, and their crossings), and
//! `calibration.csv`, which holds it.

use std::io::Read;
use std::path::Path;

use crate::calibrate::fit::{LogSummary, UserView};
use crate::world::app::{App, DeviceTrust};

/// One line of the check: observed against simulated prompts per working user-day.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRow {
    /// `all`, `persona`, `device`, `app`, `persona_device` or `persona_app`.
    pub scope: &'static str,
    pub key: String,
    pub observed_user_days: u64,
    pub observed: f64,
    pub simulated_user_days: u64,
    /// `None` where the simulator has no counterpart (apps it does not model).
    pub simulated: Option<f64>,
}

impl CheckRow {
    /// simulated − observed prompts per working user-day.
    pub fn residual(&self) -> Option<f64> {
        self.simulated.map(|s| s - self.observed)
    }

    /// (simulated − observed) / observed.
    pub fn relative_error(&self) -> Option<f64> {
        match self.simulated {
            Some(s) if self.observed > 0.0 => Some((s - self.observed) / self.observed),
            _ => None,
        }
    }
}

/// The overall residual of the check beyond which calibrate warns.
pub(super) const MAX_RESIDUAL: f64 = 0.10;

/// The warning for an overall residual beyond [`MAX_RESIDUAL`], naming the persona cell
/// that misses by the most prompts.
pub(super) fn residual_warning(all: f64, rows: &[CheckRow]) -> String {
    let worst = rows
        .iter()
        .filter(|r| r.scope == "persona")
        .filter_map(|r| Some((r, r.residual()? * r.observed_user_days as f64)))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    format!(
        "the fitted population's prompts per working user-day differ from the log's by {:+.1}% overall, more than {:.0}%{}: calibration.csv shows the residual (simulated − observed) of each persona, device type and app; more --rounds or --simulated-users, a --group-by that separates behaviours, --directory for role- or group-targeted policies, or tenant settings a policy export does not carry (remember MFA, KMSI, CAE) may close it",
        all * 100.0,
        MAX_RESIDUAL * 100.0,
        match worst {
            Some((r, _)) => format!(
                "; the largest miss is persona {} ({:.3} simulated against {:.3} observed over {} user-days)",
                r.key,
                r.simulated.unwrap_or(0.0),
                r.observed,
                r.observed_user_days
            ),
            None => String::new(),
        }
    )
}

/// Working user-days and prompts of one cell of the check.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    user_days: u64,
    prompts: u64,
}

/// The cells of one side of the check: `(scope, key)` → days and prompts.
type Cells = std::collections::HashMap<(&'static str, String), Cell>;

/// Adds each user's working days and prompts to the cells it belongs to: overall, its
/// persona, its main device, each app (over all its days), and persona × device and
/// persona × app.
fn cells(summary: &LogSummary, views: &[UserView], persona: &dyn Fn(usize) -> String) -> Cells {
    let mut out = Cells::new();
    let mut add = |scope: &'static str, key: String, days: u64, prompts: u64| {
        let c = out.entry((scope, key)).or_default();
        c.user_days += days;
        c.prompts += prompts;
    };
    for (i, v) in views.iter().enumerate() {
        let up = summary.user_prompts(v.key);
        let (days, modelled) = (up.user_days, up.modelled());
        let p = persona(i);
        add("all", "all".into(), days, modelled);
        add("persona", p.clone(), days, modelled);
        if let Some(d) = v.device {
            add("device", d.name().into(), days, modelled);
            add(
                "persona_device",
                format!("{p}/{}", d.name()),
                days,
                modelled,
            );
        }
        for app in App::ALL {
            let n = up.apps[app.index()];
            add("app", app.name().into(), days, n);
            add("persona_app", format!("{p}/{}", app.name()), days, n);
        }
        add("app", "windows_sign_in".into(), days, up.device);
        add("app", "unmodelled_apps".into(), days, up.other);
    }
    out
}

/// The check, cell by cell: observed against simulated prompts per working user-day.
/// `persona_of` names each view's persona; the simulated users' personas are in their
/// log's `persona` column (their group). Cells are in a fixed order: overall, personas,
/// device types, apps, then persona × device type and persona × app.
pub(super) fn check_rows(
    observed: &LogSummary,
    views: &[UserView],
    persona_of: &[&str],
    simulated: &LogSummary,
    sim_views: &[UserView],
    personas: &[&str],
) -> Vec<CheckRow> {
    let obs = cells(observed, views, &|i| persona_of[i].to_string());
    let sim = cells(simulated, sim_views, &|i| {
        sim_views[i]
            .group
            .map_or("(none)", |g| simulated.group_name(g))
            .to_string()
    });
    let mut keys: Vec<(&'static str, String)> = vec![("all", "all".into())];
    keys.extend(personas.iter().map(|p| ("persona", p.to_string())));
    keys.extend(
        DeviceTrust::ALL
            .iter()
            .map(|d| ("device", d.name().to_string())),
    );
    keys.extend(App::ALL.iter().map(|a| ("app", a.name().to_string())));
    keys.push(("app", "windows_sign_in".into()));
    keys.push(("app", "unmodelled_apps".into()));
    for p in personas {
        keys.extend(
            DeviceTrust::ALL
                .iter()
                .map(|d| ("persona_device", format!("{p}/{}", d.name()))),
        );
    }
    for p in personas {
        keys.extend(
            App::ALL
                .iter()
                .map(|a| ("persona_app", format!("{p}/{}", a.name()))),
        );
    }
    let per = |c: Cell| {
        if c.user_days == 0 {
            0.0
        } else {
            c.prompts as f64 / c.user_days as f64
        }
    };
    let mut rows = Vec::new();
    for (scope, key) in keys {
        let k = (scope, key);
        let (o, s) = (
            obs.get(&k).copied().unwrap_or_default(),
            sim.get(&k).copied().unwrap_or_default(),
        );
        let by_prompts = scope == "app" || scope == "persona_app";
        let shown = if by_prompts {
            o.prompts > 0 || s.prompts > 0
        } else {
            o.user_days > 0 || s.user_days > 0
        };
        if !shown {
            continue;
        }
        let unmodelled = k.1 == "unmodelled_apps";
        rows.push(CheckRow {
            scope,
            key: k.1,
            observed_user_days: o.user_days,
            observed: per(o),
            simulated_user_days: s.user_days,
            simulated: (!unmodelled && s.user_days > 0).then(|| per(s)),
        });
    }
    rows
}

/// The first columns of `calibration.csv`.
const CALIBRATION_HEADER: &str = "scope,key,observed_user_days,";

/// Whether `path` is a `calibration.csv` that calibrate wrote (its header says so): the
/// next calibration in the same folder replaces it.
pub fn is_calibration_csv(path: &Path) -> bool {
    starts_with(path, CALIBRATION_HEADER)
}

/// Whether `path` is a regular file whose first bytes are `header`.
fn starts_with(path: &Path, header: &str) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].starts_with(header.as_bytes())
}

/// `calibration.csv`: the check's cells, with the population they check.
pub fn calibration_csv(rows: &[CheckRow], population: &str) -> String {
    let mut out = format!(
        "{CALIBRATION_HEADER}observed_prompts_per_user_day,simulated_user_days,simulated_prompts_per_user_day,relative_error,residual,population\n"
    );
    let population = csv_field(population);
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{:.4},{},{},{},{},{}\n",
            r.scope,
            csv_field(&r.key),
            r.observed_user_days,
            r.observed,
            r.simulated_user_days,
            r.simulated.map_or(String::new(), |s| format!("{s:.4}")),
            r.relative_error()
                .map_or(String::new(), |e| format!("{e:.4}")),
            r.residual().map_or(String::new(), |e| format!("{e:.4}")),
            population,
        ));
    }
    out
}

/// The first columns of `predictions.csv`.
const PREDICTIONS_HEADER: &str = "design,logged,prompts_per_user_day,";

/// Whether `path` is a `predictions.csv` that calibrate wrote (its header says so).
pub fn is_predictions_csv(path: &Path) -> bool {
    starts_with(path, PREDICTIONS_HEADER)
}

/// `predictions.csv`: each design simulated with the fitted population, and the range
/// its prompts take when what the log cannot show varies (docs/formats.md).
pub fn predictions_csv(
    rows: &[crate::calibrate::pipeline::Prediction],
    population: &str,
) -> String {
    let mut out = format!("{PREDICTIONS_HEADER}low,high,unidentified,population\n");
    let population = csv_field(population);
    for r in rows {
        out.push_str(&format!(
            "{},{},{:.4},{:.4},{:.4},{},{}\n",
            csv_field(&r.design.display().to_string()),
            r.logged,
            r.prompts,
            r.low,
            r.high,
            csv_field(&r.unidentified.join(" ")),
            population,
        ));
    }
    out
}

/// A CSV field, quoted when it must be (persona names come from `--group-by` values).
fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}
