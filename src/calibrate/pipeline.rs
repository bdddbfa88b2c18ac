//! `sessionsim calibrate` from end to end: a population fitted to the tenant's own
//! sign-in logs, and a check of the simulation against them.
//!
//! 1. The logs stream through [`LogSummary`] (per-user, per-day aggregates), read by
//!    [`log_reader`].
//! 2. Users form personas (by a `--group-by` field, or by behaviour) and each persona gets
//!    first estimates straight from the log ([`initial_fit`]).
//! 3. What a log shows only indirectly (the working day behind the first and last sign-in,
//!    foreground sessions behind token refreshes, days worked behind days with sign-ins) is
//!    corrected by simulation: each persona is simulated, its simulated log summarised by
//!    the same code, and the parameters moved by the difference (additively for times,
//!    proportionally for rates). A few rounds suffice.
//! 4. With the tenant's current policies, the fitted population is simulated under them and
//!    the prompts per user-day compared with the log's, cell by cell
//!    ([`crate::calibrate::check`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::calibrate::check::{check_rows, residual_warning, CheckRow, MAX_RESIDUAL};
use crate::calibrate::directory::{Directory, Membership};
use crate::calibrate::fit::{
    cluster_personas, group_personas, initial_fit, population_toml, Behaviour, FitOptions,
    FittedPersona, LogSummary, Moments, PersonaGroup, Provenance, Template, UserView,
};
use crate::calibrate::log_reader::{self, ReadOptions, ReadReport};
use crate::error::{plural, InputError};
use crate::output::signinlog::{LogBuffer, SIGNIN_HEADER};
use crate::study::experiment::{Experiment, RunOptions, DEFAULT_START_DAY};
use crate::study::runner::{self, RowSink};
use crate::world::app::{App, DeviceTrust};
use crate::world::population::Population;

/// What `calibrate` was asked to do.
#[derive(Clone, Debug)]
pub struct CalibrateOptions {
    pub logs: Vec<PathBuf>,
    /// The population file to write (its name, without extension, names the population).
    pub out: PathBuf,
    /// The tenant's current policies (file or folder): used while fitting and for the check.
    pub policies: Option<PathBuf>,
    pub group_by: Option<String>,
    /// sessionsim's own logs: the run to read (`--design`, `--replicate`).
    pub design: Option<String>,
    pub replicate: Option<String>,
    /// The population whose values fill in what logs cannot show.
    pub template: Option<PathBuf>,
    /// Graph `users?$expand=memberOf`: the groups and roles of the log's users.
    pub directory: Option<PathBuf>,
    pub fit: FitOptions,
    /// Rounds of simulate-and-correct.
    pub rounds: u32,
    /// Users simulated per persona in each round, and in all for the check and each
    /// prediction.
    pub simulated_users: u64,
    pub seed: u64,
    /// Other designs (policy files or folders) to predict with the fitted population,
    /// with the range of what the log cannot show (`predictions.csv`).
    pub predict: Vec<PathBuf>,
}

impl CalibrateOptions {
    pub fn new(logs: Vec<PathBuf>, out: PathBuf) -> Self {
        CalibrateOptions {
            logs,
            out,
            policies: None,
            group_by: None,
            design: None,
            replicate: None,
            template: None,
            directory: None,
            fit: FitOptions::default(),
            rounds: 3,
            simulated_users: 500,
            seed: 1,
            predict: Vec::new(),
        }
    }
}

/// What `calibrate` produced.
pub struct Calibration {
    /// The population's name (the output file's stem).
    pub name: String,
    /// The population file's text.
    pub population: String,
    pub reports: Vec<(PathBuf, ReadReport)>,
    pub personas: Vec<FittedPersona>,
    pub check: Option<Vec<CheckRow>>,
    /// The logged design, then each `--predict` design, simulated with the fitted
    /// population.
    pub predictions: Vec<Prediction>,
    pub warnings: Vec<String>,
}

