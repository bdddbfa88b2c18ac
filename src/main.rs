//! The `sessionsim` command line: argument parsing, progress display and exit codes.
//!
//! Exit codes: 0 success, 2 bad input (an [`InputError`] naming the file and field), 1 any
//! other failure. All the work happens in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use sessionsim::error::{clip, plural, InputError, MAX_MESSAGE_CHARS};

#[derive(Parser)]
#[command(name = "sessionsim", version, about = "Simulates Microsoft Entra ID session lifecycles: sign-in prompts against token-theft exposure", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment: every design over the population, written to CSV.
    Run(RunArgs),
    /// Print a scripted single-user scenario's timeline as CSV.
    Trace {
        /// Scenario file (models/scenarios/*.toml).
        scenario: PathBuf,
    },
    /// Check model, policy, scenario or experiment files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// In a folder of policy exports, skip (and report) files that fail to load.
        #[arg(long = "skip-invalid")]
        skip_invalid: bool,
    },
    /// Combine the outputs of `run --shard K/N` into the files a single run writes.
    Merge {
        /// Shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Replace an earlier output folder of sessionsim even if it holds other files.
        #[arg(long)]
        force: bool,
    },
    /// Evaluate one sign-in against a policy set, like Entra's What If tool.
    Whatif(Box<WhatifArgs>),
    /// Fit a population to the tenant's sign-in logs; with --policies, compare simulated
    /// and observed prompts (calibration.csv).
    Calibrate(CalibrateArgs),
    /// Vary each assumed parameter across its documented range: which assumptions could
    /// overturn the recommendation (sensitivity.csv, sensitivity.svg, report.md).
    Sensitivity(SensitivityArgs),
}

#[derive(Args)]
struct SensitivityArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Output folder [default: output/<experiment name>-sensitivity/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    study: StudyOverrides,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    /// Replace an earlier output folder of sessionsim even if it holds other files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct CalibrateArgs {
    /// Sign-in logs: Graph signIns JSON (pages, arrays, JSON lines), the admin center's CSV
    /// download, Log Analytics SigninLogs exports (CSV or JSON), or sessionsim's signins.csv.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// The population file to write (models/populations/NAME.toml).
    #[arg(long)]
    out: PathBuf,
    /// The tenant's current policies (a Graph JSON file or folder): simulated while fitting,
    /// and compared with the log (calibration.csv next to --out).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// A field or column naming each user's persona (e.g. department); nested JSON fields
    /// with dots. Without it, personas come from behaviour.
    #[arg(long = "group-by")]
    group_by: Option<String>,
    /// The population whose values fill in what logs cannot show: a population file, or
    /// the name of a shipped one (quickstart, enterprise, byod) [default: quickstart].
    #[arg(long)]
    template: Option<PathBuf>,
    /// sessionsim's own logs hold every design and replicate of a run, which are not one
    /// tenant: the design to read (its `design` column).
    #[arg(long, value_name = "NAME")]
    design: Option<String>,
    /// With --design: the replicate to read (its `replicate` column, from 0).
    #[arg(long, value_name = "N")]
    replicate: Option<u32>,
    /// Another design (policy file or folder) to simulate with the fitted population;
    /// repeatable. predictions.csv beside --out gives its prompts per working user-day,
    /// and their range when the values the log cannot show vary. Needs --policies.
    #[arg(long, value_name = "POLICIES", requires = "policies")]
    predict: Vec<PathBuf>,
    /// Microsoft Graph `GET /users?$expand=memberOf` output (pages, an array or one user
    /// per line): the groups and directory roles of the log's users, so that policies
    /// naming them apply as in the tenant. Only ids are read.
    #[arg(long, value_name = "USERS.json")]
    directory: Option<PathBuf>,
    /// The tenant's offset from UTC, e.g. +01:00 or -05:00: work patterns are local.
    #[arg(
        long = "utc-offset",
        default_value = "+00:00",
        allow_hyphen_values = true
    )]
    utc_offset: String,
    /// Rounds of simulate-and-correct.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Users simulated per persona in each round, and in all for the check and for each
    /// --predict design: 10 to 100,000
    /// (about 1.3 KB of memory each).
    #[arg(long = "simulated-users", default_value_t = 500)]
    simulated_users: u64,
    /// Seed of the simulations, 0 to 2^63-1.
    #[arg(long, default_value_t = 1, value_parser = seed_parser())]
    seed: u64,
    /// Worker threads for the simulations [default: all cores]. Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Replace --out if it exists, and a calibration.csv beside it that calibrate did not
    /// write (its own is replaced by the next calibration in the same folder).
    #[arg(long)]
    force: bool,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

