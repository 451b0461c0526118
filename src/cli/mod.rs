//! The command line: parses, picks the mode and the backend, hands over to the runtime
//! (`runtime::launch` starts and resumes runs) and prints what comes back. One tokio runtime
//! serves the whole process.

/// Prints a line to stdout, ignoring a closed pipe or terminal (`drill ... | head`, a dropped
/// SSH session): losing a progress line must never crash a run.
/// A line for people on stdout: what untrusted text holds is shown, never obeyed.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = crate::safe::terminal(&format!($($arg)*));
        let _ = writeln!(std::io::stdout(), "{line}");
    }};
}

/// The same, on stderr (errors, notes, refusals).
macro_rules! tell {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = crate::safe::terminal(&format!($($arg)*));
        let _ = writeln!(std::io::stderr(), "{line}");
    }};
}

mod approve;
mod audit;
mod common;
mod console;

mod drill;
mod iam;
mod live;
mod mirror_check;
mod preflight;
mod runs;
mod status;
mod team;
mod unattended;
mod validate;

use common::operator_name;
pub(crate) use common::{aws_timeouts, load_runbook};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A disaster-recovery console for AWS: runbooks, recovery points, gated restores and cutovers.
#[derive(Debug, Parser)]
#[command(name = "pilotlight", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check runbooks (files, or folders searched for *.yaml / *.yml) and report every problem
    /// as FILE:LINE:COL: error: MESSAGE.
    Validate {
        /// Runbook files or folders.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<std::path::PathBuf>,
    },
    /// Rehearse a runbook against the simulated world (no AWS account needed).
    Drill {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// Scenario file: initial state and faults (default: the primary region is down).
        #[arg(long, value_name = "FILE")]
        scenario: Option<std::path::PathBuf>,
        /// Simulated seconds per real second, or `max` to jump from event to event.
        #[arg(long, value_name = "N", default_value = "60")]
        speed: crate::runtime::clock::Speed,
        /// Where to write the audit journal (default: under $XDG_DATA_HOME/pilotlight/journals).
        #[arg(long, value_name = "FILE", conflicts_with = "resume")]
        journal: Option<std::path::PathBuf>,
        /// Continue the run recorded in this journal, or at this run's URL in a state store
        /// (its mirror is copied to a local journal first).
        #[arg(long, value_name = "JOURNAL|URL")]
        resume: Option<std::path::PathBuf>,
        /// Confirm every gate and finish manual steps without a person, then print a summary
        /// (without it, the drill runs at the full-screen console).
        #[arg(long)]
        unattended: bool,
        /// Then undo every completed step that declares an `inverse`, newest first, each
        /// through its gate (with --unattended: after the runbook; with --resume: a drill that
        /// has ended).
        #[arg(long)]
        rollback: bool,
        /// Who is at the keyboard, for the journal (default: $PILOTLIGHT_OPERATOR, else the
        /// login name).
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        #[command(flatten)]
        team: team::TeamArgs,
    },
    /// Run a runbook against live AWS (the standard credential chain, AWS_PROFILE, SSO,
    /// AWS_ENDPOINT_URL). Every change is previewed and waits at its gate.
    Run {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// Where to write the audit journal (default: under $XDG_DATA_HOME/pilotlight/journals).
        #[arg(long, value_name = "FILE", conflicts_with = "resume")]
        journal: Option<std::path::PathBuf>,
        /// Continue the live run recorded in this journal, or at this run's URL in a state
        /// store (another machine's run, with --take-over: its mirror is copied here first, and
        /// every step in flight is reconciled against AWS before anything is sent).
        #[arg(long, value_name = "JOURNAL|URL")]
        resume: Option<std::path::PathBuf>,
        /// Undo the finished run in --resume JOURNAL: every completed step that declares an
        /// `inverse`, newest first, each through its gate.
        #[arg(long, requires = "resume")]
        rollback: bool,
        /// Who is at the keyboard, for the journal, next to the AWS principal the changes are
        /// made as (default: $PILOTLIGHT_OPERATOR, else the login name).
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        #[command(flatten)]
        team: team::TeamArgs,
    },
    /// Health, RPO and the RTO estimate of a runbook's resources, once, for people or monitors.
    /// Exit 0 OK, 1 WARNING (a figure within 80-100 % of its target), 2 CRITICAL (a target
    /// breached), 3 UNKNOWN (could not tell).
    Status {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// Look at the simulated world (the default scenario) instead of live AWS (read-only).
        #[arg(long)]
        sim: bool,
        /// Look at the simulated world set up by this scenario.
        #[arg(long, value_name = "FILE")]
        scenario: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: status::StatusFormat,
        /// Folder of past journals for the RTO estimate (default: where runs write them).
        #[arg(long, value_name = "DIR")]
        history: Option<std::path::PathBuf>,
    },
    /// Would each step of a runbook work now? Resources, recovery points, restore targets,
    /// what the steps name, and the caller's permissions (IAM's policy simulator), read-only.
    /// Exit codes as `status`: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Preflight {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// Look at the simulated world (the default scenario) instead of live AWS.
        #[arg(long)]
        sim: bool,
        /// Look at the simulated world set up by this scenario.
        #[arg(long, value_name = "FILE")]
        scenario: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: status::StatusFormat,
    },
    /// A read-only console: follow another operator's run from its journal, or look at the
    /// simulated world. No key changes anything.
    Watch {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// The journal of the run to follow, or its URL in a state store (`pilotlight runs`
        /// lists them); only what it gains is read.
        #[arg(long, value_name = "JOURNAL")]
        follow: Option<std::path::PathBuf>,
        /// Show the simulated world's health instead of AWS.
        #[arg(long)]
        sim: bool,
    },
    /// Approve, as a second person, the change waiting at a two-approver gate (`approvers: 2`)
    /// of the run at RUN_URL: shows the request, asks for the phrase and a reason.
    Approve(approve::ApproveArgs),
    /// The runs of a runbook in the team's state store, newest first: id, operator, start,
    /// status and url (for watch --follow, audit verify and audit report).
    Runs {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// The state store: s3://BUCKET/PREFIX or a folder (default: $PILOTLIGHT_STATE, else the
        /// runbook's `state.url`).
        #[arg(long, value_name = "STORE")]
        state: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: runs::RunsFormat,
    },
    /// Print the least-privilege IAM policy (JSON) of a runbook: every API its steps and its
    /// observations call, scoped to its resources and regions; each statement's Sid names the
    /// steps that need it.
    Iam {
        /// The runbook file (YAML; see runbooks/README.md).
        #[arg(value_name = "RUNBOOK")]
        runbook: std::path::PathBuf,
        /// `run`: what `run` needs, changes included; `read`: what `watch`, `status` and
        /// `preflight` need, reads only.
        #[arg(long, value_enum, default_value = "run")]
        mode: iam::IamMode,
        /// The policy of the role assumed in this account (one of the runbook's `accounts:`)
        /// instead of the caller's.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Print the runbook JSON Schema (the same as assets/runbook.schema.json).
    Schema,
    /// Check or report on an audit journal.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Exit 0 if the journal is exactly as written; 1 naming the first bad line otherwise.
    Verify {
        /// The journal file of a run (JSONL), as `drill` or `run` wrote it, or a run's URL in a
        /// state store (`s3://BUCKET/PREFIX/runs/RUNBOOK/RUN_ID` or that folder).
        #[arg(value_name = "JOURNAL")]
        journal: std::path::PathBuf,
        /// Also compare it with its mirror in the state store (the run's URL there, as `runs`
        /// lists it): a journal re-chained after it was mirrored is caught.
        #[arg(long, value_name = "RUN")]
        against: Option<std::path::PathBuf>,
    },
    /// The post-incident timeline of a journal: per step who, when, how long, against the
    /// expected durations and the RTO target.
    Report {
        /// The journal file of a run (JSONL), as `drill` or `run` wrote it, or a run's URL in a
        /// state store.
        #[arg(value_name = "JOURNAL")]
        journal: std::path::PathBuf,
        /// Markdown for people, JSON for machines.
        #[arg(long, value_enum, default_value = "markdown")]
        format: audit::ReportFormat,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The console's run and its screen work side by side on two worker threads, so a slow disk
    // or a slow region never freezes the screen.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tell!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = &runtime;
    match cli.command {
        Command::Validate { paths } => validate::run(&paths),
        Command::Audit {
            command: AuditCommand::Verify { journal, against },
        } => audit::verify_cmd(&journal, against.as_deref()),
        Command::Audit {
            command: AuditCommand::Report { journal, format },
        } => audit::report_cmd(&journal, format),
        Command::Drill {
            runbook,
            scenario,
            speed,
            journal,
            resume,
            unattended,
            rollback,
            operator,
            team,
        } => drill::run(
            rt,
            drill::DrillArgs {
                runbook,
                scenario,
                speed,
                journal,
                resume,
                unattended,
                rollback,
                operator,
                team,
            },
        ),
        Command::Run {
            runbook,
            journal,
            resume,
            rollback,
            operator,
            team,
        } => live::run(
            rt,
            live::RunArgs {
                runbook,
                journal,
                resume,
                rollback,
                operator,
                team,
            },
        ),
        Command::Status {
            runbook,
            sim,
            scenario,
            format,
            history,
        } => status::run(
            rt,
            status::StatusArgs {
                runbook,
                sim,
                scenario,
                format,
                history,
            },
        ),
        Command::Preflight {
            runbook,
            sim,
            scenario,
            format,
        } => preflight::run(
            rt,
            preflight::PreflightArgs {
                runbook,
                sim,
                scenario,
                format,
            },
        ),
        Command::Runs {
            runbook,
            state,
            format,
        } => runs::run(&runbook, state, format),
        Command::Approve(args) => approve::run(rt, args),
        Command::Watch {
            runbook,
            follow,
            sim,
        } => console::watch(
            rt,
            console::WatchArgs {
                runbook,
                follow,
                sim,
            },
        ),
        Command::Iam {
            runbook,
            mode,
            account,
        } => iam::run(&runbook, mode, account.as_deref()),
        Command::Schema => {
            print!("{}", crate::runbook::schema::runbook_schema_text());
            ExitCode::SUCCESS
        }
    }
}
