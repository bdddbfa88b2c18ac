//! The `sessionsim` command line: argument parsing, progress display and exit codes.
//!
//! Exit codes: 0 success, 2 bad input (an [`InputError`] naming the file and field), 1 any
//! other failure. All the work happens in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use sessionsim::error::InputError;

#[derive(Parser)]
#[command(name = "sessionsim", version, about = "Simulates Microsoft Entra ID session lifecycles: sign-in prompts against token-theft exposure", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a scripted single-user scenario's timeline as CSV.
    Trace {
        /// Scenario file (models/scenarios/*.toml).
        scenario: PathBuf,
    },
    /// Check model, policy, scenario or experiment files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate one sign-in against a policy set, like Entra's What If tool.
    Whatif(WhatifArgs),
}

#[derive(Args)]
struct WhatifArgs {
    /// Policy file or folder of policy files (Microsoft Graph JSON).
    #[arg(long)]
    policies: PathBuf,
    #[arg(long)]
    user: Option<String>,
    /// Comma-separated group ids.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Comma-separated directory role template ids.
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// The user is a guest or external user.
    #[arg(long)]
    guest: bool,
    #[arg(long, group = "target")]
    app: Option<String>,
    #[arg(long = "user-action", group = "target")]
    user_action: Option<String>,
    #[arg(long = "auth-context", group = "target")]
    auth_context: Option<String>,
    #[arg(long, default_value = "unmanaged")]
    device: String,
    #[arg(long)]
    compliant: bool,
    #[arg(long, default_value = "browser")]
    client: String,
    #[arg(long, default_value = "windows")]
    platform: String,
    /// `trusted`, `untrusted`, or a named location id.
    #[arg(long, default_value = "untrusted")]
    location: String,
    #[arg(long = "user-risk", default_value = "none")]
    user_risk: String,
    #[arg(long = "sign-in-risk", default_value = "none")]
    sign_in_risk: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (e.g. piping into `head`) is not a failure worth reporting.
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {err:#}");
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
            let (csv, warnings) = sessionsim::scenario::trace_file(&scenario)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let mut out = std::io::stdout().lock();
            out.write_all(csv.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Command::Validate { files } => {
            for file in &files {
                let kind = sessionsim::validate::validate_file(file)?;
                for warning in &kind.warnings {
                    eprintln!("warning: {warning}");
                }
                println!("{}: ok ({})", file.display(), kind.description);
            }
            Ok(())
        }
        Command::Whatif(args) => whatif(args),
    }
}

fn whatif(args: WhatifArgs) -> Result<()> {
    let _ = args;
    Err(anyhow::anyhow!("whatif is not implemented yet")).context("whatif")
}