/// What `run` and `sensitivity` may change in the experiment, read alike by both.
#[derive(Args)]
struct StudyOverrides {
    /// Users per replicate [default: the experiment's `users`].
    #[arg(long)]
    users: Option<u64>,
    /// Replicates [default: the experiment's `replicates`].
    #[arg(long)]
    replicates: Option<u32>,
    /// The run's seed, 0 to 2^63-1 [default: the experiment's].
    #[arg(long, value_parser = seed_parser())]
    seed: Option<u64>,
    /// Add replicates until every deciding paired difference has a 95% half-width within
    /// this share of the larger value, e.g. 5% (sensitivity: the experiment as it is
    /// first, then every value with the replicates it reached) [default: the
    /// experiment's `precision`].
    #[arg(long, value_name = "SHARE")]
    precision: Option<String>,
}

impl StudyOverrides {
    /// The options these set, the rest at their defaults.
    fn options(&self) -> Result<sessionsim::study::experiment::RunOptions> {
        let precision = self
            .precision
            .as_deref()
            .map(|p| {
                sessionsim::study::experiment::parse_precision(p)
                    .map_err(|e| InputError::new("<command line>", format!("--precision {e}")))
            })
            .transpose()?;
        Ok(sessionsim::study::experiment::RunOptions {
            users: self.users,
            replicates: self.replicates,
            seed: self.seed,
            precision,
            ..Default::default()
        })
    }
}

/// Loads an experiment, naming a file of another kind as such.
fn load_experiment(path: &std::path::Path) -> Result<sessionsim::study::experiment::Experiment> {
    use sessionsim::study::validate::{wrong_kind, FileKind};
    Ok(sessionsim::study::experiment::Experiment::load(path)
        .map_err(|e| wrong_kind(path, FileKind::Experiment, e))?)
}