/// Stages, for a progress display.
pub enum Progress<'a> {
    Reading(&'a Path),
    /// Rows read so far in the current file.
    Rows(u64),
    Fitting {
        round: u32,
        rounds: u32,
    },
    Checking,
    Predicting(&'a Path),
}

/// A window longer than this (a quarter) is warned about.
const MAX_QUIET_WINDOW_DAYS: u32 = 92;

/// Simulated days: the log's window, in whole weeks, 1 to 4 of them.
fn simulated_days(window_days: u32) -> u32 {
    window_days.div_ceil(7).clamp(1, 4) * 7
}

pub fn calibrate(
    opts: &CalibrateOptions,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<Calibration> {
    let template = match &opts.template {
        // A shipped population by name (`--help` names `quickstart` as the default).
        Some(p) if !p.exists() => Template::shipped(&p.to_string_lossy()).ok_or_else(|| {
            InputError::new(
                p,
                format!(
                    "file not found, and not the name of a shipped population ({})",
                    crate::calibrate::fit::SHIPPED_TEMPLATES
                        .map(|(n, _)| n)
                        .join(", ")
                ),
            )
            .field("--template")
        })?,
        Some(p) => {
            // It must be a population that loads; then its raw values are copied.
            Population::load(p).map_err(|e| {
                crate::study::validate::wrong_kind(
                    p,
                    crate::study::validate::FileKind::Population,
                    e,
                )
                .field("--template")
            })?;
            let text = crate::error::read_text(p)?;
            Template::parse(&p.display().to_string(), &text).map_err(|e| InputError::new(p, e))?
        }
        None => Template::builtin(),
    };
    if let Some(p) = &opts.policies {
        if !p.exists() {
            return Err(InputError::new(p, "file not found")
                .field("--policies")
                .into());
        }
    }
    // 1. Read.
    let read = ReadOptions {
        group_by: opts.group_by.clone(),
        design: opts.design.clone(),
        replicate: opts.replicate.clone(),
    };
    let mut summary = LogSummary::new(opts.fit.utc_offset_seconds);
    let mut reports = Vec::new();
    let mut warnings = Vec::new();
    let mut runs: Vec<(String, String)> = Vec::new();
    for path in &opts.logs {
        progress(Progress::Reading(path));
        summary.begin_file();
        let mut n = 0u64;
        let report = log_reader::read_log(path, &read, &mut |s| {
            summary.add(&s);
            n += 1;
            if n.is_multiple_of(65_536) {
                progress(Progress::Rows(n));
            }
        })?;
        if report.bad > 0 {
            warnings.push(format!(
                "{}: {} of {} rows could not be read and were skipped; {}",
                path.display(),
                report.bad,
                report.rows,
                report.bad_examples.join("; ")
            ));
        }
        file_warnings(path, &report, &mut warnings);
        for r in &report.runs {
            if !runs.contains(r) {
                runs.push(r.clone());
            }
        }
        if runs.len() > 1 {
            // Each file of one run, several runs in all (the designs' logs side by side).
            return Err(log_reader::several_runs(path, &runs).into());
        }
        reports.push((path.clone(), report));
    }
    if (opts.design.is_some() || opts.replicate.is_some())
        && !reports
            .iter()
            .any(|(_, r)| r.format.is_some_and(|f| f.simulator()))
    {
        warnings.push(
            "--design and --replicate pick a run of sessionsim's own logs; none of the logs is one, so they were ignored"
                .to_string(),
        );
    }
    let periods = summary.periods();
    if periods.len() > 1 {
        warnings.push(format!(
            "the logs cover {} separate periods ({}): each user is measured against the days of the files its sign-ins are in",
            periods.len(),
            periods_text(&summary)
        ));
    }
    if summary.window_days() > MAX_QUIET_WINDOW_DAYS {
        let (first, last) = summary.window();
        warnings.push(format!(
            "the logs span {} days ({first} to {last}): calibrate expects one to four weeks, and a work pattern fitted over a much longer window (or from a few rows with wrong dates) is diluted; export a shorter period",
            summary.window_days()
        ));
    }
    let out_of_range: u64 = reports.iter().map(|(_, r)| r.out_of_range).sum();
    if out_of_range > 0 {
        warnings.push(format!(
            "{} dated outside the years {}-{} (or with an offset from UTC beyond ±14:00) skipped",
            plural(out_of_range, "row"),
            crate::engine::calendar::LOG_YEARS.0,
            crate::engine::calendar::LOG_YEARS.1
        ));
    }
    let other: u64 = reports
        .iter()
        .map(|(_, r)| r.other_apps.values().sum::<u64>())
        .sum();
    let mut other_names = String::new();
    if other > 0 {
        let mut names: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for (_, r) in &reports {
            for (k, v) in &r.other_apps {
                *names.entry(k).or_default() += v;
            }
        }
        let mut top: Vec<(&str, u64)> = names.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(5)
            .map(|(k, v)| format!("{k} ({v})"))
            .collect();
        other_names = format!(
            "{}{}",
            shown.join(", "),
            if top.len() > 5 { ", ..." } else { "" }
        );
        warnings.push(format!(
            "{other} of {} sign-ins are to apps the simulator does not model (counted as working time, not as apps): {other_names}",
            summary.rows,
        ));
    }
    for (what, n) in [
        ("device trust (deviceDetail)", summary.rows_with_device),
        (
            "authentication methods (authenticationDetails)",
            summary.rows_with_credential,
        ),
        (
            "network locations (networkLocationDetails)",
            summary.rows_with_location,
        ),
    ] {
        if n == 0 {
            warnings.push(format!(
                "no row shows {what}: the population takes these values from the template"
            ));
        }
    }
    if summary.users() == 0 {
        let attackers: u64 = reports.iter().map(|(_, r)| r.attacker_rows).sum();
        return Err(InputError::new(
            &opts.logs[0],
            format!(
                "no sign-in of a user in {}: {} (simulated attacker rows are not the tenant's users); give logs of the tenant's own sign-ins",
                plural(opts.logs.len() as u64, "log"),
                if attackers > 0 {
                    format!("every row used is one of the {attackers} simulated attacker rows")
                } else {
                    "no row could be used".to_string()
                }
            ),
        )
        .field("LOG")
        .into());
    }
    // 2. Personas and first estimates.
    summary.align_days(&opts.fit);
    let views = summary.user_views(&opts.fit);
    let memberships = match &opts.directory {
        Some(path) => Some(directory_memberships(path, opts, &views, &mut warnings)?),
        None => None,
    };
    let groups = match &opts.group_by {
        Some(field) => group_personas(&summary, &views, &opts.fit, field, memberships.as_deref()),
        None => cluster_personas(&views, &opts.fit, memberships.as_deref()),
    };
    let mut personas: Vec<FittedPersona> = groups
        .iter()
        .map(|g| {
            let m = summary.moments(&views, &g.members, &opts.fit);
            let mut p = initial_fit(g, m, views.len(), &opts.fit);
            if let (Some(all), Some(member)) = (&memberships, &g.membership) {
                let holding = g.members.iter().filter(|&&i| all[i] == *member).count();
                if holding < g.members.len() {
                    warnings.push(format!(
                        "persona {}: {} of its {} users hold other groups or roles than the persona's (too few to be a persona of their own); policies that name them apply as to the persona",
                        p.name,
                        g.members.len() - holding,
                        g.members.len()
                    ));
                }
                p.membership = Some((member.clone(), holding));
            }
            p
        })
        .collect();
    // A persona needs an app the simulator models. Users who sign in to none (only to
    // Windows, or to apps it does not model) cannot be simulated: they are left out,
    // and said so; with none left there is nothing to fit.
    let (kept, appless): (Vec<(FittedPersona, &PersonaGroup)>, Vec<_>) = personas
        .into_iter()
        .zip(&groups)
        .partition(|(p, _)| !p.apps.is_empty());
    let (kept, kept_groups): (Vec<FittedPersona>, Vec<&PersonaGroup>) = kept.into_iter().unzip();
    let appless: Vec<FittedPersona> = appless.into_iter().map(|(p, _)| p).collect();
    if !appless.is_empty() {
        let users: usize = appless.iter().map(|p| p.observed.users).sum();
        if kept.is_empty() {
            return Err(InputError::new(
                &opts.logs[0],
                format!(
                    "none of the {} in {} signs in to an app the simulator models ({}) often enough to fit a persona: {}; see docs/model.md, \"Calibration\", for how apps are recognised",
                    plural(users as u64, "user"),
                    plural(opts.logs.len() as u64, "log"),
                    App::ALL.map(|a| a.name()).join(", "),
                    if other > 0 {
                        format!(
                            "{other} of the {} sign-ins are to other apps: {other_names}",
                            summary.rows
                        )
                    } else {
                        "the sign-ins are to Windows or to no app".to_string()
                    }
                ),
            )
            .field("LOG")
            .into());
        }
        warnings.push(format!(
            "{} ({}) sign in to no app the simulator models often enough, only to Windows or to other apps: left out of the population",
            plural(users as u64, "user"),
            appless.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    personas = kept;
    // The users of the population: those of the personas kept. The others are neither
    // simulated nor in the check.
    let kept_users: usize = personas.iter().map(|p| p.observed.users).sum();
    for p in &mut personas {
        p.share = p.observed.users as f64 / kept_users.max(1) as f64;
    }
    // Each kept user's persona, by index into `views`.
    let mut persona_of: Vec<Option<usize>> = vec![None; views.len()];
    for (k, g) in kept_groups.iter().enumerate() {
        for &i in &g.members {
            persona_of[i] = Some(k);
        }
    }
    let name = population_name(&opts.out);
    let days = simulated_days(summary.window_days());
    let provenance = Provenance {
        files: opts.logs.iter().map(|p| p.display().to_string()).collect(),
        rows: summary.rows,
        users: kept_users,
        window_days: summary.window_days(),
        utc_offset_seconds: opts.fit.utc_offset_seconds,
        rounds: opts.rounds,
        simulated_users: opts.simulated_users,
    };
    // 3. Correct by simulation, one persona at a time. With the tenant's policies, the
    // behaviour that shows only through prompts is fitted too.
    let fit_behaviour = opts.policies.is_some();
    let mut searches: Vec<BehaviourSearch> = vec![BehaviourSearch::default(); personas.len()];
    if fit_behaviour {
        for p in &mut personas {
            p.behaviour = Some(Behaviour::of_template(&template, &p.name));
        }
    }
    // One persona simulated alone: its simulated log's moments.
    let moments_alone = |p: &FittedPersona, stream: u64| -> anyhow::Result<Moments> {
        let mut alone = p.clone();
        alone.share = 1.0;
        let text = population_toml(&name, std::slice::from_ref(&alone), &template, &provenance);
        let population = parse_fitted(&opts.out, &text)?;
        let (sim, sim_views) = simulate(opts, population, days, stream)?;
        let all: Vec<usize> = (0..sim_views.len()).collect();
        Ok(sim.moments(&sim_views, &all, &opts.fit))
    };
    for round in 1..=opts.rounds {
        progress(Progress::Fitting {
            round,
            rounds: opts.rounds,
        });
        for (i, p) in personas.iter_mut().enumerate() {
            if fit_behaviour && round == 1 {
                searches[i] = BehaviourSearch::bracket(p, |q| moments_alone(q, i as u64))?;
            }
            let m = moments_alone(p, i as u64)?;
            correct(p, &m);
            if fit_behaviour {
                searches[i].correct(p, &m);
            }
        }
    }
    // A population that never signs in reproduces nothing (issue 33: files of different
    // periods measured against one window fitted every workday share to 0, and it
    // validated). Users are now measured against their own files' days; this stays as a
    // check of whatever else could bring it about.
    let silent: Vec<&str> = personas
        .iter()
        .filter(|p| p.workday_share + p.weekend_share < MIN_ACTIVE_SHARE)
        .map(|p| p.name.as_str())
        .collect();
    if !silent.is_empty() {
        let why = format!(
            "persona{} {} would sign in on fewer than {:.0}% of days, although {} users signed in on {:.0}% of the weekdays the logs cover ({})",
            if silent.len() > 1 { "s" } else { "" },
            silent.join(", "),
            MIN_ACTIVE_SHARE * 100.0,
            if silent.len() == personas.len() { "the logs'" } else { "their" },
            100.0
                * personas
                    .iter()
                    .filter(|p| silent.contains(&p.name.as_str()))
                    .map(|p| p.observed.weekday_share)
                    .fold(0.0, f64::max),
            periods_text(&summary)
        );
        if silent.len() == personas.len() {
            return Err(InputError::new(
                &opts.logs[0],
                format!("the fitted population would never sign in: {why}; check the logs' dates, and --utc-offset"),
            )
            .field("LOG")
            .into());
        }
        warnings.push(why);
    }
    let population = population_toml(&name, &personas, &template, &provenance);
    let fitted = parse_fitted(&opts.out, &population)?;
    if let Some(p) = &opts.policies {
        let (set, _) = crate::policy::PolicySet::load(p)?;
        let targeted = set
            .policies
            .iter()
            .filter(|x| {
                let u = &x.conditions.users;
                !u.include_all && (!u.include_roles.is_empty() || !u.include_groups.is_empty())
            })
            .count();
        let members = fitted
            .personas
            .iter()
            .any(|x| !x.roles.is_empty() || !x.groups.is_empty());
        if targeted > 0 && !members {
            warnings.push(format!(
                "{targeted} of the policies apply to directory roles or groups, which sign-in logs do not show: no fitted persona has any, so these policies apply to no simulated user. Name personas after template personas that carry `roles`/`groups` (--group-by a column with those names, --template), or add `roles`/`groups` to {}",
                opts.out.display()
            ));
        }
    }
    // 4. The check.
    let check = match &opts.policies {
        Some(_) => {
            progress(Progress::Checking);
            let (sim, sim_views) = simulate(opts, fitted, days, u64::MAX)?;
            // The users of the population only: those left out are not simulated.
            let kept_views: Vec<UserView> = views
                .iter()
                .zip(&persona_of)
                .filter(|(_, p)| p.is_some())
                .map(|(v, _)| v.clone())
                .collect();
            let kept_personas: Vec<&str> = persona_of
                .iter()
                .flatten()
                .map(|&k| personas[k].name.as_str())
                .collect();
            let names: Vec<&str> = personas.iter().map(|p| p.name.as_str()).collect();
            let rows = check_rows(
                &summary,
                &kept_views,
                &kept_personas,
                &sim,
                &sim_views,
                &names,
            );
            if let Some(all) = rows.first().and_then(|r| r.relative_error()) {
                if all.abs() > MAX_RESIDUAL {
                    warnings.push(residual_warning(all, &rows));
                }
            }
            Some(rows)
        }
        None => None,
    };
    // 5. Predictions: the logged design and each other one, with the fitted population
    // as fitted, and at the two ends of what the log leaves open. For each end, every
    // behaviour value of every persona but the one the fit moved is set to that end of
    // its range, and the moved one fitted again to the log's prompts: the log allows
    // both populations as well as the fitted one, and other designs may tell them apart.
    let mut predictions = Vec::new();
    if let Some(logged) = &opts.policies {
        if !opts.predict.is_empty() {
            progress(Progress::Predicting(logged));
            let mut varied_keys: Vec<String> = Vec::new();
            let mut ends: Vec<Vec<FittedPersona>> = Vec::new();
            for end in [End::Low, End::High] {
                let mut varied = personas.clone();
                for (i, (q, search)) in varied.iter_mut().zip(&searches).enumerate() {
                    let Some(mut b) = q.behaviour else { continue };
                    let moved = search.knobs.first().copied();
                    let open: Vec<Knob> = search
                        .candidates
                        .iter()
                        .copied()
                        .filter(|k| Some(*k) != moved)
                        .collect();
                    for knob in &open {
                        let (lo, hi) = knob.range();
                        knob.set(&mut b, if end == End::Low { lo } else { hi });
                    }
                    let fitted_behaviour = q.behaviour;
                    q.behaviour = Some(b);
                    let consistent = match moved {
                        Some(knob) => refit(knob, q, |x| moments_alone(x, i as u64))?,
                        None => true,
                    };
                    if !consistent {
                        // This end cannot reproduce the log's prompts: not an allowed
                        // population, so the persona stays as fitted.
                        q.behaviour = fitted_behaviour;
                    } else if end == End::Low {
                        varied_keys.extend(open.iter().map(|k| format!("{}.{}", q.name, k.key())));
                    }
                }
                ends.push(varied);
            }
            for design in std::iter::once(logged).chain(&opts.predict) {
                progress(Progress::Predicting(design));
                let prompts = |text: &str| -> anyhow::Result<f64> {
                    // One stream for every design and end: their differences are the
                    // designs' and the values', not sampling noise.
                    let population = parse_fitted(&opts.out, text)?;
                    let (sim, views) =
                        simulate_under(opts, population, days, PREDICTION_STREAM, Some(design))?;
                    let all: Vec<usize> = (0..views.len()).collect();
                    Ok(sim.moments(&views, &all, &opts.fit).prompts_per_user_day())
                };
                let central = prompts(&population)?;
                let mut low = central;
                let mut high = central;
                for varied in &ends {
                    let x = prompts(&population_toml(&name, varied, &template, &provenance))?;
                    low = low.min(x);
                    high = high.max(x);
                }
                predictions.push(Prediction {
                    design: design.clone(),
                    logged: design == logged,
                    prompts: central,
                    low,
                    high,
                    unidentified: varied_keys.clone(),
                });
            }
        }
    }
    Ok(Calibration {
        name,
        population,
        reports,
        personas,
        check,
        predictions,
        warnings,
    })
}

/// The simulation stream of every prediction.
const PREDICTION_STREAM: u64 = u64::MAX - 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Low,
    High,
}

/// A design simulated with the fitted population (`--predict`).
#[derive(Clone, Debug)]
pub struct Prediction {
    /// The design's policies.
    pub design: PathBuf,
    /// Whether it is the logged design (`--policies`).
    pub logged: bool,
    /// Prompts per working user-day, as the log counts them (one per app and quarter
    /// hour), with the population as fitted...
    pub prompts: f64,
    /// ... and the least and most of it with every value the log cannot show at either
    /// end of its range (and the fitted population's own).
    pub low: f64,
    pub high: f64,
    /// The values varied, as `persona.key` (the value the fit moved was fitted again).
    pub unidentified: Vec<String>,
}

/// A persona whose workday and weekend shares add up to less than this never signs in,
/// for all purposes.
const MIN_ACTIVE_SHARE: f64 = 0.01;

/// `2026-01-05 to 2026-01-18, 2026-06-01 to 2026-06-14`.
fn periods_text(summary: &LogSummary) -> String {
    let date = |d: i32| {
        let (y, m, dd) = crate::engine::calendar::civil_from_days(d as i64);
        format!("{y:04}-{m:02}-{dd:02}")
    };
    let periods = summary.periods();
    let shown: Vec<String> = periods
        .iter()
        .take(4)
        .map(|(a, b)| format!("{} to {}", date(*a), date(*b)))
        .collect();
    format!(
        "{}{}",
        shown.join(", "),
        if periods.len() > 4 { ", ..." } else { "" }
    )
}

/// What one file's reading left out or could not tell.
fn file_warnings(path: &Path, r: &ReadReport, warnings: &mut Vec<String>) {
    let name = path.display();
    let legacy: u64 = r.legacy.values().sum();
    if legacy > 0 {
        warnings.push(format!(
            "{name}: {} of legacy authentication left out ({}): a client with a stored password signs in all day without prompts, which is neither a prompt nor the use of an app the simulator models",
            plural(legacy, "sign-in"),
            log_reader::top_of(&r.legacy, 5)
        ));
    }
    if r.not_user_rows > 0 {
        warnings.push(format!(
            "{name}: {} of service principals or managed identities left out (calibrate fits users)",
            plural(r.not_user_rows, "sign-in")
        ));
    }
    let other: u64 = r.other_categories.values().sum();
    if other > 0 {
        warnings.push(format!(
            "{name}: {} of other categories than sign-ins left out ({})",
            plural(other, "record"),
            log_reader::top_of(&r.other_categories, 5)
        ));
    }
    if r.interactive_unknown > 0 {
        warnings.push(format!(
            "{name}: {} of its {} rows say neither isInteractive nor the table they come from (Type, Category, or the admin center's file name InteractiveSignIns_/NonInteractiveSignIns_): they were read as non-interactive, so they count no prompt; export IsInteractive or Type with them",
            r.interactive_unknown,
            r.rows
        ));
    }
    if r.skipped_members_total > 0 {
        let more = r.skipped_members_total - r.skipped_members.len() as u64;
        warnings.push(format!(
            "{name}: {} that {} not sign-in logs left out: {}{}",
            plural(r.skipped_members_total, "member"),
            if r.skipped_members_total == 1 {
                "is"
            } else {
                "are"
            },
            r.skipped_members.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
}

/// The population's name: the output file's stem, in the characters names allow.
fn population_name(out: &Path) -> String {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if name.is_empty() {
        "fitted".into()
    } else {
        name
    }
}

/// Each view's groups and roles from the directory at `path`, restricted to those the
/// policies name (all roles, and no groups, without `--policies`: then nothing says which
/// of the tenant's groups matter).
fn directory_memberships(
    path: &Path,
    opts: &CalibrateOptions,
    views: &[UserView],
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<Membership>> {
    let dir = Directory::load(path)?;
    let named: Option<std::collections::BTreeSet<String>> = match &opts.policies {
        Some(p) => {
            let (set, _) = crate::policy::PolicySet::load(p)?;
            let mut ids = std::collections::BTreeSet::new();
            for pol in &set.policies {
                let u = &pol.conditions.users;
                for list in [
                    &u.include_groups,
                    &u.exclude_groups,
                    &u.include_roles,
                    &u.exclude_roles,
                ] {
                    ids.extend(list.iter().map(|x| x.to_ascii_lowercase()));
                }
            }
            Some(ids)
        }
        None => {
            warnings.push(
                "--directory without --policies: only directory roles are kept (nothing says which groups matter)"
                    .to_string(),
            );
            None
        }
    };
    let mut found = 0usize;
    let out: Vec<Membership> = views
        .iter()
        .map(|v| match dir.of(v.key) {
            Some(m) => {
                found += 1;
                match &named {
                    Some(ids) => m.restricted(&|id: &str| ids.contains(&id.to_ascii_lowercase())),
                    None => Membership {
                        groups: Vec::new(),
                        roles: m.roles.clone(),
                    },
                }
            }
            None => Membership::default(),
        })
        .collect();
    if found < views.len() {
        warnings.push(format!(
            "{}: {found} of the log's {} users are in the directory (matched by userPrincipalName or id); the others hold no group or role",
            path.display(),
            views.len()
        ));
    }
    if dir.skipped > 0 {
        warnings.push(format!(
            "{}: {} user objects without a userPrincipalName or id were skipped",
            path.display(),
            dir.skipped
        ));
    }
    Ok(out)
}

/// The fitted population, read back. The logs were checked for what the population
/// format needs (users, a modelled app per persona, names that do not repeat), so a
/// failure here is calibrate's own: not an input error (exit 1), and not written.
fn parse_fitted(out: &Path, text: &str) -> anyhow::Result<Population> {
    Population::parse(out, text).map_err(|e| {
        anyhow::anyhow!(
            "calibrate fitted a population it cannot read back, so {} was not written; this is a bug of sessionsim, please report it with the command: {e}",
            out.display()
        )
    })
}

/// The simulated log of `population` under the tenant's policies, summarised.
fn simulate(
    opts: &CalibrateOptions,
    population: Population,
    days: u32,
    stream: u64,
) -> Result<(LogSummary, Vec<UserView>), InputError> {
    simulate_under(opts, population, days, stream, opts.policies.as_deref())
}

/// The simulated log of `population` under `policies` (none: no policy), summarised.
fn simulate_under(
    opts: &CalibrateOptions,
    population: Population,
    days: u32,
    stream: u64,
    policies: Option<&Path>,
) -> Result<(LogSummary, Vec<UserView>), InputError> {
    let policies = match policies {
        Some(p) => {
            let abs = std::fs::canonicalize(p).map_err(|e| InputError::new(p, e.to_string()))?;
            format!(
                "policies = {}\n",
                toml::Value::String(abs.display().to_string())
            )
        }
        None => String::new(),
    };
    let users = opts.simulated_users.max(1);
    let source = format!(
        "name = \"calibration\"\npopulation = \"(fitted)\"\nusers = {users}\ndays = {days}\nreplicates = 1\nseed = {}\n\n[threat]\nenabled = false\n\n[[design]]\nname = \"current\"\n{policies}",
        // TOML integers are signed: the stream's seed stays below 2^63 (the check's
        // stream, u64::MAX, would otherwise give `seed = 18446744073709551615` for
        // --seed 0).
        opts.seed.wrapping_add(stream) & (i64::MAX as u64)
    );
    let path = opts.out.with_extension("calibration.toml");
    let exp = Experiment::with_population(&path, &source, population)?;
    let mut summary = LogSummary::new(0);
    summary.set_window(
        DEFAULT_START_DAY as i32,
        (DEFAULT_START_DAY + days as i64 - 1) as i32,
    );
    let mut sink = SummarySink {
        summary: &mut summary,
        error: None,
    };
    let run_opts = RunOptions {
        signin_log: true,
        ..RunOptions::default()
    };
    runner::run(&exp, &run_opts, &|_, _| {}, Some(&mut sink))
        .map_err(|e| InputError::new(&path, format!("simulation failed: {e}")))?;
    if let Some(e) = sink.error {
        return Err(e);
    }
    summary.align_days(&opts.fit);
    let views = summary.user_views(&opts.fit);
    Ok((summary, views))
}

/// Feeds simulated sign-in rows, as `run --signin-log` would write them, to a summary.
struct SummarySink<'a> {
    summary: &'a mut LogSummary,
    error: Option<InputError>,
}

impl RowSink for SummarySink<'_> {
    fn write(&mut self, signins: &mut LogBuffer, _users: &[u8]) -> std::io::Result<()> {
        // The calibration's runs ask for CSV rows (the default format).
        let LogBuffer::Csv(signins) = signins else {
            return Err(std::io::Error::other("calibration reads CSV sign-in rows"));
        };
        if signins.is_empty() || self.error.is_some() {
            return Ok(());
        }
        let input = SIGNIN_HEADER.as_bytes().chain(signins.as_slice());
        let summary = &mut *self.summary;
        // The persona column names each simulated user's persona, for the check's cells.
        let options = ReadOptions {
            group_by: Some("persona".into()),
            ..ReadOptions::default()
        };
        if let Err(e) = log_reader::read_csv_stream(
            Path::new("(simulated signins.csv)"),
            input,
            &options,
            &mut |s| summary.add(&s),
        ) {
            self.error = Some(e);
        }
        Ok(())
    }
}

/// Moves a persona's parameters by the difference between what its simulated log shows
/// and what the tenant's log shows.
fn correct(p: &mut FittedPersona, sim: &Moments) {
    let obs = &p.observed;
    const MINUTE: f64 = 60.0;
    // A night worker's day runs past midnight: first sign-ins are counted from the
    // previous midnight (`LogSummary::align_days`), so a start may exceed a day.
    p.start = (p.start + obs.first.mean() - sim.first.mean()).clamp(0.0, 2.0 * 86_400.0 - MINUTE);
    p.length =
        (p.length + obs.span.mean() - sim.span.mean()).clamp(30.0 * MINUTE, 86_400.0 - MINUTE);
    let scale = |x: f64, o: f64, s: f64, max: f64| {
        if s > 1e-9 {
            (x * o / s).clamp(0.0, max)
        } else if o > 1e-9 {
            // The simulation shows none: start from the observed value.
            o.min(max)
        } else {
            x
        }
    };
    p.start_jitter = scale(p.start_jitter, obs.first.sd(), sim.first.sd(), 6.0 * 3600.0);
    p.length_jitter = scale(p.length_jitter, obs.span.sd(), sim.span.sd(), 6.0 * 3600.0);
    p.workday_share = scale(p.workday_share, obs.weekday_share, sim.weekday_share, 1.0);
    p.weekend_share = scale(p.weekend_share, obs.weekend_share, sim.weekend_share, 1.0);
    for a in p.apps.iter_mut().filter(|a| !a.background) {
        let i = a.app.index();
        a.sessions = scale(a.sessions, obs.slots_per_day[i], sim.slots_per_day[i], 48.0);
    }
}

/// The search that fits a persona's [`Behaviour`] to its prompts. The log cannot tell
/// the prompts of a behaviour from those of sign-in frequency or a policy's MFA; a
/// simulation that runs the tenant's policies can. The candidates, in order: the share
/// who sign out (devices with a PRT only), the share of non-persistent cookies, browser
/// restarts. Each is kept only if its two ends, simulated, differ by more than sampling
/// noise under those policies (a persistent-browser policy makes the cookie share
/// irrelevant, for instance). The first kept is moved by secant steps; when it reaches
/// the end of its range with prompts still to gain or lose, the next one takes over.
#[derive(Clone, Debug, Default)]
struct BehaviourSearch {
    knobs: Vec<Knob>,
    secant: Secant,
    /// Every value the persona's prompts may depend on (`--predict` varies them).
    candidates: Vec<Knob>,
}

/// A behaviour value, transformed so that prompts rise with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Knob {
    SignOut,
    /// 1 − `kmsi_accept`: the share of cookies that die with the browser.
    NonPersistent,
    BrowserRestarts,
}

/// Browser restarts per workday the fit may reach: one an hour.
const MAX_BROWSER_RESTARTS: f64 = 12.0;

impl Knob {
    /// The population key it sets.
    fn key(self) -> &'static str {
        match self {
            Knob::SignOut => "work.sign_out_share",
            Knob::NonPersistent => "kmsi_accept",
            Knob::BrowserRestarts => "work.browser_restarts",
        }
    }

    fn range(self) -> (f64, f64) {
        match self {
            Knob::SignOut | Knob::NonPersistent => (0.0, 1.0),
            Knob::BrowserRestarts => (0.0, MAX_BROWSER_RESTARTS),
        }
    }

    fn get(self, b: &Behaviour) -> f64 {
        match self {
            Knob::SignOut => b.sign_out_share,
            Knob::NonPersistent => 1.0 - b.kmsi_accept,
            Knob::BrowserRestarts => b.browser_restarts,
        }
    }

    fn set(self, b: &mut Behaviour, x: f64) {
        let (lo, hi) = self.range();
        let x = x.clamp(lo, hi);
        match self {
            Knob::SignOut => b.sign_out_share = x,
            Knob::NonPersistent => b.kmsi_accept = 1.0 - x,
            Knob::BrowserRestarts => b.browser_restarts = x,
        }
    }
}

impl BehaviourSearch {
    /// Finds the knobs that move the persona's prompts, and starts the first where a
    /// straight line between its simulated ends meets the observed prompts. Without one,
    /// the template's values stay.
    fn bracket(
        p: &mut FittedPersona,
        mut simulate: impl FnMut(&FittedPersona) -> anyhow::Result<Moments>,
    ) -> anyhow::Result<BehaviourSearch> {
        let Some(start) = p.behaviour else {
            return Ok(BehaviourSearch::default());
        };
        let with_prt = p.devices.map_or(0.0, |d| {
            d[DeviceTrust::EntraJoined.index()] + d[DeviceTrust::HybridJoined.index()]
        }) >= 0.5;
        let candidates: &[Knob] = if with_prt {
            &[Knob::SignOut, Knob::NonPersistent, Knob::BrowserRestarts]
        } else {
            &[Knob::NonPersistent, Knob::BrowserRestarts]
        };
        let observed = p.observed.prompts_per_user_day();
        let noise = (0.1 * observed).max(0.02);
        let mut search = BehaviourSearch {
            candidates: candidates.to_vec(),
            ..BehaviourSearch::default()
        };
        for &knob in candidates {
            let (lo, hi) = knob.range();
            let mut at = |x: f64| -> anyhow::Result<f64> {
                let mut q = p.clone();
                if let Some(b) = q.behaviour.as_mut() {
                    knob.set(b, x);
                }
                Ok(simulate(&q)?.prompts_per_user_day())
            };
            let (m_lo, m_hi) = (at(lo)?, at(hi)?);
            if m_hi - m_lo <= noise {
                continue;
            }
            if search.knobs.is_empty() {
                let x = lo + (observed - m_lo) / (m_hi - m_lo) * (hi - lo);
                let mut b = start;
                knob.set(&mut b, x);
                p.behaviour = Some(b);
                // The nearer end is the secant's first point.
                let last = if x - lo < hi - x {
                    (lo, m_lo)
                } else {
                    (hi, m_hi)
                };
                search.secant = Secant { last: Some(last) };
            }
            search.knobs.push(knob);
        }
        Ok(search)
    }

    fn correct(&mut self, p: &mut FittedPersona, sim: &Moments) {
        let (Some(&knob), Some(b)) = (self.knobs.first(), p.behaviour.as_mut()) else {
            return;
        };
        let (lo, hi) = knob.range();
        let (simulated, observed) = (
            sim.prompts_per_user_day(),
            p.observed.prompts_per_user_day(),
        );
        let x = knob.get(b);
        // At an end with prompts still to gain (or lose) there: the next knob's turn.
        let spent = (x >= hi && observed > simulated) || (x <= lo && observed < simulated);
        if spent && self.knobs.len() > 1 {
            self.knobs.remove(0);
            self.secant = Secant::default();
            return self.correct(p, sim);
        }
        let next = self.secant.step(x, simulated, observed, hi / 4.0, hi);
        knob.set(b, next);
    }
}

/// Rounds of the secant search that fits the moved value again at an end of the others
/// (`--predict`), and how far from the log's prompts the result may stay: the behaviour
/// fit's noise (10% of the observed prompts, at least 0.02 per user-day).
const REFIT_ROUNDS: u32 = 4;

/// Moves `knob` of `p` until its simulated prompts meet the log's; whether they do.
fn refit(
    knob: Knob,
    p: &mut FittedPersona,
    mut simulate: impl FnMut(&FittedPersona) -> anyhow::Result<Moments>,
) -> anyhow::Result<bool> {
    let observed = p.observed.prompts_per_user_day();
    let noise = (0.1 * observed).max(0.02);
    let (_, hi) = knob.range();
    let mut secant = Secant::default();
    for _ in 0..REFIT_ROUNDS {
        let simulated = simulate(p)?.prompts_per_user_day();
        if (simulated - observed).abs() <= noise {
            return Ok(true);
        }
        let Some(b) = p.behaviour.as_mut() else {
            return Ok(false);
        };
        let x = knob.get(b);
        let next = secant.step(x, simulated, observed, hi / 4.0, hi);
        knob.set(b, next);
    }
    Ok((simulate(p)?.prompts_per_user_day() - observed).abs() <= noise)
}

/// One secant search: the last value tried and the moment it gave.
#[derive(Clone, Copy, Debug, Default)]
struct Secant {
    last: Option<(f64, f64)>,
}

impl Secant {
    /// The next value to try for `x` (which gave `simulated`, against `observed`), within
    /// `[0, max]`; without a usable slope it moves by `probe` towards the target.
    /// Differences within 5% of the observed moment (sampling noise) leave `x` alone.
    fn step(&mut self, x: f64, simulated: f64, observed: f64, probe: f64, max: f64) -> f64 {
        let tolerance = 0.05 * observed.max(0.02);
        let next = if (observed - simulated).abs() <= tolerance {
            x
        } else {
            match self.last {
                Some((px, pm)) if (x - px).abs() > 1e-9 && (simulated - pm) / (x - px) > 0.0 => {
                    let slope = (simulated - pm) / (x - px);
                    // Never more than two probes in one round: simulated moments are noisy.
                    x + ((observed - simulated) / slope).clamp(-2.0 * probe, 2.0 * probe)
                }
                _ => x + probe * (observed - simulated).signum(),
            }
        };
        self.last = Some((x, simulated));
        next.clamp(0.0, max)
    }
}
