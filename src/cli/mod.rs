//! The command line: `pilotlight validate`, `schema` and `audit verify`.

mod audit;
mod validate;

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
        #[arg(value_name = "JOURNAL")]
        journal: std::path::PathBuf,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { paths } => validate::run(&paths),
        Command::Audit {
            command: AuditCommand::Verify { journal },
        } => audit::verify_cmd(&journal),
        Command::Schema => {
            print!("{}", crate::runbook::schema::runbook_schema_text());
            ExitCode::SUCCESS
        }
    }
}