#[derive(Args)]
struct RunArgs {
    /// Experiment file (experiments/*.toml).
    experiment: PathBuf,
    /// Output folder [default: output/<experiment name>/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    study: StudyOverrides,
    /// Days counted [default: the experiment's `days`].
    #[arg(long)]
    days: Option<u32>,
    /// Simulate only shard K of N (e.g. 2/3); combine shards with `merge`.
    #[arg(long)]
    shard: Option<String>,
    /// Also write the sign-in log, one row per Entra evaluation (signins.csv).
    #[arg(long = "signin-log")]
    signin_log: bool,
    /// The sign-in log's format: csv (signins.csv) or parquet (signins.parquet, typed
    /// columns, zstd). Implies --signin-log.
    #[arg(long = "signin-log-format", value_name = "csv|parquet")]
    signin_log_format: Option<String>,
    /// Keep the simulated attackers' rows (actor = attacker) in the sign-in log: about
    /// half of a run's rows. Without it the log holds the users' own rows, as a tenant's
    /// does. Implies --signin-log.
    #[arg(long = "signin-log-attackers")]
    signin_log_attackers: bool,
    /// Also write users.csv, one row per simulated user (its attacks and thefts are the
    /// simulated, oversampled ones: see attack_sampling in manifest.json).
    #[arg(long = "per-user")]
    per_user: bool,
    /// How users start: steady (the sessions of a tenant in operation) or cold (no
    /// session at all) [default: the experiment's `start`, steady].
    #[arg(long, value_name = "steady|cold")]
    start: Option<String>,
    /// Days simulated before day 0 and not counted, in whole weeks, e.g. 14d [default:
    /// the experiment's `warmup`; 7d for a steady start, 0d for a cold one].
    #[arg(long, value_name = "DURATION")]
    warmup: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// In folders of policy exports, skip (and report) files that fail to load.
    #[arg(long = "skip-invalid")]
    skip_invalid: bool,
    /// Replace an earlier output folder of sessionsim even if it holds other files (a
    /// folder sessionsim did not write is never replaced).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct WhatifArgs {
    /// Policy file or folder of policy files (Microsoft Graph JSON, as exported).
    #[arg(long, value_name = "FILE|FOLDER")]
    policies: PathBuf,
    /// The user's object id, for policies that include or exclude users by id
    /// [default: a user no policy names].
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// Comma-separated group ids the user belongs to.
    #[arg(long, value_delimiter = ',', value_name = "ID,..")]
    groups: Vec<String>,
    /// Comma-separated directory roles of the user: role template ids, or admin role
    /// names such as `global_administrator` (an unknown name is refused).
    #[arg(long, value_delimiter = ',', value_name = "ROLE,..")]
    roles: Vec<String>,
    /// The user is a guest or external user (a B2B collaboration guest unless
    /// --guest-type says otherwise).
    #[arg(long)]
    guest: bool,
    /// internalGuest, b2bCollaborationGuest, b2bCollaborationMember, b2bDirectConnectUser,
    /// otherExternalUser or serviceProvider.
    #[arg(long = "guest-type", value_name = "TYPE")]
    guest_type: Option<String>,
    /// The app signed in to: exchange, sharepoint, teams, office_web, azure_portal,
    /// graph, saml_app, or an application id. One of --app, --user-action,
    /// --auth-context is needed.
    #[arg(long, group = "target", value_name = "APP")]
    app: Option<String>,
    /// A user action instead of an app: urn:user:registersecurityinfo or
    /// urn:user:registerdevice.
    #[arg(long = "user-action", group = "target", value_name = "URN")]
    user_action: Option<String>,
    /// A protected resource's authentication context instead of an app: c1 to c25.
    #[arg(long = "auth-context", group = "target", value_name = "cN")]
    auth_context: Option<String>,
    /// The device: entra_joined, hybrid_joined, registered or unmanaged.
    #[arg(long, default_value = "unmanaged", value_name = "TYPE")]
    device: String,
    /// The device is marked compliant (not for an unmanaged device).
    #[arg(long)]
    compliant: bool,
    /// The client: browser or native (mobile and desktop apps).
    #[arg(long, default_value = "browser", value_name = "browser|native")]
    client: String,
    /// The device platform: windows, macOS, iOS, android or linux (any case).
    #[arg(long, default_value = "windows", value_name = "PLATFORM")]
    platform: String,
    /// Where the sign-in comes from: `trusted`, `untrusted`, a named location id (a GUID,
    /// counted as trusted), or `untrusted:ID` (a named location not marked trusted).
    /// Anything else is refused.
    #[arg(long, default_value = "untrusted", value_name = "LOCATION")]
    location: String,
    /// The user risk: none, low, medium or high.
    #[arg(long = "user-risk", default_value = "none", value_name = "LEVEL")]
    user_risk: String,
    /// The sign-in risk: none, low, medium or high.
    #[arg(long = "sign-in-risk", default_value = "none", value_name = "LEVEL")]
    sign_in_risk: String,
    /// `device_code` or `authentication_transfer`: the sign-in uses that flow
    /// (`authenticationFlows` policies).
    #[arg(long = "auth-flow", value_name = "FLOW")]
    auth_flow: Option<String>,
    /// NAME=VALUE: a device attribute for device filters (deviceOwnership, displayName,
    /// systemLabels, extensionAttribute1, ...); repeat for several.
    #[arg(long = "device-attribute", value_name = "NAME=VALUE")]
    device_attributes: Vec<String>,
    /// In a folder of policy exports, skip (and report) files that fail to load.
    #[arg(long = "skip-invalid")]
    skip_invalid: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Seeds are written into TOML (experiments, calibrate's simulations), whose integers
/// are signed: 2^63 and more are refused here, with exit 2 (issue 35: they were taken,
/// then failed on a file that does not exist).
fn seed_parser() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(0..=i64::MAX as u64)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // An interrupted run or merge removes its half-written staging folder; the previous
    // results, if any, stay in place. 128 + the signal is what shells report.
    let _ = ctrlc::set_handler(|| {
        sessionsim::output::remove_staging();
        std::process::exit(130);
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (e.g. piping into `head`) is not a failure worth reporting.
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            note(format_args!(
                "error: {}",
                clip(&format!("{err:#}"), MAX_MESSAGE_CHARS)
            ));
            if err
                .chain()
                .any(|e| e.downcast_ref::<InputError>().is_some())
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Trace { scenario } => {
            let (csv, warnings) = sessionsim::study::scenario::trace_file(&scenario)?;
            for w in warnings {
                warn(&w);
            }
            let mut out = std::io::stdout().lock();
            out.write_all(csv.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Command::Validate {
            files,
            skip_invalid,
        } => {
            sessionsim::policy::set_skip_invalid(skip_invalid);
            for file in &files {
                let kind = sessionsim::study::validate::validate_file(file)?;
                for warning in &kind.warnings {
                    warn(warning);
                }
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}: ok ({})", file.display(), kind.description)?;
                out.flush()?;
            }
            Ok(())
        }
        Command::Whatif(args) => whatif(*args),
        Command::Run(args) => run_experiment(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Sensitivity(args) => sensitivity(args),
        Command::Merge { dirs, out, force } => {
            let total = sessionsim::study::merge::merge(&dirs, &out, force)?;
            note(format_args!(
                "merged {}: {} simulated; results in {}",
                plural(dirs.len() as u64, "shard"),
                plural(total.users_simulated, "user"),
                out.display()
            ));
            Ok(())
        }
    }
}

/// Writes one line to stderr. A closed or full stderr is no reason to fail, let alone to
/// panic (as `eprintln!` does): the line is dropped.
fn note(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A warning on stderr, its echoed values clipped.
fn warn(text: &str) {
    note(format_args!("warning: {}", clip(text, MAX_MESSAGE_CHARS)));
}

/// Most users `calibrate` simulates per persona and round.
const MAX_SIMULATED_USERS: u64 = 100_000;

/// Most worker threads accepted.
const MAX_THREADS: usize = 1024;

/// `--start`: whether users start in a steady state.
fn parse_start(text: &str) -> Result<bool, sessionsim::error::InputError> {
    match text {
        "steady" => Ok(true),
        "cold" => Ok(false),
        other => Err(sessionsim::error::InputError::new(
            "<command line>",
            format!("--start {other}: expected steady or cold"),
        )),
    }
}

/// `--warmup`: a duration in whole days (the experiment checks it is whole weeks).
fn parse_warmup(text: &str) -> Result<u32, sessionsim::error::InputError> {
    let bad = |why: String| {
        sessionsim::error::InputError::new("<command line>", format!("--warmup {text}: {why}"))
    };
    let d = sessionsim::engine::time::parse_duration(text).map_err(|e| bad(e.to_string()))?;
    let day = sessionsim::engine::time::DAY;
    if d.as_secs() % day != 0 || d.as_secs() / day > u32::MAX as u64 {
        return Err(bad("use whole weeks: 0d, 7d, 14d, ...".into()));
    }
    Ok((d.as_secs() / day) as u32)
}

fn run_experiment(args: RunArgs) -> Result<()> {
    use sessionsim::study::experiment::RunOptions;
    use sessionsim::study::{job, runner};

    sessionsim::policy::set_skip_invalid(args.skip_invalid);
    let mut exp = load_experiment(&args.experiment)?;
    let shard = args.shard.as_deref().map(runner::parse_shard).transpose()?;
    let format = args
        .signin_log_format
        .as_deref()
        .map(sessionsim::output::signinlog::SigninLogFormat::parse)
        .transpose()?;
    let opts = RunOptions {
        days: args.days,
        shard,
        signin_log: args.signin_log || args.signin_log_attackers || format.is_some(),
        signin_log_format: format.unwrap_or_default(),
        signin_log_attackers: args.signin_log_attackers,
        per_user: args.per_user,
        force: args.force,
        steady_start: args.start.as_deref().map(parse_start).transpose()?,
        warmup_days: args.warmup.as_deref().map(parse_warmup).transpose()?,
        ..args.study.options()?
    };
    exp.apply(&opts)?;
    for w in &exp.warnings {
        warn(w);
    }
    let pool = worker_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&exp.name));

    let bar = progress_bar(runner::total_users(&exp, &opts), args.quiet);
    let started = std::time::Instant::now();
    let events = std::sync::atomic::AtomicU64::new(0);
    let progress = |users: u64, evs: u64| {
        use std::sync::atomic::Ordering;
        let total = events.fetch_add(evs, Ordering::Relaxed) + evs;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{:.1}M events/s", total as f64 / secs / 1e6));
        bar.inc(users);
    };
    let report = pool.install(|| job::run_to_dir(&exp, &opts, &out_dir, threads, &progress));
    bar.finish_and_clear();
    let report = report?;
    if args.per_user {
        // A factor of 0 is a mechanism not simulated at all (no threat, or a zero rate):
        // nothing of it is in users.csv to weigh back.
        let factors: Vec<String> = sessionsim::model::Mechanism::ALL
            .iter()
            .zip(exp.sampling())
            .filter(|(_, f)| *f != 1.0 && *f > 0.0)
            .map(|(m, f)| format!("{} x{f:.3}", m.name()))
            .collect();
        if !factors.is_empty() {
            note(format_args!(
                "note: users.csv counts the simulated attacks and thefts, which are oversampled ({}; attack_sampling in manifest.json): divide by the factor for a user's expected real count; summary.csv is weighted back already",
                factors.join(", ")
            ));
        }
    }
    if let Some(p) = report
        .precision
        .as_ref()
        .filter(|p| !args.quiet || !p.met())
    {
        note(format_args!(
            "precision: {}",
            p.sentence().replace("**", "")
        ));
    }
    if !args.quiet {
        note(format_args!(
            "{} x {} x {} x {} in {:.1}s on {}: {:.0} user-days/s, {:.0} events/s; results in {}",
            plural(exp.users, "user"),
            plural(exp.days as u64, "day"),
            plural(exp.designs.len() as u64, "design"),
            plural(report.replicates as u64, "replicate"),
            report.run.wall_seconds,
            plural(threads as u64, "thread"),
            report.run.user_days_per_second,
            report.run.events_per_second,
            out_dir.display()
        ));
    }
    Ok(())
}

fn sensitivity(args: SensitivityArgs) -> Result<()> {
    use sessionsim::study::experiment::RunOptions;
    use sessionsim::study::{runner, sensitivity};
    let mut exp = load_experiment(&args.experiment)?;
    let opts = RunOptions {
        force: args.force,
        ..args.study.options()?
    };
    exp.apply(&opts)?;
    for w in &exp.warnings {
        warn(w);
    }
    let pool = worker_pool(args.threads)?;
    let threads = pool.current_num_threads();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-sensitivity", exp.name)));
    let runs = sensitivity::simulations(&exp);
    let bar = progress_bar(runner::total_users(&exp, &opts) * runs, args.quiet);
    let progress = |users: u64, _: u64| bar.inc(users);
    let label = |what: &str| bar.set_message(what.to_string());
    let started = std::time::Instant::now();
    let findings =
        pool.install(|| sensitivity::run_to_dir(&exp, &opts, &out_dir, threads, &progress, &label));
    bar.finish_and_clear();
    let findings = findings?;
    if !args.quiet {
        let rob = sessionsim::output::sensitivity::robustness(&findings);
        note(format_args!("{}", rob.headline.replace("**", "")));
        note(format_args!(
            "{runs} simulations in {:.1}s on {threads} threads; results in {}",
            started.elapsed().as_secs_f64(),
            out_dir.display()
        ));
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal and `--quiet` is not given.
fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {wide_bar} {pos}/{len} users ({per_sec}, {msg}, ETA {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn whatif(args: WhatifArgs) -> Result<()> {
    sessionsim::policy::set_skip_invalid(args.skip_invalid);
    use sessionsim::policy::whatif::{TargetArg, WhatifRequest};
    let target = match (args.app, args.user_action, args.auth_context) {
        (Some(app), _, _) => Some(TargetArg::App(app)),
        (_, Some(action), _) => Some(TargetArg::UserAction(action)),
        (_, _, Some(context)) => Some(TargetArg::AuthContext(context)),
        _ => None,
    };
    let request = WhatifRequest {
        policies: args.policies,
        user: args.user,
        groups: args.groups,
        roles: args.roles,
        guest: args.guest,
        guest_type: args.guest_type,
        target,
        device: args.device,
        compliant: args.compliant,
        client: args.client,
        platform: args.platform,
        location: args.location,
        user_risk: args.user_risk,
        sign_in_risk: args.sign_in_risk,
        auth_flow: args.auth_flow,
        device_attributes: args.device_attributes,
    };
    let report = sessionsim::policy::whatif::run(&request).context("whatif")?;
    for warning in &report.warnings {
        warn(warning);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", report.to_json())?;
    } else {
        out.write_all(report.to_table().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// `+HH:MM` / `-HH:MM` / `+H` to seconds.
fn parse_utc_offset(text: &str) -> Option<i64> {
    let t = text.trim();
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => (1, t),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
}

fn calibrate(args: CalibrateArgs) -> Result<()> {
    use sessionsim::calibrate::{self as cal, CalibrateOptions, Progress};
    let offset = parse_utc_offset(&args.utc_offset).ok_or_else(|| {
        InputError::new(
            "command line",
            format!(
                "--utc-offset `{}`: give the tenant's offset from UTC, e.g. +01:00 or -05:00",
                clip(&args.utc_offset, 40)
            ),
        )
    })?;
    if !(1..=20).contains(&args.rounds) {
        return Err(InputError::new("command line", "--rounds: give 1 to 20").into());
    }
    // Each simulated user costs about 1.3 KB while its log is summarised, and a second of
    // CPU per ~2,000 users, persona and round: 100,000 is ~130 MB and a minute or two
    // (issue 35: the old bound, 1,000,000, took 2.6 GB and more than 10 minutes).
    if !(10..=MAX_SIMULATED_USERS).contains(&args.simulated_users) {
        return Err(InputError::new(
            "command line",
            format!(
                "--simulated-users {}: give 10 to 100,000",
                args.simulated_users
            ),
        )
        .into());
    }
    // A bad --out is refused before any work (issue 35: it failed with exit 1 once the
    // logs were read and fitted).
    sessionsim::output::check_new_file(&args.out, args.force, "--out")?;
    // With --policies, the check table; with --predict, the predictions: each beside the
    // population, replaced without --force when an earlier calibration wrote it.
    let check_path = side_file(
        &args.out,
        "calibration.csv",
        args.policies.is_some(),
        "--policies",
        sessionsim::calibrate::is_calibration_csv,
        args.force,
    )?;
    let predictions_path = side_file(
        &args.out,
        "predictions.csv",
        !args.predict.is_empty(),
        "--predict",
        sessionsim::calibrate::is_predictions_csv,
        args.force,
    )?;
    for p in &args.predict {
        if !p.exists() {
            return Err(InputError::new(p, "file not found")
                .field("--predict")
                .into());
        }
    }
    let inputs = args
        .logs
        .iter()
        .chain(args.template.iter())
        .chain(args.directory.iter())
        .chain(args.policies.iter())
        .chain(args.predict.iter());
    for input in inputs {
        for (path, flag) in [
            (&args.out, "--out"),
            (&check_path, "calibration.csv beside --out"),
            (&predictions_path, "predictions.csv beside --out"),
        ] {
            if same_file(path, input) {
                return Err(InputError::new(
                    path,
                    format!(
                        "is one of calibrate's inputs ({}): give another path",
                        input.display()
                    ),
                )
                .field(flag)
                .into());
            }
        }
    }
    let pool = worker_pool(args.threads)?;
    let mut opts = CalibrateOptions::new(args.logs.clone(), args.out.clone());
    opts.policies = args.policies.clone();
    opts.group_by = args.group_by.clone();
    opts.template = args.template.clone();
    opts.directory = args.directory.clone();
    opts.design = args.design.clone();
    opts.replicate = args.replicate.map(|r| r.to_string());
    opts.fit.utc_offset_seconds = offset;
    opts.rounds = args.rounds;
    opts.simulated_users = args.simulated_users;
    opts.seed = args.seed;
    opts.predict = args.predict.clone();
    let spinner = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
        s
    };
    let started = std::time::Instant::now();
    let result = pool.install(|| {
        cal::calibrate(&opts, &mut |p| match p {
            Progress::Reading(path) => spinner.set_message(format!("reading {}", path.display())),
            Progress::Rows(n) => spinner.set_prefix(format!("{n} rows")),
            Progress::Fitting { round, rounds } => {
                spinner.set_prefix("");
                spinner.set_message(format!("fitting: simulation round {round} of {rounds}"))
            }
            Progress::Checking => spinner.set_message("simulating the current policies"),
            Progress::Predicting(design) => {
                spinner.set_message(format!("predicting {}", design.display()))
            }
        })
    });
    spinner.finish_and_clear();
    let result = result?;
    for (path, r) in &result.reports {
        note(format_args!(
            "{}: {} ({}, {} used{})",
            path.display(),
            r.format.map_or("?", |f| f.name()),
            plural(r.rows, "row"),
            r.used,
            if r.attacker_rows > 0 {
                format!(", {} simulated attacker rows left out", r.attacker_rows)
            } else {
                String::new()
            }
        ));
    }
    for w in &result.warnings {
        warn(w);
    }
    sessionsim::output::write_file_atomically(&args.out, result.population.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    note(format_args!(
        "{} fitted in {:.1}s: {}",
        plural(result.personas.len() as u64, "persona"),
        started.elapsed().as_secs_f64(),
        result
            .personas
            .iter()
            .map(|p| format!("{} ({:.0}%)", p.name, p.share * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    note(format_args!("population written to {}", args.out.display()));
    match &result.check {
        Some(rows) => {
            let csv = cal::calibration_csv(rows, &result.name);
            sessionsim::output::write_file_atomically(&check_path, csv.as_bytes())
                .with_context(|| format!("writing {}", check_path.display()))?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<8} {:<18} {:>12} {:>12} {:>9}",
                "scope", "key", "observed", "simulated", "error"
            )?;
            // The cross cells (persona × device type, persona × app) are in the file.
            for r in rows.iter().filter(|r| !r.scope.starts_with("persona_")) {
                writeln!(
                    out,
                    "{:<8} {:<18} {:>12.3} {:>12} {:>9}",
                    r.scope,
                    r.key,
                    r.observed,
                    r.simulated.map_or("-".into(), |s| format!("{s:.3}")),
                    r.relative_error()
                        .map_or("-".into(), |e| format!("{:+.1}%", e * 100.0))
                )?;
            }
            writeln!(
                out,
                "(interactive prompts per working user-day; written to {}, with persona × device type and persona × app)",
                check_path.display()
            )?;
            out.flush()?;
        }
        None => note(
            "give --policies with the tenant's current policies to compare simulated and observed prompts",
        ),
    }
    if !result.predictions.is_empty() {
        let csv = cal::predictions_csv(&result.predictions, &result.name);
        sessionsim::output::write_file_atomically(&predictions_path, csv.as_bytes())
            .with_context(|| format!("writing {}", predictions_path.display()))?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "\n{:<32} {:>10} {:>17}",
            "design", "predicted", "if unseen varies"
        )?;
        for p in &result.predictions {
            let name = p.design.file_name().map_or_else(
                || p.design.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            writeln!(
                out,
                "{:<32} {:>10.3} {:>8.3} to {:.3}{}",
                clip(&name, 32),
                p.prompts,
                p.low,
                p.high,
                if p.logged { "  (logged)" } else { "" }
            )?;
        }
        let unseen = result
            .predictions
            .first()
            .map_or(0, |p| p.unidentified.len());
        writeln!(
            out,
            "(simulated prompts per working user-day; {}; written to {})",
            if unseen == 0 {
                "the log pins down every behaviour value calibrate varies".to_string()
            } else {
                format!(
                    "the range sets {} to either end, with the value the fit moved fitted again to the log: {}; it does not cover the working day or foreground use, which long-lived tokens hide (docs/model.md, \"Calibration\")",
                    plural(unseen as u64, "behaviour value"),
                    result.predictions[0].unidentified.join(", ")
                )
            },
            predictions_path.display()
        )?;
        out.flush()?;
    }
    Ok(())
}

/// The file `name` that calibrate writes beside `out` when `wanted` (asked for by
/// `flag`): `out` may not bear its name, and an existing one is replaced only when
/// calibrate wrote it (`ours`) or with --force.
fn side_file(
    out: &std::path::Path,
    name: &str,
    wanted: bool,
    flag: &str,
    ours: fn(&std::path::Path) -> bool,
    force: bool,
) -> Result<PathBuf> {
    let path = out
        .parent()
        .map_or_else(|| PathBuf::from(name), |d| d.join(name));
    if wanted {
        if out.file_name() == Some(std::ffi::OsStr::new(name)) {
            return Err(InputError::new(
                out,
                format!(
                    "with {flag}, calibrate writes {name} beside the population: give the population another name"
                ),
            )
            .field("--out")
            .into());
        }
        sessionsim::output::check_new_file(
            &path,
            force || ours(&path),
            &format!("{name} beside --out"),
        )?;
    }
    Ok(path)
}

/// Whether two paths name the same existing file (or folder).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    sessionsim::output::same_file(a, b)
}

/// The worker threads of `run` and `calibrate`: `--threads`, or one per core.
fn worker_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Far more threads than cores only costs memory and start-up time (regression:
    // --threads 100000 failed after 20 s).
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(InputError::new(
            "<command line>",
            format!("--threads {threads}: give a number between 1 and {MAX_THREADS}"),
        )
        .into());
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")
}
